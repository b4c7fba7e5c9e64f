"""The transition rules as Markdown: the care-over-time part of docs/rules.md."""

from __future__ import annotations

from iop_placement._render.markdown import escape_markdown
from iop_placement.reassessment._rules import TransitionRules

__all__ = ["render_transitions_markdown"]


def render_transitions_markdown(rules: TransitionRules) -> str:
    """The reassessment rules (``rules/transitions.json``) as Markdown."""
    order = ", ".join(f"{d.label} ({d.value})" for d in rules.precedence)
    lines = [
        f"## {escape_markdown(rules.title)} (`transitions.json`, version {rules.version})",
        "",
        escape_markdown(rules.description),
        "",
        f"When rules supporting different decisions hold, the first in this order wins: {order};"
        f" when none holds: {rules.default.label}. Their conditions over the two"
        " recommendations are tabled in docs/reassessment.md.",
        "",
    ]
    for rule in rules.rules:
        source = rule.source
        lines += [
            f"### `{rule.id}`: {escape_markdown(rule.title)}",
            "",
            escape_markdown(rule.text),
            "",
            f"- **Decision:** {rule.then.decision.label}",
        ]
        if source.documents:
            lines.append(f"- **Source documents:** {escape_markdown('; '.join(source.documents))}")
        if source.practice:
            lines.append(f"- **Practice:** {escape_markdown(source.practice)}")
        lines += [f"- **Reading:** {escape_markdown(source.reading)}", ""]
    return "\n".join(lines)
