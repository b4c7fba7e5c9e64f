"""The integration pages' examples run, and what they state matches the code and data."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

from iop_placement import DEFAULT_RULES, cds_hooks, recommend
from iop_placement._rules.ruleset import load_rule_set

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _blocks(page: str, language: str = "python") -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def _run(page: str, block: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, f"docs/{page}", "exec"), {})
    return out.getvalue()


def test_json_schema_example_runs() -> None:
    (block,) = _blocks("json-schema.md")
    out = _run("json-schema.md", block)
    assert out.splitlines()[-1] == "Intensive outpatient (IOP)"


def test_fhir_examples_run() -> None:
    # The canonical-base example is run by tests/test_fhir_canonical.py.
    _signatures, example, validation = [b for b in _blocks("fhir.md") if "base=" not in b]
    out = _run("fhir.md", example).splitlines()
    assert out[1] == "Inpatient / residential"
    assert "3rd 3.7-WM Medically Monitored Inpatient Withdrawal Management" in out
    assert out[-1] == "('detox_status',)"
    _run("fhir.md", validation)


def test_fhir_asam_table_matches_the_crosswalk() -> None:
    text = (DOCS / "fhir.md").read_text(encoding="utf-8")
    section = text.split("## Approximate ASAM levels", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| [^|]+ \| ([0-9][^|]*) \| ([0-9][^|]*) \|$", section, re.MULTILINE)
    documented = {
        (tuple(third.strip().split(", ")), tuple(fourth.split(" (")[0].strip().split(", ")))
        for third, fourth in rows
        if "edition" not in third
    }
    assert len(documented) == 9
    crosswalk = load_rule_set(DEFAULT_RULES).asam
    assert crosswalk is not None
    entries = [*crosswalk.levels.values(), *crosswalk.rules.values()]
    assert documented == {(e.codes["3rd"], e.codes["4th"]) for e in entries}


def test_cds_hooks_example_runs_and_states_the_real_texts() -> None:
    (block,) = _blocks("cds-hooks.md")
    out = _run("cds-hooks.md", block).splitlines()
    crisis = json.loads((ROOT / "examples" / "crisis.json").read_text(encoding="utf-8"))
    summary = cds_hooks.card_summary(recommend(crisis))
    assert out == [f"critical - {summary}", summary]
    text = (DOCS / "cds-hooks.md").read_text(encoding="utf-8")
    assert summary in text
    (template,) = _blocks("cds-hooks.md", "json")
    assert json.loads(template) == cds_hooks.service_definition()["prefetch"]
