"""PlacementEngine: runs a rule set on a backend and assembles the recommendation.

The engine knows nothing clinical. Its policy, the same for any rule set:

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
   answer-reading flag rules: nothing that suggests weighing a lower level.

Recommendations are immutable, so their parts are shared: everything but the reasons'
facts follows from which rules fired and is built once per set of fired rules, and each
rule hands out the same reason again for the same facts (both bounded, thread-safe).
"""

from __future__ import annotations

import functools
import itertools
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from typing import Any, Final, TypeVar, cast

from iop_placement._backends.base import Backend, Matcher
from iop_placement._backends.facts import check_fact_keys, encode, fact_keys, fact_name
from iop_placement._backends.selection import matcher, resolve
from iop_placement._explain.explainer import explain_with
from iop_placement._model.assessment import Assessment
from iop_placement._model.explanation import Explanation
from iop_placement._model.fields import DECIDED_LEVEL, FactValue, derive, field_specs, rating_field
from iop_placement._model.levels import Dimension, Flag, LevelOfCare, RiskRating
from iop_placement._model.provisional import Provisional
from iop_placement._model.recommendation import Alternative, DimensionRating, Reason, Recommendation
from iop_placement._model.record import RulesetInfo
from iop_placement._model.validation import parse_assessment, parse_partial
from iop_placement._provisional import ProvisionalSearch, build_provisional
from iop_placement._rules.asam import correspondence
from iop_placement._rules.bundled import bundled_rules
from iop_placement._rules.normal_form import normal_form
from iop_placement._rules.ruleset import Rule, RuleSet, load_rule_set

__all__ = ["PlacementEngine", "default_engine"]

_ENGINES: Final = itertools.count(1)


# Reasons repeat: the facts a rule reports come from small sets of answers. Each rule keeps
# the reasons it has built, up to this many, and hands out the same immutable object again.
_REASONS_PER_RULE: Final = 2048
_SHARED_LIMIT: Final = 8192
_MISSING: Final = object()
_T = TypeVar("_T")
# Iterating an Enum class is slow; the engine iterates these on every call.
_DIMENSIONS: Final = tuple(Dimension)
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
    rating: int
    flags: tuple[Flag, ...]
    only_offers: bool  # the rule does nothing but offer an alternative
    reads: frozenset[Dimension]  # the dimensions whose rating the condition reads
    reasons: dict[tuple[Any, ...], Reason] = field(default_factory=dict)

    @classmethod
    def of(cls, rule: Rule, order: int) -> _Prepared:
        dynamic = '"any"' in rule.when.model_dump_json(by_alias=True)
        then = rule.then
        return cls(
            rule=rule,
            order=order,
            source=str(rule.source),
            static_facts=None if dynamic else rule.when.fields(),
            stage=rule.stage,
            level=then.level,
            rank=then.level.rank if then.level is not None else -1,
            dimension=then.rating.dimension if then.rating is not None else None,
            rating=int(then.rating.value) if then.rating is not None else 0,
            flags=then.flags,
            only_offers=then.alternative is not None and then.level is None and then.rating is None,
            reads=frozenset(d for d in Dimension if rating_field(d.value) in rule.when.fields()),
        )

    def reason(self, values: Mapping[str, Any]) -> Reason:
        names = self.static_facts or self.rule.when.triggering(values)
        found = tuple(map(values.__getitem__, names))
        key = (names, *map(_hashable, found)) if list in map(type, found) else (names, *found)
        cached = self.reasons.get(key)
        if cached is not None:
            return cached
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


def _hashable(value: Any) -> Any:  # noqa: ANN401 - an answer
    return tuple(value) if isinstance(value, list) else value


@dataclass(frozen=True, slots=True)
class _Outline:
    """A recommendation without its reasons: the rules kept, in order, and the fields."""

    kept: tuple[_Prepared, ...]
    fields: dict[str, Any]


