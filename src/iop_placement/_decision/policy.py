"""The decision policy, stated once: ``decide(program, algebra) -> Outcome``.

A rule set's decision is the same whatever it is computed over (booleans at one
assessment, decision diagrams over the whole space, Z3 formulas for a proof): stage-1
rules read the answers; a dimension's rating is the highest a fired rating rule gives it;
stage-2 rules read the ratings and the counts of dimensions rated at least r; the level
is the most intensive a fired rule of stages 1-2 supports (else the least intensive);
stage-3 rules read the level. The safety override is in force when a rule raising one
of its flags, or one of its rules, fires; while it is, only the rules ``policy.py``
keeps are shown, and the flags shown are theirs. The alternative is the most intensive
offer of a fired rule below the level, none under the override or with a blocking flag
shown.

Every number is a *ladder*: ``ladder[k]`` holds when the number is at least ``k``
(``ladder[0]`` always holds), so the policy needs nothing but and / or / not and each
rule's condition (:class:`Algebra`); an algebra that has numbers (Z3) reads a ladder back
as one with :func:`ladder_value`. A :class:`DecisionProgram` is the rule set reduced to
what the policy reads: each rule's stage and effect, the override and the blocking flags,
built once from a loaded :class:`~iop_placement._rules.ruleset.RuleSet` or from rule
data as written (the symbolic verifier checks data the loader would refuse).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Generic, Protocol, TypeVar

from iop_placement._decision.override import kept_under_override, kept_under_override_of
from iop_placement._model.levels import Dimension, Flag, LevelOfCare

if TYPE_CHECKING:
    from iop_placement._rules.ruleset import RuleSet

__all__ = [
    "TOP_RATING",
    "Algebra",
    "DecisionProgram",
    "Derived",
    "Effect",
    "Outcome",
    "count",
    "decide",
    "ladder_value",
    "one_of",
]

TOP_RATING: Final = 4  # the highest risk rating
_LEVELS: Final = tuple(level.value for level in sorted(LevelOfCare, key=lambda x: x.rank))

B = TypeVar("B")


class Algebra(Protocol[B]):
    """What the policy needs of a representation of truth values."""

    @property
    def true(self) -> B:
        """Always."""
        ...

    @property
    def false(self) -> B:
        """Never."""
        ...

    def all_of(self, parts: Iterable[B]) -> B:
        """Every part holds (true when there are none)."""
        ...

    def any_of(self, parts: Iterable[B]) -> B:
        """Some part holds (false when there are none)."""
        ...

    def not_(self, part: B) -> B:
        """The part does not hold."""
        ...

    def at_least(self, parts: Sequence[B]) -> list[B]:
        """``[n]``: at least n of ``parts`` hold, n from 0 to len(parts) (:func:`count`)."""
        ...

    def atom(self, rule: str, derived: Derived[B]) -> B:
        """Rule ``rule``'s condition, reading the numbers derived so far."""
        ...


@dataclass(frozen=True, slots=True)
class Effect:
    """One rule as the policy reads it: when it is evaluated and what it does."""

    id: str
    stage: int  # 1: reads answers; 2: reads ratings; 3: reads the decided level
    level: int | None  # the rank of the level it supports
    rating: tuple[str, int] | None  # (dimension, value)
    flags: tuple[str, ...]
    offer: int | None  # the rank of the alternative it offers
    kept: bool | str  # under the override: never, always, or at that level (policy.py)


