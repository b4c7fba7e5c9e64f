"""The printable summary (PDF): rendered, read back as text, and drawn as an image.

The PDF is parsed with pypdf (text) and rasterised with pdfium (pypdfium2): what the
document model says must be on the page, in one or two pages, accents included.
"""

from __future__ import annotations

import io
import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pypdf
import pypdfium2  # type: ignore[import-untyped]
import pytest
from starlette.testclient import TestClient

from iop_placement import LevelOfCare, OverrideReason, explain, populations, printable_summary
from iop_placement._i18n import _, use_language
from iop_placement._model.printable import PRINTABLE_TITLE
from iop_placement._render.document import Detail, Document, Item, Section, Table
from iop_placement._render.pdf import printable, render_pdf
from iop_placement.cli import main
from iop_placement.service import create_app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def text_of(pdf: bytes) -> tuple[str, int]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return " ".join(text.split()), len(reader.pages)


def ink(pdf: bytes) -> list[float]:
    """The share of non-white pixels on each page, drawn at 72 dpi."""
    shares = []
    for page in pypdfium2.PdfDocument(pdf):
        image = page.render(scale=1).to_pil().convert("L")
        histogram = image.histogram()  # pixels per grey level, black (0) to white (255)
        shares.append(sum(histogram[:200]) / sum(histogram))
    return shares


def squashed(text: str) -> str:
    return " ".join(text.split())


def test_the_summary_shows_what_a_reviewer_needs() -> None:
    explanation = explain(example("crisis"))
    rec = explanation.recommendation
    pdf = printable_summary(explanation)
    assert pdf.startswith(b"%PDF-")
    text, pages = text_of(pdf)
    assert pages <= 2
    assert rec.level.label in text
    for flag in rec.flags:
        assert flag.label in text
    for rating in rec.dimensions:
        assert squashed(rating.dimension.label) in text
    for reason in rec.deciding:
        assert reason.rule_id in text
    assert "What would change it" in text
    assert f"{rec.ruleset.name} {rec.ruleset.version}" in text
    assert rec.ruleset.sha256[:12] in text
    assert "Also considered" not in text  # left out for length
    assert all(share > 0.005 for share in ink(pdf))


def test_the_override_is_shown_without_its_note() -> None:
    explanation = explain(example("intensive_outpatient"))
    rec = explanation.recommendation
    chosen = next(level for level in LevelOfCare if level != rec.level)
    record = rec.override(
        chosen, OverrideReason.OTHER, note="secret-note-words", at=datetime(2026, 1, 2, tzinfo=UTC)
    )
    text, _ = text_of(printable_summary(explanation, record))
    assert "Override" in text
    assert f"Chosen level of care: {chosen.label}" in text
    assert "secret-note-words" not in text
    assert "secret-note-words" not in printable_summary(explanation, record).decode("latin-1")


def test_one_or_two_pages_on_population_cases() -> None:
    cases = itertools.chain.from_iterable(
        itertools.islice(populations.population(name, 25, seed=5), 25)
        for name in populations.POPULATIONS
    )
    for case in cases:
        explanation = explain(case)
        text, pages = text_of(printable_summary(explanation))
        assert 1 <= pages <= 2
        assert explanation.recommendation.level.label in text


def test_accents_render_and_are_read_back() -> None:
    spanish = "¿Qué nivel de atención? Ambulatorio intensivo – niño, caña, pingüino «sí» ¡ya!"
    document = Document(
        summary=(Detail("Hospitalización / residencial", "Nivel de atención recomendado"),),
        sections=(
            Section(
                "Dimensiones",
                (spanish,),
                (Item("Razón", "r.1", "Ambulatorio", (Detail("Fuente: guía", "Origen"),)),),
                table=Table(("Dimensión", "Valoración", "Por qué"), (("Emoción", "3", "Sí"),)),
            ),
        ),
        footer=("Conjunto de reglas: versión 2.1.0",),
    )
    pdf = render_pdf(document, "Resumen del nivel de atención")
    text, pages = text_of(pdf)
    assert pages == 1
    for words in (spanish, "Hospitalización", "Dimensión", "Valoración", "Por qué", "versión"):
        assert squashed(words) in text
    assert ink(pdf)[0] > 0.002