class _Phase:
    """The rules of one phase, compiled for one backend."""

    def __init__(self, name: str, prepared: list[_Prepared], backend: Backend) -> None:
        specs = field_specs(with_decided_level=True, with_derived=True)
        self.by_name = {f"r{index}": p for index, p in enumerate(prepared)}
        conditions = {n: normal_form(p.rule.when, specs) for n, p in self.by_name.items()}
        self.matcher: Matcher | None = matcher(backend, name, conditions) if prepared else None
        # durable-rules parses every key of the fact it is given: only the ones read here.
        self.keys = tuple(dict.fromkeys(k for c in conditions.values() for k in fact_keys(c)))

    def fired(self, fact: Mapping[str, Any]) -> list[_Prepared]:
        if self.matcher is None:
            return []
        read = {key: fact[key] for key in self.keys}
        return [self.by_name[name] for name in self.matcher.fired(read)]


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
        manifest = rule_set.manifest
        self._blocking = frozenset(manifest.alternative_blocked_by_flags)
        self._override_flags = frozenset(manifest.safety_override.flags)
        self._override_rules = frozenset(manifest.safety_override.rules)
        self._asam_rules = frozenset(rule_set.asam.rules) if rule_set.asam else frozenset()
        prepared = [_Prepared.of(rule, order) for order, rule in enumerate(rule_set.rules)]
        self._levels = {level.rank: level for level in LevelOfCare}
        # Immutable parts of recommendations, by the rules that fired (bounded).
        self._outlines: dict[tuple[int, ...], _Outline] = {}
        self._parts: dict[tuple[Any, ...], object] = {}
        self._fact_names = {name: fact_name(name) for name in derive(dict.fromkeys(Dimension, 0))}
        # The rules whose firing puts the safety override in force (by rule order).
        self._overriding = frozenset(
            p.order
            for p in prepared
            if p.rule.id in self._override_rules or self._override_flags & set(p.flags)
        )
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
        self._search: ProvisionalSearch | None = None

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
        values = parse_assessment(assessment).values()
        fact = encode(values)
        fired = self._answers.fired(fact)
        ratings = dict.fromkeys(_DIMENSIONS, 0)
        for p in fired:
            if p.dimension is not None and p.rating > ratings[p.dimension]:
                ratings[p.dimension] = p.rating
        derived = derive(ratings)
        if self._placement.matcher is not None:
            for name, value in derived.items():
                fact[self._fact_names[name]] = value
            fired += self._placement.fired(fact)
        rank = max((p.rank for p in fired), default=-1)
        level = self._levels[rank] if rank >= 0 else LevelOfCare.least_intensive()
        values.update(derived)
        if self._context.matcher is not None:
            fact[DECIDED_LEVEL] = level.value
            fired += self._context.fired(fact)
            values[DECIDED_LEVEL] = level.value
        # Everything but the reasons' facts follows from which rules fired: built once.
        key = tuple(sorted(p.order for p in fired))
        outline = self._outlines.get(key)
        if outline is None:
            outline = self._outline(fired, level, ratings)
            if len(self._outlines) < _SHARED_LIMIT:
                self._outlines[key] = outline
        return Recommendation(
            reasons=tuple(p.reason(values) for p in outline.kept), **outline.fields
        )

    def level_of(self, values: Mapping[str, Any]) -> LevelOfCare:
        """The level alone for answers already valid (``Assessment.values()``), fast.

        No validation, no reasons: for searches over variations of a valid assessment
        (counterfactuals, provisional ranges). Give it only answers the model accepts.
        """
        fact = encode(values)
        fired = self._answers.fired(fact)
        rank = max((p.rank for p in fired), default=-1)
        if self._placement.matcher is not None:
            ratings = dict.fromkeys(_DIMENSIONS, 0)
            for p in fired:
                if p.dimension is not None and p.rating > ratings[p.dimension]:
                    ratings[p.dimension] = p.rating
            for name, value in derive(ratings).items():
                fact[self._fact_names[name]] = value
            rank = max(rank, max((p.rank for p in self._placement.fired(fact)), default=-1))
        return self._levels[rank] if rank >= 0 else LevelOfCare.least_intensive()

    def _outline(
        self, fired: list[_Prepared], level: LevelOfCare, ratings: Mapping[Dimension, int]
    ) -> _Outline:
        """The parts of a recommendation that depend only on the rules that fired."""
        override = any(p.order in self._overriding for p in fired)
        if override:
            # Nothing that suggests weighing a lower level: the danger leads.
            fired = [
                p
                for p in fired
                if p.stage != 3 and not p.only_offers and (p.level is None or p.level is level)
            ]
        fired = sorted(fired, key=lambda p: (-p.rank, p.order))
        raised = {flag for p in fired for flag in p.flags}
        deciding = [p for p in fired if p.level is level]
        basis = tuple(_basis(deciding, fired, ratings, self._asam_rules))
        behind: dict[Dimension, tuple[str, ...]] = {}
        for p in fired:  # the rating rules that set each dimension's rating
            if p.dimension is not None and p.rating == ratings[p.dimension]:
                behind[p.dimension] = (*behind.get(p.dimension, ()), p.rule.id)
        fields = {
            "level": level,
            "flags": tuple(flag for flag in _FLAGS if flag in raised),
            "alternative": None if override else self._alternative(level, fired, raised),
            "safety_override": override,
            "intensity": level.intensity,
            "ruleset": self._info,
            "asam": self._shared(
                ("asam", level, basis), correspondence, self._rule_set.asam, level, basis
            ),
            "dimensions": tuple(
                self._shared(("dimension", dimension, rating, ids), _rating, dimension, rating, ids)
                for dimension, rating in ratings.items()
                for ids in [behind.get(dimension, ())]
            ),
        }
        return _Outline(tuple(fired), fields)

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
        given = parse_partial(answers)
        if self._search is None:
            self._search = ProvisionalSearch(self._rule_set)  # idempotent: a race builds twice
        complete = len(given) == len(field_specs())
        recommendation = self.recommend(given) if complete else None
        return build_provisional(self._search, given, self._info, recommendation)

    def explain(
        self, assessment: Assessment | Mapping[str, Any], *, max_counterfactuals: int = 5
    ) -> Explanation:
        """The recommendation with why, why not more intensive, and what would change it.

        Re-runs this engine for the counterfactuals (at most ``max_counterfactuals``).

        Raises:
            InvalidAssessment: when ``assessment`` is not a valid assessment.
            PlacementError: when the rule engine itself fails.

        """
        return explain_with(self, assessment, max_counterfactuals=max_counterfactuals)

    def _alternative(
        self, level: LevelOfCare, fired: list[_Prepared], raised: set[Flag]
    ) -> Alternative | None:
        if raised & self._blocking:
            return None
        offers = [
            (p.rule.then.alternative, p.rule.id)
            for p in fired
            if p.rule.then.alternative is not None
            and p.rule.then.alternative.level.rank < level.rank
        ]
        if not offers:
            return None
        best = max((offer.level for offer, _ in offers), key=lambda lvl: lvl.rank)
        chosen = [(offer, rule_id) for offer, rule_id in offers if offer.level == best]
        conditions = dict.fromkeys(c for offer, _ in chosen for c in offer.conditions)
        return Alternative(
            level=best,
            conditions=tuple(conditions),
            rule_ids=tuple(rule_id for _, rule_id in chosen),
        )


def _rating(dimension: Dimension, rating: int, rule_ids: tuple[str, ...]) -> DimensionRating:
    return DimensionRating(
        dimension=dimension, rating=rating, label=RiskRating.of(rating).label, rule_ids=rule_ids
    )


def _basis(
    deciding: list[_Prepared],
    fired: list[_Prepared],
    ratings: Mapping[Dimension, int],
    listed: frozenset[str],
) -> list[str]:
    """The rules a recommendation's ASAM codes come from.

    A deciding rule that reads a dimension's rating stands for the rating rules that set
    that rating, where the crosswalk lists them (``listed``); otherwise it stands for itself.
    """
    basis: list[str] = []
    for p in deciding:
        behind = [
            q.rule.id
            for q in fired
            if q.dimension in p.reads and q.rating == ratings[q.dimension] and q.rule.id in listed
        ]
        basis += behind or [p.rule.id]
    return list(dict.fromkeys(basis))


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
                _default = PlacementEngine.from_directory(bundled_rules())
    return _default
