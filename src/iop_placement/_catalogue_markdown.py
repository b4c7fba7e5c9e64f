"""The rule catalogue as Markdown: ``docs/rules.md`` is generated from ``rules/`` with this."""

from __future__ import annotations

from iop_placement._catalogue import describe_outcome
from iop_placement._fields import field_specs
from iop_placement._render_markdown import escape_markdown
from iop_placement._ruleset import Rule, RuleFile, RuleSet

__all__ = ["GENERATED_BY", "render_catalogue_markdown"]

GENERATED_BY = "iop-placement rules --markdown > docs/rules.md"


def _rule(rule: Rule) -> list[str]:
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


def _family(file: RuleFile) -> list[str]:
    lines = [
        f"## {escape_markdown(file.title)} (`{file.family}.json`)",
        "",
        escape_markdown(file.description),
        "",
    ]
    for rule in file.rules:
        lines += _rule(rule)
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
        lines += _family(file)
    return "\n".join(lines).rstrip() + "\n"
