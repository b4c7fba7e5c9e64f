"""The condition operators, declared once: every part of the pipeline reads this table.

A comparison in a rule file is ``{"field": <name>, <operator>: <operand>}``. Each
operator below says which kinds of field it may test, what its operand is, how the
catalogue says it in words, and which family of the normal form it becomes:

* ``equals`` (``is``, ``in``): the field's answer is one of a set of values; in the
  normal form a disjunction of :class:`Equals`, negated by taking the complement set;
* ``order`` (``lt``, ``le``, ``gt``, ``ge``): the number compared with a threshold; a
  :class:`Compare` node, negated by the opposite operator, written in generated Python
  and in durable-rules with the symbols given here;
* ``includes`` (``includes_any``): the list shares an item with the operand; one
  :class:`Includes` per item.

The parser (``conditions``), the normal form, the durable-rules compiler, the generated
Python code, the near-miss search and the catalogue's wording all read this table, so a
new operator is one entry here (and one field of :class:`Comparison`, which declares the
file format, checked against this table by a test) plus its tests.

``iop_placement.reference`` and ``iop_placement.verification`` deliberately do *not* read
it: they are the independent oracle the engine is tested against, and sharing this table
would share its mistakes. A test fails when either lags behind the table.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from iop_placement._model.fields import FieldKind

__all__ = ["OPERATORS", "ORDERS", "Operator", "Order", "same"]

Family = Literal["equals", "order", "includes"]


@dataclass(frozen=True, slots=True)
class Order:
    """How an ordering operator is tested, negated and written for each backend."""

    test: Callable[[int, int], bool]
    opposite: str  # the operator of the negation: not (x < n) is x >= n
    python: str  # in the generated Python source
    durable: str  # in a durable-rules expression


@dataclass(frozen=True, slots=True)
class Operator:
    """One operator of the condition language."""

    name: str  # the key in a rule file
    family: Family
    kinds: frozenset[FieldKind]  # the kinds of field it may test
    needs: str  # those kinds in words, for a rule file's error message
    words: str  # the catalogue's verb: "<field title> <words> <operand>"
    many: bool = False  # the operand is a list of values, not one
    order: Order | None = None  # for the order family only


_CHOICE: Final = frozenset[FieldKind]({"choice", "boolean"})
_NUMBER: Final = frozenset[FieldKind]({"integer"})


def _order(name: str, words: str, order: Order) -> Operator:
    return Operator(name, "order", _NUMBER, "a number field", words, order=order)


OPERATORS: Final[Mapping[str, Operator]] = {
    op.name: op
    for op in (
        Operator("is", "equals", _CHOICE, "a choice or true/false field", "is"),
        Operator("in", "equals", _CHOICE, "a choice or true/false field", "is", many=True),
        _order("lt", "is less than", Order(operator.lt, "ge", "<", "$lt")),
        _order("le", "is at most", Order(operator.le, "gt", "<=", "$lte")),
        _order("gt", "is more than", Order(operator.gt, "le", ">", "$gt")),
        _order("ge", "is at least", Order(operator.ge, "lt", ">=", "$gte")),
        Operator(
            "includes_any",
            "includes",
            frozenset[FieldKind]({"choices"}),
            "a list field",
            "include",
            many=True,
        ),
    )
}
"""Every operator, in the order error messages list them."""

ORDERS: Final[Mapping[str, Order]] = {
    name: op.order for name, op in OPERATORS.items() if op.order is not None
}
"""The ordering operators (lt, le, gt, ge): the ``op`` of a normal-form ``Compare``."""


def same(left: Any, right: Any) -> bool:  # noqa: ANN401 - JSON scalars
    """Whether two answers are the same answer: ``true`` is not the number 1.

    The one equality of answers for rules, the normal form, risk orders and diagrams
    (Python says ``True == 1``); two strings compare as strings (a code may be a str enum).
    """
    comparable = (isinstance(left, str) and isinstance(right, str)) or type(left) is type(right)
    return comparable and left == right
