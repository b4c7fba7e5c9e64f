"""Test helpers shared by the test modules (test modules never import each other or conftest).

The baseline assessment and its variations, seeded random assessments, a strategy biased
toward low risk, rules evaluated in plain Python, writable copies of the bundled rules,
one CLI runner, and the marker for tests that need durable-rules.
"""

from __future__ import annotations

import functools
import io
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from iop_placement import DEFAULT_RULES, RISK_ORDERS, Assessment, LevelOfCare, PlacementEngine
from iop_placement._backends.selection import durable_available
from iop_placement._model.fields import field_specs
from iop_placement._rules.ruleset import load_rule_set
from iop_placement.cli import main
from iop_placement.reference import ReferenceEvaluator
from iop_placement.testing import assessments

# durable-rules does not build on Python 3.13+: there the durable-only tests skip.
needs_durable = pytest.mark.skipif(
    not durable_available(), reason="needs durable-rules, which is not installed (Python 3.13+)"
)

# A low-risk assessment: no rule but the standard-outpatient one fires on it.
BASELINE: dict[str, Any] = {
    "substance_use_severity": "mild",
    "detox_status": "not_needed",
    "co_occurring_mental_health": "none",
    "home_environment": "supportive",
    "support_system": "strong",
    "suicide_risk": "none",
    "functional_impairment": "none",
    "relapse_history": "none",
    "prior_outpatient_failed": False,
    "motivation": "high",
    "medically_unstable": False,
    "completed_residential": False,
    "recovery_plan_established": True,
    "opioid_use_with_lost_tolerance": False,
    "available_hours_per_week": 12,
    "obligations": [],
    "inpatient_accessible": True,
}

# The lowest-risk answer of each risk field: one that is no other answer's worsening.
LOWEST = {
    name: next(v for v in steps if all(v not in worse for worse in steps.values()))
    for name, steps in RISK_ORDERS.items()
}


def assessment(**changes: Any) -> dict[str, Any]:
    """The baseline with some answers changed."""
    return {**BASELINE, **changes}


def random_assessments(count: int, seed: int) -> list[dict[str, Any]]:
    """Seeded random valid assessments, spread over every value of every field."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        data: dict[str, Any] = {}
        for name, spec in field_specs().items():
            if spec.kind in {"choice", "boolean"}:
                data[name] = rng.choice(spec.values)
            elif spec.kind == "integer":
                data[name] = rng.choice([0, 8, 9, 12, 20, 168, rng.randint(0, 168)])
            else:
                data[name] = [v for v in spec.values if rng.random() < 0.3]
        out.append(data)
    return out


def low_risk_biased() -> st.SearchStrategy[Assessment]:
    """Assessments whose answers are mostly the lowest risk: where one worsening matters.

    Uniform answers almost always trip some inpatient rule, which hides a rule that
    lowers the level when an answer gets worse.
    """
    return assessments(
        **{
            name: st.one_of(
                st.just(lowest), st.just(lowest), st.sampled_from(field_specs()[name].values)
            )
            for name, lowest in LOWEST.items()
        }
    )


@functools.cache
def _bundled_reference() -> tuple[str, ReferenceEvaluator]:
    return load_rule_set(DEFAULT_RULES).sha256, ReferenceEvaluator.from_directory(DEFAULT_RULES)


def expected_fired(engine: PlacementEngine, assessment: Assessment) -> tuple[set[str], LevelOfCare]:
    """The rules a recommendation lists, and its level, by the reference evaluator.

    The reference is the one deliberately independent statement of the policy (it reads
    the rule JSON itself); ``engine`` must run the bundled rules.
    """
    sha256, reference = _bundled_reference()
    assert engine.rule_set.sha256 == sha256, "expected_fired knows the bundled rules only"
    result = reference.evaluate(assessment)
    level = next(lvl for lvl in LevelOfCare if lvl.value == result.level)
    return set(result.rule_ids), level


Edit = Callable[[dict[str, Any]], None]


def copy_rules(target: Path, *changes: tuple[str, Edit]) -> Path:
    """A writable copy of the bundled rule set at ``target``, with (file, edit) changes."""
    target.mkdir()
    for entry in DEFAULT_RULES.iterdir():
        if entry.name.endswith(".json"):
            (target / entry.name).write_bytes(entry.read_bytes())
    for name, change in changes:
        data = json.loads((target / name).read_text(encoding="utf-8"))
        change(data)
        (target / name).write_text(json.dumps(data), encoding="utf-8")
    return target


def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    """Run the command line in-process: (exit code, standard output, standard error)."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err, stdin=io.StringIO(stdin))
    return code, out.getvalue(), err.getvalue()
