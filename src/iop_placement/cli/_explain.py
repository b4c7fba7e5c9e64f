"""Command-line options for explanations (``assess --format``) and ``rules --markdown``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, TextIO

from iop_placement._engine import PlacementEngine
from iop_placement._i18n import LANGUAGES
from iop_placement._rules.catalogue import render_catalogue_markdown
from iop_placement._rules.ruleset import RuleSet
from iop_placement.cli._view import write_short
from iop_placement.reassessment import render_transitions_markdown

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
    if fmt is None and not getattr(args, "full", False):
        write_short(engine.recommend(data), out, language)
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
        out.write("\n" + render_transitions_markdown(transitions))
