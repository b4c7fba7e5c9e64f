"""The operator table (_rules/operators.py) and the code that must agree with it.

The file format (Comparison's fields) declares one field per operator; the reference
evaluator and the verifier spell the operators out on purpose (they are the independent
check), so these tests fail when any of them lags behind the table.
"""

from __future__ import annotations

from typing import Any

import pytest

from iop_placement._model.fields import field_specs
from iop_placement._model.labels import in_sentence
from iop_placement._rules.conditions import Comparison
from iop_placement._rules.normal_form import normal_form
from iop_placement._rules.operators import OPERATORS, ORDERS
from iop_placement.reference import _COMPARE, holds
from iop_placement.verification import _symbolic


def _operand(op: str, values: tuple[Any, ...]) -> Any:
    return list(values[:2]) if OPERATORS[op].many else values[0]


def _fields_for(op: str) -> list[str]:
    return [name for name, spec in field_specs().items() if spec.kind in OPERATORS[op].kinds]


def test_the_file_format_declares_exactly_the_operators_of_the_table() -> None:
    declared = [
        info.alias or name for name, info in Comparison.model_fields.items() if name != "field"
    ]
    assert declared == list(OPERATORS)


def test_every_ordering_operator_has_its_opposite() -> None:
    for name, order in ORDERS.items():
        assert ORDERS[order.opposite].opposite == name
        for value in range(-2, 3):
            assert order.test(value, 0) != ORDERS[order.opposite].test(value, 0)


def test_the_independent_evaluators_know_every_operator() -> None:
    assert set(_COMPARE) == set(ORDERS)
    assert set(_symbolic.ORDER) == set(ORDERS)


@pytest.mark.parametrize("op", list(OPERATORS))
def test_parser_normal_form_and_reference_agree_on_every_operator(op: str) -> None:
    specs = field_specs()
    for name in _fields_for(op):
        spec = specs[name]
        operand = 9 if spec.kind == "integer" else _operand(op, spec.values)
        condition = {"field": name, op: operand}
        test = Comparison.model_validate(condition)
        assert test.problems(field_specs(with_decided_level=True)) == []
        assert test.describe(specs).startswith(in_sentence(spec.title) + " " + OPERATORS[op].words)
        normal_form(test, specs)  # every operator has a normal form
        samples: list[Any] = (
            [0, 8, 9, 10, 168]
            if spec.kind == "integer"
            else [[], list(spec.values[:1]), list(spec.values[1:])]
            if spec.kind == "choices"
            else list(spec.values)
        )
        for value in samples:
            assert test.holds({name: value}) == holds(condition, {name: value}), (op, value)


@pytest.mark.parametrize("op", list(OPERATORS))
def test_an_operator_on_the_wrong_kind_of_field_says_what_it_needs(op: str) -> None:
    specs = field_specs(with_decided_level=True)
    wrong = next(name for name, spec in specs.items() if spec.kind not in OPERATORS[op].kinds)
    operand = 9 if OPERATORS[op].order else (["x"] if OPERATORS[op].many else "x")
    test = Comparison.model_validate({"field": wrong, op: operand})
    assert test.problems(specs) == [
        f"{op!r} needs {OPERATORS[op].needs}; {wrong!r} is {specs[wrong].kind}"
    ]
