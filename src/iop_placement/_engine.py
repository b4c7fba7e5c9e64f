"""PlacementEngine: runs a rule set on a backend and assembles the recommendation.

The engine knows nothing clinical, and does not state the policy either: that is
``decide()`` (``_decision/policy.py``), run once per rule set over fired-rule sets
(``_algebras/fired_sets.py``); every table below is read off its result. The policy, the
same for any rule set:

1. Rules that read only answers run first. Rating rules among them give dimensions a risk
   rating: each dimension's rating is the highest any fired rating rule gives it, else 0.
   From the ratings the engine derives, for each k, how many dimensions are rated at
   least k.
2. Rules that read ratings or those counts run next.
3. The level is the most intensive level any rule of stages 1-2 supports, or the least
   intensive level when none does. Rules that read that decided level (flags and
   alternatives about feasibility) run last.
4. The alternative is the most intensive of the alternatives offered that is below the
   level; none is offered when a flag the manifest lists in
   ``alternative_blocked_by_flags`` is raised, or while the manifest's safety override is
   in force (one of its flags raised or one of its rules fired). Under the override the
   recommendation keeps only the reasons for the decided level, the rating reasons and
   the rules that only raise flags (``_decision/override.py``): nothing that suggests
   weighing a lower level.

Recommendations are immutable, so their parts are shared (bounded, thread-safe): the
level, flags, alternative and override follow from the fired rules other than plain
rating rules and are built once per such set; each dimension's rating once per set of
rating rules behind it; and each rule hands out the same reason again for the same facts.
"""

from __future__ import annotations

import functools
import itertools
import operator
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

from iop_placement._algebras.fired_sets import (
    Expr,
    FiredSets,
    PolicyShapeError,
    Some,
    as_mask,
    evaluate_all,
    masks,
    restrict_all,
    support,
)
from iop_placement._backends.base import Backend, Matcher
from iop_placement._backends.facts import (
    check_fact_keys,
    encode,
    encode_changes,
    encode_validated,
    fact_keys,
    fact_name,
)
from iop_placement._backends.selection import matcher, resolve
from iop_placement._decision.policy import DecisionProgram, Outcome, decide, ladder_value
from iop_placement._model.assessment import Assessment
from iop_placement._model.fields import (
    DECIDED_LEVEL,
    DERIVED_NAMES,
    FactValue,
    count_field,
    field_specs,
    rating_field,
)
from iop_placement._model.levels import Dimension, Flag, LevelOfCare, RiskRating
from iop_placement._model.recommendation import Alternative, DimensionRating, Reason, Recommendation
from iop_placement._model.record import RulesetInfo
from iop_placement._model.validation import parse_assessment, parse_partial
from iop_placement._rules.asam import correspondence
from iop_placement._rules.bundled import bundled_rules
from iop_placement._rules.normal_form import normal_form
from iop_placement._rules.ruleset import Rule, RuleSet, load_rule_set

if TYPE_CHECKING:  # explain() and provisional() load theirs on first call, not every import
    from iop_placement._analysis.provisional import ProvisionalSearch
    from iop_placement._analysis.provisional_diagrams import DiagramSearch
    from iop_placement._model.explanation import Explanation
    from iop_placement._model.provisional import Provisional

__all__ = ["PlacementEngine", "default_engine"]

_ENGINES: Final = itertools.count(1)


# Reasons repeat: the facts a rule reports come from small sets of answers. Each rule keeps
# the reasons it has built, up to this many, and hands out the same immutable object again.
_REASONS_PER_RULE: Final = 2048
_SHARED_LIMIT: Final = 8192
# The ASAM parts kept by (head, rating key), over all heads: a count shared by the heads.
_ASAM_KEPT: Final = 8 * _SHARED_LIMIT
_RANK_STEP: Final = 1 << 16  # above any rule's order (durable-rules holds 4,096 rules)
_SORT_KEY: Final = operator.attrgetter("sort_key")
_MISSING: Final = object()
_T = TypeVar("_T")
# Iterating an Enum class is slow; the engine iterates these on every call.
_DIMENSIONS: Final = tuple(Dimension)
_POSITIONS: Final = tuple(range(len(_DIMENSIONS)))
_RATINGS: Final = int(max(RiskRating)) + 1  # ratings 0..4
_FLAGS: Final = tuple(Flag)


