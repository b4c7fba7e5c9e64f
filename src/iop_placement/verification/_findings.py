"""What every verification method reports: findings, and the contract's conditions in words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Finding", "words"]


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
