"""The engine: isolation between rule sets, threads, durable-rules' sharp edges."""

from __future__ import annotations

import io
import re
import tokenize
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from helpers import (
    BASELINE,
    assessment,
    copy_rules,
    expected_fired,
    needs_durable,
    random_assessments,
)
from iop_placement import (
    DEFAULT_RULES,
    Assessment,
    LevelOfCare,
    PlacementEngine,
    PlacementError,
    Recommendation,
    recommend,
)
from iop_placement._model.fields import field_specs


@pytest.fixture
def custom_dir(tmp_path: Path) -> Path:
    """A customised rule set: moderate use rated 3 (inpatient), with its own name and version."""

    def rename(manifest: dict[str, Any]) -> None:
        manifest.update(name="clinic-custom", version="9.9.9")

    def moderate_to_inpatient(severity: dict[str, Any]) -> None:
        for rule in severity["rules"]:
            if rule["id"] == "severity.moderate_use":
                rule["then"]["rating"]["value"] = 3

    changes = (("ruleset.json", rename), ("severity.json", moderate_to_inpatient))
    return copy_rules(tmp_path / "custom", *changes)


def test_engines_from_different_rule_sets_are_isolated(
    engine: PlacementEngine, custom_dir: Path
) -> None:
    custom = PlacementEngine.from_directory(str(custom_dir))
    moderate = assessment(substance_use_severity="moderate")
    for _ in range(3):  # interleaved calls must not leak state between rule sets
        assert custom.recommend(moderate).level is LevelOfCare.INPATIENT
        assert engine.recommend(moderate).level is LevelOfCare.STANDARD_OUTPATIENT
        assert recommend(moderate).level is LevelOfCare.STANDARD_OUTPATIENT
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


@needs_durable
def test_backend_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOP_PLACEMENT_BACKEND", "compiled")
    assert PlacementEngine.from_directory(DEFAULT_RULES).backend == "compiled"
    monkeypatch.setenv("IOP_PLACEMENT_BACKEND", "durable")
    assert PlacementEngine.from_directory(DEFAULT_RULES).backend == "durable"
    monkeypatch.setenv("IOP_PLACEMENT_BACKEND", "fast")
    with pytest.raises(ValueError, match="'durable' or 'compiled'"):
        PlacementEngine.from_directory(DEFAULT_RULES)


