"""The assessment as a FHIR R4 Questionnaire, and an assessment as its QuestionnaireResponse.

Plain JSON dicts, built from the model (titles, descriptions, labels) in the intake
interview's order; no FHIR library is needed to make or send them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from iop_placement._model.assessment import Assessment
from iop_placement._model.fields import FieldSpec, field_specs
from iop_placement._model.intake import intake_order
from iop_placement._model.validation import parse_assessment
from iop_placement._version import __version__
from iop_placement.fhir._canonical import QUESTIONNAIRE_ID, QUESTIONNAIRE_URL, code_system

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


def _coding(spec: FieldSpec, code: str) -> dict[str, str]:
    return {"system": code_system(spec.name), "code": code, "display": spec.label(code)}


def _help(name: str, text: str) -> dict[str, Any]:
    """A help text shown beside the question (an SDC 'help' display item)."""
    control = {"system": ITEM_CONTROL_SYSTEM, "code": "help", "display": "Help-Button"}
    return {
        "linkId": name + HELP_SUFFIX,
        "text": text,
        "type": "display",
        "extension": [{"url": ITEM_CONTROL, "valueCodeableConcept": {"coding": [control]}}],
    }


def questionnaire_item(spec: FieldSpec) -> dict[str, Any]:
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
        item["answerOption"] = [{"valueCoding": _coding(spec, code)} for code in spec.values]
    if spec.kind == "integer":
        bounds = ((MIN_VALUE, spec.minimum), (MAX_VALUE, spec.maximum))
        item["extension"] = [
            {"url": url, "valueInteger": value} for url, value in bounds if value is not None
        ]
    if info.description:
        item["item"] = [_help(spec.name, info.description)]
    return item


def to_questionnaire() -> dict[str, Any]:
    """The intake as a FHIR R4 ``Questionnaire`` resource (a JSON-ready dict).

    One item per assessment field, in intake-interview order, with ``linkId`` = the field
    name: choices as ``choice`` items whose ``answerOption.valueCoding`` carry the field's
    code system, the code and its label; true/false as ``boolean``; the hours as
    ``integer`` with ``minValue``/``maxValue`` extensions; the obligations as a repeating
    ``choice`` item that may be left empty. Each item holds its description as a help
    item. Returns a new dict on every call.
    """
    specs = field_specs()
    return {
        "resourceType": "Questionnaire",
        "id": QUESTIONNAIRE_ID,
        "url": QUESTIONNAIRE_URL,
        "version": questionnaire_version(),
        "name": "IopPlacementIntake",
        "title": "Level-of-care intake for substance use disorders",
        "status": "active",
        "subjectType": ["Patient"],
        "description": (
            "The answers iop-placement needs to suggest a level of care (standard outpatient,"
            " intensive outpatient or inpatient) with reasons a clinician can check."
        ),
        "item": [questionnaire_item(specs[name]) for name in intake_order()],
    }


def _answers(spec: FieldSpec, value: Any) -> list[dict[str, Any]]:  # noqa: ANN401 - a field's code
    if value is None:  # an optional field left out: no answer
        return []
    if spec.kind == "choices":
        return [{"valueCoding": _coding(spec, code)} for code in value]
    if spec.kind == "choice":
        return [{"valueCoding": _coding(spec, value)}]
    if spec.kind == "boolean":
        return [{"valueBoolean": value}]
    return [{"valueInteger": value}]


def to_questionnaire_response(
    assessment: Assessment | Mapping[str, Any],
    *,
    subject: str | None = None,
    authored: str | None = None,
) -> dict[str, Any]:
    """An assessment as a completed ``QuestionnaireResponse`` to :func:`to_questionnaire`.

    ``subject`` is a FHIR reference such as ``"Patient/123"``; ``authored`` a FHIR
    dateTime. An empty obligations list, and an optional field left out, leave their items
    out.

    Raises:
        InvalidAssessment: when ``assessment`` is not a valid assessment.

    """
    values = parse_assessment(assessment).values()
    specs = field_specs()
    items = []
    for name in intake_order():
        answers = _answers(specs[name], values[name])
        if answers:
            items.append({"linkId": name, "text": specs[name].title, "answer": answers})
    response: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{QUESTIONNAIRE_URL}|{questionnaire_version()}",
        "status": "completed",
    }
    if subject is not None:
        response["subject"] = {"reference": subject}
    if authored is not None:
        response["authored"] = authored
    response["item"] = items
    return response
