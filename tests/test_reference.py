"""The durable-rules engine against the independent reference evaluator, and under load."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import low_risk_biased, needs_durable, random_assessments
from iop_placement import (
    DEFAULT_RULES,
    Assessment,
    InvalidAssessment,
    PlacementEngine,
    Recommendation,
    recommend,
)
from iop_placement.reference import ReferenceEvaluator, ReferenceResult
from iop_placement.testing import assessments, invalid_payloads

REFERENCE = ReferenceEvaluator.from_directory(DEFAULT_RULES)
COMPILED = PlacementEngine.from_directory(DEFAULT_RULES, backend="compiled")


def same(rec: Recommendation, ref: ReferenceResult) -> bool:
    alternative = (
        None
        if rec.alternative is None
        else (rec.alternative.level.value, rec.alternative.conditions, rec.alternative.rule_ids)
    )
    return (
        rec.level.value == ref.level
        and {f.value for f in rec.flags} == ref.flags
        and {r.rule_id for r in rec.reasons} == ref.rule_ids
        and alternative == ref.alternative
    )


@given(assessments())
def test_engine_agrees_with_reference(engine: PlacementEngine, assessment: Assessment) -> None:
    assert same(engine.recommend(assessment), REFERENCE.evaluate(assessment))


@given(low_risk_biased())
def test_engine_agrees_with_reference_near_low_risk(
    engine: PlacementEngine, assessment: Assessment
) -> None:
    assert same(engine.recommend(assessment), REFERENCE.evaluate(assessment))


@given(assessments())
def test_compiled_backend_agrees_with_reference(assessment: Assessment) -> None:
    assert same(COMPILED.recommend(assessment), REFERENCE.evaluate(assessment))


@pytest.mark.slow
@pytest.mark.parametrize("backend", [pytest.param("durable", marks=needs_durable), "compiled"])
def test_engine_agrees_with_reference_on_50000_seeded_assessments(backend: str) -> None:
    engine = PlacementEngine.from_directory(DEFAULT_RULES, backend=backend)  # type: ignore[arg-type]
    disagreements = [
        d
        for d in random_assessments(50_000, seed=50_000)
        if not same(engine.recommend(d), REFERENCE.evaluate(d))
    ]
    assert disagreements == []


def test_sixteen_threads_each_answer_checked_against_reference() -> None:
    fresh = PlacementEngine.from_directory(DEFAULT_RULES)
    data = random_assessments(4000, seed=16)
    expected = [REFERENCE.evaluate(d) for d in data]
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(fresh.recommend, data))
    assert all(same(rec, ref) for rec, ref in zip(answers, expected, strict=True))


def test_asyncio_run_in_executor_checked_against_reference() -> None:
    data = random_assessments(2000, seed=17)

    async def score_all() -> list[Recommendation]:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(
                await asyncio.gather(*(loop.run_in_executor(pool, recommend, d) for d in data))
            )

    answers = asyncio.run(score_all())
    assert all(same(rec, REFERENCE.evaluate(d)) for rec, d in zip(answers, data, strict=True))


@given(invalid_payloads())
def test_invalid_payloads_raise_invalid_assessment_only(payload: Any) -> None:
    with pytest.raises(InvalidAssessment):
        recommend(payload)


@given(st.from_type(Assessment))
def test_from_type_draws_valid_assessments(assessment: Assessment) -> None:
    assert isinstance(recommend(assessment), Recommendation)


def test_reference_is_independent_of_the_engine() -> None:
    import iop_placement.reference as module

    source = Path(module.__file__).read_text(encoding="utf-8")
    for private in (
        "iop_placement._backends",
        "iop_placement._engine",
        "iop_placement._rules",
        "iop_placement._analysis.explain.explainer",
        "durable_rules_engine",
    ):
        assert private not in source


def test_reference_holds_rejects_unknown_conditions() -> None:
    from iop_placement.reference import holds

    with pytest.raises(ValueError, match="unknown condition"):
        holds({"field": "motivation", "like": "low"}, {"motivation": "low"})
