"""The short default ``assess`` view: level, flags, deciding reasons and the dimension table.

``assess --full`` prints the whole explanation (why not, what would change it, sources).
On a terminal the view is coloured with rich when it is installed (the ``verify`` extra);
piped output, ``NO_COLOR`` and a missing rich give the same view as plain text.
"""

from __future__ import annotations

import os
import textwrap
from typing import TextIO

from iop_placement._model.levels import FlagKind
from iop_placement._model.recommendation import OVERRIDE_NOTICE, Recommendation
from iop_placement._model.wording import NOTICE

__all__ = ["render_short", "use_colour", "write_short"]

_FULL_HINT = "Why not another level, what would change it and the sources: assess --full FILE"


def use_colour(out: TextIO) -> bool:
    """Colour only a terminal, and never when ``NO_COLOR`` is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty())


def _lines(rec: Recommendation) -> list[tuple[str, str]]:
    """The view as (style, text) lines; the style is a rich style name or ''."""
    lead = [("bold red", f"Safety first: {OVERRIDE_NOTICE}")] if rec.safety_override else []
    lines: list[tuple[str, str]] = [
        *lead,
        ("bold", f"Recommended level of care: {rec.level.label}"),
        ("", f"Typical intensity: {rec.intensity}"),
    ]
    if rec.flags:
        lines.append(("bold", "Flags:"))
        for flag in rec.flags:
            style = "bold red" if flag.kind is FlagKind.SAFETY else "yellow"
            lines.append((style, f"  ! {flag.label} ({flag.kind.value})"))
    else:
        lines.append(("", "Flags: none"))
    lines.append(("bold", "Why (deciding reasons):"))
    for number, reason in enumerate(rec.deciding, 1):
        lines.append(("", f"  {number}. {reason.title} [{reason.rule_id}]"))
        lines.append(("dim", f"     {reason.text}"))
    if rec.alternative is not None:
        conditions = "; ".join(rec.alternative.conditions)
        lines.append(("", f"Alternative to weigh: {rec.alternative.level.label} ({conditions})"))
    if rec.dimensions:
        lines.append(("bold", "Dimension ratings (0 none to 4 severe):"))
        width = max(len(d.dimension.label) for d in rec.dimensions)
        for rating in rec.dimensions:
            style = "red" if rating.rating >= 3 else "yellow" if rating.rating == 2 else ""
            name = rating.dimension.label.ljust(width)
            lines.append((style, f"  {name}  {rating.rating} ({rating.label})"))
    if rec.asam is not None and rec.asam.levels:
        codes = ", ".join(f"{level.code} ({level.edition})" for level in rec.asam.levels)
        lines.append(("", f"Approximate ASAM levels: {codes}"))
    ruleset = rec.ruleset
    sha = ruleset.sha256[:12]
    lines.append(("dim", f"Rule set: {ruleset.name} {ruleset.version} (sha256 {sha})"))
    lines.append(("dim", _FULL_HINT))
    lines.append(("", NOTICE))
    return lines


_WIDTH = 88


def _wrapped(text: str) -> str:
    stripped = text.lstrip(" ")
    marker = stripped.split(" ", 1)[0]
    hang = len(marker) + 1 if marker[:-1].isdigit() and marker.endswith(".") else 2
    indent = " " * (len(text) - len(stripped) + hang)
    return textwrap.fill(text, _WIDTH, subsequent_indent=indent, break_on_hyphens=False)


def render_short(rec: Recommendation) -> str:
    """The short view as plain text, wrapped at 88 columns."""
    return "".join(f"{_wrapped(text)}\n" for _, text in _lines(rec))


def write_short(rec: Recommendation, out: TextIO) -> None:
    """Print the short view, coloured when ``out`` is a terminal and rich is installed."""
    if use_colour(out):
        try:
            from rich.console import Console  # noqa: PLC0415 - optional dependency
            from rich.text import Text  # noqa: PLC0415
        except ImportError:
            pass
        else:
            console = Console(file=out, highlight=False, soft_wrap=True)
            for style, text in _lines(rec):
                console.print(Text(_wrapped(text), style=style or ""))
            return
    out.write(render_short(rec))
