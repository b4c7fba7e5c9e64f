"""The form-ready JSON Schema: generated from the model, labelled, inlined, in intake order."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from jsonschema import Draft7Validator

import iop_placement
from iop_placement import Assessment, Obligation, json_schema, ui_schema
from iop_placement._model.fields import field_specs
from iop_placement._model.intake import declared_intake_order, intake_order
from iop_placement.cli import main
from iop_placement.testing import assessments

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCHEMA = json_schema()
VALIDATOR = Draft7Validator(SCHEMA)


def _walk(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [node, *(item for value in node.values() for item in _walk(value))]
    if isinstance(node, list):
        return [item for value in node for item in _walk(value)]
    return []


def test_is_a_valid_draft_07_schema_without_references() -> None:
    Draft7Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"
    keys = {key for node in _walk(SCHEMA) for key in node}
    assert not keys & {"$ref", "$defs", "definitions", "enum"}


def test_intake_order_lists_every_field_once() -> None:
    declared = declared_intake_order()
    assert len(declared) == len(set(declared))
    assert set(declared) == set(Assessment.model_fields)
    assert intake_order() == declared


def test_properties_and_required_follow_the_intake_order() -> None:
    assert list(SCHEMA["properties"]) == list(intake_order())
    optional = {name for name, spec in field_specs().items() if spec.optional}
    assert SCHEMA["required"] == [name for name in intake_order() if name not in optional]
    assert SCHEMA["additionalProperties"] is False
    # A natural interview: what is used, then withdrawal, ..., the practicalities last.
    order = list(intake_order())
    assert order[0] == "substance_use_severity"
    assert order.index("detox_status") < order.index("home_environment")
    assert order[-3:] == ["obligations", "available_hours_per_week", "inpatient_accessible"]


def test_every_field_has_the_model_title_and_description() -> None:
    for name, info in Assessment.model_fields.items():
        prop = SCHEMA["properties"][name]
        assert prop["title"] == info.title
        assert prop["description"] == info.description
        assert prop["title"] != name


def test_every_choice_is_labelled_from_its_enum() -> None:
    for name, spec in field_specs().items():
        prop = SCHEMA["properties"][name]
        if spec.kind == "choice":
            assert spec.enum is not None
            assert prop["type"] == "string"
            assert prop["oneOf"] == [
                {"const": m.value, "title": m.label, "description": m.description}
                for m in spec.enum
            ]


def test_booleans_are_labelled_yes_and_no() -> None:
    for name, spec in field_specs().items():
        if spec.kind == "boolean":
            prop = SCHEMA["properties"][name]
            assert prop["type"] == "boolean"
            assert prop["oneOf"] == [
                {"const": True, "title": "Yes"},
                {"const": False, "title": "No"},
            ]


def test_hours_have_minimum_and_maximum() -> None:
    prop = SCHEMA["properties"]["available_hours_per_week"]
    assert (prop["type"], prop["minimum"], prop["maximum"]) == ("integer", 0, 168)


def test_obligations_are_a_labelled_multi_select() -> None:
    prop = SCHEMA["properties"]["obligations"]
    assert prop["type"] == "array"
    assert prop["uniqueItems"] is True
    assert [choice["const"] for choice in prop["items"]["oneOf"]] == list(Obligation.values())
    assert [choice["title"] for choice in prop["items"]["oneOf"]] == [o.label for o in Obligation]


def test_every_example_is_valid() -> None:
    for path in sorted(EXAMPLES.glob("*.json")):
        VALIDATOR.validate(json.loads(path.read_text(encoding="utf-8")))


@given(assessments())
def test_every_valid_assessment_is_valid_against_the_schema(assessment: Assessment) -> None:
    # As a form sends it: an optional field left out is absent, not null.
    sent = assessment.model_dump(mode="json", exclude_none=True)
    assert not list(VALIDATOR.iter_errors(sent))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("substance_use_severity", "extreme"),
        ("detox_status", None),
        ("suicide_risk", 1),
        ("prior_outpatient_failed", "yes"),
        ("available_hours_per_week", 169),
        ("available_hours_per_week", -1),
        ("available_hours_per_week", "12"),
        ("obligations", ["work", "work"]),
        ("obligations", ["hobbies"]),
        ("obligations", "work"),
        ("unknown_field", True),
    ],
)
def test_invalid_answers_are_rejected(baseline: Assessment, field: str, value: Any) -> None:
    answers = {**baseline.values(), field: value}
    assert list(VALIDATOR.iter_errors(answers))


def test_a_missing_answer_is_rejected(baseline: Assessment) -> None:
    answers = baseline.values()
    del answers["detox_status"]
    assert list(VALIDATOR.iter_errors(answers))


def test_each_call_returns_a_new_schema() -> None:
    schema = json_schema()
    schema["properties"].clear()
    assert json_schema() == SCHEMA
    assert iop_placement.json_schema is json_schema


def test_ui_schema_orders_and_picks_widgets() -> None:
    ui = ui_schema()
    assert ui["ui:order"] == list(SCHEMA["properties"])
    assert ui["obligations"]["ui:widget"] == "checkboxes"
    assert ui["medically_unstable"]["ui:widget"] == "radio"
    assert ui["detox_status"]["ui:widget"] == "radio"
    assert ui["available_hours_per_week"] == {"ui:widget": "updown"}
    # Option descriptions as help (the stock widgets show titles only), extensions as options.
    assert (
        "Needed: Withdrawal risk that needs medically supervised detox."
        in (ui["detox_status"]["ui:help"])
    )
    assert ui["medically_unstable"]["ui:options"] == {"x-modifiable-to": [False]}
    assert ui["withdrawal_severity"]["ui:options"]["x-absent-means"] is None


def test_the_schema_has_only_standard_keywords_and_extensions_on_request() -> None:
    for prop in SCHEMA["properties"].values():
        assert not [key for key in prop if key.startswith("x-") or key == "modifiable_to"]
    extended = json_schema(extensions=True)["properties"]
    assert extended["suicide_risk"]["x-modifiable-to"] == ["none", "ideation"]
    assert extended["recovery_residence"]["x-absent-means"] == "none"


def test_cli_prints_the_schema() -> None:
    out = io.StringIO()
    assert main(["schema"], stdout=out) == 0
    assert json.loads(out.getvalue()) == SCHEMA
