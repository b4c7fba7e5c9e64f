"""The OpenAPI description: shipped, served, and the service kept to it by schemathesis.

schemathesis draws requests from ``service/openapi.json`` (valid and, by its negative
mode, invalid ones) and sends them to the app in process; no answer may be a server
error, and each must match the description (status code, content type, body schema).
Bounded: a few dozen examples per operation, well under a minute in all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient

from iop_placement import LANGUAGES
from iop_placement.audit import AuditStore
from iop_placement.service import create_app, openapi

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
SHIPPED = Path(__file__).resolve().parents[1] / "src" / "iop_placement" / "service" / "openapi.json"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    store = AuditStore.open(f"sqlite:///{tmp_path_factory.mktemp('openapi') / 'audit.db'}")
    yield create_app(insecure_no_auth=True, audit=store)
    store.close()


@pytest.fixture(scope="module")
def api_schema(app: Any) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_the_description_is_shipped_and_served(app: Any) -> None:
    document = json.loads(SHIPPED.read_text(encoding="utf-8"))
    assert openapi() == document
    assert document["openapi"].startswith("3.1")
    with TestClient(app) as client:
        assert client.get("/openapi.json").json() == document


def test_every_route_is_described(app: Any) -> None:
    described = set(openapi()["paths"])
    assert {route.path for route in app.routes} == described


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_gives_a_server_error(api_schema: Any, mode: GenerationMode) -> None:
    # schemathesis' pytest plugin does not run on pytest 9 (it reads a private node id);
    # its strategies do: one bounded Hypothesis run per operation.
    operations = [result.ok() for result in api_schema.get_all_operations()]
    # Every path but the description itself, which schemathesis leaves out.
    assert {op.path for op in operations} == set(openapi()["paths"]) - {"/openapi.json"}
    if mode is GenerationMode.NEGATIVE:  # a GET without parameters has no invalid form
        operations = [op for op in operations if op.method.upper() == "POST"]
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            case.call_and_validate(checks=CHECKS)

        check()


def test_a_request_from_another_origin_is_described(app: Any) -> None:
    # schemathesis sends no Origin, so the intake API's 403 is checked here: each route
    # that refuses another origin's page must say so in the description.
    paths = openapi()["paths"]
    foreign = {"Origin": "https://elsewhere.example", "Sec-Fetch-Site": "cross-site"}
    refusing = []
    with TestClient(app) as client:
        for path, operations in paths.items():
            if "post" not in operations or "{" in path:
                continue
            response = client.post(path, json={}, headers=foreign)
            if response.status_code == 403:
                refusing.append(path)
                assert "403" in operations["post"]["responses"], path
    assert sorted(refusing) == [
        "/api/explanation",
        "/api/provisional",
        "/api/recommendation",
        "/api/summary.pdf",
    ]


def test_every_lang_parameter_offers_the_packages_languages() -> None:
    # The shipped description names the languages by hand: a new catalogue fails here
    # until openapi.json offers it.
    found = [
        parameter["schema"]
        for operations in openapi()["paths"].values()
        for operation in operations.values()
        for parameter in operation.get("parameters", ())
        if parameter.get("name") == "lang"
    ]
    assert len(found) >= 6  # the page's schema, ui-schema, texts, questionnaire, the API
    assert all(schema["enum"] == list(LANGUAGES) for schema in found)
    assert all(schema["default"] == "en" for schema in found)
