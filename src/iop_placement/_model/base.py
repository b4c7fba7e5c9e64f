"""The one base of the library's frozen Pydantic models: immutable, no unknown keys."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Final, Self

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from pydantic._internal._namespace_utils import MappingNamespace

__all__ = ["Frozen"]

_set = object.__setattr__

# One lock for every deferred build: Pydantic's model_rebuild is not thread-safe before
# 2.14 (pydantic#13419, fixed by pydantic#13438), and two threads validating their first
# assessment at once (a server's first requests) would both build the same model.
# Re-entrant: building one model builds the models its fields hold.
_BUILD: Final = threading.RLock()


class Frozen(BaseModel):
    """Immutable (hashable where the fields are) and strict about keys it does not know.

    Validation errors never contain the values given (``hide_input_in_errors``), so they
    are safe to log. Subclasses add to the configuration (``populate_by_name``); Pydantic
    merges it with this one.

    Each model builds its validator and serializer on first use, not at import
    (``defer_build``): a program that only recommends never validates a recommendation
    (the engine assembles it from validated parts, ``_trusted``), and importing the package
    stays cheap. The first validation or dump of each model pays its build, once, under a
    lock.
    """

    model_config = ConfigDict(
        frozen=True, extra="forbid", hide_input_in_errors=True, defer_build=True
    )

    @classmethod
    def model_rebuild(
        cls,
        *,
        force: bool = False,
        raise_errors: bool = True,
        _parent_namespace_depth: int = 2,
        _types_namespace: MappingNamespace | None = None,
    ) -> bool | None:
        """Pydantic's ``model_rebuild`` (which builds a deferred model), one thread at a time.

        A thread that finds the model being built waits, then finds it complete.
        """
        with _BUILD:
            return super().model_rebuild(
                force=force,
                raise_errors=raise_errors,
                # one frame more than Pydantic counts: this one
                _parent_namespace_depth=_parent_namespace_depth + (_parent_namespace_depth > 0),
                _types_namespace=_types_namespace,
            )

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
