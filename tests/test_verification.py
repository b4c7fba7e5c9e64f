"""The exhaustive verifier: the bundled rules hold every invariant; broken copies are caught."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from helpers import copy_rules
from iop_placement import DEFAULT_RULES
from iop_placement.cli import main
from iop_placement.verification import VerificationReport, verify_rules


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


@pytest.fixture(scope="module")
def bundled() -> VerificationReport:
    return verify_rules(DEFAULT_RULES)


def test_bundled_rules_hold_every_invariant(bundled: VerificationReport) -> None:
    assert bundled.violations == []
    assert bundled.lint == []
    assert bundled.ok


def test_the_whole_space_is_covered(bundled: VerificationReport) -> None:
    # 3*4*3*5*3*3*4*3*2*3*2*2*2*2*2 choice/true-false combinations; hours at 0, 8, 9, 10,
    # 168 (the threshold 9 from the rules, one either side, the range ends); obligations
    # as none or some (the only pattern the rules can see).
    assert bundled.combinations == 3_732_480
    assert bundled.points == 3_732_480 // 2 * 5 * 2 * 2


def test_a_rule_that_lowers_the_level_when_severity_worsens(tmp_path: Path) -> None:
    def moderate_to_inpatient(data: dict[str, Any]) -> None:
        rule(data, "severity.severe_before_residential")["when"]["all"][0]["is"] = "moderate"

    report = verify_rules(str(copy_rules(tmp_path / "r", ("severity.json", moderate_to_inpatient))))
    monotone = [f for f in report.violations if f.kind == "monotone"]
    first = next(f for f in monotone if "substance_use_severity" in f.message)
    assert "from 'moderate' to 'severe'" in first.message
    assert "severity.severe_before_residential" in first.rule_ids
    assert first.example is not None
    assert first.worsened is not None
    assert first.example["substance_use_severity"] == "moderate"
    assert first.worsened["substance_use_severity"] == "severe"
    # minimal: every other risk answer is at its lowest
    assert first.example["suicide_risk"] == "none"
    assert first.example["home_environment"] == "supportive"
    assert not report.ok


def test_safety_alternative_and_lint_findings(tmp_path: Path) -> None:
    def break_safety(data: dict[str, Any]) -> None:
        rule(data, "safety.imminent_suicide_risk")["then"] = {"flags": ["crisis"]}
        data["rules"].append(
            extra_rule(
                "safety.shadowed",
                {"field": "medically_unstable", "is": True},
                {"level": "intensive_outpatient"},
            )
        )
        impossible = {
            "all": [
                {"field": "suicide_risk", "is": "imminent"},
                {"field": "suicide_risk", "is": "none"},
            ]
        }
        data["rules"].append(extra_rule("safety.never", impossible, {"level": "inpatient"}))

    def unblock(data: dict[str, Any]) -> None:
        data["alternative_blocked_by_flags"] = []

    def unmap(data: dict[str, Any]) -> None:
        # The ASAM crosswalk maps only rules that set a level.
        data["rules"].pop("safety.imminent_suicide_risk", None)

    changes = (("safety.json", break_safety), ("ruleset.json", unblock), ("asam.json", unmap))
    report = verify_rules(str(copy_rules(tmp_path / "r", *changes)))
    kinds = {(f.kind, f.message.split(";")[0]) for f in report.violations}
    assert (
        "safety",
        "crisis, withdrawal management or medical instability below inpatient",
    ) in kinds
    assert ("alternative", "an alternative is offered with a safety concern") in kinds
    safety = next(f for f in report.violations if f.kind == "safety")
    assert safety.example is not None
    lint = {f.kind: f for f in report.lint}
    assert lint["never-fires"].rule_ids == ("safety.never",)
    assert lint["shadowed"].rule_ids[0] == "safety.shadowed"
    assert "safety.medically_unstable" in lint["shadowed"].rule_ids


def test_a_malformed_rule_file_is_a_violation(tmp_path: Path) -> None:
    def unknown_field(data: dict[str, Any]) -> None:
        rule(data, "safety.medically_unstable")["when"] = {"field": "blood_pressure", "gt": 3}

    report = verify_rules(str(copy_rules(tmp_path / "r", ("safety.json", unknown_field))))
    assert [f.kind for f in report.violations] == ["rule-file"]
    assert report.violations[0].rule_ids == ("safety.medically_unstable",)
    assert "blood_pressure" in report.violations[0].message


def test_verify_command(tmp_path: Path) -> None:
    out = io.StringIO()
    assert main(["verify"], stdout=out) == 0
    assert "0 violations, 0 lint findings" in out.getvalue()

    def unstable_not_toxic(data: dict[str, Any]) -> None:
        rule(data, "environment.toxic_or_homeless")["when"] = {
            "field": "home_environment",
            "is": "unstable",
        }

    broken = copy_rules(tmp_path / "r", ("environment.json", unstable_not_toxic))
    out = io.StringIO()
    assert main(["verify", str(broken)], stdout=out) == 1
    text = out.getvalue()
    assert "[monotone] worsening home_environment from 'unstable' to 'toxic'" in text
    assert "FAILED" in text


def test_a_rule_set_that_stops_raising_crisis_is_caught(tmp_path: Path) -> None:
    # The imminent-risk rule now needs low motivation too: imminent risk alone gets no
    # crisis flag and no inpatient level. Checking only "crisis flag => inpatient" misses it.
    def narrow(data: dict[str, Any]) -> None:
        rule(data, "safety.imminent_suicide_risk")["when"] = {
            "all": [
                {"field": "suicide_risk", "is": "imminent"},
                {"field": "motivation", "is": "low"},
            ]
        }

    report = verify_rules(str(copy_rules(tmp_path / "r", ("safety.json", narrow))))
    messages = {f.kind: f.message for f in report.violations}
    assert messages["flag-definition"] == "crisis is not raised when suicide_risk is 'imminent'"
    assert "safety" in messages
    example = next(f.example for f in report.violations if f.kind == "flag-definition")
    assert example is not None
    assert example["suicide_risk"] == "imminent"
    assert example["motivation"] != "low"
