"""Proof of the contract's invariants by satisfiability (Z3), for any size of assessment space.

Each invariant is turned into a question for the Z3 SMT solver: "is there an assessment
(or a pair of assessments one step apart) on which the invariant fails?". The rule files
are encoded as they are written: every answer is a variable over its allowed values
(absent included, for optional fields), and each rule's condition is read from its JSON
as the reference evaluator reads it. The policy over those conditions (ratings, counts,
level, the safety override's filter, flags, alternative) is not restated here: it is
``_decision/policy.decide``, the one statement the engine's decision diagrams also use, in
a Z3 algebra (:class:`Z3Algebra`), so the proof is about the flags the engine shows. An
"unsatisfiable" answer is a proof over the whole space; a "satisfiable" one comes with a
model, which is turned into a minimal counterexample (closest to the lowest risk) by
Z3's optimiser.

The cost grows with the size of the rules, not with the number of assessments: one more
field adds one variable, where enumeration multiplies the space by its number of values.
Why the conditions stay the reference's: the oracle's independence is in how a rule's
condition is read (operators, absence, sets; ``reference.py``), where a shared bug would
go unseen by both; the policy is the contract's to state once, and a second statement of
it is what let the two verifiers prove a policy that did not ship (issue 22). The stages
too are the reference's reading (``reference.stage``); the program is built from the rule
data as written, so rule data the loader would refuse is still checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

try:
    import z3
except ImportError as error:  # pragma: no cover - depends on the environment
    msg = "the symbolic verifier needs z3-solver: pip install 'iop-placement[verify]'"
    raise ImportError(msg) from error

from iop_placement._decision.policy import (
    DecisionProgram,
    Derived,
    count,
    decide,
    ladder_value,
)
from iop_placement._model.fields import FieldSpec
from iop_placement._rules.risk import risk_depths
from iop_placement.reference import stage as rule_stage
from iop_placement.verification._findings import (
    Finding,
    level_lowered,
    rating_lowered,
    words,
)

ABSENT: Final = None  # an optional field left out
# Every number (answer index, hours, rating, count, level rank) is a signed bit-vector:
# finite-domain problems bit-blast to SAT, far faster than integer arithmetic here.
_WIDTH: Final = 10


def _val(number: int) -> Any:
    return z3.BitVecVal(number, _WIDTH)


_RANK: Final = {"standard_outpatient": 0, "intensive_outpatient": 1, "inpatient": 2}
_LEVELS: Final = tuple(_RANK)
_MAX_RATING: Final = 4


@dataclass(frozen=True, slots=True)
class Axis:
    """One field as the solver sees it."""

    name: str
    kind: str  # choice, boolean, integer, choices
    values: tuple[Any, ...] = ()  # finite kinds: every value, absent last when optional
    minimum: int = 0
    maximum: int = 0
    absent_reads_as: Any = ABSENT  # optional fields whose absence means a value
    optional: bool = False
    feasibility: bool = False


class Answers:
    """Z3 variables for one assessment; ``vary`` gives a second one differing in some fields."""

    def __init__(
        self,
        axes: Mapping[str, Axis],
        tag: str,
        shared: Answers | None = None,
        differ: Iterable[str] = (),
    ) -> None:
        self.axes = axes
        differ = set(differ)
        self.vars: dict[str, Any] = {}
        for name, axis in axes.items():
            if shared is not None and name not in differ:
                self.vars[name] = shared.vars[name]
                continue
            if axis.kind == "choices":
                self.vars[name] = {item: z3.Bool(f"{tag}.{name}.{item}") for item in axis.values}
            else:
                self.vars[name] = z3.BitVec(f"{tag}.{name}", _WIDTH)

    def domain(self) -> list[Any]:
        """Constraints keeping every variable within its field's values."""
        out = []
        for name, axis in self.axes.items():
            var = self.vars[name]
            if axis.kind == "choices":
                continue
            if axis.kind == "integer":
                out.append(z3.And(var >= axis.minimum, var <= axis.maximum))
            else:
                out.append(z3.And(var >= 0, var < len(axis.values)))
        return out

    def index(self, name: str, value: Any) -> int:
        axis = self.axes[name]
        for i, v in enumerate(axis.values):
            if type(v) is type(value) and v == value:
                return i
        raise KeyError((name, value))

    def equals(self, name: str, value: Any) -> Any:
        """The answer to ``name`` reads as ``value`` (absent counts as what it means)."""
        axis, var = self.axes[name], self.vars[name]
        cases = [var == self.index(name, value)]
        if axis.optional and value is not ABSENT and _same(axis.absent_reads_as, value):
            cases.append(var == self.index(name, ABSENT))
        return z3.Or(*cases)

    def decode(self, model: z3.ModelRef) -> dict[str, Any]:
        """The assessment a model stands for, as a form would send it (absent left out)."""
        out: dict[str, Any] = {}
        for name, axis in self.axes.items():
            var = self.vars[name]
            if axis.kind == "choices":
                out[name] = [i for i, b in var.items() if z3.is_true(model.eval(b, True))]
                continue
            number = model.eval(var, model_completion=True).as_signed_long()
            if axis.kind == "integer":
                out[name] = number
            elif axis.values[number] is not ABSENT:
                out[name] = axis.values[number]
        return out


