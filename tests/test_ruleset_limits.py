"""Rule-set shapes durable-rules cannot hold are refused at load, on both backends alike.

The limits and their measured basis are in docs/engine.md ("Rule-set limits"); every
rule-file problem, however deep or large, is a RuleSetError naming the file and the rule.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from helpers import assessment, copy_rules, needs_durable
from iop_placement import DEFAULT_RULES, PlacementEngine, RuleSetError
from iop_placement._rules.limits import (
    MAX_CHILDREN,
    MAX_CONNECTIVES,
    MAX_PENDING,
    MAX_RULES,
    MAX_SAME_CONDITION,
    check_phase,
)
from iop_placement._rules.normal_form import And, Equals
from iop_placement._rules.ruleset import load_rule_set

BACKENDS = [pytest.param("durable", marks=needs_durable), "compiled"]
SHARED = {
    "all": [
        {"field": "substance_use_severity", "is": "mild"},
        {"field": "motivation", "is": "low"},
        {"field": "support_system", "is": "none"},
    ]
}
MATCHES_SHARED = assessment(substance_use_severity="mild", motivation="low", support_system="none")


def rule(number: int, when: dict[str, Any], then: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": f"extra.r{number}",
        "title": "Extra",
        "text": "An extra rule.",
        "when": when,
        "then": then or {"level": "intensive_outpatient"},
        "source": {"practice": "limit test", "reading": "none"},
    }


def with_family(tmp_path: Path, text: str) -> Path:
    """The bundled rules plus a family ``extra`` whose file holds ``text``."""

    def listed(manifest: dict[str, Any]) -> None:
        manifest["families"] = [*manifest["families"], "extra"]

    rules = copy_rules(tmp_path / "rules", ("ruleset.json", listed))
    (rules / "extra.json").write_text(text, encoding="utf-8")
    return rules


def family(rules: list[dict[str, Any]]) -> str:
    return json.dumps({"family": "extra", "title": "Extra", "description": "x", "rules": rules})


def refused(directory: Path, backend: Any) -> RuleSetError:
    with pytest.raises(RuleSetError) as caught:
        PlacementEngine.from_directory(str(directory), backend=backend)
    return caught.value


@pytest.mark.parametrize("backend", BACKENDS)
def test_too_many_rules_sharing_one_condition_are_refused(tmp_path: Path, backend: Any) -> None:
    # durable-rules: 256 such rules segfault, 257 write past a list (error 108 or not).
    rules = [rule(n, SHARED) for n in range(MAX_SAME_CONDITION + 1)]
    error = refused(with_family(tmp_path, family(rules)), backend)
    assert (error.file, error.rule_id) == ("extra.json", f"extra.r{MAX_SAME_CONDITION}")
    assert "share this condition" in str(error)


@needs_durable
def test_at_the_shared_condition_limit_both_backends_load_and_agree(tmp_path: Path) -> None:
    directory = with_family(tmp_path, family([rule(n, SHARED) for n in range(MAX_SAME_CONDITION)]))
    durable = PlacementEngine.from_directory(str(directory), backend="durable")
    compiled = PlacementEngine.from_directory(str(directory), backend="compiled")
    got = durable.recommend(MATCHES_SHARED)
    assert got == compiled.recommend(MATCHES_SHARED)
    assert sum(r.rule_id.startswith("extra.") for r in got.reasons) == MAX_SAME_CONDITION


def distinct_conditions() -> itertools.product[tuple[str, ...]]:
    return itertools.product(
        ("mild", "moderate", "severe"),
        ("high", "ambivalent", "low"),
        ("strong", "limited", "none"),
        ("supportive", "stable", "unstable", "toxic", "homeless"),
        ("not_needed", "completed", "in_progress", "needed"),
        ("none", "mild", "moderate", "severe"),
        ("none", "occasional", "frequent"),
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_more_rules_than_a_phase_holds_are_refused(tmp_path: Path, backend: Any) -> None:
    # durable-rules: error 106 from 4,096 rules (the 10,000 rules).
    fields = (
        "substance_use_severity",
        "motivation",
        "support_system",
        "home_environment",
        "detox_status",
        "functional_impairment",
        "relapse_history",
    )
    conditions = itertools.islice(distinct_conditions(), MAX_RULES + 1)
    rules = [
        rule(n, {"all": [{"field": f, "is": v} for f, v in zip(fields, values, strict=True)]})
        for n, values in enumerate(conditions)
    ]
    error = refused(with_family(tmp_path, family(rules)), backend)
    # The bundled rules that read only answers are in the same phase, before these.
    bundled = sum(r.stage == 1 for r in load_rule_set(DEFAULT_RULES).rules)
    assert (error.file, error.rule_id) == ("extra.json", f"extra.r{MAX_RULES - bundled}")
    assert f"at most {MAX_RULES} rules" in str(error)


def pairs(count: int) -> dict[str, Any]:
    """An any-group of ``count`` distinct all-groups: 1 + count groups in normal form."""
    values = itertools.islice(
        itertools.product(
            ("mild", "moderate", "severe"),
            ("high", "ambivalent", "low"),
            ("supportive", "stable", "unstable", "toxic", "homeless"),
        ),
        count,
    )
    return {
        "any": [
            {
                "all": [
                    {"field": "substance_use_severity", "is": severity},
                    {"field": "motivation", "is": motivation},
                    {"field": "home_environment", "is": home},
                ]
            }
            for severity, motivation, home in values
        ]
    }


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_condition_with_too_many_groups_is_refused(tmp_path: Path, backend: Any) -> None:
    # durable-rules: error 113 from 16 $and/$or in one rule.
    error = refused(with_family(tmp_path, family([rule(0, pairs(MAX_CONNECTIVES))])), backend)
    assert (error.file, error.rule_id) == ("extra.json", "extra.r0")
    assert f"at most {MAX_CONNECTIVES}" in str(error)


@needs_durable
def test_at_the_group_limit_both_backends_load_and_agree(tmp_path: Path) -> None:
    directory = with_family(tmp_path, family([rule(0, pairs(MAX_CONNECTIVES - 1))]))
    durable = PlacementEngine.from_directory(str(directory), backend="durable")
    compiled = PlacementEngine.from_directory(str(directory), backend="compiled")
    answers = assessment(
        substance_use_severity="mild", motivation="low", home_environment="homeless"
    )
    assert durable.recommend(answers) == compiled.recommend(answers)


def thresholds(count: int) -> list[dict[str, Any]]:
    """Rules that all hold at 0 hours: each is a comparison pending at once."""
    return [
        rule(
            n, {"field": "available_hours_per_week", "lt": n + 1}, {"flags": ["schedule_conflict"]}
        )
        for n in range(count)
    ]


@pytest.mark.parametrize("backend", BACKENDS)
def test_too_many_tests_pending_at_once_are_refused(tmp_path: Path, backend: Any) -> None:
    # durable-rules: error 303 while evaluating when 65 alpha nodes are pending.
    error = refused(with_family(tmp_path, family(thresholds(MAX_PENDING + 1))), backend)
    assert error.file == "extra.json"
    assert error.rule_id is not None
    assert error.rule_id.startswith("extra.r")
    assert "pending at once" in str(error)


@needs_durable
def test_below_the_pending_limit_durable_evaluates_the_worst_case(tmp_path: Path) -> None:
    directory = with_family(tmp_path, family(thresholds(30)))
    durable = PlacementEngine.from_directory(str(directory), backend="durable")
    compiled = PlacementEngine.from_directory(str(directory), backend="compiled")
    answers = assessment(available_hours_per_week=0)
    assert durable.recommend(answers) == compiled.recommend(answers)


def test_too_many_different_tests_after_the_same_tests_are_refused() -> None:
    # durable-rules: error 303 with 512 tests under one node, an endless loop beyond.
    # No field of the assessment has that many values: checked on the model directly.
    conditions = [
        And((Equals("shared", 0), Equals("many_valued", n))) for n in range(MAX_CHILDREN + 1)
    ]
    violation = check_phase(conditions)
    assert violation is not None
    assert violation.index == MAX_CHILDREN
    assert check_phase(conditions[:MAX_CHILDREN]) is None


def nested(depth: int) -> str:
    leaf = '{"field": "substance_use_severity", "is": "moderate"}'
    return '{"all": [' * depth + leaf + "]}" * depth


@pytest.mark.parametrize("depth", [20, 130, 200, 990, 100_000])
@pytest.mark.parametrize("backend", BACKENDS)
def test_deeply_nested_conditions_are_rule_set_errors(
    tmp_path: Path, depth: int, backend: Any
) -> None:
    text = family([rule(0, {"all": []})]).replace('{"all": []}', nested(depth))
    error = refused(with_family(tmp_path, text), backend)
    assert error.file == "extra.json"
    assert error.rule_id in {"extra.r0", "#1"}


@pytest.mark.parametrize("digits", [4301, 100_000])
def test_numbers_too_long_to_read_are_rule_set_errors(tmp_path: Path, digits: int) -> None:
    when = {"field": "available_hours_per_week", "lt": 1}
    text = family([rule(0, when)]).replace('"lt": 1', '"lt": ' + "9" * digits)
    error = refused(with_family(tmp_path, text), "compiled")
    assert (error.file, error.rule_id) == ("extra.json", "#1")
    assert "too many digits" in str(error)


def test_a_deep_file_outside_any_rule_names_the_file(tmp_path: Path) -> None:
    text = family([rule(0, SHARED)])[:-1] + ', "x": ' + "[" * 990 + "]" * 990 + "}"
    error = refused(with_family(tmp_path, text), "compiled")
    assert error.file == "extra.json"
    assert "nested too deeply" in str(error)
