"""Turn whatever a form sends into an Assessment, or one InvalidAssessment naming every problem."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from typing import Any, Final

from pydantic import ValidationError

from iop_placement._model.assessment import ENUM_TYPES, Assessment
from iop_placement._model.errors import FieldProblem, InvalidAssessment
from iop_placement._model.fields import field_specs

__all__ = ["MAX_FIELDS", "MAX_ITEMS", "describe_kind", "parse_assessment", "parse_partial"]

_WHOLE: Final = "(assessment)"
_ALLOWED: Final = "an object with the fields of the assessment"
MAX_FIELDS: Final = 256
"""At most this many keys of an input mapping are read; more is refused unread."""
MAX_ITEMS: Final = 100
"""At most this many items of a list answer are read (an iterator is never drained)."""


class _Unreadable(Exception):  # noqa: N818 - internal signal, never escapes
    """Reading the input failed or hit a bound; carries the problem to report."""

    def __init__(self, problem: FieldProblem) -> None:
        self.problem = problem


def describe_kind(value: object) -> str:
    """Describe a given value by its kind only, never by its content.

    Never raises, even for objects whose attribute access or ``isinstance`` check does.
    """
    try:
        return _kind(value)
    except Exception:  # noqa: BLE001 - a hostile object is still described by its type
        return f"a value of type {type(value).__name__}"


def _kind(value: object) -> str:
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


def _unknown(position: int | None) -> str:
    """The placeholder for a key that is not a field: its position, never its text.

    A key could be free text (even a patient's name), and errors must be safe to log.
    """
    return f"(unknown field #{position})" if position is not None else "(an unknown field)"


def _field_name(
    loc: tuple[int | str, ...], known: Mapping[str, object], positions: Mapping[object, int]
) -> str:
    if not loc:
        return _WHOLE
    head = loc[0]
    if isinstance(head, str) and head in known:
        return head if len(loc) == 1 else f"{head}[{loc[1]}]"
    return _unknown(positions.get(head))


def _problems(error: ValidationError, positions: Mapping[object, int]) -> tuple[FieldProblem, ...]:
    specs = field_specs()
    problems: list[FieldProblem] = []
    for item in error.errors(include_url=False, include_context=False):
        loc = item["loc"]
        name = _field_name(loc, specs, positions)
        spec = specs.get(str(loc[0])) if loc else None
        missing = item["type"] == "missing"
        kind = "nothing" if missing else describe_kind(item.get("input"))
        allowed = spec.describe_allowed() if spec else "only the fields of the assessment"
        problems.append(FieldProblem(name, _problem_text(item["type"]), kind, allowed))
    return tuple(problems)


def _whole(problem: str, data: object) -> InvalidAssessment:
    return InvalidAssessment((FieldProblem(_WHOLE, problem, describe_kind(data), _ALLOWED),))


# An Assessment's own answers are enum members: read as they are too.
_SCALARS: Final = frozenset(
    {str, int, bool, float, type(None)}
    | {spec.enum for spec in field_specs().values() if spec.enum is not None}
)
_SEQUENCES: Final = frozenset({list, tuple})


def _bounded(name: str, value: object) -> object:
    """A list answer read into a list of at most MAX_ITEMS items; anything else unchanged."""
    kind = type(value)
    if kind in _SCALARS:  # what a form sends, without the slower abstract-class checks
        return value
    if kind is list and len(value) <= MAX_ITEMS:  # type: ignore[arg-type]
        return value  # validation copies it
    if isinstance(value, str | bytes | bytearray | Mapping) or not isinstance(value, Iterable):
        return value
    items = list(itertools.islice(iter(value), MAX_ITEMS + 1))
    if len(items) > MAX_ITEMS:
        raise _Unreadable(
            FieldProblem(
                name,
                "has too many items",
                f"a list of more than {MAX_ITEMS} items",
                f"at most {MAX_ITEMS} items",
            )
        )
    return items


_PLAIN: Final = _SCALARS | _SEQUENCES
# What an Assessment's own field values are: the plain types and the fields' enums.
_OF_A_MODEL: Final = _PLAIN | ENUM_TYPES
# The fields whose answer is a list: validation reads each item of what they are given.
_LISTS: Final = tuple(name for name, spec in field_specs().items() if spec.kind == "choices")


def _plain_and_within_bounds(data: dict[Any, Any], plain: frozenset[type] = _PLAIN) -> bool:
    """Whether the dict ``data`` holds scalars and lists, safe to validate as it is.

    A list answer to a list field must be within :data:`MAX_ITEMS`; a list anywhere else
    fails validation unread (a scalar field refuses it by its type, an unknown key is
    forbidden), and the careful reading then names it, long lists as too long. ``plain``:
    the types a value may have (an Assessment's own values also hold the fields' enums).
    """
    if len(data) > MAX_FIELDS or not plain.issuperset(map(type, data.values())):
        return False
    for name in _LISTS:
        value = data.get(name)
        if type(value) in _SEQUENCES and len(value) > MAX_ITEMS:  # type: ignore[arg-type]
            return False
    return True


def _plain_copy(data: Mapping[Any, Any]) -> tuple[dict[Any, Any], dict[object, int]]:
    """The input as a plain dict, read within bounds; the position of each key (from 1)."""
    pairs = list(itertools.islice(iter(data.items()), MAX_FIELDS + 1))
    if len(pairs) > MAX_FIELDS:
        raise _Unreadable(
            FieldProblem(
                _WHOLE,
                "has too many fields",
                f"an object with more than {MAX_FIELDS} keys",
                _ALLOWED,
            )
        )
    specs = field_specs()
    copy: dict[Any, Any] = {}
    positions: dict[object, int] = {}
    for position, (key, value) in enumerate(pairs, 1):
        name = key if isinstance(key, str) and key in specs else _unknown(position)
        copy[key] = _bounded(name, value)
        positions[key] = position
    return copy, positions


def parse_assessment(data: object) -> Assessment:
    """Validate ``data`` (a mapping or an Assessment) and return an Assessment.

    An ``Assessment`` is validated again from its field values, so a copy made with
    ``model_copy(update=...)`` or ``model_construct`` cannot carry an unchecked value to a
    backend. The input is read within bounds (:data:`MAX_FIELDS`, :data:`MAX_ITEMS`).

    Raises:
        InvalidAssessment: listing every bad field; no other exception escapes, whatever
            the input does while it is read.

    """
    given: object = data
    if type(data) is Assessment:  # not isinstance: that reads a hostile object's __class__
        # Validated again (model_copy(update=...) and model_construct skip validation),
        # from its values as they are where they are of the model's own types.
        given = data.__dict__
        plain = type(given) is dict and _plain_and_within_bounds(given, _OF_A_MODEL)
    else:
        plain = type(data) is dict and _plain_and_within_bounds(data)
    if plain:
        # What forms send: validated as it is; a problem is read again carefully below.
        try:
            assessment: Assessment = Assessment.__pydantic_validator__.validate_python(given)
        except ValidationError:  # the careful path below names the problems
            pass
        except Exception:  # noqa: BLE001 - a form must never see anything but InvalidAssessment
            raise _whole("could not be read", data) from None
        else:
            return assessment
    return _parse_carefully(data)


def _validate(data: dict[Any, Any]) -> Assessment:
    """``Assessment.model_validate(data)``: the same validator, without the keyword handling."""
    assessment: Assessment = Assessment.__pydantic_validator__.validate_python(data)
    return assessment


def _parse_carefully(data: object) -> Assessment:
    """:func:`parse_assessment` for any input: read within bounds, problems named."""
    positions: dict[object, int] = {}
    try:
        if isinstance(data, Assessment):
            # Not trusted as is: model_copy(update=...) and model_construct skip validation.
            data = {name: getattr(data, name) for name in Assessment.model_fields}
            if _plain_and_within_bounds(data):  # its values: validated as they are
                try:
                    return _validate(data)
                except ValidationError:  # read again below, to name the problems
                    pass
        if not isinstance(data, Mapping):
            raise _whole("must be an object (a mapping of field names to answers)", data)
        copy, positions = _plain_copy(data)
        return _validate(copy)
    except InvalidAssessment:
        raise
    except _Unreadable as error:
        raise InvalidAssessment((error.problem,)) from None
    except ValidationError as error:
        raise InvalidAssessment(_problems(error, positions)) from None
    except Exception:  # noqa: BLE001 - a form must never see anything but InvalidAssessment
        raise _whole("could not be read", data) from None


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
    if isinstance(data, Assessment):  # validated again, as parse_assessment does
        return parse_assessment(data).values()
    if not isinstance(data, Mapping):
        parse_assessment(data)  # raises the error a non-mapping gets
    assert isinstance(data, Mapping)
    try:
        given, _ = _plain_copy(data)  # read within bounds, as parse_assessment reads it
    except _Unreadable as unreadable:
        raise InvalidAssessment((unreadable.problem,)) from None
    except Exception:  # noqa: BLE001 - whatever a hostile mapping raises
        raise _whole("could not be read", data) from None
    # The given answers first, so an unknown key is reported at its own position.
    merged = {**given, **{k: v for k, v in _filler().items() if k not in given}}
    values = parse_assessment(merged).values()
    return {name: values[name] for name in field_specs() if name in given}
