"""The engine: isolation between rule sets, threads, durable-rules' sharp edges."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import durable_rules_engine as core
import pytest

from conftest import BASELINE, assessment
from helpers import copy_rules, expected_fired
from iop_placement import (
    DEFAULT_RULES,
    Assessment,
    LevelOfCare,
    PlacementEngine,
    PlacementError,
    Recommendation,
    _durable,
    recommend,
)
from iop_placement._fields import field_specs


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


@pytest.fixture
def custom_dir(tmp_path: Path) -> Path:
    """A customised rule set: moderate use goes to inpatient, with its own name and version."""

    def rename(manifest: dict[str, Any]) -> None:
        manifest.update(name="clinic-custom", version="9.9.9")

    def moderate_to_inpatient(severity: dict[str, Any]) -> None:
        for rule in severity["rules"]:
            if rule["id"] == "severity.moderate_or_severe":
                rule["then"]["level"] = "inpatient"

    changes = (("ruleset.json", rename), ("severity.json", moderate_to_inpatient))
    return copy_rules(tmp_path / "custom", *changes)


def test_engines_from_different_rule_sets_are_isolated(
    engine: PlacementEngine, custom_dir: Path
) -> None:
    custom = PlacementEngine.from_directory(str(custom_dir))
    moderate = assessment(substance_use_severity="moderate")
    for _ in range(3):  # interleaved calls must not leak state between rule sets
        assert custom.recommend(moderate).level is LevelOfCare.INPATIENT
        assert engine.recommend(moderate).level is LevelOfCare.INTENSIVE_OUTPATIENT
        assert recommend(moderate).level is LevelOfCare.INTENSIVE_OUTPATIENT
    assert custom.ruleset_info.name == "clinic-custom"
    assert custom.ruleset_info.version == "9.9.9"
    assert custom.ruleset_info.sha256 != engine.ruleset_info.sha256


def test_two_engines_of_one_rule_set_agree(engine: PlacementEngine) -> None:
    other = PlacementEngine.from_directory(DEFAULT_RULES)
    for data in random_assessments(200, seed=7):
        assert other.recommend(data) == engine.recommend(data)


def test_many_engines_can_be_created_and_discarded() -> None:
    for _ in range(50):
        PlacementEngine.from_directory(DEFAULT_RULES).recommend(BASELINE)
    assert recommend(BASELINE).level is LevelOfCare.STANDARD_OUTPATIENT


def test_more_evaluations_than_durable_rules_live_state_limit(engine: PlacementEngine) -> None:
    # durable-rules allows 1024 live states per ruleset: every evaluation must delete its own.
    for data in random_assessments(3000, seed=11):
        engine.recommend(data)


def test_differential_against_plain_python(engine: PlacementEngine) -> None:
    for data in random_assessments(5000, seed=2026):
        a = Assessment.model_validate(data)
        fired, level = expected_fired(engine, a)
        rec = engine.recommend(a)
        ids = [r.rule_id for r in rec.reasons]
        assert (set(ids), rec.level) == (fired, level), data
        assert len(ids) == len(set(ids))


def test_eight_threads_agree_with_one(engine: PlacementEngine) -> None:
    data = random_assessments(2000, seed=3)
    single = [engine.recommend(d) for d in data]
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(recommend, data, chunksize=7))
    assert threaded == single


def test_sixteen_threads_on_a_fresh_engine() -> None:
    fresh = PlacementEngine.from_directory(DEFAULT_RULES)
    data = random_assessments(800, seed=5) * 2
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(fresh.recommend, data))
    assert results[:800] == results[800:]
    assert all(isinstance(r, Recommendation) for r in results)


def test_compiled_conditions_use_only_supported_operators(engine: PlacementEngine) -> None:
    from iop_placement._normal_form import normal_form

    specs = field_specs(with_decided_level=True)
    text = json.dumps(
        [_durable.to_durable(normal_form(r.when, specs)) for r in engine.rule_set.rules]
    )
    assert "$in" not in text
    assert "$not" not in text
    assert '"$lt": {"available_hours_per_week": 9}' in text


def test_engine_failure_surfaces_as_placement_error(monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = PlacementEngine.from_directory(DEFAULT_RULES, backend="durable")

    def broken(*_: object) -> Any:
        raise core.error("simulated failure, error code: 202")

    with monkeypatch.context() as patch:
        patch.setattr(core, "assert_fact", broken)
        with pytest.raises(PlacementError, match="durable-rules failed"):
            fresh.recommend(BASELINE)
    assert fresh.recommend(BASELINE).level is LevelOfCare.STANDARD_OUTPATIENT  # still usable


def test_unexpected_result_code_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = PlacementEngine.from_directory(DEFAULT_RULES, backend="durable")
    real = core.assert_fact
    monkeypatch.setattr(core, "assert_fact", lambda h, m: (2, real(h, m)[1]))
    with pytest.raises(PlacementError, match="code 2"):
        fresh.recommend(BASELINE)


def test_states_with_no_matching_rule_are_deleted_safely() -> None:
    # durable-rules 2.0.28 frees an uninitialised pointer when a state on which no action
    # ran is deleted; without the adapter's sentinel rule this script crashes every time.
    script = textwrap.dedent(
        """
        from iop_placement._durable import CompiledRuleset
        from iop_placement._normal_form import Equals
        junk = [bytes([0xAB]) * 4096 for _ in range(2000)]
        del junk
        for n in range(200):
            ruleset = CompiledRuleset(f"t{n}", {"r0": Equals("x", "never")})
            assert ruleset.fired({"x": "other"}) == []
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr[-2000:]


