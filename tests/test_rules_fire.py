"""Every bundled rule fires on a minimal trigger and is silent when its condition is off.

Each row changes the low-risk baseline (conftest.BASELINE) as little as possible: `on`
makes the rule's condition hold, `off` is the nearest assessment where it does not.
"""

from __future__ import annotations

from typing import Any

import pytest

from helpers import BASELINE, assessment
from iop_placement import PlacementEngine

SEVERE = {"substance_use_severity": "severe"}
AFTER_RESIDENTIAL = {**SEVERE, "completed_residential": True}

TOXIC = {"home_environment": "toxic"}
THREE_RISKS = {
    "suicide_risk": "ideation",
    "relapse_history": "frequent",
    "home_environment": "unstable",
}
DETOX = {"detox_status": "needed"}

# rule id -> (changes that trigger it, nearest changes that do not)
TRIGGERS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "safety.imminent_suicide_risk": ({"suicide_risk": "imminent"}, {"suicide_risk": "ideation"}),
    "safety.suicidal_ideation": ({"suicide_risk": "ideation"}, {"suicide_risk": "imminent"}),
    "safety.medically_unstable": ({"medically_unstable": True}, {}),
    "withdrawal.severe_or_unrated": (DETOX, {**DETOX, "withdrawal_severity": "moderate"}),
    "withdrawal.moderate_ambulatory": (
        {**DETOX, "withdrawal_severity": "moderate"},
        {**DETOX, "withdrawal_severity": "minimal"},
    ),
    "withdrawal.minimal_ambulatory": (
        {"detox_status": "in_progress", "withdrawal_severity": "minimal"},
        {"detox_status": "completed", "withdrawal_severity": "minimal"},
    ),
    "co_occurring.stable": ({"co_occurring_mental_health": "stable"}, {}),
    "co_occurring.significant": (
        {"co_occurring_mental_health": "significant"},
        {"co_occurring_mental_health": "significant", "completed_residential": True},
    ),
    "co_occurring.significant_after_residential": (
        {"co_occurring_mental_health": "significant", "completed_residential": True},
        {"co_occurring_mental_health": "significant"},
    ),
    "functioning.impaired": (
        {"functional_impairment": "moderate"},
        {"functional_impairment": "mild"},
    ),
    "functioning.cannot_hold_life_together": (
        {"functional_impairment": "severe", "substance_use_severity": "moderate"},
        {"functional_impairment": "severe"},
    ),
    "functioning.severe_with_mild_use": (
        {"functional_impairment": "severe"},
        {"functional_impairment": "severe", "substance_use_severity": "moderate"},
    ),
    "readiness.ambivalent": ({"motivation": "ambivalent"}, {"motivation": "low"}),
    "readiness.low_motivation": ({"motivation": "low"}, {"motivation": "ambivalent"}),
    "severity.moderate_use": (
        {"substance_use_severity": "moderate"},
        {"substance_use_severity": "moderate", "use_status": "early_remission"},
    ),
    "severity.severe_active_use": (SEVERE, AFTER_RESIDENTIAL),
    "severity.severe_in_early_remission": (
        {**SEVERE, "use_status": "early_remission"},
        {**SEVERE, "use_status": "sustained_remission"},
    ),
    "co_occurring.active": (
        {"co_occurring_mental_health": "active"},
        {"co_occurring_mental_health": "stable"},
    ),
    "withdrawal.complicated_history": (
        {**DETOX, "withdrawal_severity": "minimal", "complicated_withdrawal_history": True},
        {"detox_status": "completed", "complicated_withdrawal_history": True},
    ),
    "medication.indicated_not_receiving": (
        {"addiction_medication": "indicated_not_receiving"},
        {"addiction_medication": "receiving"},
    ),
    "medication.overdose_risk_without_medication": (
        {"recent_overdose": True},
        {"recent_overdose": True, "addiction_medication": "receiving"},
    ),
    "relapse.occasional": ({"relapse_history": "occasional"}, {"relapse_history": "frequent"}),
    "relapse.frequent": ({"relapse_history": "frequent"}, {"relapse_history": "occasional"}),
    "relapse.prior_outpatient_failed": ({"prior_outpatient_failed": True}, {}),
    "relapse.prior_iop_failed": ({"prior_iop_failed": True}, {"prior_iop_failed": False}),
    "relapse.chronic_history": (
        {"prior_iop_failed": True, "relapse_history": "frequent"},
        {"prior_iop_failed": True, "relapse_history": "occasional"},
    ),
    "relapse.opioid_lost_tolerance": ({"opioid_use_with_lost_tolerance": True}, {}),
    "relapse.recent_overdose": ({"recent_overdose": True}, {}),
    "step_down.after_residential": (
        {**AFTER_RESIDENTIAL, "support_system": "none"},
        {**AFTER_RESIDENTIAL, "use_status": "early_remission"},
    ),
    "environment.unstable": (
        {"home_environment": "unstable"},
        {"home_environment": "unstable", "recovery_residence": "residing"},
    ),
    "environment.homeless": (
        {"home_environment": "homeless", "recovery_residence": "arranged"},
        {"home_environment": "homeless", "recovery_residence": "residing"},
    ),
    "environment.toxic": (TOXIC, {**TOXIC, "recovery_residence": "residing"}),
    "environment.toxic_without_safe_housing": (
        {**TOXIC, "substance_use_severity": "moderate"},
        {**TOXIC, "substance_use_severity": "moderate", "recovery_residence": "arranged"},
    ),
    "environment.in_recovery_residence": (
        {**TOXIC, "recovery_residence": "residing"},
        {**TOXIC, "recovery_residence": "arranged"},
    ),
    "environment.housing_needed": (
        {"home_environment": "homeless"},
        {"home_environment": "homeless", "recovery_residence": "arranged"},
    ),
    "support.none": ({"support_system": "none"}, {"support_system": "limited"}),
    "placement.withdrawal_needs_24_hour_care": (
        DETOX,
        {**DETOX, "withdrawal_severity": "moderate"},
    ),
    "placement.biomedical_needs_24_hour_care": ({"medically_unstable": True}, {}),
    "placement.emotional_needs_24_hour_care": (
        {"co_occurring_mental_health": "significant"},
        {"suicide_risk": "ideation"},
    ),
    "placement.relapse_needs_24_hour_care": (
        {"prior_iop_failed": True, "relapse_history": "frequent"},
        {"prior_iop_failed": True, "relapse_history": "occasional"},
    ),
    "placement.environment_needs_24_hour_care": (
        {**TOXIC, "substance_use_severity": "moderate"},
        TOXIC,
    ),
    "placement.withdrawal_ambulatory": (
        {**DETOX, "withdrawal_severity": "moderate"},
        {**DETOX, "withdrawal_severity": "minimal"},
    ),
    "placement.emotional_needs_iop": (
        {"suicide_risk": "ideation"},
        {"co_occurring_mental_health": "stable"},
    ),
    "placement.relapse_needs_iop": (
        {"relapse_history": "frequent"},
        {"relapse_history": "occasional"},
    ),
    "placement.environment_needs_iop": (
        {"home_environment": "unstable"},
        {"support_system": "none"},
    ),
    "placement.many_risks_interact": (
        {**THREE_RISKS, **DETOX, "withdrawal_severity": "moderate"},
        {**THREE_RISKS, "motivation": "low"},
    ),
    "placement.risks_interact_without_support": (
        {**THREE_RISKS, "support_system": "none"},
        {**THREE_RISKS, "support_system": "limited"},
    ),
    "placement.severe_use_with_further_risk": (
        {**SEVERE, "home_environment": "unstable"},
        {**SEVERE, "suicide_risk": "ideation"},
    ),
    "placement.withdrawal_without_safe_setting": (
        {**DETOX, "withdrawal_severity": "moderate", "support_system": "none"},
        {**DETOX, "withdrawal_severity": "moderate", "support_system": "limited"},
    ),
    "placement.high_intensity_outpatient": (
        THREE_RISKS,
        {"suicide_risk": "ideation", "relapse_history": "frequent", "motivation": "low"},
    ),
    "placement.standard_outpatient": ({"motivation": "low"}, {"relapse_history": "frequent"}),
    "placement.iop_after_detox_for_severe_use": (
        {**SEVERE, "detox_status": "completed"},
        {**SEVERE, "detox_status": "completed", "support_system": "none"},
    ),
    "placement.iop_with_recovery_residence": (
        {**TOXIC, "substance_use_severity": "moderate"},
        {
            **TOXIC,
            "substance_use_severity": "moderate",
            "suicide_risk": "ideation",
            "relapse_history": "frequent",
        },
    ),
    "feasibility.inpatient_not_accessible": (
        {"suicide_risk": "imminent", "inpatient_accessible": False},
        {"suicide_risk": "imminent", "inpatient_accessible": True},
    ),
    "feasibility.iop_while_inpatient_unreachable": (
        {**TOXIC, "substance_use_severity": "moderate", "inpatient_accessible": False},
        {"suicide_risk": "imminent", "inpatient_accessible": False},
    ),
    "feasibility.inpatient_conflicts_with_obligations": (
        {**TOXIC, "substance_use_severity": "moderate", "obligations": ["caregiving"]},
        {**TOXIC, "substance_use_severity": "moderate", "obligations": []},
    ),
    "feasibility.too_few_hours_for_iop": (
        {"relapse_history": "frequent", "available_hours_per_week": 8},
        {"relapse_history": "frequent", "available_hours_per_week": 9},
    ),
    "feasibility.too_few_hours_for_outpatient": (
        {"available_hours_per_week": 0},
        {"available_hours_per_week": 1},
    ),
}


