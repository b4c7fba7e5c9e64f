"""A completed FHIR QuestionnaireResponse read back into an Assessment.

Every problem is collected and raised together as one ``InvalidAssessment`` whose
problems name the item's ``linkId`` (which is the field name). Messages describe what was
given by its kind only, never by its content.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from iop_placement._model.assessment import Assessment
from iop_placement._model.errors import FieldProblem, InvalidAssessment
from iop_placement._model.fields import FieldSpec, field_specs
from iop_placement._model.intake import intake_order
from iop_placement._model.validation import describe_kind, parse_assessment
from iop_placement.fhir._canonical import QUESTIONNAIRE_URL, code_system
from iop_placement.fhir._questionnaire import is_required

__all__ = ["WHOLE_RESPONSE", "from_questionnaire_response"]

WHOLE_RESPONSE: Final = "(questionnaire response)"
_HIDDEN: Final = "(an item whose linkId is not shown)"
_NAME_LIKE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,63}")
_VALUE_KEY: Final = {
    "choice": "valueCoding",
    "choices": "valueCoding",
    "boolean": "valueBoolean",
    "integer": "valueInteger",
}


class _BadAnswerError(Exception):
    """One item's answers cannot be read; carries the problem and the kind given."""

    def __init__(self, problem: str, given: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.given = given


def _allowed(spec: FieldSpec) -> str:
    key = _VALUE_KEY[spec.kind]
    if spec.kind in {"choice", "choices"}:
        count = "one" if spec.kind == "choice" else "zero or more"
        return (
            f"{count} {key} from {code_system(spec.name)} with a code in {', '.join(spec.values)}"
        )
    if spec.kind == "integer":
        return f"one {key} from {spec.minimum} to {spec.maximum}"
    return f"one {key}"


def _value(spec: FieldSpec, answer: object) -> Any:  # noqa: ANN401 - a field's code
    """The code or value of one answer, checked for shape and code system."""
    key = _VALUE_KEY[spec.kind]
    if not isinstance(answer, Mapping):
        raise _BadAnswerError("has an answer that is not an object", describe_kind(answer))
    value_keys = [k for k in answer if isinstance(k, str) and k.startswith("value")]
    if value_keys != [key]:
        given = "an answer with no value" if not value_keys else "an answer of another type"
        raise _BadAnswerError(f"must be answered with {key}", given)
    value = answer[key]
    if key != "valueCoding":
        return value
    if not isinstance(value, Mapping):
        raise _BadAnswerError("has a valueCoding that is not an object", describe_kind(value))
    if value.get("system") != code_system(spec.name):
        raise _BadAnswerError("has a coding from another code system", "another system")
    code = value.get("code")
    if not isinstance(code, str):
        raise _BadAnswerError("has a coding without a code", describe_kind(code))
    return code


def _read_item(spec: FieldSpec, item: Mapping[str, Any]) -> Any:  # noqa: ANN401 - a field's value
    answers = item.get("answer", [])
    if not isinstance(answers, list):
        raise _BadAnswerError("has answers that are not a list", describe_kind(answers))
    values = [_value(spec, answer) for answer in answers]
    if spec.kind == "choices":
        return values
    if not values:
        raise _BadAnswerError("has no answer", "nothing")
    if len(values) > 1:
        raise _BadAnswerError("has more than one answer", f"{len(values)} answers")
    return values[0]


def _link_id(item: object) -> str | None:
    link = item.get("linkId") if isinstance(item, Mapping) else None
    return link if isinstance(link, str) else None


def _check_resource(response: Mapping[str, Any]) -> list[FieldProblem]:
    problems = []
    if response.get("resourceType") != "QuestionnaireResponse":
        problems.append(
            FieldProblem(
                WHOLE_RESPONSE,
                "is not a QuestionnaireResponse",
                "another resource type" if "resourceType" in response else "no resourceType",
                "resourceType QuestionnaireResponse",
            )
        )
    canonical = response.get("questionnaire")
    if canonical is not None and (
        not isinstance(canonical, str) or canonical.split("|", 1)[0] != QUESTIONNAIRE_URL
    ):
        problems.append(
            FieldProblem(
                WHOLE_RESPONSE,
                "answers another questionnaire",
                "another questionnaire" if isinstance(canonical, str) else describe_kind(canonical),
                QUESTIONNAIRE_URL,
            )
        )
    return problems


def _read_items(items: list[Any], problems: list[FieldProblem]) -> tuple[dict[str, Any], set[str]]:
    """The answers by field, and the fields whose items had problems (added to ``problems``)."""
    specs = field_specs()
    values: dict[str, Any] = {}
    bad: set[str] = set()
    for item in items:
        link = _link_id(item)
        if link is None or link not in specs:
            shown = link if link is not None and _NAME_LIKE.fullmatch(link) else _HIDDEN
            given = "an item without a linkId" if link is None else "an unknown linkId"
            allowed = "the linkIds of the intake questionnaire"
            problems.append(FieldProblem(shown, "is not a question of the intake", given, allowed))
            continue
        spec = specs[link]
        if link in values or link in bad:
            problems.append(FieldProblem(link, "is answered twice", "two items", "one item"))
            bad.add(link)
            values.pop(link, None)
            continue
        try:
            values[link] = _read_item(spec, item)
        except _BadAnswerError as error:
            problems.append(FieldProblem(link, error.problem, error.given, _allowed(spec)))
            bad.add(link)
    return values, bad


def from_questionnaire_response(response: object) -> Assessment:
    """Read a completed ``QuestionnaireResponse`` to :func:`to_questionnaire` as an Assessment.

    Items are matched by ``linkId`` (the field name). A missing obligations item means no
    obligations; every other question must be answered once, with a coding from the
    question's own code system, a boolean or an integer as the Questionnaire says.

    Raises:
        InvalidAssessment: naming the linkId of every missing or bad answer (and of
            unknown items when their linkId looks like a name); no other error escapes.

    """
    if not isinstance(response, Mapping):
        raise InvalidAssessment(
            (
                FieldProblem(
                    WHOLE_RESPONSE,
                    "must be a QuestionnaireResponse object",
                    describe_kind(response),
                    "a FHIR QuestionnaireResponse resource",
                ),
            )
        )
    problems = _check_resource(response)
    items = response.get("item", [])
    if not isinstance(items, list):
        problems.append(
            FieldProblem(
                WHOLE_RESPONSE,
                "has items that are not a list",
                describe_kind(items),
                "a list of items",
            )
        )
        items = []
    values, bad = _read_items(items, problems)
    specs = field_specs()
    for name, spec in specs.items():
        if (
            spec.kind == "choices"
            and name not in values
            and name not in bad
            and not is_required(spec)
        ):
            values[name] = []
    try:
        assessment = parse_assessment(values)
    except InvalidAssessment as error:
        problems += [p for p in error.problems if p.field not in bad]
    if problems:
        rank = {name: index for index, name in enumerate(intake_order())}
        problems.sort(key=lambda p: rank.get(p.field.split("[", 1)[0], -1))
        raise InvalidAssessment(tuple(problems))
    return assessment
