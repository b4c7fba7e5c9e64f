"""Why not more intensive: the rules for the next level up and what they did not find.

A rule's condition is rewritten (through the negation normal form) as its *ways* to hold:
each way says, for some fields, which answers would satisfy it. The near miss of a rule is
its way with the fewest unmet fields; ties are kept as other ways. The engine stays
generic: nothing here knows a field or a value by name.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from iop_placement._model.explanation import NearMiss
from iop_placement._model.fields import FactValue, FieldSpec, field_specs, rating_field
from iop_placement._model.levels import LevelOfCare
from iop_placement._rules.normal_form import (
    Compare,
    Equals,
    Includes,
    Node,
    fold,
    normal_form,
)
from iop_placement._rules.operators import ORDERS, same
from iop_placement._rules.ruleset import Rule, RuleSet

__all__ = ["near_misses"]

# Beyond this many ways a condition is too tangled to explain field by field; its near
# miss then lists the ways found so far. No rule of the bundled set comes close (max 2).
MAX_WAYS: Final = 256

Way = dict[str, frozenset[Hashable]]


@functools.lru_cache(maxsize=256)
def _domain(spec: FieldSpec) -> tuple[Hashable, ...]:
    """Every answer a field can take; a list field's answers are tuples in declared order."""
    if spec.kind == "integer":
        if spec.minimum is None or spec.maximum is None:
            msg = f"field {spec.name!r} has no bounds; its answers cannot be listed"
            raise TypeError(msg)
        return tuple(range(spec.minimum, spec.maximum + 1))
    if spec.kind == "choices":
        return tuple(
            combo
            for size in range(len(spec.values) + 1)
            for combo in itertools.combinations(spec.values, size)
        )
    return (*spec.values, None) if spec.absent_distinct else spec.values


def _merge(left: Way, right: Way) -> Way | None:
    merged = dict(left)
    for name, allowed in right.items():
        both = merged[name] & allowed if name in merged else allowed
        if not both:
            return None
        merged[name] = both
    return merged


def _union_single_fields(ways: list[Way]) -> list[Way]:
    """Ways that constrain one and the same field become one way (``in`` a set)."""
    singles: dict[str, frozenset[Hashable]] = {}
    others: list[Way] = []
    for way in ways:
        if len(way) == 1:
            ((name, allowed),) = way.items()
            singles[name] = singles.get(name, frozenset()) | allowed
        elif way not in others:
            others.append(way)
    return [{name: allowed} for name, allowed in singles.items()] + others


class _Ways:
    """The algebra of the ways a condition can hold: field -> satisfying answers."""

    def __init__(self, specs: Mapping[str, FieldSpec]) -> None:
        self.specs = specs

    def _atom(self, name: str, holds: Callable[[Any], bool]) -> list[Way]:
        allowed = frozenset(v for v in _domain(self.specs[name]) if holds(v))
        return [{name: allowed}] if allowed else []

    def constant(self, value: bool) -> list[Way]:
        return [{}] if value else []

    def equals(self, node: Equals) -> list[Way]:
        return self._atom(node.field, lambda v: same(v, node.value))

    def includes(self, node: Includes) -> list[Way]:
        return self._atom(node.field, lambda v: (node.item in v) == node.present)

    def compare(self, node: Compare) -> list[Way]:
        return self._atom(node.field, lambda v: ORDERS[node.op].test(v, node.number))

    def any_of(self, parts: Sequence[list[Way]]) -> list[Way]:
        return _union_single_fields([way for part in parts for way in part])

    def all_of(self, parts: Sequence[list[Way]]) -> list[Way]:
        ways: list[Way] = [{}]
        for part in parts:
            combined = []
            for left, right in itertools.product(ways, part):
                merged = _merge(left, right)
                if merged is not None and merged not in combined:
                    combined.append(merged)
            ways = combined[:MAX_WAYS]
        return ways


