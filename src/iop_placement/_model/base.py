"""The one base of the library's frozen Pydantic models: immutable, no unknown keys."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Frozen"]


class Frozen(BaseModel):
    """Immutable (hashable where the fields are) and strict about keys it does not know.

    Validation errors never contain the values given (``hide_input_in_errors``), so they
    are safe to log. Subclasses add to the configuration (``populate_by_name``); Pydantic
    merges it with this one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)
