"""Plain-text rendering of a recommendation, for a clinician to read and check."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping

from iop_placement._fields import field_specs
from iop_placement._recommendation import FactValue, Reason, Recommendation

__all__ = ["describe_facts", "render_text"]

NOTICE = (
    "Decision support for clinicians: review the reasons and sources above; the"
    " placement decision remains a clinical judgement."
)
_WIDTH = 88


def describe_facts(facts: Mapping[str, FactValue]) -> str:
    """Facts as '<field title> = <value label>' pairs, using the model's labels."""
    specs = field_specs(with_decided_level=True)
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


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, _WIDTH, initial_indent=indent, subsequent_indent=indent + "  ") or [
        indent
    ]


def _reasons(title: str, reasons: Iterable[Reason]) -> list[str]:
    lines: list[str] = []
    for number, reason in enumerate(reasons, 1):
        level = reason.level.label if reason.level else "flags only"
        lines += _wrap(f"{number}. {reason.title} [{reason.rule_id}] -> {level}", "  ")
        lines += _wrap(reason.text, "     ")
        lines += _wrap(f"Facts: {describe_facts(reason.facts)}", "     ")
        lines += _wrap(f"Source: {reason.source}", "     ")
    return [title, *lines] if lines else []


def render_text(rec: Recommendation) -> str:
    """The recommendation as plain text: level, flags, why, alternative, rule set."""
    lines = [f"Recommended level of care: {rec.level.label}", f"Typical intensity: {rec.intensity}"]
    if rec.flags:
        lines.append("Flags:")
        for flag in rec.flags:
            lines += _wrap(f"! {flag.label}: {flag.description}", "  ")
    lines += _reasons("Why (deciding reasons):", rec.deciding)
    if not rec.deciding:
        lines.append("Why: no rule calls for more than standard outpatient care.")
    lines += _reasons("Also considered (supporting reasons):", rec.supporting)
    if rec.alternative is not None:
        alt = rec.alternative
        lines.append(
            f"Alternative the clinician may weigh: {alt.level.label}"
            f" (from {', '.join(alt.rule_ids)}), only if:"
        )
        for condition in alt.conditions:
            lines += _wrap(f"- {condition}", "  ")
    ruleset = rec.ruleset
    lines.append(f"Rule set: {ruleset.name} {ruleset.version} (sha256 {ruleset.sha256[:12]})")
    lines += _wrap(NOTICE, "")
    return "\n".join(lines)
