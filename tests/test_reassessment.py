"""Reassessment: transitions from pairs of assessments, the rules as data, the invariants."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from iop_placement import LevelOfCare, recommend
from iop_placement.cds_hooks import reassessment_card
from iop_placement.cli import main
from iop_placement.reassessment import (
    InvalidReassessment,
    Transition,
    TransitionRules,
    load_transition_rules,
    reassess,
    verify_transitions,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return data


INPATIENT = load("inpatient_withdrawal")
IOP = load("step_down_after_residential")
CRISIS = load("crisis")
OUTPATIENT = load("standard_outpatient")


def test_improving_steps_down_with_justification() -> None:
    result = reassess(INPATIENT, IOP, current_level="inpatient", days_in_level=12)
    assert result.decision is Transition.STEP_DOWN
    assert result.target_level is LevelOfCare.INTENSIVE_OUTPATIENT
    assert result.justification
    assert result.not_yet_safe == ()
    assert result.deciding == ("transitions.step_down_criteria_lower",)
    assert any(d.delta < 0 for d in result.dimensions)
    assert "withdrawal.severe_or_unrated" in result.rules_released
    assert "step_down.after_residential" in result.rules_fired


def test_step_down_from_24_hour_care_does_not_wait_for_the_days() -> None:
    """A missing date is no clinical reason to keep someone in 24-hour care."""
    result = reassess(INPATIENT, IOP, current_level="inpatient")
    assert result.decision is Transition.STEP_DOWN
    assert result.deciding == ("transitions.step_down_criteria_lower",)


def test_worsening_steps_up() -> None:
    result = reassess(IOP, CRISIS, current_level="intensive_outpatient", days_in_level=20)
    assert result.decision is Transition.STEP_UP
    assert result.target_level is LevelOfCare.INPATIENT
    assert any(d.delta > 0 for d in result.dimensions)


def test_safety_flag_holds_a_step_down() -> None:
    # IOP recommended now, but with overdose risk raised: no step-down from inpatient.
    risky = {**IOP, "opioid_use_with_lost_tolerance": True}
    rec = recommend(risky)
    assert rec.level is LevelOfCare.INTENSIVE_OUTPATIENT
    result = reassess(INPATIENT, risky, current_level="inpatient", days_in_level=30)
    assert result.decision is Transition.CONTINUE
    assert "transitions.hold_safety_flag" in result.deciding


def test_worsening_holds_a_step_down_below_the_current_level() -> None:
    # In inpatient care by the clinician's choice; IOP recommended both times, one rating up.
    worse = {**IOP, "support_system": "none"}
    result = reassess(IOP, worse, current_level="inpatient", days_in_level=30)
    assert result.recommended_level.rank < LevelOfCare.INPATIENT.rank
    assert any(d.delta > 0 for d in result.dimensions)
    assert result.decision is Transition.CONTINUE
    assert "transitions.hold_worsening" in result.deciding


def test_same_level_continues_and_discharge_after_90_days() -> None:
    stable = reassess(OUTPATIENT, OUTPATIENT, current_level="standard_outpatient")
    assert stable.decision is Transition.CONTINUE
    low = {
        **OUTPATIENT,
        "substance_use_severity": "mild",
        "home_environment": "supportive",
        "support_system": "strong",
        "motivation": "high",
        "functional_impairment": "none",
        "use_status": "sustained_remission",
    }
    assert max(d.rating for d in recommend(low).dimensions) <= 1
    assert reassess(low, low, current_level="standard_outpatient", days_in_level=89).decision is (
        Transition.CONTINUE
    )
    done = reassess(low, low, current_level="standard_outpatient", days_in_level=90)
    assert done.decision is Transition.DISCHARGE
    assert done.justification


def test_recommendations_are_accepted_as_well_as_assessments() -> None:
    a = reassess(recommend(INPATIENT), recommend(IOP), current_level="inpatient", days_in_level=3)
    b = reassess(INPATIENT, IOP, current_level="inpatient", days_in_level=3)
    assert a == b


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"current_level": "detox"}, "current_level"),
        ({"current_level": "inpatient", "days_in_level": -1}, "days_in_level"),
        ({"current_level": "inpatient", "days_in_level": True}, "days_in_level"),
    ],
)
def test_bad_arguments_name_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidReassessment, match=field):
        reassess(INPATIENT, IOP, **kwargs)


def test_bundled_transition_rules_keep_the_invariants() -> None:
    report = verify_transitions(load_transition_rules())
    assert report.ok, report.violations
    assert report.cases > 10_000


def _without(rules: TransitionRules, rule_id: str) -> TransitionRules:
    kept = tuple(rule for rule in rules.rules if rule.id != rule_id)
    return rules.model_copy(update={"rules": kept})


@pytest.mark.parametrize(
    ("removed", "invariant"),
    [
        ("transitions.hold_safety_flag", "no_step_down_with_safety_flag"),
        ("transitions.hold_worsening", "no_step_down_on_worsening"),
    ],
)
def test_planted_defect_is_caught(removed: str, invariant: str) -> None:
    report = verify_transitions(_without(load_transition_rules(), removed), limit=1000)
    assert not report.ok
    assert any(v.startswith(invariant) for v in report.violations)


def test_planted_defect_in_precedence_is_caught() -> None:
    rules = load_transition_rules()
    wrong = rules.model_copy(
        update={
            "precedence": (
                Transition.STEP_UP,
                Transition.DISCHARGE,
                Transition.STEP_DOWN,
                Transition.CONTINUE,
            )
        }
    )
    assert not verify_transitions(wrong).ok


def test_a_bad_transition_file_is_refused(tmp_path: Path) -> None:
    data = json.loads((Path(__file__).parents[1] / "rules" / "transitions.json").read_text())
    data["rules"][0]["when"] = {"fact": "no_such_fact", "op": "eq", "value": 1}
    (tmp_path / "transitions.json").write_text(json.dumps(data))
    from iop_placement import RuleSetError

    with pytest.raises(RuleSetError, match=r"transitions\.json"):
        load_transition_rules(str(tmp_path))


def test_cli_plain_and_json(tmp_path: Path) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(INPATIENT))
    new.write_text(json.dumps(IOP))
    out, err = io.StringIO(), io.StringIO()
    argv = ["reassess", str(old), str(new), "--current-level", "inpatient", "--days", "12"]
    assert main(argv, stdout=out, stderr=err) == 0
    assert out.getvalue().startswith("Decision: Step down")
    out = io.StringIO()
    assert main([*argv, "--json"], stdout=out, stderr=err) == 0
    assert json.loads(out.getvalue())["decision"] == "step_down"
    assert main([*argv[:5], "--days", "-3"], stdout=io.StringIO(), stderr=err) == 1
    assert "days_in_level" in err.getvalue()


def test_cds_card_for_a_newer_intake() -> None:
    card = reassessment_card(reassess(IOP, CRISIS, current_level="intensive_outpatient"))
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("Newer intake: Step up")
    risky = {**IOP, "opioid_use_with_lost_tolerance": True}  # a safety flag holds a step-down
    result = reassess(INPATIENT, risky, current_level="inpatient", days_in_level=10)
    assert result.decision is Transition.CONTINUE
    assert "Not yet safe" in reassessment_card(result)["detail"]


def test_recommend_ignores_the_transition_family() -> None:
    # The placement rule set's hash is over its families only: transitions.json is not one.
    rec = recommend(IOP)
    families = {reason.rule_id.split(".")[0] for reason in rec.reasons}
    assert "transitions" not in families
    from iop_placement import default_engine

    assert "transitions" not in {f.family for f in default_engine().rule_set.files}


def test_verify_command_checks_the_transition_rules(tmp_path: Path) -> None:
    import shutil

    rules = Path(__file__).resolve().parents[1] / "rules"
    ok = io.StringIO()
    assert main(["verify"], stdout=ok, stderr=io.StringIO()) == 0
    assert "transition invariants" in ok.getvalue()
    planted = tmp_path / "rules"
    shutil.copytree(rules, planted)
    data = json.loads((planted / "transitions.json").read_text())
    data["rules"] = [r for r in data["rules"] if r["id"] != "transitions.hold_safety_flag"]
    (planted / "transitions.json").write_text(json.dumps(data))
    out = io.StringIO()
    assert main(["verify", str(planted)], stdout=out, stderr=io.StringIO()) == 1
    assert "no_step_down_with_safety_flag" in out.getvalue()
    assert "FAILED" in out.getvalue()
