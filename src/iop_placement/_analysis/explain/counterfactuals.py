"""What would change it: minimal sets of goals that move the level down, found with the engine.

The search tries every set of modifiable fields, smallest first, and for each set every
combination of goal answers, nearest goals first; each try is one evaluation on the
engine's level-only path. A set is reported only when no proper subset of it works with
any goal answers, so every reported set is minimal. Nothing here knows a field by name:
the fields and their goals come from the model (see ``_modifiable``).

For a rule set proved monotone (``iop-placement verify``: worsening one answer never
lowers the level), a set is first tried at its lowest-risk goals only: if those do not
lower the level, no goals of that set can, and the set is skipped; if the whole set of
modifiable fields at its lowest goals does not, there is no counterfactual at all. The
answer is the same as the full search's, at a fraction of the evaluations.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from iop_placement._analysis.explain.modifiable import goal_options, lowest_goals
from iop_placement._model.assessment import Assessment
from iop_placement._model.explanation import Counterfactual
from iop_placement._model.levels import LevelOfCare

__all__ = ["DEFAULT_LIMIT", "counterfactuals"]

DEFAULT_LIMIT = 5
# With more free fields than this, probing each one (one evaluation each) costs less than
# the sets it rules out (measured on the benchmark's assessments).
_PROBE_FROM = 3

# The level of the assessment with some answers changed (``PlacementEngine.variants``).
Evaluate = Callable[[Mapping[str, Any]], LevelOfCare]


def _assignments(
    fields: Sequence[str], options: Mapping[str, tuple[Any, ...]]
) -> Iterator[dict[str, Any]]:
    """Every choice of one goal per field, nearest goals (smallest total steps) first."""
    choices = [options[name] for name in fields]
    if all(len(goals) == 1 for goals in choices):
        yield {name: goals[0] for name, goals in zip(fields, choices, strict=True)}
        return
    indices = itertools.product(*(range(len(goals)) for goals in choices))
    for combo in sorted(indices, key=lambda combo: (sum(combo), combo)):
        yield {
            name: goals[index] for name, goals, index in zip(fields, choices, combo, strict=True)
        }


def counterfactuals(
    evaluate: Evaluate,
    assessment: Assessment | Mapping[str, Any],
    level: LevelOfCare,
    *,
    limit: int = DEFAULT_LIMIT,
    monotone: bool = False,
    required: Iterable[frozenset[str]] = (),
) -> tuple[Counterfactual, ...]:
    """Up to ``limit`` minimal goal sets under which ``evaluate`` gives a level below ``level``.

    ``assessment``: the Assessment or its ``values()``; ``evaluate(changes)`` is the level
    of those answers with ``changes`` applied.
    Smallest sets first; sets of one size in the model's field order. ``monotone`` (only
    for a rule set ``verify`` proves monotone) skips the sets that cannot work.
    ``required``: for each rule that now supports ``level``, the answers it rests on; a set
    is tried only if it changes at least one answer of each.
    """
    if level.rank == 0 or limit <= 0:
        return ()
    values = assessment.values() if isinstance(assessment, Assessment) else assessment
    options = goal_options(values)
    fields = list(options)
    bit = {name: 1 << index for index, name in enumerate(fields)}
    needs = [_mask(need & options.keys(), bit) for need in required]
    if not all(needs):
        return ()  # a rule for this level rests on nothing that can change
    lowest = {name: lowest_goals(name, goals) for name, goals in options.items()}
    single = {name: goals[0] for name, goals in lowest.items() if len(goals) == 1}
    target = level.rank

    def can_work(combo: Sequence[str]) -> bool:
        if all(name in single for name in combo):  # the usual case: one lowest goal each
            return evaluate({name: single[name] for name in combo}).rank < target
        return any(evaluate(changes).rank < target for changes in _assignments(combo, lowest))

    # A field is in every working set when a rule for this level rests on it alone, or
    # (monotone rules) when every other field at its lowest goals leaves the level as it is.
    # Enumerating the other fields and adding the forced ones keeps the order: sets of one
    # size compare by the least field in which they differ.
    forced = {name for name in fields if bit[name] in needs}
    if monotone:
        if not can_work(fields):
            return ()
        if len(fields) - len(forced) > _PROBE_FROM:
            forced |= {
                name
                for name in fields
                if name not in forced and not can_work([f for f in fields if f != name])
            }
    free = [name for name in fields if name not in forced]
    forced_mask = _mask(forced, bit)
    working: list[int] = []
    found: list[Counterfactual] = []
    for size in range(max(len(forced), 1), len(fields) + 1):
        for rest in itertools.combinations(free, size - len(forced)):
            if len(found) >= limit:
                return tuple(found)
            chosen = forced_mask | _mask(rest, bit)
            if any(smaller & chosen == smaller for smaller in working):
                continue  # a proper subset already works: not minimal
            if not all(chosen & need for need in needs):
                continue  # some rule for this level keeps firing
            combo = [name for name in fields if chosen & bit[name]]
            if monotone and not can_work(combo):
                continue  # not even its lowest goals lower the level
            for changes in _assignments(combo, options):
                # Goals are answers the model declares for the field: valid by construction.
                result = evaluate(changes)
                if result.rank < target:
                    working.append(chosen)
                    found.append(
                        Counterfactual(
                            changes=changes,
                            level=result,
                            previous={name: values[name] for name in combo},
                        )
                    )
                    break
    return tuple(found)


def _mask(names: Iterable[str], bit: Mapping[str, int]) -> int:
    mask = 0
    for name in names:
        mask |= bit[name]
    return mask
