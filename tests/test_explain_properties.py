"""Properties of explanations on generated assessments.

Counterfactuals are checked by feeding them back through ``recommend()``: each really gives
a less intensive level, and is minimal (no proper subset of its fields works with any of
their goals). Near misses are checked with the rules' own Python evaluation.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from helpers import copy_rules, random_assessments
from iop_placement import Assessment, LevelOfCare, PlacementEngine, recommend
from iop_placement._analysis.explain.counterfactuals import counterfactuals
from iop_placement._analysis.explain.modifiable import goal_options, modifiable_goals
from iop_placement._analysis.explain.support import answers_behind
from iop_placement._model.assessment import RISK_ORDERS
from iop_placement._model.fields import derive, field_specs, rating_field
from iop_placement._model.levels import Dimension
from iop_placement.testing import assessments

# Answers that are no other answer's worsening: the lowest risk of each order.
LOWEST = {
    name: next(v for v in steps if all(v not in worse for worse in steps.values()))
    for name, steps in RISK_ORDERS.items()
}


def near_goals() -> st.SearchStrategy[Assessment]:
    """Assessments that are mostly low risk: where a goal or two can lower the level."""
    return assessments(
        **{
            name: st.one_of(
                st.just(lowest), st.just(lowest), st.sampled_from(field_specs()[name].values)
            )
            for name, lowest in LOWEST.items()
        }
    )


def _with(values: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    return {**values, **changes}


def _check_counterfactuals(engine: PlacementEngine, assessment: Assessment) -> None:
    ex = engine.explain(assessment)
    values = assessment.values()
    level = ex.recommendation.level
    options = goal_options(values)
    goals = modifiable_goals()
    sets = [frozenset(c.changes) for c in ex.what_would_change]
    assert len(sets) <= 5
    assert [len(s) for s in sets] == sorted(len(s) for s in sets), "smallest first"
    for counterfactual in ex.what_would_change:
        changes = dict(counterfactual.changes)
        assert changes
        assert counterfactual.previous == {name: values[name] for name in changes}
        for name, goal in changes.items():
            assert name in goals, f"{name} is not modifiable"
            assert goal in options[name], "a goal must be lower risk than the answer now"
        # It really gives the lower level, through the public function.
        after = recommend(_with(values, changes)).level
        assert after == counterfactual.level
        assert after.rank < level.rank
        # Minimal: no proper subset of its fields works, whatever goals they take.
        names = list(changes)
        for size in range(len(names)):
            for subset in itertools.combinations(names, size):
                for picks in itertools.product(*(options[n] for n in subset)):
                    partial = dict(zip(subset, picks, strict=True))
                    assert recommend(_with(values, partial)).level.rank >= level.rank, (
                        "not minimal",
                        changes,
                        partial,
                    )
    for left, right in itertools.permutations(sets, 2):
        assert not left < right, "a reported set contains another"
    # Complete for single goals: every one goal that lowers the level is reported (up to 5).
    singles = [
        name
        for name, choices in options.items()
        if any(recommend(_with(values, {name: g})).level.rank < level.rank for g in choices)
    ]
    reported = [next(iter(s)) for s in sets if len(s) == 1]
    assert reported == singles[:5]
    # Complete overall: when nothing is reported, even every goal at once does not help.
    if not sets and level.rank > 0:
        best = {name: choices[-1] for name, choices in options.items()}
        assert recommend(_with(values, best)).level.rank >= level.rank


@given(assessments())
def test_counterfactuals_lower_the_level_and_are_minimal(
    engine: PlacementEngine, assessment: Assessment
) -> None:
    _check_counterfactuals(engine, assessment)


@given(near_goals())
def test_counterfactuals_near_low_risk(engine: PlacementEngine, assessment: Assessment) -> None:
    _check_counterfactuals(engine, assessment)


@given(near_goals())
def test_near_misses_name_exactly_what_was_missing(
    engine: PlacementEngine, assessment: Assessment
) -> None:
    ex = engine.explain(assessment)
    specs = field_specs()
    ratings = {d.dimension: d.rating for d in ex.recommendation.dimensions}
    values = {
        **{name: specs[name].read(value) for name, value in assessment.values().items()},
        **derive(ratings),
    }
    rules = {rule.id: rule for rule in engine.rule_set.rules}
    above = ex.why_not_level
    if above is None:
        assert ex.recommendation.level is LevelOfCare.INPATIENT
        return
    assert above.rank == ex.recommendation.level.rank + 1
    expected = {
        r.id for r in engine.rule_set.rules if r.then.level == above and not r.reads_decided_level
    }
    assert {m.rule_id for m in ex.why_not} == expected
    for miss in ex.why_not:
        rule = rules[miss.rule_id]
        assert not rule.when.holds(values)
        assert miss.unmet
        for name, allowed in miss.unmet.items():
            assert values[name] not in allowed
            assert miss.current[name] == values[name]
        # Giving every unmet field an answer that meets it makes the rule hold ...
        fixed = {name: allowed[0] for name, allowed in miss.unmet.items()}
        assert rule.when.holds(_with(values, fixed)), miss.rule_id
        # ... and leaving any one of them as it is does not: the miss is the nearest way.
        for name in fixed:
            rest = {k: v for k, v in fixed.items() if k != name}
            assert not rule.when.holds(_with(values, rest)), (miss.rule_id, name)


def _on_level_of(engine: PlacementEngine, assessment: Assessment) -> Callable[[Any], LevelOfCare]:
    """Each variation evaluated from scratch on the engine's own backend."""
    values = assessment.values()
    return lambda changes: engine.level_of({**values, **changes})


