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

from iop_placement._model.assessment import ABSENT_MEANS, Assessment
from iop_placement._model.levels import Dimension, LevelOfCare
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
# What an optional field left out is read as, from the model (None: absence is its own value).
_ABSENT: Final[Mapping[str, Any]] = {
    name: info.json_schema_extra.get(ABSENT_MEANS)
    for name, info in Assessment.model_fields.items()
    if isinstance(info.json_schema_extra, dict) and ABSENT_MEANS in info.json_schema_extra
}


@dataclass(frozen=True, slots=True)
class ReferenceResult:
    """What the reference evaluator decides for one assessment (codes, not enums)."""

    level: str
    flags: frozenset[str]
    rule_ids: frozenset[str]
    alternative: tuple[str, tuple[str, ...], tuple[str, ...]] | None  # level, conditions, rules
    ratings: Mapping[str, int]  # dimension -> rating


def _same(value: Any, expected: Any) -> bool:  # noqa: ANN401 - JSON scalars
    # JSON true is not the number 1, and 1 is not true.
    return type(value) is type(expected) and value == expected


def holds(condition: Mapping[str, Any], answers: Mapping[str, Any]) -> bool:
    """Whether a condition, as written in a rule file, holds for these answers.

    ``answers`` also holds the ratings (``rating.<dimension>``) and counts
    (``dimensions_at_least.<k>``) once they are known.
    """
    if "all" in condition:
        return all(holds(part, answers) for part in condition["all"])
    if "any" in condition:
        return any(holds(part, answers) for part in condition["any"])
    if "not" in condition:
        return not holds(condition["not"], answers)
    if "rating" in condition:
        value = answers[f"rating.{condition['rating']}"]
    elif "dimensions_at_least" in condition:
        value = answers[f"dimensions_at_least.{condition['dimensions_at_least']}"]
    else:
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


def _tests(condition: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if "all" in condition or "any" in condition:
        parts = condition.get("all", condition.get("any", []))
        return [test for part in parts for test in _tests(part)]
    if "not" in condition:
        return _tests(condition["not"])
    return [condition]


def reads_level(condition: Mapping[str, Any]) -> bool:
    """Whether a condition mentions the decided level anywhere."""
    return any(test.get("field") == _LEVEL for test in _tests(condition))


def reads_ratings(condition: Mapping[str, Any]) -> bool:
    """Whether a condition reads a rating or a count of ratings anywhere."""
    return any("rating" in test or "dimensions_at_least" in test for test in _tests(condition))


def stage(condition: Mapping[str, Any]) -> int:
    """1: reads only answers; 2: reads ratings; 3: reads the decided level."""
    return 3 if reads_level(condition) else 2 if reads_ratings(condition) else 1


class ReferenceEvaluator:
    """Evaluates the rule files of one directory on assessments, in plain Python."""

    def __init__(self, manifest: Mapping[str, Any], rules: list[Mapping[str, Any]]) -> None:
        self.manifest = manifest
        self.rules = rules
        self._blocking = frozenset(manifest.get("alternative_blocked_by_flags", ()))
        override = manifest.get("safety_override", {})
        self._override_flags = frozenset(override.get("flags", ()))
        self._override_rules = frozenset(override.get("rules", ()))

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
        for name, means in _ABSENT.items():
            if answers[name] is None and means is not None:
                answers[name] = means
        by_stage = {n: [r for r in self.rules if stage(r["when"]) == n] for n in (1, 2, 3)}

        fired = [rule for rule in by_stage[1] if holds(rule["when"], answers)]
        ratings = {dimension.value: 0 for dimension in Dimension}
        for rule in fired:
            if "rating" in rule["then"]:
                given = rule["then"]["rating"]
                ratings[given["dimension"]] = max(ratings[given["dimension"]], given["value"])
        with_ratings = dict(answers)
        for name, value in ratings.items():
            with_ratings[f"rating.{name}"] = value
        for at_least in range(1, 5):
            count = sum(value >= at_least for value in ratings.values())
            with_ratings[f"dimensions_at_least.{at_least}"] = count
        fired += [rule for rule in by_stage[2] if holds(rule["when"], with_ratings)]
        levels = [rule["then"]["level"] for rule in fired if rule["then"].get("level")]
        level = max(levels, key=_RANK.__getitem__, default=LevelOfCare.STANDARD_OUTPATIENT.value)

        with_level = {**with_ratings, _LEVEL: level}
        fired += [rule for rule in by_stage[3] if holds(rule["when"], with_level)]
        override = any(rule["id"] in self._override_rules for rule in fired) or any(
            flag in self._override_flags for rule in fired for flag in rule["then"].get("flags", ())
        )
        if override:
            fired = [
                rule
                for rule in fired
                if rule["then"].get("level") in (None, level)
                # nothing that offers a way down: no rule offering an alternative, except
                # one that also rates or sets a level and reads no decided level
                and not (
                    "alternative" in rule["then"]
                    and (
                        stage(rule["when"]) == 3
                        or ("level" not in rule["then"] and "rating" not in rule["then"])
                    )
                )
            ]
        flags = frozenset(flag for rule in fired for flag in rule["then"].get("flags", ()))

        alternative = None
        offers = [
            rule
            for rule in fired
            if "alternative" in rule["then"]
            and _RANK[rule["then"]["alternative"]["level"]] < _RANK[level]
        ]
        if offers and not flags & self._blocking and not override:
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
            ratings=ratings,
        )