@pytest.mark.parametrize(
    "call", ["start_action_for_state", "complete_and_start_action", "retract_fact"]
)
def test_failure_inside_an_evaluation_leaves_the_engine_usable(
    monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    fresh = PlacementEngine.from_directory(DEFAULT_RULES, backend="durable")
    expected = fresh.recommend(BASELINE)

    def broken(*_: object) -> Any:
        raise core.error(f"simulated failure in {call}")

    with monkeypatch.context() as patch:
        patch.setattr(core, call, broken)
        with pytest.raises(PlacementError, match="durable-rules failed"):
            fresh.recommend(assessment(substance_use_severity="severe"))
    for _ in range(3):
        assert fresh.recommend(BASELINE) == expected


def test_backends_agree() -> None:
    durable = PlacementEngine.from_directory(DEFAULT_RULES, backend="durable")
    compiled = PlacementEngine.from_directory(DEFAULT_RULES, backend="compiled")
    assert (durable.backend, compiled.backend) == ("durable", "compiled")
    for data in random_assessments(3000, seed=99):
        assert compiled.recommend(data) == durable.recommend(data)


def test_backend_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOP_PLACEMENT_BACKEND", "compiled")
    assert PlacementEngine.from_directory(DEFAULT_RULES).backend == "compiled"
    monkeypatch.setenv("IOP_PLACEMENT_BACKEND", "durable")
    assert PlacementEngine.from_directory(DEFAULT_RULES).backend == "durable"
    monkeypatch.setenv("IOP_PLACEMENT_BACKEND", "fast")
    with pytest.raises(ValueError, match="'durable' or 'compiled'"):
        PlacementEngine.from_directory(DEFAULT_RULES)


def test_without_durable_rules_the_compiled_backend_is_used_saying_so_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from iop_placement import _engine

    monkeypatch.delenv("IOP_PLACEMENT_BACKEND", raising=False)
    monkeypatch.setattr(_engine, "durable_available", lambda: False)
    monkeypatch.setattr(_engine, "_warned", False)
    with pytest.warns(RuntimeWarning, match="compiled backend"):
        first = PlacementEngine.from_directory(DEFAULT_RULES)
    second = PlacementEngine.from_directory(
        DEFAULT_RULES
    )  # no second warning (filterwarnings=error)
    assert (first.backend, second.backend) == ("compiled", "compiled")
    assert first.recommend(BASELINE).level is LevelOfCare.STANDARD_OUTPATIENT
    with pytest.raises(PlacementError, match="not installed"):
        PlacementEngine.from_directory(DEFAULT_RULES, backend="durable")


def test_compiled_backend_source_is_only_comparisons() -> None:
    from iop_placement._compiled import GeneratedMatcher
    from iop_placement._normal_form import normal_form

    specs = field_specs(with_decided_level=True)
    rules = PlacementEngine.from_directory(DEFAULT_RULES).rule_set.rules
    matcher = GeneratedMatcher(
        "t", {f"r{i}": normal_form(r.when, specs) for i, r in enumerate(rules)}
    )
    body = matcher.source.splitlines()
    assert body[0] == "def fired(f):"
    assert all(line.strip().startswith(("out", "if ", "return")) for line in body[1:])
