"""Verification of a rule set over every assessment: the contract's invariants, and lint.

Every invariant of the contract is checked over the whole assessment space (every answer
of every field, absence included):

* total: every assessment gets exactly one level;
* monotone: no single-step worsening along a risk order lowers the level or a rating;
* flags: crisis, withdrawal management, medical instability, overdose risk and housing
  are shown exactly when the answers that define them hold;
* safety: those answers, those flags, or medical instability mean inpatient;
* feasibility never changes the level or a rating;
* an alternative is less intensive than the level and never offered with crisis,
  withdrawal management or medical instability.

It also lints the rule set: rules that never fire or fire on every assessment, and rules
that never decide the level or a rating, add a flag or supply the alternative (fully
shadowed by others). A violation comes with a minimal, readable counterexample (closest
to the lowest risk) and the rules involved.

Two methods, two independent encodings:

* ``"symbolic"`` (the default): Z3 proves each invariant over the rule files as the
  independent reference evaluator reads them (``_symbolic.py``);
* ``"diagrams"``: the invariants checked on the decision diagrams of the *shipped* policy
  (``iop_placement._algebras.diagrams``: what the engine shows, tested against it), by
  ``_on_diagrams.py``.

``"both"`` in the CLI runs the two: agreement of two encodings written apart. The NumPy
enumeration of earlier releases is retired: ``"enumeration"`` runs the diagrams, with a
DeprecationWarning, for the period docs/versioning.md sets (not before 0.5.0).

Needs z3-solver for the symbolic method: ``pip install 'iop-placement[verify]'``.
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from typing import Any, Final

from pydantic import ValidationError

from iop_placement._model.assessment import RISK_ORDERS
from iop_placement._model.errors import RuleSetError
from iop_placement._model.fields import field_specs
from iop_placement._model.levels import Dimension, Flag
from iop_placement._rules.ruleset import Manifest, Rule, RuleFile, RuleSet, load_rule_set
from iop_placement.reference import ReferenceEvaluator
from iop_placement.verification._findings import Finding

__all__ = ["METHODS", "Finding", "VerificationReport", "verify_reference", "verify_rules"]

Progress = Callable[[str, int, int], None]

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
    method: str = "symbolic"
    queries: int = 0
    """Solver questions asked (symbolic method)."""
    nodes: int = 0
    """The size of the decision diagrams checked (diagrams method)."""

    @property
    def ok(self) -> bool:
        """True when there is no violation and no lint finding."""
        return not self.violations and not self.lint

    def summary(self) -> str:
        """One paragraph for people."""
        found = f"{len(self.violations)} violations, {len(self.lint)} lint findings"
        if self.method == "diagrams":
            return (
                f"{self.rule_set}: checked over all {self.points:,} assessments (every answer,"
                f" absent ones included) on the shipped policy's decision diagrams"
                f" ({self.nodes:,} nodes) in {self.seconds:.1f} s; {found}"
            )
        return (
            f"{self.rule_set}: proved over all {self.points:,} assessments (every answer,"
            f" absent ones included) by {self.queries:,} Z3 queries in"
            f" {self.seconds:.1f} s; {found}"
        )


Method = str  # "symbolic" or "diagrams" ("enumeration": deprecated, runs the diagrams)
METHODS: Final = ("symbolic", "diagrams")
DEPRECATED_METHODS: Final[Mapping[str, str]] = {"enumeration": "diagrams"}
"""Methods still accepted for one release, with a DeprecationWarning, and what they run."""


def _method(method: Method) -> str:
    """The method to run; refuses an unknown one, warns about a deprecated one."""
    if method in DEPRECATED_METHODS:
        instead = DEPRECATED_METHODS[method]
        warnings.warn(
            f"verify method {method!r} is deprecated and runs {instead!r}; it will be removed"
            " no earlier than 0.5.0 (the NumPy enumeration is retired: the diagrams cover"
            " the whole space)",
            DeprecationWarning,
            stacklevel=3,
        )
        return instead
    if method not in METHODS:
        msg = f"method must be one of {', '.join(METHODS)}, not {method!r}"
        raise ValueError(msg)
    return method


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


def _combinations() -> int:
    specs = field_specs().values()
    return math.prod(len(spec.answers) for spec in specs if spec.kind in {"choice", "boolean"})


def verify_rules(
    directory: Traversable | str,
    *,
    method: Method = "symbolic",
    progress: Progress | None = None,
) -> VerificationReport:
    """Check every invariant of the contract over the whole space; lint the rule set.

    ``method`` "symbolic" proves each invariant with the Z3 solver over the rule files as
    the reference evaluator reads them; "diagrams" checks them on the decision diagrams
    of the policy the engine ships (flags as shown under the safety override, levels,
    ratings, alternatives). Both cover every assessment, absent answers included, and
    report the same findings with minimal counterexamples. "enumeration" is deprecated
    and runs "diagrams".
    """
    method = _method(method)
    started = time.perf_counter()
    try:
        rule_set = load_rule_set(directory)
    except RuleSetError as error:
        report = VerificationReport(str(directory), 0, 0, time.perf_counter() - started)
        report.method = method
        rule_ids = (error.rule_id,) if error.rule_id else ()
        report.violations.append(Finding("rule-file", str(error), rule_ids))
        return report
    if method == "diagrams":
        report = _new_report(f"{rule_set.name} {rule_set.version}", method)
        _check_diagrams(rule_set, report, progress)
    else:
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
    verifier's are independent defences). Each rule is read with the rule model first (a
    rule that is no rule, or reads an unknown field, is a "rule-file" finding), but
    without the loader's checks across fields and rules.
    """
    method = _method(method)
    started = time.perf_counter()
    name = f"{reference.manifest.get('name')} {reference.manifest.get('version')}"
    report = _new_report(name, method)
    try:
        # Both methods need each rule to read as a rule (known fields, an outcome); the
        # loader's checks across fields and rules are left to the invariants.
        rule_set = _unchecked_rule_set(reference)
    except (ValidationError, ValueError, KeyError) as error:
        problem = str(error).splitlines()[0]
        report.violations.append(Finding("rule-file", f"the rules do not read: {problem}"))
    else:
        if method == "symbolic":
            _prove(reference, report, progress)
        else:
            _check_diagrams(rule_set, report, progress)
    report.seconds = time.perf_counter() - started
    return report


