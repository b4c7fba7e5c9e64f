"""The adaptive intake: SDC $next-question in the library and the service.

Every population case is driven to the end through the operation, answering each question
it asks from the full case: the level it ends on must be recommend()'s on the whole case,
the safety screen must come first, and the questions asked must be fewer than the form's.
The shapes are the SDC IG's (Parameters in, the response back with a contained adaptive
Questionnaire) and are parsed with fhir.resources (R4B).
"""

from __future__ import annotations

import itertools
import re
import runpy
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.parameters import Parameters
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from starlette.testclient import TestClient

from iop_placement import InvalidAssessment, fhir, populations, provisional, recommend
from iop_placement._model.fields import field_specs
from iop_placement._model.levels import FlagKind
from iop_placement._model.provisional import SAFETY_SCREEN
from iop_placement.adaptive import (
    ADAPTIVE_EXTENSION,
    FULL_RECORD_PARAMETER,
    RESULT_LINK_ID,
    UNDECIDED_LINK_ID,
    next_question,
)
from iop_placement.service import create_app

CASES = [
    case
    for name in populations.POPULATIONS
    for case in itertools.islice(populations.population(name, 30, seed=11), 30)
]


def parameters(response: dict[str, Any], **extra: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Parameters",
        "parameter": [{"name": "questionnaire-response", "resource": response}],
    }
    for name, value in extra.items():
        body["parameter"].append({"name": name.replace("_", "-"), "valueBoolean": value})
    return body


def run(case: dict[str, Any], *, full: bool = False) -> tuple[list[str], dict[str, Any]]:
    """Drive one case through $next-question; the fields asked and the last response."""
    given = {i["linkId"]: i for i in fhir.to_questionnaire_response(case)["item"]}
    response: dict[str, Any] = {"resourceType": "QuestionnaireResponse", "status": "in-progress"}
    asked: list[str] = []
    for _ in range(len(field_specs()) + 2):
        body = parameters(response, full_record=True) if full else parameters(response)
        response = next_question(body)
        QuestionnaireResponse.model_validate(response)
        if response["status"] == "completed":
            return asked, response
        asked.append(response["contained"][0]["item"][-1]["linkId"])
        if asked[-1] in given:  # an optional question left out gets no item
            response["item"].append(given[asked[-1]])
    pytest.fail("the adaptive intake never stopped")


@pytest.mark.parametrize("case", CASES)
def test_ends_on_the_full_form_level_with_fewer_questions(case: dict[str, Any]) -> None:
    asked, response = run(case)
    level = recommend(case).level
    items = {i["linkId"]: i["text"] for i in response["contained"][0]["item"]}
    assert items[RESULT_LINK_ID] == level.label
    partial = provisional({name: case[name] for name in asked})
    undecided = set(partial.possible_flags) - set(partial.flags)
    assert all(flag.label in items.get(UNDECIDED_LINK_ID, "") for flag in undecided)
    assert (UNDECIDED_LINK_ID in items) == bool(undecided)
    # It never stops while an unasked question could still raise a safety flag: every
    # safety flag of the full form is already raised where it stops.
    assert not {flag for flag in undecided if flag.kind is FlagKind.SAFETY}
    safety = {flag for flag in recommend(case).flags if flag.kind is FlagKind.SAFETY}
    assert safety <= set(partial.flags)
    assert asked[:3] == list(SAFETY_SCREEN)
    assert len(asked) == len(set(asked)) < len(field_specs())


def test_full_record_asks_every_question_safety_first() -> None:
    case = CASES[0]
    asked, response = run(case, full=True)
    assert sorted(asked) == sorted(field_specs())
    assert asked[:3] == list(SAFETY_SCREEN)
    assert fhir.from_questionnaire_response(
        {**response, "questionnaire": fhir.QUESTIONNAIRE_URL}
    ) == fhir.from_questionnaire_response(fhir.to_questionnaire_response(case))
    items = {i["linkId"]: i["text"] for i in response["contained"][0]["item"]}
    assert items[RESULT_LINK_ID] == recommend(case).level.label
    assert UNDECIDED_LINK_ID not in items  # every question answered: every flag decided


