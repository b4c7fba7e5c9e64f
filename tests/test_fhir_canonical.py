"""A configurable canonical base, and the CodeSystems of every code system referenced.

fhir.resources (R4B) checks the CodeSystems' structure; the tests check what it does not:
that every system the Questionnaire and the cards use has exactly one CodeSystem whose
concepts are the codes and labels offered.
"""

from __future__ import annotations

import json
import re
import runpy
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from helpers import BASELINE, run
from iop_placement import InvalidAssessment, LevelOfCare, OverrideReason, fhir, recommend
from iop_placement._model.levels import Dimension
from iop_placement.cds_hooks._card import OVERRIDE_REASON_SYSTEM

BASE = "https://fhir.acme-health.test/r4/iop"
DEFAULT_URL = "https://iop-placement.example.org/fhir/Questionnaire/iop-placement-intake"


def codings(questionnaire: dict[str, Any]) -> list[dict[str, str]]:
    return [
        option["valueCoding"]
        for item in questionnaire["item"]
        for option in item.get("answerOption", [])
    ]


def test_the_default_base_is_unchanged() -> None:
    assert fhir.QUESTIONNAIRE_URL == DEFAULT_URL
    assert fhir.to_questionnaire()["url"] == DEFAULT_URL
    assert fhir.questionnaire_url() == DEFAULT_URL
    assert fhir.code_system("detox_status") == (
        "https://iop-placement.example.org/fhir/CodeSystem/detox-status"
    )


def test_a_base_of_your_own_reaches_every_url_and_reads_back() -> None:
    questionnaire = fhir.to_questionnaire(base=BASE)
    Questionnaire.model_validate(questionnaire)
    assert questionnaire["url"] == f"{BASE}/Questionnaire/iop-placement-intake"
    systems = {coding["system"] for coding in codings(questionnaire)}
    assert systems
    assert all(system.startswith(f"{BASE}/CodeSystem/") for system in systems)
    assert "example.org" not in json.dumps(questionnaire)

    response = fhir.to_questionnaire_response(BASELINE, base=BASE)
    QuestionnaireResponse.model_validate(response)
    assert response["questionnaire"].startswith(f"{BASE}/Questionnaire/")
    assessment = fhir.from_questionnaire_response(response, base=BASE)
    assert recommend(assessment) == recommend(BASELINE)
    assert fhir.partial_answers(response, base=BASE) == assessment.model_dump(mode="json")


def test_a_response_under_another_base_is_refused() -> None:
    response = fhir.to_questionnaire_response(BASELINE, base=BASE)
    with pytest.raises(InvalidAssessment) as caught:
        fhir.from_questionnaire_response(response)  # the default base
    message = str(caught.value)
    assert "answers another questionnaire" in message
    assert "coding from another code system" in message
    assert DEFAULT_URL in message  # what is allowed, never what was given
    assert BASE not in message


@pytest.mark.parametrize(
    ("base", "problem"),
    [
        ("fhir.acme.test/iop", "is not an absolute http or https URL"),
        ("ftp://fhir.acme.test/iop", "is not an absolute http or https URL"),
        ("https:///iop", "is not an absolute http or https URL"),
        ("https://fhir.acme.test/iop/", "ends with a slash"),
        ("https://fhir.acme.test/iop?x=1", "has a query or a fragment"),
        ("https://fhir.acme.test/iop#top", "has a query or a fragment"),
        ("https://fhir.acme.test/i op", "white space or control characters"),
    ],
)
def test_a_base_that_cannot_prefix_urls_is_refused(base: str, problem: str) -> None:
    for make in (
        lambda: fhir.to_questionnaire(base=base),
        lambda: fhir.to_questionnaire_response(BASELINE, base=base),
        lambda: fhir.to_code_systems(base=base),
        lambda: fhir.code_system("detox_status", base),
    ):
        with pytest.raises(fhir.CanonicalBaseError, match=problem) as caught:
            make()
        assert isinstance(caught.value, ValueError)
        assert "must be an absolute http or https URL" in str(caught.value)


