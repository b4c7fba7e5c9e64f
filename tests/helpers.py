"""Test helpers shared by the test modules (test modules never import each other or conftest).

The baseline assessment and its variations, seeded random assessments, a strategy biased
toward low risk, rules evaluated in plain Python, writable copies of the bundled rules,
one CLI runner, and the marker for tests that need durable-rules.
"""

from __future__ import annotations

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
from iop_placement._model.fields import derive, field_specs
from iop_placement._model.levels import Dimension
from iop_placement.cli import main
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


def expected_fired(engine: PlacementEngine, assessment: Assessment) -> tuple[set[str], LevelOfCare]:
    """The rules a recommendation lists, and its level, computed without durable-rules.

    The rule conditions are evaluated with the model's own ``holds``, stage by stage:
    answers (absent optional fields read as what they mean), ratings and counts, the
    decided level; under the safety override only the reasons for the level and those of
    rules that offer no way down stay (``Rule.survives_override``).
    """
    specs = field_specs()
    values: dict[str, Any] = {
        name: specs[name].read(value) for name, value in assessment.values().items()
    }
    rules = engine.rule_set.rules
    fired = [rule for rule in rules if rule.stage == 1 and rule.when.holds(values)]
    ratings = dict.fromkeys(Dimension, 0)
    for rule in fired:
        if rule.then.rating is not None:
            dimension = rule.then.rating.dimension
            ratings[dimension] = max(ratings[dimension], int(rule.then.rating.value))
    values.update(derive(ratings))
    fired += [rule for rule in rules if rule.stage == 2 and rule.when.holds(values)]
    levels = [rule.then.level for rule in fired if rule.then.level]
    level = max(levels, key=lambda lvl: lvl.rank, default=LevelOfCare.STANDARD_OUTPATIENT)
    context = {**values, "level": level.value}
    fired += [rule for rule in rules if rule.stage == 3 and rule.when.holds(context)]
    override = engine.rule_set.manifest.safety_override
    if any(r.id in override.rules or set(r.then.flags) & set(override.flags) for r in fired):
        fired = [r for r in fired if r.survives_override and r.then.level in (None, level)]
    return {rule.id for rule in fired}, level


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
