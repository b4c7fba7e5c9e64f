"""PlacementEngine: runs a rule set on a backend and assembles the recommendation.

The engine knows nothing clinical. Its policy, the same for any rule set:

1. Rules that set levels run first; the level is the most intensive level any of them
   supports, or the least intensive level when none fires.
2. Rules that read that decided level (flags and alternatives about feasibility) run next.
3. The alternative is the most intensive of the alternatives offered that is below the
   level; none is offered when a flag the manifest lists in
   ``alternative_blocked_by_flags`` is raised.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from typing import Any, Final

from iop_placement._backends.base import Backend, Matcher
from iop_placement._backends.facts import check_fact_keys, encode
from iop_placement._backends.selection import matcher, resolve
from iop_placement._explain.explainer import explain_with
from iop_placement._model.assessment import Assessment
from iop_placement._model.explanation import Explanation
from iop_placement._model.fields import DECIDED_LEVEL, FactValue, field_specs
from iop_placement._model.levels import Flag, LevelOfCare
from iop_placement._model.recommendation import Alternative, Reason, Recommendation
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
            flags=then.flags,
            text=self.rule.text,
            facts=facts,
            source=self.source,
        )


class _Phase:
    """The rules of one phase, compiled for one backend."""

    def __init__(self, name: str, prepared: list[_Prepared], backend: Backend) -> None:
        specs = field_specs(with_decided_level=True)
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
        self._blocking = frozenset(rule_set.manifest.alternative_blocked_by_flags)
        prepared = [_Prepared.of(rule, order) for order, rule in enumerate(rule_set.rules)]
        tag = f"{rule_set.name}@{rule_set.version}#{next(_ENGINES)}"
        levels = [p for p in prepared if not p.rule.reads_decided_level]
        context = [p for p in prepared if p.rule.reads_decided_level]
        self._levels = _Phase(f"{tag}/levels", levels, self.backend)
        self._context = _Phase(f"{tag}/context", context, self.backend)

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
        fired = self._levels.fired(fact)
        level = max(
            (p.rule.then.level for p in fired if p.rule.then.level is not None),
            key=lambda lvl: lvl.rank,
            default=LevelOfCare.least_intensive(),
        )
        if self._context.matcher is not None:
            fact[DECIDED_LEVEL] = level.value
            fired += self._context.fired(fact)
            values = {**values, DECIDED_LEVEL: level.value}
        fired.sort(key=lambda p: (-(p.rule.then.level.rank if p.rule.then.level else -1), p.order))
        raised = {flag for p in fired for flag in p.rule.then.flags}
        return Recommendation(
            level=level,
            flags=tuple(flag for flag in Flag if flag in raised),
            reasons=tuple(p.reason(values) for p in fired),
            alternative=self._alternative(level, fired, raised),
            intensity=level.intensity,
            ruleset=self._info,
            asam=correspondence(
                self._rule_set.asam, level, [p.rule.id for p in fired if p.rule.then.level == level]
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


_default: PlacementEngine | None = None
_default_lock = threading.Lock()


def default_engine() -> PlacementEngine:
    """The engine for the bundled rule set, built once on first use."""
    global _default  # noqa: PLW0603 - one shared engine, built lazily and thread-safely
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = PlacementEngine.from_directory(bundled_rules())
    return _default
