"""The invariants of the contract, checked by Hypothesis on generated assessments."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import BASELINE, LOWEST, expected_fired, low_risk_biased
from iop_placement import (
    Assessment,
    Flag,
    LevelOfCare,
    PlacementEngine,
    Recommendation,
    recommend,
)
from iop_placement._model.assessment import single_step_worsenings
from iop_placement._model.fields import derive, field_specs
from iop_placement.testing import assessment_values, assessments, worsened


def biased_sample(count: int, seed: int) -> list[Assessment]:
    """Seeded assessments where each risk answer is the lowest with probability 2/3."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        data = dict(BASELINE)
        for name, lowest in LOWEST.items():
            values = field_specs()[name].values
            data[name] = lowest if rng.random() < 2 / 3 else rng.choice(values)
        data["available_hours_per_week"] = rng.choice([0, 8, 9, 20, 168])
        data["obligations"] = rng.choice([[], ["work"], ["childcare", "school"]])
        data["inpatient_accessible"] = rng.random() < 0.5
        out.append(Assessment.model_validate(data))
    return out


@given(assessment_values())
def test_total_and_deterministic(values: dict[str, Any]) -> None:
    first = recommend(values)
    assert first.level in LevelOfCare
    assert recommend(values) == first
    assert recommend(Assessment.model_validate(values)) == first


def _check_worsenings(engine: PlacementEngine, assessment: Assessment) -> None:
    rank = engine.recommend(assessment).level.rank
    for field, worse in single_step_worsenings(assessment):
        assert engine.recommend(worse).level.rank >= rank, (field, assessment.values())


@given(assessments())
def test_no_single_worsening_lowers_the_level(
    engine: PlacementEngine, assessment: Assessment
) -> None:
    _check_worsenings(engine, assessment)


@given(low_risk_biased())
def test_no_single_worsening_lowers_the_level_near_low_risk(
    engine: PlacementEngine, assessment: Assessment
) -> None:
    _check_worsenings(engine, assessment)


def test_no_single_worsening_lowers_the_level_seeded_sweep(engine: PlacementEngine) -> None:
    for assessment in biased_sample(3000, seed=1):
        _check_worsenings(engine, assessment)


@given(st.data())
def test_worsened_strategy_never_lowers_the_level(data: st.DataObject) -> None:
    assessment = data.draw(assessments(substance_use_severity="mild"))
    worse = data.draw(worsened(assessment))
    assert recommend(worse).level.rank >= recommend(assessment).level.rank


@given(assessments())
def test_reasons_are_sound_and_complete(engine: PlacementEngine, assessment: Assessment) -> None:
    rec = engine.recommend(assessment)
    fired, level = expected_fired(engine, assessment)
    ids = [reason.rule_id for reason in rec.reasons]
    assert len(ids) == len(set(ids)), "a rule fired twice"
    assert set(ids) == fired
    assert rec.level == level
    supported = [r.level for r in rec.reasons if r.level is not None]
    assert rec.level == max(
        supported, key=lambda lvl: lvl.rank, default=LevelOfCare.STANDARD_OUTPATIENT
    )
    ratings = {d.dimension: d.rating for d in rec.dimensions}
    values = {**assessment.values(), **derive(ratings), "level": rec.level.value}
    for reason in rec.reasons:
        assert reason.facts, reason.rule_id
        for name, value in reason.facts.items():
            assert values[name] == value
    ranks = [r.level.rank if r.level else -1 for r in rec.reasons]
    assert ranks == sorted(ranks, reverse=True), "reasons must be most intensive first"


@given(assessments())
def test_flags_come_from_reasons(assessment: Assessment) -> None:
    rec = recommend(assessment)
    from_reasons = {flag for reason in rec.reasons for flag in reason.flags}
    assert set(rec.flags) == from_reasons
    assert list(rec.flags) == [flag for flag in Flag if flag in from_reasons]


def needs_inpatient(assessment: Assessment, rec: Recommendation) -> bool:
    """DESIGN v2's safety invariant: crisis, medical instability, or withdrawal that needs
    24-hour care (severe or not rated)."""
    severe_withdrawal = Flag.WITHDRAWAL_MANAGEMENT in rec.flags and (
        assessment.withdrawal_severity in {None, "severe"}
        or bool(assessment.complicated_withdrawal_history)
    )
    return bool(
        {Flag.CRISIS, Flag.MEDICAL_INSTABILITY} & set(rec.flags)
        or assessment.medically_unstable
        or severe_withdrawal
    )


