"""Exhaustive verification of a rule set over every assessment that can make a difference.

Every choice and true/false field is taken at every value (about 3.7 million
combinations); the number and list fields only at representatives derived from the rule
conditions themselves (each threshold, one either side, the ends of the range; one list
per distinct pattern of answers the conditions can see). The rules are evaluated once
over that grid with NumPy, straight from the rule files, and every invariant of the
contract is checked on every point:

* total: every point gets exactly one level;
* monotone: no single-step worsening along a risk order lowers the level;
* flags: crisis, withdrawal management and overdose risk are raised exactly when the
  answers that define them hold;
* safety: those answers, those flags, or medical instability mean inpatient;
* feasibility never changes the level;
* an alternative is less intensive than the level and never offered with crisis,
  withdrawal management or medical instability.

It also lints the rule set: rules that never fire, and rules that never decide the level,
add a flag or supply the alternative (fully shadowed by others). A violation comes with a
minimal, readable counterexample and the rules involved.

Needs NumPy: ``pip install 'iop-placement[verify]'``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from typing import Any, Final

try:
    import numpy as np
    import numpy.typing as npt
except ImportError as error:  # pragma: no cover - depends on the environment
    msg = "iop_placement.verification needs NumPy: pip install 'iop-placement[verify]'"
    raise ImportError(msg) from error

from iop_placement._model.assessment import RISK_ORDERS
from iop_placement._model.errors import RuleSetError
from iop_placement._model.fields import FieldSpec, field_specs
from iop_placement._model.levels import Dimension, Flag, LevelOfCare
from iop_placement._rules.policy import kept_under_override_of
from iop_placement._rules.risk import risk_depths
from iop_placement._rules.ruleset import load_rule_set
from iop_placement.reference import ReferenceEvaluator
from iop_placement.reference import stage as rule_stage
from iop_placement.verification._symbolic import Encoding, Finding, Prover, axes_of, words

__all__ = ["METHODS", "Finding", "VerificationReport", "verify_reference", "verify_rules"]

Bools = npt.NDArray[np.bool_]
Ranks = npt.NDArray[np.int8]
Progress = Callable[[str, int, int], None]

_INPATIENT: Final = LevelOfCare.INPATIENT.rank
# The ordering operators, spelled out here on purpose rather than read from the engine's
# table (_rules/operators.py): the verifier is an independent check of the rules.
_ORDER: Final[Mapping[str, Callable[[Any, Any], Any]]] = {
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
}
_RANK: Final = {level.value: level.rank for level in LevelOfCare}
# The contract (DESIGN v2) defines these flags by the answers: each must be raised exactly
# when its answers hold, whatever the rule set says.
CONTRACT_FLAGS: Final[Mapping[str, Mapping[str, Any]]] = {
    Flag.CRISIS.value: {"field": "suicide_risk", "is": "imminent"},
    Flag.WITHDRAWAL_MANAGEMENT.value: {"field": "detox_status", "in": ["needed", "in_progress"]},
    Flag.MEDICAL_INSTABILITY.value: {"field": "medically_unstable", "is": True},
    Flag.OVERDOSE_RISK.value: {
        "any": [
            {"field": "opioid_use_with_lost_tolerance", "is": True},
            {"field": "recent_overdose", "is": True},
        ]
    },
    Flag.HOUSING_NEEDED.value: {
        "all": [
            {"field": "home_environment", "in": ["toxic", "homeless"]},
            {"field": "recovery_residence", "is": "none"},
        ]
    },
}
# The safety invariant: each of these means inpatient and no alternative. A case holds
# where its answers hold, or where its flag is raised together with ``also`` (if any).
SAFETY_CASES: Final[tuple[Mapping[str, Any], ...]] = (
    {"name": "crisis", "answers": CONTRACT_FLAGS["crisis"], "flag": "crisis"},
    {
        "name": "medical instability",
        "answers": CONTRACT_FLAGS["medical_instability"],
        "flag": "medical_instability",
    },
    {
        "name": "withdrawal that needs inpatient care (severe or not rated)",
        "answers": {
            "all": [
                CONTRACT_FLAGS["withdrawal_management"],
                {"field": "withdrawal_severity", "in": ["severe", None]},
            ]
        },
        "flag": "withdrawal_management",
        "also": {"field": "withdrawal_severity", "in": ["severe", None]},
    },
    {
        "name": "withdrawal after seizures or delirium in a past withdrawal (DESIGN v3)",
        "answers": {
            "all": [
                CONTRACT_FLAGS["withdrawal_management"],
                {"field": "complicated_withdrawal_history", "is": True},
            ]
        },
        "flag": "withdrawal_management",
        "also": {"field": "complicated_withdrawal_history", "is": True},
    },
)


@dataclass(slots=True)
class VerificationReport:
    """What the verifier checked and what it found."""

    rule_set: str
    points: int
    combinations: int
    seconds: float
    violations: list[Finding] = field(default_factory=list)
    lint: list[Finding] = field(default_factory=list)
    method: str = "enumeration"
    queries: int = 0
    """Solver questions asked (symbolic method)."""

    @property
    def ok(self) -> bool:
        """True when there is no violation and no lint finding."""
        return not self.violations and not self.lint

    def summary(self) -> str:
        """One paragraph for people."""
        if self.method == "symbolic":
            return (
                f"{self.rule_set}: proved over all {self.points:,} assessments (every answer,"
                f" absent ones included) by {self.queries:,} Z3 queries in"
                f" {self.seconds:.1f} s; {len(self.violations)} violations,"
                f" {len(self.lint)} lint findings"
            )
        return (
            f"{self.rule_set}: {self.points:,} points checked"
            f" ({self.combinations:,} choice/true-false combinations x number and list"
            f" representatives) in {self.seconds:.1f} s; {len(self.violations)} violations,"
            f" {len(self.lint)} lint findings"
        )


# --- the grid -------------------------------------------------------------------------


def _leaves(condition: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for key in ("all", "any"):
        if key in condition:
            for part in condition[key]:
                yield from _leaves(part)
            return
    if "not" in condition:
        yield from _leaves(condition["not"])
        return
    yield condition


def _representatives(spec: FieldSpec, leaves: list[Mapping[str, Any]]) -> list[Any]:
    """The values of one field that the rules can tell apart, smallest first.

    Optional fields are left out (absent) everywhere: enumerating their values too would
    multiply the space beyond memory; the symbolic proof covers them.
    """
    if spec.optional:
        return [None]
    if spec.kind in {"choice", "boolean"}:
        return list(spec.values)
    if spec.kind == "integer":
        low, high = spec.minimum or 0, spec.maximum or 0
        points = {low, high}
        for leaf in leaves:
            for op in _ORDER:
                if op in leaf:
                    points |= {leaf[op] - 1, leaf[op], leaf[op] + 1}
        return sorted(p for p in points if low <= p <= high)
    tests = [tuple(leaf["includes_any"]) for leaf in leaves if "includes_any" in leaf]
    items = sorted({item for test in tests for item in test}, key=list(spec.values).index)
    seen: dict[tuple[bool, ...], tuple[str, ...]] = {}
    for size in range(len(items) + 1):
        for subset in itertools.combinations(items, size):
            signature = tuple(any(item in subset for item in test) for test in tests)
            seen.setdefault(signature, subset)
    return list(seen.values())


class _Grid:
    """Every field on its own axis; arrays broadcast, so one test costs one field's size."""

    def __init__(self, specs: Mapping[str, FieldSpec], rules: Sequence[Mapping[str, Any]]) -> None:
        leaves = [leaf for rule in rules for leaf in _leaves(rule["when"]) if "field" in leaf]
        self.names = list(specs)
        self.specs = specs
        self.values = {
            name: _representatives(spec, [leaf for leaf in leaves if leaf["field"] == name])
            for name, spec in specs.items()
        }
        self.shape = tuple(len(self.values[name]) for name in self.names)
        self.level: Ranks | None = None
        self.derived: dict[str, Ranks] = {}  # rating.<d>, dimensions_at_least.<k>

    def axis(self, name: str) -> int:
        return self.names.index(name)

    def along(self, name: str, data: Sequence[Any]) -> npt.NDArray[Any]:
        """``data`` laid along the axis of ``name``."""
        shape = [1] * len(self.names)
        shape[self.axis(name)] = len(self.values[name])
        return np.asarray(data).reshape(shape)

    def holds(self, condition: Mapping[str, Any]) -> Bools:
        """Where a rule-file condition holds, as a (broadcastable) boolean array."""
        if "all" in condition or "any" in condition:
            parts = [self.holds(part) for part in condition.get("all", condition.get("any"))]
            combine = np.logical_and if "all" in condition else np.logical_or
            result: Bools = parts[0]
            for part in parts[1:]:
                result = combine(result, part)
            return result
        if "not" in condition:
            return np.logical_not(self.holds(condition["not"]))
        if "rating" in condition or "dimensions_at_least" in condition:
            key = (
                f"rating.{condition['rating']}"
                if "rating" in condition
                else f"dimensions_at_least.{condition['dimensions_at_least']}"
            )
            return _numeric(self.derived[key], condition)
        name = condition["field"]
        if name == "level":
            if self.level is None:
                msg = "the level is read before it is decided"
                raise RuntimeError(msg)
            wanted = condition.get("in", [condition.get("is")])
            return np.isin(self.level, [_RANK[value] for value in wanted])
        values = [self.specs[name].read(v) for v in self.values[name]]
        if "is" in condition or "in" in condition:
            wanted = condition["in"] if "in" in condition else [condition["is"]]
            return self.along(name, [_member(v, wanted) for v in values])
        if "includes_any" in condition:
            items = condition["includes_any"]
            return self.along(name, [any(i in v for i in items) for v in values])
        (op,) = (key for key in _ORDER if key in condition)
        return _ORDER[op](self.along(name, values), condition[op])  # type: ignore[no-any-return]

    def point(self, index: Sequence[int]) -> dict[str, Any]:
        """The assessment at one grid index, as a form would send it (absent left out)."""
        return {
            name: list(self.values[name][i])
            if isinstance(self.values[name][i], tuple)
            else self.values[name][i]
            for name, i in zip(self.names, index, strict=True)
            if self.values[name][i] is not None
        }


