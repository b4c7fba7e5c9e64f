"""The rule catalogue in words: what each rule reads, what it does, where it comes from.

As plain text (``iop-placement rules``) or Markdown (``docs/rules.md`` is generated with
:func:`render_catalogue_markdown`).
"""

from __future__ import annotations

from iop_placement._model.fields import field_specs
from iop_placement._render.markdown import escape_markdown
from iop_placement._rules.ruleset import Outcome, Rule, RuleFile, RuleSet

__all__ = [
    "GENERATED_BY",
    "describe_outcome",
    "describe_rule",
    "render_catalogue",
    "render_catalogue_markdown",
]


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


# --- as Markdown ----------------------------------------------------------------------

GENERATED_BY = "iop-placement rules --markdown > docs/rules.md"


def _markdown_rule(rule: Rule) -> list[str]:
    specs = field_specs(with_decided_level=True, with_derived=True)
    source = rule.source
    lines = [
        f"### `{rule.id}`: {escape_markdown(rule.title)}",
        "",
        escape_markdown(rule.text),
        "",
        f"- **When:** {escape_markdown(rule.when.describe(specs))}",
        f"- **Then:** {escape_markdown(describe_outcome(rule.then))}",
    ]
    if rule.then.alternative is not None:
        lines.append("- **Alternative only if:**")
        lines += [f"  - {escape_markdown(c)}" for c in rule.then.alternative.conditions]
    if source.documents:
        lines.append(f"- **Source documents:** {escape_markdown('; '.join(source.documents))}")
    if source.quotes:
        lines.append("- **Quotes:**")
        lines += [f"  - {escape_markdown(f'“{quote}”')}" for quote in source.quotes]
    if source.practice:
        lines.append(f"- **Practice:** {escape_markdown(source.practice)}")
    lines += [f"- **Reading:** {escape_markdown(source.reading)}", ""]
    return lines


def _markdown_family(file: RuleFile) -> list[str]:
    lines = [
        f"## {escape_markdown(file.title)} (`{file.family}.json`)",
        "",
        escape_markdown(file.description),
        "",
    ]
    for rule in file.rules:
        lines += _markdown_rule(rule)
    return lines


def render_catalogue_markdown(rule_set: RuleSet) -> str:
    """Every rule, family by family: id, text, conditions in words, outcome and source."""
    manifest = rule_set.manifest
    lines = [
        "# Rule catalogue",
        "",
        f"<!-- Generated from rules/ by `{GENERATED_BY}`; do not edit by hand. -->",
        "",
        f"Rule set **{escape_markdown(rule_set.name)}** version"
        f" {escape_markdown(rule_set.version)}: {len(rule_set.rules)} rules in"
        f" {len(rule_set.files)} families. Every recommendation records the rule set's"
        " SHA-256; `iop-placement rules` prints it.",
        "",
    ]
    if manifest.description:
        lines += [escape_markdown(manifest.description), ""]
    if manifest.alternative_blocked_by_flags:
        blocked = ", ".join(flag.label for flag in manifest.alternative_blocked_by_flags)
        lines += [
            "No alternative level is offered when any of these flags is raised:"
            f" {escape_markdown(blocked)}.",
            "",
        ]
    lines += ["Families:", ""]
    lines += [
        f"{n}. {escape_markdown(file.title)} (`{file.family}.json`): {len(file.rules)} rules"
        for n, file in enumerate(rule_set.files, 1)
    ]
    lines.append("")
    for file in rule_set.files:
        lines += _markdown_family(file)
    return "\n".join(lines).rstrip() + "\n"
