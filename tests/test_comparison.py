"""Rule-set comparison (``iop-placement diff``): exact counts, examples, populations, CI gates."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from helpers import copy_rules, run
from iop_placement import DEFAULT_RULES, Assessment, Flag, LevelOfCare, PlacementEngine
from iop_placement._algebras.diagrams import Outcomes, Space, shared_space
from iop_placement._model.fields import field_specs
from iop_placement._rules.ruleset import load_rule_set
from iop_placement.comparison import FAIL_ON, Change, compare_rules, render_comparison
from iop_placement.populations import population
from iop_placement.testing import assessments

RULES_1 = Path(__file__).parent / "data" / "rules-1.0.0"
# Rule set 2.0.0, kept as released: the figures of the 1.0.0 -> 2.0.0 review below are its.
RULES_2 = Path(__file__).parent / "data" / "rules-2.0.0"
RULE_SETS = (RULES_1, RULES_2, DEFAULT_RULES)


@pytest.fixture(scope="module")
def space() -> Space:
    return shared_space()


@pytest.fixture(scope="module")
def v1_to_v2() -> Any:
    lines = [json.dumps(a) for a in population("community_intake", 400)]
    return compare_rules(RULES_1, RULES_2, population=lines)


def _space_size() -> int:
    """The model's space by arithmetic: every answer, absence, every number, every list."""
    size = 1
    for spec in field_specs().values():
        if spec.kind == "integer":
            size *= (spec.maximum or 0) - (spec.minimum or 0) + 1
        elif spec.kind == "choices":
            size *= 2 ** len(spec.values)
        else:
            size *= len(spec.answers)
    return size


def test_the_space_is_every_assessment(space: Space) -> None:
    assert space.size() == _space_size() > 10**12


@pytest.fixture(scope="module")
def policies(space: Space) -> list[tuple[Outcomes, PlacementEngine]]:
    """Each rule set's diagrams and engine, built once for every drawn assessment."""
    rule_sets = [load_rule_set(rules) for rules in (DEFAULT_RULES, RULES_1)]
    return [(Outcomes(space, r), PlacementEngine(r, backend="compiled")) for r in rule_sets]


@settings(max_examples=300, deadline=None)
@given(assessment=assessments())
def test_the_diagrams_agree_with_the_engine(
    policies: list[tuple[Outcomes, PlacementEngine]], assessment: Assessment
) -> None:
    answers = assessment.model_dump(mode="json", exclude_unset=True)
    for outcomes, engine in policies:
        level, flags, ratings = outcomes.at(answers)
        rec = engine.recommend(answers)
        assert level is rec.level
        assert flags == frozenset(rec.flags)
        assert ratings == tuple(d.rating for d in rec.dimensions)
        offered = rec.alternative.level if rec.alternative is not None else None
        assert outcomes.alternative_at(answers) is offered
        assert set(outcomes.fired_at(answers)) >= {r.rule_id for r in rec.reasons}


def test_the_alternative_diagrams_agree_with_the_engine_where_one_is_offered(space: Space) -> None:
    # Drawn assessments are mostly inpatient: these intakes offer alternatives, and the
    # diagrams must offer the same one, and none where the engine blocks it.
    rule_set = load_rule_set(DEFAULT_RULES)
    outcomes = Outcomes(space, rule_set)
    engine = PlacementEngine(rule_set, backend="compiled")
    seen = set()
    for answers in population("low_acuity_referrals", 300):
        rec = engine.recommend(answers)
        offered = rec.alternative.level if rec.alternative is not None else None
        assert outcomes.alternative_at(answers) is offered
        seen.add(offered)
    assert None in seen
    assert len(seen) > 1


def test_a_rule_set_compared_with_itself_shows_no_change() -> None:
    lines = [json.dumps(a) for a in population("low_acuity_referrals", 200)]
    comparison = compare_rules(DEFAULT_RULES, DEFAULT_RULES, population=lines)
    assert not comparison.changed
    for tally in comparison.tallies:
        assert tally.changes == ()
        assert tally.moved("up") == tally.moved("down") == tally.safety_down == 0
        assert all(before == after for (before, after), n in tally.levels.items() if n)
    assert comparison.failures(FAIL_ON) == []
    assert "No assessment changes level, flag or rating." in render_comparison(comparison)


