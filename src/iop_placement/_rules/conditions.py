"""The condition language of rule files, and what a condition means on one assessment.

A condition is JSON a clinician can read::

    {"field": "detox_status", "in": ["needed", "in_progress"]}
    {"field": "substance_use_severity", "is": "severe"}
    {"field": "available_hours_per_week", "lt": 9}
    {"field": "obligations", "includes_any": ["work", "childcare"]}
    {"field": "withdrawal_severity", "in": ["severe", null]}     (null: left out)
    {"rating": "relapse_potential", "ge": 3}                     (a dimension's rating)
    {"dimensions_at_least": 2, "ge": 3}                          (how many rated 2 or more)
    {"all": [...]}   {"any": [...]}   {"not": {...}}

A ``rating`` or ``dimensions_at_least`` test is a test on a pseudo-field the engine
derives from the rating rules (``rating.<dimension>``, ``dimensions_at_least.<k>``).
"""

from __future__ import annotations

import keyword
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Union

from pydantic import ConfigDict, Discriminator, Field, StrictInt, Tag, model_validator

from iop_placement._model.base import Frozen
from iop_placement._model.fields import (
    COUNT_PREFIX,
    RATING_PREFIX,
    FieldSpec,
    count_field,
    rating_field,
)
from iop_placement._model.labels import in_sentence
from iop_placement._rules.operators import OPERATORS, Operator, same

__all__ = ["AllOf", "AnyOf", "Comparison", "Condition", "NotCondition"]

Scalar = str | bool | int
Values = Mapping[str, Any]


class _Node(Frozen):
    model_config = ConfigDict(populate_by_name=True)


