"""fhir.to_result: a placement record as ServiceRequests and Observations (fhir.resources)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.servicerequest import ServiceRequest

from iop_placement import fhir, recommend
from iop_placement._model.levels import Dimension
from iop_placement.placement import PlacementRecordV2, record_placement

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SECRET = "SECRETPHI Jane Roe"


def _record(**kw: Any) -> PlacementRecordV2:
    rec = recommend(json.loads((EXAMPLES / "inpatient_withdrawal.json").read_text()))
    args: dict[str, Any] = {
        "selected": "intensive_outpatient",
        "role": "physician",
        "reason_code": "payer_denial",
        "authorized": {
            "level": "intensive_outpatient",
            "authorization_id": "PA-9",
            "start": "2026-03-02",
            "end": "2026-03-30",
            "units": 20,
        },
        "questionnaire_response": "QuestionnaireResponse/qr-7",
        "note": SECRET,
        **kw,
    }
    return record_placement(rec, at=AT, **args)


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_the_result_validates_and_has_the_parts() -> None:
    bundle = fhir.to_result(_record(), subject="Patient/p-1")
    Bundle.model_validate(bundle)
    proposal, order = _resources(bundle, "ServiceRequest")
    ServiceRequest.model_validate(proposal)
    ServiceRequest.model_validate(order)
    assert (proposal["intent"], order["intent"]) == ("proposal", "order")
    systems = {c["system"] for c in proposal["code"]["coding"]}
    assert fhir.code_system("level_of_care") in systems
    assert any("asam-4th" in s for s in systems)
    assert any("asam-3rd" in s for s in systems)
    assert "urn:iop-placement:teds-services" in systems
    assert order["reasonCode"][0]["coding"][0]["code"] == "payer_denial"
    assert order["identifier"][0]["value"] == "PA-9"
    assert order["basedOn"][0]["reference"] == bundle["entry"][0]["fullUrl"]
    observations = _resources(bundle, "Observation")
    assert len(observations) == len(Dimension)
    for obs in observations:
        Observation.model_validate(obs)
        assert obs["derivedFrom"] == [{"reference": "QuestionnaireResponse/qr-7"}]
    assert proposal["supportingInfo"] == [{"reference": "QuestionnaireResponse/qr-7"}]
    full_urls = {e["fullUrl"] for e in bundle["entry"]}
    assert {r["reference"] for r in proposal["reasonReference"]} <= full_urls


def test_every_resource_is_labelled_for_part_2_and_no_note() -> None:
    bundle = fhir.to_result(_record(), subject="Patient/p-1")
    assert SECRET not in json.dumps(bundle)
    for resource in [bundle, *(e["resource"] for e in bundle["entry"])]:
        codes = {c["code"] for c in resource["meta"]["security"]}
        assert {"42CFRPart2", "R", "NORDSCLCD"} <= codes


def test_the_recommended_level_keeps_the_engines_asam_codes() -> None:
    record = _record()
    bundle = fhir.to_result(record, subject="Patient/p-1")
    proposal = _resources(bundle, "ServiceRequest")[0]
    asam = record.recommended.asam
    assert asam is not None
    coded = {(c["system"], c["code"]) for c in proposal["code"]["coding"]}
    assert {(fhir.asam_system(a.edition), a.code) for a in asam.levels} <= coded


def test_without_a_selection_only_the_proposal() -> None:
    record = record_placement(
        recommend(json.loads((EXAMPLES / "standard_outpatient.json").read_text())), at=AT
    )
    bundle = fhir.to_result(record, subject="Patient/2")
    Bundle.model_validate(bundle)
    assert [r["intent"] for r in _resources(bundle, "ServiceRequest")] == ["proposal"]
    assert "derivedFrom" not in _resources(bundle, "Observation")[0]


@pytest.mark.parametrize("subject", ["Group/1", "Patient/", "p-1"])
def test_subject_must_be_a_patient(subject: str) -> None:
    with pytest.raises(ValueError, match="subject"):
        fhir.to_result(_record(), subject=subject)


def test_an_admission_is_an_encounter_based_on_the_order() -> None:
    bundle = fhir.to_result(
        _record(admitted={"level": "intensive_outpatient", "on": "2026-03-03"}),
        subject="Patient/p-1",
    )
    Bundle.model_validate(bundle)
    (encounter,) = _resources(bundle, "Encounter")
    Encounter.model_validate(encounter)
    assert encounter["class"]["code"] == "AMB"
    assert encounter["period"] == {"start": "2026-03-03"}
    order = bundle["entry"][1]
    assert order["resource"]["intent"] == "order"
    assert encounter["basedOn"] == [{"reference": order["fullUrl"]}]
    assert not _resources(fhir.to_result(_record(), subject="Patient/p-1"), "Encounter")