@dataclass(frozen=True, slots=True)
class DecisionProgram:
    """A rule set reduced to what the decision policy reads; built once per rule set."""

    effects: tuple[Effect, ...]
    override_flags: frozenset[str]
    override_rules: frozenset[str]
    blocking: tuple[str, ...]
    dimensions: tuple[str, ...] = tuple(d.value for d in Dimension)
    flags: tuple[str, ...] = tuple(f.value for f in Flag)
    levels: tuple[str, ...] = _LEVELS
    plan: _Plan = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "plan", _Plan.of(self))

    @classmethod
    def of(cls, rule_set: RuleSet) -> DecisionProgram:
        """The program of a loaded rule set."""
        effects = []
        for rule in rule_set.rules:
            then = rule.then
            effects.append(
                Effect(
                    rule.id,
                    rule.stage,
                    then.level.rank if then.level is not None else None,
                    (then.rating.dimension.value, int(then.rating.value))
                    if then.rating is not None
                    else None,
                    tuple(flag.value for flag in then.flags),
                    then.alternative.level.rank if then.alternative is not None else None,
                    kept_under_override(
                        rule.stage,
                        then.level.value if then.level is not None else None,
                        rates=then.rating is not None,
                        offers=then.alternative is not None,
                    ),
                )
            )
        manifest = rule_set.manifest
        return cls(
            tuple(effects),
            frozenset(flag.value for flag in manifest.safety_override.flags),
            frozenset(manifest.safety_override.rules),
            tuple(flag.value for flag in manifest.alternative_blocked_by_flags),
        )

    @classmethod
    def from_data(
        cls,
        manifest: Mapping[str, Any],
        rules: Sequence[Mapping[str, Any]],
        stage: Callable[[Mapping[str, Any]], int],
    ) -> DecisionProgram:
        """The program of rule data as written; ``stage`` reads a condition's stage."""
        rank = {code: i for i, code in enumerate(_LEVELS)}
        effects = []
        for rule in rules:
            then = rule["then"]
            rating = then.get("rating")
            offer = then.get("alternative")
            rule_stage = stage(rule["when"])
            effects.append(
                Effect(
                    rule["id"],
                    rule_stage,
                    rank[then["level"]] if then.get("level") else None,
                    (rating["dimension"], int(rating["value"])) if rating else None,
                    tuple(then.get("flags", ())),
                    rank[offer["level"]] if offer else None,
                    kept_under_override_of(rule_stage, then),
                )
            )
        override = manifest.get("safety_override", {})
        return cls(
            tuple(effects),
            frozenset(override.get("flags", ())),
            frozenset(override.get("rules", ())),
            tuple(manifest.get("alternative_blocked_by_flags", ())),
        )


@dataclass(slots=True)
class Derived(Generic[B]):
    """The numbers a condition may read, as ladders; filled in stage by stage."""

    ratings: dict[str, list[B]] = field(default_factory=dict)  # dimension -> [0..TOP_RATING]
    counts: dict[int, list[B]] = field(default_factory=dict)  # r -> [0..dimensions]
    level: list[B] = field(default_factory=list)  # [0..levels-1], by rank


class Outcome(Generic[B]):
    """The decision, every part a truth value (numbers as ladders).

    The rules fired, the ratings, counts and level are computed by :func:`decide`; the
    safety override, the rules and flags shown and the alternative on first use (a search
    bounding the level need not build them), by the same statement.
    """

    def __init__(
        self,
        program: DecisionProgram,
        algebra: Algebra[B],
        fired: dict[str, B],
        derived: Derived[B],
    ) -> None:
        self.program = program
        self.algebra = algebra
        self.fired = fired  # by stage, then in the rule set's order
        self.derived = derived

    @property
    def ratings(self) -> dict[str, list[B]]:
        """Each dimension's rating, as a ladder."""
        return self.derived.ratings

    @property
    def level(self) -> list[B]:
        """The level's rank, as a ladder."""
        return self.derived.level

    @functools.cached_property
    def override(self) -> B:
        """The safety override is in force (a rule raising its flags, or its rule, fired)."""
        return self.algebra.any_of(self.fired[rule] for rule in self.program.plan.overriding)

    @functools.cached_property
    def shown(self) -> dict[str, B]:
        """Each rule fired and the safety override keeps it (its reason and flags shown)."""
        algebra, fired = self.algebra, self.fired
        stays = algebra.not_(self.override)
        level_is = [one_of(algebra, self.level, rank) for rank in range(len(self.program.levels))]
        return {
            e.id: fired[e.id]
            if e.kept is True
            else algebra.all_of((fired[e.id], algebra.any_of((stays, _kept(algebra, e, level_is)))))
            for e in self.program.effects
        }

    @functools.cached_property
    def flags(self) -> dict[str, B]:
        """Each flag is shown: a rule raising it is shown."""
        shown = self.shown
        return {
            flag: self.algebra.any_of(shown[rule] for rule in rules)
            for flag, rules in self.program.plan.raising.items()
        }

    @functools.cached_property
    def blocked(self) -> B:
        """No alternative: the override is in force or a blocking flag is shown."""
        flags = self.flags
        blocking = (flags[flag] for flag in self.program.blocking)
        return self.algebra.any_of((self.override, *blocking))

    @functools.cached_property
    def alternative(self) -> list[B]:
        """``[k]``: an alternative of rank k or more is offered.

        The most intensive offer of a fired rule below the level, unless blocked.
        """
        algebra, fired = self.algebra, self.fired
        above = [*self.level[1:], algebra.false]  # above[r]: the level is above rank r
        free = algebra.not_(self.blocked)
        return [
            algebra.all_of(
                (
                    free,
                    algebra.any_of(
                        algebra.all_of((fired[rule], above[rank])) for rule, rank in offers
                    ),
                )
            )
            for offers in self.program.plan.offers
        ]


