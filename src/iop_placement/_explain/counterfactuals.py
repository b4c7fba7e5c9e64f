"""What would change it: minimal sets of goals that move the level down, found with the engine.

The search tries every set of modifiable fields, smallest first, and for each set every
combination of goal answers, nearest goals first; each try is a full evaluation by the
engine. A set is reported only when no proper subset of it works with any goal answers,
so every reported set is minimal. Nothing here knows a field by name: the fields and their
goals come from the model (see ``_modifiable``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from iop_placement._explain.modifiable import goal_options
from iop_placement._model.assessment import Assessment
from iop_placement._model.explanation import Counterfactual
from iop_placement._model.levels import LevelOfCare

__all__ = ["DEFAULT_LIMIT", "counterfactuals"]

DEFAULT_LIMIT = 5

Evaluate = Callable[[Assessment], LevelOfCare]


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
) -> tuple[Counterfactual, ...]:
    """Up to ``limit`` minimal goal sets under which ``evaluate`` gives a level below ``level``.

    Smallest sets first; sets of one size in the model's field order.
    """
    if level.rank == 0 or limit <= 0:
        return ()
    values = assessment.values()
    options = goal_options(values)
    fields = list(options)
    working: list[frozenset[str]] = []
    found: list[Counterfactual] = []
    for size in range(1, len(fields) + 1):
        for combo in itertools.combinations(fields, size):
            if len(found) >= limit:
                return tuple(found)
            chosen = frozenset(combo)
            if any(smaller <= chosen for smaller in working):
                continue  # a proper subset already works: not minimal
            for changes in _assignments(combo, options):
                changed = Assessment.model_validate({**values, **changes})
                result = evaluate(changed)
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
