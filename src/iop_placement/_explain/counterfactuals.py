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
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from iop_placement._explain.modifiable import goal_options, lowest_goals
from iop_placement._model.assessment import Assessment
from iop_placement._model.explanation import Counterfactual
from iop_placement._model.levels import LevelOfCare

__all__ = ["DEFAULT_LIMIT", "counterfactuals"]

DEFAULT_LIMIT = 5

# The level for a variation of a valid assessment: its answers as ``Assessment.values()``.
Evaluate = Callable[[Mapping[str, Any]], LevelOfCare]


def _assignments(
    fields: Sequence[str], options: Mapping[str, tuple[Any, ...]]
) -> list[dict[str, Any]]:
    """Every choice of one goal per field, nearest goals (smallest total steps) first."""
    indices = itertools.product(*(range(len(options[name])) for name in fields))
    ordered = sorted(indices, key=lambda combo: (sum(combo), combo))
    return [
        {name: options[name][index] for name, index in zip(fields, combo, strict=True)}
        for combo in ordered
    ]


def counterfactuals(
    evaluate: Evaluate,
    assessment: Assessment,
    level: LevelOfCare,
    *,
    limit: int = DEFAULT_LIMIT,
    monotone: bool = False,
) -> tuple[Counterfactual, ...]:
    """Up to ``limit`` minimal goal sets under which ``evaluate`` gives a level below ``level``.

    Smallest sets first; sets of one size in the model's field order. ``monotone`` (only
    for a rule set ``verify`` proves monotone) skips the sets that cannot work.
    """
    if level.rank == 0 or limit <= 0:
        return ()
    values = assessment.values()
    options = goal_options(values)
    fields = list(options)
    lowest = {name: lowest_goals(name, goals) for name, goals in options.items()}

    def can_work(combo: Sequence[str]) -> bool:
        return any(
            evaluate({**values, **changes}).rank < level.rank
            for changes in _assignments(combo, lowest)
        )

    if monotone and not can_work(fields):
        return ()
    working: list[frozenset[str]] = []
    found: list[Counterfactual] = []
    for size in range(1, len(fields) + 1):
        for combo in itertools.combinations(fields, size):
            if len(found) >= limit:
                return tuple(found)
            chosen = frozenset(combo)
            if any(smaller <= chosen for smaller in working):
                continue  # a proper subset already works: not minimal
            if monotone and not can_work(combo):
                continue  # not even its lowest goals lower the level
            for changes in _assignments(combo, options):
                # Goals are answers the model declares for the field: valid by construction.
                result = evaluate({**values, **changes})
                if result.rank < level.rank:
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