def _new_report(rule_set: str, method: str) -> VerificationReport:
    return VerificationReport(
        rule_set=rule_set, points=0, combinations=_combinations(), seconds=0.0, method=method
    )


def _unchecked_rule_set(reference: ReferenceEvaluator) -> RuleSet:
    """The reference's rule data as a RuleSet, each rule read by the model, nothing across."""
    families: dict[str, list[Rule]] = {}
    known = field_specs(with_decided_level=True, with_derived=True)
    for data in reference.rules:
        rule = Rule.model_validate(data)
        if unknown := sorted(set(rule.when.fields()) - set(known)):
            msg = f"{rule.id} reads unknown fields: {', '.join(unknown)}"
            raise ValueError(msg)
        families.setdefault(rule.id.split(".", 1)[0], []).append(rule)
    files = tuple(
        RuleFile(family=family, title=family, description=family, rules=tuple(rules))
        for family, rules in families.items()
    )
    return RuleSet(Manifest.model_validate(reference.manifest), files, sha256="")


def _ticker(progress: Progress | None, total: int) -> Callable[[str], None]:
    done = itertools.count(1)
    return lambda step: progress(step, next(done), total) if progress else None


def _prove(
    reference: ReferenceEvaluator, report: VerificationReport, progress: Progress | None
) -> None:
    # z3 is imported here: the diagrams method runs without it.
    from iop_placement.verification._symbolic import Encoding, Prover, axes_of  # noqa: PLC0415

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


def _check_diagrams(
    rule_set: RuleSet, report: VerificationReport, progress: Progress | None
) -> None:
    # dd's managers are not thread-safe: the process's one space is held while checking.
    from iop_placement._algebras.diagrams import SPACE_LOCK, shared_space  # noqa: PLC0415
    from iop_placement.verification._on_diagrams import DiagramChecks  # noqa: PLC0415

    edges = _edges()
    tick = _ticker(progress, len(edges) + 4 + len(rule_set.rules))
    with SPACE_LOCK:
        space = shared_space()
        checks = DiagramChecks(space, rule_set, CONTRACT_FLAGS, SAFETY_CASES)
        tick("building the decision diagrams")
        report.points = space.size()
        for name, low, high in edges:
            report.violations += checks.edge(name, low, high)
            tick("checking monotonicity")
        report.violations += [*checks.total(), *checks.flags(), *checks.safety_checks()]
        tick("checking flags and safety")
        report.violations += checks.feasibility()
        tick("checking feasibility")
        for rule in rule_set.rules:
            report.lint += checks.lint_rule(rule)
            tick("linting")
        report.nodes = checks.nodes()
        del checks
        space.bdd.collect_garbage()  # the shared manager keeps only what others hold
    tick("done")
