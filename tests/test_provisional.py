"""Provisional recommendations: exact against brute-force enumeration of the completions."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import BASELINE, run
from iop_placement import (
    Flag,
    InvalidAssessment,
    LevelOfCare,
    PlacementEngine,
    Provisional,
    default_engine,
    provisional,
    recommend,
)
from iop_placement._model.fields import FieldSpec, field_specs
from iop_placement.testing import assessment_values

OLD_RULES = Path(__file__).parent / "data" / "rules-1.0.0"
SAFETY = ("suicide_risk", "medically_unstable", "detox_status")
# At most this many completions per example: brute force runs recommend() on each.
LIMIT = 400


def every_value(spec: FieldSpec) -> list[Any]:
    """Every answer a completion can give the field (the integer field: every number)."""
    if spec.kind == "integer":
        return list(range(spec.minimum or 0, (spec.maximum or 0) + 1))
    if spec.kind == "choices":
        return [
            list(combo)
            for size in range(len(spec.values) + 1)
            for combo in itertools.combinations(spec.values, size)
        ]
    return list(spec.answers)


def complete(values: dict[str, Any]) -> dict[str, Any]:
    """Every field answered: an optional field the draw left out is answered null."""
    specs = field_specs()
    return {name: values.get(name) for name in specs}


def brute_force(engine: PlacementEngine, given: dict[str, Any], open_: list[str]) -> dict[str, Any]:
    specs = field_specs()
    options = [every_value(specs[name]) for name in open_]
    results = []
    for combo in itertools.product(*options):
        answers = {**given, **dict(zip(open_, combo, strict=True))}
        results.append((combo, engine.recommend(answers)))
    levels = [rec.level.rank for _, rec in results]
    low, high = min(levels), max(levels)
    decisive = set()
    for index, name in enumerate(open_):
        by_value: dict[str, list[int]] = {}
        for combo, rec in results:
            by_value.setdefault(repr(combo[index]), []).append(rec.level.rank)
        if any(min(v) != low or max(v) != high for v in by_value.values()):
            decisive.add(name)
    flag_sets = [set(rec.flags) for _, rec in results]
    ratings = {
        d.dimension: [
            r.rating for _, rec in results for r in rec.dimensions if r.dimension == d.dimension
        ]
        for d in results[0][1].dimensions
    }
    return {
        "lowest": low,
        "highest": high,
        "every": set.intersection(*flag_sets),
        "some": set.union(*flag_sets),
        "decisive": decisive,
        "ratings": {d: (min(v), max(v)) for d, v in ratings.items()},
    }


@st.composite
def partial_intakes(draw: st.DrawFn) -> tuple[dict[str, Any], list[str]]:
    """A full intake and a random set of fields to leave open, small enough to enumerate."""
    values = complete(draw(assessment_values()))
    specs = field_specs()
    names = draw(st.permutations(list(specs)))
    open_: list[str] = []
    size = 1
    for name in names[: draw(st.integers(1, 6))]:
        count = len(every_value(specs[name]))
        if size * count <= LIMIT:
            open_.append(name)
            size *= count
    given = {k: v for k, v in values.items() if k not in open_}
    return given, open_


ENGINES: dict[str, Callable[[], PlacementEngine]] = {
    "bundled": default_engine,
    "rules-1.0.0": lambda: PlacementEngine.from_directory(OLD_RULES),
}


@pytest.fixture(scope="module", params=sorted(ENGINES))
def any_engine(request: pytest.FixtureRequest) -> PlacementEngine:
    return ENGINES[request.param]()


@settings(max_examples=40)
@given(case=partial_intakes())
def test_bounds_flags_ratings_and_decisive_equal_brute_force(
    any_engine: PlacementEngine, case: tuple[dict[str, Any], list[str]]
) -> None:
    given_answers, open_ = case
    p = any_engine.provisional(given_answers)
    truth = brute_force(any_engine, given_answers, open_)
    assert set(p.unanswered) == set(open_)
    assert (p.lowest.rank, p.highest.rank) == (truth["lowest"], truth["highest"])
    screen_open = any(name in open_ for name in SAFETY)
    assert set(p.flags) - {Flag.INCOMPLETE_SAFETY_SCREEN} == truth["every"]
    assert set(p.possible_flags) - {Flag.INCOMPLETE_SAFETY_SCREEN} == truth["some"]
    assert (Flag.INCOMPLETE_SAFETY_SCREEN in p.flags) == screen_open
    assert set(p.decisive) == truth["decisive"]
    assert {d.dimension: (d.lowest, d.highest) for d in p.dimensions} == truth["ratings"]
    # The safety screen leads the decisive questions.
    safety = [name in SAFETY for name in p.decisive]
    assert safety == sorted(safety, reverse=True)


@settings(max_examples=15)
@given(case=partial_intakes())
def test_each_answer_range_is_the_provisional_of_that_answer(
    case: tuple[dict[str, Any], list[str]],
) -> None:
    given_answers, _ = case
    p = provisional(given_answers)
    for question in p.questions:
        spec = field_specs()[question.field]
        if spec.kind in {"integer", "choices"}:
            continue  # their outcomes stand for bands and sets; checked by brute force above
        for value, outcome in zip(spec.answers, question.outcomes, strict=True):
            answered = provisional({**given_answers, question.field: value})
            assert (answered.lowest, answered.highest) == (outcome.lowest, outcome.highest)


def test_the_empty_intake_gets_the_full_range_with_the_safety_screen_first() -> None:
    p = provisional({})
    assert (p.lowest, p.highest) == (LevelOfCare.STANDARD_OUTPATIENT, LevelOfCare.INPATIENT)
    assert p.incomplete_safety_screen
    assert Flag.INCOMPLETE_SAFETY_SCREEN in p.flags
    assert p.decisive[:2] == ("suicide_risk", "medically_unstable")
    assert not p.complete
    assert p.unanswered == tuple(field_specs())
    assert {Flag.CRISIS, Flag.MEDICAL_INSTABILITY} <= set(p.possible_flags)


@settings(max_examples=30)
@given(values=assessment_values())
def test_a_complete_provisional_equals_recommend(values: dict[str, Any]) -> None:
    answers = complete(values)
    p = provisional(answers)
    rec = recommend(answers)
    assert p.complete
    assert p.lowest == p.highest == rec.level
    assert p.decisive == ()
    assert set(p.flags) == set(rec.flags)
    assert p.recommendation == rec
    assert [(d.lowest, d.highest) for d in p.dimensions] == [
        (d.rating, d.rating) for d in rec.dimensions
    ]


def test_leaving_an_optional_field_out_leaves_it_open_and_null_answers_it() -> None:
    base = {k: v for k, v in BASELINE.items() if k in field_specs()}
    open_p = provisional(base)
    assert "recent_overdose" in open_p.unanswered
    assert Flag.OVERDOSE_RISK in open_p.possible_flags
    answered = provisional(
        {
            **base,
            "recent_overdose": None,
            "prior_iop_failed": None,
            "recovery_residence": None,
            "withdrawal_severity": None,
        }
    )
    assert "recent_overdose" not in answered.unanswered


def test_given_answers_are_validated_as_in_assessment() -> None:
    with pytest.raises(InvalidAssessment) as caught:
        provisional(
            {"suicide_risk": "sometimes", "not_a_field": 1, "available_hours_per_week": 500}
        )
    # An unknown key is reported by its position, never echoed (it may be a name).
    assert set(caught.value.fields) == {
        "suicide_risk",
        "(unknown field #2)",
        "available_hours_per_week",
    }
    assert "sometimes" not in str(caught.value)
    assert "not_a_field" not in str(caught.value)
    with pytest.raises(InvalidAssessment):
        provisional(["suicide_risk"])  # type: ignore[arg-type]


def test_the_hours_are_exact_over_their_whole_range() -> None:
    answers = complete({k: v for k, v in BASELINE.items() if k in field_specs()})
    del answers["available_hours_per_week"]
    p = provisional(answers)
    flags = [set(recommend({**answers, "available_hours_per_week": h}).flags) for h in range(169)]
    assert set(p.possible_flags) == set.union(*flags)
    assert set(p.flags) == set.intersection(*flags)
    assert math.isclose(len(p.unanswered), 1)


def test_renderings_say_provisional_the_range_and_what_to_ask() -> None:
    p = provisional({"substance_use_severity": "severe"})
    for text in (p.to_text(), p.to_markdown(), p.to_html()):
        assert "Provisional" in text
        assert "Standard outpatient" in text or "Intensive outpatient" in text
        assert "Inpatient" in text
        assert "Ask next" in text
        assert "Suicide risk" in text
        assert "still open" in text
    assert "<script" not in p.to_html()


def test_a_complete_provisional_renders_the_recommendation() -> None:
    answers = complete({k: v for k, v in BASELINE.items() if k in field_specs()})
    p = provisional(answers)
    assert "Complete" in p.to_text()
    assert recommend(answers).level.label in p.to_text()
    assert isinstance(Provisional.model_validate(p.model_dump()), Provisional)


def test_cli_assess_provisional_prints_the_range_and_json() -> None:
    payload = json.dumps({"substance_use_severity": "severe", "suicide_risk": "none"})
    code, out, _ = run("assess", "--provisional", "-", stdin=payload)
    assert code == 0
    # Current use is open: sustained remission could make it standard outpatient.
    assert "Provisional level of care: Standard outpatient to Inpatient" in out
    assert "Ask next: Medically unstable" in out
    code, out, _ = run("assess", "--provisional", "--json", "-", stdin=payload)
    data = json.loads(out)
    assert (data["lowest"], data["highest"]) == ("standard_outpatient", "inpatient")
    assert data["decisive"][0] == "medically_unstable"
    code, out, _ = run("assess", "--provisional", "--format", "markdown", "-", stdin=payload)
    assert code == 0
    assert "Provisional" in out
    code, _, err = run("assess", "--provisional", "-", stdin=json.dumps({"suicide_risk": 3}))
    assert code == 1
    assert "suicide_risk" in err
