"""The transition invariants, checked exhaustively over every combination of transition facts.

The rules read only the facts of :class:`TransitionFacts`, each over a finite domain (ranks
of the levels, dimension counts, ratings 0-4, a bool) except ``days_in_level``, which the
rules compare only with constants: null, 0 and each constant with its neighbours cover
every outcome. So enumerating that grid checks the invariants for every pair of
assessments and every current level, whatever the placement rules say. The grid is a
superset of the reachable facts (it does not tie ``highest_rating`` to the deltas), so a
pass is sound; a counter-example names the facts, never an assessment.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from iop_placement._model.levels import Dimension, LevelOfCare
from iop_placement._model.reassessment import Transition
from iop_placement.reassessment._rules import TransitionFacts, TransitionRules, thresholds

__all__ = ["INVARIANTS", "TransitionVerification", "fact_space", "verify_transitions"]

_LOWERING = frozenset({Transition.STEP_DOWN, Transition.DISCHARGE})


def _no_step_down_with_safety_flag(facts: TransitionFacts, decision: Transition) -> bool:
    return not (facts.safety_flag and decision in _LOWERING)


def _no_step_down_on_worsening(facts: TransitionFacts, decision: Transition) -> bool:
    worse = facts.dimensions_worse > 0 or facts.recommended_rank > facts.previous_rank
    return not (worse and decision in _LOWERING)


def _moves_toward_recommendation(facts: TransitionFacts, decision: Transition) -> bool:
    if decision == Transition.STEP_DOWN:
        return facts.recommended_rank < facts.current_rank
    if decision == Transition.STEP_UP:
        return facts.recommended_rank > facts.current_rank
    return True


INVARIANTS: dict[str, tuple[str, Callable[[TransitionFacts, Transition], bool]]] = {
    "no_step_down_with_safety_flag": (
        "never a step-down (or discharge) while a safety flag is raised",
        _no_step_down_with_safety_flag,
    ),
    "no_step_down_on_worsening": (
        "a worsening (a rating or the recommended level rose) never gives a step-down"
        " (or discharge)",
        _no_step_down_on_worsening,
    ),
    "moves_toward_recommendation": (
        "a step-down goes to a less intensive recommended level, a step-up to a more intensive one",
        _moves_toward_recommendation,
    ),
}


def fact_space(rules: TransitionRules) -> Iterator[TransitionFacts]:
    """Every combination of transition facts that can change what the rules decide."""
    ranks = range(len(LevelOfCare))
    dims = len(Dimension)
    cuts = thresholds(rules, "days_in_level")
    days: list[int | None] = [None, 0]
    days += sorted({d for t in cuts for d in (t - 1, t, t + 1) if d > 0})
    for current, recommended, previous in itertools.product(ranks, repeat=3):
        for safety, highest, day in itertools.product((False, True), range(5), days):
            for worse in range(dims + 1):
                for better in range(dims + 1 - worse):
                    yield TransitionFacts(
                        current_rank=current,
                        recommended_rank=recommended,
                        previous_rank=previous,
                        safety_flag=safety,
                        dimensions_worse=worse,
                        dimensions_better=better,
                        highest_rating=highest,
                        days_in_level=day,
                    )


@dataclass(frozen=True, slots=True)
class TransitionVerification:
    """What :func:`verify_transitions` found."""

    cases: int
    violations: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Whether every invariant holds in every case."""
        return not self.violations

    def summary(self) -> str:
        """One line for the verify command."""
        names = ", ".join(INVARIANTS)
        status = "hold" if self.ok else f"FAIL ({len(self.violations)} counter-examples)"
        return f"transition invariants ({names}): {status} over {self.cases} fact combinations"


def verify_transitions(rules: TransitionRules, *, limit: int = 10) -> TransitionVerification:
    """Check every invariant on every combination of facts; up to ``limit`` counter-examples."""
    violations: list[str] = []
    count = 0
    for facts in fact_space(rules):
        count += 1
        decision, fired = rules.decide(facts)
        for name, (_, check) in INVARIANTS.items():
            if not check(facts, decision) and len(violations) < limit:
                ids = ", ".join(rule.id for rule in fired) or "(default)"
                violations.append(f"{name}: {decision.value} on {facts.as_dict()} (rules: {ids})")
    return TransitionVerification(count, tuple(violations))
