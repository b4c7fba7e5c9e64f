"""The recommendation view and the service's response body, written from memoised parts.

Held byte for byte against the view as it was first written (kept here, plainly, as the
reference) and pydantic-core's JSON of the whole response, on seeded assessments.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import pydantic_core
import pytest
from pydantic import computed_field
from starlette.testclient import TestClient

from iop_placement import Recommendation, default_engine
from iop_placement._model.fields import FactValue, field_specs
from iop_placement._model.labels import in_sentence
from iop_placement._model.levels import Flag, LevelOfCare
from iop_placement._model.memo import IdentityMemo
from iop_placement._model.recommendation import OVERRIDE_NOTICE, DimensionRating, Reason
from iop_placement._model.view import (
    CRISIS_ASK,
    reason_view,
    recommendation_response_json,
    recommendation_view,
    recommendation_view_json,
)
from iop_placement._model.wording import NOTICE
from iop_placement.service import create_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _data import seeded_assessments

# --- the reference: the view as first written, without any memo ---------------------------


def _facts(facts: dict[str, FactValue]) -> str:
    specs = field_specs(with_decided_level=True, with_derived=True)
    parts = []
    for name, value in facts.items():
        spec = specs.get(name)
        if spec is None:
            parts.append(f"{name} = {value}")
        elif isinstance(value, list):
            words = ", ".join(spec.label(item) for item in value) or "none"
            parts.append(f"{in_sentence(spec.title)} = {words}")
        else:
            parts.append(f"{in_sentence(spec.title)} = {spec.label(value)}")
    return "; ".join(parts)


def _level(level: LevelOfCare) -> dict[str, str]:
    return {
        "code": level.value,
        "label": level.label,
        "description": level.description,
        "intensity": level.intensity,
    }


def _flag(flag: Flag) -> dict[str, str]:
    return {
        "code": flag.value,
        "label": flag.label,
        "description": flag.description,
        "kind": flag.kind.value,
    }


def _reason(reason: Reason) -> dict[str, Any]:
    return {
        "rule_id": reason.rule_id,
        "title": reason.title,
        "level": reason.level.label if reason.level else None,
        "flags": [flag.label for flag in reason.flags],
        "text": reason.text,
        "facts": _facts(reason.facts),
        "source": reason.source,
    }


def _dimension(rec: Recommendation, rating: DimensionRating) -> dict[str, Any]:
    return {
        "code": rating.dimension.value,
        "label": rating.dimension.label,
        "rating": rating.rating,
        "rating_label": rating.label,
        "reasons": [
            _reason(reason) | {"rating": reason.rating}
            for reason in rec.reasons
            if reason.dimension == rating.dimension
        ],
    }


def reference_view(rec: Recommendation) -> dict[str, Any]:
    alternative = None
    if rec.alternative is not None:
        alternative = {
            **_level(rec.alternative.level),
            "conditions": list(rec.alternative.conditions),
            "rule_ids": list(rec.alternative.rule_ids),
        }
    asam = None
    if rec.asam is not None:
        asam = {
            "approximate": rec.asam.approximate,
            "note": rec.asam.note,
            "levels": [level.model_dump(mode="json") for level in rec.asam.levels],
        }
    alert = None
    if Flag.CRISIS in rec.flags:
        alert = {**_flag(Flag.CRISIS), "ask": CRISIS_ASK[0].upper() + CRISIS_ASK[1:] + "."}
    return {
        "alert": alert,
        "level": _level(rec.level),
        "flags": [_flag(flag) for flag in rec.flags],
        "deciding": [_reason(reason) for reason in rec.deciding],
        "supporting": [_reason(reason) for reason in rec.supporting],
        "dimensions": [_dimension(rec, rating) for rating in rec.dimensions],
        "safety_override": rec.safety_override,
        "safety_notice": OVERRIDE_NOTICE if rec.safety_override else None,
        "alternative": alternative,
        "asam": asam,
        "ruleset": rec.ruleset.model_dump(mode="json"),
        "notice": NOTICE,
    }


def reference_body(rec: Recommendation) -> bytes:
    """What the service wrote before: pydantic-core's JSON of the response as a whole."""
    return pydantic_core.to_json(
        {"recommendation": rec, "view": reference_view(rec)}, by_alias=False, inf_nan_mode="null"
    )


