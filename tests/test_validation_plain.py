"""parse_assessment's fast path for plain dicts gives what its careful reading gives.

A plain dict of scalars and lists is validated as it is; any other mapping is read
within bounds first. A read-only view of the same dict takes the careful reading, so the
two must agree on every input: the assessment, or the same problems in the same order.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest

from helpers import BASELINE
from iop_placement import Assessment, InvalidAssessment
from iop_placement._model.validation import (
    MAX_FIELDS,
    MAX_ITEMS,
    parse_assessment,
    parse_partial,
)
from iop_placement.populations import population

LONG = ["work"] * (MAX_ITEMS + 1)


def _outcome(data: Any) -> Any:
    try:
        return ("read", parse_assessment(data))
    except InvalidAssessment as error:
        return ("refused", error.problems)


CASES: dict[str, dict[Any, Any]] = {
    "the baseline": dict(BASELINE),
    "a long list answer": {**BASELINE, "obligations": LONG},
    "a list of the bound": {**BASELINE, "obligations": ["work"] * MAX_ITEMS},
    "a long tuple answer": {**BASELINE, "obligations": tuple(LONG)},
    "a long list for a choice": {**BASELINE, "motivation": LONG},
    "a long list for a true/false": {**BASELINE, "recent_overdose": LONG},
    "a long list under an unknown key": {**BASELINE, "Jane Doe": LONG},
    "a short list under an unknown key": {**BASELINE, "notes": ["x"]},
    "a bad code": {**BASELINE, "motivation": "unknown"},
    "a field left out": {k: v for k, v in BASELINE.items() if k != "motivation"},
    "a dict answer": {**BASELINE, "motivation": {"code": "high"}},
    "too many keys": {**BASELINE, **{f"k{i}": 1 for i in range(MAX_FIELDS)}},
    "a key that is no string": {**BASELINE, 7: "high"},
}


@pytest.mark.parametrize("data", CASES.values(), ids=CASES.keys())
def test_a_plain_dict_reads_as_a_mapping_view_of_it_reads(data: dict[Any, Any]) -> None:
    assert _outcome(data) == _outcome(MappingProxyType(data))


def test_long_lists_are_refused_as_too_long_wherever_they_are() -> None:
    for name in (
        "a long list answer",
        "a long list for a choice",
        "a long list under an unknown key",
    ):
        outcome = _outcome(CASES[name])
        assert outcome[0] == "refused"
        assert [p.problem for p in outcome[1]] == ["has too many items"]


def test_population_intakes_read_as_validation_reads_them() -> None:
    for intake in population("community_intake", 200, seed=26):
        assert parse_assessment(intake) == Assessment.model_validate(intake)
        assert _outcome(intake) == _outcome(MappingProxyType(intake))


def test_an_assessment_is_validated_again() -> None:
    valid = Assessment.model_validate(BASELINE)
    forged = valid.model_copy(update={"available_hours_per_week": -5})
    with pytest.raises(InvalidAssessment) as caught:
        parse_assessment(forged)
    assert caught.value.fields == ("available_hours_per_week",)
    assert parse_assessment(valid) == valid


def test_an_assessment_is_read_within_bounds_and_whole() -> None:
    valid = Assessment.model_validate(BASELINE)
    long = valid.model_copy(update={"obligations": ("work",) * (MAX_ITEMS + 1)})
    with pytest.raises(InvalidAssessment) as caught:
        parse_assessment(long)
    assert [p.problem for p in caught.value.problems] == ["has too many items"]
    fields = {name: getattr(valid, name) for name in Assessment.model_fields}
    del fields["suicide_risk"]
    with pytest.raises(InvalidAssessment):
        parse_assessment(Assessment.model_construct(**fields))
    for intake in population("community_intake", 200, seed=27):
        model = Assessment.model_validate(intake)
        assert parse_assessment(model) == model


def test_a_partial_intake_given_as_an_assessment_is_validated_again() -> None:
    forged = Assessment.model_validate(BASELINE).model_copy(update={"motivation": "eager"})
    with pytest.raises(InvalidAssessment) as caught:
        parse_partial(forged)
    assert caught.value.fields == ("motivation",)
    valid = Assessment.model_validate(BASELINE)
    assert parse_partial(valid) == valid.values()
