"""The explanation document as Markdown, with every string escaped."""

from __future__ import annotations

import re
from typing import Final

from iop_placement._render.document import Detail, Document, Item, Table

__all__ = ["escape_markdown", "render_markdown"]

# Entities for the characters that open HTML or an entity; a backslash before any other
# character that could open emphasis, code, a link, a table cell or a heading, and before
# what would make the start of a line a list item or a heading underline.
_ENTITIES: Final = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_PUNCTUATION: Final = "\\`*_[]|~"
# Both in one pass (str.translate): no entity contains a character escaped with a backslash.
_ESCAPES: Final = str.maketrans({**_ENTITIES, **{char: f"\\{char}" for char in _PUNCTUATION}})
_LINE_START: Final = re.compile(r"^(\d{1,9})([.)])(?=\s|$)|^()([-+=#])")
_SPACES: Final = re.compile(r"\s+")
_CODE: Final = re.compile(r"[A-Za-z0-9_.]+")


def escape_markdown(text: str) -> str:
    """``text`` as literal Markdown text on one line: no markup, no HTML, no line breaks."""
    text = _SPACES.sub(" ", text).strip().translate(_ESCAPES)
    return _LINE_START.sub(lambda m: f"{m[1] or m[3]}\\{m[2] or m[4]}", text)


def _code(code: str) -> str:
    return f"`{code}`" if _CODE.fullmatch(code) else escape_markdown(code)


def _detail(detail: Detail) -> str:
    text = escape_markdown(detail.text)
    return f"**{escape_markdown(detail.label)}:** {text}" if detail.label else text


def _item(item: Item, marker: str) -> list[str]:
    head = f"**{escape_markdown(item.title)}**"
    if item.code:
        head += f" ({_code(item.code)})"
    if item.outcome:
        head += f" → {escape_markdown(item.outcome)}"
    indent = " " * (len(marker) + 1)
    return [f"{marker} {head}", *(f"{indent}- {_detail(detail)}" for detail in item.details)]


def _table(table: Table) -> list[str]:
    def row(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(escape_markdown(cell) for cell in cells) + " |"

    return [row(table.columns), "|" + "---|" * len(table.columns), *map(row, table.rows), ""]


def render_markdown(document: Document) -> str:
    """Markdown with level-2 headings; lists are numbered or bulleted as the document says."""
    lines = [f"{_detail(detail)}  " for detail in document.summary]
    for section in document.sections:
        lines += ["", f"## {escape_markdown(section.heading)}", ""]
        for sentence in section.intro:
            lines += [escape_markdown(sentence), ""]
        if section.table is not None:
            lines += _table(section.table)
        for number, item in enumerate(section.items, 1):
            lines += _item(item, f"{number}." if section.numbered else "-")
    for sentence in document.footer:
        lines += ["", escape_markdown(sentence)]
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"
