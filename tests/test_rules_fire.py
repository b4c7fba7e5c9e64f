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

# rule id -> (changes that trigger it, nearest changes that do not)
TRIGGERS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "safety.imminent_suicide_risk": ({"suicide_risk": "imminent"}, {"suicide_risk": "ideation"}),
    "safety.suicidal_ideation": ({"suicide_risk": "ideation"}, {"suicide_risk": "none"}),
    "safety.medically_unstable": ({"medically_unstable": True}, {}),
    "withdrawal.detox_needed_or_in_progress": (
        {"detox_status": "in_progress"},
        {"detox_status": "completed"},
    ),
    "withdrawal.completed_without_recovery_plan": (
        {"detox_status": "completed", "recovery_plan_established": False},
        {"detox_status": "completed"},
    ),
    "severity.severe_before_residential": (SEVERE, AFTER_RESIDENTIAL),
    "severity.moderate_or_severe": ({"substance_use_severity": "moderate"}, {}),
    "co_occurring.significant": (
        {"co_occurring_mental_health": "significant"},
        {"co_occurring_mental_health": "stable"},
    ),
    "co_occurring.stable": ({"co_occurring_mental_health": "stable"}, {}),
    "environment.toxic_or_homeless": (
        {"home_environment": "homeless"},
        {"home_environment": "unstable"},
    ),
    "environment.unstable_without_support": (
        {"home_environment": "unstable", "support_system": "none"},
        {"home_environment": "unstable", "support_system": "limited"},
    ),
    "environment.not_supportive": ({"home_environment": "stable"}, {}),
    "support.no_support_and_low_motivation": (
        {"support_system": "none", "motivation": "low"},
        {"support_system": "none", "motivation": "ambivalent"},
    ),
    "support.no_support_or_low_motivation": ({"motivation": "low"}, {"motivation": "ambivalent"}),
    "relapse.any_relapse": ({"relapse_history": "occasional"}, {}),
    "relapse.prior_outpatient_failed": ({"prior_outpatient_failed": True}, {}),
    "relapse.opioid_lost_tolerance": ({"opioid_use_with_lost_tolerance": True}, {}),
    "functioning.impaired": (
        {"functional_impairment": "moderate"},
        {"functional_impairment": "mild"},
    ),
    "functioning.cannot_hold_life_together": (
        {"functional_impairment": "severe", **SEVERE},
        {"functional_impairment": "severe", "substance_use_severity": "moderate"},
    ),
    "step_down.after_residential_with_support": (
        {**AFTER_RESIDENTIAL, "support_system": "limited"},
        {**AFTER_RESIDENTIAL, "support_system": "none"},
    ),
    "step_down.after_residential_without_support": (
        {**AFTER_RESIDENTIAL, "support_system": "none"},
        {**AFTER_RESIDENTIAL, "support_system": "limited"},
    ),
    "step_down.ready_for_standard_outpatient": ({}, {"recovery_plan_established": False}),
    "step_down.no_recovery_plan": ({"recovery_plan_established": False}, {}),
    "feasibility.inpatient_not_accessible": (
        {**SEVERE, "inpatient_accessible": False},
        {**SEVERE, "inpatient_accessible": True},
    ),
    "feasibility.inpatient_conflicts_with_obligations": (
        {**SEVERE, "obligations": ["caregiving"]},
        {**SEVERE, "obligations": []},
    ),
    "feasibility.too_few_hours_for_iop": (
        {"substance_use_severity": "moderate", "available_hours_per_week": 8},
        {"substance_use_severity": "moderate", "available_hours_per_week": 9},
    ),
}


def _fired(engine: PlacementEngine, changes: dict[str, Any]) -> set[str]:
    return {reason.rule_id for reason in engine.recommend(assessment(**changes)).reasons}


def test_every_bundled_rule_has_a_trigger(engine: PlacementEngine) -> None:
    assert set(TRIGGERS) == {rule.id for rule in engine.rule_set.rules}


def test_baseline_is_low_risk(engine: PlacementEngine) -> None:
    assert _fired(engine, {}) == {"step_down.ready_for_standard_outpatient"}
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
    assert str(rule.source) == reason.source
    for document in rule.source.documents:
        assert document in reason.source