def test_counts_add_up_and_every_example_shows_its_change(v1_to_v2: Any) -> None:
    space = v1_to_v2.space
    assert sum(space.levels.values()) == space.total == _space_size()
    engines = [PlacementEngine.from_directory(d, backend="compiled") for d in (RULES_1, RULES_2)]
    kinds = {change.kind for change in space.changes}
    assert kinds == {"level", "flag", "rating"}
    for change in space.changes:
        assert change.count > 0
        assert math.isclose(change.share, change.count / space.total)
        before, after = (engine.recommend(change.example) for engine in engines)
        _assert_shows(change, before, after)
        if change.kind == "level":
            assert change.count == space.levels[(change.before, change.after)]
            assert change.rules_before == tuple(r.rule_id for r in before.deciding)
            assert change.rules_after == tuple(r.rule_id for r in after.deciding)


def _assert_shows(change: Change, before: Any, after: Any) -> None:
    if change.kind == "level":
        assert (before.level.value, after.level.value) == (change.before, change.after)
    elif change.kind == "flag":
        flag = Flag.of(change.subject)
        assert ((flag in before.flags), (flag in after.flags)) == (change.before, change.after)
    else:
        rated = [
            next(d.rating for d in rec.dimensions if d.dimension.value == change.subject)
            for rec in (before, after)
        ]
        assert tuple(rated) == (change.before, change.after)


def test_the_review_findings_show_in_the_report(v1_to_v2: Any) -> None:
    space = v1_to_v2.space
    # 1.0.0 reached standard outpatient for 32 of 1,866,240 clinical profiles (the review);
    # the 'active' co-occurring value of contract v3 reads as 'stable' to 1.0.0 (no rule
    # names it), so 32 more, and every feasibility and optional answer multiplies them.
    feasibility_and_optional = _space_size() // 2_488_320
    assert space.at_level(LevelOfCare.STANDARD_OUTPATIENT, after=False) == (
        64 * feasibility_and_optional
    )
    # 2.0.0 made standard outpatient reachable about 40 times as often over the v3 space
    # (more than 50 over the v2 space: 'active', which 2.0.0 does not rate, weighs on both).
    assert space.at_level(LevelOfCare.STANDARD_OUTPATIENT, after=True) > 40 * (
        space.at_level(LevelOfCare.STANDARD_OUTPATIENT, after=False)
    )
    gained = {c.subject for c in space.changes if c.kind == "flag" and c.after}
    assert Flag.HOUSING_NEEDED.value in gained


def test_a_planted_change_is_reported_with_its_rule(tmp_path: Path) -> None:
    def relapse_to_inpatient(data: dict[str, Any]) -> None:
        for rule in data["rules"]:
            if rule["id"] == "placement.relapse_needs_iop":
                rule["then"]["level"] = "inpatient"

    changed = copy_rules(tmp_path / "rules", ("placement.json", relapse_to_inpatient))
    comparison = compare_rules(DEFAULT_RULES, changed)
    reads_level = {
        flag
        for rule in load_rule_set(DEFAULT_RULES).rules
        if rule.stage == 3
        for flag in rule.then.flags
    }
    moves = {(c.before, c.after) for c in comparison.space.changes if c.kind == "level"}
    # Relapse potential 2 never reaches standard outpatient: only IOP moves.
    assert moves == {("intensive_outpatient", "inpatient")}
    for change in comparison.space.changes:
        if change.kind == "level":
            assert "placement.relapse_needs_iop" in change.rules_after
        else:  # only the flags of rules that read the decided level
            assert change.kind == "flag"
            assert Flag.of(change.subject) in reads_level
    assert comparison.space.moved("down") == 0
    assert comparison.failures(["down", "safety-down", "rating"]) == []
    assert comparison.failures(["up"])
    assert comparison.failures(["any"])


def test_a_safety_rule_removed_is_refused_by_safety_down(tmp_path: Path) -> None:
    def drop_imminent(data: dict[str, Any]) -> None:
        data["rules"] = [
            rule for rule in data["rules"] if rule["id"] != "placement.emotional_needs_24_hour_care"
        ]

    changed = copy_rules(tmp_path / "rules", ("placement.json", drop_imminent))
    comparison = compare_rules(DEFAULT_RULES, changed)
    refused = comparison.failures(["safety-down"])
    assert refused
    assert refused[0].startswith("[safety-down] whole space:")
    assert comparison.space.safety_down > 0


