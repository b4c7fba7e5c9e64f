"""Compare two rule sets: whom a change moves, to which level, and why.

:func:`compare_rules` counts, over the whole assessment space (every answer of every
field, absence included: exact counts from decision diagrams, see
``iop_placement._algebras.diagrams``) and optionally over a population of assessments
(one JSON object per line), every change of level (from -> to), every flag gained or
lost and every change of a dimension's rating. Each kind of change over the space comes
with its least risky example and the rules that decide it under each rule set. The two
rule sets may differ in version and in rules, not in the assessment model: both are read
with this library's model.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from iop_placement._engine import PlacementEngine
from iop_placement._model.errors import InvalidAssessment
from iop_placement._model.levels import Dimension, Flag, LevelOfCare
from iop_placement._model.recommendation import Recommendation
from iop_placement._model.record import RulesetInfo
from iop_placement._rules.ruleset import RuleSet, load_rule_set
from iop_placement.comparison._report import render_json, render_markdown, render_text
from iop_placement.comparison._results import (
    FAIL_ON,
    SAFETY_FLAGS,
    Change,
    ChangeKind,
    RuleSetComparison,
    Tally,
)

if TYPE_CHECKING:
    from iop_placement._algebras.diagrams import Function, Space

__all__ = [
    "FAIL_ON",
    "FORMATS",
    "Change",
    "RuleSetComparison",
    "Tally",
    "compare_rules",
    "render_comparison",
]

FORMATS: Final[Mapping[str, Callable[[RuleSetComparison], str]]] = {
    "text": render_text,
    "markdown": render_markdown,
    "json": render_json,
}
"""The report formats: plain text for a terminal or CI log, Markdown for a review, JSON."""


def render_comparison(comparison: RuleSetComparison, fmt: str = "text") -> str:
    """The comparison as a report in one of :data:`FORMATS`.

    Raises:
        ValueError: for a format that is not one of :data:`FORMATS`.

    """
    render = FORMATS.get(fmt)
    if render is None:
        msg = f"unknown report format {fmt!r}; allowed: {', '.join(FORMATS)}"
        raise ValueError(msg)
    return render(comparison)


Progress = Callable[[int], None]


# --- over the whole space -----------------------------------------------------------------


class _Deciders:
    """The rules behind a change at one assessment, under one rule set."""

    def __init__(self, rule_set: RuleSet) -> None:
        self.engine = PlacementEngine(rule_set, backend="compiled")

    def recommend(self, answers: Mapping[str, Any]) -> Recommendation:
        return self.engine.recommend(answers)

    @staticmethod
    def behind(rec: Recommendation, kind: ChangeKind, subject: str) -> tuple[str, ...]:
        if kind == "level":
            return tuple(r.rule_id for r in rec.deciding)
        if kind == "flag":
            return tuple(r.rule_id for r in rec.reasons if Flag.of(subject) in r.flags)
        rating = next(d for d in rec.dimensions if d.dimension.value == subject)
        return rating.rule_ids


def _space_tally(old: RuleSet, new: RuleSet, fixed: Mapping[str, Any]) -> Tally:
    # dd (the verify extra) is needed here only: the policies and reports import without it.
    from iop_placement._algebras.diagrams import SPACE_LOCK, shared_space  # noqa: PLC0415

    with SPACE_LOCK:
        return _count_space(shared_space(), old, new, fixed)


def _count_space(space: Space, old: RuleSet, new: RuleSet, fixed: Mapping[str, Any]) -> Tally:
    from iop_placement._algebras.diagrams import Outcomes  # noqa: PLC0415 - needs dd

    held = space.holding(fixed)
    before, after = Outcomes(space, old), Outcomes(space, new)
    deciders = (_Deciders(old), _Deciders(new))
    total = space.count(held)
    found: list[tuple[ChangeKind, str, Any, Any, Function]] = []
    levels: dict[tuple[str, str], int] = {}
    for a in LevelOfCare:
        for b in LevelOfCare:
            where = held & before.level_is(a) & after.level_is(b)
            levels[(a.value, b.value)] = space.count(where)
            if a is not b:
                found.append(("level", "level", a.value, b.value, where))
    for flag in Flag:
        was, now = before.flags[flag], after.flags[flag]
        found.append(("flag", flag.value, False, True, held & ~was & now))
        found.append(("flag", flag.value, True, False, held & was & ~now))
    for dimension in Dimension:
        for r in range(5):
            for s in range(5):
                if r != s:
                    where = held & before.rating_is(dimension, r) & after.rating_is(dimension, s)
                    found.append(("rating", dimension.value, r, s, where))
    changes = []
    for kind, subject, was_value, now_value, where in found:
        count = space.count(where)
        if not count:
            continue
        example = space.example(where)
        assert example is not None  # a non-empty set has an example
        recs = [d.recommend(example) for d in deciders]
        changes.append(
            Change(
                kind,
                subject,
                was_value,
                now_value,
                count,
                count / total,
                example=example,
                rules_before=_Deciders.behind(recs[0], kind, subject),
                rules_after=_Deciders.behind(recs[1], kind, subject),
            )
        )
    safety = space.any_of(
        outcomes.flags[flag] for outcomes in (before, after) for flag in SAFETY_FLAGS
    )
    down = space.any_of(
        before.level_is(a) & after.level_is(b)
        for a in LevelOfCare
        for b in LevelOfCare
        if b.rank < a.rank
    )
    return Tally(
        scope="whole space",
        total=total,
        levels=levels,
        changes=tuple(changes),
        safety_down=space.count(held & safety & down),
        fixed=dict(fixed),
    )


# --- over a population ----------------------------------------------------------------------


def _population_tally(
    old: RuleSet,
    new: RuleSet,
    lines: Iterable[str],
    *,
    scope: str,
    progress: Progress | None,
) -> Tally:
    engines = (_Deciders(old), _Deciders(new))
    levels: Counter[tuple[str, str]] = Counter()
    counts: Counter[tuple[ChangeKind, str, Any, Any]] = Counter()
    first: dict[tuple[ChangeKind, str, Any, Any], tuple[int, tuple[str, ...], tuple[str, ...]]]
    first = {}
    invalid: list[tuple[int, str]] = []
    safety_down = total = 0
    for number, line in enumerate(lines, start=1):
        if progress is not None:
            progress(number)
        if not line.strip():
            continue
        try:
            answers = json.loads(line)
            was, now = (engine.recommend(answers) for engine in engines)
        except json.JSONDecodeError:
            invalid.append((number, "not valid JSON"))
            continue
        except (InvalidAssessment, RecursionError, ValueError) as error:
            invalid.append((number, _safe(error)))
            continue
        total += 1
        levels[(was.level.value, now.level.value)] += 1
        kinds: list[tuple[ChangeKind, str, Any, Any]] = []
        if was.level is not now.level:
            kinds.append(("level", "level", was.level.value, now.level.value))
        for flag in Flag:
            if (flag in was.flags) != (flag in now.flags):
                kinds.append(("flag", flag.value, flag in was.flags, flag in now.flags))
        for a, b in zip(was.dimensions, now.dimensions, strict=True):
            if a.rating != b.rating:
                kinds.append(("rating", a.dimension.value, a.rating, b.rating))
        if now.level.rank < was.level.rank and any(
            flag in rec.flags for rec in (was, now) for flag in SAFETY_FLAGS
        ):
            safety_down += 1
        for key in kinds:
            counts[key] += 1
            if key not in first:
                first[key] = (
                    number,
                    _Deciders.behind(was, key[0], key[1]),
                    _Deciders.behind(now, key[0], key[1]),
                )
    changes = tuple(
        Change(
            kind,
            subject,
            before,
            after,
            count,
            count / total if total else 0.0,
            line=first[(kind, subject, before, after)][0],
            rules_before=first[(kind, subject, before, after)][1],
            rules_after=first[(kind, subject, before, after)][2],
        )
        for (kind, subject, before, after), count in sorted(
            counts.items(), key=lambda item: _order(item[0])
        )
    )
    return Tally(
        scope=scope,
        total=total,
        levels=dict(
            sorted(
                levels.items(),
                key=lambda item: tuple(LevelOfCare.of(code).rank for code in item[0]),
            )
        ),
        changes=changes,
        safety_down=safety_down,
        invalid=tuple(invalid),
    )


def _order(key: tuple[ChangeKind, str, Any, Any]) -> tuple[int, int, Any, Any]:
    kind, subject, before, after = key
    subjects: Sequence[str] = {
        "level": ["level"],
        "flag": [f.value for f in Flag],
        "rating": [d.value for d in Dimension],
    }[kind]
    if kind == "level":
        before, after = LevelOfCare.of(before).rank, LevelOfCare.of(after).rank
    return (("level", "flag", "rating").index(kind), subjects.index(subject), before, after)


def _safe(error: BaseException) -> str:
    """What is wrong with a line, without any of its content."""
    if isinstance(error, InvalidAssessment):
        return f"not a valid assessment ({', '.join(dict.fromkeys(error.fields))})"
    return f"not a valid assessment ({type(error).__name__})"


# --- the entry point ------------------------------------------------------------------------


def compare_rules(
    old: Traversable | str | RuleSet,
    new: Traversable | str | RuleSet,
    *,
    population: Iterable[str] | str | Path | None = None,
    fixed: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> RuleSetComparison:
    """Compare rule set ``old`` with rule set ``new`` (directories or loaded rule sets).

    ``population`` is a path to a file of assessments, one JSON object per line, or the
    lines themselves; lines that are not valid assessments are reported, never fatal.
    ``fixed`` holds some fields of the space at one answer each (None: left out), e.g. to
    compare only clinical profiles at one set of feasibility answers.
    ``progress`` is called with each population line number as it is scored.

    Raises:
        RuleSetError: when either rule directory is malformed.
        OSError: when the population file cannot be read.
        ValueError: when ``fixed`` names an unknown field or an answer it does not allow.

    """
    started = time.perf_counter()
    before, after = (r if isinstance(r, RuleSet) else load_rule_set(r) for r in (old, new))
    space = _space_tally(before, after, fixed or {})
    tally = None
    if population is not None:
        if isinstance(population, str | Path):
            path = Path(population)
            with path.open(encoding="utf-8", errors="replace", newline="\n") as lines:
                tally = _population_tally(before, after, lines, scope=path.name, progress=progress)
        else:
            tally = _population_tally(
                before, after, population, scope="population", progress=progress
            )
    infos = [RulesetInfo(name=r.name, version=r.version, sha256=r.sha256) for r in (before, after)]
    return RuleSetComparison(
        old=infos[0],
        new=infos[1],
        space=space,
        population=tally,
        seconds=time.perf_counter() - started,
    )
