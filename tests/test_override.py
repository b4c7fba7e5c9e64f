"""Override records: auditable, with a fixed list of reasons; the note is never shown unasked."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone

import pytest

from helpers import assessment
from iop_placement import (
    InvalidOverride,
    LevelOfCare,
    OverrideReason,
    PlacementRecord,
    Recommendation,
    recommend,
)

NOTE = "Jane Doe prefers IOP: caring for her mother, DOB 1980-01-01"
AT = datetime(2026, 3, 1, 14, 30, tzinfo=timezone(timedelta(hours=1)))


@pytest.fixture
def inpatient() -> Recommendation:
    rec = recommend(assessment(detox_status="needed", substance_use_severity="severe"))
    assert rec.level is LevelOfCare.INPATIENT
    return rec


def test_reason_codes_are_the_fixed_labelled_list() -> None:
    assert [code.value for code in OverrideReason] == [
        "patient_preference",
        "not_available",
        "clinical_judgement",
        "payer",
        "other",
    ]
    assert all(code.label and code.description for code in OverrideReason)


def test_record_holds_what_an_audit_needs(inpatient: Recommendation) -> None:
    record = inpatient.override(
        LevelOfCare.INTENSIVE_OUTPATIENT, OverrideReason.PATIENT_PREFERENCE, NOTE, at=AT
    )
    assert isinstance(record, PlacementRecord)
    assert record.recommended_level is LevelOfCare.INPATIENT
    assert record.chosen_level is LevelOfCare.INTENSIVE_OUTPATIENT
    assert record.reason_code is OverrideReason.PATIENT_PREFERENCE
    assert record.at == AT
    assert record.ruleset == inpatient.ruleset
    assert record.flags == inpatient.flags
    assert record.rule_ids == tuple(r.rule_id for r in inpatient.reasons)
    assert not record.more_intensive
    assert record.note == NOTE  # asked for explicitly


def test_codes_are_accepted_as_strings(inpatient: Recommendation) -> None:
    record = inpatient.override("standard_outpatient", "payer", at=AT)
    assert record.chosen_level is LevelOfCare.STANDARD_OUTPATIENT
    assert record.reason_code is OverrideReason.PAYER
    assert record.note is None


def test_note_is_kept_out_of_every_rendering_and_log(
    inpatient: Recommendation, caplog: pytest.LogCaptureFixture
) -> None:
    record = inpatient.override("intensive_outpatient", "other", NOTE, at=AT)
    shown = [
        repr(record),
        str(record),
        record.to_text(),
        record.model_dump_json(),
        str(record.model_dump()),
        str(record.model_dump(mode="json")),
        str(record.audit_data()),
        f"{record}",
    ]
    with caplog.at_level(logging.INFO):
        logging.getLogger("audit").info("override %s %r", record, record)
    shown.append(caplog.text)
    for text in shown:
        assert "Jane" not in text
    assert "Note: recorded (not shown)" in record.to_text()
    assert "Other" in record.to_text()


def test_audit_data_round_trips_with_the_note_when_asked(inpatient: Recommendation) -> None:
    record = inpatient.override("intensive_outpatient", "clinical_judgement", NOTE, at=AT)
    data = record.audit_data(include_note=True)
    assert data["note"] == NOTE
    assert data["at"] == "2026-03-01T14:30:00+01:00"
    assert PlacementRecord.model_validate(data) == record
    without = PlacementRecord.model_validate(record.audit_data())
    assert without.note is None
    assert without.chosen_level == record.chosen_level


def test_a_more_intensive_choice_is_recorded() -> None:
    rec = recommend(assessment())
    record = rec.override("inpatient", "clinical_judgement", at=datetime(2026, 1, 1, tzinfo=UTC))
    assert record.more_intensive
    assert "more intensive" in record.to_text()


@pytest.mark.parametrize(
    "case",
    [
        ("inpatient", "payer", None, AT, "nothing to override"),
        ("intensive_outpatient", NOTE, None, AT, "reason_code: must be one of"),
        (NOTE, "payer", None, AT, "chosen_level: must be one of"),
        ("intensive_outpatient", "payer", None, datetime(2026, 3, 1), "time zone"),
        ("intensive_outpatient", "other", None, AT, "needs a note"),
        ("intensive_outpatient", "other", "   ", AT, "needs a note"),
        ("intensive_outpatient", "payer", NOTE * 100, AT, "note: must be text"),
    ],
)
def test_invalid_overrides_are_refused_without_echo(
    inpatient: Recommendation, case: tuple[str, str, str | None, datetime, str]
) -> None:
    level, code, note, at, says = case
    with pytest.raises(InvalidOverride) as caught:
        inpatient.override(level, code, note, at=at)
    message = str(caught.value)
    assert says in message
    assert "Jane" not in message
    assert isinstance(caught.value, ValueError)
