"""A rule set's outcomes over the whole assessment space, as binary decision diagrams.

Every answer of every field is encoded in a few boolean variables (a choice field in
binary with its domain bounded, the list field one variable per item, the number of
hours in binary), so the whole space, about 1.4 x 10^12 assessments for the v2 model,
is one diagram of a few hundred nodes. A rule set's level, flags, dimension ratings and
alternative become diagrams by the one statement of the policy
(``_decision/policy.decide`` in :class:`BddAlgebra`), and counting the assessments
where two rule sets differ is counting the satisfying assignments of a diagram: exact,
whatever the size of the space (``diff``). ``verify --method diagrams`` checks the
contract's invariants on them, and ``provisional()`` restricts them to the answers given.
``tests/test_comparison.py`` checks these diagrams against the engine on drawn
assessments.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from dd.autoref import BDD, Function

from iop_placement._decision.policy import (
    TOP_RATING,
    DecisionProgram,
    Derived,
    count,
    decide,
    one_of,
)
from iop_placement._model.assessment import RISK_ORDERS
from iop_placement._model.fields import (
    COUNT_PREFIX,
    DECIDED_LEVEL,
    RATING_PREFIX,
    FieldSpec,
    field_specs,
)
from iop_placement._model.levels import Dimension, Flag, LevelOfCare
from iop_placement._rules.normal_form import (
    Compare,
    Equals,
    Includes,
    fold,
    normal_form,
)
from iop_placement._rules.operators import same
from iop_placement._rules.risk import risk_depths
from iop_placement._rules.ruleset import Rule, RuleSet

__all__ = ["SPACE_LOCK", "BddAlgebra", "Function", "Outcomes", "Space", "shared_space"]

_TOP: Final = TOP_RATING


@dataclass(frozen=True, slots=True)
class _Field:
    """One field's variables: ``bits`` for a number or a code, one per item for a list."""

    spec: FieldSpec
    names: tuple[str, ...]
    answers: tuple[Any, ...]  # the codes' answers in order (choice, boolean); () otherwise


