"""Command-line options for explanations (``assess --format``) and ``rules --markdown``."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from iop_placement._engine import PlacementEngine
from iop_placement._i18n import LANGUAGES
from iop_placement._rules.catalogue import render_catalogue_markdown
from iop_placement._rules.ruleset import RuleSet

__all__ = [
    "add_explain_options",
    "add_markdown_option",
    "write_explanation",
    "write_rules_markdown",
]

FORMATS = ("text", "markdown", "html")


def add_explain_options(assess: argparse.ArgumentParser) -> None:
    """``assess --format``: how to print the explanation (text unless asked otherwise)."""
    assess.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="print the explanation (why, why not, what would change it) as text (default),"
        " Markdown or an HTML fragment; --json prints the recommendation instead",
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
    """Explain one assessment and print it in the format asked for."""
    explanation = engine.explain(data)
    fmt = getattr(args, "format", "text")
    language = getattr(args, "language", "en")
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


def write_rules_markdown(rule_set: RuleSet, out: TextIO) -> None:
    """Print the rule catalogue as Markdown."""
    out.write(render_catalogue_markdown(rule_set))
