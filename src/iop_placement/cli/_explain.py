"""Command-line options for explanations (``assess --format``) and ``rules --markdown``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, TextIO

from iop_placement._engine import PlacementEngine
from iop_placement._i18n import LANGUAGES
from iop_placement._render.markdown import escape_markdown
from iop_placement._rules.catalogue import render_catalogue_markdown
from iop_placement._rules.ruleset import RuleSet
from iop_placement.cli._view import write_short

if TYPE_CHECKING:
    from iop_placement.reassessment import TransitionRules

__all__ = [
    "add_explain_options",
    "add_markdown_option",
    "write_explanation",
    "write_rules_markdown",
]

FORMATS = ("text", "markdown", "html")


def add_explain_options(assess: argparse.ArgumentParser) -> None:
    """``assess --full`` and ``--format``: the short view unless asked for the explanation."""
    assess.add_argument(
        "--full",
        action="store_true",
        help="print the whole explanation (why, why not, what would change it, sources)"
        " instead of the short view (level, flags, deciding reasons, dimension ratings)",
    )
    assess.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="print the whole explanation as text (as --full), Markdown or an HTML fragment;"
        " --json prints the recommendation instead",
    )
    assess.add_argument(
        "--language",
        choices=LANGUAGES,
        default="en",
        help="the language of the explanation (default en); the decision is the same in all",
    )


def write_explanation(
    engine: PlacementEngine,
    data: Any,  # noqa: ANN401 - any JSON document; the engine validates it
    args: argparse.Namespace,
    out: TextIO,
) -> None:
    """Print the short view, or the whole explanation in the format asked for."""
    fmt = getattr(args, "format", None)
    language = getattr(args, "language", "en")
    # The short view is English only for now: another language prints the whole
    # explanation, which is translated, rather than English under a Spanish request.
    if fmt is None and not getattr(args, "full", False) and language == "en":
        write_short(engine.recommend(data), out)
        return
    explanation = engine.explain(data)
    if fmt == "markdown":
        out.write(explanation.to_markdown(language))
    elif fmt == "html":
        out.write(explanation.to_html(language))
    else:
        out.write(explanation.to_text(language) + "\n")


def add_markdown_option(rules: argparse.ArgumentParser) -> None:
    """``rules --markdown``: the catalogue as Markdown (how docs/rules.md is made)."""
    rules.add_argument(
        "--markdown",
        action="store_true",
        help="print the catalogue as Markdown (docs/rules.md is generated with this)",
    )


def write_rules_markdown(
    rule_set: RuleSet, out: TextIO, transitions: TransitionRules | None = None
) -> None:
    """Print the rule catalogue as Markdown, with the transition rules when given."""
    out.write(render_catalogue_markdown(rule_set))
    if transitions is not None:
        out.write("\n" + _transitions_markdown(transitions))


def _transitions_markdown(rules: TransitionRules) -> str:
    """The reassessment rules (``rules/transitions.json``): what a clinician checks."""
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