def test_population_counts_shares_and_bad_lines() -> None:
    good = [json.dumps(a) for a in population("community_intake", 300, seed=3)]
    lines = [
        *good[:100],
        "{not json",
        "",
        '["a list"]',
        '{"substance_use_severity": 7}',
        *good[100:],
    ]
    comparison = compare_rules(RULES_1, RULES_2, population=lines)
    tally = comparison.population
    assert tally is not None
    assert tally.total == 300
    assert [number for number, _ in tally.invalid] == [101, 103, 104]
    assert all("7" not in problem for _, problem in tally.invalid)  # no submitted value
    engines = [PlacementEngine.from_directory(d, backend="compiled") for d in (RULES_1, RULES_2)]
    expected: dict[tuple[str, str], int] = {}
    for line in good:
        was, now = (engine.recommend(json.loads(line)).level.value for engine in engines)
        expected[(was, now)] = expected.get((was, now), 0) + 1
    assert tally.levels == expected
    for change in tally.changes:
        assert change.line is not None
        assert change.example is None
        assert math.isclose(change.share, change.count / 300)


def test_diff_command_formats_and_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "intakes.jsonl"
    path.write_bytes(
        b"\n".join(json.dumps(a).encode() for a in population("low_acuity_referrals", 50))
        + b"\n\xff\xfe not utf-8\n"
    )
    code, out, err = run("diff", str(RULES_1), str(RULES_2), "--population", str(path))
    assert code == 0, err
    assert "Whole space: 93,013,640,478,720 assessments" in out
    assert "Population intakes.jsonl: 50 assessments scored, 1 lines not scored." in out
    assert "line 51: not valid JSON" in out
    code, out, _ = run("diff", str(RULES_1), str(RULES_2), "--format", "json")
    document = json.loads(out)
    assert document["space"]["total"] == _space_size()
    assert document["new"]["version"] == "2.0.0"
    code, out, _ = run("diff", str(RULES_1), str(RULES_2), "--format", "markdown")
    assert out.startswith("# Rule set comparison:")
    assert "| Level | Before | After |" in out
    code, out, _ = run("diff", str(RULES_1), str(RULES_2), "--fail-on", "safety-down")
    assert code == 1
    assert "refused [safety-down]" in out
    code, _, _ = run("diff", str(DEFAULT_RULES), str(DEFAULT_RULES), "--fail-on", "any")
    assert code == 0
    capsys.readouterr()
    code, _, _ = run("diff", str(RULES_1), str(RULES_2), "--population", "missing.jsonl")
    assert code == 1
    assert "cannot read missing.jsonl" in capsys.readouterr().err


def test_population_command_is_seeded() -> None:
    code, out, _ = run("population", "community_intake", "-n", "5", "--seed", "7")
    assert code == 0
    lines = out.splitlines()
    assert lines == [json.dumps(a) for a in population("community_intake", 5, seed=7)]
    assert all(Assessment.model_validate(json.loads(line)) for line in lines)
    with pytest.raises(SystemExit) as caught:
        run("population", "community_intake", "-n", "0")
    assert caught.value.code == 2


REVIEW_PROFILES = {  # the clinical review's space: version-1 clinical fields only
    "available_hours_per_week": 15,
    "obligations": [],
    "inpatient_accessible": True,
    "withdrawal_severity": None,
    "recovery_residence": None,
    "prior_iop_failed": None,
    "recent_overdose": None,
    "use_status": None,
    "addiction_medication": None,
    "complicated_withdrawal_history": None,
}


def test_fixed_fields_restrict_the_space_to_the_reviews_profiles() -> None:
    comparison = compare_rules(RULES_1, RULES_2, fixed=REVIEW_PROFILES)
    space = comparison.space
    # The review's 1,866,240 profiles, and the same with co-occurring 'active' (contract v3).
    assert space.total == 1_866_240 + 622_080
    # The review: standard outpatient reachable for 32 of the 1,866,240 profiles (and 32
    # with 'active', which 1.0.0 reads like 'stable').
    assert space.at_level(LevelOfCare.STANDARD_OUTPATIENT, after=False) == 64
    for change in space.changes:
        assert change.example is not None
        assert {k: change.example.get(k) for k in REVIEW_PROFILES} == REVIEW_PROFILES
    assert "Whole space with available_hours_per_week=15" in render_comparison(comparison)


def test_fixed_refuses_unknown_fields_and_answers() -> None:
    with pytest.raises(ValueError, match="unknown field 'hours'"):
        compare_rules(DEFAULT_RULES, DEFAULT_RULES, fixed={"hours": 3})
    with pytest.raises(ValueError, match="'suicide_risk' cannot be held"):
        compare_rules(DEFAULT_RULES, DEFAULT_RULES, fixed={"suicide_risk": None})
    code, _, _ = run("diff", str(DEFAULT_RULES), str(DEFAULT_RULES), "--fixed", '{"x": 1}')
    assert code == 2
