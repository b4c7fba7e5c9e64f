"""JSON bytes of frozen models, with the parts they share with others written once.

The same bytes as ``pydantic_core.to_json``: the engine hands out the same reason, rating
and rule set objects again and again (they are frozen), so each is serialised once and a
recommendation is spliced together from those pieces, field by field in the model's order.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from enum import Enum
from typing import Any, Final

import pydantic_core
from pydantic import BaseModel

from iop_placement._model.memo import IdentityMemo

__all__ = ["model_json", "to_json"]


def to_json(value: Any) -> bytes:  # noqa: ANN401 - any JSON-able value or model
    """Compact UTF-8 JSON, models as ``model_dump(mode="json")`` has them; NaN as null."""
    return pydantic_core.to_json(value, by_alias=False, inf_nan_mode="null")


# Bounded: the parts that recent recommendations share.
_MODELS: Final = IdentityMemo(to_json, 4096)


@functools.lru_cache(maxsize=256)
def key_json(name: str) -> bytes:
    """An object key as JSON, with its colon."""
    return to_json(name) + b":"


@functools.lru_cache(maxsize=256)
def _member(member: Enum) -> bytes:
    return to_json(member)


_CONSTANTS: Final = {None: b"null", True: b"true", False: b"false"}


def _value(value: object) -> bytes:
    if value is None or type(value) is bool:
        return _CONSTANTS[value]
    if isinstance(value, Enum):  # pydantic-core takes microseconds over each member
        return _member(value)
    if isinstance(value, tuple):
        return b"[" + b",".join([_value(item) for item in value]) + b"]"
    if isinstance(value, BaseModel):
        return _MODELS(value)
    return to_json(value)


@functools.lru_cache(maxsize=64)
def _keys(model: type[BaseModel]) -> tuple[tuple[str, bytes], ...]:
    return tuple((name, key_json(name)) for name in model.model_fields)


def model_json(model: BaseModel, written: Mapping[str, bytes] | None = None) -> bytes:
    """``to_json(model)``, the same bytes; the fields in ``written`` are given as JSON.

    Nested models are written once each (they are frozen). For models without a
    serialiser, computed field or excluded field of their own (the library's have none).
    """
    fields = model.__dict__
    written = written or {}
    return (
        b"{"
        + b",".join(
            [
                key + (written[name] if name in written else _value(fields[name]))
                for name, key in _keys(type(model))
            ]
        )
        + b"}"
    )