def _reads_any(condition: Mapping[str, Any], names: set[str]) -> bool:
    return any(leaf.get("field") in names for leaf in _leaves(condition))


def _numeric(values: Ranks, condition: Mapping[str, Any]) -> Bools:
    if "is" in condition or "in" in condition:
        wanted = condition["in"] if "in" in condition else [condition["is"]]
        return np.isin(values, wanted)
    (op,) = (key for key in ("lt", "le", "gt", "ge") if key in condition)
    compare = {"lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal}
    return compare[op](values, condition[op])  # type: ignore[no-any-return]


def _member(value: Any, wanted: Sequence[Any]) -> bool:  # noqa: ANN401 - JSON scalars
    return any(type(value) is type(w) and value == w for w in wanted)


# --- the checks -----------------------------------------------------------------------


def _depth(grid: _Grid) -> list[npt.NDArray[np.int16]]:
    """How far each value is from the lowest risk, per axis (for minimal counterexamples)."""
    arrays = []
    for name in grid.names:
        data = risk_depths(grid.values[name], RISK_ORDERS.get(name, {}))
        arrays.append(grid.along(name, data).astype(np.int16))
    return arrays


def _smallest(mask: Bools, depth: list[npt.NDArray[np.int16]]) -> list[int]:
    """The index of the violating point closest to the lowest risk.

    An axis of length 1 in ``mask`` is one the caller fixes itself.
    """
    score = np.zeros(mask.shape, dtype=np.int32)
    for axis, array in enumerate(depth):
        if mask.shape[axis] > 1:
            score = score + array
    score = np.where(mask, score, np.iinfo(np.int32).max)
    return [int(i) for i in np.unravel_index(int(np.argmin(score)), score.shape)]


class _Run:
    """One verification: the rules evaluated over the grid once, then each check."""

    def __init__(self, reference: ReferenceEvaluator, report: VerificationReport) -> None:
        self.reference = reference
        self.rules = reference.rules
        self.report = report
        self.specs = field_specs()
        self.grid = _Grid(self.specs, self.rules)
        self.depth = _depth(self.grid)
        self.holds: dict[str, Bools] = {}
        self.shown: dict[str, Bools] = {}  # fired and kept by the safety override
        # Broadcastable arrays: an axis no rule behind them reads stays of length 1, so
        # the feasibility axes multiply only what the feasibility rules compute.
        self.level: Ranks = np.zeros((1,) * len(self.grid.shape), dtype=np.int8)
        self.flags: dict[str, Bools] = {}
        self.alternative: Ranks = np.full(self.grid.shape, -1, dtype=np.int8)
        self.ratings: dict[str, Ranks] = {}

    def evaluate(self, tick: Callable[[], None]) -> None:
        """Answer rules, ratings and counts, rating-reading rules, then level-reading rules."""
        for stage in (1, 2, 3):
            if stage == 2:
                self._derive()
            if stage == 3:
                self.grid.level = self.level
            for rule in self.rules:
                if rule_stage(rule["when"]) != stage:
                    continue
                where = self.holds[rule["id"]] = self.grid.holds(rule["when"])
                if stage < 3 and rule["then"].get("level"):
                    rank = np.int8(_RANK[rule["then"]["level"]])
                    self.level = np.maximum(self.level, np.where(where, rank, np.int8(0)))
                tick()
        # The override is put in force by the flags rules raise; while it is, only the
        # rules it keeps are shown, and the flags are those they raise.
        override = self.reference.manifest.get("safety_override", {})
        forcing: Bools = np.zeros(self.grid.shape, dtype=bool)
        for rule in self.rules:
            if rule["id"] in override.get("rules", ()) or set(override.get("flags", ())) & set(
                rule["then"].get("flags", ())
            ):
                forcing = forcing | self.holds[rule["id"]]
        for rule in self.rules:
            kept = kept_under_override_of(rule_stage(rule["when"]), rule["then"])
            stays = kept if isinstance(kept, bool) else self.level == _RANK[kept]
            self.shown[rule["id"]] = self.holds[rule["id"]] & (~forcing | stays)
        for flag in Flag:
            found: Bools = np.zeros(self.grid.shape, dtype=bool)
            for rule in self.rules:
                if flag.value in rule["then"].get("flags", ()):
                    found = found | self.shown[rule["id"]]
            self.flags[flag.value] = found
        blocked: Bools = np.zeros(self.grid.shape, dtype=bool)
        for flag in (
            *self.reference.manifest.get("alternative_blocked_by_flags", ()),
            *override.get("flags", ()),
        ):
            blocked = blocked | self.flags[flag]
        for rule_id in override.get("rules", ()):
            blocked = blocked | self.holds[rule_id]
        for rule in self.rules:
            if offer := rule["then"].get("alternative"):
                rank = np.int8(_RANK[offer["level"]])
                offered = self.holds[rule["id"]] & (rank < self.level) & ~blocked
                np.maximum(
                    self.alternative, np.where(offered, rank, np.int8(-1)), out=self.alternative
                )

    def _derive(self) -> None:
        """Each dimension's rating (highest fired rating rule), and the counts per level."""
        for dimension in Dimension:
            rating: Ranks = np.zeros((1,) * len(self.grid.shape), dtype=np.int8)
            for rule in self.rules:
                given = rule["then"].get("rating")
                if given and given["dimension"] == dimension.value:
                    value = np.int8(given["value"])
                    where = self.holds[rule["id"]]
                    rating = np.maximum(rating, np.where(where, value, np.int8(0)))
            self.ratings[dimension.value] = rating
            self.grid.derived[f"rating.{dimension.value}"] = rating
        for at_least in range(1, 5):
            count: Ranks = np.zeros((1,) * len(self.grid.shape), dtype=np.int8)
            for rating in self.ratings.values():
                count = count + (rating >= at_least).astype(np.int8)
            self.grid.derived[f"dimensions_at_least.{at_least}"] = count

    def deciding(self, point: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
        """The level at one point and the rules that set it."""
        result = self.reference.evaluate(point)
        ids = tuple(
            rule["id"]
            for rule in self.rules
            if rule["id"] in result.rule_ids and rule["then"].get("level") == result.level
        )
        return result.level, ids

    def violation(self, kind: str, message: str, mask: Bools) -> None:
        point = self.grid.point(_smallest(mask, self.depth))
        fired = tuple(sorted(self.reference.evaluate(point).rule_ids))
        self.report.violations.append(Finding(kind, message, fired, point))

    def check_monotone(self, name: str, low: Any, high: Any) -> None:  # noqa: ANN401 - codes
        """No point gets a lower level or rating when ``name`` worsens from ``low`` to ``high``."""
        axis, values = self.grid.axis(name), self.grid.values[name]
        if low not in values or high not in values:
            return  # an optional field's value the grid does not enumerate
        for dimension, rating in self.ratings.items():
            if rating.shape[axis] == 1:
                continue
            before = np.take(rating, [values.index(low)], axis=axis)
            mask = before > np.take(rating, [values.index(high)], axis=axis)
            if mask.any():
                index = _smallest(mask, self.depth)
                index[axis] = values.index(low)
                point = self.grid.point(index)
                worse = {**point, name: high}
                message = (
                    f"worsening {name} from {low!r} to {high!r} lowers the rating of"
                    f" {dimension}; {int(mask.sum()):,} points"
                )
                ids = tuple(sorted(self.reference.evaluate(point).rule_ids))
                self.report.violations.append(Finding("monotone", message, ids, point, worse))
        if self.level.shape[axis] == 1:
            return  # no rule behind the level reads this field
        before = np.take(self.level, [values.index(low)], axis=axis)
        mask = before > np.take(self.level, [values.index(high)], axis=axis)
        if not mask.any():
            return
        index = _smallest(mask, self.depth)
        index[axis] = values.index(low)
        point = self.grid.point(index)
        worse = {**point, name: high}
        (was, why_was), (now, why_now) = self.deciding(point), self.deciding(worse)
        message = (
            f"worsening {name} from {low!r} to {high!r} lowers the level from {was}"
            f" ({', '.join(why_was) or 'no rule'}) to {now} ({', '.join(why_now) or 'no rule'});"
            f" {int(mask.sum()):,} points"
        )
        rule_ids = tuple(dict.fromkeys((*why_was, *why_now)))
        self.report.violations.append(Finding("monotone", message, rule_ids, point, worse))

    def check_total_safety_feasibility(self) -> None:
        """Every point has a level; safety means inpatient; feasibility never moves it."""
        self.level = np.broadcast_to(self.level, self.grid.shape)
        if self.level.min() < 0 or self.level.max() > _INPATIENT:
            self.report.violations.append(Finding("total", "some points have no valid level"))
        for flag, condition in CONTRACT_FLAGS.items():
            should = self.grid.holds(condition)
            if (mask := should & ~self.flags[flag]).any():
                message = f"{flag} is not raised when {words(condition)}"
                self.violation("flag-definition", message, np.broadcast_to(mask, self.grid.shape))
            if (mask := self.flags[flag] & ~should).any():
                message = f"{flag} is raised although not {words(condition)}"
                self.violation("flag-definition", message, np.broadcast_to(mask, self.grid.shape))
        unsafe: Bools = np.zeros(self.grid.shape, dtype=bool)
        for case in SAFETY_CASES:
            where = self.grid.holds(case["answers"])
            flagged = self.flags[case["flag"]]
            if "also" in case:
                flagged = flagged & self.grid.holds(case["also"])
            where = np.broadcast_to(where | flagged, self.grid.shape)
            if (mask := where & (self.level != _INPATIENT)).any():
                self.violation("safety", f"{case['name']} below inpatient", mask)
            if (mask := where & (self.alternative >= 0)).any():
                self.violation(
                    "alternative", f"an alternative is offered with {case['name']}", mask
                )
            unsafe = unsafe | where
        for name, spec in self.specs.items():
            if spec.feasibility:
                axis = self.grid.axis(name)
                low = self.level.min(axis=axis, keepdims=True)
                moved = self.level.max(axis=axis, keepdims=True) != low
                if moved.any():
                    mask = np.broadcast_to(moved, self.grid.shape)
                    self.violation("feasibility", f"{name} changes the level", mask)
                for dimension, rating in self.ratings.items():
                    low = rating.min(axis=axis, keepdims=True)
                    if (moved := rating.max(axis=axis, keepdims=True) != low).any():
                        mask = np.broadcast_to(moved, self.grid.shape)
                        message = f"{name} changes the rating of {dimension}"
                        self.violation("feasibility", message, mask)
        if (mask := self.alternative >= self.level).any():
            message = "an alternative is not less intensive than the level"
            self.violation("alternative", message, mask)

    def lint(self) -> None:
        """Rules that never fire, and rules that never make a difference."""
        counts = {flag: np.zeros(self.grid.shape, dtype=np.int8) for flag in self.flags}
        for rule in self.rules:
            for flag in rule["then"].get("flags", ()):
                counts[flag] = counts[flag] + self.shown[rule["id"]]
        optional = {name for name, spec in self.specs.items() if spec.optional}
        for rule in self.rules:
            if _reads_any(rule["when"], optional) or rule_stage(rule["when"]) == 2:
                # The grid leaves optional fields out, and ratings may depend on them:
                # such rules are linted by the symbolic method, which covers every answer.
                continue
            where, then = self.holds[rule["id"]], rule["then"]
            if not where.any():
                self.report.lint.append(
                    Finding("never-fires", "the rule never fires", (rule["id"],))
                )
                continue
            if where.all():
                message = "the rule fires on every assessment"
                self.report.lint.append(Finding("always-fires", message, (rule["id"],)))
            useful: Bools = np.zeros(self.grid.shape, dtype=bool)
            if then.get("level"):
                useful = useful | (where & (self.level == _RANK[then["level"]]))
            for flag in then.get("flags", ()):
                useful = useful | (self.shown[rule["id"]] & (counts[flag] == 1))
            if offer := then.get("alternative"):
                useful = useful | (where & (self.alternative == _RANK[offer["level"]]))
            if given := then.get("rating"):
                others: Bools = np.zeros(self.grid.shape, dtype=bool)
                for other in self.rules:
                    theirs = other["then"].get("rating")
                    if (
                        other["id"] != rule["id"]
                        and theirs
                        and theirs["dimension"] == given["dimension"]
                        and theirs["value"] >= given["value"]
                    ):
                        others = others | self.holds[other["id"]]
                if given["value"] > 0:
                    useful = useful | (where & ~others)
            if not useful.any():
                point = self.grid.point(
                    _smallest(np.broadcast_to(where, self.grid.shape), self.depth)
                )
                fired = [
                    r for r in sorted(self.reference.evaluate(point).rule_ids) if r != rule["id"]
                ]
                message = (
                    "the rule never decides the level or a rating, adds a flag or supplies the"
                    " alternative"
                )
                self.report.lint.append(Finding("shadowed", message, (rule["id"], *fired), point))


Method = str  # "symbolic" or "enumeration"
METHODS: Final = ("symbolic", "enumeration")


def _edges() -> list[tuple[str, Any, Any]]:
    return [
        (name, low, high)
        for name, steps in RISK_ORDERS.items()
        for low, highs in steps.items()
        for high in highs
    ]


def _space_size() -> int:
    size = 1
    for spec in field_specs().values():
        if spec.kind == "integer":
            size *= (spec.maximum or 0) - (spec.minimum or 0) + 1
        elif spec.kind == "choices":
            size *= 2 ** len(spec.values)
        else:
            size *= len(spec.answers)
    return size


def verify_rules(
    directory: Traversable | str,
    *,
    method: Method = "symbolic",
    progress: Progress | None = None,
) -> VerificationReport:
    """Check every invariant of the contract over the whole space; lint the rule set.

    ``method`` "symbolic" proves each invariant with the Z3 solver over every assessment
    (optional fields at every value and absent); "enumeration" evaluates the rules on a
    NumPy grid of the required fields (optional fields absent), the independent
    cross-check. Both report the same kinds of finding with minimal counterexamples.
    """
    if method not in METHODS:
        msg = f"method must be one of {', '.join(METHODS)}, not {method!r}"
        raise ValueError(msg)
    started = time.perf_counter()
    try:
        rule_set = load_rule_set(directory)
    except RuleSetError as error:
        report = VerificationReport(str(directory), 0, 0, time.perf_counter() - started)
        report.method = method
        rule_ids = (error.rule_id,) if error.rule_id else ()
        report.violations.append(Finding("rule-file", str(error), rule_ids))
        return report
    report = verify_reference(
        ReferenceEvaluator.from_directory(directory), method=method, progress=progress
    )
    report.rule_set = f"{rule_set.name} {rule_set.version}"
    report.seconds = time.perf_counter() - started
    return report


def verify_reference(
    reference: ReferenceEvaluator,
    *,
    method: Method = "symbolic",
    progress: Progress | None = None,
) -> VerificationReport:
    """Check the invariants of rule files as read by the reference evaluator, unloaded.

    :func:`verify_rules` loads (and so validates) the rule set first; this checks rule
    data as it is, for rule sets the loader would refuse (the loader's checks and the
    verifier's are independent defences).
    """
    if method not in METHODS:
        msg = f"method must be one of {', '.join(METHODS)}, not {method!r}"
        raise ValueError(msg)
    started = time.perf_counter()
    specs = field_specs()
    finite = [len(spec.answers) for spec in specs.values() if spec.kind in {"choice", "boolean"}]
    report = VerificationReport(
        rule_set=f"{reference.manifest.get('name')} {reference.manifest.get('version')}",
        points=0,
        combinations=int(np.prod(finite)),
        seconds=0.0,
        method=method,
    )
    if method == "symbolic":
        _prove(reference, report, progress)
    else:
        _enumerate(reference, report, progress)
    report.seconds = time.perf_counter() - started
    return report


def _ticker(progress: Progress | None, total: int) -> Callable[[str], None]:
    done = itertools.count(1)
    return lambda step: progress(step, next(done), total) if progress else None


def _prove(
    reference: ReferenceEvaluator, report: VerificationReport, progress: Progress | None
) -> None:
    encoding = Encoding(
        reference.manifest,
        reference.rules,
        axes_of(field_specs()),
        [d.value for d in Dimension],
        [f.value for f in Flag],
    )
    prover = Prover(encoding, RISK_ORDERS, CONTRACT_FLAGS, SAFETY_CASES)
    report.points = _space_size()
    edges = _edges()
    tick = _ticker(progress, len(edges) + 3 + len(reference.rules))
    for name, low, high in edges:
        report.violations += prover.edge(name, low, high)
        tick("proving monotonicity")
    report.violations += [*prover.flags(), *prover.safety_checks()]
    tick("proving flags and safety")
    report.violations += prover.feasibility()
    tick("proving feasibility")
    for rule in reference.rules:
        report.lint += prover.lint_rule(rule)
        tick("linting")
    tick("done")
    report.queries = prover.queries


def _enumerate(
    reference: ReferenceEvaluator, report: VerificationReport, progress: Progress | None
) -> None:
    run = _Run(reference, report)
    report.points = int(np.prod(run.grid.shape))
    report.combinations = int(
        np.prod(
            [
                len(run.grid.values[name])
                for name, spec in run.specs.items()
                if spec.kind in {"choice", "boolean"}
            ]
        )
    )
    edges = _edges()
    total = len(run.rules) + len(edges) + 2
    tick = _ticker(progress, total)
    run.evaluate(lambda: tick("evaluating rules"))
    for name, low, high in edges:
        run.check_monotone(name, low, high)
        tick("checking risk orders")
    run.check_total_safety_feasibility()
    tick("checking safety and feasibility")
    run.lint()
    tick("linting")
