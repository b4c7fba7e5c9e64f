"""The approximate ASAM correspondence: data in rules/asam.json, checked on load."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from helpers import assessment
from iop_placement import (
    DEFAULT_RULES,
    Assessment,
    LevelOfCare,
    PlacementEngine,
    Recommendation,
    RuleSetError,
    recommend,
)
from iop_placement._rules.ruleset import load_rule_set
from iop_placement.testing import assessments

Edit = Callable[[dict[str, Any]], None]


def _edit_asam(directory: Path, change: Edit) -> None:
    path = directory / "asam.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def _codes(rec: Recommendation, edition: str) -> list[str]:
    assert rec.asam is not None
    return [level.code for level in rec.asam.levels if level.edition == edition]


def test_standard_outpatient_is_level_1() -> None:
    rec = recommend(assessment())
    assert rec.level is LevelOfCare.STANDARD_OUTPATIENT
    assert (_codes(rec, "3rd"), _codes(rec, "4th")) == (["1"], ["1.5"])


def test_intensive_outpatient_is_level_2_1() -> None:
    rec = recommend(assessment(relapse_history="frequent"))
    assert rec.level is LevelOfCare.INTENSIVE_OUTPATIENT
    assert (_codes(rec, "3rd"), _codes(rec, "4th")) == (["2.1"], ["2.1"])
    assert rec.asam is not None
    assert {level.label for level in rec.asam.levels} == {
        "Intensive Outpatient Services",
        "Intensive Outpatient Treatment",
    }


@pytest.mark.parametrize(
    ("changes", "third", "fourth"),
    [
        ({"detox_status": "needed"}, ["3.7-WM", "4-WM"], ["3.7", "4"]),
        ({"medically_unstable": True}, ["3.7", "4"], ["3.7", "4"]),
        ({"suicide_risk": "imminent"}, ["3.7", "4"], ["3.7", "4"]),
        (
            {"home_environment": "toxic", "substance_use_severity": "moderate"},
            ["3.1", "3.5"],
            ["3.1", "3.5"],
        ),
        ({"substance_use_severity": "severe", "prior_iop_failed": True}, ["3.5"], ["3.5"]),
        (
            {"detox_status": "needed", "withdrawal_severity": "moderate", "support_system": "none"},
            ["3.2-WM", "3.7-WM"],
            ["3.5", "3.7"],
        ),
    ],
)
def test_inpatient_depends_on_the_deciding_reason(
    changes: dict[str, Any], third: list[str], fourth: list[str]
) -> None:
    rec = recommend(assessment(**changes))
    assert rec.level is LevelOfCare.INPATIENT
    assert (_codes(rec, "3rd"), _codes(rec, "4th")) == (third, fourth)


def test_each_level_names_its_deciding_rules() -> None:
    # A deciding placement rule that reads a rating stands for the rating rules behind it.
    rec = recommend(
        assessment(
            detox_status="needed", home_environment="toxic", substance_use_severity="moderate"
        )
    )
    assert rec.asam is not None
    by_code = {(level.edition, level.code): level.rule_ids for level in rec.asam.levels}
    # Withdrawal with a toxic home also decides through the no-safe-setting rule, listed itself.
    assert by_code[("3rd", "3.7-WM")] == (
        "withdrawal.severe_or_unrated",
        "placement.withdrawal_without_safe_setting",
    )
    assert by_code[("3rd", "3.1")] == ("environment.toxic_without_safe_housing",)
    assert recommend(assessment()).asam.levels[0].rule_ids == (  # type: ignore[union-attr]
        "placement.standard_outpatient",
    )


def test_labelled_approximate_and_serialised() -> None:
    rec = recommend(assessment(substance_use_severity="severe"))
    assert rec.asam is not None
    assert rec.asam.approximate is True
    assert "Approximate" in rec.asam.note
    dumped = rec.model_dump(mode="json")
    assert dumped["asam"]["approximate"] is True
    assert Recommendation.model_validate(dumped) == rec


@given(assessments())
def test_every_recommendation_states_both_editions(value: Assessment) -> None:
    rec = recommend(value)
    assert rec.asam is not None
    assert {level.edition for level in rec.asam.levels} == {"3rd", "4th"}
    deciding = {reason.rule_id for reason in rec.deciding}
    rated = {reason.rule_id for reason in rec.reasons if reason.dimension is not None}
    assert {rule for level in rec.asam.levels for rule in level.rule_ids} <= deciding | rated


def test_the_crosswalk_is_part_of_the_rule_set_hash(rules_dir: Path) -> None:
    original = load_rule_set(str(rules_dir)).sha256
    _edit_asam(rules_dir, lambda d: d.update(note="Changed."))
    assert load_rule_set(str(rules_dir)).sha256 != original


def test_a_rule_set_without_a_crosswalk_states_none(rules_dir: Path) -> None:
    (rules_dir / "asam.json").unlink()
    rec = PlacementEngine.from_directory(str(rules_dir)).recommend(assessment())
    assert rec.asam is None


def _drop_level(data: dict[str, Any]) -> None:
    del data["levels"]["inpatient"]


def _unknown_rule(data: dict[str, Any]) -> None:
    data["rules"]["safety.no_such_rule"] = data["rules"]["safety.medically_unstable"]


def _flag_only_rule(data: dict[str, Any]) -> None:
    data["rules"]["feasibility.inpatient_not_accessible"] = data["levels"]["inpatient"]


def _unknown_code(data: dict[str, Any]) -> None:
    data["levels"]["inpatient"]["codes"]["4th"] = ["3.7-WM"]


def _missing_edition(data: dict[str, Any]) -> None:
    del data["rules"]["safety.medically_unstable"]["codes"]["4th"]


def _unknown_edition(data: dict[str, Any]) -> None:
    data["levels"]["inpatient"]["codes"]["5th"] = ["4"]


def _empty_codes(data: dict[str, Any]) -> None:
    data["levels"]["intensive_outpatient"]["codes"]["3rd"] = []


def _no_reading(data: dict[str, Any]) -> None:
    del data["levels"]["inpatient"]["reading"]


def test_every_rule_in_the_bundled_crosswalk_sets_a_level_or_rating() -> None:
    rule_set = load_rule_set(DEFAULT_RULES)
    assert rule_set.asam is not None
    decides = {rule.id: rule.then.level or rule.then.rating for rule in rule_set.rules}
    assert rule_set.asam.unused_rules(decides) == []


def test_entries_for_missing_or_flag_only_rules_are_linted_not_fatal(rules_dir: Path) -> None:
    _edit_asam(rules_dir, _unknown_rule)
    _edit_asam(rules_dir, _flag_only_rule)
    rule_set = load_rule_set(str(rules_dir))
    assert rule_set.asam is not None
    decides = {r.id: r.then.level or r.then.rating for r in rule_set.rules}
    assert rule_set.asam.unused_rules(decides) == [
        "rules.safety.no_such_rule: no rule with this id in the rule set",
        "rules.feasibility.inpatient_not_accessible: the rule sets no level or rating",
    ]
    rec = PlacementEngine.from_directory(str(rules_dir)).recommend(
        assessment(detox_status="needed")
    )
    assert rec.asam is not None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_drop_level, "levels: no entry for inpatient"),
        (_unknown_code, "levels.inpatient: 4th edition has no level 3.7-WM"),
        (_missing_edition, "no codes for edition 4th"),
        (_unknown_edition, "edition '5th' is not listed"),
        (_empty_codes, "levels.intensive_outpatient: no codes for edition 3rd"),
        (_no_reading, "levels.inpatient.reading"),
    ],
)
def test_a_bad_crosswalk_is_named_on_load(rules_dir: Path, change: Edit, message: str) -> None:
    _edit_asam(rules_dir, change)
    with pytest.raises(RuleSetError) as caught:
        PlacementEngine.from_directory(str(rules_dir))
    assert caught.value.file == "asam.json"
    assert message in str(caught.value)
