"""A reference evaluator: the rule files interpreted in plain Python, as obviously as possible.

It shares nothing with the engine but the rule files and the level order: it reads the
JSON itself, walks conditions directly and applies the decision policy in a few lines.
It is the oracle the durable-rules engine is tested against (same level, flags, fired
rules and alternative on every assessment), and the evaluator the verifier relies on.

It does not validate rule files: load them with :class:`PlacementEngine` (or
``iop-placement verify``) first, which does.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final

from iop_placement._model.assessment import Assessment
from iop_placement._model.levels import LevelOfCare
from iop_placement._model.validation import parse_assessment

__all__ = ["ReferenceEvaluator", "ReferenceResult"]

_LEVEL: Final = "level"  # the pseudo-field for the level decided by the level rules
# The ordering operators, spelled out here on purpose rather than read from the engine's
# table (_rules/operators.py): an oracle that shared the table would share its mistakes.
_COMPARE: Final[Mapping[str, Callable[[Any, Any], bool]]] = {
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}
_RANK: Final = {level.value: level.rank for level in LevelOfCare}


@dataclass(frozen=True, slots=True)
class ReferenceResult:
    """What the reference evaluator decides for one assessment (codes, not enums)."""

    level: str
    flags: frozenset[str]
    rule_ids: frozenset[str]
    alternative: tuple[str, tuple[str, ...], tuple[str, ...]] | None  # level, conditions, rules


def _same(value: Any, expected: Any) -> bool:  # noqa: ANN401 - JSON scalars
    # JSON true is not the number 1, and 1 is not true.
    return type(value) is type(expected) and value == expected


def holds(condition: Mapping[str, Any], answers: Mapping[str, Any]) -> bool:
    """Whether a condition, as written in a rule file, holds for these answers."""
    if "all" in condition:
        return all(holds(part, answers) for part in condition["all"])
    if "any" in condition:
        return any(holds(part, answers) for part in condition["any"])
    if "not" in condition:
        return not holds(condition["not"], answers)
    value = answers[condition["field"]]
    if "is" in condition:
        return _same(value, condition["is"])
    if "in" in condition:
        return any(_same(value, option) for option in condition["in"])
    if "includes_any" in condition:
        return any(item in value for item in condition["includes_any"])
    for name, compare in _COMPARE.items():
        if name in condition:
            return compare(value, condition[name])
    msg = f"unknown condition: {sorted(condition)}"
    raise ValueError(msg)


def reads_level(condition: Mapping[str, Any]) -> bool:
    """Whether a condition mentions the decided level anywhere."""
    if "all" in condition or "any" in condition:
        return any(reads_level(part) for part in condition.get("all", condition.get("any", [])))
    if "not" in condition:
        return reads_level(condition["not"])
    return bool(condition["field"] == _LEVEL)


class ReferenceEvaluator:
    """Evaluates the rule files of one directory on assessments, in plain Python."""

    def __init__(self, manifest: Mapping[str, Any], rules: list[Mapping[str, Any]]) -> None:
        self.manifest = manifest
        self.rules = rules
        self._blocking = frozenset(manifest.get("alternative_blocked_by_flags", ()))

    @classmethod
    def from_directory(cls, directory: Traversable | str) -> ReferenceEvaluator:
        """Read ``ruleset.json`` and the family files it lists."""
        root: Traversable = Path(directory) if isinstance(directory, str) else directory
        manifest = json.loads((root / "ruleset.json").read_bytes())
        rules: list[Mapping[str, Any]] = []
        for family in manifest["families"]:
            rules.extend(json.loads((root / f"{family}.json").read_bytes())["rules"])
        return cls(manifest, rules)

    def evaluate(self, assessment: Assessment | Mapping[str, Any]) -> ReferenceResult:
        """The level, flags, fired rules and alternative for one assessment."""
        answers = parse_assessment(assessment).values()
        level_rules = [rule for rule in self.rules if not reads_level(rule["when"])]
        context_rules = [rule for rule in self.rules if reads_level(rule["when"])]

        fired = [rule for rule in level_rules if holds(rule["when"], answers)]
        levels = [rule["then"]["level"] for rule in fired if rule["then"].get("level")]
        level = max(levels, key=_RANK.__getitem__, default=LevelOfCare.STANDARD_OUTPATIENT.value)

        with_level = {**answers, _LEVEL: level}
        fired += [rule for rule in context_rules if holds(rule["when"], with_level)]
        flags = frozenset(flag for rule in fired for flag in rule["then"].get("flags", ()))

        alternative = None
        offers = [
            rule
            for rule in fired
            if "alternative" in rule["then"]
            and _RANK[rule["then"]["alternative"]["level"]] < _RANK[level]
        ]
        if offers and not flags & self._blocking:
            best = max(
                (rule["then"]["alternative"]["level"] for rule in offers), key=_RANK.__getitem__
            )
            chosen = [rule for rule in offers if rule["then"]["alternative"]["level"] == best]
            conditions: list[str] = []
            for rule in chosen:
                for condition in rule["then"]["alternative"]["conditions"]:
                    if condition not in conditions:
                        conditions.append(condition)
            alternative = (best, tuple(conditions), tuple(rule["id"] for rule in chosen))

        return ReferenceResult(
            level=level,
            flags=flags,
            rule_ids=frozenset(rule["id"] for rule in fired),
            alternative=alternative,
        )