class Space:
    """The assessment space of the model: every field, every answer, absence included."""

    def __init__(self) -> None:
        self.bdd = BDD()
        self.specs = field_specs()
        self.fields: dict[str, _Field] = {}
        for name, spec in self.specs.items():
            if spec.kind == "choices":
                names = tuple(f"{name}#{item}" for item in spec.values)
                answers: tuple[Any, ...] = ()
            elif spec.kind == "integer":
                width = max(1, (spec.maximum or 0).bit_length())
                names = tuple(f"{name}@{bit}" for bit in range(width))
                answers = ()
            else:
                answers = spec.answers
                width = max(1, (len(answers) - 1).bit_length())
                names = tuple(f"{name}@{bit}" for bit in range(width))
            self.bdd.declare(*names)
            self.fields[name] = _Field(spec, names, answers)
        self.variables = len(self.bdd.vars)
        self.domain = self.all_of(self._domain(field) for field in self.fields.values())

    # -- building ------------------------------------------------------------------------

    def all_of(self, parts: Iterable[Function]) -> Function:
        """The conjunction of ``parts`` (true when there are none)."""
        result = self.bdd.true
        for part in parts:
            result &= part
        return result

    def any_of(self, parts: Iterable[Function]) -> Function:
        """The disjunction of ``parts`` (false when there are none)."""
        result = self.bdd.false
        for part in parts:
            result |= part
        return result

    def _number(self, field: _Field, value: int) -> Function:
        """The bits of ``field`` spell ``value`` (most significant bit first)."""
        width = len(field.names)
        return self.all_of(
            self.bdd.var(name) if value >> (width - 1 - i) & 1 else ~self.bdd.var(name)
            for i, name in enumerate(field.names)
        )

    def _at_most(self, field: _Field, bound: int) -> Function:
        """The number in ``field``'s bits is at most ``bound``."""
        width = len(field.names)
        if bound < 0:
            return self.bdd.false
        if bound >= (1 << width) - 1:
            return self.bdd.true
        # Scan from the least significant bit: at each 1 of the bound, a 0 here makes the
        # rest free; at each 0, the bit must be 0 and the rest decides.
        result = self.bdd.true
        for i in reversed(range(width)):
            bit = self.bdd.var(field.names[i])
            result = (~bit | result) if bound >> (width - 1 - i) & 1 else (~bit & result)
        return result

    def _domain(self, field: _Field) -> Function:
        spec = field.spec
        if spec.kind == "choices":
            return self.bdd.true
        if spec.kind == "integer":
            low = spec.minimum or 0
            return self._at_most(field, spec.maximum or 0) & ~self._at_most(field, low - 1)
        return self._at_most(field, len(field.answers) - 1)

    # -- tests on the answers ------------------------------------------------------------

    def answer_is(self, name: str, answer: Any) -> Function:  # noqa: ANN401 - a JSON scalar
        """The answer to ``name`` is ``answer`` (None: left out), as the form sent it."""
        field = self.fields[name]
        index = next(i for i, a in enumerate(field.answers) if same(a, answer))
        return self._number(field, index)

    def reads_as(self, name: str, value: Any) -> Function:  # noqa: ANN401 - a JSON scalar
        """The rules read the answer to ``name`` as ``value`` (absence as what it means)."""
        field = self.fields[name]
        if field.spec.kind == "integer":
            return self._number(field, value)
        return self.any_of(
            self._number(field, i)
            for i, answer in enumerate(field.answers)
            if same(field.spec.read(answer), value)
        )

    def compare(self, name: str, op: str, number: int) -> Function:
        """The number ``name`` compared with ``number``."""
        field = self.fields[name]
        at_most = {
            "le": self._at_most(field, number),
            "lt": self._at_most(field, number - 1),
        }
        if op in at_most:
            return at_most[op]
        return ~self._at_most(field, number if op == "gt" else number - 1)

    def between(self, name: str, low: int, high: int) -> Function:
        """The number ``name`` is between ``low`` and ``high`` (both included)."""
        field = self.fields[name]
        return self._at_most(field, high) & ~self._at_most(field, low - 1)

    def fixing(self, answers: Mapping[str, Any]) -> dict[str, bool]:
        """The variables' values that spell ``answers`` (validated), for ``bdd.let``."""
        assignment: dict[str, bool] = {}
        for name, answer in answers.items():
            field = self.fields[name]
            spec = field.spec
            if spec.kind == "choices":
                chosen = set(answer or ())
                assignment.update({f"{name}#{item}": item in chosen for item in spec.values})
                continue
            if spec.kind == "integer":
                number = int(answer)
            else:
                number = next(i for i, a in enumerate(field.answers) if same(a, answer))
            width = len(field.names)
            for i, variable in enumerate(field.names):
                assignment[variable] = bool(number >> (width - 1 - i) & 1)
        return assignment

    def cubes(self, name: str, answer: Any) -> list[dict[str, bool]]:  # noqa: ANN401 - any answer
        """``answer`` as partial assignments of the field's variables.

        For the integer field ``answer`` is an interval (low, high): one assignment per
        aligned block of numbers sharing their leading bits.
        """
        field = self.fields[name]
        if field.spec.kind != "integer":
            return [self.fixing({name: answer})]
        low, high = answer
        width = len(field.names)
        cubes = []
        while low <= high:
            # The largest aligned block starting at low that stays within high.
            size = low & -low if low else 1 << width
            while size > high - low + 1:
                size //= 2
            free = size.bit_length() - 1  # trailing bits left free
            cubes.append(
                {
                    variable: bool(low >> (width - 1 - i) & 1)
                    for i, variable in enumerate(field.names[: width - free])
                }
            )
            low += size
        return cubes

    def includes(self, name: str, item: str) -> Function:
        """The list ``name`` includes ``item``."""
        return self.bdd.var(f"{name}#{item}")

    # -- reading the diagrams ------------------------------------------------------------

    def count(self, where: Function) -> int:
        """How many assessments of the space satisfy ``where``."""
        return int(self.bdd.count(where & self.domain, nvars=self.variables))

    def size(self) -> int:
        """How many assessments the space holds."""
        return self.count(self.bdd.true)

    def example(self, where: Function) -> dict[str, Any] | None:
        """The least risky assessment satisfying ``where``, as a form would send it.

        Field by field, in the model's order, the answer nearest the lowest risk that still
        leaves ``where`` satisfiable: no answer can be lowered without losing the property
        or raising an earlier one. None when nothing satisfies ``where``.
        """
        rest = where & self.domain
        if rest == self.bdd.false:
            return None
        point: dict[str, Any] = {}
        for name, field in self.fields.items():
            for answer in self._by_risk(field):
                test = self._answer(field, answer)
                if (rest & test) != self.bdd.false:
                    rest &= test
                    if answer is not None:
                        point[name] = list(answer) if isinstance(answer, tuple) else answer
                    break
        return point

    def least_risky(self, where: Function, bounds: Sequence[Function]) -> dict[str, Any] | None:
        """An assessment satisfying ``where`` whose answers are the fewest risk steps in all.

        The total risk depth is the sum over fields of each answer's steps from the lowest
        risk (``risk_depths``; a list counts one per item, the hours none), as the symbolic
        verifier minimises it; among the assessments of least total, :meth:`example`'s.
        ``bounds`` is :meth:`risk_bounds` (built once by the caller, who holds it only as
        long as it needs it: the space lives as long as the process). None when nothing
        satisfies ``where``.
        """
        rest = where & self.domain
        if rest == self.bdd.false:
            return None
        bound = next(b for b in bounds if (rest & b) != self.bdd.false)
        return self.example(rest & bound)

    def risk_bounds(self) -> list[Function]:
        """``[d]``: the assessments whose total risk depth is at most d, for every d."""
        # Field by field, the total so far as a ladder: at_most[d] over the fields seen.
        at_most: list[Function] = [self.bdd.true]
        for name, field in self.fields.items():
            spec = field.spec
            if spec.kind == "integer":
                continue
            steps: list[tuple[tuple[Function, int], ...]]
            if spec.kind == "choices":
                steps = [
                    ((~self.includes(name, item), 0), (self.includes(name, item), 1))
                    for item in spec.values
                ]
            else:
                depths = risk_depths(field.answers, RISK_ORDERS.get(name, {}))
                steps = [
                    tuple(
                        (self.answer_is(name, a), d)
                        for a, d in zip(field.answers, depths, strict=True)
                    )
                ]
            for choices in steps:
                top = len(at_most) - 1 + max(d for _, d in choices)
                at_most = [
                    self.any_of(
                        test & at_most[min(d - step, len(at_most) - 1)]
                        for test, step in choices
                        if d - step >= 0
                    )
                    for d in range(top + 1)
                ]
        return at_most

    def point(self, answers: Mapping[str, Any]) -> Function:
        """The one assessment ``answers`` (a field left out is absent), as a diagram."""
        return self.holding({name: answers.get(name) for name in self.fields})

    def holding(self, answers: Mapping[str, Any]) -> Function:
        """Every assessment that answers the fields of ``answers`` so (None: left out).

        Raises:
            ValueError: for an unknown field or an answer the field does not allow.

        """
        parts = []
        for name, answer in answers.items():
            field = self.fields.get(name)
            if field is None:
                msg = f"unknown field {name!r}; known fields: {', '.join(self.fields)}"
                raise ValueError(msg)
            value = _hashable(answer)
            if not self._allows(field, value):
                allowed = field.spec.describe_allowed()
                msg = f"{name!r} cannot be held at that answer; allowed: {allowed}"
                raise ValueError(msg)
            parts.append(self._answer(field, value))
        return self.all_of(parts)

    @staticmethod
    def _allows(field: _Field, answer: Any) -> bool:  # noqa: ANN401 - any answer
        spec = field.spec
        if spec.kind == "integer":
            low, high = spec.minimum or 0, spec.maximum or 0
            return type(answer) is int and low <= answer <= high
        if spec.kind == "choices":
            return isinstance(answer, tuple) and set(answer) <= set(spec.values)
        return any(same(answer, a) for a in field.answers)

    def _answer(self, field: _Field, answer: Any) -> Function:  # noqa: ANN401 - any answer
        spec = field.spec
        if spec.kind == "integer":
            return self._number(field, answer)
        if spec.kind == "choices":
            chosen = set(answer)
            return self.all_of(
                self.includes(spec.name, item)
                if item in chosen
                else ~self.includes(spec.name, item)
                for item in spec.values
            )
        return self.answer_is(spec.name, answer)

    def _by_risk(self, field: _Field) -> Sequence[Any]:
        """Every answer of a field, least risky first (absence after the answers)."""
        spec = field.spec
        if spec.kind == "integer":
            # More hours free is less in the way of any level: the most first.
            return range(spec.maximum or 0, (spec.minimum or 0) - 1, -1)
        if spec.kind == "choices":
            items = list(spec.values)
            subsets: list[tuple[str, ...]] = [()]
            for item in items:
                subsets += [(*subset, item) for subset in subsets]
            return sorted(subsets, key=len)
        depths = risk_depths(field.answers, RISK_ORDERS.get(spec.name, {}))
        order = dict(zip(field.answers, depths, strict=True))
        return sorted(field.answers, key=lambda a: (a is None, order[a]))


