"""PlacementEngine: runs a rule set on durable-rules and assembles the recommendation.

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
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from typing import Any, Final

from iop_placement._assessment import Assessment
from iop_placement._durable import SENTINEL_KEY, CompiledRuleset, fact_key, rule_names
from iop_placement._errors import PlacementError
from iop_placement._fields import DECIDED_LEVEL, field_specs
from iop_placement._levels import Flag, LevelOfCare
from iop_placement._normal_form import normal_form
from iop_placement._recommendation import (
    Alternative,
    FactValue,
    Reason,
    Recommendation,
    RulesetInfo,
)
from iop_placement._ruleset import Rule, RuleSet, load_rule_set
from iop_placement._validation import parse_assessment

__all__ = ["PlacementEngine"]

_ENGINES: Final = itertools.count(1)
_RESERVED: Final = frozenset({"sid", "id", SENTINEL_KEY})  # keys durable-rules or the adapter own


@dataclass(frozen=True, slots=True)
class _Prepared:
    """What the engine needs of one rule, worked out once per rule set."""

    rule: Rule
    order: int
    source: str

    def reason(self, values: Mapping[str, Any]) -> Reason:
        facts: dict[str, FactValue] = {
            name: values[name] for name in self.rule.when.triggering(values)
        }
        then = self.rule.then
        return Reason.model_construct(
            rule_id=self.rule.id,
            title=self.rule.title,
            level=then.level,
            flags=then.flags,
            text=self.rule.text,
            facts=facts,
            source=self.source,
        )


class _Phase:
    """The rules of one phase compiled into one durable-rules ruleset."""

    def __init__(self, name: str, prepared: list[_Prepared]) -> None:
        specs = field_specs(with_decided_level=True)
        names = rule_names(len(prepared))
        self.by_name = dict(zip(names, prepared, strict=True))
        conditions = {n: normal_form(p.rule.when, specs) for n, p in self.by_name.items()}
        self.ruleset = CompiledRuleset(name, conditions) if prepared else None

    def fired(self, fact: Mapping[str, Any]) -> list[_Prepared]:
        if self.ruleset is None:
            return []
        return [self.by_name[name] for name in self.ruleset.fired(fact)]


def _encode(values: Mapping[str, Any]) -> dict[str, Any]:
    """The assessment as a flat durable-rules fact: list fields become one key per item."""
    fact: dict[str, Any] = {}
    for name, spec in field_specs().items():
        if spec.kind == "choices":
            chosen = values[name]
            fact.update({fact_key(name, item): item in chosen for item in spec.values})
        else:
            fact[name] = values[name]
    return fact


def _check_fact_keys() -> None:
    specs = field_specs(with_decided_level=True)
    keys = [
        fact_key(name, item) if spec.kind == "choices" else name
        for name, spec in specs.items()
        for item in (spec.values if spec.kind == "choices" else (None,))
    ]
    if clash := (set(keys) & _RESERVED) or (len(keys) != len(set(keys))):
        msg = f"assessment field names clash in the durable-rules fact: {clash}"
        raise PlacementError(msg)


class PlacementEngine:
    """Recommends a level of care with one rule set; safe to share between threads.

    Engines built from different rule directories are fully isolated from each other.
    """

    def __init__(self, rule_set: RuleSet) -> None:
        _check_fact_keys()
        self._rule_set = rule_set
        self._info = RulesetInfo(
            name=rule_set.name, version=rule_set.version, sha256=rule_set.sha256
        )
        self._blocking = frozenset(rule_set.manifest.alternative_blocked_by_flags)
        prepared = [
            _Prepared(rule, order, str(rule.source)) for order, rule in enumerate(rule_set.rules)
        ]
        tag = f"{rule_set.name}@{rule_set.version}#{next(_ENGINES)}"
        self._levels = _Phase(
            f"{tag}/levels", [p for p in prepared if not p.rule.reads_decided_level]
        )
        self._context = _Phase(
            f"{tag}/context", [p for p in prepared if p.rule.reads_decided_level]
        )

    @classmethod
    def from_directory(cls, directory: Traversable | str) -> PlacementEngine:
        """An engine for the rule set in ``directory`` (see ``rules/`` for the format).

        Raises:
            RuleSetError: when a rule file is malformed.

        """
        return cls(load_rule_set(directory))

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
        fact = _encode(values)
        fired = self._levels.fired(fact)
        level = max(
            (p.rule.then.level for p in fired if p.rule.then.level is not None),
            key=lambda lvl: lvl.rank,
            default=LevelOfCare.least_intensive(),
        )
        if self._context.ruleset is not None:
            fact[DECIDED_LEVEL] = level.value
            fired += self._context.fired(fact)
            values = {**values, DECIDED_LEVEL: level.value}
        fired.sort(key=lambda p: (-(p.rule.then.level.rank if p.rule.then.level else -1), p.order))
        raised = {flag for p in fired for flag in p.rule.then.flags}
        return Recommendation.model_construct(
            level=level,
            flags=tuple(flag for flag in Flag if flag in raised),
            reasons=tuple(p.reason(values) for p in fired),
            alternative=self._alternative(level, fired, raised),
            intensity=level.intensity,
            ruleset=self._info,
        )

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
