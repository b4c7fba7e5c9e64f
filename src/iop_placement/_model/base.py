"""The one base of the library's frozen Pydantic models: immutable, no unknown keys."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Frozen"]


class Frozen(BaseModel):
    """Immutable (hashable where the fields are) and strict about keys it does not know.

    Subclasses add to the configuration (``hide_input_in_errors``, ``populate_by_name``);
    Pydantic merges it with this one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
