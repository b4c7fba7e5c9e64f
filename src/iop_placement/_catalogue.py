"""The rule catalogue in words: what each rule reads, what it does, where it comes from."""

from __future__ import annotations

from iop_placement._fields import field_specs
from iop_placement._ruleset import Outcome, Rule, RuleSet

__all__ = ["describe_outcome", "describe_rule", "render_catalogue"]


def describe_outcome(outcome: Outcome) -> str:
    """What a rule does, in words."""
    parts = []
    if outcome.level is not None:
        parts.append(f"supports {outcome.level.label}")
    if outcome.flags:
        parts.append("raises " + ", ".join(flag.label for flag in outcome.flags))
    if outcome.alternative is not None:
        parts.append(f"offers {outcome.alternative.level.label} as an alternative")
    return "; ".join(parts)


def describe_rule(rule: Rule) -> list[str]:
    """One rule as lines of text."""
    specs = field_specs(with_decided_level=True, with_derived=True)
    return [
        f"{rule.id}: {rule.title}",
        f"  {rule.text}",
        f"  When: {rule.when.describe(specs)}",
        f"  Then: {describe_outcome(rule.then)}",
        f"  Source: {rule.source}",
    ]


def render_catalogue(rule_set: RuleSet) -> str:
    """Every rule of a rule set, family by family, as plain text."""
    lines = [
        f"{rule_set.name} {rule_set.version} (sha256 {rule_set.sha256})",
        f"{len(rule_set.rules)} rules in {len(rule_set.files)} families",
        "",
    ]
    for file in rule_set.files:
        lines += [f"== {file.title} ({file.family}.json)", file.description, ""]
        for rule in file.rules:
            lines += [*describe_rule(rule), ""]
    return "\n".join(lines).rstrip() + "\n"