@pytest.mark.parametrize("base", [fhir.CANONICAL_BASE, BASE])
def test_every_code_system_referenced_has_a_valid_code_system(base: str) -> None:
    resources = fhir.to_code_systems(base=base)
    by_url = {resource["url"]: resource for resource in resources}
    assert len(by_url) == len(resources) == len(fhir.code_system_names())
    for resource in resources:
        CodeSystem.model_validate(resource)
        listed = [concept["code"] for concept in resource["concept"]]
        assert resource["count"] == len(listed) == len(set(listed))
        assert resource["content"] == "complete"
        assert resource["url"] == f"{base}/CodeSystem/{resource['id']}"
    # Every coding the Questionnaire offers is a concept of its system, with its display.
    offered: dict[str, dict[str, str]] = {}
    for coding in codings(fhir.to_questionnaire(base=base)):
        offered.setdefault(coding["system"], {})[coding["code"]] = coding["display"]
    for system, codes in offered.items():
        concepts = {c["code"]: c["display"] for c in by_url[system]["concept"]}
        assert concepts == codes, system
    # ... and the others are the cards' override reasons and the two vocabularies of
    # fhir.to_result: the levels of care and the ASAM dimensions.
    extra = set(by_url) - set(offered)
    if base == fhir.CANONICAL_BASE:
        assert extra == {
            OVERRIDE_REASON_SYSTEM,
            fhir.code_system("level_of_care"),
            fhir.code_system("asam_dimension"),
        }
    for name, enum in (("level_of_care", LevelOfCare), ("asam_dimension", Dimension)):
        concepts = by_url[fhir.code_system(name, base)]["concept"]
        assert {c["code"]: c["display"] for c in concepts} == {m.value: m.label for m in enum}
    override = by_url[fhir.code_system("override_reason", base)]
    assert [c["code"] for c in override["concept"]] == list(OverrideReason.values())
    assert all(c["definition"] for c in override["concept"])


def test_an_unknown_vocabulary_is_named_with_the_known_ones() -> None:
    with pytest.raises(KeyError, match="'blood_pressure' has no code system; the names are"):
        fhir.to_code_system("blood_pressure")


def test_cli_writes_the_resources_under_a_base(tmp_path: Path) -> None:
    code, out, err = run("fhir", "questionnaire", "--base", BASE)
    assert (code, err) == (0, "")
    assert json.loads(out) == fhir.to_questionnaire(base=BASE)

    code, out, _ = run("fhir", "codesystems", "--base", BASE)
    assert code == 0
    bundle = json.loads(out)
    Bundle.model_validate(bundle)
    assert [e["resource"] for e in bundle["entry"]] == fhir.to_code_systems(base=BASE)

    code, out, _ = run("fhir", "codesystems", "--out-dir", str(tmp_path))
    assert code == 0
    written = sorted(tmp_path.glob("CodeSystem-*.json"))
    assert len(written) == len(fhir.code_system_names())
    assert sorted(out.split()) == [str(path) for path in written]
    detox = json.loads((tmp_path / "CodeSystem-detox-status.json").read_text())
    assert detox == fhir.to_code_system("detox_status")

    code, _, err = run("fhir", "codesystems", "--out-dir", str(tmp_path / "missing"))
    assert code == 2
    assert "is not a folder" in err


def test_cli_refuses_a_bad_base_with_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        run("fhir", "questionnaire", "--base", "https://fhir.acme.test/iop/")
    assert caught.value.code == 2
    assert "argument --base: base ends with a slash" in capsys.readouterr().err


def test_the_docs_example_runs_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = (Path(__file__).resolve().parents[1] / "docs" / "fhir.md").read_text()
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", page, re.DOTALL) if "base=" in b]
    script = tmp_path / "fhir_base_example.py"
    script.write_text(block)
    runpy.run_path(str(script))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "https://fhir.example.com/iop-placement/Questionnaire/iop-placement-intake"
    assert lines[1].startswith(f"{len(fhir.code_system_names())} https://fhir.example.com/")
    assert lines[2] == "Standard outpatient"