class Comparison(_Node):
    """One test on one field; exactly one operator is given (see ``operators``)."""

    # One field per operator of ``OPERATORS`` (a test keeps the two in step); ``is`` and
    # ``in`` are Python keywords, hence the trailing underscore.
    field: str = Field(min_length=1)
    # null is a value here (an optional field left out): presence is read from
    # model_fields_set, not from the default.
    is_: Scalar | None = Field(default=None, alias="is")
    in_: tuple[Scalar | None, ...] | None = Field(default=None, alias="in", min_length=1)
    # Strict: "9" or true must not load as a number.
    lt: StrictInt | None = None
    le: StrictInt | None = None
    gt: StrictInt | None = None
    ge: StrictInt | None = None
    includes_any: tuple[str, ...] | None = Field(default=None, min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _derived_field(cls, data: Any) -> Any:  # noqa: ANN401 - raw JSON before validation
        """``{"rating": d, ...}`` and ``{"dimensions_at_least": k, ...}`` name pseudo-fields."""
        if isinstance(data, Mapping) and "field" not in data:
            if "rating" in data:
                rest = {k: v for k, v in data.items() if k != "rating"}
                return {"field": rating_field(str(data["rating"])), **rest}
            if "dimensions_at_least" in data:
                rest = {k: v for k, v in data.items() if k != "dimensions_at_least"}
                return {"field": count_field(data["dimensions_at_least"]), **rest}
        return data

    @model_validator(mode="after")
    def _one_operator(self) -> Comparison:
        given = [name for name in OPERATORS if _attribute(name) in self.model_fields_set]
        if len(given) != 1:
            msg = (
                f"a comparison needs exactly one of {', '.join(OPERATORS)};"
                f" field {self.field!r} has {len(given)}"
            )
            raise ValueError(msg)
        (name,) = given
        if name != "is" and self._given(name) is None:
            # null is a value only for "is" (and inside an "in" list): "lt": null or
            # "in": null is no test at all, and would fail only when evaluated.
            msg = f"{name!r} of field {self.field!r} is null; only 'is' may test for null"
            raise ValueError(msg)
        return self

    def _given(self, name: str) -> Any:  # noqa: ANN401 - the operand, if given
        return getattr(self, _attribute(name))

    @property
    def operator(self) -> Operator:
        """The operator, as declared in ``OPERATORS``."""
        return next(
            op for name, op in OPERATORS.items() if _attribute(name) in self.model_fields_set
        )

    @property
    def operand(self) -> Any:  # noqa: ANN401 - a scalar, an int or a tuple of scalars
        """The value or values the field is tested against."""
        return self._given(self.operator.name)

    @property
    def items(self) -> tuple[Any, ...]:
        """The operand as a tuple of values (one value for ``is`` and the order family)."""
        operand = self.operand
        return operand if self.operator.many else (operand,)

    def holds(self, values: Values) -> bool:
        """Whether the test is true for these answers."""
        value = values[self.field]
        op = self.operator
        if op.order is not None:
            return op.order.test(value, self.operand)
        if op.family == "includes":
            return any(item in value for item in self.items)
        return any(same(value, item) for item in self.items)

    def fields(self) -> tuple[str, ...]:
        """Every field the condition reads."""
        return (self.field,)

    def triggering(self, values: Values) -> tuple[str, ...]:  # noqa: ARG002 - same API as the others
        """The fields that make the condition hold (call only when it holds)."""
        return (self.field,)

    def problems(self, specs: Mapping[str, FieldSpec]) -> list[str]:
        """What is wrong with this test given the fields and their values."""
        spec = specs.get(self.field)
        if spec is None:
            return [_unknown(self.field, specs)]
        op = self.operator
        if spec.kind == "integer" and spec.derived and op.family == "equals":
            # A derived count or rating is a small whole number: is/in test its values.
            low, high = spec.minimum or 0, spec.maximum or 0
            if any(type(i) is not int or not low <= i <= high for i in self.items):
                return [f"{self.field!r} is a whole number from {low} to {high}"]
            return []
        if spec.kind not in op.kinds:
            return [f"{op.name!r} needs {op.needs}; {self.field!r} is {spec.kind}"]
        if op.order is not None:
            return []
        if op.family == "equals" and None in self.items and not spec.absent_distinct:
            return [_null_problem(spec)]
        allowed = (*spec.values, None) if op.family == "equals" else spec.values
        bad = [item for item in self.items if not any(same(item, v) for v in allowed)]
        if bad:
            return [
                f"{self.field!r} has no value {', '.join(map(repr, bad))};"
                f" allowed: {spec.describe_allowed()}"
            ]
        return []

    def describe(self, specs: Mapping[str, FieldSpec]) -> str:
        """The test in words, with the field's title and the values' labels."""
        spec = specs[self.field]
        title = in_sentence(spec.title) if spec.title else self.field
        op = self.operator
        if op.order is not None:
            return f"{title} {op.words} {self.operand}"
        return f"{title} {op.words} {_either(spec.label(v) for v in self.items)}"


class AllOf(_Node):
    """Holds when every part holds."""

    all: tuple[Condition, ...] = Field(min_length=1)

    def holds(self, values: Values) -> bool:
        """Whether every part holds."""
        return all(part.holds(values) for part in self.all)

    def fields(self) -> tuple[str, ...]:
        """Every field the condition reads."""
        return _unique(name for part in self.all for name in part.fields())

    def triggering(self, values: Values) -> tuple[str, ...]:
        """The fields of every part."""
        return _unique(name for part in self.all for name in part.triggering(values))

    def problems(self, specs: Mapping[str, FieldSpec]) -> list[str]:
        """Problems of every part."""
        return [problem for part in self.all for problem in part.problems(specs)]

    def describe(self, specs: Mapping[str, FieldSpec]) -> str:
        """All parts, joined with 'and'."""
        return " and ".join(_grouped(part, specs) for part in self.all)


class AnyOf(_Node):
    """Holds when at least one part holds."""

    any: tuple[Condition, ...] = Field(min_length=1)

    def holds(self, values: Values) -> bool:
        """Whether at least one part holds."""
        return any(part.holds(values) for part in self.any)

    def fields(self) -> tuple[str, ...]:
        """Every field the condition reads."""
        return _unique(name for part in self.any for name in part.fields())

    def triggering(self, values: Values) -> tuple[str, ...]:
        """The fields of the parts that hold, not of those that do not."""
        return _unique(
            name for part in self.any if part.holds(values) for name in part.triggering(values)
        )

    def problems(self, specs: Mapping[str, FieldSpec]) -> list[str]:
        """Problems of every part."""
        return [problem for part in self.any for problem in part.problems(specs)]

    def describe(self, specs: Mapping[str, FieldSpec]) -> str:
        """All parts, joined with 'or'."""
        return " or ".join(_grouped(part, specs) for part in self.any)


class NotCondition(_Node):
    """Holds when its part does not."""

    not_: Condition = Field(alias="not")

    def holds(self, values: Values) -> bool:
        """Whether the part does not hold."""
        return not self.not_.holds(values)

    def fields(self) -> tuple[str, ...]:
        """Every field the condition reads."""
        return self.not_.fields()

    def triggering(self, values: Values) -> tuple[str, ...]:  # noqa: ARG002 - same API
        """Every field of the part: the absence of all of it is what triggered."""
        return self.not_.fields()

    def problems(self, specs: Mapping[str, FieldSpec]) -> list[str]:
        """Problems of the part."""
        return self.not_.problems(specs)

    def describe(self, specs: Mapping[str, FieldSpec]) -> str:
        """'not (...)'."""
        return f"not ({self.not_.describe(specs)})"


def _kind(data: Any) -> str | None:  # noqa: ANN401 - raw JSON before validation
    if isinstance(data, Mapping):
        for key in ("all", "any", "not", "field"):
            if key in data:
                return key
        if "rating" in data or "dimensions_at_least" in data:
            return "field"
        return None
    for model, tag in (
        (AllOf, "all"),
        (AnyOf, "any"),
        (NotCondition, "not"),
        (Comparison, "field"),
    ):
        if isinstance(data, model):
            return tag
    return None


Condition = Annotated[
    Union[  # noqa: UP007 - the forward references need the Union spelling at runtime
        Annotated[AllOf, Tag("all")],
        Annotated[AnyOf, Tag("any")],
        Annotated[NotCondition, Tag("not")],
        Annotated[Comparison, Tag("field")],
    ],
    Discriminator(
        _kind,
        custom_error_type="condition",
        custom_error_message="a condition needs one of the keys all, any, not, field, rating,"
        " dimensions_at_least",
    ),
]

for _model in (AllOf, AnyOf, NotCondition):
    _model.model_rebuild()


def _unknown(name: str, specs: Mapping[str, FieldSpec]) -> str:
    for prefix, what in (
        (RATING_PREFIX, "dimension"),
        (COUNT_PREFIX, "rating for dimensions_at_least"),
    ):
        if name.startswith(prefix):
            known = [n.removeprefix(prefix) for n in specs if n.startswith(prefix)]
            return f"unknown {what} {name.removeprefix(prefix)!r}; known: {', '.join(known)}"
    known = [n for n, spec in specs.items() if not spec.derived]
    return f"unknown field {name!r}; known fields: {', '.join(known)}"


def _null_problem(spec: FieldSpec) -> str:
    if spec.optional:
        return f"{spec.name!r} left out is read as {spec.absent_means!r}: test that value, not null"
    return f"{spec.name!r} is required, so it is never null"


def _attribute(name: str) -> str:
    """The model attribute of an operator (``is`` and ``in`` are Python keywords)."""
    return name + "_" if keyword.iskeyword(name) else name


def _unique(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def _either(labels: Iterable[str]) -> str:
    items = list(labels)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _grouped(part: Condition, specs: Mapping[str, FieldSpec]) -> str:
    text: str = part.describe(specs)
    return f"({text})" if isinstance(part, AllOf | AnyOf) else text
