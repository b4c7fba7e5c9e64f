"""How far each answer of a field is from its lowest risk: the one walk of a risk order.

Minimal counterexamples (the verifier) and examples (``diff``) prefer the answers
closest to the lowest risk; all of them rank answers by this walk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from iop_placement._rules.operators import same

__all__ = ["risk_depths"]


def risk_depths(answers: Sequence[Any], steps: Mapping[Any, Sequence[Any]]) -> list[int]:
    """Each answer's number of steps from the lowest risk, in the order of ``answers``.

    ``steps`` is a risk order: answer -> the answers one step worse. Without a risk
    order, or for an answer the order does not reach, its position.
    """
    if not steps:
        return list(range(len(answers)))
    depth: dict[Any, int] = {}
    worse = [w for ws in steps.values() for w in ws]
    frontier = [a for a in answers if not any(same(a, w) for w in worse)]
    distance = 0
    while frontier:
        for answer in frontier:
            depth.setdefault(_key(answer), distance)
        frontier = [w for a in frontier for w in _steps(steps, a)]
        distance += 1
    return [depth.get(_key(a), i) for i, a in enumerate(answers)]


def _key(answer: Any) -> tuple[type, Any]:  # noqa: ANN401 - any answer
    # JSON true is not the number 1: keep the type in the key.
    return (type(answer), answer)


def _steps(steps: Mapping[Any, Sequence[Any]], answer: Any) -> Sequence[Any]:  # noqa: ANN401
    return next((ws for a, ws in steps.items() if same(a, answer)), ())