def _same(left: Any, right: Any) -> bool:
    return type(left) is type(right) and left == right


@dataclass(slots=True)
class Outcome:
    """The encoded decision for one assessment."""

    fired: dict[str, Any]
    ratings: dict[str, Any]
    counts: dict[int, Any]
    level: Any
    flags: dict[str, Any]
    alternative: Any  # rank, or -1 for none
    override: Any
    shown: dict[str, Any]  # rule id -> fired and kept by the safety override


class Z3Algebra:
    """The decision policy's algebra over Z3 formulas of one symbolic assessment.

    A rule's condition is read by :meth:`Encoding.condition` (the reference's reading of
    the rule data); the numbers it compares (ratings, counts, the level) are the policy's
    ladders read back as bit-vectors.
    """

    def __init__(self, encoding: Encoding, a: Answers) -> None:
        self.encoding = encoding
        self.a = a
        self._numbers: dict[str, Any] = {}

    @property
    def true(self) -> Any:
        return z3.BoolVal(True)

    @property
    def false(self) -> Any:
        return z3.BoolVal(False)

    def all_of(self, parts: Iterable[Any]) -> Any:
        parts = list(parts)
        return parts[0] if len(parts) == 1 else z3.And(z3.BoolVal(True), *parts)

    def any_of(self, parts: Iterable[Any]) -> Any:
        parts = list(parts)
        return parts[0] if len(parts) == 1 else z3.Or(z3.BoolVal(False), *parts)

    def not_(self, part: Any) -> Any:
        return z3.Not(part)

    def at_least(self, parts: Sequence[Any]) -> list[Any]:
        return count(self, parts)

    def atom(self, rule: str, derived: Derived[Any]) -> Any:
        return self.encoding.condition(self.encoding.when[rule], self.a, self.numbers(derived))

    def numbers(self, derived: Derived[Any]) -> dict[str, Any]:
        """The derived numbers known so far, as bit-vectors (each built once)."""
        numbers = self._numbers
        if derived.ratings and "rating" not in numbers:
            numbers["rating"] = {d: _number(ladder) for d, ladder in derived.ratings.items()}
            numbers["count"] = {k: _number(ladder) for k, ladder in derived.counts.items()}
        if derived.level and "level" not in numbers:
            numbers["level"] = _number(derived.level)
        return numbers


def _number(ladder: Sequence[Any], start: int = 0) -> Any:
    return ladder_value(ladder, lambda rung: z3.If(rung, _val(1), _val(0)), _val(start))


