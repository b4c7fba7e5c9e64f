"""Build the explanation of one assessment with one engine."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from iop_placement._explain.counterfactuals import DEFAULT_LIMIT, counterfactuals
from iop_placement._explain.modifiable import goal_options
from iop_placement._explain.near_miss import near_misses
from iop_placement._model.explanation import Explanation
from iop_placement._model.levels import LevelOfCare
from iop_placement._model.validation import parse_assessment

if TYPE_CHECKING:
    from iop_placement._engine import PlacementEngine
    from iop_placement._model.assessment import Assessment

__all__ = ["explain_with"]


def _next_level(level: LevelOfCare) -> LevelOfCare | None:
    return next((other for other in LevelOfCare if other.rank == level.rank + 1), None)


def explain_with(
    engine: PlacementEngine,
    assessment: Assessment | Mapping[str, Any],
    *,
    max_counterfactuals: int = DEFAULT_LIMIT,
) -> Explanation:
    """The recommendation with why, why not more intensive, and what would change it.

    Raises:
        InvalidAssessment: when ``assessment`` is not a valid assessment.

    """
    parsed = parse_assessment(assessment)
    recommendation = engine.recommend(parsed)
    values = parsed.values()
    above = _next_level(recommendation.level)
    why_not = () if above is None else near_misses(engine.rule_set, values, above)
    changes = counterfactuals(
        lambda changed: engine.recommend(changed).level,
        parsed,
        recommendation.level,
        limit=max_counterfactuals,
    )
    return Explanation(
        recommendation=recommendation,
        why_not_level=above,
        why_not=why_not,
        what_would_change=changes,
        goal_fields=tuple(goal_options(values)),
    )
