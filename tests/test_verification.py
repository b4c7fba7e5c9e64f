"""The verifier: the bundled rules hold every invariant; broken copies are caught.

Both methods run on the same planted defects: the symbolic proof (Z3) over every
assessment, and the enumeration over the grid of required fields (optional ones absent).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from helpers import assessment, copy_rules
from iop_placement import DEFAULT_RULES, Flag, PlacementEngine
from iop_placement.cli import main
from iop_placement.reference import ReferenceEvaluator
from iop_placement.verification import (
    METHODS,
    VerificationReport,
    verify_reference,
    verify_rules,
)

OLD_RULES = Path(__file__).parent / "data" / "rules-1.0.0"


def rule(data: dict[str, Any], rule_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(r for r in data["rules"] if r["id"] == rule_id)
    return found


def extra_rule(rule_id: str, when: dict[str, Any], then: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": rule_id,
        "title": "t",
        "text": "t",
        "when": when,
        "then": then,
        "source": {"practice": "test", "reading": "test"},
    }


@pytest.fixture(scope="module", params=METHODS)
def bundled(request: pytest.FixtureRequest) -> VerificationReport:
    return verify_rules(DEFAULT_RULES, method=request.param)


def test_bundled_rules_hold_every_invariant(bundled: VerificationReport) -> None:
    assert bundled.violations == []
    assert bundled.lint == []
    assert bundled.ok


def test_the_space_each_method_covers(bundled: VerificationReport) -> None:
    if bundled.method == "symbolic":
        # Every answer of every field, absent ones included, hours 0-168, any obligations.
        # The v1 choices (with co-occurring 'active'), v2 and v3 optional fields, hours,
        # obligations.
        assert bundled.points == 4_976_640 * 4 * 4 * 3 * 3 * 4 * 4 * 3 * 169 * 16
        assert bundled.queries > 0
    else:
        # Every required choice and true/false answer; hours at the rules' thresholds.
        assert bundled.combinations == 4_976_640
        assert bundled.points > bundled.combinations


# --- planted defects, each caught by both methods --------------------------------------


def non_monotone_rating(data: dict[str, Any]) -> None:
    # Relapse potential 2 with no relapse at all; an occasional relapse then lowers it.
    rule(data, "relapse.occasional").update(
        when={"field": "relapse_history", "is": "none"},
        then={"rating": {"dimension": "relapse_potential", "value": 2}},
    )


def narrowed_safety(data: dict[str, Any]) -> None:
    rule(data, "safety.imminent_suicide_risk")["when"] = {
        "all": [
            {"field": "suicide_risk", "is": "imminent"},
            {"field": "motivation", "is": "low"},
        ]
    }


def alternative_with_crisis(data: dict[str, Any]) -> None:
    rule(data, "safety.imminent_suicide_risk")["then"]["flags"] = []
    data["rules"].append(
        extra_rule(
            "safety.offer_iop",
            {"field": "suicide_risk", "is": "imminent"},
            {
                "flags": ["crisis"],
                "alternative": {"level": "intensive_outpatient", "conditions": ["x"]},
            },
        )
    )


def feasibility_in_a_rating(data: dict[str, Any]) -> None:
    rule(data, "readiness.ambivalent")["when"] = {
        "any": [
            {"field": "motivation", "is": "ambivalent"},
            {"field": "available_hours_per_week", "lt": 3},
        ]
    }


def report_for(tmp_path: Path, method: str, *changes: Any) -> VerificationReport:
    return verify_rules(str(copy_rules(tmp_path / "r", *changes)), method=method)


@pytest.mark.parametrize("method", METHODS)
def test_a_non_monotone_rating_is_caught(tmp_path: Path, method: str) -> None:
    report = report_for(tmp_path, method, ("relapse.json", non_monotone_rating))
    found = [f for f in report.violations if f.kind == "monotone"]
    rating = next(f for f in found if "rating of relapse_potential" in f.message)
    assert "relapse_history from 'none' to 'occasional'" in rating.message
    assert rating.example is not None
    assert rating.worsened is not None
    assert rating.example["relapse_history"] == "none"
    assert rating.worsened["relapse_history"] == "occasional"
    # minimal: every other risk answer at its lowest
    assert rating.example["suicide_risk"] == "none"
    assert rating.example["home_environment"] == "supportive"
    assert any("lowers the level" in f.message for f in found)


@pytest.mark.parametrize("method", METHODS)
def test_a_narrowed_safety_rule_is_caught(tmp_path: Path, method: str) -> None:
    report = report_for(tmp_path, method, ("safety.json", narrowed_safety))
    messages = {f.kind: f.message for f in report.violations}
    assert messages["flag-definition"] == "crisis is not raised when suicide_risk is 'imminent'"
    assert messages["safety"] == "crisis below inpatient"
    example = next(f.example for f in report.violations if f.kind == "flag-definition")
    assert example is not None
    assert example["suicide_risk"] == "imminent"
    assert example["motivation"] != "low"


@pytest.mark.parametrize("method", METHODS)
def test_an_alternative_offered_with_crisis_is_caught(tmp_path: Path, method: str) -> None:
    def unblock(data: dict[str, Any]) -> None:
        data["safety_override"]["flags"].remove("crisis")

    report = report_for(
        tmp_path, method, ("safety.json", alternative_with_crisis), ("ruleset.json", unblock)
    )
    alternatives = [f for f in report.violations if f.kind == "alternative"]
    assert [f.message for f in alternatives] == ["an alternative is offered with crisis"]
    assert "safety.offer_iop" in alternatives[0].rule_ids


@pytest.mark.parametrize("method", METHODS)
def test_a_feasibility_field_leaking_into_a_rating_is_caught(tmp_path: Path, method: str) -> None:
    broken = copy_rules(tmp_path / "r", ("readiness.json", feasibility_in_a_rating))
    # The loader refuses it outright...
    refused = verify_rules(str(broken), method=method)
    assert [f.kind for f in refused.violations] == ["rule-file"]
    assert "available_hours_per_week" in refused.violations[0].message
    # ...and the verifier, given the data as it is, finds the leak on its own.
    report = verify_reference(ReferenceEvaluator.from_directory(str(broken)), method=method)
    leaks = [f for f in report.violations if f.kind == "feasibility"]
    assert leaks
    assert any(
        f.message == "available_hours_per_week changes the rating of readiness_to_change"
        for f in leaks
    )


def housing_only_with_iop(data: dict[str, Any]) -> None:
    # The rule raising housing_needed also supports intensive outpatient: the loader accepts
    # it, and under the safety override (inpatient) the engine no longer shows the flag.
    for found in data["rules"]:
        if "housing_needed" in found["then"].get("flags", ()):
            found["then"]["level"] = "intensive_outpatient"


@pytest.mark.parametrize("method", METHODS)
def test_a_flag_dropped_by_the_safety_override_is_caught(tmp_path: Path, method: str) -> None:
    broken = copy_rules(tmp_path / "r", ("environment.json", housing_only_with_iop))
    # The engine does drop it: the proof must be about what the engine shows.
    crisis = assessment(
        suicide_risk="imminent", home_environment="homeless", recovery_residence="none"
    )
    shown = PlacementEngine.from_directory(broken).recommend(crisis)
    assert Flag.HOUSING_NEEDED not in shown.flags

    report = verify_rules(str(broken), method=method)
    dropped = [f for f in report.violations if f.kind == "flag-definition"]
    assert [f.message.split(" ")[:3] for f in dropped] == [["housing_needed", "is", "not"]]
    assert dropped[0].example is not None
    oracle = ReferenceEvaluator.from_directory(str(broken))
    assert "housing_needed" not in oracle.evaluate(dropped[0].example).flags


def test_lint_finds_rules_that_never_fire_or_never_matter(tmp_path: Path) -> None:
    def add(data: dict[str, Any]) -> None:
        data["rules"].append(
            extra_rule(
                "safety.shadowed",
                {"field": "medically_unstable", "is": True},
                {"rating": {"dimension": "biomedical", "value": 2}},
            )
        )
        impossible = {
            "all": [
                {"field": "suicide_risk", "is": "imminent"},
                {"field": "suicide_risk", "is": "none"},
            ]
        }
        data["rules"].append(extra_rule("safety.never", impossible, {"flags": ["crisis"]}))

    report = verify_rules(str(copy_rules(tmp_path / "r", ("safety.json", add))))
    lint = {f.kind: f for f in report.lint}
    assert lint["never-fires"].rule_ids == ("safety.never",)
    assert lint["shadowed"].rule_ids[0] == "safety.shadowed"
    assert "safety.medically_unstable" in lint["shadowed"].rule_ids


def test_rule_set_1_0_0_misses_the_v2_flags() -> None:
    # The old rule set knows neither recent overdose nor housing, nor the v3 'active' value.
    report = verify_rules(str(OLD_RULES))
    definitions = [f for f in report.violations if f.kind == "flag-definition"]
    assert {f.message.split(" ")[0] for f in definitions} == {"overdose_risk", "housing_needed"}
    others = [f for f in report.violations if f.kind != "flag-definition"]
    assert [f.kind for f in others] == ["monotone"]
    assert "co_occurring_mental_health from 'stable' to 'active'" in others[0].message


def test_rule_set_2_0_0_misses_the_v3_safety_case() -> None:
    # 2.0.0 knows no complicated withdrawal history: v3's safety invariant catches it.
    report = verify_rules(str(Path(__file__).parent / "data" / "rules-2.0.0"))
    assert "safety" in {f.kind for f in report.violations}
    assert any("seizures or delirium" in f.message for f in report.violations)


def test_a_malformed_rule_file_is_a_violation(tmp_path: Path) -> None:
    def unknown_field(data: dict[str, Any]) -> None:
        rule(data, "safety.medically_unstable")["when"] = {"field": "blood_pressure", "gt": 3}

    report = verify_rules(str(copy_rules(tmp_path / "r", ("safety.json", unknown_field))))
    assert [f.kind for f in report.violations] == ["rule-file"]
    assert report.violations[0].rule_ids == ("safety.medically_unstable",)
    assert "blood_pressure" in report.violations[0].message


def test_an_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="method must be one of symbolic, enumeration"):
        verify_rules(DEFAULT_RULES, method="guessing")


def test_verify_command(tmp_path: Path) -> None:
    out = io.StringIO()
    assert main(["verify"], stdout=out) == 0
    assert "0 violations, 0 lint findings" in out.getvalue()

    broken = copy_rules(tmp_path / "r", ("relapse.json", non_monotone_rating))
    out = io.StringIO()
    assert main(["verify", str(broken), "--method", "enumeration"], stdout=out) == 1
    text = out.getvalue()
    assert "[monotone] worsening relapse_history from 'none' to 'occasional'" in text
    assert "FAILED" in text
