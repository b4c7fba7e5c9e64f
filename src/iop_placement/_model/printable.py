"""The printable summary: what one or two pages for the chart or a reviewer show, in words.

Chosen from the explanation's own sections (one source for every rendering): the summary,
the flags, the deciding reasons, the dimension table, the alternative, what would make a
less intensive level fit (why not a lower level), the override if any, and the rule set
with its hash in the footer. Left out for length: the supporting reasons and the near
misses of the more intensive level (the full explanation has them).
"""

from __future__ import annotations

from typing import Final

from iop_placement._i18n import N_, _, use_language
from iop_placement._model.explanation import Explanation, explanation_document
from iop_placement._model.recommendation import why_sections
from iop_placement._model.record import PlacementRecord
from iop_placement._render.document import Document, Section, cleaned

__all__ = ["PRINTABLE_TITLE", "printable_document", "printable_summary"]

PRINTABLE_TITLE: Final = N_("Level-of-care summary")
OVERRIDE_HEADING: Final = N_("Override")
_SUPPORTING: Final = N_("Also considered (supporting reasons)")  # why_sections' heading


def printable_document(explanation: Explanation, record: PlacementRecord | None = None) -> Document:
    """The summary of ``explanation`` for print, with the override ``record`` if one was made.

    The override's note is never shown (as in :meth:`PlacementRecord.to_text`). In the
    language in use (:func:`use_language`), as the other renderings.
    """
    full = explanation_document(explanation)
    count = len(why_sections(explanation.recommendation))
    why = [s for s in full.sections[:count] if s.heading != _(_SUPPORTING)]
    sections = [*why, full.sections[-1]]  # the last: what would change it (a lower level)
    if record is not None:
        sections.append(Section(_(OVERRIDE_HEADING), tuple(record.to_text().splitlines())))
    return cleaned(Document(full.summary, tuple(sections), full.footer))


def printable_summary(
    explanation: Explanation, record: PlacementRecord | None = None, *, language: str = "en"
) -> bytes:
    """The printable summary as a PDF (one or two pages), e.g. ``explain(answers)`` in.

    ``language`` (``en``, ``es``) is the language of every text. Needs fpdf2:
    ``pip install 'iop-placement[pdf]'``.

    Raises:
        ImportError: when fpdf2 is not installed, saying how to install it.
        UnsupportedLanguage: when ``language`` has no catalogue.

    """
    try:
        from iop_placement._render.pdf import render_pdf  # noqa: PLC0415 - an optional extra
    except ImportError as error:  # pragma: no cover - depends on the installed extras
        msg = "the printable summary needs fpdf2: pip install 'iop-placement[pdf]'"
        raise ImportError(msg) from error
    with use_language(language):
        return render_pdf(printable_document(explanation, record), _(PRINTABLE_TITLE))
