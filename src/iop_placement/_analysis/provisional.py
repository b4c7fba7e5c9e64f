"""Exact bounds over every completion of a partial intake, without enumerating completions.

A branch-and-bound search over sets of completions. A node fixes some unanswered fields
and leaves the others free; every rule condition (in normal form) is evaluated in
three-valued logic over the node's value sets: true in every completion of the node,
false in every one, or undecided. The dimension ratings, the counts and the decided level
are carried as intervals, so the placement rules and the rules that read the decided
level are evaluated the same way, and the node gets a range for each quantity (the level,
a rating, whether a flag is raised) that holds for all of its completions. The search
splits a node on one open answer field of an undecided rule, and skips a node whose range
cannot improve on the best bound found. The integer field is split only at the thresholds
the rules compare it against, so a few intervals stand for its whole range.

Three-valued evaluation is sound (true/false only when it holds in every completion), and
a node is skipped only when none of its completions can beat a value some completion
reaches, so every minimum and maximum is exact. No monotonicity is assumed: it holds for
any rule set, monotone or not. The policy (rating = highest fired rating, level = most
intensive fired level, flags filtered by the safety override) is not restated here: each
node's ranges are ``_decision/policy.decide`` in Kleene's three-valued logic
(:class:`_Kleene`); property tests compare the result with the engine on random partial
intakes by brute force.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, Protocol

from iop_placement._backends.facts import fact_key, fact_keys, fact_name, fact_value
from iop_placement._decision.policy import DecisionProgram, Derived, decide
from iop_placement._model.fields import (
    DECIDED_LEVEL,
    FieldSpec,
    count_field,
    field_specs,
    rating_field,
)
from iop_placement._model.intake import intake_order
from iop_placement._model.levels import Dimension, Flag, LevelOfCare, RiskRating
from iop_placement._model.provisional import (
    SAFETY_SCREEN,
    AnswerOutcome,
    DimensionRange,
    OpenQuestion,
    Provisional,
)
from iop_placement._model.recommendation import Recommendation
from iop_placement._model.record import RulesetInfo
from iop_placement._rules.normal_form import Compare, Equals, Includes, Node, cut_points, fold
from iop_placement._rules.normal_form import normal_form as to_normal_form
from iop_placement._rules.operators import ORDERS
from iop_placement._rules.ruleset import RuleSet

__all__ = [
    "Answer",
    "Bounds",
    "ProvisionalSearch",
    "Search",
    "answer_words",
    "answers_of",
    "build_provisional",
    "rank_decisive",
]

Interval = tuple[int, int]
Domain = frozenset[Any] | Interval
Answer = Any
"""One possible answer of a field: a code, a bool, None (left out), a tuple of codes (the
list field), or for the integer field an interval (low, high) of equivalent answers."""

# Ordered so that "or" is the greatest and "and" the least (Kleene's logic).
_TRUE: Final = 2
_UNKNOWN: Final = 1
_FALSE: Final = 0
_LEVELS: Final = tuple(LevelOfCare)
_MAX_RATING: Final = int(max(RiskRating))


class _ThreeValued:
    """The algebra of three-valued truth (2, 0, 1: unknown) over domains of answers."""

    def __init__(self, dom: Mapping[str, Domain]) -> None:
        self.dom = dom

    def constant(self, value: bool) -> int:
        return _TRUE if value else _FALSE

    def equals(self, node: Equals) -> int:
        d = self.dom[fact_name(node.field)]
        value = fact_value(node.value)
        if isinstance(d, tuple):
            low, high = d
            if low == high == value:
                return _TRUE
            return _FALSE if not low <= value <= high else _UNKNOWN
        if value not in d:
            return _FALSE
        return _TRUE if len(d) == 1 else _UNKNOWN

    def compare(self, node: Compare) -> int:
        d = self.dom[fact_name(node.field)]
        assert isinstance(d, tuple)
        test = ORDERS[node.op].test
        at_low, at_high = test(d[0], node.number), test(d[1], node.number)
        # Comparisons are monotone in the value: both ends agree means all values agree.
        if at_low == at_high:
            return _TRUE if at_low else _FALSE
        return _UNKNOWN

    def includes(self, node: Includes) -> int:
        d = self.dom[fact_key(node.field, node.item)]
        assert isinstance(d, frozenset)
        if node.present not in d:
            return _FALSE
        return _TRUE if len(d) == 1 else _UNKNOWN

    def all_of(self, parts: Iterable[int]) -> int:
        return _all_of(parts)

    def any_of(self, parts: Iterable[int]) -> int:
        return _any_of(parts)


def _all_of(parts: Iterable[int]) -> int:
    return min(parts, default=_TRUE)


def _any_of(parts: Iterable[int]) -> int:
    return max(parts, default=_FALSE)


def _interval(ladder: Sequence[int]) -> Interval:
    """The range of the number a three-valued ladder stands for (rungs never rise)."""
    low = high = 0
    for k, rung in enumerate(ladder):
        if rung == _FALSE:
            break
        high = k
        if rung == _TRUE:
            low = k
    return low, high


class _Kleene:
    """The decision policy's algebra over one node: three-valued truth, conditions cached.

    A rule's condition is read over the node's domains (:class:`_ThreeValued`) and kept in
    ``status`` once decided (a child node inherits its parent's); the numbers the policy
    derives (ratings, counts, the level) become the domains later stages read. A rule of
    a stage beyond ``stages`` (what the search's target reads) is left unknown: unknown is
    always sound, so the policy's other quantities are only looser.
    """

    true = _TRUE
    false = _FALSE

    def __init__(
        self, search: ProvisionalSearch, dom: dict[str, Domain], status: list[int], stages: int
    ) -> None:
        self.search = search
        self.dom = dom
        self.status = status
        self.stages = stages
        self._stage = 1

    def all_of(self, parts: Iterable[int]) -> int:
        return _all_of(parts)

    def any_of(self, parts: Iterable[int]) -> int:
        return _any_of(parts)

    def not_(self, part: int) -> int:
        return _TRUE - part

    def at_least(self, parts: Sequence[int]) -> list[int]:
        surely = sum(part == _TRUE for part in parts)
        possibly = sum(part != _FALSE for part in parts)
        return [
            _TRUE if n <= surely else _FALSE if n > possibly else _UNKNOWN
            for n in range(len(parts) + 1)
        ]

    def atom(self, rule: str, derived: Derived[int]) -> int:
        i = self.search.index[rule]
        if self.status[i] != _UNKNOWN:
            return self.status[i]
        if self.search.rules[i].stage > self.stages:
            return _UNKNOWN  # sound, and the target reads nothing it decides
        dom = self.dom
        if derived.ratings and self._stage < 2:
            self._stage = 2
            for dimension, ladder in derived.ratings.items():
                dom[fact_name(rating_field(dimension))] = _interval(ladder)
            for k, ladder in derived.counts.items():
                dom[fact_name(count_field(k))] = _interval(ladder)
        if derived.level and self._stage < 3:
            self._stage = 3
            low, high = _interval(derived.level)
            dom[DECIDED_LEVEL] = frozenset(level.value for level in _LEVELS[low : high + 1])
        self.status[i] = fold(self.search.rules[i].node, _ThreeValued(dom))
        return self.status[i]


@dataclass(frozen=True, slots=True)
class _Rule:
    stage: int
    node: Node
    level: int | None  # rank
    dimension: Dimension | None
    rating: int
    flags: frozenset[Flag]
    overriding: bool  # listed, or raises a flag the safety override lists


@dataclass(slots=True)
class Bounds:
    """What the search found: ranges, flags in every / some completion, per-answer ranges."""

    lowest: int = len(_LEVELS)
    highest: int = -1
    every_flag: set[Flag] = field(default_factory=set)
    some_flag: set[Flag] = field(default_factory=set)
    ratings: dict[Dimension, list[int]] = field(default_factory=dict)
    by_answer: dict[str, dict[Answer, list[int]]] = field(default_factory=dict)


def answers_of(spec: FieldSpec, cuts: Mapping[str, frozenset[int]]) -> tuple[Answer, ...]:
    """Every distinct answer of a field (integer fields: the intervals between thresholds)."""
    if spec.kind == "integer":
        low, high = spec.minimum or 0, spec.maximum or 0
        inner = sorted(c for c in cuts.get(spec.name, ()) if low < c <= high)
        starts = [low, *inner]
        ends = [c - 1 for c in inner] + [high]
        return tuple(zip(starts, ends, strict=True))
    if spec.kind == "choices":
        return tuple(
            combo
            for size in range(len(spec.values) + 1)
            for combo in itertools.combinations(spec.values, size)
        )
    return spec.answers


def answer_words(spec: FieldSpec, answer: Answer) -> str:
    """One answer in words, for the open-question list."""
    if spec.kind == "integer":
        low, high = answer
        return str(low) if low == high else f"{low} to {high}"
    if spec.kind == "choices":
        return ", ".join(spec.label(item) for item in answer) or "none"
    return spec.label(answer)


class ProvisionalSearch:
    """The case-split search for one rule set; build once, run per partial intake."""

    def __init__(self, rule_set: RuleSet) -> None:
        specs = field_specs(with_decided_level=True, with_derived=True)
        manifest = rule_set.manifest
        override_rules = frozenset(manifest.safety_override.rules)
        self._override_flags = frozenset(manifest.safety_override.flags)
        rules: list[_Rule] = []
        kept: list[str] = []
        cuts: dict[str, set[int]] = {}
        for rule in rule_set.rules:
            then = rule.then
            listed = rule.id in override_rules
            if then.level is None and then.rating is None and not then.flags and not listed:
                continue  # only offers an alternative: changes no bound and no flag
            node = to_normal_form(rule.when, specs)
            cut_points(node, cuts)
            rules.append(
                _Rule(
                    stage=rule.stage,
                    node=node,
                    level=then.level.rank if then.level is not None else None,
                    dimension=then.rating.dimension if then.rating is not None else None,
                    rating=int(then.rating.value) if then.rating is not None else 0,
                    flags=frozenset(then.flags),
                    overriding=listed or bool(set(then.flags) & self._override_flags),
                )
            )
            kept.append(rule.id)
        self.rules = tuple(rules)
        self.index = {rule_id: i for i, rule_id in enumerate(kept)}
        program = DecisionProgram.of(rule_set)
        # The policy over the rules that bear on a bound or a flag (not the alternative).
        self._program = replace(
            program, effects=tuple(e for e in program.effects if e.id in self.index)
        )
        self.cuts: Mapping[str, frozenset[int]] = {k: frozenset(v) for k, v in cuts.items()}
        self._specs = field_specs()
        derived = set(specs) - set(self._specs)
        self._input_keys = frozenset(
            key
            for key in itertools.chain.from_iterable(fact_keys(r.node) for r in rules)
            if key not in {fact_name(name) for name in derived}
        )
        self._flags = tuple(Flag)
        self.nodes = 0  # nodes visited, all searches together (for tests and tuning)

    # --- domains ---------------------------------------------------------------------

    def _initial(self, given: Mapping[str, Any]) -> dict[str, Domain]:
        dom: dict[str, Domain] = {}
        for name, spec in self._specs.items():
            answered = name in given
            if spec.kind == "integer":
                low, high = spec.minimum or 0, spec.maximum or 0
                value = int(given[name]) if answered else None
                dom[fact_name(name)] = (value, value) if value is not None else (low, high)
            elif spec.kind == "choices":
                chosen = set(given.get(name) or ())
                for item in spec.values:
                    dom[fact_key(name, item)] = (
                        frozenset({item in chosen}) if answered else frozenset({False, True})
                    )
            else:
                values = (given.get(name),) if answered else spec.answers
                dom[fact_name(name)] = frozenset(fact_value(spec.read(v)) for v in values)
        return dom

    def _open(self, key: str, d: Domain) -> bool:
        """Whether splitting on ``key`` can decide more (an interval spans a threshold)."""
        if isinstance(d, tuple):
            return any(d[0] < cut <= d[1] for cut in self.cuts.get(key, ()))
        return len(d) > 1

    def _split(self, key: str, dom: dict[str, Domain]) -> list[dict[str, Domain]]:
        d = dom[key]
        if isinstance(d, tuple):
            spec = self._specs[key]
            pieces = [a for a in answers_of(spec, self.cuts) if d[0] <= a[0] and a[1] <= d[1]]
            return [{**dom, key: piece} for piece in pieces]
        return [{**dom, key: frozenset({value})} for value in sorted(d, key=repr)]

    # --- the search ------------------------------------------------------------------

    def run(self, given: Mapping[str, Any], unanswered: tuple[str, ...]) -> Bounds:
        """Search every completion of ``given`` (validated codes) over ``unanswered``.

        Each quantity (the level, each flag, each dimension's rating, and the level under
        each single answer of each open field) is a minimum and a maximum found by branch
        and bound: a node whose range cannot beat the best bound so far is not split.
        """
        bounds = Bounds()
        start = self._initial(given)
        level = _LevelTarget()
        bounds.lowest = self._extreme(start, level, maximize=False, limit=0)
        bounds.highest = self._extreme(start, level, maximize=True, limit=len(_LEVELS) - 1)
        for name in unanswered:
            spec = self._specs[name]
            bounds.by_answer[name] = {}
            for answer in answers_of(spec, self.cuts):
                fixed = self._fix(start, spec, answer)
                bounds.by_answer[name][answer] = [
                    self._extreme(fixed, level, maximize=False, limit=bounds.lowest),
                    self._extreme(fixed, level, maximize=True, limit=bounds.highest),
                ]
        every: set[Flag] = set()
        for flag in self._flags:
            raised = _FlagTarget(flag)
            if self._extreme(start, raised, maximize=True, limit=1) == 1:
                bounds.some_flag.add(flag)
                if self._extreme(start, raised, maximize=False, limit=0) == 1:
                    every.add(flag)
        bounds.every_flag = every
        for dimension in Dimension:
            target = _RatingTarget(dimension)
            bounds.ratings[dimension] = [
                self._extreme(start, target, maximize=False, limit=0),
                self._extreme(start, target, maximize=True, limit=_MAX_RATING),
            ]
        return bounds

    def _fix(
        self, start: Mapping[str, Domain], spec: FieldSpec, answer: Answer
    ) -> dict[str, Domain]:
        """``start`` with one open field fixed to one answer."""
        dom = dict(start)
        if spec.kind == "integer":
            dom[fact_name(spec.name)] = answer
        elif spec.kind == "choices":
            for item in spec.values:
                dom[fact_key(spec.name, item)] = frozenset({item in answer})
        else:
            dom[fact_name(spec.name)] = frozenset({fact_value(spec.read(answer))})
        return dom

    def _extreme(
        self, start: Mapping[str, Domain], target: _Target, *, maximize: bool, limit: int
    ) -> int:
        """The exact minimum (or maximum) of ``target`` over every completion of ``start``.

        Branch and bound. Every node's range [low, high] holds for all its completions,
        so the minimum is at most any node's high: that is the best bound so far, and a
        node whose low is not below it cannot hold a smaller value and is not split. A
        node whose range is one value is decided. ``limit`` is a value nothing can beat
        (stop when reached).
        """
        sign = -1 if maximize else 1
        best: int | None = None
        dom = dict(start)
        status = [_UNKNOWN] * len(self.rules)
        stack = [(dom, status, self._state(dom, status, target.stages))]
        nodes = 0
        while stack:
            dom, status, state = stack.pop()
            nodes += 1
            low, high = target.bounds(self, state)
            if maximize:
                low, high = -high, -low
            best = high if best is None else min(best, high)
            if best * sign == limit:
                break
            if low >= best:
                continue
            key = self._branch_key(dom, status, target)
            children = []
            for child in self._split(key, dom):
                child_status = list(status)
                child_state = self._state(child, child_status, target.stages)
                children.append((child, child_status, child_state))

            # Most promising child last, so it is popped first.
            def promise(c: tuple[dict[str, Domain], list[int], _State]) -> tuple[int, int]:
                low, high = target.bounds(self, c[2])
                return (-high, -low) if maximize else (low, high)

            children.sort(key=promise, reverse=True)
            stack.extend(children)
        self.nodes += nodes
        assert best is not None
        return best * sign

    def _state(self, dom: dict[str, Domain], status: list[int], stages: int) -> _State:
        """The decision policy (``_decision/policy.decide``) in three-valued form."""
        outcome = decide(self._program, _Kleene(self, dom, status, stages))
        ratings = {d: _interval(outcome.ratings[d.value]) for d in Dimension}
        level_low, level_high = _interval(outcome.level)
        return _State(
            status,
            {d: low for d, (low, _) in ratings.items()},
            {d: high for d, (_, high) in ratings.items()},
            level_low,
            level_high,
            outcome.override,
            {flag: outcome.flags[flag.value] for flag in Flag},
        )

    def _branch_key(self, dom: Mapping[str, Domain], status: list[int], target: _Target) -> str:
        """The open answer key read most often by the undecided rules the target needs.

        Ties go to the first key seen. When no rule the target names is undecided on an
        open key, every undecided rule counts (a rule may decide the level others read).
        """
        for relevant in (target.relevant, None):
            counts: dict[str, int] = {}
            for i, rule in enumerate(self.rules):
                if status[i] != _UNKNOWN or (relevant is not None and not relevant(rule)):
                    continue
                for key in fact_keys(rule.node):
                    if key in self._input_keys and self._open(key, dom[key]):
                        counts[key] = counts.get(key, 0) + 1
            if counts:
                return max(counts, key=lambda key: counts[key])
        msg = "provisional search: an undecided rule reads no open answer"  # pragma: no cover
        raise AssertionError(msg)  # pragma: no cover


@dataclass(slots=True)
class _State:
    status: list[int]
    low: dict[Dimension, int]
    high: dict[Dimension, int]
    level_low: int = 0
    level_high: int = 0
    override: int = _UNKNOWN
    flags: dict[Flag, int] = field(default_factory=dict)  # shown: _TRUE, _FALSE, _UNKNOWN


class _Target:
    """What one search bounds; ``stages``: how far the policy must read conditions for it."""

    stages = 3

    def bounds(self, search: ProvisionalSearch, state: _State) -> tuple[int, int]:
        """The range of the quantity over every completion of the node."""
        raise NotImplementedError

    def relevant(self, rule: _Rule) -> bool:
        """Whether the rule's condition bears on the quantity (to choose splits)."""
        raise NotImplementedError


class _LevelTarget(_Target):
    stages = 2

    def bounds(self, search: ProvisionalSearch, state: _State) -> tuple[int, int]:  # noqa: ARG002
        return state.level_low, state.level_high

    def relevant(self, rule: _Rule) -> bool:
        return rule.stage < 3 and (rule.level is not None or rule.dimension is not None)


@dataclass(frozen=True, slots=True)
class _FlagTarget(_Target):
    flag: Flag

    def bounds(self, search: ProvisionalSearch, state: _State) -> tuple[int, int]:  # noqa: ARG002
        status = state.flags[self.flag]
        return (0, 1) if status == _UNKNOWN else (status // _TRUE,) * 2

    def relevant(self, rule: _Rule) -> bool:
        return self.flag in rule.flags or rule.overriding


@dataclass(frozen=True, slots=True)
class _RatingTarget(_Target):
    dimension: Dimension
    stages = 1

    def bounds(self, search: ProvisionalSearch, state: _State) -> tuple[int, int]:  # noqa: ARG002
        return state.low[self.dimension], state.high[self.dimension]

    def relevant(self, rule: _Rule) -> bool:
        return rule.dimension == self.dimension


# --- the result -----------------------------------------------------------------------


def _moves(bounds: Bounds, pair: list[int]) -> int:
    """How many levels one answer moves the bounds (raising lowest plus lowering highest)."""
    return (pair[0] - bounds.lowest) + (bounds.highest - pair[1])


def rank_decisive(bounds: Bounds, unanswered: tuple[str, ...]) -> list[str]:
    """The unanswered fields whose answer can move a bound, most decisive first.

    The ranking: (1) the safety screen (suicide risk, medical stability, detox status)
    first; (2) the most levels one answer can move the bounds (lowest up plus highest
    down); (3) the larger share of the field's answers that move a bound; (4) the intake
    interview's order.
    """
    order = {name: index for index, name in enumerate(intake_order())}

    def key(name: str) -> tuple[bool, int, float, int]:
        moves = [_moves(bounds, pair) for pair in bounds.by_answer[name].values()]
        share = sum(m > 0 for m in moves) / len(moves)
        return (name not in SAFETY_SCREEN, -max(moves), -share, order[name])

    decisive = [
        name
        for name in unanswered
        if any(_moves(bounds, pair) > 0 for pair in bounds.by_answer[name].values())
    ]
    return sorted(decisive, key=key)


class Search(Protocol):
    """What finds the bounds: the case-split search here, or the decision diagrams."""

    def run(self, given: Mapping[str, Any], unanswered: tuple[str, ...]) -> Bounds:
        """Exact bounds over every completion of ``given`` over ``unanswered``."""
        ...


def build_provisional(
    search: Search,
    given: Mapping[str, Any],
    ruleset: RulesetInfo,
    recommendation: Recommendation | None,
) -> Provisional:
    """The provisional result for validated ``given`` answers (``recommendation`` if complete)."""
    specs = field_specs()
    unanswered = tuple(name for name in specs if name not in given)
    bounds = search.run(given, unanswered)
    decisive = rank_decisive(bounds, unanswered)
    every = set(bounds.every_flag)
    if any(name in unanswered for name in SAFETY_SCREEN):
        every.add(Flag.INCOMPLETE_SAFETY_SCREEN)
    some = bounds.some_flag | every
    questions = tuple(
        OpenQuestion(
            field=name,
            title=specs[name].title,
            safety_screen=name in SAFETY_SCREEN,
            outcomes=tuple(
                AnswerOutcome(
                    answer=answer_words(specs[name], answer),
                    lowest=_LEVELS[pair[0]],
                    highest=_LEVELS[pair[1]],
                )
                for answer, pair in bounds.by_answer[name].items()
            ),
        )
        for name in decisive
    )
    return Provisional(
        lowest=_LEVELS[bounds.lowest],
        highest=_LEVELS[bounds.highest],
        flags=tuple(flag for flag in Flag if flag in every),
        possible_flags=tuple(flag for flag in Flag if flag in some),
        unanswered=unanswered,
        decisive=tuple(decisive),
        questions=questions,
        dimensions=tuple(
            DimensionRange(dimension=d, lowest=low, highest=high)
            for d, (low, high) in bounds.ratings.items()
        ),
        answers=dict(given),
        ruleset=ruleset,
        recommendation=recommendation if not unanswered else None,
    )
