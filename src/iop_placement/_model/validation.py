"""Turn whatever a form sends into an Assessment, or one InvalidAssessment naming every problem."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Final

from pydantic import ValidationError

from iop_placement._model.assessment import Assessment
from iop_placement._model.errors import FieldProblem, InvalidAssessment
from iop_placement._model.fields import field_specs

__all__ = ["describe_kind", "parse_assessment", "parse_partial"]

# An unknown key is named in the error only when it looks like a field name: a key could be
# free text (even a patient's name), and errors must be safe to log.
_NAME_LIKE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_WHOLE: Final = "(assessment)"


def describe_kind(value: object) -> str:
    """Describe a given value by its kind only, never by its content."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a true/false value"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number that is not finite" if not math.isfinite(value) else "a decimal number"
    if isinstance(value, str):
        return "an empty string" if not value else "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple | set | frozenset):
        return "a list"
    return f"a value of type {type(value).__name__}"


def _problem_text(error_type: str) -> str:
    if error_type == "missing":
        return "is required"
    if error_type == "extra_forbidden":
        return "is not a field of the assessment"
    if error_type in {"less_than_equal", "greater_than_equal"}:
        return "is out of range"
    if error_type in {"enum", "literal_error"}:
        return "is not one of the allowed values"
    return "has the wrong type of value"


def _field_name(loc: tuple[int | str, ...], known: Mapping[str, object]) -> str:
    if not loc:
        return _WHOLE
    head = loc[0]
    if isinstance(head, str) and (head in known or _NAME_LIKE.fullmatch(head)):
        return head if len(loc) == 1 else f"{head}[{loc[1]}]"
    return "(a field whose name is not shown)"


def _problems(error: ValidationError) -> tuple[FieldProblem, ...]:
    specs = field_specs()
    problems: list[FieldProblem] = []
    for item in error.errors(include_url=False, include_context=False):
        loc = item["loc"]
        name = _field_name(loc, specs)
        spec = specs.get(str(loc[0])) if loc else None
        missing = item["type"] == "missing"
        kind = "nothing" if missing else describe_kind(item.get("input"))
        allowed = spec.describe_allowed() if spec else "only the fields of the assessment"
        problems.append(FieldProblem(name, _problem_text(item["type"]), kind, allowed))
    return tuple(problems)


def parse_assessment(data: object) -> Assessment:
    """Validate ``data`` (a mapping or an Assessment) and return an Assessment.

    Raises:
        InvalidAssessment: listing every bad field; no other exception escapes.

    """
    if isinstance(data, Assessment):
        return data
    if not isinstance(data, Mapping):
        raise InvalidAssessment(
            (
                FieldProblem(
                    _WHOLE,
                    "must be an object (a mapping of field names to answers)",
                    describe_kind(data),
                    "an object with the fields of the assessment",
                ),
            )
        )
    try:
        return Assessment.model_validate(data)
    except ValidationError as error:
        raise InvalidAssessment(_problems(error)) from None
    except Exception:  # noqa: BLE001 - a form must never see anything but InvalidAssessment
        raise InvalidAssessment(
            (
                FieldProblem(
                    _WHOLE,
                    "could not be read",
                    describe_kind(data),
                    "an object with the fields of the assessment",
                ),
            )
        ) from None


def _filler() -> dict[str, object]:
    """One valid answer per field, to validate a partial intake field by field."""
    filler: dict[str, object] = {}
    for name, spec in field_specs().items():
        if spec.kind == "integer":
            filler[name] = spec.minimum or 0
        elif spec.kind == "choices":
            filler[name] = []
        else:
            filler[name] = spec.values[0]
    return filler


def parse_partial(data: object) -> dict[str, object]:
    """Validate a partial intake: the given answers as codes; a field left out is unanswered.

    Each given answer is checked exactly as :func:`parse_assessment` checks it (unknown
    fields and bad values are errors); an optional field given as ``null`` is answered
    "left out" (its absence means what the model says), not unanswered.

    Raises:
        InvalidAssessment: listing every bad field; no other exception escapes.

    """
    if isinstance(data, Assessment):
        return data.values()
    if not isinstance(data, Mapping):
        parse_assessment(data)  # raises the error a non-mapping gets
    assert isinstance(data, Mapping)
    given = dict(data.items())
    merged = {**_filler(), **given}
    values = parse_assessment(merged).values()
    return {name: values[name] for name in field_specs() if name in given}
