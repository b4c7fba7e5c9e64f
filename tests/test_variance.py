"""iop-placement variance: counts from stored records, de-identified CSV and FHIR export."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from iop_placement import recommend
from iop_placement.audit import AuditStore
from iop_placement.cli import main
from iop_placement.placement import CSV_COLUMNS, deidentified_csv, record_placement, variance_report
from test_audit import postgres_url, sqlite_url, url  # noqa: F401 - fixtures

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SECRET = "SECRETPHI Jane Roe"


def _rec(name: str) -> Any:
    return recommend(json.loads((EXAMPLES / f"{name}.json").read_text()))


def _fill(url: str) -> None:  # noqa: F811
    at = datetime(2026, 5, 17, 14, 3, tzinfo=UTC)
    inpatient = _rec("inpatient_withdrawal")
    with AuditStore.open(url) as store:
        store.append("card", {"n": 1})
        for code in ("transport", "transport", "payer_denial"):
            store.append_placement(
                record_placement(
                    inpatient,
                    at=at,
                    selected="intensive_outpatient",
                    role="counselor",
                    reason_code=code,
                    note=SECRET,
                    questionnaire_response="QuestionnaireResponse/q1",
                )
            )
        store.append_placement(
            record_placement(
                _rec("standard_outpatient"), at=at, selected="standard_outpatient", role="physician"
            )
        )
        store.append_record(inpatient.override("standard_outpatient", "other", SECRET, at=at))


def test_counts_from_the_store(url: str) -> None:  # noqa: F811
    _fill(url)
    with AuditStore.open(url) as store:
        report = variance_report(store.placement_records())
    assert (report.records, report.variances) == (5, 4)
    reasons = {c.key.split("|")[1]: c.count for c in report.by_reason}
    assert reasons == {"transport": 2, "payer_denial": 1, "other": 1}
    pairs = {c.key: c.count for c in report.by_level_pair}
    assert pairs == {
        "inpatient->intensive_outpatient": 3,
        "standard_outpatient->standard_outpatient": 1,
        "inpatient->standard_outpatient": 1,
    }
    rules = {c.key: c.count for c in report.by_deciding_rule}
    assert rules["placement.withdrawal_needs_24_hour_care"] == 3
    assert "(none recorded)" in rules  # the v1 record did not keep its deciding rules


def test_cli_writes_deidentified_csv_and_fhir(tmp_path: Path, sqlite_url: str) -> None:  # noqa: F811
    _fill(sqlite_url)
    csv_path, fhir_path = tmp_path / "v.csv", tmp_path / "v.json"
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["variance", "--db", sqlite_url, "--csv", str(csv_path), "--fhir", str(fhir_path)],
        stdout=out,
        stderr=err,
    )
    assert code == 0, err.getvalue()
    assert "5 placement records, 4 differ" in out.getvalue()
    text = csv_path.read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 5
    assert {r["year"] for r in rows} == {"2026"}
    bundle = json.loads(fhir_path.read_text())
    Bundle.model_validate(bundle)
    for exported in (text, fhir_path.read_text(), out.getvalue()):
        assert "SECRETPHI" not in exported
        assert "2026-05-17" not in exported  # the year only
        assert "q1" not in exported
    out = io.StringIO()
    assert main(["variance", "--db", sqlite_url, "--json"], stdout=out, stderr=err) == 0
    assert json.loads(out.getvalue())["variances"] == 4


def test_a_missing_database_is_not_created(tmp_path: Path) -> None:
    err = io.StringIO()
    db = tmp_path / "none.db"
    assert main(["variance", "--db", f"sqlite:///{db}"], stdout=io.StringIO(), stderr=err) == 2
    assert not db.exists()


def test_empty_input() -> None:
    report = variance_report([])
    assert report.records == 0
    assert deidentified_csv([]).strip() == ",".join(CSV_COLUMNS)


def test_an_unreadable_placement_entry_is_named(sqlite_url: str) -> None:  # noqa: F811
    import pytest

    from iop_placement.audit import AuditError

    with AuditStore.open(sqlite_url) as store:
        store.append("placement", {"schema_version": 2, "level": SECRET})
        with pytest.raises(AuditError, match="entry 1") as caught:
            list(store.placement_records())
    assert "SECRETPHI" not in str(caught.value)
