"""The explanation document as an HTML fragment safe to embed in an intake page.

Every string is escaped (``& < > " '``); the markup is a fixed set of tags (section, p,
h2, ol, ul, li, strong, code, table, thead, tbody, tr, th, td) with one fixed class
attribute: no scripts, styles, links, event handlers or inline URLs.
"""

from __future__ import annotations

from html import escape
from typing import Final

from iop_placement._render.document import Detail, Document, Item, Table

__all__ = ["ALLOWED_TAGS", "render_html"]

ALLOWED_TAGS: Final = frozenset(
    {"section", "p", "h2", "ol", "ul", "li", "strong", "code"}
    | {"table", "thead", "tbody", "tr", "th", "td"}
)
CLASS: Final = "iop-placement-explanation"


def _e(text: str) -> str:
    return escape(text, quote=True)


def _detail(detail: Detail) -> str:
    if detail.label:
        return f"<strong>{_e(detail.label)}:</strong> {_e(detail.text)}"
    return _e(detail.text)


def _item(item: Item) -> str:
    head = f"<strong>{_e(item.title)}</strong>"
    if item.code:
        head += f" <code>{_e(item.code)}</code>"
    if item.outcome:
        head += f" → {_e(item.outcome)}"
    if not item.details:
        return f"<li>{head}</li>"
    details = "".join(f"<li>{_detail(detail)}</li>" for detail in item.details)
    return f"<li>{head}<ul>{details}</ul></li>"


def _table(table: Table) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in row) + "</tr>" for row in table.rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(document: Document) -> str:
    """One ``<section>`` element; nothing outside it."""
    parts = [f'<section class="{CLASS}">']
    parts += [f"<p>{_detail(detail)}</p>" for detail in document.summary]
    for section in document.sections:
        parts.append(f"<h2>{_e(section.heading)}</h2>")
        parts += [f"<p>{_e(sentence)}</p>" for sentence in section.intro]
        if section.table is not None:
            parts.append(_table(section.table))
        if section.items:
            tag = "ol" if section.numbered else "ul"
            parts.append(f"<{tag}>" + "".join(_item(item) for item in section.items) + f"</{tag}>")
    parts += [f"<p>{_e(sentence)}</p>" for sentence in document.footer]
    parts.append("</section>")
    return "\n".join(parts) + "\n"
