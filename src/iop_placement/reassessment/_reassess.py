"""``reassess()``: compare two recommendations and decide the transition with the rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from iop_placement._engine import PlacementEngine, default_engine
from iop_placement._model.assessment import Assessment
from iop_placement._model.levels import Dimension, FlagKind, LevelOfCare
from iop_placement._model.reassessment import (
    DimensionDelta,
    InvalidReassessment,
    Reassessment,
    Transition,
    TransitionReason,
    TransitionRulesInfo,
)
from iop_placement._model.recommendation import Recommendation
from iop_placement.reassessment._rules import (
    TransitionFacts,
    TransitionRules,
    load_transition_rules,
)

__all__ = ["facts_of", "reassess"]

Input = Recommendation | Assessment | Mapping[str, Any]

_default_rules: TransitionRules | None = None


def _rules() -> TransitionRules:
    global _default_rules  # noqa: PLW0603 - loaded once; immutable
    if _default_rules is None:
        _default_rules = load_transition_rules()
    return _default_rules


def _recommendation(value: Input, engine: PlacementEngine) -> Recommendation:
    return value if isinstance(value, Recommendation) else engine.recommend(value)


def _ratings(rec: Recommendation) -> dict[Dimension, int]:
    ratings = dict.fromkeys(Dimension, 0)
    ratings.update({r.dimension: r.rating for r in rec.dimensions})
    return ratings


def _deltas(previous: Recommendation, current: Recommendation) -> tuple[DimensionDelta, ...]:
    before, after = _ratings(previous), _ratings(current)
    return tuple(DimensionDelta(dimension=d, before=before[d], after=after[d]) for d in Dimension)


def facts_of(
    previous: Recommendation,
    current: Recommendation,
    *,
    current_level: LevelOfCare,
    days_in_level: int | None,
) -> TransitionFacts:
    """The transition facts the rules read, from two recommendations and the current level."""
    deltas = _deltas(previous, current)
    return TransitionFacts(
        current_rank=current_level.rank,
        recommended_rank=current.level.rank,
        previous_rank=previous.level.rank,
        safety_flag=any(flag.kind == FlagKind.SAFETY for flag in current.flags),
        dimensions_worse=sum(1 for d in deltas if d.delta > 0),
        dimensions_better=sum(1 for d in deltas if d.delta < 0),
        highest_rating=max(d.after for d in deltas),
        days_in_level=days_in_level,
    )


def _level(value: LevelOfCare | str) -> LevelOfCare:
    try:
        return value if isinstance(value, LevelOfCare) else LevelOfCare.of(value)
    except ValueError:
        allowed = ", ".join(repr(v) for v in LevelOfCare.values())
        msg = f"current_level: must be one of {allowed}"
        raise InvalidReassessment(msg) from None


def reassess(
    previous: Input,
    current: Input,
    *,
    current_level: LevelOfCare | str,
    days_in_level: int | None = None,
    engine: PlacementEngine | None = None,
    rules: TransitionRules | None = None,
) -> Reassessment:
    """Continue, step down, step up or discharge to continuing care, with the reasons.

    ``previous`` and ``current`` are assessments (mappings or :class:`Assessment`) or
    recommendations already made. ``current_level`` is the level the person is in now;
    ``days_in_level`` the days spent there, if known. The decision comes from the
    transition rules (``rules/transitions.json`` unless ``rules`` is given).

    Raises:
        InvalidAssessment: an assessment is not valid.
        InvalidReassessment: ``current_level`` or ``days_in_level`` is not valid.

    """
    level = _level(current_level)
    if days_in_level is not None and (
        isinstance(days_in_level, bool) or not isinstance(days_in_level, int) or days_in_level < 0
    ):
        msg = "days_in_level: must be a whole number of days, 0 or more, or None"
        raise InvalidReassessment(msg)
    eng = engine or default_engine()
    before, now = _recommendation(previous, eng), _recommendation(current, eng)
    table = rules or _rules()
    facts = facts_of(before, now, current_level=level, days_in_level=days_in_level)
    decision, fired = table.decide(facts)
    reasons = tuple(
        TransitionReason(
            rule_id=rule.id,
            title=rule.title,
            text=rule.text,
            decision=rule.then.decision,
            source=str(rule.source),
        )
        for rule in fired
    )
    deciding = tuple(r.rule_id for r in reasons if r.decision == decision)
    justification = None
    if decision in {Transition.STEP_DOWN, Transition.DISCHARGE}:
        justification = " ".join(r.text for r in reasons if r.decision == decision)
    not_yet_safe: tuple[str, ...] = ()
    if decision != Transition.STEP_DOWN and now.level.rank < level.rank:
        not_yet_safe = tuple(r.text for r in reasons if r.decision == decision)
    before_ids = [r.rule_id for r in before.reasons]
    now_ids = [r.rule_id for r in now.reasons]
    return Reassessment(
        decision=decision,
        current_level=level,
        recommended_level=now.level,
        previous_level=before.level,
        days_in_level=days_in_level,
        dimensions=_deltas(before, now),
        rules_fired=tuple(i for i in now_ids if i not in before_ids),
        rules_released=tuple(i for i in before_ids if i not in now_ids),
        flags_raised=tuple(f for f in now.flags if f not in before.flags),
        flags_cleared=tuple(f for f in before.flags if f not in now.flags),
        reasons=reasons,
        deciding=deciding,
        justification=justification,
        not_yet_safe=not_yet_safe,
        transitions=TransitionRulesInfo(version=table.version, sha256=table.sha256),
    )
