"""Rule files are checked on load; a bad file raises RuleSetError naming file, rule and problem."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from iop_placement import DEFAULT_RULES, PlacementEngine, RuleSetError
from iop_placement._rules.ruleset import load_rule_set

Edit = Callable[[dict[str, Any]], None]


def edit(directory: Path, name: str, change: Edit) -> None:
    path = directory / name
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def first_rule(data: dict[str, Any]) -> dict[str, Any]:
    rule: dict[str, Any] = data["rules"][0]
    return rule


def load_error(directory: Path) -> RuleSetError:
    with pytest.raises(RuleSetError) as caught:
        PlacementEngine.from_directory(str(directory))
    return caught.value


def test_bundled_rules_load_and_ship_every_family() -> None:
    rule_set = load_rule_set(DEFAULT_RULES)
    names = {entry.name for entry in DEFAULT_RULES.iterdir()}
    assert {f"{family}.json" for family in rule_set.manifest.families} | {"ruleset.json"} <= names
    assert len(rule_set.rules) >= 20
    assert rule_set.name == "iop-placement-default"


def test_copy_has_the_same_hash_and_an_edit_changes_it(rules_dir: Path) -> None:
    original = load_rule_set(DEFAULT_RULES).sha256
    assert load_rule_set(str(rules_dir)).sha256 == original
    edit(rules_dir, "severity.json", lambda d: first_rule(d).update(title="Changed"))
    assert load_rule_set(str(rules_dir)).sha256 != original


def test_every_rule_cites_a_source() -> None:
    for rule in load_rule_set(DEFAULT_RULES).rules:
        assert rule.source.documents or rule.source.practice, rule.id
        assert rule.source.reading, rule.id
        assert all(doc.endswith(".txt") for doc in rule.source.documents), rule.id


def test_missing_directory(tmp_path: Path) -> None:
    assert "does not exist" in str(load_error(tmp_path / "nowhere"))


def test_missing_manifest(rules_dir: Path) -> None:
    (rules_dir / "ruleset.json").unlink()
    error = load_error(rules_dir)
    assert error.file == "ruleset.json"


def test_invalid_json_names_file_and_position(rules_dir: Path) -> None:
    (rules_dir / "support.json").write_text(
        '{"family": "support",\n  "rules": [,]}', encoding="utf-8"
    )
    error = load_error(rules_dir)
    assert error.file == "support.json"
    assert "line 2" in str(error)


def test_unlisted_file_is_an_error(rules_dir: Path) -> None:
    (rules_dir / "forgotten.json").write_text("{}", encoding="utf-8")
    assert "forgotten.json" in str(load_error(rules_dir))


def test_listed_file_missing(rules_dir: Path) -> None:
    (rules_dir / "relapse.json").unlink()
    error = load_error(rules_dir)
    assert "relapse.json is missing" in str(error)


def _set_when(when: dict[str, Any]) -> Edit:
    return lambda data: first_rule(data).update(when=when)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_set_when({"field": "severity", "is": "severe"}), "unknown field 'severity'"),
        (_set_when({"field": "substance_use_severity", "is": "extreme"}), "no value 'extreme'"),
        (_set_when({"field": "substance_use_severity", "lt": 3}), "needs a number field"),
        (_set_when({"field": "motivation", "includes_any": ["low"]}), "needs a list field"),
        (_set_when({"field": "available_hours_per_week", "is": 3}), "needs a choice or true/false"),
        (_set_when({"field": "medically_unstable", "is": "yes"}), "no value 'yes'"),
        (_set_when({"field": "motivation", "is": "low", "in": ["low"]}), "exactly one of"),
        (_set_when({"feild": "motivation", "is": "low"}), "all, any, not, field"),
        (_set_when({"all": []}), "all"),
        (
            _set_when({"not": {"field": "medically_unstable", "in": [True, False]}}),
            "can never hold",
        ),
        (_set_when({"field": "medically_unstable", "in": [True, False]}), "always holds"),
        (
            lambda d: first_rule(d).update(then={}),
            "needs a level, a rating, flags or an alternative",
        ),
        (lambda d: first_rule(d).update(then={"level": "hospital"}), "then.level"),
        (lambda d: first_rule(d).update(levle="inpatient"), "levle"),
        (lambda d: first_rule(d).update(source={"reading": "trust me"}), "documents or practice"),
        (lambda d: first_rule(d).update(id="other.rule"), "must start with 'safety.'"),
        (lambda d: d["rules"].append(dict(first_rule(d))), "duplicate id"),
        (
            _set_when(
                {
                    "all": [
                        {"field": "level", "is": "inpatient"},
                        {"field": "suicide_risk", "is": "imminent"},
                    ]
                }
            ),
            "may not set a level",
        ),
        (
            _set_when({"field": "inpatient_accessible", "is": False}),
            "reads inpatient_accessible",
        ),
    ],
)
def test_malformed_rule_names_file_rule_and_problem(
    rules_dir: Path, change: Edit, expected: str
) -> None:
    edit(rules_dir, "safety.json", change)
    rule_id = json.loads((rules_dir / "safety.json").read_text(encoding="utf-8"))["rules"][0]["id"]
    error = load_error(rules_dir)
    assert error.file == "safety.json"
    assert error.rule_id == rule_id
    assert expected in str(error)
    assert "safety.json" in str(error)
    assert rule_id in str(error)


@pytest.mark.parametrize(
    ("test", "expected"),
    [
        ({"lt": 0}, "can never hold"),
        ({"gt": 168}, "can never hold"),
        ({"le": -1}, "can never hold"),
    ],
)
def test_numeric_tests_outside_the_range_are_caught(
    rules_dir: Path, test: dict[str, int], expected: str
) -> None:
    def change(data: dict[str, Any]) -> None:
        rule = next(r for r in data["rules"] if r["id"] == "feasibility.too_few_hours_for_iop")
        rule["when"] = {
            "all": [
                {"field": "level", "is": "intensive_outpatient"},
                {"field": "available_hours_per_week", **test},
            ]
        }

    edit(rules_dir, "feasibility.json", change)
    error = load_error(rules_dir)
    assert (error.file, error.rule_id) == ("feasibility.json", "feasibility.too_few_hours_for_iop")
    assert expected in str(error)


def test_family_mismatch(rules_dir: Path) -> None:
    edit(rules_dir, "safety.json", lambda d: d.update(family="danger"))
    assert "expected 'safety'" in str(load_error(rules_dir))


def test_manifest_problem_is_named(rules_dir: Path) -> None:
    edit(rules_dir, "ruleset.json", lambda d: d.update(alternative_blocked_by_flags=["panic"]))
    error = load_error(rules_dir)
    assert error.file == "ruleset.json"
    assert "alternative_blocked_by_flags" in str(error)


def test_rule_set_error_is_a_value_error() -> None:
    assert issubclass(RuleSetError, ValueError)


@pytest.mark.parametrize("operand", ["9", True, 9.5])
def test_numeric_operands_are_strict(rules_dir: Path, operand: object) -> None:
    def change(data: dict[str, Any]) -> None:
        rule = next(r for r in data["rules"] if r["id"] == "feasibility.too_few_hours_for_iop")
        rule["when"]["all"][1] = {"field": "available_hours_per_week", "lt": operand}

    edit(rules_dir, "feasibility.json", change)
    error = load_error(rules_dir)
    assert (error.file, error.rule_id) == ("feasibility.json", "feasibility.too_few_hours_for_iop")


def test_family_listed_twice(rules_dir: Path) -> None:
    edit(rules_dir, "ruleset.json", lambda d: d.update(families=[*d["families"], "safety"]))
    assert "listed more than once: safety" in str(load_error(rules_dir))


@pytest.mark.parametrize(
    "test",
    [
        {"field": "available_hours_per_week", "lt": None},
        {"field": "available_hours_per_week", "ge": None},
        {"field": "available_hours_per_week", "in": None},
        {"field": "motivation", "in": None},
        {"field": "obligations", "includes_any": None},
    ],
)
def test_a_null_operand_is_a_rule_set_error(rules_dir: Path, test: dict[str, Any]) -> None:
    def change(data: dict[str, Any]) -> None:
        rule = next(r for r in data["rules"] if r["id"] == "feasibility.too_few_hours_for_iop")
        rule["when"]["all"][1] = test

    edit(rules_dir, "feasibility.json", change)
    error = load_error(rules_dir)
    assert (error.file, error.rule_id) == ("feasibility.json", "feasibility.too_few_hours_for_iop")
    assert "null" in str(error)


@pytest.mark.parametrize("name", ["my\x00rules", "tab\tname", "line\nbreak", "\x7f"])
def test_a_control_character_in_the_name_or_version_is_a_rule_set_error(
    rules_dir: Path, name: str
) -> None:
    edit(rules_dir, "ruleset.json", lambda data: data.update(name=name))
    assert load_error(rules_dir).file == "ruleset.json"
    edit(rules_dir, "ruleset.json", lambda data: data.update(name="ok", version=f"1{name}"))
    assert load_error(rules_dir).file == "ruleset.json"
