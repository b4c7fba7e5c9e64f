"""Truth values over the set of fired rules: the algebra the engine reads the policy in.

The engine's backends say which rules fired, as one int (a bit per rule). Over this
algebra :func:`~iop_placement._decision.policy.decide` states every part of the decision
as a small expression over that int: a rule's condition is :class:`Some` of its bit (the
backend decides it), and the policy builds the rest with and / or / not. The engine reads
its hot-path tables off the result once per rule set (a part that is :class:`Some` of a
mask is "a rule of the mask fired": one ``&``), and what a set of known rules leaves of a
part by :func:`restrict` (partial evaluation), so that no table restates the policy.

An expression is ``True``, ``False``, :class:`Some`, :class:`All`, :class:`Either` or
:class:`Not`; the constructors of :class:`FiredSets` simplify as they build (constants
fold, the masks of :class:`Some` parts of an :class:`Either` merge), so a part that is
"some rule of a set fired" comes out as one :class:`Some`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from iop_placement._decision.policy import count

if TYPE_CHECKING:
    from iop_placement._decision.policy import Derived

__all__ = [
    "All",
    "Either",
    "Expr",
    "FiredSets",
    "Not",
    "PolicyShapeError",
    "Some",
    "as_mask",
    "evaluate",
    "evaluate_all",
    "masks",
    "restrict",
    "restrict_all",
    "support",
]


@dataclass(frozen=True, slots=True)
class Some:
    """Some rule of ``mask`` fired (``mask`` is never 0: that is ``False``)."""

    mask: int


@dataclass(frozen=True, slots=True)
class All:
    """Every part holds (two parts or more, none a constant or an :class:`All`)."""

    parts: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Either:
    """Some part holds (two parts or more, at most one :class:`Some`, none a constant)."""

    parts: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The part does not hold (never a constant or a :class:`Not`)."""

    part: Expr


Expr: TypeAlias = bool | Some | All | Either | Not


class PolicyShapeError(ValueError):
    """A part of the policy the engine reads as a mask is more than "some rule fired"."""


def all_of(parts: Iterable[Expr]) -> Expr:
    """Every part holds, simplified."""
    kept: list[Expr] = []
    for part in parts:
        if part is False:
            return False
        if part is True:
            continue
        if isinstance(part, All):
            kept.extend(part.parts)
        else:
            kept.append(part)
    if not kept:
        return True
    return kept[0] if len(kept) == 1 else All(tuple(kept))


def any_of(parts: Iterable[Expr]) -> Expr:
    """Some part holds, simplified (the masks of :class:`Some` parts merged into one)."""
    kept: list[Expr] = []
    mask = 0
    for part in parts:
        if part is True:
            return True
        if part is False:
            continue
        for piece in part.parts if isinstance(part, Either) else (part,):
            if isinstance(piece, Some):
                mask |= piece.mask
            else:
                kept.append(piece)
    if mask:
        kept.insert(0, Some(mask))
    if not kept:
        return False
    return kept[0] if len(kept) == 1 else Either(tuple(kept))


def not_(part: Expr) -> Expr:
    """The part does not hold, simplified."""
    if isinstance(part, bool):
        return not part
    return part.part if isinstance(part, Not) else Not(part)


class FiredSets:
    """The policy's algebra over fired-rule sets: a rule's condition is its own bit.

    ``bit_of`` gives each rule id its bit (the engine's). Satisfies
    :class:`~iop_placement._decision.policy.Algebra` for :data:`Expr`.
    """

    true: Expr = True
    false: Expr = False

    def __init__(self, bit_of: Mapping[str, int]) -> None:
        self._bit_of = bit_of

    def all_of(self, parts: Iterable[Expr]) -> Expr:
        return all_of(parts)

    def any_of(self, parts: Iterable[Expr]) -> Expr:
        return any_of(parts)

    def not_(self, part: Expr) -> Expr:
        return not_(part)

    def at_least(self, parts: Sequence[Expr]) -> list[Expr]:
        return count(self, parts)

    def atom(self, rule: str, derived: Derived[Expr]) -> Expr:  # noqa: ARG002 - a backend's
        return Some(self._bit_of[rule])


