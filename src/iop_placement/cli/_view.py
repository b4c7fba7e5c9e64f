"""The short default ``assess`` view: level, flags, deciding reasons and the dimension table.

``assess --full`` prints the whole explanation (why not, what would change it, sources).
On a terminal the view is coloured with rich when it is installed (the ``verify`` extra);
piped output, ``NO_COLOR`` and a missing rich give the same view as plain text.
"""

from __future__ import annotations

import os
import textwrap
from typing import Any, TextIO

from iop_placement._i18n import N_, _, use_language
from iop_placement._model.levels import FlagKind
from iop_placement._model.recommendation import Recommendation
from iop_placement._model.view import recommendation_view

__all__ = ["render_short", "use_colour", "write_short"]

_FULL_HINT = N_("Why not another level, what would change it and the sources: assess --full FILE")
# A flag's kind in the short view, by FlagKind value.
_KINDS = {
    FlagKind.SAFETY.value: N_("safety"),
    FlagKind.NEED.value: N_("need"),
    FlagKind.FEASIBILITY.value: N_("feasibility"),
}


def use_colour(out: TextIO) -> bool:
    """Colour only a terminal, and never when ``NO_COLOR`` is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty())


def _lines(rec: Recommendation, language: str) -> list[tuple[str, str]]:
    """The view as (style, text) lines in ``language``; the style is a rich style name or ''.

    Every word comes from the labelled view (the same the service and the page show), so
    the short view is translated by the same catalogue.
    """
    with use_language(language):
        view = recommendation_view(rec)
        return _view_lines(view)


def _view_lines(view: dict[str, Any]) -> list[tuple[str, str]]:
    notice = view["safety_notice"]
    lead = [("bold red", _("Safety first") + f": {notice}")] if notice else []
    level = view["level"]
    lines: list[tuple[str, str]] = [
        *lead,
        ("bold", _("Recommended level of care: {level}").format(level=level["label"])),
        ("", _("Typical intensity: {intensity}").format(intensity=level["intensity"])),
    ]
    if view["flags"]:
        lines.append(("bold", _("Flags:")))
        for flag in view["flags"]:
            style = "bold red" if flag["kind"] == FlagKind.SAFETY.value else "yellow"
            lines.append((style, f"  ! {flag['label']} ({_(_KINDS[flag['kind']])})"))
    else:
        lines.append(("", _("Flags: none")))
    lines.append(("bold", _("Why (deciding reasons):")))
    for number, reason in enumerate(view["deciding"], 1):
        lines.append(("", f"  {number}. {reason['title']} [{reason['rule_id']}]"))
        lines.append(("dim", f"     {reason['text']}"))
    alternative = view["alternative"]
    if alternative is not None:
        conditions = "; ".join(alternative["conditions"])
        text = _("Alternative to weigh: {level} ({conditions})")
        lines.append(("", text.format(level=alternative["label"], conditions=conditions)))
    if view["dimensions"]:
        lines.append(("bold", _("Dimension ratings (0 none to 4 severe):")))
        width = max(len(row["label"]) for row in view["dimensions"])
        for row in view["dimensions"]:
            rating = row["rating"]
            style = "red" if rating >= 3 else "yellow" if rating == 2 else ""
            name = row["label"].ljust(width)
            lines.append((style, f"  {name}  {rating} ({row['rating_label']})"))
    asam = view["asam"]
    if asam is not None and asam["levels"]:
        codes = ", ".join(f"{level['code']} ({level['edition']})" for level in asam["levels"])
        lines.append(("", _("Approximate ASAM levels: {codes}").format(codes=codes)))
    ruleset = view["ruleset"]
    text = _("Rule set: {name} {version} (sha256 {sha256})")
    sha = ruleset["sha256"][:12]
    lines.append(("dim", text.format(name=ruleset["name"], version=ruleset["version"], sha256=sha)))
    lines.append(("dim", _(_FULL_HINT)))
    lines.append(("", view["notice"]))
    return lines


_WIDTH = 88


def _wrapped(text: str) -> str:
    stripped = text.lstrip(" ")
    marker = stripped.split(" ", 1)[0]
    hang = len(marker) + 1 if marker[:-1].isdigit() and marker.endswith(".") else 2
    indent = " " * (len(text) - len(stripped) + hang)
    return textwrap.fill(text, _WIDTH, subsequent_indent=indent, break_on_hyphens=False)


def render_short(rec: Recommendation, language: str = "en") -> str:
    """The short view as plain text in ``language``, wrapped at 88 columns."""
    return "".join(f"{_wrapped(text)}\n" for _style, text in _lines(rec, language))


def write_short(rec: Recommendation, out: TextIO, language: str = "en") -> None:
    """Print the short view in ``language``, coloured on a terminal when rich is installed."""
    if use_colour(out):
        try:
            from rich.console import Console  # noqa: PLC0415 - optional dependency
            from rich.text import Text  # noqa: PLC0415
        except ImportError:
            pass
        else:
            console = Console(file=out, highlight=False, soft_wrap=True)
            for style, text in _lines(rec, language):
                console.print(Text(_wrapped(text), style=style or ""))
            return
    out.write(render_short(rec, language))
