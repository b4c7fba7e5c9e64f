"""One assessment as a flat fact for a matcher (durable-rules or the compiled backend)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from iop_placement._model.errors import PlacementError
from iop_placement._model.fields import field_specs

__all__ = ["check_fact_keys", "encode", "fact_key"]

# Keys durable-rules gives a meaning ("sid", "id") or the durable adapter uses itself.
RESERVED: Final = frozenset({"sid", "id", "always__"})


def fact_key(field: str, item: str) -> str:
    """The flat key that says whether list ``field`` includes ``item``."""
    return f"{field}__{item}"


def encode(values: Mapping[str, Any]) -> dict[str, Any]:
    """The answers as a flat fact: a list field becomes one true/false key per value."""
    fact: dict[str, Any] = {}
    for name, spec in field_specs().items():
        if spec.kind == "choices":
            chosen = values[name]
            fact.update({fact_key(name, item): item in chosen for item in spec.values})
        else:
            fact[name] = values[name]
    return fact


def check_fact_keys() -> None:
    """Fail early if field names would clash in the flat fact."""
    specs = field_specs(with_decided_level=True)
    keys = [
        fact_key(name, item) if spec.kind == "choices" else name
        for name, spec in specs.items()
        for item in (spec.values if spec.kind == "choices" else (None,))
    ]
    if clash := (set(keys) & RESERVED) or (len(keys) != len(set(keys))):
        msg = f"assessment field names clash in the flat fact: {clash}"
        raise PlacementError(msg)