@given(st.one_of(assessments(), near_goals()))
def test_monotone_pruning_finds_exactly_what_the_full_search_finds(
    engine: PlacementEngine, assessment: Assessment
) -> None:
    # The bundled rules are proved monotone (test_verification), which pruning relies on.
    assert engine.monotone
    level = engine.recommend(assessment).level
    full = counterfactuals(_on_level_of(engine, assessment), assessment, level, limit=50)
    variants = engine.variants(assessment.values())
    pruned = counterfactuals(variants, assessment, level, limit=50, monotone=True)
    assert pruned == full


@given(st.one_of(assessments(), near_goals()))
def test_skipping_sets_that_leave_a_deciding_rule_firing_loses_nothing(
    engine: PlacementEngine, assessment: Assessment
) -> None:
    recommendation = engine.recommend(assessment)
    behind = answers_behind(engine.rule_set)
    required = [
        behind[r.rule_id] for r in recommendation.reasons if r.level is recommendation.level
    ]
    assert required or recommendation.level is LevelOfCare.least_intensive()
    level = recommendation.level
    full = counterfactuals(_on_level_of(engine, assessment), assessment, level, limit=50)
    variants = engine.variants(assessment.values())
    pruned = counterfactuals(
        variants, assessment, level, limit=50, monotone=True, required=required
    )
    assert pruned == full


def test_a_placement_rule_rests_on_the_answers_behind_the_ratings_it_reads(
    engine: PlacementEngine,
) -> None:
    behind = answers_behind(engine.rule_set)
    rules = engine.rule_set.rules
    raters = {
        dimension: {
            name
            for rule in rules
            if rule.then.rating is not None and rule.then.rating.dimension is dimension
            for name in rule.when.fields()
        }
        for dimension in Dimension
    }
    placement = [r for r in rules if r.then.level is not None and r.reads_ratings]
    assert placement
    for rule in placement:
        read = {d for d in Dimension if rating_field(d.value) in rule.when.fields()}
        assert set().union(*(raters[d] for d in read)) <= behind[rule.id], rule.id
        assert all(name in field_specs() for name in behind[rule.id])
    # Rules that set no level, or read the decided level, never decide it.
    assert all(
        rule.then.level is not None and not rule.reads_decided_level
        for rule in rules
        if rule.id in behind
    )


def test_level_of_is_the_level_of_recommend(engine: PlacementEngine) -> None:
    for answers in random_assessments(500, seed=11):
        parsed = Assessment.model_validate(answers)
        assert engine.level_of(parsed.values()) is engine.recommend(parsed).level


@given(assessments(), assessments())
def test_a_variant_has_the_level_of_the_changed_answers(
    engine: PlacementEngine, one: Assessment, other: Assessment
) -> None:
    values, goal = one.values(), other.values()
    variants = engine.variants(values)
    assert variants({}) is engine.level_of(values)
    # Every field changed, a few, or one: only what changes is encoded again.
    for names in (list(goal), list(goal)[::3], list(goal)[-1:]):
        changes = {name: goal[name] for name in names}
        assert variants(changes) is engine.level_of({**values, **changes})


def test_custom_rule_sets_are_not_assumed_monotone(tmp_path: Any) -> None:
    def rename(data: dict[str, Any]) -> None:
        data["version"] = "2.0.0-clinic.1"

    custom = copy_rules(tmp_path / "rules", ("ruleset.json", rename))
    assert not PlacementEngine.from_directory(str(custom), backend="compiled").monotone
    assert PlacementEngine.from_directory(str(custom), monotone=True).monotone
