"""FHIR R4: the Questionnaire validates as a resource, responses round-trip, bad answers are named.

fhir.resources (R4B, the closest release to R4 on Pydantic v2) checks the structure; it
does not check codes against their value sets, so these tests check the codes themselves.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from hypothesis import given

from iop_placement import Assessment, InvalidAssessment, LevelOfCare, fhir, recommend
from iop_placement._model.fields import field_specs
from iop_placement._model.intake import intake_order
from iop_placement.testing import assessments

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))

# Value sets of FHIR R4 that the resources below bind to (hl7.org/fhir/R4).
PUBLICATION_STATUS = {"draft", "active", "retired", "unknown"}
ITEM_TYPES = {
    "group", "display", "boolean", "decimal", "integer", "date", "dateTime", "time",
    "string", "text", "url", "choice", "open-choice", "attachment", "reference", "quantity",
}  # fmt: skip
RESPONSE_STATUS = {"in-progress", "completed", "amended", "entered-in-error", "stopped"}
ITEM_CONTROL_CODES = {"help", "flyover", "legal", "inline", "prompt", "unit", "lower", "upper"}
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"


def _example(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _problems(response: object) -> dict[str, str]:
    with pytest.raises(InvalidAssessment) as caught:
        fhir.from_questionnaire_response(response)
    return {problem.field: problem.problem for problem in caught.value.problems}


def _item(response: dict[str, Any], link_id: str) -> dict[str, Any]:
    item: dict[str, Any] = next(i for i in response["item"] if i["linkId"] == link_id)
    return item


@pytest.fixture
def response(baseline: Assessment) -> dict[str, Any]:
    return fhir.to_questionnaire_response({**baseline.values(), "obligations": ["work"]})


class TestQuestionnaire:
    questionnaire = fhir.to_questionnaire()

    def test_validates_as_a_fhir_resource(self) -> None:
        parsed = Questionnaire.model_validate(self.questionnaire)
        assert parsed.url == fhir.QUESTIONNAIRE_URL
        assert json.loads(parsed.model_dump_json())["item"] == self.questionnaire["item"]

    def test_codes_are_from_their_value_sets(self) -> None:
        assert self.questionnaire["status"] in PUBLICATION_STATUS
        for item in self.questionnaire["item"]:
            assert item["type"] in ITEM_TYPES
            for child in item.get("item", []):
                assert child["type"] == "display"
                for extension in child["extension"]:
                    for coding in extension["valueCodeableConcept"]["coding"]:
                        assert coding["code"] in ITEM_CONTROL_CODES

    def test_one_item_per_field_in_intake_order(self) -> None:
        link_ids = [item["linkId"] for item in self.questionnaire["item"]]
        assert link_ids == list(intake_order())
        nested = [c["linkId"] for i in self.questionnaire["item"] for c in i.get("item", [])]
        assert len(set(link_ids + nested)) == len(link_ids) + len(nested)

    def test_items_carry_titles_descriptions_and_kinds(self) -> None:
        specs = field_specs()
        for item in self.questionnaire["item"]:
            name = item["linkId"]
            spec = specs[name]
            info = Assessment.model_fields[name]
            assert item["text"] == info.title
            assert item["item"][0]["text"] == info.description
            expected_type = {"choice": "choice", "choices": "choice"}.get(spec.kind, spec.kind)
            assert item["type"] == expected_type
            assert item["required"] is (name != "obligations" and not spec.optional)
            assert item.get("repeats", False) is (name == "obligations")

    def test_choices_are_codings_of_the_project_code_systems(self) -> None:
        for item in self.questionnaire["item"]:
            spec = field_specs()[item["linkId"]]
            if item["type"] != "choice":
                assert "answerOption" not in item
                continue
            assert spec.enum is not None
            codings = [option["valueCoding"] for option in item["answerOption"]]
            assert codings == [
                {"system": fhir.code_system(spec.name), "code": m.value, "display": m.label}
                for m in spec.enum
            ]
            assert codings[0]["system"].startswith(fhir.CANONICAL_BASE + "/CodeSystem/")

    def test_integer_has_min_and_max_extensions(self) -> None:
        item = _item(self.questionnaire, "available_hours_per_week")
        assert item["type"] == "integer"
        assert item["extension"] == [
            {"url": MIN_VALUE, "valueInteger": 0},
            {"url": MAX_VALUE, "valueInteger": 168},
        ]

    def test_each_call_returns_a_new_resource(self) -> None:
        mine = fhir.to_questionnaire()
        mine["item"].clear()
        assert fhir.to_questionnaire() == self.questionnaire


def _check_response_codes(response: dict[str, Any]) -> None:
    """What fhir.resources does not check: codes, linkIds, answer types, required items."""
    questionnaire = {item["linkId"]: item for item in fhir.to_questionnaire()["item"]}
    assert response["status"] in RESPONSE_STATUS
    assert response["questionnaire"].split("|")[0] == fhir.QUESTIONNAIRE_URL
    answered = set()
    for item in response["item"]:
        question = questionnaire[item["linkId"]]
        answered.add(item["linkId"])
        assert len(item["answer"]) == 1 or question.get("repeats")
        for answer in item["answer"]:
            if question["type"] == "choice":
                options = [option["valueCoding"] for option in question["answerOption"]]
                assert answer["valueCoding"] in options
            else:
                assert set(answer) == {f"value{question['type'].capitalize()}"}
    assert {name for name, q in questionnaire.items() if q["required"]} <= answered


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_each_example_round_trips_to_the_same_recommendation(path: Path) -> None:
    example = _example(path)
    response = fhir.to_questionnaire_response(example, subject="Patient/example")
    QuestionnaireResponse.model_validate(response)
    _check_response_codes(response)
    assessment = fhir.from_questionnaire_response(response)
    assert assessment == Assessment.model_validate(example)
    assert recommend(assessment).model_dump() == recommend(example).model_dump()


def test_examples_cover_every_level() -> None:
    levels = {recommend(_example(path)).level for path in EXAMPLE_FILES}
    assert levels == set(LevelOfCare)


@given(assessments())
def test_every_assessment_round_trips(assessment: Assessment) -> None:
    response = fhir.to_questionnaire_response(assessment)
    _check_response_codes(response)
    assert fhir.from_questionnaire_response(response) == assessment


def test_a_response_dumped_by_fhir_resources_is_read(response: dict[str, Any]) -> None:
    dumped = json.loads(QuestionnaireResponse.model_validate(response).model_dump_json())
    assert fhir.from_questionnaire_response(dumped) == fhir.from_questionnaire_response(response)


def test_no_obligations_item_means_none(response: dict[str, Any]) -> None:
    response["item"] = [i for i in response["item"] if i["linkId"] != "obligations"]
    assessment = fhir.from_questionnaire_response(response)
    assert assessment.obligations == ()
    again = fhir.to_questionnaire_response(assessment)
    assert "obligations" not in [item["linkId"] for item in again["item"]]


def test_subject_and_authored_are_carried(baseline: Assessment) -> None:
    response = fhir.to_questionnaire_response(
        baseline, subject="Patient/7", authored="2026-11-02T10:00:00Z"
    )
    assert response["subject"] == {"reference": "Patient/7"}
    assert response["authored"] == "2026-11-02T10:00:00Z"
    QuestionnaireResponse.model_validate(response)


class TestBadResponses:
    def test_a_missing_required_answer_names_its_link_id(self, response: dict[str, Any]) -> None:
        response["item"] = [i for i in response["item"] if i["linkId"] != "detox_status"]
        assert _problems(response) == {"detox_status": "is required"}

    def test_an_item_without_answers(self, response: dict[str, Any]) -> None:
        _item(response, "medically_unstable")["answer"] = []
        assert _problems(response) == {"medically_unstable": "has no answer"}

    def test_every_problem_is_named_at_once(self, response: dict[str, Any]) -> None:
        _item(response, "substance_use_severity")["answer"][0]["valueCoding"]["code"] = "extreme"
        _item(response, "suicide_risk")["answer"][0]["valueCoding"]["system"] = "http://loinc.org"
        _item(response, "motivation")["answer"].append(
            copy.deepcopy(_item(response, "motivation")["answer"][0])
        )
        _item(response, "medically_unstable")["answer"] = [{"valueString": "no"}]
        _item(response, "available_hours_per_week")["answer"] = [{"valueInteger": 200}]
        _item(response, "obligations")["answer"] = [{"valueCoding": {"code": "work"}}]
        _item(response, "inpatient_accessible")["answer"] = [{"valueBoolean": "true"}]
        response["item"] = [i for i in response["item"] if i["linkId"] != "home_environment"]
        problems = _problems(response)
        assert problems == {
            "substance_use_severity": "is not one of the allowed values",
            "medically_unstable": "must be answered with valueBoolean",
            "suicide_risk": "has a coding from another code system",
            "motivation": "has more than one answer",
            "home_environment": "is required",
            "obligations": "has a coding from another code system",
            "available_hours_per_week": "is out of range",
            "inpatient_accessible": "has the wrong type of value",
        }
        with pytest.raises(InvalidAssessment) as caught:
            fhir.from_questionnaire_response(response)
        order = list(intake_order())
        fields = [problem.field for problem in caught.value.problems]
        assert fields == sorted(fields, key=order.index)

    def test_a_number_is_not_a_boolean(self, response: dict[str, Any]) -> None:
        _item(response, "prior_outpatient_failed")["answer"] = [{"valueBoolean": 1}]
        _item(response, "available_hours_per_week")["answer"] = [{"valueInteger": True}]
        assert set(_problems(response)) == {"prior_outpatient_failed", "available_hours_per_week"}

    def test_wrong_answer_shapes(self, response: dict[str, Any]) -> None:
        _item(response, "detox_status")["answer"] = {"valueCoding": {}}
        _item(response, "motivation")["answer"] = ["high"]
        _item(response, "support_system")["answer"] = [{"valueCoding": "strong"}]
        _item(response, "relapse_history")["answer"] = [{"valueCoding": {"system": None}}]
        _item(response, "home_environment")["answer"] = [{}]
        assert _problems(response) == {
            "detox_status": "has answers that are not a list",
            "motivation": "has an answer that is not an object",
            "support_system": "has a valueCoding that is not an object",
            "relapse_history": "has a coding from another code system",
            "home_environment": "must be answered with valueCoding",
        }

    def test_an_unknown_obligation_names_the_link_id_and_answer(
        self, response: dict[str, Any]
    ) -> None:
        coding = _item(response, "obligations")["answer"][0]["valueCoding"]
        _item(response, "obligations")["answer"].append({"valueCoding": {**coding, "code": "golf"}})
        response["item"] = [i for i in response["item"] if i["linkId"] != "suicide_risk"]
        with pytest.raises(InvalidAssessment) as caught:
            fhir.from_questionnaire_response(response)
        assert [p.field for p in caught.value.problems] == ["suicide_risk", "obligations[1]"]

    def test_a_repeated_item(self, response: dict[str, Any]) -> None:
        response["item"].append(copy.deepcopy(_item(response, "support_system")))
        assert _problems(response) == {"support_system": "is answered twice"}

    def test_unknown_items_are_named_only_when_name_like(self, response: dict[str, Any]) -> None:
        secret = "Jane Doe, 12 Elm Street"
        response["item"] += [
            {"linkId": "substance_use_severty", "answer": []},
            {"linkId": secret, "answer": [{"valueString": secret}]},
            {"answer": []},
        ]
        with pytest.raises(InvalidAssessment) as caught:
            fhir.from_questionnaire_response(response)
        fields = [problem.field for problem in caught.value.problems]
        assert fields[0] == "substance_use_severty"
        assert len(fields) == 3
        assert secret not in str(caught.value)
        assert "Jane" not in repr(caught.value.problems)

    def test_values_are_never_echoed(self, response: dict[str, Any]) -> None:
        secret = "patient-secret-42"
        _item(response, "detox_status")["answer"][0]["valueCoding"]["code"] = secret
        _item(response, "motivation")["answer"] = [{"valueString": secret}]
        _item(response, "suicide_risk")["answer"][0]["valueCoding"]["system"] = secret
        with pytest.raises(InvalidAssessment) as caught:
            fhir.from_questionnaire_response(response)
        assert len(caught.value.problems) == 3
        assert secret not in str(caught.value)

    @pytest.mark.parametrize(
        "document",
        [None, [], "QuestionnaireResponse", {"resourceType": "Patient"}, {"item": "x"}],
    )
    def test_not_a_response(self, document: object) -> None:
        assert "(questionnaire response)" in _problems(document)

    def test_a_response_to_another_questionnaire(self, response: dict[str, Any]) -> None:
        response["questionnaire"] = "http://example.org/Questionnaire/phq-9|1"
        assert _problems(response) == {"(questionnaire response)": "answers another questionnaire"}

    def test_errors_are_value_errors(self, response: dict[str, Any]) -> None:
        response["item"] = []
        with pytest.raises(ValueError, match="16 problems"):
            fhir.from_questionnaire_response(response)
