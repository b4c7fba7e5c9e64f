"""Placement record v2: levels along the way, coded reasons per jurisdiction, the audit store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from iop_placement import LevelOfCare, OverrideReason, recommend
from iop_placement.audit import AuditStore, verify
from iop_placement.placement import (
    Barrier,
    InvalidPlacementRecord,
    PlacementRecordV2,
    ReasonCodeSystem,
    default_reason_codes,
    record_placement,
)
from test_audit import _q, _raw, postgres_url, sqlite_url, url  # noqa: F401 - fixtures

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SECRET = "SECRETPHI Jane Roe, lives at 1 Elm St"


def _inpatient() -> Any:
    return recommend(json.loads((EXAMPLES / "inpatient_withdrawal.json").read_text()))


def _full(note: str | None = SECRET) -> PlacementRecordV2:
    return record_placement(
        _inpatient(),
        at=AT,
        selected="intensive_outpatient",
        role="counselor",
        authorized={
            "level": "intensive_outpatient",
            "authorization_id": "PA-123",
            "start": "2026-03-02",
            "end": "2026-04-02",
        },
        admitted={"level": "intensive_outpatient", "on": "2026-03-03"},
        reason_code="transport",
        barriers=("transport", "childcare"),
        questionnaire_response="QuestionnaireResponse/qr-1",
        note=note,
    )


def test_default_codes_cover_state_form_reasons_and_map_to_the_five() -> None:
    codes = {c.code: c for c in default_reason_codes().codes}
    for code in (
        "transport",
        "court_order",
        "language_or_culture",
        "preferred_to_wait",
        "no_bed",
        "payer_denial",
        "patient_preference",
        "clinical_judgement",
    ):
        assert code in codes
    assert set(OverrideReason.values()) <= set(codes)
    assert {c.maps_to for c in codes.values()} == set(OverrideReason)
    assert codes["payer_denial"].maps_to is OverrideReason.PAYER


def test_a_jurisdiction_file_replaces_the_default(tmp_path: Path) -> None:
    path = tmp_path / "codes.json"
    path.write_text(
        json.dumps(
            {
                "jurisdiction": "county-x",
                "title": "County X",
                "system": "urn:example:x",
                "version": "2",
                "codes": [{"code": "snow", "display": "Roads closed", "maps_to": "not_available"}],
            }
        )
    )
    system = ReasonCodeSystem.from_file(path)
    record = record_placement(
        _inpatient(),
        at=AT,
        selected="intensive_outpatient",
        role="physician",
        reason_code="snow",
        codes=system,
    )
    assert record.reason is not None
    assert (record.reason.system, record.reason.maps_to) == (
        "urn:example:x",
        OverrideReason.NOT_AVAILABLE,
    )
    with pytest.raises(InvalidPlacementRecord, match="reason_code"):
        record_placement(
            _inpatient(),
            at=AT,
            selected="intensive_outpatient",
            role="physician",
            reason_code="transport",
            codes=system,
        )


def test_the_note_is_never_dumped_or_rendered() -> None:
    record = _full()
    for text in (
        repr(record),
        str(record),
        record.to_text(),
        json.dumps(record.audit_data()),
        record.model_dump_json(),
    ):
        assert "SECRETPHI" not in text
    assert record.audit_data(include_note=True)["note"] == SECRET


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reason_code": None}, "reason"),
        ({"reason_code": "other", "note": None}, "note"),
        ({"role": "astrologer"}, "role"),
        ({"authorized": {"level": "inpatient", "authorization_id": "A1"}}, "dates"),
        (
            {"authorized": {"level": "inpatient", "authorization_id": "A 1", "units": 3}},
            "authorization_id",
        ),
        ({"questionnaire_response": "Patient/1"}, "questionnaire_response"),
    ],
)
def test_bad_records_name_the_field(change: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {
        "selected": "intensive_outpatient",
        "role": "counselor",
        "reason_code": "no_bed",
        "note": SECRET,
        **change,
    }
    with pytest.raises(InvalidPlacementRecord, match=field) as caught:
        record_placement(_inpatient(), at=AT, **args)
    assert "SECRETPHI" not in str(caught.value)


def test_matching_levels_need_no_reason() -> None:
    rec = _inpatient()
    record = record_placement(
        rec, at=AT, selected="inpatient", role="physician", barriers=(Barrier.CHILDCARE,)
    )
    assert record.reason is None
    assert record.final_level is LevelOfCare.INPATIENT


def test_round_trip_through_the_store_and_tamper_is_caught(url: str) -> None:  # noqa: F811
    record = _full()
    v1 = _inpatient().override("standard_outpatient", "payer", at=AT)
    with AuditStore.open(url) as store:
        store.append("card", {"n": 1})
        store.append_placement(record)
        store.append_record(v1)
        back = list(store.placement_records())
        notes = [e.note for e in store.entries() if e.kind == "placement"]
    assert back[0] == record.model_copy(update={"note": None})
    assert back[0].note is None  # the export side never carries it
    assert notes[0] == SECRET
    assert back[1].reason is not None
    assert back[1].reason.code == "payer"
    assert back[1].final_level is LevelOfCare.STANDARD_OUTPATIENT
    assert verify(url).ok
    with _raw(url) as conn:
        content = json.dumps(record.audit_data() | {"barriers": []})
        conn.execute(
            _q(url, "UPDATE iop_placement_audit SET content = ? WHERE seq = 2"), (content,)
        )
    assert verify(url).problems == ("entry 2 was changed after it was written",)
