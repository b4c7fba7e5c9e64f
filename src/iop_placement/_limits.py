"""Bounded JSON: a document parsed with limits on nesting depth and number size.

Python's ``json`` accepts integers of any length up to ``sys.get_int_max_str_digits``
(then raises a bare ``ValueError``) and nests until ``RecursionError``. Input from the
network must fail early and in one known way: :class:`JsonLimitError`, whose message
says which limit was passed and where, never what was sent.
"""

from __future__ import annotations

import json
from typing import Any, Final

__all__ = [
    "MAX_DEPTH",
    "MAX_NUMBER_CHARS",
    "JsonLimitError",
    "json_depth_within",
    "loads_bounded",
]

MAX_DEPTH: Final = 64
"""Deepest nesting of arrays and objects accepted (an assessment needs 3, FHIR about 8)."""
MAX_NUMBER_CHARS: Final = 40
"""Longest number literal accepted, in characters (no answer needs more than 3 digits)."""


class JsonLimitError(ValueError):
    """A JSON document that cannot be used: the message names the problem only."""


def _parse_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        msg = f"a number is longer than {MAX_NUMBER_CHARS} characters"
        raise JsonLimitError(msg)
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        msg = f"a number is longer than {MAX_NUMBER_CHARS} characters"
        raise JsonLimitError(msg)
    return float(text)


def _parse_constant(text: str) -> float:  # noqa: ARG001 - json's hook signature
    msg = "NaN and Infinity are not JSON"
    raise JsonLimitError(msg)


def json_depth_within(value: object, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` (parsed JSON) nests arrays and objects at most ``limit`` deep.

    Iterative, so a deep value cannot exhaust the stack; stops at the first level too deep.
    """
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth + 1 > limit:
            return False
        stack.extend((child, depth + 1) for child in children)
    return True


def loads_bounded(data: bytes | str) -> Any:  # noqa: ANN401 - any JSON document
    """Parse JSON with the depth and number limits of this module.

    Raises:
        JsonLimitError: for text that is not UTF-8, not JSON, nested deeper than
            :data:`MAX_DEPTH`, or holding a number longer than :data:`MAX_NUMBER_CHARS`.

    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        msg = "the body is not UTF-8 text"
        raise JsonLimitError(msg) from None
    try:
        value = json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except JsonLimitError:
        raise
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        msg = f"the body is not valid JSON ({where})"
        raise JsonLimitError(msg) from None
    except RecursionError:
        msg = f"the body is nested more than {MAX_DEPTH} deep"
        raise JsonLimitError(msg) from None
    except ValueError:  # any other refusal by the parser; its message may quote the input
        msg = "the body is not valid JSON"
        raise JsonLimitError(msg) from None
    if not json_depth_within(value):
        msg = f"the body is nested more than {MAX_DEPTH} deep"
        raise JsonLimitError(msg)
    return value