def ways_to_hold(node: Node, specs: Mapping[str, FieldSpec]) -> list[Way]:
    """The ways a normal-form condition can hold, each as field -> satisfying answers."""
    return fold(node, _Ways(specs))


# The ways of each rule, worked out once (rules are immutable; bounded, keyed by identity
# with the rule kept alive beside its ways so that an identity is never reused).
_WAYS: dict[int, tuple[Rule, list[Way]]] = {}
_WAYS_LIMIT: Final = 4096


def _rule_ways(rule: Rule, specs: Mapping[str, FieldSpec]) -> list[Way]:
    found = _WAYS.get(id(rule))
    if found is not None and found[0] is rule:
        return found[1]
    ways = ways_to_hold(normal_form(rule.when, specs), specs)
    if len(_WAYS) < _WAYS_LIMIT:
        _WAYS[id(rule)] = (rule, ways)
    return ways


def _answer(value: Any) -> Hashable:  # noqa: ANN401 - a field's JSON code
    return tuple(value) if isinstance(value, list | tuple) else value


def _code(value: Hashable) -> FactValue:
    return list(value) if isinstance(value, tuple) else value  # type: ignore[return-value]


def _ordered(allowed: Iterable[Hashable], spec: FieldSpec) -> tuple[FactValue, ...]:
    chosen = set(allowed)
    return tuple(_code(v) for v in _domain(spec) if v in chosen)


# Each rule's near miss for the answers its ways read (bounded per rule, keyed by the
# rule's identity with the rule kept alive, as _WAYS): explanations of different
# assessments share most of them, and a near miss is immutable.
_MISSES: dict[int, tuple[Rule, tuple[str, ...], dict[tuple[Hashable, ...], Any]]] = {}
_MISSES_PER_RULE: Final = 2048


def _near_miss(
    rule: Rule,
    values: Mapping[str, Any],
    answers: Mapping[str, Hashable],
    specs: Mapping[str, FieldSpec],
) -> tuple[int, NearMiss] | None:
    """``answers``: ``values`` made hashable (lists as tuples)."""
    entry = _MISSES.get(id(rule))
    if entry is None or entry[0] is not rule:
        ways = _rule_ways(rule, specs)
        entry = (rule, tuple(dict.fromkeys(name for way in ways for name in way)), {})
        if len(_MISSES) < _WAYS_LIMIT:
            _MISSES[id(rule)] = entry
    _, names, known = entry
    key = tuple(map(answers.__getitem__, names))
    found = known.get(key, _UNKNOWN)
    if found is _UNKNOWN:
        found = _nearest(rule, values, answers, specs)
        if len(known) < _MISSES_PER_RULE:
            known[key] = found
    return found  # type: ignore[no-any-return]


_UNKNOWN: Final = object()


def _nearest(
    rule: Rule,
    values: Mapping[str, Any],
    answers: Mapping[str, Hashable],
    specs: Mapping[str, FieldSpec],
) -> tuple[int, NearMiss] | None:
    ways = _rule_ways(rule, specs)
    if not ways:
        return None

    def unmet(way: Way) -> dict[str, tuple[FactValue, ...]]:
        return {
            name: _ordered(allowed, specs[name])
            for name, allowed in way.items()
            if answers[name] not in allowed
        }

    scored = [(len(unmet(way)), index, way) for index, way in enumerate(ways)]
    scored.sort(key=lambda item: (item[0], item[1]))
    distance, _, nearest = scored[0]
    if distance == 0:  # the rule holds; it is a reason, not a near miss
        return None
    others = tuple(unmet(way) for d, _, way in scored[1:] if d == distance)
    missing = unmet(nearest)
    return distance, _near_miss_model(rule, values, nearest, missing, others)


