"""Build the explanation of one assessment with one engine.

The engine is anything that recommends with a rule set (:class:`Recommender`), so this
module does not import the engine, which calls it from ``PlacementEngine.explain``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from iop_placement._analysis.explain.counterfactuals import DEFAULT_LIMIT, counterfactuals
from iop_placement._analysis.explain.modifiable import goal_options
from iop_placement._analysis.explain.near_miss import near_misses
from iop_placement._analysis.explain.support import answers_behind
from iop_placement._model.assessment import Assessment
from iop_placement._model.errors import PlacementError
from iop_placement._model.explanation import Explanation
from iop_placement._model.fields import derive, field_specs
from iop_placement._model.levels import LevelOfCare
from iop_placement._model.recommendation import Recommendation
from iop_placement._model.validation import parse_assessment
from iop_placement._rules.ruleset import RuleSet

__all__ = ["Recommender", "explain_with"]


class Recommender(Protocol):
    """What explaining asks of an engine: its rule set, and recommending on any answers."""

    @property
    def rule_set(self) -> RuleSet:
        """The rule set the engine runs."""
        ...

    def _recommend_values(self, values: dict[str, Any]) -> Recommendation:
        """The recommendation for answers already valid (``Assessment.values()``), taken over."""
        ...

    def level_of(self, values: Mapping[str, Any]) -> LevelOfCare:
        """The level alone for answers already valid (``Assessment.values()``)."""
        ...

    def variants(self, values: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], LevelOfCare]:
        """The level of ``values`` with some answers changed, on a fast path."""
        ...

    @property
    def variants_on_own_backend(self) -> bool:
        """Whether ``variants`` runs on the backend ``level_of`` runs on (nothing to confirm)."""
        ...

    @property
    def monotone(self) -> bool:
        """Whether the rule set is proved monotone (worsening never lowers the level)."""
        ...


def _next_level(level: LevelOfCare) -> LevelOfCare | None:
    return next((other for other in LevelOfCare if other.rank == level.rank + 1), None)


def explain_with(
    engine: Recommender,
    assessment: Assessment | Mapping[str, Any],
    *,
    max_counterfactuals: int = DEFAULT_LIMIT,
) -> Explanation:
    """The recommendation with why, why not more intensive, and what would change it.

    Raises:
        InvalidAssessment: when ``assessment`` is not a valid assessment.
        PlacementError: when the rule engine fails, or its fast path disagrees with it.

    """
    values = parse_assessment(assessment).values()
    recommendation = engine._recommend_values(dict(values))
    # The rules read an optional field left out as what its absence means.
    read = {name: spec.read(values[name]) for name, spec in field_specs().items() if spec.optional}
    derived = derive({d.dimension: d.rating for d in recommendation.dimensions})
    above = _next_level(recommendation.level)
    why_not = (
        () if above is None else near_misses(engine.rule_set, {**values, **read, **derived}, above)
    )
    behind = answers_behind(engine.rule_set)
    changes = counterfactuals(
        engine.variants(values),
        values,
        recommendation.level,
        limit=max_counterfactuals,
        monotone=engine.monotone,
        # Every rule that fired for this level must stop firing for a lower one.
        required=[
            behind[r.rule_id]
            for r in recommendation.reasons
            if r.level is recommendation.level and r.rule_id in behind
        ],
    )
    for change in () if engine.variants_on_own_backend else changes:
        # The search ran on the fast path: the engine's own backend confirms what it found.
        if engine.level_of({**values, **change.changes}) is not change.level:
            msg = "the rule engine's backends disagree on a counterfactual's level"
            raise PlacementError(msg)
    return Explanation(
        recommendation=recommendation,
        why_not_level=above,
        why_not=why_not,
        what_would_change=changes,
        goal_fields=tuple(goal_options(values)),
    )
