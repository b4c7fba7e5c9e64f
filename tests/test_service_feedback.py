"""CDS Hooks feedback: accepted and overridden cards, with the reason, in the audit trail."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from iop_placement import OverrideReason, cds_hooks, recommend
from iop_placement.audit import AuditStore, verify
from iop_placement.service import create_app
from service_helpers import FEEDBACK, HOOK, example, hook_call, problems_fields

COMMENT = "SECRETPHI_Jane prefers evening groups near 1 Elm St"


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'audit.db'}"


@pytest.fixture
def client(db: str) -> Iterator[TestClient]:
    store = AuditStore.open(db)
    with TestClient(create_app(insecure_no_auth=True, audit=store)) as test_client:
        yield test_client
    store.close()


def _card(client: TestClient, name: str = "intensive_outpatient") -> dict[str, Any]:
    response = client.post(HOOK, json=hook_call(name))
    assert response.status_code == 200
    card: dict[str, Any] = response.json()["cards"][0]
    return card


def _overridden(card: str, code: str = "patient_preference", **reason: Any) -> dict[str, Any]:
    return {
        "card": card,
        "outcome": "overridden",
        "overrideReason": {
            "reason": {"code": code, "system": cds_hooks.OVERRIDE_REASON_SYSTEM, **reason},
            "userComment": COMMENT,
        },
        "outcomeTimestamp": "2026-01-02T03:04:05Z",
    }


def test_every_card_issued_is_recorded(client: TestClient, db: str) -> None:
    card = _card(client)
    with AuditStore.open(db) as store:
        (entry,) = store.entries()
    rec = recommend(example("intensive_outpatient"))
    assert (entry.kind, entry.card_uuid) == ("card", card["uuid"])
    assert entry.data["recommended_level"] == rec.level.value
    assert entry.data["ruleset"]["sha256"] == rec.ruleset.sha256
    assert entry.data["rule_ids"] == [reason.rule_id for reason in rec.deciding]


def test_accepted_and_overridden_cards_are_recorded_with_the_reason(
    client: TestClient, db: str, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = _card(client), _card(client, "crisis")
    body = {
        "feedback": [
            {"card": first["uuid"], "outcome": "accepted", "outcomeTimestamp": "2026-01-02T03:04Z"},
            _overridden(second["uuid"]),
        ]
    }
    with caplog.at_level(logging.DEBUG):
        response = client.post(FEEDBACK, json=body)
    assert response.status_code == 200
    assert response.json() == {"recorded": 2}
    assert response.headers["cache-control"] == "no-store"
    assert COMMENT not in caplog.text
    assert COMMENT not in response.text
    with AuditStore.open(db) as store:
        entries = list(store.entries())
    accepted, overridden = entries[2:]
    assert accepted.data["outcome"] == "accepted"
    assert accepted.data["override_reason"] is None
    assert overridden.data == {
        "card_uuid": second["uuid"],
        "outcome": "overridden",
        "override_reason": OverrideReason.PATIENT_PREFERENCE.value,
        "outcome_timestamp": "2026-01-02T03:04:05+00:00",
        "accepted_suggestions": 0,
    }
    assert overridden.note == COMMENT
    assert COMMENT not in overridden.content
    assert verify(db).ok


def test_feedback_on_a_card_not_issued_here_is_refused(client: TestClient, db: str) -> None:
    response = client.post(FEEDBACK, json={"feedback": [_overridden(str(uuid.uuid4()))]})
    assert response.status_code == 400
    assert problems_fields(response.json()) == ["feedback.0.card"]
    assert verify(db).entries == 0


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"code": "whim"}, "feedback.0.overrideReason.reason"),
        ({"system": "http://other.example"}, "feedback.0.overrideReason.reason"),
    ],
)
def test_a_reason_not_offered_on_the_card_is_refused(
    client: TestClient, item: dict[str, str], field: str
) -> None:
    card = _card(client)
    response = client.post(FEEDBACK, json={"feedback": [_overridden(card["uuid"], **item)]})
    assert response.status_code == 400
    assert problems_fields(response.json()) == [field]
    assert "whim" not in response.text


def test_other_needs_a_comment(client: TestClient) -> None:
    card = _card(client)
    item = _overridden(card["uuid"], "other")
    del item["overrideReason"]["userComment"]
    response = client.post(FEEDBACK, json={"feedback": [item]})
    assert response.status_code == 400
    assert problems_fields(response.json()) == ["feedback.0.overrideReason.userComment"]


@pytest.mark.parametrize(
    "body",
    [
        [],
        {},
        {"feedback": []},
        {"feedback": [{"card": "not-a-uuid", "outcome": "accepted", "outcomeTimestamp": "x"}]},
        {"feedback": [{"card": str(uuid.uuid4()), "outcome": "maybe"}]},
        {"feedback": [{"outcome": "accepted"}] * 51},
    ],
)
def test_a_malformed_feedback_body_is_a_400(client: TestClient, body: object) -> None:
    response = client.post(FEEDBACK, json=body)
    assert response.status_code == 400
    assert len(response.json()["problems"]) <= 20


def test_no_audit_store_means_no_feedback_endpoint() -> None:
    with TestClient(create_app(insecure_no_auth=True)) as test_client:
        assert test_client.post(FEEDBACK, json={"feedback": []}).status_code == 404


def test_when_the_audit_trail_cannot_be_written_no_card_is_given(tmp_path: Path) -> None:
    store = AuditStore.open(f"sqlite:///{tmp_path / 'audit.db'}")
    with TestClient(create_app(insecure_no_auth=True, audit=store)) as test_client:
        store.close()  # the database goes away
        response = test_client.post(HOOK, json=hook_call())
    assert response.status_code == 503
    assert "cards" not in response.json()


def test_without_the_intake_page_its_api_is_not_routed() -> None:
    with TestClient(create_app(insecure_no_auth=True, intake_page=False)) as test_client:
        assert test_client.post("/api/recommendation", json={}).status_code == 404
        assert test_client.get("/").status_code == 404
        assert test_client.get("/cds-services").status_code == 200


def test_a_stale_and_a_provisional_card_are_recorded_by_kind(client: TestClient, db: str) -> None:
    stale = hook_call("crisis")
    stale["prefetch"]["intake"]["authored"] = "2019-03-01T09:00:00Z"
    ongoing = hook_call("crisis")
    ongoing["prefetch"]["intake"]["status"] = "in-progress"
    uuids = []
    for body in (stale, ongoing):
        response = client.post(HOOK, json=body)
        assert response.status_code == 200
        uuids.append(response.json()["cards"][0]["uuid"])
    with AuditStore.open(db) as store:
        entries = list(store.entries())
    assert [(e.card_uuid, e.data["card_kind"]) for e in entries] == list(
        zip(uuids, ["stale", "provisional"], strict=True)
    )
    assert "recommended_level" not in entries[0].data
    assert entries[0].data["intake_authored"].startswith("2019-03-01")
    assert entries[1].data["provisional_range"][1] == "inpatient"
    assert verify(db).ok


def test_the_maximum_intake_age_must_be_a_day_or_more() -> None:
    with pytest.raises(ValueError, match="max_intake_age_days"):
        create_app(insecure_no_auth=True, max_intake_age_days=0)
