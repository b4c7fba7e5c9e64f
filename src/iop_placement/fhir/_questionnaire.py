"""The assessment as a FHIR R4 Questionnaire, and an assessment as its QuestionnaireResponse.

Plain JSON dicts, built from the model (titles, descriptions, labels) in the intake
interview's order; no FHIR library is needed to make or send them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from iop_placement._i18n import N_, check_language, contextual, use_language
from iop_placement._model.assessment import Assessment
from iop_placement._model.fields import FieldSpec, field_specs
from iop_placement._model.intake import intake_order
from iop_placement._model.validation import parse_assessment
from iop_placement._model.wording import option_context
from iop_placement._version import __version__
from iop_placement.fhir._canonical import (
    CANONICAL_BASE,
    QUESTIONNAIRE_ID,
    code_system,
    questionnaire_url,
)

__all__ = [
    "HELP_SUFFIX",
    "is_required",
    "questionnaire_item",
    "questionnaire_version",
    "to_questionnaire",
    "to_questionnaire_response",
]

# Extensions and codes defined by FHIR R4 core and the SDC implementation guide.
MIN_VALUE: Final = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE: Final = "http://hl7.org/fhir/StructureDefinition/maxValue"
ITEM_CONTROL: Final = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
ITEM_CONTROL_SYSTEM: Final = "http://hl7.org/fhir/questionnaire-item-control"
HELP_SUFFIX: Final = ".help"
# FHIR R4 core: a string element's text in another language (on the element's _<name>).
TRANSLATION: Final = "http://hl7.org/fhir/StructureDefinition/translation"
_TRANSLATED: Final = ("title", "description", "text", "display")
TITLE: Final = N_("Level-of-care intake for substance use disorders")
DESCRIPTION: Final = N_(
    "The answers iop-placement needs to suggest a level of care (standard outpatient,"
    " intensive outpatient or inpatient) with reasons a clinician can check."
)

_ITEM_TYPES: Final = {
    "choice": "choice",
    "choices": "choice",
    "boolean": "boolean",
    "integer": "integer",
}


def questionnaire_version() -> str:
    """The Questionnaire's version: the package version that defines its questions."""
    return __version__


def is_required(spec: FieldSpec) -> bool:
    """Whether the question must be answered: every field but a list that may be empty."""
    return spec.kind != "choices" and Assessment.model_fields[spec.name].is_required()


def _coding(spec: FieldSpec, code: str, base: str) -> dict[str, str]:
    return {"system": code_system(spec.name, base), "code": code, "display": spec.label(code)}


def _help(name: str, text: str) -> dict[str, Any]:
    """A help text shown beside the question (an SDC 'help' display item)."""
    control = {"system": ITEM_CONTROL_SYSTEM, "code": "help", "display": "Help-Button"}
    return {
        "linkId": name + HELP_SUFFIX,
        "text": text,
        "type": "display",
        "extension": [{"url": ITEM_CONTROL, "valueCodeableConcept": {"coding": [control]}}],
    }


def questionnaire_item(spec: FieldSpec, base: str = CANONICAL_BASE) -> dict[str, Any]:
    info = Assessment.model_fields[spec.name]
    item: dict[str, Any] = {
        "linkId": spec.name,
        "text": spec.title,
        "type": _ITEM_TYPES[spec.kind],
        "required": is_required(spec),
    }
    if spec.kind == "choices":
        item["repeats"] = True
    if spec.kind in {"choice", "choices"}:
        item["answerOption"] = [{"valueCoding": _coding(spec, code, base)} for code in spec.values]
    if spec.kind == "integer":
        bounds = ((MIN_VALUE, spec.minimum), (MAX_VALUE, spec.maximum))
        item["extension"] = [
            {"url": url, "valueInteger": value} for url, value in bounds if value is not None
        ]
    if info.description:
        item["item"] = [_help(spec.name, info.description)]
    return item


def _in(language: str, english: str, context: str | None = None) -> str:
    with use_language(language):
        return contextual(context, english)


