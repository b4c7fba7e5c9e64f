"""Transition rules as data: format, loading, and a small evaluator that knows nothing clinical.

A transition rule file (``rules/transitions.json``) holds rules whose conditions read
*transition facts*, computed from two recommendations and the current level (see
:data:`FACTS`), and whose outcome is a :class:`Transition`. The decision is the fired
outcome that comes first in the file's ``precedence``, else its ``default``.

Conditions: ``{"all": [...]}``, ``{"any": [...]}``, ``{"not": {...}}``, or a comparison
``{"fact": F, "op": OP, "value": V}`` / ``{"fact": F, "op": OP, "ref": G}`` (another
fact). ``OP`` is one of ``eq ne lt le gt ge is_null``; a comparison with a null fact
(other than ``is_null``) is false.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import Field, ValidationError, model_validator

from iop_placement._model.base import Frozen
from iop_placement._model.errors import RuleSetError
from iop_placement._model.reassessment import Transition
from iop_placement._rules.bundled import bundled_rules
from iop_placement._rules.ruleset import Source

__all__ = [
    "FACTS",
    "TRANSITIONS_FILE",
    "FactName",
    "TransitionFacts",
    "TransitionRule",
    "TransitionRules",
    "load_transition_rules",
]

TRANSITIONS_FILE: Final = "transitions.json"

FactName = Literal[
    "current_rank",
    "recommended_rank",
    "previous_rank",
    "safety_flag",
    "dimensions_worse",
    "dimensions_better",
    "highest_rating",
    "days_in_level",
]
FACTS: Final[dict[str, str]] = {
    "current_rank": "rank of the level the person is in (0 least intensive)",
    "recommended_rank": "rank of the level recommended now",
    "previous_rank": "rank of the level recommended at the previous assessment",
    "safety_flag": "true when the recommendation now raises a flag of kind safety",
    "dimensions_worse": "how many dimensions' ratings rose since the previous assessment",
    "dimensions_better": "how many dimensions' ratings fell",
    "highest_rating": "the highest dimension rating now (0-4)",
    "days_in_level": "days in the current level, or null when not given",
}
Op = Literal["eq", "ne", "lt", "le", "gt", "ge", "is_null"]


class Comparison(Frozen):
    """``fact op value`` or ``fact op ref``."""

    fact: FactName
    op: Op
    value: int | bool | None = None
    ref: FactName | None = None

    @model_validator(mode="after")
    def _operand(self) -> Comparison:
        if self.op == "is_null":
            if self.value is not None or self.ref is not None:
                msg = "is_null takes no value or ref"
                raise ValueError(msg)
        elif (self.value is None) == (self.ref is None):
            msg = f"{self.op} needs exactly one of value or ref"
            raise ValueError(msg)
        return self


class AllOf(Frozen):
    """Every condition holds."""

    all: tuple[Condition, ...] = Field(min_length=1)


class AnyOf(Frozen):
    """At least one condition holds."""

    any: tuple[Condition, ...] = Field(min_length=1)


class NotOf(Frozen):
    """The condition does not hold."""

    not_: Condition = Field(alias="not")


Condition = Comparison | AllOf | AnyOf | NotOf


class Outcome(Frozen):
    """The decision a rule supports."""

    decision: Transition


class TransitionRule(Frozen):
    """One continued-service, transfer or discharge criterion, citing its source."""

    id: str = Field(pattern=r"^transitions\.[a-z0-9_]+$")
    title: str = Field(min_length=1)
    text: str = Field(min_length=1)
    when: Condition
    then: Outcome
    source: Source


class TransitionRules(Frozen):
    """A transition rule file, checked; ``sha256`` is of its bytes."""

    family: Literal["transitions"]
    title: str
    description: str
    version: str = Field(min_length=1)
    precedence: tuple[Transition, ...]
    default: Transition
    rules: tuple[TransitionRule, ...] = Field(min_length=1)
    sha256: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> TransitionRules:
        if sorted(self.precedence) != sorted(Transition):
            msg = "precedence must list every decision once: " + ", ".join(Transition.values())
            raise ValueError(msg)
        ids = [rule.id for rule in self.rules]
        if len(set(ids)) != len(ids):
            msg = "rule ids must be unique"
            raise ValueError(msg)
        return self

    def decide(self, facts: TransitionFacts) -> tuple[Transition, tuple[TransitionRule, ...]]:
        """The decision and every rule that fired (file order)."""
        values = facts.as_dict()
        fired = tuple(rule for rule in self.rules if holds(rule.when, values))
        outcomes = {rule.then.decision for rule in fired}
        for decision in self.precedence:
            if decision in outcomes:
                return decision, fired
        return self.default, fired


@dataclass(frozen=True, slots=True)
class TransitionFacts:
    """The facts a transition rule can read (see :data:`FACTS`)."""

    current_rank: int
    recommended_rank: int
    previous_rank: int
    safety_flag: bool
    dimensions_worse: int
    dimensions_better: int
    highest_rating: int
    days_in_level: int | None

    def as_dict(self) -> dict[str, int | bool | None]:
        """Fact name -> value."""
        return {name: getattr(self, name) for name in FACTS}


def _compare(op: str, left: int | bool, right: int | bool) -> bool:
    if op == "eq":
        return left == right
    if op == "ne":
        return left != right
    if isinstance(left, bool) or isinstance(right, bool):
        return False  # booleans are not ordered
    return {
        "lt": left < right,
        "le": left <= right,
        "gt": left > right,
        "ge": left >= right,
    }[op]


def holds(condition: Condition, facts: Mapping[str, int | bool | None]) -> bool:
    """Whether ``condition`` holds on ``facts``."""
    if isinstance(condition, AllOf):
        return all(holds(part, facts) for part in condition.all)
    if isinstance(condition, AnyOf):
        return any(holds(part, facts) for part in condition.any)
    if isinstance(condition, NotOf):
        return not holds(condition.not_, facts)
    left = facts[condition.fact]
    if condition.op == "is_null":
        return left is None
    right = facts[condition.ref] if condition.ref is not None else condition.value
    if left is None or right is None:
        return False
    return _compare(condition.op, left, right)


def thresholds(rules: TransitionRules, fact: str) -> set[int]:
    """Every constant a rule compares ``fact`` with (for exhaustive checking)."""
    found: set[int] = set()

    def walk(condition: Condition) -> None:
        if isinstance(condition, AllOf | AnyOf):
            for part in condition.all if isinstance(condition, AllOf) else condition.any:
                walk(part)
        elif isinstance(condition, NotOf):
            walk(condition.not_)
        elif (
            condition.fact == fact
            and isinstance(condition.value, int)
            and not isinstance(condition.value, bool)
        ):
            found.add(condition.value)

    for rule in rules.rules:
        walk(rule.when)
    return found


def _parse(raw: bytes, label: str) -> TransitionRules:
    try:
        data: Any = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RuleSetError("is not valid JSON", file=label) from None
    if not isinstance(data, dict):
        raise RuleSetError("must be a JSON object", file=label)
    try:
        parsed = TransitionRules.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc']) or 'file'}: {item['msg']}"
            for item in error.errors(include_url=False, include_input=False)
        )
        raise RuleSetError(problems, file=label) from None
    return parsed.model_copy(update={"sha256": hashlib.sha256(raw).hexdigest()})


def load_transition_rules(source: Traversable | str | None = None) -> TransitionRules:
    """The transition rules from a file, a directory holding ``transitions.json``, or bundled.

    Raises:
        RuleSetError: the file is missing or not valid, naming the problem.

    """
    root: Traversable = (
        bundled_rules() if source is None else (Path(source) if isinstance(source, str) else source)
    )
    entry = root / TRANSITIONS_FILE if root.is_dir() else root
    if not entry.is_file():
        raise RuleSetError("no transition rule file", file=TRANSITIONS_FILE)
    return _parse(entry.read_bytes(), entry.name)