@dataclass(slots=True, eq=False)
class _Prepared:
    """What the engine needs of one rule, worked out once per rule set."""

    rule: Rule
    order: int
    source: str
    # The triggering fields when they do not depend on the answers (no "any" inside).
    static_facts: tuple[str, ...] | None
    stage: int
    level: LevelOfCare | None
    rank: int  # the level's rank, -1 for a rule that sets no level
    dimension: Dimension | None
    position: int  # the dimension's position in Dimension, -1 for a rule that rates none
    rating: int
    flags: tuple[Flag, ...]
    reads: frozenset[Dimension]  # the dimensions whose rating the condition reads
    # The answers of every field the condition reads, as one tuple (for a dynamic rule
    # they decide which fields triggered it); whether any of them is a list (unhashable).
    answers_of: Callable[[Mapping[str, Any]], tuple[Any, ...]] | None
    lists: bool
    # What a reason is kept by: the answers read, all scalars (a bare value for one field).
    key_of: Callable[[Mapping[str, Any]], Any] | None
    # Reasons come most intensive level first, then in file order: one int to sort by.
    sort_key: int
    # A set of fired rules is one int; each rule's bit is its place in the reasons' order,
    # so the set bits, lowest first, are the reasons in order (set by the engine).
    bit: int = 0
    reasons: dict[Any, Reason] = field(default_factory=dict)

    @classmethod
    def of(cls, rule: Rule, order: int) -> _Prepared:
        dynamic = '"any"' in rule.when.model_dump_json(by_alias=True)
        then = rule.then
        names = rule.when.fields()
        specs = field_specs(with_decided_level=True, with_derived=True)
        lists = any(specs[name].kind == "choices" for name in names if name in specs)
        return cls(
            rule=rule,
            order=order,
            source=str(rule.source),
            static_facts=None if dynamic else names,
            stage=rule.stage,
            level=then.level,
            rank=then.level.rank if then.level is not None else -1,
            dimension=then.rating.dimension if then.rating is not None else None,
            position=_DIMENSIONS.index(then.rating.dimension) if then.rating is not None else -1,
            rating=int(then.rating.value) if then.rating is not None else 0,
            flags=then.flags,
            reads=frozenset(d for d in Dimension if rating_field(d.value) in names),
            answers_of=_answers_of(names) if names else None,
            lists=lists,
            key_of=None if lists or not names else operator.itemgetter(*names),
            sort_key=-(then.level.rank if then.level is not None else -1) * _RANK_STEP + order,
        )

    def reason(self, values: Mapping[str, Any]) -> Reason:
        # A reason follows from the answers of the fields the condition reads: which of
        # them triggered a dynamic rule (an "any" inside) is worked out only on a miss.
        if self.key_of is not None:  # the usual case: the same scalar fields every time
            key: Any = self.key_of(values)
        elif self.answers_of is not None:
            key = tuple(map(_hashable, self.answers_of(values)))
        else:  # a condition that reads no field
            key = ()
        cached = self.reasons.get(key)
        if cached is not None:
            return cached
        names = self.static_facts
        if names is None:
            names = self.rule.when.triggering(values)
        facts: dict[str, FactValue] = {name: values[name] for name in names}
        # Validating is faster than model_construct in Pydantic 2.14 (measured), and safer.
        reason = Reason(
            rule_id=self.rule.id,
            title=self.rule.title,
            level=self.level,
            dimension=self.dimension,
            rating=self.rating if self.dimension is not None else None,
            flags=self.flags,
            text=self.rule.text,
            facts=facts,
            source=self.source,
        )
        if len(self.reasons) < _REASONS_PER_RULE:
            self.reasons[key] = reason
        return reason


def _no_key(values: Mapping[str, Any]) -> object:  # noqa: ARG001 - key_of's signature
    return _MISSING


def _looked_up(
    p: _Prepared,
) -> tuple[Callable[[Mapping[str, Any]], Any], dict[Any, Reason], _Prepared]:
    """How the engine looks up a rule's shared reason: its key, its reasons, the rule.

    A rule without a scalar key (a list field, or no field) finds nothing and builds its
    reason with :meth:`_Prepared.reason`, which keeps its own.
    """
    return (p.key_of or _no_key, p.reasons, p)