@functools.cache
def shared_space() -> Space:
    """The process's one space, whose diagram manager is never freed.

    dd asserts, when a manager is destroyed, that none of its diagrams is still alive; the
    garbage collector may destroy a manager before its diagrams when both are collected
    together. A manager that lives as long as the process never meets that order.
    """
    return Space()


SPACE_LOCK: Final = threading.Lock()
"""dd's managers are not thread-safe: hold this while building or reading diagrams."""


class Outcomes:
    """One rule set's level, flags and ratings over the whole space, by the engine's policy.

    The policy is ``_decision/policy.decide`` in the algebra of decision diagrams
    (:class:`BddAlgebra`); this class names its parts for ``diff``, ``verify`` and
    ``provisional()``.
    """

    def __init__(self, space: Space, rule_set: RuleSet) -> None:
        self.space = space
        self.rule_set = rule_set
        self.program = DecisionProgram.of(rule_set)
        self.outcome = decide(self.program, BddAlgebra(space, rule_set))
        derived = self.outcome.derived
        self.holds: dict[str, Function] = self.outcome.fired
        self.rating_at_least: dict[Dimension, list[Function]] = {
            dimension: derived.ratings[dimension.value] for dimension in Dimension
        }
        self._count_at_least = derived.counts
        self.level_at_least: list[Function] = derived.level
        self.override: Function = self.outcome.override
        self.flags: dict[Flag, Function] = {flag: self.outcome.flags[flag.value] for flag in Flag}
        self.blocked: Function = self.outcome.blocked
        """No alternative: the safety override is in force or a blocking flag is shown."""
        self.alternative_at_least: list[Function] = self.outcome.alternative
        """``[k]``: an alternative of rank k or more is offered."""

    def level_is(self, level: LevelOfCare) -> Function:
        """The rule set recommends ``level``."""
        return _level_is(self.level_at_least, level)

    def rating_is(self, dimension: Dimension, rating: int) -> Function:
        """The rule set rates ``dimension`` at ``rating``."""
        return one_of(self._algebra, self.rating_at_least[dimension], rating)

    @functools.cached_property
    def _algebra(self) -> BddAlgebra:
        return BddAlgebra(self.space, self.rule_set)

    def shown(self, rule: Rule) -> Function:
        """The rule fired and the safety override keeps it (its reason and flags are shown)."""
        return self.outcome.shown[rule.id]

    def alternative_is(self, level: LevelOfCare | None) -> Function:
        """The alternative offered is ``level`` (None: no alternative)."""
        at_least = self.alternative_at_least
        if level is None:
            return ~at_least[0]
        return one_of(self._algebra, at_least, level.rank)

    def alternative_at(self, answers: Mapping[str, Any]) -> LevelOfCare | None:
        """The level of the alternative offered at one assessment (None: none)."""
        point = self.space.point(answers)
        offered = [
            level
            for level in LevelOfCare
            if (self.alternative_is(level) & point) != self.space.bdd.false
        ]
        return offered[0] if offered else None

    def fired_at(self, answers: Mapping[str, Any]) -> tuple[str, ...]:
        """The rules that fire at one assessment (before the override's filter), in order."""
        point = self.space.point(answers)
        false = self.space.bdd.false
        return tuple(rule_id for rule_id, where in self.holds.items() if (where & point) != false)

    def at(
        self, answers: Mapping[str, Any]
    ) -> tuple[LevelOfCare, frozenset[Flag], tuple[int, ...]]:
        """The level, flags and ratings (in ``Dimension`` order) at one assessment."""
        point = self.space.point(answers)
        holds = self.space.bdd.false

        def true_at(where: Function) -> bool:
            return (where & point) != holds

        level = next(level for level in LevelOfCare if true_at(self.level_is(level)))
        flags = frozenset(flag for flag, where in self.flags.items() if true_at(where))
        ratings = tuple(
            next(r for r in range(_TOP + 1) if true_at(self.rating_is(dimension, r)))
            for dimension in Dimension
        )
        return level, flags, ratings

    @staticmethod
    def derived(name: str) -> bool:
        """Whether ``name`` is a derived field (a rating, a count of dimensions)."""
        return name.startswith((RATING_PREFIX, COUNT_PREFIX))

    def derived_between(self, name: str, low: int, high: int) -> Function:
        """A derived number (a rating, a count of dimensions) lies in ``[low, high]``."""
        return _derived_between(self.space, self.outcome.derived, name, low, high)