def test_sdc_shapes() -> None:
    # The first request as DTR clients send it: the response itself, an empty contained
    # adaptive Questionnaire referenced as "#q".
    first = {
        "resourceType": "QuestionnaireResponse",
        "meta": {
            "profile": [
                "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaireresponse-adapt"
            ]
        },
        "contained": [{"resourceType": "Questionnaire", "id": "q", "status": "active"}],
        "questionnaire": "#q",
        "status": "in-progress",
        "subject": {"reference": "Patient/example"},
    }
    out = next_question(first)
    QuestionnaireResponse.model_validate(out)
    Parameters.model_validate(parameters(out))
    (questionnaire,) = out["contained"]
    assert out["questionnaire"] == "#q" == "#" + questionnaire["id"]
    assert out["subject"] == first["subject"]
    assert {"url": ADAPTIVE_EXTENSION, "valueBoolean": True} in questionnaire["extension"]
    assert questionnaire["meta"]["profile"][0].endswith("sdc-questionnaire-adapt")
    assert [i["linkId"] for i in questionnaire["item"]] == [SAFETY_SCREEN[0]]
    assert out["status"] == "in-progress"


def test_an_unanswered_required_question_is_asked_again() -> None:
    out = next_question(
        parameters({"resourceType": "QuestionnaireResponse", "status": "in-progress"})
    )
    again = next_question(parameters(out))
    assert again["contained"] == out["contained"]
    assert again["status"] == "in-progress"


def test_errors_name_the_parameter_or_the_linkid() -> None:
    with pytest.raises(InvalidAssessment) as error:
        next_question({"resourceType": "Parameters", "parameter": []})
    assert error.value.problems[0].field == "questionnaire-response"
    with pytest.raises(InvalidAssessment) as error:
        next_question({"resourceType": "Patient"})
    assert error.value.problems[0].field == "(parameters)"
    with pytest.raises(InvalidAssessment) as error:
        next_question(
            parameters({"resourceType": "QuestionnaireResponse", "status": "in-progress"})
            | {"parameter": [{"name": FULL_RECORD_PARAMETER, "valueString": "yes"}]}
        )
    assert error.value.problems[0].field == FULL_RECORD_PARAMETER
    bad = {
        "resourceType": "QuestionnaireResponse",
        "status": "in-progress",
        "item": [{"linkId": "suicide_risk", "answer": [{"valueBoolean": True}]}],
    }
    with pytest.raises(InvalidAssessment) as error:
        next_question(parameters(bad))
    assert error.value.problems[0].field == "suicide_risk"
    assert "True" not in str(error.value)


def test_service_endpoint() -> None:
    client = TestClient(create_app(insecure_no_auth=True))
    empty = {"resourceType": "QuestionnaireResponse", "status": "in-progress"}
    reply = client.post(
        "/Questionnaire/$next-question",
        json=parameters(empty),
        headers={"Content-Type": "application/fhir+json"},
    )
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("application/fhir+json")
    assert reply.json() == next_question(parameters(empty))
    refused = client.post("/Questionnaire/$next-question", json={"resourceType": "Patient"})
    assert refused.status_code == 400
    assert refused.json()["problems"][0]["field"] == "(parameters)"


def test_service_provisional_names_the_next_question() -> None:
    client = TestClient(create_app(insecure_no_auth=True))
    assert client.post("/api/provisional", json={}).json()["next"] == SAFETY_SCREEN[0]
    case = CASES[0]
    assert client.post("/api/provisional", json=case).json()["next"] is None


def test_service_endpoint_needs_a_token_when_the_service_checks_them() -> None:
    from iop_placement.service import JwtVerifier, TrustedIssuer

    verifier = JwtVerifier([TrustedIssuer("https://ehr.example.org", "http://127.0.0.1:9/jwks")])
    app = create_app(verifier=verifier, service_url="https://cds.example.org")
    reply = TestClient(app).post("/Questionnaire/$next-question", json={})
    assert reply.status_code == 401
    assert "Bearer" in reply.headers["www-authenticate"]


def test_the_docs_example_runs(tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "adaptive-intake.md").read_text(
        encoding="utf-8"
    )
    (block,) = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    module = tmp_path / "adaptive_example.py"
    module.write_text(block, encoding="utf-8")
    namespace = runpy.run_path(str(module))
    result = namespace["result"]
    assert result[RESULT_LINK_ID] == recommend(namespace["case"]).level.label
    assert len(namespace["response"]["item"]) < len(field_specs())
