"""What every rendering of a recommendation says the same way: the notice, answers in words."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from iop_placement._model.fields import FactValue, FieldSpec, field_specs

__all__ = ["NOTICE", "describe_facts", "value_label"]

NOTICE: Final = (
    "Decision support for clinicians: review the reasons and sources above; the"
    " placement decision remains a clinical judgement."
)


# Built once: field_specs() copies its mappings on every call with these options.
_SPECS: Final = field_specs(with_decided_level=True, with_derived=True)


def value_label(spec: FieldSpec, value: FactValue) -> str:
    """One answer in words: a value's label, or a list's labels ('none' when empty)."""
    if isinstance(value, list):
        return ", ".join(spec.label(item) for item in value) or "none"
    return spec.label(value)


def describe_facts(facts: Mapping[str, FactValue]) -> str:
    """Facts as '<field title> = <value label>' pairs, using the model's labels."""
    specs = _SPECS
    parts = []
    for name, value in facts.items():
        spec = specs.get(name)
        if spec is None:
            parts.append(f"{name} = {value}")
            continue
        parts.append(f"{spec.title.lower()} = {value_label(spec, value)}")
    return "; ".join(parts)