def _fired(engine: PlacementEngine, changes: dict[str, Any]) -> set[str]:
    return {reason.rule_id for reason in engine.recommend(assessment(**changes)).reasons}


def test_every_bundled_rule_has_a_trigger(engine: PlacementEngine) -> None:
    assert set(TRIGGERS) == {rule.id for rule in engine.rule_set.rules}


def test_baseline_is_low_risk(engine: PlacementEngine) -> None:
    assert _fired(engine, {}) == {"placement.standard_outpatient"}
    assert engine.recommend(BASELINE).level.value == "standard_outpatient"


@pytest.mark.parametrize("rule_id", sorted(TRIGGERS))
def test_rule_fires_when_its_condition_holds(engine: PlacementEngine, rule_id: str) -> None:
    on, _ = TRIGGERS[rule_id]
    assert rule_id in _fired(engine, on)


@pytest.mark.parametrize("rule_id", sorted(TRIGGERS))
def test_rule_is_silent_when_its_condition_is_off(engine: PlacementEngine, rule_id: str) -> None:
    _, off = TRIGGERS[rule_id]
    assert rule_id not in _fired(engine, off)


@pytest.mark.parametrize("rule_id", sorted(TRIGGERS))
def test_rule_outcome_shows_in_the_recommendation(engine: PlacementEngine, rule_id: str) -> None:
    rule = next(rule for rule in engine.rule_set.rules if rule.id == rule_id)
    rec = engine.recommend(assessment(**TRIGGERS[rule_id][0]))
    assert set(rule.then.flags) <= set(rec.flags)
    if rule.then.level is not None:
        assert rec.level.rank >= rule.then.level.rank
    reason = next(r for r in rec.reasons if r.rule_id == rule_id)
    assert (reason.level, reason.text, reason.title) == (rule.then.level, rule.text, rule.title)
    if rule.then.rating is not None:
        assert (reason.dimension, reason.rating) == (
            rule.then.rating.dimension,
            rule.then.rating.value,
        )
        rated = {d.dimension: d.rating for d in rec.dimensions}
        assert rated[rule.then.rating.dimension] >= rule.then.rating.value
    assert str(rule.source) == reason.source
    for document in rule.source.documents:
        assert document in reason.source
