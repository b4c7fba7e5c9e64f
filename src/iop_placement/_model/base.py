"""The one base of the library's frozen Pydantic models: immutable, no unknown keys."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict

__all__ = ["Frozen"]

_set = object.__setattr__


class Frozen(BaseModel):
    """Immutable (hashable where the fields are) and strict about keys it does not know.

    Validation errors never contain the values given (``hide_input_in_errors``), so they
    are safe to log. Subclasses add to the configuration (``populate_by_name``); Pydantic
    merges it with this one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    @classmethod
    def _trusted(cls, fields: dict[str, Any]) -> Self:
        """An instance of parts the library built itself from validated ones, not re-checked.

        ``fields`` holds every field, in declaration order, each already of its type (the
        tests hold the result equal to ``model_validate``'s). What ``model_construct`` does,
        without the aliases and defaults it works out on every call. Taken over: no copy.
        """
        instance = cls.__new__(cls)
        _set(instance, "__dict__", fields)
        _set(instance, "__pydantic_fields_set__", set(fields))
        _set(instance, "__pydantic_extra__", None)
        _set(instance, "__pydantic_private__", None)
        return instance
