"""A QuestionnaireResponse read on the fast walk gives exactly what the careful reading gives.

``fhir._response`` reads plain JSON (dicts and lists, each answer only its value) in one
walk over a table made once from the Questionnaire, and leaves anything else to the
careful reading that names every problem. These tests read the same responses both ways
(a read-only mapping view forces the careful path) and compare the assessments, the
partial answers and the errors, on population intakes and on responses spoilt one way at
a time.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import pytest

from iop_placement import InvalidAssessment, fhir
from iop_placement._model.fields import field_specs
from iop_placement.fhir import _response
from iop_placement.populations import population

Spoil = Callable[[dict[str, Any]], None]


def _careful(node: Any) -> Any:
    """The same JSON with every object as a read-only mapping: not a dict, so read carefully."""
    if isinstance(node, dict):
        return MappingProxyType({key: _careful(value) for key, value in node.items()})
    if isinstance(node, list):
        return [_careful(item) for item in node]
    return node


def _outcome(read: Callable[[Any], Any], response: Any) -> Any:
    try:
        return ("read", read(response))
    except InvalidAssessment as error:
        return ("refused", type(error), error.problems)


def _responses(count: int) -> list[dict[str, Any]]:
    return [
        fhir.to_questionnaire_response(answers, subject=f"Patient/p{i}")
        for i, answers in enumerate(population("community_intake", count, seed=26))
    ]


def _item(response: dict[str, Any], kind: str) -> dict[str, Any]:
    specs = field_specs()
    return next(i for i in response["item"] if specs[i["linkId"]].kind == kind)


SPOILS: dict[str, Spoil] = {
    "an item dropped": lambda r: r["item"].pop(0),
    "an item repeated": lambda r: r["item"].append(copy.deepcopy(r["item"][0])),
    "an unknown linkId": lambda r: r["item"][0].update(linkId="not_a_question"),
    "a linkId that is no string": lambda r: r["item"][0].update(linkId=["a"]),
    "an item without answers": lambda r: r["item"][0].pop("answer"),
    "answers not a list": lambda r: r["item"][0].update(answer={"valueBoolean": True}),
    "an item that is no object": lambda r: r["item"].insert(0, "free text"),
    "an answer with an extension": lambda r: r["item"][0]["answer"][0].update(extension=[]),
    "an answer of another type": lambda r: _item(r, "boolean")["answer"].__setitem__(
        0, {"valueInteger": 1}
    ),
    "a boolean given as a string": lambda r: _item(r, "boolean")["answer"].__setitem__(
        0, {"valueBoolean": "yes"}
    ),
    "an integer out of range": lambda r: _item(r, "integer")["answer"].__setitem__(
        0, {"valueInteger": 10_000}
    ),
    "two answers to one question": lambda r: _item(r, "choice")["answer"].append(
        copy.deepcopy(_item(r, "choice")["answer"][0])
    ),
    "no answer to a question": lambda r: _item(r, "choice").update(answer=[]),
    "a coding from another system": lambda r: _item(r, "choice")["answer"][0]["valueCoding"].update(
        system="http://example.org/other"
    ),
    "a coding without a code": lambda r: _item(r, "choice")["answer"][0]["valueCoding"].pop("code"),
    "a code that is not allowed": lambda r: _item(r, "choice")["answer"][0]["valueCoding"].update(
        code="not-a-code"
    ),
    "a coding that is no object": lambda r: _item(r, "choice")["answer"].__setitem__(
        0, {"valueCoding": "x"}
    ),
    "a value key and another": lambda r: _item(r, "boolean")["answer"].__setitem__(
        0, {"valueBoolean": True, "valueString": "x"}
    ),
}


@pytest.mark.parametrize("read", [fhir.from_questionnaire_response, fhir.partial_answers])
def test_population_responses_read_the_same_both_ways(read: Callable[[Any], Any]) -> None:
    for response in _responses(60):
        plain = _outcome(read, response)
        assert plain[0] == "read"
        assert plain == _outcome(read, _careful(response))


def test_population_responses_take_the_fast_walk() -> None:
    for response in _responses(20):
        values = _response._plain_values(response["item"], fhir.CANONICAL_BASE)
        assert values is not None
        careful: list[Any] = []
        assert (values, set()) == _response._read_items(
            _careful(response)["item"], careful, fhir.CANONICAL_BASE
        )
        assert careful == []


@pytest.mark.parametrize("spoil", SPOILS.values(), ids=SPOILS.keys())
@pytest.mark.parametrize("read", [fhir.from_questionnaire_response, fhir.partial_answers])
def test_spoilt_responses_read_the_same_both_ways(spoil: Spoil, read: Callable[[Any], Any]) -> None:
    for response in _responses(8):
        spoil(response)
        assert _outcome(read, response) == _outcome(read, _careful(response))
