"""What a rule-set comparison found: the changes per scope, and the policies that refuse them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from iop_placement._model.levels import Flag, FlagKind, LevelOfCare
from iop_placement._model.record import RulesetInfo

__all__ = ["FAIL_ON", "SAFETY_FLAGS", "Change", "ChangeKind", "RuleSetComparison", "Tally"]

ChangeKind = Literal["level", "flag", "rating"]

SAFETY_FLAGS: Final = tuple(flag for flag in Flag if flag.kind is FlagKind.SAFETY)


@dataclass(frozen=True, slots=True)
class Change:
    """One kind of change and how many assessments it affects.

    ``subject`` is ``"level"``, a flag's code or a dimension's code; ``before`` and
    ``after`` are levels' codes, whether the flag is raised, or ratings. ``example`` is
    the least risky assessment showing the change (over the space) or the number of the
    first line showing it (over a population); ``rules_before`` and ``rules_after`` are
    the rules that decide it there under each rule set.
    """

    kind: ChangeKind
    subject: str
    before: str | bool | int
    after: str | bool | int
    count: int
    share: float
    example: Mapping[str, Any] | None = None
    line: int | None = None
    rules_before: tuple[str, ...] = ()
    rules_after: tuple[str, ...] = ()

    def describe(self) -> str:
        """The change in words, e.g. "level: intensive_outpatient → standard_outpatient"."""
        if self.kind == "flag":
            return f"flag {self.subject} {'gained' if self.after else 'lost'}"
        if self.kind == "rating":
            return f"rating of {self.subject}: {self.before} → {self.after}"
        return f"level: {self.before} → {self.after}"


@dataclass(frozen=True, slots=True)
class Tally:
    """The changes over one scope: the whole space, or a population."""

    scope: str
    total: int
    levels: Mapping[tuple[str, str], int]
    """Assessments by (level before, level after), unchanged ones included."""
    changes: tuple[Change, ...]
    safety_down: int
    """Assessments with a safety flag (before or after) whose level drops."""
    invalid: tuple[tuple[int, str], ...] = ()
    """For a population: (line number, what is wrong) for each line not scored."""
    fixed: Mapping[str, Any] = field(default_factory=dict)
    """For the space: the fields held at one answer (None: left out); empty for all."""

    def share(self, count: int) -> float:
        """``count`` as a share of the scope."""
        return count / self.total if self.total else 0.0

    def moved(self, direction: Literal["up", "down"]) -> int:
        """Assessments moved to a more (``up``) or less (``down``) intensive level."""
        sign = 1 if direction == "up" else -1
        return sum(
            count
            for (before, after), count in self.levels.items()
            if (LevelOfCare.of(after).rank - LevelOfCare.of(before).rank) * sign > 0
        )

    def at_level(self, level: LevelOfCare, *, after: bool) -> int:
        """Assessments at ``level`` under the new (``after``) or the old rule set."""
        return sum(count for pair, count in self.levels.items() if pair[after] == level.value)


def _never(tally: Tally) -> list[str]:  # noqa: ARG001 - same signature as the others
    return []


def _moves(kind: ChangeKind) -> Callable[[Tally], list[str]]:
    def check(tally: Tally) -> list[str]:
        return [
            f"{tally.scope}: {c.describe()} ({c.count:,})" for c in tally.changes if c.kind == kind
        ]

    return check


def _any_change(tally: Tally) -> list[str]:
    return [f"{tally.scope}: {c.describe()} ({c.count:,})" for c in tally.changes]


def _level_down(tally: Tally) -> list[str]:
    down = tally.moved("down")
    return [f"{tally.scope}: {down:,} assessments move to a less intensive level"] if down else []


def _level_up(tally: Tally) -> list[str]:
    up = tally.moved("up")
    return [f"{tally.scope}: {up:,} assessments move to a more intensive level"] if up else []


def _safety_down(tally: Tally) -> list[str]:
    if not tally.safety_down:
        return []
    return [
        f"{tally.scope}: {tally.safety_down:,} assessments with a safety flag move to a less"
        " intensive level"
    ]


def _flag_lost(tally: Tally) -> list[str]:
    return [
        f"{tally.scope}: {c.describe()} ({c.count:,})"
        for c in tally.changes
        if c.kind == "flag" and not c.after
    ]


FAIL_ON: Final[Mapping[str, Callable[[Tally], list[str]]]] = {
    "any": _any_change,
    "level": _moves("level"),
    "down": _level_down,
    "up": _level_up,
    "safety-down": _safety_down,
    "flag-lost": _flag_lost,
    "rating": _moves("rating"),
    "none": _never,
}
"""What ``--fail-on`` may refuse: any change at all; any move of level; any move down or
up; any assessment with a safety flag whose level drops; any flag lost; any change of a
rating; ``none`` (report only)."""


@dataclass(frozen=True, slots=True)
class RuleSetComparison:
    """Two rule sets compared over the whole space and, if given, a population."""

    old: RulesetInfo
    new: RulesetInfo
    space: Tally
    population: Tally | None = None
    seconds: float = 0.0
    tallies: tuple[Tally, ...] = field(init=False)

    def __post_init__(self) -> None:
        tallies = (self.space,) if self.population is None else (self.space, self.population)
        object.__setattr__(self, "tallies", tallies)

    @property
    def changed(self) -> bool:
        """Whether any assessment changes level, a flag or a rating."""
        return any(tally.changes for tally in self.tallies)

    def failures(self, fail_on: Iterable[str]) -> list[str]:
        """What the ``fail_on`` policies (keys of :data:`FAIL_ON`) refuse, in words.

        Raises:
            ValueError: for a policy that is not one of :data:`FAIL_ON`.

        """
        found: list[str] = []
        for policy in fail_on:
            check = FAIL_ON.get(policy)
            if check is None:
                msg = f"unknown fail-on policy {policy!r}; allowed: {', '.join(FAIL_ON)}"
                raise ValueError(msg)
            found += [f"[{policy}] {line}" for tally in self.tallies for line in check(tally)]
        return found