def _level_is(ladder: Sequence[Function], level: LevelOfCare) -> Function:
    here = ladder[level.rank]
    return here & ~ladder[level.rank + 1] if level.rank + 1 < len(ladder) else here


def _derived_between(
    space: Space, derived: Derived[Function], name: str, low: int, high: int
) -> Function:
    """A derived number (a rating, a count of dimensions) lies in ``[low, high]``."""
    if name.startswith(RATING_PREFIX):
        ladder = derived.ratings[Dimension.of(name.removeprefix(RATING_PREFIX)).value]
    else:
        ladder = derived.counts[int(name.removeprefix(COUNT_PREFIX))]
    top = len(ladder) - 1
    low, high = max(low, 0), min(high, top)
    if low > high:
        return space.bdd.false
    return ladder[low] & (~ladder[high + 1] if high < top else space.bdd.true)


class BddAlgebra:
    """The decision policy's algebra over decision diagrams of the whole space."""

    def __init__(self, space: Space, rule_set: RuleSet) -> None:
        self.space = space
        self._specs = field_specs(with_decided_level=True, with_derived=True)
        self._rules = {rule.id: rule for rule in rule_set.rules}

    @property
    def true(self) -> Function:
        return self.space.bdd.true

    @property
    def false(self) -> Function:
        return self.space.bdd.false

    def all_of(self, parts: Iterable[Function]) -> Function:
        return self.space.all_of(parts)

    def any_of(self, parts: Iterable[Function]) -> Function:
        return self.space.any_of(parts)

    def not_(self, part: Function) -> Function:
        return ~part

    def at_least(self, parts: Sequence[Function]) -> list[Function]:
        return count(self, parts)

    def atom(self, rule: str, derived: Derived[Function]) -> Function:
        form = normal_form(self._rules[rule].when, self._specs)
        return fold(form, _Conditions(self.space, derived))


