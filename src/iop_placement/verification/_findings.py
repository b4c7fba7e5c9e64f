"""What every verification method reports: findings, and the contract's conditions in words."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Finding", "level_lowered", "rating_lowered", "words"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One violation or lint finding, with a counterexample where there is one."""

    kind: str
    message: str
    rule_ids: tuple[str, ...] = ()
    example: Mapping[str, Any] | None = None
    worsened: Mapping[str, Any] | None = None

    def __str__(self) -> str:
        lines = [f"[{self.kind}] {self.message}"]
        if self.rule_ids:
            lines.append(f"  rules: {', '.join(self.rule_ids)}")
        if self.example is not None:
            lines.append(f"  assessment: {dict(self.example)}")
        if self.worsened is not None:
            lines.append(f"  worsened:   {dict(self.worsened)}")
        return "\n".join(lines)


def words(condition: Mapping[str, Any]) -> str:
    """A contract condition in words, for findings."""
    if "all" in condition or "any" in condition:
        joiner = " and " if "all" in condition else " or "
        return joiner.join(words(p) for p in condition.get("all", condition.get("any", [])))
    wanted = condition["in"] if "in" in condition else [condition["is"]]
    shown = ["absent" if value is None else repr(value) for value in wanted]
    return f"{condition['field']} is {' or '.join(shown)}"


def level_lowered(
    step: tuple[str, Any, Any],
    before: tuple[str, Sequence[str]],
    after: tuple[str, Sequence[str]],
    pair: tuple[Mapping[str, Any], Mapping[str, Any]],
) -> Finding:
    """Worsening ``step`` (field, low, high) lowered the level; ``pair``: the two assessments."""
    name, low, high = step
    (was, why_was), (now, why_now) = before, after
    point, worse = pair
    message = (
        f"worsening {name} from {low!r} to {high!r} lowers the level from {was}"
        f" ({', '.join(why_was) or 'no rule'}) to {now}"
        f" ({', '.join(why_now) or 'no rule'})"
    )
    ids = tuple(dict.fromkeys((*why_was, *why_now)))
    return Finding("monotone", message, ids, point, worse)


def rating_lowered(
    step: tuple[str, Any, Any],
    what: str,
    ratings: tuple[object, object],
    fired: Iterable[str],
    pair: tuple[Mapping[str, Any], Mapping[str, Any]],
) -> Finding:
    """Worsening ``step`` lowered ``what`` (a dimension's rating) from one rating to another."""
    name, low, high = step
    (before, after), (point, worse) = ratings, pair
    message = (
        f"worsening {name} from {low!r} to {high!r} lowers the {what} from {before} to {after}"
    )
    return Finding("monotone", message, tuple(dict.fromkeys(fired)), point, worse)