def test_without_durable_rules_the_compiled_backend_is_used_silently(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No warning by default (filterwarnings=error would raise): python -W error and
    # downstream suites with filterwarnings=error must be able to call recommend().
    from iop_placement._backends import selection

    monkeypatch.delenv("IOP_PLACEMENT_BACKEND", raising=False)
    monkeypatch.setattr(selection, "durable_available", lambda: False)
    monkeypatch.setattr(selection, "_warned", False)
    engine = PlacementEngine.from_directory(DEFAULT_RULES)
    assert engine.backend == "compiled"
    assert engine.recommend(BASELINE).level is LevelOfCare.STANDARD_OUTPATIENT
    assert selection.describe() == "rule backend: compiled (durable-rules is not installed)"
    with pytest.raises(PlacementError, match="not installed"):
        PlacementEngine.from_directory(DEFAULT_RULES, backend="durable")


def test_asking_for_durable_rules_in_the_environment_warns_once_when_it_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The opt-in way to be told: IOP_PLACEMENT_BACKEND=durable.
    from iop_placement._backends import selection

    monkeypatch.setenv("IOP_PLACEMENT_BACKEND", "durable")
    monkeypatch.setattr(selection, "durable_available", lambda: False)
    monkeypatch.setattr(selection, "_warned", False)
    with pytest.warns(RuntimeWarning, match="compiled backend"):
        first = PlacementEngine.from_directory(DEFAULT_RULES)
    second = PlacementEngine.from_directory(DEFAULT_RULES)  # no second warning
    assert (first.backend, second.backend) == ("compiled", "compiled")


def test_compiled_backend_source_is_only_comparisons() -> None:
    from iop_placement._backends.compiled import CompiledMatcher
    from iop_placement._rules.normal_form import normal_form

    specs = field_specs(with_decided_level=True, with_derived=True)
    rules = PlacementEngine.from_directory(DEFAULT_RULES).rule_set.rules
    matcher = CompiledMatcher(
        "t", {f"r{i}": normal_form(r.when, specs) for i, r in enumerate(rules)}
    )
    fired, mask = matcher.source.split("\n\n")
    read = r"v\d+ = f\['[a-z0-9_]+'\]"
    for source, name, step in (
        (fired, "fired", r"out\.append\('r\d+'\)"),
        (mask, "mask", r"m \+= \d+"),
    ):
        lines = [line.strip() for line in source.splitlines()]
        assert lines[0] == f"def {name}(f):"
        allowed = re.compile(rf"{read}|out = \[\]|m = 0|if .*:|{step}|return (out|m)")
        assert all(allowed.fullmatch(line) for line in lines[1:]), lines
        conditions = [line[3:-1] for line in lines if line.startswith("if ")]
        assert len(conditions) == len(rules)
        for condition in conditions:  # locals read from the fact, compared with constants
            tokens = list(tokenize.generate_tokens(io.StringIO(condition).readline))
            names = {t.string for t in tokens if t.type == tokenize.NAME}
            ops = {t.string for t in tokens if t.type == tokenize.OP}
            assert all(re.fullmatch(r"v\d+|and|or|is|True|False", n) for n in names), condition
            assert ops <= {"(", ")", "==", "<", "<=", ">", ">="}, condition


@pytest.mark.parametrize("backend", ["compiled", pytest.param("durable", marks=needs_durable)])
def test_matcher_mask_is_the_sum_of_the_weights_of_the_fired_conditions(backend: str) -> None:
    import random

    from iop_placement._backends.facts import encode
    from iop_placement._backends.selection import matcher
    from iop_placement._rules.normal_form import normal_form

    specs = field_specs(with_decided_level=True, with_derived=True)
    rules = [
        r for r in PlacementEngine.from_directory(DEFAULT_RULES).rule_set.rules if r.stage == 1
    ]
    conditions = {f"r{i}": normal_form(r.when, specs) for i, r in enumerate(rules)}
    places = list(range(len(conditions)))
    random.Random(3).shuffle(places)  # bits in another order than the conditions'
    weights = {name: 1 << place for name, place in zip(conditions, places, strict=True)}
    weighed = matcher(backend, "mask-test", conditions, weights)  # type: ignore[arg-type]
    plain = matcher(backend, "mask-test-default", conditions)  # type: ignore[arg-type]
    seen = set()
    for data in random_assessments(300, seed=11):
        fact = encode(Assessment.model_validate(data).values())
        names = weighed.fired(fact)
        assert weighed.mask(fact) == sum(weights[name] for name in names)
        assert plain.mask(fact) == sum(1 << int(name[1:]) for name in names)
        seen.add(len(names))
    assert len(seen) > 3  # the inputs fire different numbers of conditions


def test_encode_validated_is_values_then_encode() -> None:
    import random

    from iop_placement._backends.facts import encode, encode_validated
    from iop_placement.populations import POPULATIONS, population

    optional = [name for name, spec in field_specs().items() if spec.optional]
    rng = random.Random(4)
    inputs = random_assessments(300, seed=13)
    for data in inputs:  # optional fields left out, or given as null
        for name in rng.sample(optional, rng.randint(0, len(optional))):
            if rng.random() < 0.5:
                del data[name]
            else:
                data[name] = None
    inputs += [intake for name in POPULATIONS for intake in population(name, 100, seed=4)]
    left_out = 0
    for data in inputs:
        model = Assessment.model_validate(data)
        values, fact = encode_validated(model.__dict__)
        expected = model.values()
        # Equal with the same key order: the reasons' facts and the dumps follow it.
        assert list(values.items()) == list(expected.items())
        assert list(fact.items()) == list(encode(expected).items())
        left_out += None in values.values()
    assert 0 < left_out < len(inputs)
