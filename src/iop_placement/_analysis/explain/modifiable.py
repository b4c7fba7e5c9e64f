"""Which answers treatment or a change of circumstances can change, and to what.

Read from the Assessment model's field metadata (``modifiable_to``) and its risk orders;
nothing here is written twice. A goal is offered only when it is lower risk than the
current answer along the contract's risk order, so a goal is always an improvement.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from iop_placement._model.assessment import (
    LEGACY_MODIFIABLE_TO,
    MODIFIABLE_TO,
    RISK_ORDERS,
    Assessment,
)
from iop_placement._model.fields import field_specs

__all__ = ["goal_options", "lowest_goals", "modifiable_goals"]


def _declared() -> dict[str, tuple[Any, ...]]:
    specs = field_specs()
    goals: dict[str, tuple[Any, ...]] = {}
    for name, info in Assessment.model_fields.items():
        extra = info.json_schema_extra
        if not isinstance(extra, Mapping):
            continue
        # The legacy key is still read, for models declared before the x- extension.
        key = MODIFIABLE_TO if MODIFIABLE_TO in extra else LEGACY_MODIFIABLE_TO
        if key not in extra:
            continue
        raw = extra[key]
        declared = tuple(raw) if isinstance(raw, list) else ()
        allowed = specs[name].values
        if not declared or any(
            not any(type(g) is type(v) and g == v for v in allowed) for g in declared
        ):
            msg = f"field {name!r}: {MODIFIABLE_TO} must list some of the field's own values"
            raise TypeError(msg)
        goals[name] = declared
    return goals


_GOALS: Final[Mapping[str, tuple[Any, ...]]] = _declared()


def modifiable_goals() -> Mapping[str, tuple[Any, ...]]:
    """Field name -> the answers treatment or circumstances can bring it to (model order)."""
    return _GOALS


@functools.lru_cache(maxsize=4096)
def _steps_to(name: str, current: Any) -> Mapping[Any, int]:  # noqa: ANN401 - a field's code
    """Values from which ``current`` is reached by worsening, with the number of steps."""
    order = RISK_ORDERS.get(name)
    if order is None:
        return {}
    better: dict[Any, list[Any]] = {}
    for value, worse in order.items():
        for item in worse:
            better.setdefault(item, []).append(value)
    distance: dict[Any, int] = {}
    queue: deque[tuple[Any, int]] = deque([(current, 0)])
    while queue:
        value, steps = queue.popleft()
        for lower in better.get(value, ()):
            if lower not in distance:
                distance[lower] = steps + 1
                queue.append((lower, steps + 1))
    return MappingProxyType(distance)  # cached: shared by every caller


def goal_options(values: Mapping[str, Any]) -> dict[str, tuple[Any, ...]]:
    """For one assessment: field -> goals lower in risk than its answer, nearest first.

    Fields already at (or better than) every goal are left out. A modifiable field with no
    risk order offers every goal other than its answer.
    """
    options: dict[str, tuple[Any, ...]] = {}
    for name in _GOALS:
        current = values[name]
        # Answers are codes (cached by them); a list answer is worked out each time.
        reachable = (
            _goals_from.__wrapped__(name, current)
            if isinstance(current, list)
            else _goals_from(name, current)
        )
        if reachable:
            options[name] = reachable
    return options


@functools.lru_cache(maxsize=4096)
def _goals_from(name: str, current: Any) -> tuple[Any, ...]:  # noqa: ANN401 - a field's code
    goals = _GOALS[name]
    if name in RISK_ORDERS:
        distance = _steps_to(name, current)
        return tuple(sorted((goal for goal in goals if goal in distance), key=distance.__getitem__))
    return tuple(goal for goal in goals if goal != current)


@functools.lru_cache(maxsize=4096)
def lowest_goals(name: str, options: tuple[Any, ...]) -> tuple[Any, ...]:
    """The goals among ``options`` that no other option is lower in risk than.

    Every option is at or above one of these along the risk order, so if the rules are
    monotone no option can do better than the best of these. A field with no risk order
    has no such goals but all of its options.
    """
    if name not in RISK_ORDERS:
        return options
    return tuple(
        goal for goal in options if not any(other in _steps_to(name, goal) for other in options)
    )
