"""What every rendering shares: the clinician notice and facts in words."""

from __future__ import annotations

from collections.abc import Mapping

from iop_placement._fields import field_specs
from iop_placement._recommendation import FactValue

__all__ = ["NOTICE", "describe_facts"]

NOTICE = (
    "Decision support for clinicians: review the reasons and sources above; the"
    " placement decision remains a clinical judgement."
)
_WIDTH = 88


def describe_facts(facts: Mapping[str, FactValue]) -> str:
    """Facts as '<field title> = <value label>' pairs, using the model's labels."""
    specs = field_specs(with_decided_level=True, with_derived=True)
    parts = []
    for name, value in facts.items():
        spec = specs.get(name)
        if spec is None:
            parts.append(f"{name} = {value}")
            continue
        shown = (
            ", ".join(spec.label(v) for v in value) or "none"
            if isinstance(value, list)
            else spec.label(value)
        )
        parts.append(f"{spec.title.lower()} = {shown}")
    return "; ".join(parts)