def _answers_of(names: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """The answers to ``names``, always as a tuple (itemgetter gives a bare value for one)."""
    if len(names) == 1:
        (name,) = names
        return lambda values: (values[name],)
    return operator.itemgetter(*names)


def _hashable(value: Any) -> Any:  # noqa: ANN401 - an answer
    return tuple(value) if isinstance(value, list) else value


@dataclass(frozen=True, slots=True)
class _Head:
    """What a recommendation takes from the fired rules that decide more than a reason.

    Everything but the reasons, the ratings and the flags (level, alternative, override,
    which rules are shown, which are the basis of the ASAM codes) follows from the decided
    level and, among the fired rules, those the policy's parts read at that level
    (:attr:`_Policy.reads`: for the bundled rules those that offer an alternative below
    it, raise a flag that blocks one or put the safety override in force) and those of
    the decided level: any other rule adds only its reason, and its flags (looked up
    apart, by the fired rules the head's flags read). Far fewer combinations than all
    fired rules together (random answers rarely repeat those).
    """

    level: LevelOfCare
    shown: int  # the rules whose reasons (and flags) are shown when they fire (bits)
    flag_rules: int  # the rules the flags shown read, beyond the head's (bits)
    flag_code: int  # the head's kind of flags, above every rule's and marker's bit
    fields: dict[str, Any]  # every field in the model's order; the per-call ones as None
    # Each deciding rule's id and the dimensions whose rating it reads (positions).
    deciding: tuple[tuple[str, tuple[int, ...]], ...]
    reads: tuple[tuple[int, ...], ...]  # the second of each of those, for the hot path
    asam: dict[tuple[int, ...], object] = field(default_factory=dict)  # by basis (bits)
    # The same, by the rating rules fired (the engine's rating key): one look-up per call.
    asam_by_rating: dict[int, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Rated:
    """What one set of fired stage-1 rating rules gives, worked out once (shared, bounded)."""

    ratings: tuple[int, ...]  # in Dimension order
    fact: dict[str, int]  # the derived pseudo-fields, by fact key (read-only once built)
    values: dict[str, int]  # the same, by field name
    giving: int  # the rating rules that give each dimension its rating (bits)
    code: int  # the ratings as one int, above every rule's and marker's bit


@dataclass(frozen=True, slots=True)
class _Behind:
    """Each dimension's rating rules behind its rating (bits) and the ratings, shared."""

    behind: list[int]  # never changed once built
    dimensions: tuple[DimensionRating, ...]


def _nothing(fact: Mapping[str, Any]) -> int:  # noqa: ARG001 - a phase without rules
    return 0


def _mask_of(phase: _Phase) -> Callable[[Mapping[str, Any]], int]:
    """The phase's matcher's ``mask``, bound (no rules: always 0)."""
    return _nothing if phase.matcher is None else phase.matcher.mask


class _Phase:
    """The rules of one phase, compiled for one backend (each rule weighed by its bit)."""

    def __init__(self, name: str, prepared: list[_Prepared], backend: Backend) -> None:
        specs = field_specs(with_decided_level=True, with_derived=True)
        self.by_name = {f"r{index}": p for index, p in enumerate(prepared)}
        conditions = {n: normal_form(p.rule.when, specs) for n, p in self.by_name.items()}
        weights = {n: p.bit for n, p in self.by_name.items()}
        self.matcher: Matcher | None = (
            matcher(backend, name, conditions, weights) if prepared else None
        )
        self.keys = frozenset(k for c in conditions.values() for k in fact_keys(c))  # read

    def fired(self, fact: Mapping[str, Any]) -> list[_Prepared]:
        """The rules that fire, in the order the backend gives."""
        if self.matcher is None:
            return []
        by_name = self.by_name
        return [by_name[name] for name in self.matcher.fired(fact)]

    def mask(self, fact: Mapping[str, Any]) -> int:
        """The rules that fire, as the sum of their bits."""
        return 0 if self.matcher is None else self.matcher.mask(fact)


def _value(ladder: tuple[int, ...], fired: int) -> int:
    """The number a ladder of masks (rungs from 1) stands for when the rules ``fired`` fired."""
    return int(ladder_value((-1, *ladder), lambda rung: fired & rung != 0, 0))


class _RatingOf(dict[int, int]):
    """One dimension's fired rating rules (bits) -> its rating, worked out on first sight."""

    def __init__(self, ladder: tuple[int, ...]) -> None:
        super().__init__()
        self._ladder = ladder  # [k-1]: the rules that make the rating at least k (nested)

    def __missing__(self, fired: int) -> int:
        rating = _value(self._ladder, fired)
        if len(self) < _SHARED_LIMIT:  # at most one entry per subset of the dimension's rules
            self[fired] = rating
        return rating


class _Built(dict[int, _T]):
    """Parts built from an int key on first sight, then shared.

    Bounded: past the limit a new key's part is built each time. The parts are immutable;
    a race builds one twice and keeps one.
    """

    def __init__(self, build: Callable[[int], _T]) -> None:
        super().__init__()
        self._build = build

    def __missing__(self, key: int) -> _T:
        value = self._build(key)
        if len(self) < _SHARED_LIMIT:
            self[key] = value
        return value


class _Bits:
    """What sets of fired rules (ints of rule bits) decide, read off ``decide()`` once.

    Over :class:`FiredSets` the policy's ratings and level are ladders whose rungs are
    "some rule of a mask fired": the masks are the tables, looked up without a loop.
    """

    def __init__(self, prepared: list[_Prepared], outcome: Outcome[Expr]) -> None:
        self.levels = {level.rank: level for level in LevelOfCare}
        # Each dimension's rating ladder: [k-1] the rating rules that give it k or more.
        ladders = tuple(
            tuple(
                as_mask(rung, f"the rating of {d.value} being at least {k}")
                for k, rung in enumerate(outcome.ratings[d.value][1:], 1)
            )
            for d in _DIMENSIONS
        )
        self.rating_rules = tuple(ladder[0] for ladder in ladders)
        # For each rating, the rules behind it: those that make it that and no more; at
        # 0 (which every dimension is at least, so no ladder names them) those giving 0.
        self.giving = tuple(
            (
                sum(p.bit for p in prepared if p.position == i and p.rating == 0),
                *(rung & ~above for rung, above in zip(ladder, (*ladder[1:], 0), strict=True)),
            )
            for i, ladder in enumerate(ladders)
        )
        # Per dimension: its fired rating rules (bits) -> its rating, filled on first sight.
        self._ratings = tuple(zip(map(_RatingOf, ladders), self.rating_rules, strict=True))
        # How many dimensions are rated at least k: a ladder over each dimension's rung k.
        self._counts = {
            k: (ladder, [rungs[k - 1] for rungs in ladders])
            for k, ladder in outcome.derived.counts.items()
        }
        for k, (ladder, rungs) in self._counts.items():
            # Read at rules that make exactly the counted dimensions' rungs k hold: exact
            # when each part of the ladder is about whole rungs k, checked once here.
            whole = functools.reduce(operator.or_, rungs, 0)
            for mask in set().union(*map(masks, ladder)):
                if mask & ~whole or any(mask & rung not in (0, rung) for rung in rungs):
                    msg = (
                        f"the count of dimensions rated at least {k} reads more than their ratings"
                    )
                    raise PolicyShapeError(msg)
        # Per k: the dimensions rated at least k (bits) -> how many, on first sight.
        self._count_of: dict[int, dict[int, int]] = {k: {} for k in self._counts}
        # DERIVED_NAMES' order, of the ratings then the counts.
        names = [rating_field(d.value) for d in _DIMENSIONS]
        names += [count_field(k) for k in self._counts]
        self._order = tuple(map(names.index, DERIVED_NAMES))
        self._derived: dict[tuple[int, ...], tuple[int, ...]] = {}
        # The level's ladder: [k-1] the rules of stages 1-2 that support rank k or more.
        self.level_ladder = tuple(
            as_mask(rung, f"the level being at least {k}")
            for k, rung in enumerate(outcome.level[1:], 1)
        )
        self.leveled = self.level_ladder[0] if self.level_ladder else 0
        self.rank_of: dict[int, int] = {}
        low_rank = len(self.level_ladder)
        bits = self.leveled
        while bits:  # lowest bit first: the reasons' order, most intensive level first
            low = bits & -bits
            bits ^= low
            rank = _value(self.level_ladder, low)
            if rank > low_rank:  # the engine's bit order, checked once: never expected
                msg = "the rules' bits are not in order of the level they support"
                raise AssertionError(msg)
            self.rank_of[low] = low_rank = rank

    def rank(self, mask: int) -> int:
        """The rank of the level the rules in ``mask`` decide (the lowest bit: the highest)."""
        low = mask & self.leveled
        return self.rank_of[low & -low] if low else 0

    def ratings(self, mask: int) -> tuple[int, ...]:
        """Each dimension's rating: the highest any of its fired rating rules gives."""
        return tuple([rating_of[mask & rules] for rating_of, rules in self._ratings])

    def derived(self, ratings: tuple[int, ...]) -> tuple[int, ...]:
        """:data:`DERIVED_NAMES`' values for ``ratings`` (shared, bounded)."""
        found = self._derived.get(ratings)
        if found is None:
            values = list(ratings)
            for k, counted in self._count_of.items():
                rated = 0
                for i, rating in enumerate(ratings):
                    if rating >= k:  # the dimension's rung k holds
                        rated |= 1 << i
                count = counted.get(rated)
                values.append(self._count(k, rated) if count is None else count)
            found = tuple(map(values.__getitem__, self._order))
            if len(self._derived) < _SHARED_LIMIT:
                self._derived[ratings] = found
        return found

    def _count(self, k: int, rated: int) -> int:
        """The policy's count of dimensions rated at least ``k``; ``rated``: those (bits).

        The count ladder read where exactly those dimensions' rungs ``k`` hold.
        """
        ladder, rungs = self._counts[k]
        fired = 0
        for i, rung in enumerate(rungs):
            if rated >> i & 1:
                fired |= rung
        held = evaluate_all(ladder, fired)
        found = self._count_of[k][rated] = int(ladder_value(held, operator.truth, 0))
        return found


@dataclass(frozen=True, slots=True)
class _Stages:
    """The two level-deciding phases on one backend: stage 1, the ratings, stage 2."""

    answers: _Phase
    placement: _Phase
    bits: _Bits
    derived_keys: tuple[str, ...]  # the fact keys of DERIVED_NAMES

    def run(self, fact: dict[str, Any]) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
        """The rules fired (bits), the ratings (in Dimension order) and what they derive.

        The derived pseudo-fields are written into ``fact`` for the later stages.
        """
        mask = self.answers.mask(fact)
        bits = self.bits
        ratings = bits.ratings(mask)
        derived = bits.derived(ratings)
        fact.update(zip(self.derived_keys, derived, strict=True))
        return mask | self.placement.mask(fact), ratings, derived

    def level(self, fact: dict[str, Any]) -> LevelOfCare:
        """The level for a flat fact."""
        bits = self.bits
        return bits.levels[bits.rank(self.run(fact)[0])]


class _LevelSearch:
    """The searches' level-only path: stage 1, then stage 2 looked up by what it reads.

    Stage 2 reads the ratings and a few answers, which the variations a search tries share
    far more often than not: its outcome for each such input is kept (bounded).
    """

    def __init__(self, stages: _Stages) -> None:
        self._stages = stages
        self._answer_keys = tuple(sorted(stages.placement.keys - set(stages.derived_keys)))
        self._ranks: dict[tuple[Any, ...], int] = {}

    def level(self, fact: dict[str, Any]) -> LevelOfCare:
        stages = self._stages
        bits = stages.bits
        mask = stages.answers.mask(fact)
        ratings = bits.ratings(mask)
        key = (*ratings, *map(fact.__getitem__, self._answer_keys))
        placed = self._ranks.get(key)
        if placed is None:
            fact.update(zip(stages.derived_keys, bits.derived(ratings), strict=True))
            placed = bits.rank(stages.placement.mask(fact))
            if len(self._ranks) < _SHARED_LIMIT:
                self._ranks[key] = placed
        return bits.levels[max(bits.rank(mask), placed)]


@dataclass(frozen=True, slots=True)
class _Decided:
    """What the policy leaves decided by a head's rules (see :meth:`_Policy.head`)."""

    override: bool
    alternative: int | None  # the rank of the alternative offered, if one is
    shown: int  # the rules kept (bits): known and shown, or unknown and shown when fired
    # Each flag: whether it is shown whatever else fired, else the rules (bits) of which
    # one firing shows it.
    flags: tuple[tuple[Flag, bool, int], ...]


class _Policy:
    """The parts of the decision a head holds, read off ``decide()`` over fired-rule sets.

    A head is kept by the decided level and the fired rules among those its parts read
    (:attr:`reads`): each part, restricted to what the head knows, is a constant (the
    override, the alternative), "this rule fired" (a rule shown) or "some rule of a mask
    fired" (a flag). Nothing here states the policy: ``decide()`` does, once.
    """

    def __init__(self, prepared: list[_Prepared], outcome: Outcome[Expr], ranks: int) -> None:
        self._bits = [p.bit for p in prepared]
        flag_of = {flag.value: flag for flag in _FLAGS}
        self._flags = [flag_of[flag] for flag in outcome.flags]
        # The parts, in this order: the override, the alternative's ladder, each rule
        # shown, each flag shown.
        parts = [
            outcome.override,
            *outcome.alternative,
            *(outcome.shown[p.rule.id] for p in prepared),
            *outcome.flags.values(),
        ]
        self._offers = slice(1, 1 + len(outcome.alternative))
        self._shown = slice(self._offers.stop, self._offers.stop + len(prepared))
        self._flagged = slice(self._shown.stop, None)
        ladder = [as_mask(rung, "the level") for rung in outcome.level[1:]]
        # Once the level is decided, so is each rung of its ladder: the parts at each.
        self._parts = {
            rank: restrict_all(parts, 0, 0, [(rung, k <= rank) for k, rung in enumerate(ladder, 1)])
            for rank in range(ranks)
        }
        # The rules each decided level's head is kept by: those its parts read (a rule
        # shown, beyond itself), and (for the ASAM basis) the rules supporting that level.
        self.reads = {
            rank: self._read(rank) | sum(p.bit for p in prepared if p.rank == rank)
            for rank in range(ranks)
        }
        # A part's restriction follows from the known rules it reads: the parts grouped
        # by those, each group's restrictions kept by the ones of them that fired.
        self._groups = {rank: self._group(rank) for rank in range(ranks)}
        self._places = len(parts).bit_length()
        self._left: dict[int, dict[int, tuple[int, list[tuple[int, Expr]]]]] = {
            rank: {} for rank in range(ranks)
        }
        self._size = len(parts)

    def _group(self, rank: int) -> list[tuple[int, list[int], list[Expr]]]:
        by_reads: dict[int, tuple[list[int], list[Expr]]] = {}
        for place, part in enumerate(self._parts[rank]):
            places, parts = by_reads.setdefault(support(part) & self.reads[rank], ([], []))
            places.append(place)
            parts.append(part)
        return [(reads, places, parts) for reads, (places, parts) in by_reads.items()]

    def _restrict(
        self, places: list[int], parts: list[Expr], known: int, fired: int
    ) -> tuple[int, list[tuple[int, Expr]]]:
        """A group of parts restricted: the rules shown (bits), and the other parts left."""
        shown, others = 0, []
        first = self._shown.start
        for place, part in zip(places, restrict_all(parts, known, fired), strict=True):
            if not first <= place < self._shown.stop:
                others.append((place, part))
            elif part is True or part == Some(self._bits[place - first]):
                shown |= self._bits[place - first]
            elif part is not False:
                msg = "a rule's being shown reads more than the head's rules and itself"
                raise PolicyShapeError(msg)
        return shown, others

    def _read(self, rank: int) -> int:
        parts = self._parts[rank]
        found = 0
        for part in parts[: self._shown.start]:
            found |= support(part)
        for bit, part in zip(self._bits, parts[self._shown], strict=True):
            found |= support(part) & ~bit
        return found

    def head(self, rank: int, fired: int) -> _Decided:
        """The parts at level ``rank`` when of the rules :attr:`reads` those of ``fired`` fired."""
        known, cache = self.reads[rank], self._left[rank]
        left: list[Expr] = [False] * self._size
        shown = 0
        for group, (reads, places, parts) in enumerate(self._groups[rank]):
            key = (fired & reads) << self._places | group
            found = cache.get(key)
            if found is None:
                found = self._restrict(places, parts, known, fired)
                if len(cache) < _SHARED_LIMIT:
                    cache[key] = found
            shown |= found[0]
            for place, part in found[1]:
                left[place] = part
        override, offered = left[0], left[self._offers]
        if not isinstance(override, bool) or not all(isinstance(o, bool) for o in offered):
            msg = "the override or the alternative reads more than the head's rules"
            raise PolicyShapeError(msg)
        flags = tuple(
            (flag, part is True, 0 if part is True else as_mask(part, f"the flag {flag.value}"))
            for flag, part in zip(self._flags, left[self._flagged], strict=True)
        )
        alternative = (
            int(ladder_value(offered, lambda rung: rung is True, 0)) if offered[0] else None
        )
        return _Decided(override, alternative, shown, flags)


class PlacementEngine:
    """Recommends a level of care with one rule set; safe to share between threads.

    Engines built from different rule directories are fully isolated from each other.
    """

    def __init__(
        self, rule_set: RuleSet, *, backend: Backend | None = None, monotone: bool | None = None
    ) -> None:
        check_fact_keys()
        # The bundled rules are proved monotone (the test suite runs `verify` on them).
        self.monotone = _is_bundled(rule_set) if monotone is None else monotone
        self.backend: Backend = resolve(backend)
        self._rule_set = rule_set
        self._info = RulesetInfo(
            name=rule_set.name, version=rule_set.version, sha256=rule_set.sha256
        )
        self._asam_rules = frozenset(rule_set.asam.rules) if rule_set.asam else frozenset()
        prepared = [_Prepared.of(rule, order) for order, rule in enumerate(rule_set.rules)]
        for place, p in enumerate(sorted(prepared, key=_SORT_KEY)):
            p.bit = 1 << place
        # The policy, over sets of fired rules: every table below is read off it.
        outcome = decide(
            DecisionProgram.of(rule_set), FiredSets({p.rule.id: p.bit for p in prepared})
        )
        bits = _Bits(prepared, outcome)
        self._levels = bits.levels
        self._policy = _Policy(prepared, outcome, len(self._levels))
        # Immutable parts of recommendations, shared (bounded): by the fired rules other
        # than plain rating rules, and by (dimension, rating, the rules behind it).
        self._heads: dict[int, _Head] = {}
        self._parts: dict[tuple[Any, ...], object] = {}
        derived_keys = tuple(map(fact_name, DERIVED_NAMES))
        # What a head is kept by (see _Head): for each decided level, the rules its parts
        # read; then the level's rank, above every rule's bit.
        self._head_masks = self._policy.reads
        self._head_ranks = {rank: (rank + 1) << (len(prepared) + 1) for rank in self._levels}
        # The flags shown, by the fired rules a head's flags read and the head's kind of
        # flags (a code above every rule's bit): see _Head.flag_code.
        self._flag_kinds: dict[tuple[tuple[Flag, bool, int], ...], int] = {}
        self._flag_kinds_lock = threading.Lock()
        self._flag_of: list[tuple[tuple[Flag, bool, int], ...]] = []
        self._flag_sets = _Built(self._flags)
        self._listed = sum(p.bit for p in prepared if p.rule.id in self._asam_rules)
        self._by_bit = {p.bit: p for p in prepared}
        self._all_rules = (1 << len(prepared)) - 1
        # Each dimension's bits of rating rules start from a marker bit of its own (above
        # every rule's), so that the bits alone say which dimension and rating they give.
        self._unrated = tuple(1 << (len(prepared) + i) for i in _POSITIONS)
        self._dimensions: dict[int, DimensionRating] = {}
        tag = f"{rule_set.name}@{rule_set.version}#{next(_ENGINES)}"
        self._answers = _Phase(
            f"{tag}/answers", [p for p in prepared if p.stage == 1], self.backend
        )
        self._placement = _Phase(
            f"{tag}/placement", [p for p in prepared if p.stage == 2], self.backend
        )
        self._context = _Phase(
            f"{tag}/context", [p for p in prepared if p.stage == 3], self.backend
        )
        self._stages = _Stages(self._answers, self._placement, bits, derived_keys)
        self._hot_path(prepared, bits)
        self._prepared = prepared
        self._tag = tag
        # The searches' fast path: the same stages compiled to Python (built on first use).
        self._level_search: _LevelSearch | None = (
            _LevelSearch(self._stages) if self.backend == "compiled" else None
        )
        self._search: DiagramSearch | ProvisionalSearch | None = None
        self._search_lock = threading.Lock()

    def _hot_path(self, prepared: list[_Prepared], bits: _Bits) -> None:
        """Bind recommend()'s hot path once.

        The phases' masks, the fired rules' places, and the parts that follow from the
        fired rating rules, shared (bounded).
        """
        self._answers_mask = _mask_of(self._answers)
        self._placement_mask = _mask_of(self._placement)
        self._context_mask = _mask_of(self._context) if self._context.matcher else None
        self._rating_bits = sum(bits.rating_rules)
        self._width = len(prepared) + len(_POSITIONS)  # above every rule's and marker's bit
        self._level_codes = {rank: level.value for rank, level in self._levels.items()}
        self._rated = _Built(self._rate)
        self._by_ratings: dict[tuple[int, ...], _Rated] = {}
        self._behind = _Built(self._rated_behind)
        self._asam_kept = itertools.count()
        # The fired rules of a mask read eight bits at a time: for each byte of the mask and
        # each value of that byte, its rules, lowest bit first.
        self._bytes = (len(prepared) + 7) // 8
        self._by_byte = tuple(
            tuple(
                tuple(
                    _looked_up(self._by_bit[1 << (8 * place + i)])
                    for i in range(8)
                    if byte >> i & 1 and 8 * place + i < len(prepared)
                )
                for byte in range(256)
            )
            for place in range(self._bytes)
        )

    @classmethod
    def from_directory(
        cls,
        directory: Traversable | str,
        *,
        backend: Backend | None = None,
        monotone: bool | None = None,
    ) -> PlacementEngine:
        """An engine for the rule set in ``directory`` (see ``rules/`` for the format).

        ``backend`` is "durable" (durable-rules, the default) or "compiled" (the same
        rules as one generated Python function); the environment variable
        ``IOP_PLACEMENT_BACKEND`` sets the default. Both give identical results.

        ``monotone=True`` says that ``iop-placement verify`` proves the rule set monotone,
        which lets ``explain()`` skip goal sets that cannot lower the level (same answers,
        far fewer evaluations). The default is True for the bundled rules only; a rule set
        that is not monotone must not be declared so: its explanations could miss goals.

        Raises:
            RuleSetError: when a rule file is malformed.

        """
        return cls(load_rule_set(directory), backend=backend, monotone=monotone)

    @property
    def rule_set(self) -> RuleSet:
        """The rule set this engine runs."""
        return self._rule_set

    @property
    def ruleset_info(self) -> RulesetInfo:
        """Name, version and content hash of the rule set."""
        return self._info

    def recommend(self, assessment: Assessment | Mapping[str, Any]) -> Recommendation:
        """Recommend a level of care for one assessment.

        Raises:
            InvalidAssessment: when ``assessment`` is not a valid assessment.
            PlacementError: when the rule engine itself fails.

        """
        return self._recommend_values(*encode_validated(parse_assessment(assessment).__dict__))

    def _recommend_values(
        self, values: dict[str, Any], fact: dict[str, Any] | None = None
    ) -> Recommendation:
        """:meth:`recommend` for answers already valid (``Assessment.values()``), taken over.

        No validation: for callers that hold a validated assessment (``explain``). The
        dict becomes the recommendation's (its reasons read it): give a fresh one.
        ``fact`` is ``encode(values)`` when the caller has it (a fresh one too).
        """
        if fact is None:
            fact = encode(values)
        # Stage 1; the ratings and what they derive (one look-up by the rating key).
        mask = self._answers_mask(fact)
        rated_key = mask & self._rating_bits
        rated = self._rated[rated_key]
        fact.update(rated.fact)
        mask |= self._placement_mask(fact)  # stage 2
        bits = self._stages.bits
        leveled = mask & bits.leveled
        rank = bits.rank_of[leveled & -leveled] if leveled else 0
        level = self._levels[rank]
        values.update(rated.values)
        if self._context_mask is not None:  # stage 3: rules that read the decided level
            code = self._level_codes[rank]
            fact[DECIDED_LEVEL] = code
            mask |= self._context_mask(fact)
            values[DECIDED_LEVEL] = code
        known = mask & self._head_masks[rank]
        key = known | self._head_ranks[rank]
        head = self._heads.get(key)
        new = head is None
        if head is None:
            head = self._head(known, rank, level)
        fields = dict(head.fields)
        fields["flags"] = self._flag_sets[(mask & head.flag_rules) | head.flag_code]
        mask &= head.shown  # under the override: nothing that suggests a lower level
        reasons = []
        table = self._by_byte
        for place, byte in enumerate(mask.to_bytes(self._bytes, "little")):
            if byte:  # lowest bit first: the reasons' order
                for key_of, shared, p in table[place][byte]:
                    reason = shared.get(key_of(values))
                    reasons.append(p.reason(values) if reason is None else reason)
        fields["reasons"] = tuple(reasons)
        # The ratings and the rules that give them (all stay, unless the override drops
        # one) decide each dimension's rules behind it, and with the head the ASAM part.
        behind_key = (mask & rated.giving) | rated.code
        behind = self._behind[behind_key]
        fields["dimensions"] = behind.dimensions
        asam = head.asam_by_rating.get(behind_key, _MISSING)
        fields["asam"] = self._asam(head, behind_key, behind.behind) if asam is _MISSING else asam
        if new:  # the parts are what they say: checked once per head, then shared
            Recommendation.model_validate(fields)
            if len(self._heads) < _SHARED_LIMIT:
                self._heads[key] = head
        return Recommendation._trusted(fields)

    def level_of(self, values: Mapping[str, Any]) -> LevelOfCare:
        """The level alone for answers already valid (``Assessment.values()``), fast.

        No validation, no reasons: for searches over variations of a valid assessment
        (counterfactuals, provisional ranges). Give it only answers the model accepts.
        """
        return self._stages.level(encode(values))

    @property
    def variants_on_own_backend(self) -> bool:
        """Whether :meth:`variants` runs on this engine's own backend (the compiled one)."""
        return self.backend == "compiled"

    def variants(self, values: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], LevelOfCare]:
        """``variants(values)(changes)``: the level of ``values`` with ``changes`` applied.

        For searches over many variations of one valid assessment (``Assessment.values()``;
        give it only answers the model accepts): the answers are encoded once, each
        variation re-encodes only what it changes, and the stages run on the compiled
        form of this rule set whatever the backend. The differential tests hold the two
        backends to the same levels; :meth:`level_of` answers on this engine's own.
        """
        search = self._level_search
        if search is None:
            # Idempotent: a race compiles twice and keeps one.
            answers = _Phase(
                f"{self._tag}/answers-search",
                [p for p in self._prepared if p.stage == 1],
                "compiled",
            )
            placement = _Phase(
                f"{self._tag}/placement-search",
                [p for p in self._prepared if p.stage == 2],
                "compiled",
            )
            stages = _Stages(answers, placement, self._stages.bits, self._stages.derived_keys)
            search = self._level_search = _LevelSearch(stages)
        base = encode(values)

        def level(changes: Mapping[str, Any]) -> LevelOfCare:
            fact = base.copy()
            encode_changes(fact, changes)
            return search.level(fact)

        return level

    def _rate(self, rated_key: int) -> _Rated:
        """The ratings the fired rating rules in ``rated_key`` give, and what they derive."""
        bits = self._stages.bits
        ratings = bits.ratings(rated_key)
        rated = self._by_ratings.get(ratings)
        if rated is None:
            derived = bits.derived(ratings)
            code = 0
            for rating in reversed(ratings):
                code = code * _RATINGS + rating
            rated = _Rated(
                ratings,
                dict(zip(self._stages.derived_keys, derived, strict=True)),
                dict(zip(DERIVED_NAMES, derived, strict=True)),
                sum(gives[rating] for gives, rating in zip(bits.giving, ratings, strict=True)),
                code << self._width,
            )
            if len(self._by_ratings) < _SHARED_LIMIT:
                self._by_ratings[ratings] = rated
        return rated

    def _rated_behind(self, behind_key: int) -> _Behind:
        """For each dimension the rating rules that set its rating, after its marker bit.

        ``behind_key``: the rating rules that give the ratings and stay in the
        recommendation, and above :attr:`_width` the ratings (:attr:`_Rated.code`).
        """
        staying = behind_key & ((1 << self._width) - 1)
        code = behind_key >> self._width
        ratings = []
        for _ in _POSITIONS:
            code, rating = divmod(code, _RATINGS)
            ratings.append(rating)
        giving = self._stages.bits.giving
        behind = [
            unrated | (staying & gives[rating])
            for unrated, gives, rating in zip(self._unrated, giving, ratings, strict=True)
        ]
        try:
            dimensions = tuple(map(self._dimensions.__getitem__, behind))
        except KeyError:  # a rating first seen: built once
            dimensions = tuple(map(self._dimension, _POSITIONS, ratings, behind))
        return _Behind(behind, dimensions)

    def _flags(self, key: int) -> tuple[Flag, ...]:
        """The flags shown, in the order of Flag.

        ``key``: the fired rules a head's flags read, and above :attr:`_width` the head's
        kind of flags (the index of what :meth:`_Policy.head` left of each flag).
        """
        fired = key & ((1 << self._width) - 1)
        kind = self._flag_of[key >> self._width]
        return tuple(flag for flag, always, rules in kind if always or fired & rules)

    def _head(self, fired: int, rank: int, level: LevelOfCare) -> _Head:
        """The parts of a recommendation that follow from the rules of a head that fired."""
        decided = self._policy.head(rank, fired)
        kept = self._rules_in(fired & decided.shown)  # in the reasons' order
        deciding = tuple(
            (p.rule.id, tuple(_DIMENSIONS.index(d) for d in _DIMENSIONS if d in p.reads))
            for p in kept
            if p.level is level
        )
        alternative = None
        if decided.alternative is not None:
            alternative = self._offered(decided.alternative, self._rules_in(fired))
        # In the model's order, with places for the parts of each call (Recommendation._trusted).
        fields = {
            "level": level,
            "flags": (),
            "reasons": (),
            "alternative": alternative,
            "intensity": level.intensity,
            "ruleset": self._info,
            "safety_override": decided.override,
            "dimensions": (),
            "asam": None,
        }
        with self._flag_kinds_lock:  # a head's kind of flags: one code per kind, for good
            code = self._flag_kinds.setdefault(decided.flags, len(self._flag_of))
            if code == len(self._flag_of):
                self._flag_of.append(decided.flags)
        return _Head(
            level,
            decided.shown,
            functools.reduce(operator.or_, (rules for _, _, rules in decided.flags), 0),
            code << self._width,
            fields,
            deciding,
            tuple(r for _, r in deciding),
        )

    def _offered(self, rank: int, fired: list[_Prepared]) -> Alternative:
        """The alternative of ``rank`` the policy offers: the fired rules offering it."""
        chosen = [
            (p.rule.then.alternative, p.rule.id)
            for p in fired
            if p.rule.then.alternative is not None and p.rule.then.alternative.level.rank == rank
        ]
        conditions = dict.fromkeys(c for offer, _ in chosen for c in offer.conditions)
        return Alternative(
            level=self._levels[rank],
            conditions=tuple(conditions),
            rule_ids=tuple(rule_id for _, rule_id in chosen),
        )

    def _dimension(self, position: int, rating: int, behind: int) -> DimensionRating:
        """A dimension's rating with the rules behind it (bits with the dimension's marker)."""
        found = self._dimensions.get(behind)
        if found is None:
            ids = tuple(self._ids(behind & self._all_rules))
            found = _rating(_DIMENSIONS[position], rating, ids)
            if len(self._dimensions) < _SHARED_LIMIT:
                self._dimensions[behind] = found
        return found

    def _asam(self, head: _Head, behind_key: int, behind: list[int]) -> object:
        """The ASAM correspondence, shared (by ``behind_key`` too, the engine's key of behind).

        A deciding rule the crosswalk lists stands for itself; one it does not list that
        reads a dimension's rating stands for the rating rules that set that rating, where
        the crosswalk lists them; otherwise it stands for itself.
        """
        listed = self._listed
        parts = []
        for (rule_id, _), reads in zip(head.deciding, head.reads, strict=True):
            bits = 0
            if rule_id not in self._asam_rules:
                for i in reads:
                    bits |= behind[i]
            parts.append(bits & listed)
        key = tuple(parts)
        found = head.asam.get(key, _MISSING)
        if found is _MISSING:
            basis: list[str] = []
            for (rule_id, _), bits in zip(head.deciding, key, strict=True):
                basis += self._ids(bits) if bits else [rule_id]
            unique = tuple(dict.fromkeys(basis))
            level = head.level
            found = self._shared(
                ("asam", level, unique), correspondence, self._rule_set.asam, level, unique
            )
            if len(head.asam) < _SHARED_LIMIT:
                head.asam[key] = found
        if next(self._asam_kept) < _ASAM_KEPT:  # itertools.count: atomic under threads
            head.asam_by_rating[behind_key] = found
        return found

    def _rules_in(self, bits: int) -> list[_Prepared]:
        """The rules in ``bits``, in the reasons' order."""
        by_bit = self._by_bit
        rules = []
        while bits:
            low = bits & -bits
            rules.append(by_bit[low])
            bits ^= low
        return rules

    def _ids(self, bits: int) -> list[str]:
        """The ids of the rules in ``bits``, in file order."""
        return [p.rule.id for p in sorted(self._rules_in(bits), key=operator.attrgetter("order"))]

    def _shared(self, key: tuple[Any, ...], build: Callable[..., _T], *args: Any) -> _T:  # noqa: ANN401
        """An immutable part built once per key (bounded), then handed out again."""
        found = self._parts.get(key, _MISSING)
        if found is _MISSING:
            found = build(*args)
            if len(self._parts) < _SHARED_LIMIT:
                self._parts[key] = found
        return cast("_T", found)

    def provisional(self, answers: Assessment | Mapping[str, Any]) -> Provisional:
        """The exact range of levels over every completion of a partial intake.

        A field left out of ``answers`` is unanswered (an optional field given as null is
        answered "left out"). Given answers are validated as in :class:`Assessment`.
        ``lowest``/``highest`` are exact over every completion; complete answers give
        ``lowest == highest == recommend(answers).level`` and carry the recommendation.

        Raises:
            InvalidAssessment: naming every bad or unknown field.
            PlacementError: when the rule engine itself fails.

        """
        from iop_placement._analysis.provisional import build_provisional  # noqa: PLC0415

        given = parse_partial(answers)
        complete = len(given) == len(field_specs())
        recommendation = self.recommend(given) if complete else None
        return build_provisional(self._provisional_search(), given, self._info, recommendation)

    def _provisional_search(self) -> DiagramSearch | ProvisionalSearch:
        """The decision diagrams, built on first use; the case-split search if too large."""
        if self._search is None:
            with self._search_lock:
                if self._search is None:
                    # dd (and networkx under it) cost ~100 ms of import: only on first use.
                    from iop_placement._analysis.provisional import ProvisionalSearch  # noqa: PLC0415
                    from iop_placement._analysis.provisional_diagrams import (  # noqa: PLC0415
                        DiagramSearch,
                        DiagramsTooLarge,
                    )

                    cases = ProvisionalSearch(self._rule_set)
                    try:
                        self._search = DiagramSearch(self._rule_set, cases.cuts)
                    except DiagramsTooLarge:
                        self._search = cases
        return self._search

    def explain(
        self, assessment: Assessment | Mapping[str, Any], *, max_counterfactuals: int = 5
    ) -> Explanation:
        """The recommendation with why, why not more intensive, and what would change it.

        Re-runs this engine for the counterfactuals (at most ``max_counterfactuals``).

        Raises:
            InvalidAssessment: when ``assessment`` is not a valid assessment.
            PlacementError: when the rule engine itself fails.

        """
        from iop_placement._analysis.explain.explainer import explain_with  # noqa: PLC0415 - lazy

        return explain_with(self, assessment, max_counterfactuals=max_counterfactuals)


def _rating(dimension: Dimension, rating: int, rule_ids: tuple[str, ...]) -> DimensionRating:
    return DimensionRating(
        dimension=dimension, rating=rating, label=RiskRating.of(rating).label, rule_ids=rule_ids
    )


@functools.cache
def _bundled_sha256() -> str:
    return load_rule_set(bundled_rules()).sha256


def _is_bundled(rule_set: RuleSet) -> bool:
    return rule_set.sha256 == _bundled_sha256()


_default: PlacementEngine | None = None
_default_lock = threading.Lock()


def _new_default_lock() -> None:
    # A thread of the parent may have held the lock at the fork: the child gets its own.
    global _default_lock  # noqa: PLW0603
    _default_lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_new_default_lock)


def default_engine() -> PlacementEngine:
    """The engine for the bundled rule set, built once on first use."""
    global _default  # noqa: PLW0603 - one shared engine, built lazily and thread-safely
    if _default is None:
        with _default_lock:
            if _default is None:
                # Bundled, so proved monotone: no second read of the rules to find that out.
                rule_set = load_rule_set(bundled_rules())
                _default = PlacementEngine(rule_set, monotone=True)
    return _default