def _walk(expr: Expr, leaf: Callable[[Some], Expr], memo: dict[int, Expr]) -> Expr:
    """``expr`` with each :class:`Some` replaced by ``leaf`` of it, simplified (memo: DAGs)."""
    if isinstance(expr, bool):
        return expr
    found = memo.get(id(expr))
    if found is not None:
        return found
    result: Expr
    if isinstance(expr, Some):
        result = leaf(expr)
    elif isinstance(expr, All):
        result = all_of(_walk(part, leaf, memo) for part in expr.parts)
    elif isinstance(expr, Either):
        result = any_of(_walk(part, leaf, memo) for part in expr.parts)
    else:
        result = not_(_walk(expr.part, leaf, memo))
    memo[id(expr)] = result
    return result


def _truth(expr: Expr, fired: int, memo: dict[int, bool]) -> bool:
    """Whether ``expr`` holds at ``fired`` (memo: the DAG's shared parts once)."""
    if isinstance(expr, bool):
        return expr
    if isinstance(expr, Some):
        return expr.mask & fired != 0
    found = memo.get(id(expr))
    if found is not None:
        return found
    result: bool
    if isinstance(expr, All):
        result = True
        for part in expr.parts:
            if not _truth(part, fired, memo):
                result = False
                break
    elif isinstance(expr, Either):
        result = False
        for part in expr.parts:
            if _truth(part, fired, memo):
                result = True
                break
    else:
        result = not _truth(expr.part, fired, memo)
    memo[id(expr)] = result
    return result


def evaluate(expr: Expr, fired: int) -> bool:
    """Whether ``expr`` holds when the rules of ``fired`` fired (and no other)."""
    return _truth(expr, fired, {})


def evaluate_all(exprs: Iterable[Expr], fired: int) -> list[bool]:
    """:func:`evaluate` of each of ``exprs``, their shared parts evaluated once."""
    memo: dict[int, bool] = {}
    return [_truth(expr, fired, memo) for expr in exprs]


def restrict(expr: Expr, known: int, fired: int, given: Iterable[tuple[int, bool]] = ()) -> Expr:
    """What is left of ``expr`` when the rules of ``known`` are known, those of ``fired`` fired.

    ``given``: what is known otherwise, as (mask, whether some rule of it fired), e.g. the
    rungs of the level's ladder once the level is known. The result is a constant or an
    expression over the rules neither known nor given as not fired.
    """
    return restrict_all((expr,), known, fired, given)[0]


def restrict_all(
    exprs: Iterable[Expr], known: int, fired: int, given: Iterable[tuple[int, bool]] = ()
) -> list[Expr]:
    """:func:`restrict` of each of ``exprs``; their shared parts once, and shared still."""
    sure = []  # masks of which some rule fired
    gone = known & ~fired  # rules that did not fire
    for mask, held in given:
        if not mask:  # no rule: nothing to know (and never fired)
            continue
        if held:
            sure.append(mask)
        else:
            gone |= mask

    def leaf(some: Some) -> Expr:
        mask = some.mask
        if mask & known & fired or any(not part & ~mask for part in sure):
            return True
        rest = mask & ~gone
        return Some(rest) if rest else False

    memo: dict[int, Expr] = {}
    return [_walk(expr, leaf, memo) for expr in exprs]


def masks(expr: Expr) -> set[int]:
    """The masks of the :class:`Some` parts of ``expr``."""
    found: set[int] = set()

    def leaf(some: Some) -> Expr:
        found.add(some.mask)
        return some

    _walk(expr, leaf, {})
    return found


def support(expr: Expr) -> int:
    """The rules ``expr`` reads (the union of its masks)."""
    found = 0

    def leaf(some: Some) -> Expr:
        nonlocal found
        found |= some.mask
        return some

    _walk(expr, leaf, {})
    return found


def as_mask(expr: Expr, what: str) -> int:
    """The mask of a part that is "some rule of a set fired" (0: no rule can make it hold)."""
    if expr is False:
        return 0
    if isinstance(expr, Some):
        return expr.mask
    msg = f"{what} is not 'some rule of a set fired' over this algebra: {expr!r}"
    raise PolicyShapeError(msg)
