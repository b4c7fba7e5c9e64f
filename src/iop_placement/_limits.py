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
    "MAX_MEMBERS",
    "MAX_NUMBER_CHARS",
    "JsonLimitError",
    "json_depth_within",
    "loads_bounded",
]

MAX_DEPTH: Final = 64
"""Deepest nesting of arrays and objects accepted (an assessment needs 3, FHIR about 8)."""
MAX_NUMBER_CHARS: Final = 40
"""Longest number literal accepted, in characters (no answer needs more than 3 digits)."""
MAX_MEMBERS: Final = 1000
"""Most members of one array or object (an assessment has 17 fields; obligations 4 values).

Validating a million-member list costs seconds and hundreds of MB before it fails."""


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
    """Whether ``value`` (parsed JSON) nests arrays and objects at most ``limit`` deep."""
    return _first_excess(value, limit, None) is None


def _first_excess(value: object, depth_limit: int, members_limit: int | None) -> str | None:
    # Level by level, so a deep value cannot exhaust the stack; stops at the first excess.
    # No tuple per node: on a CDS Hooks body (a QuestionnaireResponse, ~1,000 values) this
    # is a third of the time of a walk with an explicit (node, depth) stack.
    level: list[object] = [value]
    depth = 0
    while level:
        below: list[object] = []
        containers = False
        for item in level:
            if isinstance(item, dict):
                children: Any = item.values()
            elif isinstance(item, list):
                children = item
            else:
                continue
            if not containers:  # the first array or object at this level
                containers = True
                depth += 1
                if depth > depth_limit:
                    return f"the body is nested more than {depth_limit} deep"
            if members_limit is not None and len(children) > members_limit:
                return f"an array or object in the body has more than {members_limit} members"
            below.extend(children)
        level = below
    return None


def loads_bounded(data: bytes | str) -> Any:  # noqa: ANN401 - any JSON document
    """Parse JSON with the depth and number limits of this module.

    Raises:
        JsonLimitError: for text that is not UTF-8, not JSON, nested deeper than
            :data:`MAX_DEPTH`, with an array or object of more than :data:`MAX_MEMBERS`
            members, or holding a number longer than :data:`MAX_NUMBER_CHARS`.

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
    excess = _first_excess(value, MAX_DEPTH, MAX_MEMBERS)
    if excess is not None:
        raise JsonLimitError(excess)
    return value