class Encoding:
    """A rule set's decision policy over symbolic answers.

    The policy is ``_decision/policy.decide``, the statement the engine's diagrams use,
    over a :class:`~iop_placement._decision.policy.DecisionProgram` built from the rule
    data as written (stages by the reference's reading).
    """

    def __init__(
        self,
        manifest: Mapping[str, Any],
        rules: Sequence[Mapping[str, Any]],
        axes: Mapping[str, Axis],
        dimensions: Sequence[str],
        flags: Sequence[str],
    ) -> None:
        self.manifest = manifest
        self.rules = list(rules)
        self.axes = axes
        self.dimensions = list(dimensions)
        self.flag_names = list(flags)
        self.when = {rule["id"]: rule["when"] for rule in self.rules}
        program = DecisionProgram.from_data(manifest, self.rules, rule_stage)
        self.program = replace(program, dimensions=tuple(dimensions), flags=tuple(flags))

    def condition(self, c: Mapping[str, Any], a: Answers, derived: Mapping[str, Any]) -> Any:
        if "all" in c:
            return z3.And(*[self.condition(p, a, derived) for p in c["all"]])
        if "any" in c:
            return z3.Or(*[self.condition(p, a, derived) for p in c["any"]])
        if "not" in c:
            return z3.Not(self.condition(c["not"], a, derived))
        if "rating" in c:
            return _numeric(c, derived["rating"][c["rating"]])
        if "dimensions_at_least" in c:
            return _numeric(c, derived["count"][c["dimensions_at_least"]])
        name = c["field"]
        if name == "level":
            wanted = c["in"] if "in" in c else [c["is"]]
            return z3.Or(*[derived["level"] == _RANK[v] for v in wanted])
        axis = self.axes[name]
        if "includes_any" in c:
            return z3.Or(*[a.vars[name][item] for item in c["includes_any"]])
        if axis.kind == "integer":
            return _numeric(c, a.vars[name])
        wanted = c["in"] if "in" in c else [c["is"]]
        return z3.Or(*[a.equals(name, v) for v in wanted])

    def outcome(self, a: Answers) -> Outcome:
        algebra = Z3Algebra(self, a)
        decided = decide(self.program, algebra)
        numbers = algebra.numbers(decided.derived)
        return Outcome(
            decided.fired,
            numbers["rating"],
            numbers["count"],
            numbers["level"],
            decided.flags,
            _number([algebra.true, *decided.alternative], -1),  # the rank, or -1: none
            decided.override,
            decided.shown,
        )


# The ordering operators, spelled out here on purpose rather than read from the engine's
# table (_rules/operators.py): the proof is an independent check of the rules.
ORDER: Final[Mapping[str, Callable[[Any, int], Any]]] = {
    "lt": lambda x, n: x < n,
    "le": lambda x, n: x <= n,
    "gt": lambda x, n: x > n,
    "ge": lambda x, n: x >= n,
}


def _numeric(c: Mapping[str, Any], value: Any) -> Any:
    if "is" in c:
        return value == c["is"]
    if "in" in c:
        return z3.Or(*[value == v for v in c["in"]])
    for key, op in ORDER.items():
        if key in c:
            return op(value, c[key])
    raise ValueError(sorted(c))


def axes_of(specs: Mapping[str, FieldSpec]) -> dict[str, Axis]:
    """The solver's view of the assessment fields."""
    return {
        name: Axis(
            name,
            spec.kind,
            tuple(spec.answers),
            spec.minimum or 0,
            spec.maximum or 0,
            absent_reads_as=spec.absent_means,
            optional=spec.optional,
            feasibility=spec.feasibility,
        )
        for name, spec in specs.items()
    }


