"""A neutral document: what to show, in words, before choosing a format.

The plain-text, Markdown and HTML renderers all render this one structure, so they show
the same content. What goes into it is the model's business (``_model.recommendation``
and ``_model.explanation`` build it); :func:`cleaned` removes control characters once,
before any renderer sees the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

__all__ = ["Detail", "Document", "Item", "Section", "Table", "clean", "cleaned"]

# C0/C1 controls and the bidirectional overrides that can disguise text on screen.
_UNSAFE: Final = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]+")


def clean(text: str) -> str:
    """``text`` with control and bidi-override characters replaced by one space."""
    return _UNSAFE.sub(" ", text)


@dataclass(frozen=True, slots=True)
class Detail:
    """One line under an item: plain text, or ``label: text``."""

    text: str
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """One entry of a section: a reason, a near miss, a goal set, a flag, a condition."""

    title: str
    code: str | None = None
    outcome: str | None = None
    details: tuple[Detail, ...] = ()


@dataclass(frozen=True, slots=True)
class Table:
    """A small table: column headings and rows of cells, all text."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class Section:
    """A heading, a few sentences, a table, and a numbered or bulleted list of items."""

    heading: str
    intro: tuple[str, ...] = ()
    items: tuple[Item, ...] = ()
    numbered: bool = True
    table: Table | None = None


@dataclass(frozen=True, slots=True)
class Document:
    """The whole document, ready for any renderer."""

    summary: tuple[Detail, ...]
    sections: tuple[Section, ...]
    footer: tuple[str, ...]

    def strings(self) -> Iterator[str]:
        """Every piece of text the document shows (renderers must show each one)."""
        for detail in self.summary:
            yield from (s for s in (detail.label, detail.text) if s)
        for section in self.sections:
            yield section.heading
            yield from section.intro
            if section.table is not None:
                yield from section.table.columns
                yield from (cell for row in section.table.rows for cell in row)
            for item in section.items:
                yield from (s for s in (item.title, item.code, item.outcome) if s)
                for detail in item.details:
                    yield from (s for s in (detail.label, detail.text) if s)
        yield from self.footer


def cleaned(document: Document) -> Document:
    """``document`` with every string passed through :func:`clean`."""

    def detail(d: Detail) -> Detail:
        return Detail(clean(d.text), clean(d.label) if d.label is not None else None)

    def item(i: Item) -> Item:
        return Item(
            clean(i.title),
            clean(i.code) if i.code is not None else None,
            clean(i.outcome) if i.outcome is not None else None,
            tuple(detail(d) for d in i.details),
        )

    return Document(
        summary=tuple(detail(d) for d in document.summary),
        sections=tuple(
            Section(
                clean(s.heading),
                tuple(clean(t) for t in s.intro),
                tuple(item(i) for i in s.items),
                s.numbered,
                None
                if s.table is None
                else Table(
                    tuple(clean(c) for c in s.table.columns),
                    tuple(tuple(clean(c) for c in row) for row in s.table.rows),
                ),
            )
            for s in document.sections
        ),
        footer=tuple(clean(t) for t in document.footer),
    )
