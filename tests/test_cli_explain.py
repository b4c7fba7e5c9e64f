"""``iop-placement assess --full`` explains: why, why not, what would change it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import assessment, run
from iop_placement import explain

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SECRET = "Jane Doe, DOB 1980-01-01"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_every_example_prints_why_why_not_and_what_would_change(path: Path) -> None:
    code, out, err = run("assess", "--full", str(path))
    assert (code, err) == (0, "")
    ex = explain(json.loads(path.read_text()))
    assert out == ex.to_text() + "\n"
    assert "Why (deciding reasons):" in out
    assert "Why not " in out
    assert "What would change it (treatment-planning goals):" in out
    for miss in ex.why_not:
        assert f"[{miss.rule_id}]" in out


@pytest.mark.parametrize(
    ("fmt", "method"), [("markdown", "to_markdown"), ("html", "to_html"), ("text", "to_text")]
)
def test_format_option(fmt: str, method: str) -> None:
    path = EXAMPLES / "intensive_outpatient.json"
    code, out, _ = run("assess", "--format", fmt, str(path))
    expected = getattr(explain(json.loads(path.read_text())), method)()
    assert code == 0
    assert out.rstrip("\n") == expected.rstrip("\n")


def test_json_output_is_still_the_recommendation() -> None:
    code, out, _ = run("assess", "--json", str(EXAMPLES / "crisis.json"))
    data = json.loads(out)
    assert code == 0
    assert data["level"] == "inpatient"
    assert "why_not" not in data


def test_invalid_input_is_refused_without_echo_in_every_format() -> None:
    bad = json.dumps(assessment(home_environment=SECRET))
    for fmt in ("text", "markdown", "html"):
        code, out, err = run("assess", "--format", fmt, "-", stdin=bad)
        assert (code, out) == (1, "")
        assert "home_environment" in err
        assert SECRET not in err