class _Conditions:
    """The algebra of conditions over decision diagrams (derived fields read the ladders)."""

    def __init__(self, space: Space, derived: Derived[Function]) -> None:
        self.space = space
        self.derived = derived

    def constant(self, value: bool) -> Function:
        return self.space.bdd.true if value else self.space.bdd.false

    def all_of(self, parts: Sequence[Function]) -> Function:
        return self.space.all_of(parts)

    def any_of(self, parts: Sequence[Function]) -> Function:
        return self.space.any_of(parts)

    def includes(self, node: Includes) -> Function:
        test = self.space.includes(node.field, node.item)
        return test if node.present else ~test

    def equals(self, node: Equals) -> Function:
        if node.field == DECIDED_LEVEL:
            return _level_is(self.derived.level, LevelOfCare.of(node.value))
        if Outcomes.derived(node.field):
            return _derived_between(self.space, self.derived, node.field, node.value, node.value)
        return self.space.reads_as(node.field, node.value)

    def compare(self, node: Compare) -> Function:
        if Outcomes.derived(node.field):
            low, high = {
                "lt": (0, node.number - 1),
                "le": (0, node.number),
                "gt": (node.number + 1, _TOP * len(Dimension)),
                "ge": (node.number, _TOP * len(Dimension)),
            }[node.op]
            return _derived_between(self.space, self.derived, node.field, low, high)
        return self.space.compare(node.field, node.op, node.number)


def _hashable(answer: Any) -> Any:  # noqa: ANN401 - a JSON scalar or a list of codes
    return tuple(answer) if isinstance(answer, list) else answer
