"""Whatever a form sends: a valid recommendation, or InvalidAssessment naming every bad field."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import BASELINE, assessment
from iop_placement import Assessment, InvalidAssessment, Recommendation, parse_assessment, recommend

SECRET = "Jane Doe, DOB 1980-01-01, HIV+"  # free text that must never reach an error


def problems_of(data: object) -> dict[str, str]:
    with pytest.raises(InvalidAssessment) as caught:
        recommend(data)  # type: ignore[arg-type]
    error = caught.value
    assert SECRET not in str(error)
    assert SECRET not in repr(error.problems)
    return {problem.field: str(problem) for problem in error.problems}


def test_invalid_assessment_is_a_value_error() -> None:
    assert issubclass(InvalidAssessment, ValueError)


@pytest.mark.parametrize(
    "data",
    [None, [], "a string", 42, 1.5, b"bytes", [BASELINE], {"mild"}],
)
def test_not_a_mapping(data: object) -> None:
    problems = problems_of(data)
    assert list(problems) == ["(assessment)"]
    assert "object" in problems["(assessment)"]


def test_every_missing_field_is_listed() -> None:
    problems = problems_of({})
    assert set(problems) == set(BASELINE)
    assert all("is required" in text for text in problems.values())


def test_each_missing_field_alone() -> None:
    for name in BASELINE:
        data = {k: v for k, v in BASELINE.items() if k != name}
        assert list(problems_of(data)) == [name]


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("available_hours_per_week", "12", "whole number from 0 to 168"),
        ("available_hours_per_week", 12.0, "whole number from 0 to 168"),
        ("available_hours_per_week", 12.5, "whole number from 0 to 168"),
        ("available_hours_per_week", True, "whole number from 0 to 168"),
        ("available_hours_per_week", math.nan, "whole number from 0 to 168"),
        ("available_hours_per_week", math.inf, "whole number from 0 to 168"),
        ("available_hours_per_week", -1, "whole number from 0 to 168"),
        ("available_hours_per_week", 169, "whole number from 0 to 168"),
        ("available_hours_per_week", 10**30, "whole number from 0 to 168"),
        ("available_hours_per_week", None, "whole number from 0 to 168"),
        ("medically_unstable", "true", "true or false"),
        ("medically_unstable", 1, "true or false"),
        ("medically_unstable", 0, "true or false"),
        ("medically_unstable", None, "true or false"),
        ("substance_use_severity", "MODERATE", "'mild', 'moderate', 'severe'"),
        ("substance_use_severity", SECRET, "'mild', 'moderate', 'severe'"),
        ("substance_use_severity", 2, "'mild', 'moderate', 'severe'"),
        ("substance_use_severity", None, "'mild', 'moderate', 'severe'"),
        ("substance_use_severity", ["mild"], "'mild', 'moderate', 'severe'"),
        ("substance_use_severity", {"value": "mild"}, "'mild', 'moderate', 'severe'"),
        ("obligations", "work", "list of zero or more of"),
        ("obligations", None, "list of zero or more of"),
        ("obligations", {"work": True}, "list of zero or more of"),
    ],
)
def test_wrong_values_name_the_field_and_what_is_allowed(
    field: str, value: object, allowed: str
) -> None:
    problems = problems_of(assessment(**{field: value}))
    assert list(problems) == [field]
    assert allowed in problems[field]


@pytest.mark.parametrize("item", ["gym", SECRET, 1, None])
def test_bad_obligation_items(item: object) -> None:
    problems = problems_of(assessment(obligations=["work", item]))
    assert list(problems) == ["obligations[1]"]


def test_unknown_fields_are_rejected_and_reported_by_position() -> None:
    # Even a name-like key is not echoed: it could be a name (SECRETPHI_Jane).
    problems = problems_of({**BASELINE, "substance_use_severty": "mild"})
    assert list(problems) == [f"(unknown field #{len(BASELINE) + 1})"]
    assert "not a field" in problems[f"(unknown field #{len(BASELINE) + 1})"]


def test_unknown_free_text_keys_are_not_echoed() -> None:
    data: dict[object, object] = {SECRET: "x", 7: "y"}
    data.update(BASELINE.items())
    problems = problems_of(data)
    assert len(problems) == 1 or all(name.startswith("(") for name in problems)
    assert all(SECRET not in text for text in problems.values())


def test_many_problems_are_all_listed_at_once() -> None:
    data = assessment(substance_use_severity="x", motivation=None, available_hours_per_week=-5)
    del data["detox_status"]
    data["extra_field"] = 1
    assert set(problems_of(data)) == {
        "substance_use_severity",
        "motivation",
        "available_hours_per_week",
        "detox_status",
        f"(unknown field #{len(data)})",
    }


def test_huge_string_is_rejected_without_echo() -> None:
    huge = SECRET * 400_000  # about 12 MB
    with pytest.raises(InvalidAssessment) as caught:
        recommend(assessment(home_environment=huge))
    assert len(str(caught.value)) < 1000


def test_deeply_nested_value_is_rejected() -> None:
    nested: Any = []
    for _ in range(100_000):
        nested = [nested]
    assert list(problems_of(assessment(obligations=nested))) != []


def test_obligations_repeat_and_order_do_not_matter() -> None:
    a = Assessment.model_validate(assessment(obligations=["school", "work", "school"]))
    b = Assessment.model_validate(assessment(obligations=["work", "school"]))
    assert a == b
    assert a.values()["obligations"] == ["work", "school"]


def test_assessment_is_frozen() -> None:
    a = Assessment.model_validate(BASELINE)
    with pytest.raises(ValueError, match="frozen"):
        a.motivation = "low"  # type: ignore[misc, assignment]


def test_parse_assessment_validates_assessments_again_and_keeps_them_equal() -> None:
    a = Assessment.model_validate(BASELINE)
    assert parse_assessment(a) == a


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


@given(st.dictionaries(st.sampled_from([*BASELINE, "other", SECRET]), json_values))
def test_arbitrary_field_values_never_escape_as_other_errors(changes: dict[str, Any]) -> None:
    outcome: object
    try:
        outcome = recommend({**BASELINE, **changes})
    except InvalidAssessment as error:
        outcome = error
    if isinstance(outcome, InvalidAssessment):
        assert SECRET not in str(outcome)
        assert outcome.problems
    else:
        assert isinstance(outcome, Recommendation)


@given(json_values)
def test_arbitrary_documents_never_escape_as_other_errors(data: Any) -> None:
    with pytest.raises(InvalidAssessment):
        recommend(data)
