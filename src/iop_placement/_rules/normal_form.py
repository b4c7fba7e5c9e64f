"""Conditions in negation normal form over the finite value sets of the fields.

durable-rules has no ``$in`` and no ``$not``: a set becomes a disjunction of equalities and
a negation becomes the complement set (or the opposite comparison). The same form shows
when a condition can never hold or always holds.

Every consumer reads the form through :func:`fold` with an :class:`Algebra`: the one
walk over the tree (booleans, Python source, three-valued domains, decision diagrams and
the keys read are each an algebra), and :func:`cut_points` says once where an integer
field's answers can differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol, TypeVar

from iop_placement._model.fields import FieldSpec
from iop_placement._rules.conditions import AllOf, AnyOf, Comparison, Condition, NotCondition
from iop_placement._rules.operators import ORDERS, same

__all__ = [
    "FALSE",
    "TRUE",
    "Algebra",
    "And",
    "Atom",
    "Compare",
    "Equals",
    "Includes",
    "Node",
    "Or",
    "atoms",
    "cut_points",
    "finite_domain",
    "fold",
    "normal_form",
]


@dataclass(frozen=True, slots=True)
class Equals:
    """``field == value`` for a choice or true/false field (None: left out), or a number."""

    field: str
    value: Any


@dataclass(frozen=True, slots=True)
class Compare:
    """``field <op> number`` for an integer field; op is one of ``operators.ORDERS``."""

    field: str
    op: str
    number: int


@dataclass(frozen=True, slots=True)
class Includes:
    """Whether the list ``field`` includes ``item`` (``present``) or lacks it."""

    field: str
    item: str
    present: bool


@dataclass(frozen=True, slots=True)
class And:
    """All parts hold."""

    parts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """At least one part holds."""

    parts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Constant:
    """A condition that does not depend on the answers."""

    value: bool


TRUE: Final = Constant(value=True)
FALSE: Final = Constant(value=False)
Node = Equals | Compare | Includes | And | Or | Constant

T = TypeVar("T")


class Algebra(Protocol[T]):
    """What a condition means in one representation: its atoms and how they combine."""

    def constant(self, value: bool) -> T:
        """A condition that holds always (True) or never."""
        ...

    def equals(self, node: Equals) -> T:
        """``field == value``."""
        ...

    def compare(self, node: Compare) -> T:
        """``field <op> number``."""
        ...

    def includes(self, node: Includes) -> T:
        """The list includes (or lacks) the item."""
        ...

    def all_of(self, parts: Sequence[T]) -> T:
        """Every part holds."""
        ...

    def any_of(self, parts: Sequence[T]) -> T:
        """Some part holds."""
        ...


def fold(node: Node, algebra: Algebra[T]) -> T:
    """``node`` in ``algebra``: the one walk over the normal form."""
    match node:
        case Equals():
            return algebra.equals(node)
        case Compare():
            return algebra.compare(node)
        case Includes():
            return algebra.includes(node)
        case And():
            return algebra.all_of([fold(part, algebra) for part in node.parts])
        case Or():
            return algebra.any_of([fold(part, algebra) for part in node.parts])
        case Constant():
            return algebra.constant(node.value)
    msg = f"unknown normal-form node {node!r}"  # pragma: no cover - Node is closed
    raise TypeError(msg)  # pragma: no cover


Atom = Equals | Compare | Includes


class _Atoms:
    """The algebra of the comparisons a condition is made of."""

    def constant(self, value: bool) -> list[Atom]:  # noqa: ARG002 - reads nothing
        return []

    def equals(self, node: Equals) -> list[Atom]:
        return [node]

    def compare(self, node: Compare) -> list[Atom]:
        return [node]

    def includes(self, node: Includes) -> list[Atom]:
        return [node]

    def all_of(self, parts: Sequence[list[Atom]]) -> list[Atom]:
        return [atom for part in parts for atom in part]

    any_of = all_of


def atoms(node: Node) -> list[Atom]:
    """The comparisons ``node`` is made of, in order (with repeats)."""
    return fold(node, _Atoms())


def cut_points(node: Node, into: dict[str, set[int]]) -> None:
    """Add to ``into`` where each integer field's answers can change what ``node`` says.

    ``x < n`` and ``x >= n`` change at ``n``; ``x <= n`` and ``x > n`` at ``n + 1``; an
    equality with ``n`` at ``n`` and ``n + 1``.
    """
    for atom in atoms(node):
        if isinstance(atom, Compare):
            into.setdefault(atom.field, set()).add(
                atom.number if atom.op in {"lt", "ge"} else atom.number + 1
            )
        elif (
            isinstance(atom, Equals)
            and isinstance(atom.value, int)
            and not isinstance(atom.value, bool)
        ):
            into.setdefault(atom.field, set()).update({atom.value, atom.value + 1})


def normal_form(
    condition: Condition, specs: Mapping[str, FieldSpec], *, negate: bool = False
) -> Node:
    """Rewrite ``condition`` (or its negation) with no negation and no sets."""
    if isinstance(condition, NotCondition):
        return normal_form(condition.not_, specs, negate=not negate)
    if isinstance(condition, AllOf | AnyOf):
        parts = tuple(
            normal_form(part, specs, negate=negate)
            for part in (condition.all if isinstance(condition, AllOf) else condition.any)
        )
        conjunction = isinstance(condition, AllOf) != negate
        return _and(parts) if conjunction else _or(parts)
    return _comparison(condition, specs[condition.field], negate=negate)


def _comparison(test: Comparison, spec: FieldSpec, *, negate: bool) -> Node:
    op = test.operator
    if op.order is not None:
        name = op.order.opposite if negate else op.name
        return _bounded(Compare(test.field, name, test.operand), spec)
    if op.family == "includes":
        items = tuple(dict.fromkeys(test.items))
        if negate:
            return _and(tuple(Includes(test.field, item, present=False) for item in items))
        return _or(tuple(Includes(test.field, item, present=True) for item in items))
    chosen = test.items
    domain = finite_domain(spec)
    keep = [value for value in domain if any(same(value, c) for c in chosen) != negate]
    if len(keep) == len(domain):
        return TRUE
    return _or(tuple(Equals(test.field, value) for value in keep))


def finite_domain(spec: FieldSpec) -> tuple[Any, ...]:
    """Every value rules can see for a field tested with ``is``/``in`` (None: left out)."""
    if spec.kind == "integer":
        return tuple(range(spec.minimum or 0, (spec.maximum or 0) + 1))
    return (*spec.values, None) if spec.absent_distinct else spec.values


def _bounded(test: Compare, spec: FieldSpec) -> Node:
    """TRUE or FALSE when the field's range decides the comparison on its own."""
    low, high = spec.minimum, spec.maximum
    if low is None or high is None:
        return test
    # A comparison is monotone in the value: the same outcome at both ends of the range
    # is the outcome everywhere in it.
    compare = ORDERS[test.op].test
    outcomes = {compare(value, test.number) for value in (low, high)}
    if len(outcomes) == 1:
        return TRUE if outcomes.pop() else FALSE
    return test


def _and(parts: tuple[Node, ...]) -> Node:
    flat: list[Node] = []
    for part in parts:
        if part == FALSE:
            return FALSE
        if part != TRUE:
            flat.extend(part.parts if isinstance(part, And) else (part,))
    if not flat:
        return TRUE
    return flat[0] if len(flat) == 1 else And(tuple(flat))


def _or(parts: tuple[Node, ...]) -> Node:
    flat: list[Node] = []
    for part in parts:
        if part == TRUE:
            return TRUE
        if part != FALSE:
            flat.extend(part.parts if isinstance(part, Or) else (part,))
    if not flat:
        return FALSE
    return flat[0] if len(flat) == 1 else Or(tuple(flat))
