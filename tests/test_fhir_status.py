"""QuestionnaireResponse status: final, provisional or refused; the latest response is used."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iop_placement import InvalidAssessment, LevelOfCare, fhir, provisional, recommend
from iop_placement.cds_hooks import to_cds_card

EXAMPLE = json.loads(
    (Path(__file__).parents[1] / "examples" / "intensive_outpatient.json").read_text()
)


def response(status: str, authored: str | None = None, **drop: bool) -> dict[str, Any]:
    qr = fhir.to_questionnaire_response(EXAMPLE, subject="Patient/1", authored=authored)
    qr["status"] = status
    qr["item"] = [item for item in qr["item"] if item["linkId"] not in drop]
    return qr


@pytest.mark.parametrize("status", ["completed", "amended"])
def test_completed_and_amended_give_a_recommendation(status: str) -> None:
    assessment = fhir.from_questionnaire_response(response(status))
    assert recommend(assessment).level == recommend(EXAMPLE).level


def test_in_progress_gives_a_provisional_result_never_a_final_one() -> None:
    qr = response("in-progress", suicide_risk=True, available_hours_per_week=True)
    with pytest.raises(fhir.ResponseStatusError) as caught:
        fhir.from_questionnaire_response(qr)
    assert caught.value.fields == ("status",)
    assert "provisional" in str(caught.value)
    answers = fhir.partial_answers(qr)
    assert "suicide_risk" not in answers
    p = provisional(answers)
    assert not p.complete
    assert "suicide_risk" in p.unanswered
    expected = {
        k: v for k, v in EXAMPLE.items() if k not in {"suicide_risk", "available_hours_per_week"}
    }
    assert (p.lowest, p.highest) == (provisional(expected).lowest, provisional(expected).highest)
    card = to_cds_card(p)
    assert card["summary"].startswith("Provisional")
    assert "Suicide risk" in card["summary"]
    assert len(card["summary"]) <= 140
    assert card["indicator"] == "warning"


def test_a_completed_response_read_partially_equals_the_recommendation() -> None:
    p = provisional(fhir.partial_answers(response("completed")))
    assert p.complete
    assert p.lowest == p.highest == recommend(EXAMPLE).level == LevelOfCare.INTENSIVE_OUTPATIENT
    assert to_cds_card(p)["summary"] == to_cds_card(recommend(EXAMPLE))["summary"]


@pytest.mark.parametrize("status", ["entered-in-error", "stopped"])
def test_entered_in_error_and_stopped_are_refused(status: str) -> None:
    for read in (fhir.from_questionnaire_response, fhir.partial_answers):
        with pytest.raises(fhir.ResponseStatusError) as caught:
            read(response(status))
        assert isinstance(caught.value, InvalidAssessment)
        assert "refused" in str(caught.value)
        assert caught.value.fields == ("status",)


def test_a_missing_status_is_named() -> None:
    qr = response("completed")
    del qr["status"]
    with pytest.raises(InvalidAssessment) as caught:
        fhir.from_questionnaire_response(qr)
    assert "status" in caught.value.fields


def test_the_latest_usable_response_by_authored_is_used_and_stated() -> None:
    old = response("completed", "2026-01-01T10:00:00Z")
    new = response("in-progress", "2026-03-01T10:00:00+01:00", suicide_risk=True)
    wrong = response("entered-in-error", "2026-04-01")
    bundle = {"resourceType": "Bundle", "entry": [{"resource": r} for r in (new, wrong, old)]}
    chosen = fhir.choose_response(bundle)
    assert chosen.response is new
    assert chosen.status == "in-progress"
    assert "latest of 3" in chosen.statement
    assert "1 entered in error or stopped" in chosen.statement
    assert fhir.choose_response([old]).response is old
    with pytest.raises(fhir.ResponseStatusError):
        fhir.choose_response([wrong])
    with pytest.raises(InvalidAssessment):
        fhir.choose_response([])
