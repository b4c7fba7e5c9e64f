"""The verifier: the bundled rules hold every invariant; broken copies are caught.

Both methods run on the same planted defects, over every assessment: the symbolic proof
(Z3) over the rule files as the reference reads them, and the decision diagrams of the
policy the engine ships. Each planted copy is verified once per method (``planted``), and
the two methods must report the same findings on every one.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpers import assessment, copy_rules, run
from iop_placement import DEFAULT_RULES, Flag, PlacementEngine
from iop_placement._model.assessment import RISK_ORDERS
from iop_placement._model.fields import field_specs
from iop_placement._rules.operators import same
from iop_placement._rules.risk import risk_depths
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
    # Every answer of every field, absent ones included, hours 0-168, any obligations.
    # The v1 choices (with co-occurring 'active'), v2 and v3 optional fields, hours,
    # obligations.
    assert bundled.points == 4_976_640 * 4 * 4 * 3 * 3 * 4 * 4 * 3 * 169 * 16
    assert bundled.combinations == 4_976_640 * 4 * 4 * 3 * 3 * 4 * 4 * 3
    if bundled.method == "symbolic":
        assert bundled.queries > 0
    else:
        assert bundled.nodes > 0
        assert "decision diagrams" in bundled.summary()


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


def unblock(data: dict[str, Any]) -> None:
    data["safety_override"]["flags"].remove("crisis")


def housing_only_with_iop(data: dict[str, Any]) -> None:
    # The rule raising housing_needed also supports intensive outpatient: the loader accepts
    # it, and under the safety override (inpatient) the engine no longer shows the flag.
    for found in data["rules"]:
        if "housing_needed" in found["then"].get("flags", ()):
            found["then"]["level"] = "intensive_outpatient"


def shadowed_and_never(data: dict[str, Any]) -> None:
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


# Each planted defect: the (file, edit) changes to a copy of the bundled rules.
PLANTED: dict[str, tuple[tuple[str, Any], ...]] = {
    "non-monotone rating": (("relapse.json", non_monotone_rating),),
    "narrowed safety": (("safety.json", narrowed_safety),),
    "alternative with crisis": (
        ("safety.json", alternative_with_crisis),
        ("ruleset.json", unblock),
    ),
    "feasibility in a rating": (("readiness.json", feasibility_in_a_rating),),
    "housing flag dropped": (("environment.json", housing_only_with_iop),),
    "shadowed and never": (("safety.json", shadowed_and_never),),
}
OLD_RULE_SETS = {"rules 1.0.0": OLD_RULES, "rules 2.0.0": OLD_RULES.parent / "rules-2.0.0"}

Planted = Callable[[str, str], VerificationReport]


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Planted:
    """The report of one method on one planted defect or old rule set, verified once."""
    reports: dict[tuple[str, str], VerificationReport] = {}

    def report(case: str, method: str) -> VerificationReport:
        if (case, method) not in reports:
            if case in OLD_RULE_SETS:
                reports[case, method] = verify_rules(str(OLD_RULE_SETS[case]), method=method)
            else:
                directory = tmp_path_factory.mktemp("planted") / "r"
                copy_rules(directory, *PLANTED[case])
                # The loader refuses the feasibility leak: its data is verified as it is.
                reports[case, method] = (
                    verify_reference(
                        ReferenceEvaluator.from_directory(str(directory)), method=method
                    )
                    if case == "feasibility in a rating"
                    else verify_rules(str(directory), method=method)
                )
        return reports[case, method]

    return report


@pytest.mark.parametrize("method", METHODS)
def test_a_non_monotone_rating_is_caught(planted: Planted, method: str) -> None:
    report = planted("non-monotone rating", method)
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
def test_a_narrowed_safety_rule_is_caught(planted: Planted, method: str) -> None:
    report = planted("narrowed safety", method)
    messages = {f.kind: f.message for f in report.violations}
    assert messages["flag-definition"] == "crisis is not raised when suicide_risk is 'imminent'"
    assert messages["safety"] == "crisis below inpatient"
    example = next(f.example for f in report.violations if f.kind == "flag-definition")
    assert example is not None
    assert example["suicide_risk"] == "imminent"
    assert example["motivation"] != "low"


@pytest.mark.parametrize("method", METHODS)
def test_an_alternative_offered_with_crisis_is_caught(planted: Planted, method: str) -> None:
    report = planted("alternative with crisis", method)
    alternatives = [f for f in report.violations if f.kind == "alternative"]
    assert [f.message for f in alternatives] == ["an alternative is offered with crisis"]
    assert "safety.offer_iop" in alternatives[0].rule_ids


@pytest.mark.parametrize("method", METHODS)
def test_a_feasibility_field_leaking_into_a_rating_is_caught(
    tmp_path: Path, planted: Planted, method: str
) -> None:
    broken = copy_rules(tmp_path / "r", ("readiness.json", feasibility_in_a_rating))
    # The loader refuses it outright...
    refused = verify_rules(str(broken), method=method)
    assert [f.kind for f in refused.violations] == ["rule-file"]
    assert "available_hours_per_week" in refused.violations[0].message
    # ...and the verifier, given the data as it is, finds the leak on its own.
    report = planted("feasibility in a rating", method)
    leaks = [f for f in report.violations if f.kind == "feasibility"]
    assert leaks
    assert any(
        f.message == "available_hours_per_week changes the rating of readiness_to_change"
        for f in leaks
    )


@pytest.mark.parametrize("method", METHODS)
def test_a_flag_dropped_by_the_safety_override_is_caught(
    tmp_path: Path, planted: Planted, method: str
) -> None:
    broken = copy_rules(tmp_path / "r", ("environment.json", housing_only_with_iop))
    # The engine does drop it: the proof must be about what the engine shows.
    crisis = assessment(
        suicide_risk="imminent", home_environment="homeless", recovery_residence="none"
    )
    shown = PlacementEngine.from_directory(broken).recommend(crisis)
    assert Flag.HOUSING_NEEDED not in shown.flags

    report = planted("housing flag dropped", method)
    dropped = [f for f in report.violations if f.kind == "flag-definition"]
    assert [f.message.split(" ")[:3] for f in dropped] == [["housing_needed", "is", "not"]]
    assert dropped[0].example is not None
    oracle = ReferenceEvaluator.from_directory(str(broken))
    assert "housing_needed" not in oracle.evaluate(dropped[0].example).flags


@pytest.mark.parametrize("method", METHODS)
def test_lint_finds_rules_that_never_fire_or_never_matter(planted: Planted, method: str) -> None:
    report = planted("shadowed and never", method)
    lint = {f.kind: f for f in report.lint}
    assert lint["never-fires"].rule_ids == ("safety.never",)
    assert lint["shadowed"].rule_ids[0] == "safety.shadowed"
    assert "safety.medically_unstable" in lint["shadowed"].rule_ids


@pytest.mark.parametrize("method", METHODS)
def test_rule_set_1_0_0_misses_the_v2_flags(planted: Planted, method: str) -> None:
    # The old rule set knows neither recent overdose nor housing, nor the v3 'active' value.
    report = planted("rules 1.0.0", method)
    definitions = [f for f in report.violations if f.kind == "flag-definition"]
    assert {f.message.split(" ")[0] for f in definitions} == {"overdose_risk", "housing_needed"}
    others = [f for f in report.violations if f.kind != "flag-definition"]
    assert [f.kind for f in others] == ["monotone"]
    assert "co_occurring_mental_health from 'stable' to 'active'" in others[0].message


@pytest.mark.parametrize("method", METHODS)
def test_rule_set_2_0_0_misses_the_v3_safety_case(planted: Planted, method: str) -> None:
    # 2.0.0 knows no complicated withdrawal history: v3's safety invariant catches it.
    report = planted("rules 2.0.0", method)
    assert "safety" in {f.kind for f in report.violations}
    assert any("seizures or delirium" in f.message for f in report.violations)


def test_a_malformed_rule_file_is_a_violation(tmp_path: Path) -> None:
    def unknown_field(data: dict[str, Any]) -> None:
        rule(data, "safety.medically_unstable")["when"] = {"field": "blood_pressure", "gt": 3}

    report = verify_rules(str(copy_rules(tmp_path / "r", ("safety.json", unknown_field))))
    assert [f.kind for f in report.violations] == ["rule-file"]
    assert report.violations[0].rule_ids == ("safety.medically_unstable",)
    assert "blood_pressure" in report.violations[0].message


@pytest.mark.parametrize("method", ["symbolic", "diagrams"])
def test_rule_data_the_rule_model_refuses_is_a_violation(tmp_path: Path, method: str) -> None:
    # verify_reference reads each rule with the rule model: data that is no rule at all is
    # reported, not raised (the Z3 encoding raised KeyError on an unknown field).
    def no_outcome(data: dict[str, Any]) -> None:
        rule(data, "safety.medically_unstable")["then"] = {}

    def unknown_field(data: dict[str, Any]) -> None:
        rule(data, "safety.medically_unstable")["when"] = {"field": "blood_pressure", "gt": 3}

    for name, change in (("a", no_outcome), ("b", unknown_field)):
        broken = copy_rules(tmp_path / name, ("safety.json", change))
        reference = ReferenceEvaluator.from_directory(str(broken))
        report = verify_reference(reference, method=method)
        assert [f.kind for f in report.violations] == ["rule-file"]
        assert "the rules do not read" in report.violations[0].message
    assert "safety.medically_unstable reads unknown fields: blood_pressure" in str(
        report.violations
    )


@pytest.mark.parametrize("case", [*PLANTED, *OLD_RULE_SETS])
def test_the_two_methods_report_the_same_findings(planted: Planted, case: str) -> None:
    # Two encodings written apart (Z3 over the reference's reading of the rule files, the
    # diagrams of the shipped policy) agree on every planted defect, message for message.
    symbolic, diagrams = planted(case, "symbolic"), planted(case, "diagrams")
    assert symbolic.violations or symbolic.lint
    for found in ("violations", "lint"):
        assert [(f.kind, f.message) for f in getattr(symbolic, found)] == [
            (f.kind, f.message) for f in getattr(diagrams, found)
        ]
    # Both give a least risky counterexample: the same fewest risk steps in all.
    findings = [*symbolic.violations, *symbolic.lint], [*diagrams.violations, *diagrams.lint]
    for by_z3, on_diagrams in zip(*findings, strict=True):
        assert risk_steps(by_z3.example) == risk_steps(on_diagrams.example)


def risk_steps(example: Any) -> int | None:
    """An assessment's answers' steps from the lowest risk, in all (a list: one per item)."""
    if example is None:
        return None
    total = 0
    for name, spec in field_specs().items():
        answer = example.get(name)
        if spec.kind == "choices":
            total += len(answer or ())
        elif spec.kind != "integer":
            depths = risk_depths(spec.answers, RISK_ORDERS.get(name, {}))
            total += next(d for a, d in zip(spec.answers, depths, strict=True) if same(a, answer))
    return total


def test_diagram_counterexamples_show_what_they_claim(planted: Planted) -> None:
    # Every counterexample of the diagrams, replayed on the engine and the reference.
    engine = PlacementEngine.from_directory(OLD_RULES)
    report = planted("rules 1.0.0", "diagrams")
    for finding in report.violations:
        assert finding.example is not None
        shown = engine.recommend(finding.example)
        if finding.kind == "flag-definition":
            flag = Flag.of(finding.message.split(" ")[0])
            assert flag not in shown.flags
        else:  # the monotone finding: the level drops from the example to the worsened one
            assert finding.worsened is not None
            worse = engine.recommend(finding.worsened)
            assert worse.level.rank < shown.level.rank
            assert set(finding.rule_ids) >= {r.rule_id for r in shown.deciding}


def test_an_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="method must be one of symbolic, diagrams"):
        verify_rules(DEFAULT_RULES, method="guessing")


def test_the_enumeration_is_deprecated_and_runs_the_diagrams() -> None:
    with pytest.warns(DeprecationWarning, match="'enumeration' is deprecated"):
        report = verify_rules(str(OLD_RULES), method="enumeration")
    assert report.method == "diagrams"
    assert "overdose_risk" in str(report.violations)


def test_verify_command(tmp_path: Path) -> None:
    broken = copy_rules(tmp_path / "r", ("relapse.json", non_monotone_rating))
    out = io.StringIO()
    assert main(["verify", str(broken), "--method", "diagrams"], stdout=out) == 1
    text = out.getvalue()
    assert "[monotone] worsening relapse_history from 'none' to 'occasional'" in text
    assert "decision diagrams" in text
    assert "FAILED" in text


def test_verify_command_both_and_the_deprecated_enumeration() -> None:
    code, out, _ = run("verify", "--method", "both")
    assert code == 0
    assert out.count("0 violations, 0 lint findings") == 2
    assert "Z3 queries" in out
    assert "decision diagrams" in out
    code, out, err = run("verify", str(OLD_RULES), "--method", "enumeration")
    assert code == 1
    assert "deprecated" in err
    assert "decision diagrams" in out
