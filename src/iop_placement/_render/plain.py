"""The explanation document as plain text, for the command line."""

from __future__ import annotations

import textwrap
from typing import Final

from iop_placement._render.document import Detail, Document, Item, Table

__all__ = ["render_plain"]

_WIDTH: Final = 88


def _wrap(text: str, indent: str, hang: str = "  ") -> list[str]:
    return textwrap.wrap(
        text,
        _WIDTH,
        initial_indent=indent,
        subsequent_indent=indent + hang,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [indent.rstrip()]


def _detail(detail: Detail) -> str:
    return f"{detail.label}: {detail.text}" if detail.label else detail.text


def _item(item: Item, marker: str) -> list[str]:
    head = f"{marker} {item.title}"
    if item.code:
        head += f" [{item.code}]"
    if item.outcome:
        head += f" -> {item.outcome}"
    lines = _wrap(head, "  ", " " * (len(marker) + 1))
    indent = "  " + " " * (len(marker) + 1)
    for detail in item.details:
        lines += _wrap(_detail(detail), indent)
    return lines


def _table(table: Table) -> list[str]:
    """Rows as ``first column (second column)``, the other columns wrapped beneath."""
    lines: list[str] = _wrap(" / ".join(table.columns), "  ")
    for row in table.rows:
        first, *rest = row
        head = f"- {first}" + (f": {rest[0]}" if rest else "")
        lines += _wrap(head, "  ", "    ")
        for cell in rest[1:]:
            lines += _wrap(cell, "    ")
    return lines


def render_plain(document: Document) -> str:
    """Plain text wrapped at 88 columns; items are numbered or bulleted as the document says."""
    lines: list[str] = []
    for detail in document.summary:
        lines += _wrap(_detail(detail), "")
    for section in document.sections:
        lines += ["", f"{section.heading}:"]
        for sentence in section.intro:
            lines += _wrap(sentence, "  ")
        if section.table is not None:
            lines += _table(section.table)
        for number, item in enumerate(section.items, 1):
            lines += _item(item, f"{number}." if section.numbered else "-")
    lines.append("")
    for sentence in document.footer:
        lines += _wrap(sentence, "")
    return "\n".join(lines)
