"""``decide(program, algebra)``: the one statement of the policy, against the reference.

Plain booleans are an algebra too: each rule's condition read by the reference evaluator
(``reference.holds``) at one assessment, the policy by ``decide``. The result must be the
reference's own decision (level, ratings, flags shown, the rules kept, the alternative)
on every drawn assessment, for the bundled rules and for older rule sets; the reference
states the policy independently, so a slip in ``decide`` shows here.

The engine reads its tables off ``decide`` over fired-rule sets: on the same kind of
assessments its recommendation must be ``decide``'s over booleans (level, override, flags
shown, reasons kept, alternative), on the bundled rules, the older sets, and a planted
copy in which the rule raising ``housing_needed`` also supports intensive outpatient care
(so the safety override drops the flag: an engine showing every raised flag fails).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from helpers import copy_rules, random_assessments
from iop_placement import DEFAULT_RULES, PlacementEngine
from iop_placement._algebras.fired_sets import Expr, FiredSets, PolicyShapeError
from iop_placement._decision.policy import (
    DecisionProgram,
    Derived,
    Outcome,
    count,
    decide,
    one_of,
)
from iop_placement._model.fields import field_specs
from iop_placement._model.validation import parse_assessment
from iop_placement.populations import POPULATIONS, population
from iop_placement.reference import ReferenceEvaluator, holds
from iop_placement.reference import stage as reference_stage

DATA = Path(__file__).parent / "data"
RULE_SETS = {
    "bundled": DEFAULT_RULES,
    "rules 1.0.0": DATA / "rules-1.0.0",
    "rules 2.0.0": DATA / "rules-2.0.0",
}
PLANTED = "housing flag with a level"
HOUSING = "housing_needed"


def housing_with_a_level(data: dict[str, Any]) -> None:
    for rule in data["rules"]:
        if HOUSING in rule["then"].get("flags", ()):
            rule["then"]["level"] = "intensive_outpatient"


@pytest.fixture(scope="module")
def planted_rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_rules(
        tmp_path_factory.mktemp("planted") / "rules", ("environment.json", housing_with_a_level)
    )


class Booleans:
    """The policy's algebra at one assessment: conditions read as the reference reads them."""

    def __init__(
        self,
        rules: Sequence[Mapping[str, Any]],
        answers: Mapping[str, Any],
        levels: Sequence[str],
    ) -> None:
        self.when = {rule["id"]: rule["when"] for rule in rules}
        self.answers = answers
        self.levels = levels

    true = True
    false = False

    def all_of(self, parts: Iterable[bool]) -> bool:
        return all(parts)

    def any_of(self, parts: Iterable[bool]) -> bool:
        return any(parts)

    def not_(self, part: bool) -> bool:
        return not part

    def at_least(self, parts: Sequence[bool]) -> list[bool]:
        return count(self, parts)

    def atom(self, rule: str, derived: Derived[bool]) -> bool:
        known = dict(self.answers)
        for dimension, ladder in derived.ratings.items():
            known[f"rating.{dimension}"] = _value(ladder)
        for k, ladder in derived.counts.items():
            known[f"dimensions_at_least.{k}"] = _value(ladder)
        if derived.level:
            known["level"] = self.levels[_value(derived.level)]
        return holds(self.when[rule], known)


def _value(ladder: Sequence[bool]) -> int:
    return sum(ladder[1:])


@pytest.mark.parametrize("name", sorted(RULE_SETS))
def test_decide_over_booleans_is_the_references_decision(name: str) -> None:
    reference = ReferenceEvaluator.from_directory(str(RULE_SETS[name]))
    program = DecisionProgram.from_data(reference.manifest, reference.rules, reference_stage)
    checked = 0
    for source in sorted(POPULATIONS):
        for assessment in population(source, 150):
            answers = _with_absent_meanings(assessment)
            algebra = Booleans(reference.rules, answers, program.levels)
            outcome = decide(program, algebra)
            expected = reference.evaluate(assessment)
            assert program.levels[_value(outcome.level)] == expected.level
            assert {d: _value(ladder) for d, ladder in outcome.ratings.items()} == dict(
                expected.ratings
            )
            assert {f for f, shown in outcome.flags.items() if shown} == expected.flags
            assert {r for r, shown in outcome.shown.items() if shown} == expected.rule_ids
            offered = [
                program.levels[k]
                for k in range(len(program.levels))
                if one_of(algebra, outcome.alternative, k)
            ]
            assert offered == ([expected.alternative[0]] if expected.alternative else [])
            checked += 1
    assert checked == 150 * len(POPULATIONS)


def _with_absent_meanings(assessment: Mapping[str, Any]) -> dict[str, Any]:
    answers = parse_assessment(assessment).values()
    for field_name, spec in field_specs().items():
        if answers[field_name] is None and spec.absent_means is not None:
            answers[field_name] = spec.absent_means
    return answers


@pytest.mark.parametrize("name", [*sorted(RULE_SETS), PLANTED])
def test_engine_is_decide_over_booleans(name: str, planted_rules: Path) -> None:
    directory = planted_rules if name == PLANTED else RULE_SETS[name]
    reference = ReferenceEvaluator.from_directory(str(directory))
    program = DecisionProgram.from_data(reference.manifest, reference.rules, reference_stage)
    engine = PlacementEngine.from_directory(str(directory))
    drawn = [a for source in sorted(POPULATIONS) for a in population(source, 100)]
    drawn += random_assessments(600, seed=22)
    overrides = dropped = 0
    for assessment in drawn:
        algebra = Booleans(reference.rules, _with_absent_meanings(assessment), program.levels)
        outcome = decide(program, algebra)
        got = engine.recommend(assessment)
        assert got.level.value == program.levels[_value(outcome.level)]
        assert got.safety_override is outcome.override
        assert [f.value for f in got.flags] == [f for f, shown in outcome.flags.items() if shown]
        assert {r.rule_id for r in got.reasons} == {
            r for r, shown in outcome.shown.items() if shown
        }
        offered = [
            program.levels[k]
            for k in range(len(program.levels))
            if one_of(algebra, outcome.alternative, k)
        ]
        assert ([got.alternative.level.value] if got.alternative else []) == offered
        overrides += outcome.override
        raised = any(outcome.fired[e.id] for e in program.effects if HOUSING in e.flags)
        dropped += raised and not outcome.flags[HOUSING]
    if program.override_flags or program.override_rules:  # 1.0.0 has no override
        assert overrides > 0  # its filter was exercised
    if name == PLANTED:  # the planted edit matters on these assessments
        assert dropped > 0


def test_the_engine_refuses_a_policy_it_cannot_read_as_masks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Were the policy changed so that the level is more than "some rule of a set fired",
    # the engine's lowest-bit table would be wrong: it says so when built, by name.
    import iop_placement._engine as engine_module

    def changed(program: DecisionProgram, algebra: FiredSets) -> Outcome[Expr]:
        outcome = decide(program, algebra)
        rung = outcome.level[1]
        outcome.derived.level[1] = algebra.all_of((rung, algebra.not_(outcome.override)))
        return outcome

    monkeypatch.setattr(engine_module, "decide", changed)
    with pytest.raises(PolicyShapeError, match="the level being at least 1"):
        PlacementEngine.from_directory(DEFAULT_RULES)