def test_characters_outside_the_font_become_their_base_letter_or_a_question_mark() -> None:
    assert printable("ă ≥ 漢 é") == "a ? ? é"
    pdf = render_pdf(Document((Detail("ă ≥ 漢"),), (), ()), "t")
    assert "a ? ?" in text_of(pdf)[0]


def test_cli_writes_the_pdf(tmp_path: Path) -> None:
    out = tmp_path / "summary.pdf"
    stdout = io.StringIO()
    code = main(
        ["assess", str(EXAMPLES / "crisis.json"), "--pdf", str(out)],
        stdout=stdout,
        stderr=io.StringIO(),
    )
    assert code == 0
    assert str(out) in stdout.getvalue()
    text, _ = text_of(out.read_bytes())
    assert explain(example("crisis")).recommendation.level.label in text
    err = io.StringIO()
    code = main(
        ["assess", str(EXAMPLES / "crisis.json"), "--pdf", str(tmp_path / "no" / "x.pdf")],
        stdout=io.StringIO(),
        stderr=err,
    )
    assert code == 1
    assert "--pdf" in err.getvalue()


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app(insecure_no_auth=True))


def test_service_serves_the_pdf(client: TestClient) -> None:
    reply = client.post("/api/summary.pdf", json=example("standard_outpatient"))
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/pdf"
    text, _ = text_of(reply.content)
    assert explain(example("standard_outpatient")).recommendation.level.label in text
    bad = client.post("/api/summary.pdf", json={**example("standard_outpatient"), "motivation": 7})
    assert bad.status_code == 400
    assert bad.json()["problems"][0]["field"] == "motivation"
    foreign = client.post(
        "/api/summary.pdf",
        json=example("standard_outpatient"),
        headers={"Origin": "https://elsewhere.example"},
    )
    assert foreign.status_code == 403


def test_the_docs_example_runs(tmp_path: Path) -> None:
    import re
    import runpy

    text = (Path(__file__).resolve().parents[1] / "docs" / "printable-summary.md").read_text(
        encoding="utf-8"
    )
    (block,) = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    module = tmp_path / "printable_example.py"
    module.write_text(block, encoding="utf-8")
    namespace = runpy.run_path(str(module))
    assert text_of(namespace["pdf"])[0].count("Override") == 1


def test_the_summary_in_spanish() -> None:
    """Every heading, label and rule text in Spanish, from the one catalogue; ids unchanged."""
    explanation = explain(example("crisis"))
    rec = explanation.recommendation
    text, pages = text_of(printable_summary(explanation, language="es"))
    assert pages <= 2
    with use_language("es"):
        assert squashed(_(rec.level.label)) in text
        assert squashed(_(PRINTABLE_TITLE)) in text
        for flag in rec.flags:
            assert squashed(_(flag.label)) in text
        supporting = squashed(_("Also considered (supporting reasons)"))
    assert rec.level.label not in text
    assert supporting not in text  # left out for length in every language
    for reason in rec.deciding:
        assert reason.rule_id in text
    assert rec.ruleset.sha256[:12] in text


def test_service_serves_the_pdf_in_the_language_asked(client: TestClient) -> None:
    reply = client.post("/api/summary.pdf?lang=es", json=example("standard_outpatient"))
    assert reply.status_code == 200
    text, _pages = text_of(reply.content)
    level = explain(example("standard_outpatient")).recommendation.level
    with use_language("es"):
        assert squashed(_(level.label)) in text
    unknown = client.post("/api/summary.pdf?lang=xx", json=example("standard_outpatient"))
    assert unknown.status_code == 400