def one_of(algebra: Algebra[B], ladder: Sequence[B], k: int) -> B:
    """The number ``ladder`` stands for is exactly ``k``."""
    if k + 1 < len(ladder):
        return algebra.all_of((ladder[k], algebra.not_(ladder[k + 1])))
    return ladder[k]


def ladder_value(ladder: Sequence[B], one: Callable[[B], Any], start: Any) -> Any:  # noqa: ANN401
    """The number a ladder stands for: ``start`` plus one for each rung above 0 that holds."""
    total = start
    for rung in ladder[1:]:
        total = total + one(rung)
    return total


def count(algebra: Algebra[B], parts: Sequence[B]) -> list[B]:
    """``[n]``: at least n of ``parts`` hold, for n from 0 to len(parts), by and / or.

    Any algebra's :meth:`Algebra.at_least` may be this; one with numbers may count faster.
    """
    ladder = [algebra.true] + [algebra.false] * len(parts)
    for part in parts:
        ladder = [ladder[0]] + [
            algebra.any_of((ladder[n], algebra.all_of((ladder[n - 1], part))))
            for n in range(1, len(ladder))
        ]
    return ladder


def decide(program: DecisionProgram, algebra: Algebra[B]) -> Outcome[B]:
    """The decision of ``program`` in ``algebra``: the policy, the one time it is written."""
    plan = program.plan
    fired: dict[str, B] = {}
    derived: Derived[B] = Derived()
    for rule in plan.stages[0]:
        fired[rule] = algebra.atom(rule, derived)
    # A dimension's rating: the highest a fired (stage-1) rating rule gives it.
    for dimension, raters in plan.raters.items():
        derived.ratings[dimension] = [algebra.true] + [
            algebra.any_of(fired[rule] for rule in rules) for rules in raters
        ]
    for k in range(1, TOP_RATING + 1):
        derived.counts[k] = algebra.at_least([derived.ratings[d][k] for d in program.dimensions])
    for rule in plan.stages[1]:
        fired[rule] = algebra.atom(rule, derived)
    # The level: the most intensive a fired rule of stages 1-2 supports.
    derived.level = [algebra.true] + [
        algebra.any_of(fired[rule] for rule in rules) for rules in plan.placers
    ]
    for rule in plan.stages[2]:
        fired[rule] = algebra.atom(rule, derived)
    # The safety override, its filter, the flags and the alternative: see Outcome.
    return Outcome(program, algebra, fired, derived)


@dataclass(frozen=True, slots=True)
class _Plan:
    """A program's rules grouped as the policy reads them (built once, for speed)."""

    stages: tuple[tuple[str, ...], ...]  # rule ids by stage
    raters: dict[str, tuple[tuple[str, ...], ...]]  # dimension -> [k-1]: rating >= k
    placers: tuple[tuple[str, ...], ...]  # [rank-1]: stage 1-2, supporting rank or more
    overriding: tuple[str, ...]  # put the safety override in force when fired
    raising: dict[str, tuple[str, ...]]  # flag -> the rules raising it
    offers: tuple[tuple[tuple[str, int], ...], ...]  # [k]: (rule, rank) offering k or more

    @classmethod
    def of(cls, program: DecisionProgram) -> _Plan:
        effects = program.effects
        stages = tuple(tuple(e.id for e in effects if e.stage == s) for s in (1, 2, 3))
        first = [e for e in effects if e.stage == 1]
        return cls(
            stages,
            {
                dimension: tuple(
                    tuple(
                        e.id
                        for e in first
                        if e.rating is not None and e.rating[0] == dimension and e.rating[1] >= k
                    )
                    for k in range(1, TOP_RATING + 1)
                )
                for dimension in program.dimensions
            },
            tuple(
                tuple(
                    e.id for e in effects if e.stage < 3 and e.level is not None and e.level >= rank
                )
                for rank in range(1, len(program.levels))
            ),
            tuple(
                e.id
                for e in effects
                if e.id in program.override_rules or program.override_flags & set(e.flags)
            ),
            {flag: tuple(e.id for e in effects if flag in e.flags) for flag in program.flags},
            tuple(
                tuple((e.id, e.offer) for e in effects if e.offer is not None and e.offer >= k)
                for k in range(len(program.levels))
            ),
        )


def _kept(algebra: Algebra[B], effect: Effect, level_is: Sequence[B]) -> B:
    if isinstance(effect.kept, str):
        return level_is[LevelOfCare.of(effect.kept).rank]
    return algebra.true if effect.kept else algebra.false
