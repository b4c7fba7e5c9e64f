"""provisional()'s bounds read off the rule set's decision diagrams, restricted to the answers.

The diagrams (``_diagrams.Outcomes``) hold the engine's level, flags and ratings over the
whole assessment space. Fixing the given answers (a cofactor) leaves a diagram over the
unanswered fields; a level, a rating or a flag is possible when its restricted diagram is
not false, certain when its negation's is. Each open field's answers are one more
conjunction each. The result is the same :class:`Bounds` the case-split search finds
(exact both ways; tests compare them), in about a millisecond instead of up to seconds.

dd's managers are not thread-safe: every read and the build hold ``SPACE_LOCK``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from iop_placement._algebras.diagrams import SPACE_LOCK, Function, Outcomes, shared_space
from iop_placement._analysis.provisional import Answer, Bounds, answers_of
from iop_placement._model.fields import field_specs
from iop_placement._model.levels import Dimension, Flag, LevelOfCare, RiskRating
from iop_placement._rules.ruleset import RuleSet

__all__ = ["MAX_DIAGRAM_NODES", "DiagramSearch", "DiagramsTooLarge"]

MAX_DIAGRAM_NODES: Final = 200_000
"""Above this many nodes in one rule set's diagrams (level, flags, ratings together) the
engine keeps the case-split search: a custom rule set whose diagrams blow up must not cost
more memory than that. The bundled rules 2.1 need about 12,500."""

_LEVELS: Final = tuple(sorted(LevelOfCare, key=lambda level: level.rank))
_RATINGS: Final = range(int(max(RiskRating)) + 1)


class DiagramsTooLarge(Exception):  # noqa: N818 - a signal to fall back, not a failure
    """The rule set's diagrams exceed :data:`MAX_DIAGRAM_NODES`."""


Assignment = dict[int, bool]
"""Values of some variables, by their level in the diagram manager."""


class DiagramSearch:
    """The bounds of every completion of a partial intake, from one rule set's diagrams.

    Each question is "does the diagram have a path to true that agrees with these
    answers?", answered by walking the diagram without building a new one (dd's own
    operations allocate nodes and cost far more in pure Python).
    """

    def __init__(self, rule_set: RuleSet, cuts: Mapping[str, frozenset[int]]) -> None:
        """Build the diagrams once (``cuts``: the integer fields' answers, as the search's).

        Raises:
            DiagramsTooLarge: when they exceed :data:`MAX_DIAGRAM_NODES`.

        """
        self._specs = field_specs()
        with SPACE_LOCK:
            space = self._space = shared_space()
            outcomes = Outcomes(space, rule_set)
            domain = space.domain
            # Within the domain, so that a path to true is an assessment.
            levels = [outcomes.level_is(level) & domain for level in _LEVELS]
            raised = {flag: outcomes.flags[flag] & domain for flag in Flag}
            lowered = {flag: ~outcomes.flags[flag] & domain for flag in Flag}
            rated = {d: [outcomes.rating_is(d, r) & domain for r in _RATINGS] for d in Dimension}
            everything = [*levels, *raised.values(), *lowered.values()]
            everything += [f for fs in rated.values() for f in fs]
            nodes = sum(f.dag_size for f in everything)
            if nodes > MAX_DIAGRAM_NODES:
                msg = f"{nodes:,} nodes"
                raise DiagramsTooLarge(msg)
            self.nodes = nodes
            self._keep = everything  # the references that keep the nodes alive
            self._levels = [f.node for f in levels]
            self._raised = {flag: f.node for flag, f in raised.items()}
            self._lowered = {flag: f.node for flag, f in lowered.items()}
            self._rated = {d: [f.node for f in fs] for d, fs in rated.items()}
            self._forks = _forks(everything)
            level_of = space.bdd.vars
            self._pieces: dict[str, dict[Answer, list[Assignment]]] = {
                name: {
                    answer: [
                        {level_of[var]: bit for var, bit in cube.items()}
                        for cube in space.cubes(name, answer)
                    ]
                    for answer in answers_of(spec, cuts)
                }
                for name, spec in self._specs.items()
            }
            self._fixing = space.fixing
            self._level_of = level_of

    def run(self, given: Mapping[str, Any], unanswered: tuple[str, ...]) -> Bounds:
        """The same bounds as ``ProvisionalSearch.run`` for validated ``given`` answers."""
        bounds = Bounds()
        with SPACE_LOCK:
            fixed = {self._level_of[v]: bit for v, bit in self._fixing(given).items()}
            sat = _Walk(self._forks, fixed)
            possible = [rank for rank, u in enumerate(self._levels) if sat(u)]
            bounds.lowest, bounds.highest = possible[0], possible[-1]
            for name in unanswered:
                bounds.by_answer[name] = {}
                for answer, cubes in self._pieces[name].items():
                    bounds.by_answer[name][answer] = self._extremes(sat, possible, cubes)
            for flag in Flag:
                if sat(self._raised[flag]):
                    bounds.some_flag.add(flag)
                    if not sat(self._lowered[flag]):
                        bounds.every_flag.add(flag)
            for dimension, nodes in self._rated.items():
                found = [r for r, u in zip(_RATINGS, nodes, strict=True) if sat(u)]
                bounds.ratings[dimension] = [found[0], found[-1]]
        return bounds

    def _extremes(self, sat: _Walk, possible: list[int], cubes: list[Assignment]) -> list[int]:
        """The lowest and highest level among ``possible`` once one open answer is fixed.

        Some level is reached (the answer leaves completions), so the checks stop early.
        """

        def reached(rank: int) -> bool:
            return any(sat.agrees(self._levels[rank], cube) for cube in cubes)

        low = next((r for r in possible[:-1] if reached(r)), possible[-1])
        high = next((r for r in reversed(possible) if r > low and reached(r)), low)
        return [low, high]