def _near_miss_model(
    rule: Rule,
    values: Mapping[str, Any],
    nearest: Way,
    missing: dict[str, tuple[FactValue, ...]],
    others: tuple[dict[str, tuple[FactValue, ...]], ...],
) -> NearMiss:
    return NearMiss(
        rule_id=rule.id,
        title=rule.title,
        level=rule.then.level,
        text=rule.text,
        source=str(rule.source),
        unmet=missing,
        current={name: values[name] for name in nearest if name in missing},
        met={name: values[name] for name in nearest if name not in missing},
        other_ways=tuple(way for way in others if way != missing),
    )


@dataclass(frozen=True, slots=True)
class _Index:
    """A rule set's rules as the search reads them, in file order (built once per set)."""

    # The rules that set each level, but not those that read the decided level.
    setting: dict[LevelOfCare, tuple[tuple[int, Rule], ...]]
    # By rating pseudo-field and rating: the rating rules that give it.
    giving: dict[tuple[str, FactValue], tuple[tuple[int, Rule], ...]]


_INDEXES: dict[int, tuple[RuleSet, _Index]] = {}


def _index(rule_set: RuleSet) -> _Index:
    found = _INDEXES.get(id(rule_set))
    if found is not None and found[0] is rule_set:
        return found[1]
    setting: dict[LevelOfCare, list[tuple[int, Rule]]] = {}
    giving: dict[tuple[str, FactValue], list[tuple[int, Rule]]] = {}
    for order, rule in enumerate(rule_set.rules):
        level, rating = rule.then.level, rule.then.rating
        if level is not None and not rule.reads_decided_level:
            setting.setdefault(level, []).append((order, rule))
        if rating is not None:
            key = (rating_field(rating.dimension.value), int(rating.value))
            giving.setdefault(key, []).append((order, rule))
    index = _Index(
        {level: tuple(rules) for level, rules in setting.items()},
        {key: tuple(rules) for key, rules in giving.items()},
    )
    if len(_INDEXES) < _WAYS_LIMIT:
        _INDEXES[id(rule_set)] = (rule_set, index)
    return index


def _through(
    index: _Index,
    values: Mapping[str, Any],
    answers: Mapping[str, Hashable],
    missing: Mapping[str, tuple[FactValue, ...]],
    specs: Mapping[str, FieldSpec],
) -> tuple[NearMiss, ...]:
    """For each unmet rating: the rating rules that would give it, nearest first."""
    found = []
    for name, wanted in missing.items():
        for rating in wanted:  # each rating rule gives one rating of one dimension: once
            for order, rule in index.giving.get((name, rating), ()):
                scored = _near_miss(rule, values, answers, specs)
                if scored is not None:
                    found.append((scored[0], order, scored[1]))
    found.sort(key=lambda item: (item[0], item[1]))
    return tuple(miss for _, _, miss in found)


def near_misses(
    rule_set: RuleSet, values: Mapping[str, Any], level: LevelOfCare
) -> tuple[NearMiss, ...]:
    """The rules that set ``level`` and did not hold, nearest (fewest unmet fields) first.

    ``values`` holds the answers and the derived ratings and counts. A rule that did not
    find a high enough rating lists, ``through`` it, the rating rules that would give one.
    """
    specs = field_specs(with_derived=True)
    index = _index(rule_set)
    answers = {name: _answer(value) for name, value in values.items()}
    # Several rules miss the same ratings: the rating rules behind them are found once.
    behind: dict[tuple[tuple[str, tuple[FactValue, ...]], ...], tuple[NearMiss, ...]] = {}
    found = []
    for order, rule in index.setting.get(level, ()):
        scored = _near_miss(rule, values, answers, specs)
        if scored is not None:
            miss = scored[1]
            if rule.reads_ratings:
                key = tuple(sorted(miss.unmet.items()))
                if key not in behind:
                    behind[key] = _through(index, values, answers, miss.unmet, specs)
                miss = miss.model_copy(update={"through": behind[key]})
            found.append((scored[0], order, miss))
    found.sort(key=lambda item: (item[0], item[1]))
    return tuple(miss for _, _, miss in found)
