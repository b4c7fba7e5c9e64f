"""The ASGI service: CDS Hooks endpoints and the intake page's API, always answering in JSON."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from helpers import BASELINE
from iop_placement import (
    Assessment,
    PlacementEngine,
    PlacementError,
    Recommendation,
    cds_hooks,
    fhir,
    json_schema,
    recommend,
    ui_schema,
)
from iop_placement.cli import main
from iop_placement.service import MAX_BODY_BYTES, create_app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
STATIC = Path(__file__).resolve().parents[1] / "src" / "iop_placement" / "_static"
HOOK = "/cds-services/iop-placement"
PATIENT = "Patient/example"
JSON = {"Content-Type": "application/json"}
HTML_TAGS = {"strong"}  # codes that are also the names of elements the page creates
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


def _example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def _call(intake: object) -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/example", "patientId": "example"},
        "prefetch": {"intake": intake},
    }


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(
        create_app(insecure_no_auth=True), raise_server_exceptions=False
    ) as test_client:
        yield test_client


def _json_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert isinstance(body["error"], str)
    assert isinstance(body["problems"], list)
    return body


class TestCdsHooks:
    def test_discovery(self, client: TestClient) -> None:
        response = client.get("/cds-services")
        assert response.status_code == 200
        assert response.json() == cds_hooks.discovery()

    @pytest.mark.parametrize("name", ["crisis", "inpatient_withdrawal", "standard_outpatient"])
    def test_a_hook_call_gives_a_valid_card(self, client: TestClient, name: str) -> None:
        example = _example(name)
        response = client.post(
            HOOK, json=_call(fhir.to_questionnaire_response(example, subject=PATIENT))
        )
        assert response.status_code == 200
        answer = cds_hooks.CdsResponse.model_validate(response.json())
        (card,) = answer.cards
        rec = recommend(example)
        assert card.summary == cds_hooks.card_summary(rec)
        assert card.indicator == cds_hooks.card_indicator(rec)

    def test_invalid_answers_are_a_400_naming_the_link_ids(self, client: TestClient) -> None:
        response = fhir.to_questionnaire_response(_example("crisis"), subject=PATIENT)
        response["item"] = response["item"][1:]
        body = _json_error(client.post(HOOK, json=_call(response)), 400)
        assert [problem["field"] for problem in body["problems"]] == ["substance_use_severity"]

    def test_no_prefetch_is_a_412(self, client: TestClient) -> None:
        body = _json_error(client.post(HOOK, json=_call(None)), 412)
        assert "prefetch 'intake'" in body["error"]

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            (b"{", "not valid JSON"),
            (b'{"a": "\xc3\x28"}', "not UTF-8"),
            (b"[" * 100_000 + b"]" * 100_000, "nested more than 64 deep"),
            (b"42", "not a CDS Hooks call"),
        ],
    )
    def test_a_bad_body_is_a_400(self, client: TestClient, content: bytes, message: str) -> None:
        body = _json_error(client.post(HOOK, content=content, headers=JSON), 400)
        assert message in body["error"]

    def test_a_huge_body_is_a_413(self, client: TestClient) -> None:
        _json_error(client.post(HOOK, content=b" " * (MAX_BODY_BYTES + 1), headers=JSON), 413)

    def test_unknown_service_and_wrong_method(self, client: TestClient) -> None:
        _json_error(client.post("/cds-services/other", json=_call(None)), 404)
        _json_error(client.get(HOOK), 405)
        _json_error(client.get("/no-such-page"), 404)

    @given(body=JSON_VALUES)
    def test_any_json_is_answered_without_a_500(self, client: TestClient, body: Any) -> None:
        for payload in (body, _call(body), {**_call(None), "prefetch": body}):
            content = json.dumps(payload)
            assert client.post(HOOK, content=content, headers=JSON).status_code in {400, 412}


class TestIntakeApi:
    def test_the_page_is_served_with_a_strict_policy(self, client: TestClient) -> None:
        response = client.get("/")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in response.headers["content-security-policy"]
        for name in ("intake.js", "intake.css"):
            assert client.get(f"/static/{name}").status_code == 200
        _json_error(client.get("/static/secrets.txt"), 404)

    def test_no_field_value_or_label_is_written_in_the_page(self) -> None:
        page = "\n".join(path.read_text(encoding="utf-8") for path in STATIC.iterdir())
        schema = json_schema()
        for name, prop in schema["properties"].items():
            assert name not in page
            assert prop["title"] not in page
            for choice in prop.get("oneOf", prop.get("items", {}).get("oneOf", [])):
                assert choice.get("description", "\0") not in page
                if isinstance(choice["const"], str) and choice["const"] not in HTML_TAGS:
                    assert f'"{choice["const"]}"' not in page

    def test_schema(self, client: TestClient) -> None:
        assert client.get("/api/schema").json() == json_schema()
        assert client.get("/api/ui-schema").json() == ui_schema()

    def test_a_recommendation_with_its_labelled_view(self, client: TestClient) -> None:
        example = _example("inpatient_not_accessible")
        response = client.post("/api/recommendation", json=example)
        assert response.status_code == 200
        body = response.json()
        rec = recommend(example)
        assert Recommendation.model_validate(body["recommendation"]) == rec
        view = body["view"]
        assert view["level"] == {
            "code": rec.level.value,
            "label": rec.level.label,
            "description": rec.level.description,
            "intensity": rec.intensity,
        }
        assert [flag["label"] for flag in view["flags"]] == [flag.label for flag in rec.flags]
        assert [r["rule_id"] for r in view["deciding"]] == [r.rule_id for r in rec.deciding]
        assert [r["rule_id"] for r in view["supporting"]] == [r.rule_id for r in rec.supporting]
        assert rec.alternative is not None
        assert view["alternative"]["label"] == rec.alternative.level.label
        assert view["asam"]["approximate"] is True
        assert view["alert"] is None

    def test_a_crisis_view_leads_with_the_alert(self, client: TestClient) -> None:
        view = client.post("/api/recommendation", json=_example("crisis")).json()["view"]
        assert view["alert"]["code"] == "crisis"
        assert "crisis evaluation by a clinician" in view["alert"]["ask"]

    def test_invalid_answers_are_a_400(self, client: TestClient, baseline: Assessment) -> None:
        answers = {**baseline.values(), "available_hours_per_week": 500}
        del answers["detox_status"]
        body = _json_error(client.post("/api/recommendation", json=answers), 400)
        fields = {problem["field"] for problem in body["problems"]}
        assert fields == {"detox_status", "available_hours_per_week"}


class _BrokenEngine(PlacementEngine):
    def __init__(self) -> None:
        pass

    def recommend(self, assessment: Assessment | Mapping[str, Any]) -> Recommendation:  # noqa: ARG002
        msg = "the rule engine failed"
        raise PlacementError(msg)


def test_an_engine_failure_is_a_json_500(baseline: Assessment) -> None:
    with TestClient(
        create_app(_BrokenEngine(), insecure_no_auth=True), raise_server_exceptions=False
    ) as client:
        response = client.post("/api/recommendation", json=baseline.values())
    body = _json_error(response, 500)
    assert body["error"].startswith("internal error")


def test_cors_is_off_unless_origins_are_given() -> None:
    preflight = {
        "Origin": "https://ehr.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    with TestClient(create_app(insecure_no_auth=True)) as client:
        assert "access-control-allow-origin" not in client.options(HOOK, headers=preflight).headers
    with TestClient(
        create_app(insecure_no_auth=True, cors_origins=["https://ehr.example"])
    ) as client:
        response = client.options(HOOK, headers=preflight)
        assert response.headers["access-control-allow-origin"] == "https://ehr.example"


def test_importing_the_package_loads_no_optional_dependency() -> None:
    code = (
        "import sys, iop_placement, iop_placement.fhir, iop_placement.cds_hooks\n"
        "iop_placement.cds_hooks.to_cds_card(iop_placement.recommend("
        "iop_placement.fhir.from_questionnaire_response("
        f"iop_placement.fhir.to_questionnaire_response({_example('crisis')!r}))))\n"
        "loaded = {'starlette', 'uvicorn', 'fhir', 'httpx', 'selenium', 'jsonschema'}"
        " & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_serve_without_the_extra_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    monkeypatch.delitem(sys.modules, "iop_placement.service._server", raising=False)
    assert main(["serve", "--port", "1"]) == 1
    assert "pip install 'iop-placement[service]'" in capsys.readouterr().err


def test_serve_rejects_a_bad_port(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["serve", "--port", "70000"])
    assert caught.value.code == 2
    assert "must be from 1 to 65535" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_starts_on_localhost_and_answers_discovery(tmp_path: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "iop_placement",
            "serve",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--insecure-dev-no-auth",
            "--audit-db",
            f"sqlite:///{tmp_path / 'audit.db'}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/cds-services", timeout=2
                ) as reply:
                    document = json.loads(reply.read())
                break
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the server did not start in 30 s"
                time.sleep(0.1)
        assert document == cds_hooks.discovery()
    finally:
        server.terminate()
        out, err = server.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in out.decode()
    assert "WARNING: --insecure-dev-no-auth" in err.decode()  # said loudly, on every start


def test_serve_requires_authentication_unless_told(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "1"]) == 2
    assert "need authentication" in capsys.readouterr().err
    assert main(["serve", "--service-url", "https://cds.example", "--port", "1"]) == 2
    assert "--trust" in capsys.readouterr().err


def test_serve_refuses_no_auth_off_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--insecure-dev-no-auth", "--host", "0.0.0.0", "--port", "1"]) == 2
    assert "refused on an address other than loopback" in capsys.readouterr().err


def test_serve_reports_a_bad_audit_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-such-folder" / "audit.db"
    db = f"sqlite:///{missing}"
    code = main(["serve", "--insecure-dev-no-auth", "--audit-db", db, "--port", "1"])
    assert code == 2
    assert "folder does not exist" in capsys.readouterr().err


def test_serve_reports_a_bad_trust_option(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["serve", "--service-url", "https://cds.example", "--trust", "nojwks", "--port", "1"]
    assert main(args) == 2
    assert "ISSUER=JWKS" in capsys.readouterr().err


@pytest.mark.parametrize("count", ["0", "65", "two"])
def test_serve_rejects_a_bad_worker_count(count: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["serve", "--insecure-dev-no-auth", "--workers", count])
    assert caught.value.code == 2
    assert "--workers" in capsys.readouterr().err


def test_serve_with_workers_hands_its_checked_options_to_each_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from iop_placement.cli import _serve
    from iop_placement.service import _server

    calls: list[tuple[Any, int]] = []

    def run_server(app: Any, host: str, port: int, log_level: str, *, workers: int = 1) -> None:  # noqa: ARG001
        calls.append((app, workers))
        # What each worker process does: build the app from the environment.
        with TestClient(_serve.worker_app(), base_url="http://127.0.0.1:8737") as client:
            assert client.get("/cds-services").json() == cds_hooks.discovery()
            assert client.post("/api/recommendation", json=BASELINE).status_code == 200

    monkeypatch.setattr(_server, "run_server", run_server)
    monkeypatch.delenv(_serve.OPTIONS_ENV, raising=False)
    db = f"sqlite:///{tmp_path / 'audit.db'}"
    args = ["serve", "--insecure-dev-no-auth", "--workers", "3", "--audit-db", db]
    assert main(args) == 0
    assert calls == [(_serve.WORKER_FACTORY, 3)]
    options = json.loads(os.environ.pop(_serve.OPTIONS_ENV))
    assert options["audit_db"] == db
    assert options["insecure"] is True


def test_several_workers_need_an_app_factory() -> None:
    from iop_placement.service._server import server_config

    with pytest.raises(ValueError, match="import string"):
        server_config(create_app(insecure_no_auth=True), "127.0.0.1", 1, "warning", workers=2)
    config = server_config("iop_placement.cli._serve:worker_app", "127.0.0.1", 1, "info", workers=2)
    assert (config.workers, config.factory) == (2, True)


# --- issue 24, item 6: the access log in every mode, timestamps, the Host header -----------


def test_serve_writes_the_access_log_with_timestamps_in_production_mode(tmp_path: Path) -> None:
    import re

    from service_helpers import Client

    jwks = Client().write_jwks(tmp_path)
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "iop_placement",
            "serve",
            "--port",
            str(port),
            "--service-url",
            "https://cds.example.org",
            "--trust",
            f"https://ehr.example.org={jwks}",
            "--audit-db",
            f"sqlite:///{tmp_path / 'audit.db'}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/cds-services", timeout=2):
                    break
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the server did not start in 30 s"
                time.sleep(0.1)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/cds-services/iop-placement", data=b"{}", method="POST"
        )
        request.add_header("Content-Type", "application/json")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        refused.value.close()
        assert refused.value.code == 401
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    lines = err.decode().splitlines()
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    access = [line for line in lines if "iop_placement.access" in line]
    assert any(
        re.fullmatch(rf"{stamp} INFO iop_placement\.access: GET /cds-services 200 [\d.]+ms", line)
        for line in access
    ), lines
    assert any("POST /cds-services/{service_id} 401" in line for line in access), lines
    # Every line the server wrote starts with its time, uvicorn's own too.
    assert lines
    assert all(re.match(stamp, line) for line in lines), lines


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("localhost:8737", 200),
        ("127.0.0.1:8737", 200),
        ("[::1]:8737", 200),
        ("LOCALHOST", 200),
        ("cds.example.org", 200),
        ("cds.example.org:443", 200),
        ("intake.internal:8737", 200),
        ("evil.example:8737", 421),
        ("evil.example", 421),
        ("localhost.evil.example", 421),
        ("127.0.0.1.nip.io:8737", 421),
    ],
)
def test_the_host_header_must_name_this_service(host: str, status: int) -> None:
    app = create_app(
        insecure_no_auth=True,
        service_url="https://cds.example.org",
        allowed_hosts=["intake.internal"],
    )
    with TestClient(app) as client:
        for path in ("/", "/cds-services"):
            response = client.get(path, headers={"Host": host})
            assert response.status_code == status, (path, host)
            if status == 421:
                assert response.json()["error"] == "the Host header does not name this service"


def test_serve_checks_the_host_header(tmp_path: Path) -> None:
    from iop_placement.cli._serve import _build, _Options

    options = _Options(
        rules=None,
        service_url=None,
        trust=[],
        insecure=True,
        audit_db=f"sqlite:///{tmp_path / 'audit.db'}",
        cors_origins=[],
        intake_page=True,
        log_level="warning",
        allowed_hosts=[],
    )
    app, audit = _build(options)
    try:
        with TestClient(app) as client:
            assert client.get("/", headers={"Host": "rebound.example:8737"}).status_code == 421
            assert client.get("/", headers={"Host": "127.0.0.1:8737"}).status_code == 200
    finally:
        audit.close()
