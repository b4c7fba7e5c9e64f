"""A printable PDF of a :class:`Document`, for the chart or a utilization reviewer.

Written with fpdf2 (pure Python: it installs with pip alone, unlike WeasyPrint, which
needs the system's Pango). The text is set in the PDF core font Helvetica, encoded as
Windows-1252: every Latin letter with its accents (Spanish included: á é í ó ú ü ñ ¿ ¡),
curly quotes and dashes. A character outside it (none comes from the models; a free-text
note could bring one) is printed as its unaccented base letter, or ``?``. The page is US
Letter with the title, a page count and the footer lines of the document.
"""

from __future__ import annotations

import unicodedata
from typing import Final

from fpdf import FPDF
from fpdf.enums import TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace

from iop_placement._render.document import Document, Section

__all__ = ["PDF_ENCODING", "render_pdf"]

PDF_ENCODING: Final = "windows-1252"
_FONT: Final = "Helvetica"
_GREY: Final = (90, 90, 90)


def printable(text: str) -> str:
    """``text`` with each character the PDF's font cannot encode replaced."""
    out = []
    for char in text:
        try:
            char.encode(PDF_ENCODING)
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", char).encode(PDF_ENCODING, "ignore")
            out.append(base.decode(PDF_ENCODING) or "?")
        else:
            out.append(char)
    return "".join(out)


class _Page(FPDF):
    def __init__(self, title: str, footer_lines: tuple[str, ...]) -> None:
        super().__init__(orientation="portrait", unit="mm", format="Letter")
        self.core_fonts_encoding = PDF_ENCODING
        self.page_title = printable(title)
        self.footer_lines = tuple(printable(line) for line in footer_lines)
        self.set_margins(14, 12, 14)
        self.set_auto_page_break(auto=True, margin=14 + 4 * len(self.footer_lines))
        self.set_title(self.page_title)
        self.set_creator("iop-placement")

    def footer(self) -> None:
        self.set_y(-(10 + 4 * len(self.footer_lines)))
        self.set_font(_FONT, size=7)
        self.set_text_color(*_GREY)
        for line in self.footer_lines:
            self.multi_cell(0, 3.5, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.cell(0, 4, f"{self.page_title} - page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(0, 0, 0)


def _section(pdf: _Page, section: Section) -> None:
    pdf.ln(2)
    pdf.set_font(_FONT, style="B", size=11)
    pdf.multi_cell(0, 6, printable(section.heading), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(_FONT, size=8.5)
    for line in section.intro:
        pdf.multi_cell(0, 4, printable(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if section.table is not None:
        pdf.ln(1)
        width = pdf.epw
        # Dimension, rating, why: the first two narrow, the reasons take the rest.
        widths = (30.0, 22.0, width - 52.0) if len(section.table.columns) == 3 else None
        pdf.set_font(_FONT, size=8)
        with pdf.table(
            col_widths=widths,
            width=width,
            line_height=3.8,
            text_align="LEFT",
            v_align="TOP",
            borders_layout=TableBordersLayout.HORIZONTAL_LINES,
            headings_style=FontFace(emphasis="BOLD"),
            padding=(0.8, 1.2),
        ) as table:
            for row in (section.table.columns, *section.table.rows):
                cells = table.row()
                for cell in row:
                    cells.cell(printable(cell))
    for number, item in enumerate(section.items, 1):
        mark = f"{number}." if section.numbered else "-"
        head = " ".join(
            part
            for part in (
                mark,
                item.title,
                f"[{item.code}]" if item.code else "",
                f"- {item.outcome}" if item.outcome else "",
            )
            if part
        )
        pdf.set_font(_FONT, style="B", size=9)
        pdf.multi_cell(0, 4.5, printable(head), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(_FONT, size=8)
        for detail in item.details:
            text = f"{detail.label}: {detail.text}" if detail.label else detail.text
            pdf.set_x(pdf.l_margin + 5)
            pdf.multi_cell(0, 3.7, printable(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_pdf(document: Document, title: str) -> bytes:
    """``document`` as a PDF: ``title``, the summary, each section, the footer on every page."""
    pdf = _Page(title, document.footer)
    pdf.add_page()
    pdf.set_font(_FONT, style="B", size=15)
    pdf.multi_cell(0, 8, pdf.page_title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    for detail in document.summary:
        pdf.set_font(_FONT, style="B", size=10)
        if detail.label:
            pdf.write(5.5, printable(f"{detail.label}: "))
        pdf.set_font(_FONT, size=10)
        pdf.multi_cell(0, 5.5, printable(detail.text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for section in document.sections:
        _section(pdf, section)
    return bytes(pdf.output())
