"""Explanations: deciding and supporting reasons, why not more intensive, what would change it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from helpers import assessment, copy_rules
from iop_placement import (
    Assessment,
    Counterfactual,
    Explanation,
    InvalidAssessment,
    LevelOfCare,
    PlacementEngine,
    explain,
    recommend,
)
from iop_placement._analysis.explain.modifiable import goal_options, modifiable_goals
from iop_placement._model.assessment import MODIFIABLE_TO
from iop_placement._model.labels import in_sentence

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SECRET = "Jane Doe, DOB 1980-01-01"
# The contract of modifiability: treatment or circumstances can change these answers, never
# severity, history, functioning or the practical (feasibility) answers.
MODIFIABLE = {
    "detox_status": ("completed",),
    "co_occurring_mental_health": ("stable",),
    "home_environment": ("supportive", "stable"),
    "support_system": ("strong", "limited"),
    "suicide_risk": ("none", "ideation"),
    "motivation": ("high", "ambivalent"),
    "medically_unstable": (False,),
    "recovery_plan_established": (True,),
    "recovery_residence": ("residing", "arranged"),
    "addiction_medication": ("receiving",),
}


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return data


def test_modifiable_fields_are_declared_once_in_the_model() -> None:
    assert dict(modifiable_goals()) == MODIFIABLE
    schema = Assessment.model_json_schema()["properties"]
    declared = {name: tuple(p[MODIFIABLE_TO]) for name, p in schema.items() if MODIFIABLE_TO in p}
    assert declared == MODIFIABLE
    for never in ("substance_use_severity", "relapse_history", "completed_residential"):
        assert never not in declared


def test_goal_options_offer_only_lower_risk_goals_nearest_first() -> None:
    values = Assessment.model_validate(
        assessment(
            detox_status="not_needed",
            home_environment="homeless",
            support_system="limited",
            suicide_risk="imminent",
        )
    ).values()
    options = goal_options(values)
    assert "detox_status" not in options  # completed and not needed are not ordered
    assert options["home_environment"] == ("stable", "supportive")  # nearest first
    assert options["support_system"] == ("strong",)
    assert options["suicide_risk"] == ("ideation", "none")
    assert "motivation" not in options  # already high


def test_explanation_carries_the_recommendation() -> None:
    data = load("intensive_outpatient")
    ex = explain(data)
    assert isinstance(ex, Explanation)
    assert ex.recommendation == recommend(data)
    assert ex.deciding
    assert all(r.level == ex.recommendation.level for r in ex.deciding)
    assert all(r.level != ex.recommendation.level for r in ex.supporting)
    assert {r.rule_id for r in ex.deciding + ex.supporting} == {
        r.rule_id for r in ex.recommendation.reasons
    }


def test_explanation_round_trips_through_json() -> None:
    ex = explain(load("crisis"))
    again = Explanation.model_validate_json(ex.model_dump_json())
    assert again == ex
    assert again.to_text() == ex.to_text()


def test_why_not_lists_every_inpatient_rule_for_an_iop_case(engine: PlacementEngine) -> None:
    ex = engine.explain(load("intensive_outpatient"))
    assert ex.why_not_level is LevelOfCare.INPATIENT
    inpatient_rules = {r.id for r in engine.rule_set.rules if r.then.level is LevelOfCare.INPATIENT}
    assert {m.rule_id for m in ex.why_not} == inpatient_rules
    # Through the two stages: the placement rule did not find the rating, and the rating
    # rules say which answers would give it.
    relapse = next(m for m in ex.why_not if m.rule_id == "placement.relapse_needs_24_hour_care")
    assert relapse.unmet == {"rating.relapse_potential": (3, 4)}
    assert relapse.current == {"rating.relapse_potential": 2}
    chronic = next(t for t in relapse.through if t.rule_id == "relapse.chronic_history")
    assert chronic.unmet == {"prior_iop_failed": (True,), "relapse_history": ("frequent",)}
    assert chronic.current == {"prior_iop_failed": False, "relapse_history": "occasional"}
    text = ex.to_text()
    assert "rating of relapse and continued use is 2 (moderate), not 3 to 4" in text
    assert "A higher rating would come from" in text
    distances = [len(m.unmet) for m in ex.why_not]
    assert distances == sorted(distances), "nearest misses first"


def test_why_not_shows_equally_near_ways(tmp_path: Path) -> None:
    # A rule that holds with no support or with low motivation misses by one answer either way.
    def either(data: dict[str, Any]) -> None:
        rule = dict(data["rules"][0])
        rule["id"] = "support.either"
        rule["when"] = {
            "any": [
                {"field": "support_system", "is": "none"},
                {"field": "motivation", "is": "low"},
            ]
        }
        rule["then"] = {"level": "intensive_outpatient"}
        data["rules"].append(rule)

    custom = PlacementEngine.from_directory(
        str(copy_rules(tmp_path / "r", ("support.json", either)))
    )
    ex = custom.explain(assessment())
    assert ex.why_not_level is LevelOfCare.INTENSIVE_OUTPATIENT
    miss = next(m for m in ex.why_not if m.rule_id == "support.either")
    ways = [miss.unmet, *miss.other_ways]
    assert {"support_system": ("none",)} in ways
    assert {"motivation": ("low",)} in ways


def test_nothing_is_more_intensive_than_inpatient() -> None:
    ex = explain(load("crisis"))
    assert ex.why_not_level is None
    assert ex.why_not == ()
    assert "Inpatient / residential is the most intensive level." in ex.to_text()


def test_completed_detox_is_the_goal_that_lowers_a_withdrawal_case() -> None:
    ex = explain(assessment(detox_status="needed", recovery_plan_established=False))
    assert ex.recommendation.level is LevelOfCare.INPATIENT
    assert ex.what_would_change[0] == Counterfactual(
        changes={"detox_status": "completed"},
        level=LevelOfCare.STANDARD_OUTPATIENT,
        previous={"detox_status": "needed"},
    )
    text = ex.to_text()
    assert "Standard outpatient would fit once:" in text
    assert "detox status: Completed (now Needed)" in text
    assert "treatment-planning goals" in text
    assert "not answers to record" in text


def test_two_goals_together_when_neither_is_enough_alone() -> None:
    ex = explain(load("crisis"))
    assert [dict(c.changes) for c in ex.what_would_change] == [
        {"co_occurring_mental_health": "stable", "suicide_risk": "ideation"}
    ]
    for single in ({"co_occurring_mental_health": "stable"}, {"suicide_risk": "ideation"}):
        assert recommend({**load("crisis"), **single}).level is LevelOfCare.INPATIENT


def test_no_goal_for_answers_treatment_does_not_change() -> None:
    ex = explain(assessment(substance_use_severity="severe", prior_iop_failed=True))
    assert ex.recommendation.level is LevelOfCare.INPATIENT
    assert ex.what_would_change == ()
    assert (
        "The level rests on: substance use severity, current use, completed residential"
        " treatment, prior IOP failed." in " ".join(ex.to_text().split())
    )


def test_standard_outpatient_has_nothing_lower() -> None:
    ex = explain(assessment())
    assert ex.recommendation.level is LevelOfCare.STANDARD_OUTPATIENT
    assert ex.what_would_change == ()
    assert "Standard outpatient is the least intensive level." in ex.to_text()


def test_at_most_a_handful_smallest_first() -> None:
    worst = assessment(
        detox_status="needed",
        home_environment="homeless",
        support_system="none",
        motivation="low",
        recovery_plan_established=False,
    )
    ex = explain(worst)
    sizes = [len(c.changes) for c in ex.what_would_change]
    assert 0 < len(sizes) <= 5
    assert sizes == sorted(sizes)
    assert len(explain_with_limit(worst, 2).what_would_change) <= 2


def explain_with_limit(data: dict[str, Any], limit: int) -> Explanation:
    from iop_placement import default_engine

    return default_engine().explain(data, max_counterfactuals=limit)


def test_custom_rule_set_explains_with_its_own_rules(tmp_path: Path) -> None:
    """The counterfactuals come from the engine that is asked, not from the bundled rules."""
    target = copy_rules(tmp_path / "rules")
    path = target / "withdrawal.json"
    data = json.loads(path.read_text())
    # This rule set keeps withdrawal management inpatient even when detox is completed.
    data["rules"][0]["when"] = {
        "field": "detox_status",
        "in": ["needed", "in_progress", "completed"],
    }
    path.write_text(json.dumps(data))
    custom = PlacementEngine.from_directory(str(target))
    case = assessment(detox_status="needed", recovery_plan_established=False)
    assert explain(case).what_would_change
    assert custom.explain(case).what_would_change == ()


def test_invalid_input_raises_invalid_assessment_without_echo() -> None:
    with pytest.raises(InvalidAssessment) as caught:
        explain(assessment(motivation=SECRET))
    assert SECRET not in str(caught.value)


def test_near_miss_takes_the_nearest_way(tmp_path: Path) -> None:
    """Of two ways a rule can hold, the one needing fewer changes is the near miss."""
    from iop_placement import DEFAULT_RULES

    target = tmp_path / "rules"
    target.mkdir()
    for entry in DEFAULT_RULES.iterdir():
        if entry.name.endswith(".json"):
            (target / entry.name).write_bytes(entry.read_bytes())
    path = target / "support.json"
    data = json.loads(path.read_text())
    rule = dict(data["rules"][0])
    rule["then"] = {"level": "intensive_outpatient"}
    rule["id"] = "support.two_ways"
    rule["when"] = {
        "any": [
            {
                "all": [
                    {"field": "substance_use_severity", "is": "severe"},
                    {"field": "home_environment", "is": "toxic"},
                ]
            },
            {"not": {"field": "motivation", "in": ["high", "ambivalent"]}},
        ]
    }
    data["rules"].append(rule)
    path.write_text(json.dumps(data))
    ex = PlacementEngine.from_directory(str(target)).explain(assessment())
    miss = next(m for m in ex.why_not if m.rule_id == "support.two_ways")
    assert miss.unmet == {"motivation": ("low",)}
    assert miss.other_ways == ()
    assert miss.current == {"motivation": "high"}


def test_ways_of_a_number_condition_are_ranges() -> None:
    from iop_placement._analysis.explain.near_miss import ways_to_hold
    from iop_placement._model.explanation import _answers
    from iop_placement._model.fields import field_specs
    from iop_placement._rules.conditions import Comparison
    from iop_placement._rules.normal_form import normal_form

    specs = field_specs()
    test = Comparison.model_validate({"field": "available_hours_per_week", "ge": 9})
    (way,) = ways_to_hold(normal_form(test, specs, negate=True), specs)
    assert way == {"available_hours_per_week": frozenset(range(9))}
    spec = specs["available_hours_per_week"]
    assert _answers(spec, (0, 1, 2, 3, 20, 21, 168)) == "0 to 3, 20 to 21 or 168"


def test_titles_inside_sentences_keep_their_acronyms() -> None:
    # "Prior IOP failed" reads "prior IOP failed" inside a sentence, not "prior iop failed".
    ex = explain(assessment(substance_use_severity="severe", prior_iop_failed=True))
    for text in (ex.to_text(), ex.to_text("es"), ex.to_markdown()):
        assert "IOP" in text
        assert re.search(r"(?<![\w.-])iop(?![\w-])", text) is None  # rule ids aside
    assert in_sentence("Prior IOP failed") == "prior IOP failed"
    assert in_sentence("Rating of A") == "rating of a"