@given(assessments())
def test_safety_means_inpatient(assessment: Assessment) -> None:
    rec = recommend(assessment)
    if needs_inpatient(assessment, rec):
        assert rec.level is LevelOfCare.INPATIENT
        assert rec.safety_override
    assert (Flag.CRISIS in rec.flags) == (assessment.suicide_risk == "imminent")
    assert (Flag.MEDICAL_INSTABILITY in rec.flags) == assessment.medically_unstable
    detox = assessment.detox_status in {"needed", "in_progress"}
    assert (Flag.WITHDRAWAL_MANAGEMENT in rec.flags) == detox
    overdose = assessment.opioid_use_with_lost_tolerance or bool(assessment.recent_overdose)
    assert (Flag.OVERDOSE_RISK in rec.flags) == overdose
    # Shown under the safety override too (DESIGN v3): a danger to life with no bed.
    unreachable = rec.level is LevelOfCare.INPATIENT and not assessment.inpatient_accessible
    assert (Flag.INPATIENT_NOT_ACCESSIBLE in rec.flags) == unreachable


@given(
    assessments(),
    st.integers(0, 168),
    st.lists(st.sampled_from(["work", "school", "childcare", "caregiving"]), unique=True),
    st.booleans(),
)
def test_feasibility_never_changes_the_level(
    assessment: Assessment, hours: int, obligations: list[str], accessible: bool
) -> None:
    changed = {
        **assessment.values(),
        "available_hours_per_week": hours,
        "obligations": obligations,
        "inpatient_accessible": accessible,
    }
    before, after = recommend(assessment), recommend(changed)
    assert after.level == before.level
    clinical = [r.rule_id for r in before.reasons if r.level is not None]
    assert [r.rule_id for r in after.reasons if r.level is not None] == clinical


@given(assessments())
def test_alternative_is_less_intensive_and_never_with_safety_flags(assessment: Assessment) -> None:
    rec = recommend(assessment)
    if rec.alternative is None:
        return
    assert rec.alternative.level.rank < rec.level.rank
    assert not needs_inpatient(assessment, rec)
    assert rec.alternative.conditions
    offered = {r.rule_id for r in rec.reasons}
    assert set(rec.alternative.rule_ids) <= offered


@given(assessments())
def test_json_round_trip(assessment: Assessment) -> None:
    rec = recommend(assessment)
    dumped = rec.model_dump(mode="json")
    again = Recommendation.model_validate(dumped)
    assert again == rec
    assert again.model_dump(mode="json") == dumped
    assert Recommendation.model_validate_json(rec.model_dump_json()) == rec


@given(assessments())
def test_the_engine_builds_what_validation_would(assessment: Assessment) -> None:
    # The engine assembles recommendations from parts it validated once (not again):
    # the result is the very object validation makes of the same data.
    rec = recommend(assessment)
    validated = Recommendation.model_validate(dict(rec))
    assert validated == rec
    assert list(rec.__dict__) == list(Recommendation.model_fields)
    assert rec.model_fields_set == validated.model_fields_set
    assert rec.model_dump_json() == validated.model_dump_json()
    assert rec.model_dump(exclude_unset=True) == validated.model_dump(exclude_unset=True)


@given(assessments())
def test_values_are_the_json_dump(assessment: Assessment) -> None:
    assert assessment.values() == assessment.model_dump(mode="json")
    assert list(assessment.values()) == list(Assessment.model_fields)


def test_values_of_an_unchecked_copy_take_pydantics_way() -> None:
    answers = Assessment.model_validate(BASELINE)
    odd = answers.model_copy(update={"obligations": ["work"], "motivation": 3.5})
    with pytest.warns(UserWarning, match="serializ"):  # Pydantic's own, as before
        values = odd.values()
    assert values == odd.model_dump(mode="json", warnings=False)


@given(assessments())
def test_recommendation_records_the_rule_set(
    engine: PlacementEngine, assessment: Assessment
) -> None:
    rec = engine.recommend(assessment)
    assert rec.ruleset == engine.ruleset_info
    assert len(rec.ruleset.sha256) == 64
    assert rec.intensity == rec.level.intensity