def _translate(
    node: Any,  # noqa: ANN401 - any JSON value
    language: str,
    translations: Sequence[str],
    context: str | None = None,
) -> Any:  # noqa: ANN401 - any JSON value
    """``node`` with its texts in ``language`` and a translation extension for each other.

    Codes, systems, link ids and the extensions' own values (the SDC item-control
    display 'Help-Button' is a code's display in FHIR's code system) stay as they are;
    answer options are translated in their enum's gettext context.
    """
    if isinstance(node, list):
        return [_translate(item, language, translations, context) for item in node]
    if not isinstance(node, dict):
        return node
    specs = field_specs()
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "extension":
            out[key] = value
        elif key == "answerOption":
            spec = specs.get(str(node.get("linkId")))
            options = option_context(spec.enum) if spec is not None else None
            out[key] = _translate(value, language, translations, options)
        elif key in _TRANSLATED and isinstance(value, str):
            out[key] = _in(language, value, context)
            others = [
                {
                    "url": TRANSLATION,
                    "extension": [
                        {"url": "lang", "valueCode": other},
                        {"url": "content", "valueString": _in(other, value, context)},
                    ],
                }
                for other in translations
            ]
            if others:
                out["_" + key] = {"extension": others}
        else:
            out[key] = _translate(value, language, translations, context)
    return out


def to_questionnaire(
    language: str = "en", translations: Sequence[str] = (), *, base: str = CANONICAL_BASE
) -> dict[str, Any]:
    """The intake as a FHIR R4 ``Questionnaire`` resource (a JSON-ready dict).

    One item per assessment field, in intake-interview order, with ``linkId`` = the field
    name: choices as ``choice`` items whose ``answerOption.valueCoding`` carry the field's
    code system, the code and its label; true/false as ``boolean``; the hours as
    ``integer`` with ``minValue``/``maxValue`` extensions; the obligations as a repeating
    ``choice`` item that may be left empty. Each item holds its description as a help
    item. Returns a new dict on every call.

    ``base`` prefixes the canonical URLs (the Questionnaire's ``url`` and every coding's
    ``system``): the address where you publish these resources.

    ``language`` (``en``, ``es``) is the language of every ``title``, ``description``,
    ``text`` and ``display``; each language in ``translations`` adds FHIR's
    ``translation`` extension beside each of them (``_text``, ``_display``...), so one
    resource carries both. With either, the resource states its ``language``. Codes and
    link ids are the same in every language.

    Raises:
        CanonicalBaseError: when ``base`` is not an absolute http(s) URL without a query,
            a fragment or a trailing slash.
        UnsupportedLanguage: when a language has no catalogue.

    """
    language = check_language(language)
    others = [check_language(other) for other in translations if other != language]
    english = _english_questionnaire(base)
    if language == "en" and not others:
        return english
    translated: dict[str, Any] = _translate(english, language, others)
    return {"resourceType": translated.pop("resourceType"), "language": language, **translated}


def _english_questionnaire(base: str) -> dict[str, Any]:
    url = questionnaire_url(base)
    specs = field_specs()
    return {
        "resourceType": "Questionnaire",
        "id": QUESTIONNAIRE_ID,
        "url": url,
        "version": questionnaire_version(),
        "name": "IopPlacementIntake",
        "title": TITLE,
        "status": "active",
        "subjectType": ["Patient"],
        "description": DESCRIPTION,
        "item": [questionnaire_item(specs[name], base) for name in intake_order()],
    }


def _answers(spec: FieldSpec, value: Any, base: str) -> list[dict[str, Any]]:  # noqa: ANN401
    if value is None:  # an optional field left out: no answer
        return []
    if spec.kind == "choices":
        return [{"valueCoding": _coding(spec, code, base)} for code in value]
    if spec.kind == "choice":
        return [{"valueCoding": _coding(spec, value, base)}]
    if spec.kind == "boolean":
        return [{"valueBoolean": value}]
    return [{"valueInteger": value}]


def to_questionnaire_response(
    assessment: Assessment | Mapping[str, Any],
    *,
    subject: str | None = None,
    authored: str | None = None,
    base: str = CANONICAL_BASE,
) -> dict[str, Any]:
    """An assessment as a completed ``QuestionnaireResponse`` to :func:`to_questionnaire`.

    ``subject`` is a FHIR reference such as ``"Patient/123"``; ``authored`` a FHIR
    dateTime. An empty obligations list, and an optional field left out, leave their items
    out. ``base`` is the canonical base of the Questionnaire answered.

    Raises:
        InvalidAssessment: when ``assessment`` is not a valid assessment.
        CanonicalBaseError: when ``base`` cannot prefix canonical URLs.

    """
    url = questionnaire_url(base)
    values = parse_assessment(assessment).values()
    specs = field_specs()
    items = []
    for name in intake_order():
        answers = _answers(specs[name], values[name], base)
        if answers:
            items.append({"linkId": name, "text": specs[name].title, "answer": answers})
    response: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{url}|{questionnaire_version()}",
        "status": "completed",
    }
    if subject is not None:
        response["subject"] = {"reference": subject}
    if authored is not None:
        response["authored"] = authored
    response["item"] = items
    return response