class Prover:
    """Asks Z3 for counterexamples to each invariant of one rule set."""

    def __init__(
        self,
        encoding: Encoding,
        risk_orders: Mapping[str, Mapping[Any, tuple[Any, ...]]],
        contract_flags: Mapping[str, Mapping[str, Any]],
        safety: Sequence[Mapping[str, Any]],
    ) -> None:
        self.encoding = encoding
        self.axes = encoding.axes
        self.risk_orders = risk_orders
        self.contract_flags = contract_flags
        self.safety = safety
        self.a = Answers(self.axes, "a")
        self.out = encoding.outcome(self.a)
        self.queries = 0

    # -- solving ------------------------------------------------------------------------

    def _depth(self, a: Answers) -> Any:
        terms = []
        for name, axis in self.axes.items():
            var = a.vars[name]
            if axis.kind == "choices":
                terms += [z3.If(b, _val(1), _val(0)) for b in var.values()]
            elif axis.kind != "integer":
                depth = risk_depths(axis.values, self.risk_orders.get(name, {}))
                expr: Any = _val(0)
                for i, d in enumerate(depth):
                    expr = z3.If(var == i, _val(d), expr)
                terms.append(expr)
        return z3.Sum(*terms) if terms else _val(0)

    def find(
        self, constraints: Sequence[Any], answers: Sequence[Answers], *, minimal: bool = True
    ) -> z3.ModelRef | None:
        """A model of ``constraints`` (closest to the lowest risk), or None when there is none."""
        self.queries += 1
        solver = z3.SolverFor("QF_BV")
        for a in answers:
            solver.add(*a.domain())
        solver.add(*constraints)
        if solver.check() != z3.sat:
            return None
        if not minimal:
            return solver.model()
        opt = z3.Optimize()
        for a in answers:
            opt.add(*a.domain())
        opt.add(*constraints)
        opt.minimize(z3.Sum(*[self._depth(a) for a in answers]))
        return opt.model() if opt.check() == z3.sat else solver.model()

    def fired_at(self, model: z3.ModelRef, out: Outcome) -> tuple[str, ...]:
        return tuple(r for r, c in out.fired.items() if z3.is_true(model.eval(c, True)))

    def level_at(self, model: z3.ModelRef, out: Outcome) -> str:
        level: str = _LEVELS[model.eval(out.level, True).as_signed_long()]
        return level

    def deciding(self, model: z3.ModelRef, out: Outcome) -> tuple[str, tuple[str, ...]]:
        level = self.level_at(model, out)
        ids = tuple(
            r["id"]
            for r in self.encoding.rules
            if r["then"].get("level") == level and z3.is_true(model.eval(out.fired[r["id"]], True))
        )
        return level, ids

    # -- the invariants -----------------------------------------------------------------

    def monotone(self) -> Iterable[Finding]:
        for name, steps in self.risk_orders.items():
            for low, highs in steps.items():
                for high in highs:
                    yield from self.edge(name, low, high)

    def edge(self, name: str, low: Any, high: Any) -> Iterable[Finding]:
        b = Answers(self.axes, "b", shared=self.a, differ={name})
        out_b = self.encoding.outcome(b)
        fix = [self.a.vars[name] == self.a.index(name, low), b.vars[name] == b.index(name, high)]
        pairs = [("level", self.out.level, out_b.level)] + [
            (f"rating of {d}", self.out.ratings[d], out_b.ratings[d])
            for d in self.encoding.dimensions
        ]
        # One question for the whole edge; only a counterexample is worth asking apart.
        if (
            self.find([*fix, z3.Or(*[b > a for _, b, a in pairs])], [self.a, b], minimal=False)
            is None
        ):
            return
        for what, before, after in pairs:
            model = self.find([*fix, before > after], [self.a, b])
            if model is None:
                continue
            point, worse = self.a.decode(model), b.decode(model)
            step = (name, low, high)
            if what == "level":
                was, now = self.deciding(model, self.out), self.deciding(model, out_b)
                yield level_lowered(step, was, now, (point, worse))
            else:
                ratings = model.eval(before, True), model.eval(after, True)
                fired = (*self.fired_at(model, self.out), *self.fired_at(model, out_b))
                yield rating_lowered(step, what, ratings, fired, (point, worse))

    def _answers_hold(self, condition: Mapping[str, Any]) -> Any:
        return self.encoding.condition(condition, self.a, {})

    def _report(self, kind: str, message: str, constraint: Any) -> Iterable[Finding]:
        model = self.find([constraint], [self.a])
        if model is not None:
            yield Finding(kind, message, self.fired_at(model, self.out), self.a.decode(model))

    def flags(self) -> Iterable[Finding]:
        for flag, condition in self.contract_flags.items():
            should = self._answers_hold(condition)
            raised = self.out.flags[flag]
            yield from self._report(
                "flag-definition",
                f"{flag} is not raised when {words(condition)}",
                z3.And(should, z3.Not(raised)),
            )
            yield from self._report(
                "flag-definition",
                f"{flag} is raised although not {words(condition)}",
                z3.And(raised, z3.Not(should)),
            )

    def safety_checks(self) -> Iterable[Finding]:
        for case in self.safety:
            flagged = self.out.flags[case["flag"]]
            if "also" in case:
                flagged = z3.And(flagged, self._answers_hold(case["also"]))
            unsafe = z3.Or(self._answers_hold(case["answers"]), flagged)
            yield from self._report(
                "safety",
                f"{case['name']} below inpatient",
                z3.And(unsafe, self.out.level != _RANK["inpatient"]),
            )
            yield from self._report(
                "alternative",
                f"an alternative is offered with {case['name']}",
                z3.And(unsafe, self.out.alternative >= 0),
            )
        yield from self._report(
            "alternative",
            "an alternative is not less intensive than the level",
            z3.And(self.out.alternative >= 0, self.out.alternative >= self.out.level),
        )

    def feasibility(self) -> Iterable[Finding]:
        for name, axis in self.axes.items():
            if not axis.feasibility:
                continue
            b = Answers(self.axes, "b", shared=self.a, differ={name})
            out_b = self.encoding.outcome(b)
            changes = [("level", self.out.level, out_b.level)] + [
                (f"rating of {d}", self.out.ratings[d], out_b.ratings[d])
                for d in self.encoding.dimensions
            ]
            if (
                self.find([z3.Or(*[b != a for _, b, a in changes])], [self.a, b], minimal=False)
                is None
            ):
                continue
            for what, before, after in changes:
                model = self.find([before != after], [self.a, b])
                if model is not None:
                    ids = tuple(
                        dict.fromkeys(
                            (*self.fired_at(model, self.out), *self.fired_at(model, out_b))
                        )
                    )
                    yield Finding(
                        "feasibility",
                        f"{name} changes the {what}",
                        ids,
                        self.a.decode(model),
                        b.decode(model),
                    )

    def lint(self) -> Iterable[Finding]:
        for rule in self.encoding.rules:
            yield from self.lint_rule(rule)

    def lint_rule(self, rule: Mapping[str, Any]) -> list[Finding]:
        """Never fires, always fires, or never makes a difference (shadowed)."""
        return list(self._lint_rule(rule))

    def _lint_rule(self, rule: Mapping[str, Any]) -> Iterable[Finding]:
        out = self.out
        if True:
            rid, then = rule["id"], rule["then"]
            fires = out.fired[rid]
            if self.find([fires], [self.a], minimal=False) is None:
                yield Finding("never-fires", "the rule never fires", (rid,))
                return
            if self.find([z3.Not(fires)], [self.a], minimal=False) is None:
                yield Finding("always-fires", "the rule fires on every assessment", (rid,))
            useful = []
            if then.get("level"):
                useful.append(out.level == _RANK[then["level"]])
            for flag in then.get("flags", ()):
                others = [
                    out.shown[r["id"]]
                    for r in self.encoding.rules
                    if r["id"] != rid and flag in r["then"].get("flags", ())
                ]
                useful.append(z3.And(out.shown[rid], z3.Not(z3.Or(z3.BoolVal(False), *others))))
            if then.get("alternative"):
                useful.append(out.alternative == _RANK[then["alternative"]["level"]])
            if then.get("rating"):
                d, v = then["rating"]["dimension"], then["rating"]["value"]
                others = [
                    out.fired[r["id"]]
                    for r in self.encoding.rules
                    if r["id"] != rid
                    and r["then"].get("rating", {}).get("dimension") == d
                    and r["then"]["rating"]["value"] >= v
                ]
                useful.append(z3.And(v > 0, z3.Not(z3.Or(z3.BoolVal(False), *others))))
            if (
                self.find([fires, z3.Or(z3.BoolVal(False), *useful)], [self.a], minimal=False)
                is None
            ):
                model = self.find([fires], [self.a])
                assert model is not None
                others_fired = tuple(r for r in self.fired_at(model, out) if r != rid)
                yield Finding(
                    "shadowed",
                    "the rule never decides the level, a rating, adds a flag"
                    " or supplies the alternative",
                    (rid, *others_fired),
                    self.a.decode(model),
                )

    def all(self) -> list[Finding]:
        """Every finding: monotonicity, flags, safety, feasibility, lint."""
        return [
            *self.monotone(),
            *self.flags(),
            *self.safety_checks(),
            *self.feasibility(),
            *self.lint(),
        ]
