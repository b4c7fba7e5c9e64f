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
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from typing import Any, Final

from iop_placement._backends.base import Backend, Matcher
from iop_placement._backends.facts import check_fact_keys, encode, fact_name
from iop_placement._backends.selection import matcher, resolve
from iop_placement._explain.explainer import explain_with
from iop_placement._model.assessment import Assessment
from iop_placement._model.explanation import Explanation
from iop_placement._model.fields import DECIDED_LEVEL, FactValue, derive, field_specs, rating_field
from iop_placement._model.levels import Dimension, Flag, LevelOfCare, RiskRating
from iop_placement._model.recommendation import Alternative, DimensionRating, Reason, Recommendation
from iop_placement._model.record import RulesetInfo
from iop_placement._model.validation import parse_assessment
from iop_placement._rules.asam import correspondence
from iop_placement._rules.bundled import bundled_rules
from iop_placement._rules.normal_form import normal_form
from iop_placement._rules.ruleset import Rule, RuleSet, load_rule_set

__all__ = ["PlacementEngine", "default_engine"]

_ENGINES: Final = itertools.count(1)


@dataclass(frozen=True, slots=True)
class _Prepared:
    """What the engine needs of one rule, worked out once per rule set."""

    rule: Rule
    order: int
    source: str
    # The triggering fields when they do not depend on the answers (no "any" inside).
    static_facts: tuple[str, ...] | None

    @classmethod
    def of(cls, rule: Rule, order: int) -> _Prepared:
        dynamic = '"any"' in rule.when.model_dump_json(by_alias=True)
        return cls(rule, order, str(rule.source), None if dynamic else rule.when.fields())

    def reason(self, values: Mapping[str, Any]) -> Reason:
        names = self.static_facts or self.rule.when.triggering(values)
        facts: dict[str, FactValue] = {name: values[name] for name in names}
        then = self.rule.then
        # Validating is faster than model_construct in Pydantic 2.14 (measured), and safer.
        return Reason(
            rule_id=self.rule.id,
            title=self.rule.title,
            level=then.level,
            dimension=then.rating.dimension if then.rating else None,
            rating=int(then.rating.value) if then.rating else None,
            flags=then.flags,
            text=self.rule.text,
            facts=facts,
            source=self.source,
        )

    @property
    def only_offers(self) -> bool:
        """Whether the rule does nothing but offer an alternative."""
        then = self.rule.then
        return then.alternative is not None and then.level is None and then.rating is None


class _Phase:
    """The rules of one phase, compiled for one backend."""

    def __init__(self, name: str, prepared: list[_Prepared], backend: Backend) -> None:
        specs = field_specs(with_decided_level=True, with_derived=True)
        self.by_name = {f"r{index}": p for index, p in enumerate(prepared)}
        conditions = {n: normal_form(p.rule.when, specs) for n, p in self.by_name.items()}
        self.matcher: Matcher | None = matcher(backend, name, conditions) if prepared else None

    def fired(self, fact: Mapping[str, Any]) -> list[_Prepared]:
        if self.matcher is None:
            return []
        return [self.by_name[name] for name in self.matcher.fired(fact)]


class PlacementEngine:
    """Recommends a level of care with one rule set; safe to share between threads.

    Engines built from different rule directories are fully isolated from each other.
    """

    def __init__(self, rule_set: RuleSet, *, backend: Backend | None = None) -> None:
        check_fact_keys()
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
        tag = f"{rule_set.name}@{rule_set.version}#{next(_ENGINES)}"
        self._answers = _Phase(
            f"{tag}/answers", [p for p in prepared if p.rule.stage == 1], self.backend
        )
        self._placement = _Phase(
            f"{tag}/placement", [p for p in prepared if p.rule.stage == 2], self.backend
        )
        self._context = _Phase(
            f"{tag}/context", [p for p in prepared if p.rule.stage == 3], self.backend
        )

    @classmethod
    def from_directory(
        cls, directory: Traversable | str, *, backend: Backend | None = None
    ) -> PlacementEngine:
        """An engine for the rule set in ``directory`` (see ``rules/`` for the format).

        ``backend`` is "durable" (durable-rules, the default) or "compiled" (the same
        rules as one generated Python function); the environment variable
        ``IOP_PLACEMENT_BACKEND`` sets the default. Both give identical results.

        Raises:
            RuleSetError: when a rule file is malformed.

        """
        return cls(load_rule_set(directory), backend=backend)

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
        ratings = dict.fromkeys(Dimension, 0)
        for p in fired:
            if (rating := p.rule.then.rating) is not None:
                ratings[rating.dimension] = max(ratings[rating.dimension], int(rating.value))
        derived = derive(ratings)
        if self._placement.matcher is not None:
            fact.update({fact_name(name): value for name, value in derived.items()})
            fired += self._placement.fired(fact)
        level = max(
            (p.rule.then.level for p in fired if p.rule.then.level is not None),
            key=lambda lvl: lvl.rank,
            default=LevelOfCare.least_intensive(),
        )
        values = {**values, **derived}
        if self._context.matcher is not None:
            fact[DECIDED_LEVEL] = level.value
            fired += self._context.fired(fact)
            values[DECIDED_LEVEL] = level.value
        override = any(p.rule.id in self._override_rules for p in fired) or any(
            flag in self._override_flags for p in fired for flag in p.rule.then.flags
        )
        if override:
            # Nothing that suggests weighing a lower level: the danger leads.
            fired = [
                p
                for p in fired
                if p.rule.stage != 3
                and not p.only_offers
                and (p.rule.then.level is None or p.rule.then.level == level)
            ]
        fired.sort(key=lambda p: (-(p.rule.then.level.rank if p.rule.then.level else -1), p.order))
        raised = {flag for p in fired for flag in p.rule.then.flags}
        deciding = [p for p in fired if p.rule.then.level == level]
        return Recommendation(
            level=level,
            flags=tuple(flag for flag in Flag if flag in raised),
            reasons=tuple(p.reason(values) for p in fired),
            alternative=None if override else self._alternative(level, fired, raised),
            safety_override=override,
            intensity=level.intensity,
            ruleset=self._info,
            asam=correspondence(
                self._rule_set.asam, level, _basis(deciding, fired, ratings, self._asam_rules)
            ),
            dimensions=tuple(
                DimensionRating(
                    dimension=dimension,
                    rating=rating,
                    label=RiskRating.of(rating).label,
                    rule_ids=tuple(
                        p.rule.id
                        for p in fired
                        if p.rule.then.rating is not None
                        and p.rule.then.rating.dimension == dimension
                        and p.rule.then.rating.value == rating
                    ),
                )
                for dimension, rating in ratings.items()
            ),
        )

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
        read = [d for d in Dimension if rating_field(d.value) in p.rule.when.fields()]
        behind = [
            q.rule.id
            for q in fired
            if q.rule.then.rating is not None
            and q.rule.then.rating.dimension in read
            and int(q.rule.then.rating.value) == ratings[q.rule.then.rating.dimension]
            and q.rule.id in listed
        ]
        basis += behind or [p.rule.id]
    return list(dict.fromkeys(basis))


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