# --- the tests -----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_same_view_and_bytes_as_the_reference_on_seeded_assessments(seed: int) -> None:
    engine = default_engine()
    crisis = overridden = alternatives = 0
    for assessment in seeded_assessments(700, seed):
        rec = engine.recommend(assessment)
        view = reference_view(rec)
        assert recommendation_view(rec) == view
        assert recommendation_view_json(rec) == pydantic_core.to_json(view)
        assert recommendation_response_json(rec) == reference_body(rec)
        crisis += view["alert"] is not None
        overridden += rec.safety_override
        alternatives += rec.alternative is not None
    # The seeded stream reaches every branch of the view.
    assert crisis
    assert overridden
    assert alternatives


def test_same_bytes_for_a_recommendation_not_from_the_engine() -> None:
    """Parts the memo has never seen (a round trip makes new objects) give the same bytes."""
    engine = default_engine()
    for assessment in seeded_assessments(50, 4):
        rec = Recommendation.model_validate_json(engine.recommend(assessment).model_dump_json())
        assert recommendation_response_json(rec) == reference_body(rec)


class _Annotated(Recommendation):
    @computed_field  # type: ignore[prop-decorator]
    @property
    def reason_count(self) -> int:
        return len(self.reasons)


def test_a_subclass_is_written_by_pydantic_as_it_serialises_itself() -> None:
    rec = default_engine().recommend(seeded_assessments(1, 7)[0])
    annotated = _Annotated.model_validate(dict(rec))
    body = recommendation_response_json(annotated)
    assert body == reference_body(annotated)
    assert b'"reason_count":' in body


def test_the_service_writes_the_reference_bytes() -> None:
    client = TestClient(create_app(insecure_no_auth=True))
    engine = default_engine()
    for assessment in seeded_assessments(40, 5):
        response = client.post("/api/recommendation", json=assessment)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.content == reference_body(engine.recommend(assessment))


def test_a_view_changed_by_its_caller_leaves_the_next_one_alone() -> None:
    rec = default_engine().recommend(seeded_assessments(1, 6)[0])
    reason = next(r for r in rec.reasons if r.flags) if any(r.flags for r in rec.reasons) else None
    first = recommendation_view(rec)
    for row in first["deciding"] + first["supporting"]:
        row["facts"] = "changed"
        row["flags"].append("changed")
    first["level"]["label"] = "changed"
    assert recommendation_view(rec) == reference_view(rec)
    if reason is not None:
        assert reason_view(reason)["flags"] == [flag.label for flag in reason.flags]


class _Thing:
    """An object that is not hashable, as a frozen model holding a dict is not."""

    __hash__ = None  # type: ignore[assignment]

    def __init__(self, number: int) -> None:
        self.number = number


def test_identity_memo_works_out_each_object_once_and_stays_bounded() -> None:
    made: list[int] = []

    def make(thing: _Thing) -> int:
        made.append(thing.number)
        return thing.number * 10

    memo = IdentityMemo(make, 3)
    things = [_Thing(n) for n in range(5)]
    assert memo(things[0]) == 0
    assert memo(things[0]) == 0
    assert made == [0]
    assert memo.many(things) == [0, 10, 20, 30, 40]
    assert len(memo) == 3  # the oldest went first
    assert memo(things[4]) == 40
    assert made == [0, 1, 2, 3, 4]
    assert memo(_Thing(4)) == 40  # an equal object is worked out anew: keyed by identity
    assert made[-1] == 4
    memo.clear()
    assert len(memo) == 0


def test_identity_memo_keeps_its_objects_alive_so_an_id_is_never_reused() -> None:
    memo: IdentityMemo[_Thing, int] = IdentityMemo(lambda thing: thing.number, 1000)
    for number in range(2000):  # without the strong reference ids would repeat at once
        assert memo(_Thing(number)) == number


def test_identity_memo_under_threads() -> None:
    memo: IdentityMemo[_Thing, int] = IdentityMemo(lambda thing: thing.number, 16)
    things = [_Thing(n) for n in range(64)]
    wrong: list[int] = []

    def work() -> None:
        for _ in range(200):
            for value, thing in zip(memo.many(things), things, strict=True):
                if value != thing.number:
                    wrong.append(value)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not wrong
    assert len(memo) <= 16