Fork = tuple[int, int, int]
"""A node's variable level and its low and high children."""


def _forks(roots: list[Function]) -> dict[int, Fork]:
    """Every node under ``roots``, complemented or not, with its children, once.

    dd's nodes are signed: a negative reference is the complement, whose children are the
    complements of the node's. Reading them from one dict with the sign already applied
    saves most of a walk's cost (the walks run per intake; this runs once, through dd's
    public API).
    """
    forks: dict[int, Fork] = {}
    todo = list(roots)
    while todo:
        f = todo.pop()
        low, high = f.low, f.high
        if low is None or high is None or abs(f.node) in forks:  # a leaf, or seen
            continue
        level, u = f.level, abs(f.node)
        forks[u] = (level, low.node, high.node)
        forks[-u] = (level, -low.node, -high.node)
        todo += (low, high)
    return forks


class _Walk:
    """Whether a diagram has a path to true under fixed answers (memoised per intake)."""

    def __init__(self, forks: dict[int, Fork], fixed: Assignment) -> None:
        self._forks = forks
        self._fixed = fixed
        self._memo: dict[int, bool] = {1: True, -1: False}

    def __call__(self, u: int) -> bool:
        """Some path from ``u`` to true agrees with the fixed answers."""
        found = self._memo.get(u)
        if found is None:
            level, low, high = self._forks[u]
            value = self._fixed.get(level)
            found = (self(low) or self(high)) if value is None else self(high if value else low)
            self._memo[u] = found
        return found

    def agrees(self, u: int, extra: Assignment) -> bool:
        """Some path from ``u`` to true agrees with the fixed answers and ``extra``."""
        return self._agrees(u, extra, max(extra, default=-1), set())

    def _agrees(self, u: int, extra: Assignment, last: int, dead: set[int]) -> bool:
        if u == 1:
            return True
        if u == -1 or u in dead:  # dead: reached before along another path, led nowhere
            return False
        level, low, high = self._forks[u]
        if level > last:  # below every variable of extra: the memoised answer
            found = self._memo.get(u)
            return self(u) if found is None else found
        value = extra.get(level)
        if value is None:
            value = self._fixed.get(level)
        if value is None:
            found = self._agrees(low, extra, last, dead) or self._agrees(high, extra, last, dead)
        else:
            found = self._agrees(high if value else low, extra, last, dead)
        if not found:
            dead.add(u)
        return found
