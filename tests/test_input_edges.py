"""Every entry point reads hostile input into InvalidAssessment, within bounds, safely."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from pydantic import ValidationError

from helpers import BASELINE, assessment, needs_durable
from iop_placement import (
    Assessment,
    InvalidAssessment,
    PlacementEngine,
    Recommendation,
    explain,
    recommend,
)
from iop_placement._model.validation import MAX_FIELDS, MAX_ITEMS
from iop_placement._rules.bundled import bundled_rules
from iop_placement.batch import recommend_many


class RaisesOnAttributes:
    def __getattribute__(self, name: str) -> Any:
        raise RuntimeError(name)


class RaisesOnItems(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise RuntimeError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(BASELINE)

    def __len__(self) -> int:
        return len(BASELINE)


class RaisesOnIteration(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        return BASELINE[key]

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError

    def __len__(self) -> int:
        return len(BASELINE)


class EndlessMapping(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        return 1

    def __iter__(self) -> Iterator[str]:
        return (f"k{n}" for n in itertools.count())

    def __len__(self) -> int:
        return 10**9


# Built per test (a module-level instance would trip pytest plugins that inspect globals).
HOSTILE: dict[str, Callable[[], Any]] = {
    "attribute access raises": RaisesOnAttributes,
    "getitem raises": RaisesOnItems,
    "iteration raises": RaisesOnIteration,
    "endless mapping": EndlessMapping,
    "endless list answer": lambda: {**BASELINE, "obligations": itertools.repeat("work")},
    "hostile list answer": lambda: {**BASELINE, "obligations": RaisesOnAttributes()},
}


@pytest.mark.parametrize("make", HOSTILE.values(), ids=HOSTILE.keys())
def test_every_entry_point_raises_invalid_assessment(
    make: Callable[[], Any], engine: PlacementEngine
) -> None:
    data = make()
    for call in (recommend, explain, engine.recommend, engine.explain):
        with pytest.raises(InvalidAssessment):
            call(data)
    [result] = list(recommend_many([data]))
    assert isinstance(result, InvalidAssessment)


def test_batch_on_processes_turns_unpicklable_input_into_invalid_assessment() -> None:
    data: list[Any] = [BASELINE, RaisesOnAttributes(), BASELINE]
    results = list(recommend_many(data, workers=2))
    assert [type(r) for r in results] == [Recommendation, InvalidAssessment, Recommendation]


def test_an_endless_iterator_is_read_only_up_to_the_bound() -> None:
    drawn = itertools.count()
    endless = ("work" for _ in drawn)
    with pytest.raises(InvalidAssessment) as caught:
        recommend({**BASELINE, "obligations": endless})
    assert next(drawn) == MAX_ITEMS + 1
    assert caught.value.fields == ("obligations",)
    assert "too many items" in str(caught.value)


def test_a_bounded_iterator_is_still_an_answer() -> None:
    assert recommend({**BASELINE, "obligations": iter(["work"])}) == recommend(
        {**BASELINE, "obligations": ["work"]}
    )


def test_too_many_keys_are_refused_unread() -> None:
    with pytest.raises(InvalidAssessment, match="too many fields"):
        recommend({**BASELINE, **{f"k{n}": 0 for n in range(MAX_FIELDS)}})


@pytest.mark.parametrize(
    "update",
    [
        {"suicide_risk": "IMMINENT"},
        {"available_hours_per_week": "4"},
        {"available_hours_per_week": 4.5},
        {"medically_unstable": 1},
        {"obligations": ("work", "nothing")},
    ],
    ids=str,
)
@pytest.mark.parametrize("backend", [pytest.param("durable", marks=needs_durable), "compiled"])
def test_an_unvalidated_copy_is_validated_again(update: dict[str, Any], backend: Any) -> None:
    engine = PlacementEngine.from_directory(bundled_rules(), backend=backend)
    copy = Assessment.model_validate(BASELINE).model_copy(update=update)
    with pytest.raises(InvalidAssessment) as caught:
        engine.recommend(copy)
    assert [field.split("[")[0] for field in caught.value.fields] == list(update)


def test_a_valid_copy_gets_what_the_same_answers_get(engine: PlacementEngine) -> None:
    copy = Assessment.model_validate(BASELINE).model_copy(update={"suicide_risk": "imminent"})
    assert engine.recommend(copy) == engine.recommend(assessment(suicide_risk="imminent"))


@pytest.mark.parametrize("key", ["SECRETPHI_Jane", "Jane Doe", "x" * 10])
def test_unknown_keys_are_reported_by_position_never_echoed(key: str) -> None:
    data = {**BASELINE, key: "SECRETVALUE"}
    with pytest.raises(InvalidAssessment) as caught:
        recommend(data)
    text = str(caught.value)
    assert key not in text
    assert "SECRETVALUE" not in text
    assert caught.value.fields == (f"(unknown field #{len(BASELINE) + 1})",)


def test_recommendation_validation_errors_hold_no_submitted_values() -> None:
    dumped = recommend(BASELINE).model_dump(mode="json")
    dumped["level"] = "SECRETPHI_level"
    dumped["reasons"][0]["title"] = ["SECRETPHI_title"]
    with pytest.raises(ValidationError) as caught:
        Recommendation.model_validate(dumped)
    assert "SECRETPHI" not in str(caught.value)
    assert "SECRETPHI" not in json.dumps(caught.value.errors(include_input=False))


def test_the_testing_module_imports_in_a_fresh_interpreter() -> None:
    code = (
        "from iop_placement.testing import assessments\n"
        "from hypothesis import strategies as st\n"
        "from iop_placement import Assessment\n"
        "assert isinstance(st.from_type(Assessment).example(), Assessment)\n"
        "assert isinstance(assessments().example(), Assessment)\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
