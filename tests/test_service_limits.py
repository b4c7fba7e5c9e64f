"""Bounded everything: body size while reading, JSON depth and numbers, capped errors,
header and body time-outs, and no traceback or submitted text in any response or log line.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator, Mapping
from typing import Any

import anyio
import pytest
from starlette.concurrency import run_in_threadpool
from starlette.testclient import TestClient

from helpers import BASELINE
from iop_placement import DEFAULT_RULES, Assessment, PlacementEngine, Recommendation
from iop_placement.service import MAX_BODY_BYTES, MAX_PROBLEMS, create_app
from iop_placement.service import _app as app_module
from iop_placement.service._http import (
    HEADER_TIMEOUT_SECONDS,
    KEEP_ALIVE_SECONDS,
    MAX_CONNECTIONS,
    HeaderTimeoutProtocol,
)
from iop_placement.service._server import server_config
from service_helpers import HOOK, hook_call, live_server

JSON = {"Content-Type": "application/json"}
SECRET = "SECRETPHI_Jane_Roe"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(insecure_no_auth=True), raise_server_exceptions=False) as test:
        yield test


def _post(client: TestClient, path: str, content: bytes | str) -> Any:
    return client.post(path, content=content, headers=JSON)


def test_invalid_obligations_give_a_capped_error_not_one_per_item(client: TestClient) -> None:
    # On main a 1 MB body of invalid obligations gave a 44 MB error body.
    sizes = []
    for count in (10, 100_000):
        answers = {**BASELINE, "obligations": ["x" * 3] * count}
        response = _post(client, "/api/recommendation", json.dumps(answers))
        assert response.status_code == 400
        body = response.json()
        assert len(body["problems"]) <= MAX_PROBLEMS
        sizes.append(len(response.content))
    assert max(sizes) < 16_000


def test_a_huge_integer_is_a_400_not_a_500(client: TestClient) -> None:
    for path in ("/api/recommendation", HOOK):
        response = _post(client, path, '{"available_hours_per_week": ' + "9" * 5000 + "}")
        assert response.status_code == 400
        assert "longer than" in response.json()["error"]
        assert "9999" not in response.text


@pytest.mark.parametrize(
    "content",
    [
        "[" * 65 + "]" * 65,
        '{"a":' * 65 + "1" + "}" * 65,
        "[" * 200_000,
        '{"a": NaN}',
        '{"a": Infinity}',
        '{"a": 1e999999}',
        "\ufeff{}",
    ],
)
def test_hostile_json_is_a_400(client: TestClient, content: str) -> None:
    response = _post(client, HOOK, content)
    assert response.status_code == 400
    assert len(response.content) < 2000


@pytest.mark.parametrize("media", ["text/plain", "", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_declared_json_is_a_415(client: TestClient, media: str) -> None:
    headers = {"Content-Type": media} if media else {}
    response = client.post(HOOK, content=json.dumps(hook_call()), headers=headers)
    assert response.status_code == 415


def test_unknown_field_names_are_never_echoed(client: TestClient) -> None:
    answers = {**BASELINE, SECRET: 1, f"{SECRET}[0]": 2, "obligations": [SECRET]}
    response = _post(client, "/api/recommendation", json.dumps(answers))
    assert response.status_code == 400
    assert SECRET not in response.text
    fields = [problem["field"] for problem in response.json()["problems"]]
    assert "obligations[0]" in fields
    assert any("name not shown" in field for field in fields)


def test_a_declared_large_body_is_refused_before_reading(client: TestClient) -> None:
    headers = {**JSON, "Content-Length": str(100 * MAX_BODY_BYTES)}
    response = client.post(HOOK, content=b"{}", headers=headers)
    assert response.status_code == 413


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_a_chunked_100_mb_body_is_cut_off_early() -> None:
    # On main the whole body was read before the 413.
    with live_server(create_app(insecure_no_auth=True)) as base:
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(
                b"POST /cds-services/iop-placement HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            chunk = b" " * 65536
            frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
            sent = 0
            sock.settimeout(0.05)
            reply = b""
            while sent < 100 * MAX_BODY_BYTES:
                try:
                    sock.sendall(frame)
                    sent += len(chunk)
                except (BrokenPipeError, ConnectionResetError, TimeoutError):
                    break
                try:
                    reply = sock.recv(65536)
                    if reply:
                        break
                except TimeoutError:
                    continue
            sock.settimeout(30)
            reply += _read_response(sock) if b"\r\n\r\n" not in reply else b""
    assert reply.startswith(b"HTTP/1.1 413")
    assert sent < 20 * MAX_BODY_BYTES  # stopped long before 100 MB


def test_headers_that_never_finish_are_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(HeaderTimeoutProtocol, "header_timeout", 0.5)
    with live_server(create_app(insecure_no_auth=True)) as base:
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(b"GET /cds-services HTTP/1.1\r\nHost: x\r\n")  # and never the end
            assert sock.recv(100) == b""  # the server closed it (long before the 30 s)
        # A silent connection is closed too, and a served one can ask again.
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            assert sock.recv(100) == b""
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(b"GET /cds-services HTTP/1.1\r\nHost: x\r\n\r\n")
            assert _read_response(sock).startswith(b"HTTP/1.1 200")


def test_a_body_that_comes_too_slowly_is_a_408(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "BODY_TIMEOUT_SECONDS", 0.5)
    with live_server(create_app(insecure_no_auth=True)) as base:
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(
                b"POST /cds-services/iop-placement HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
            )
            assert _read_response(sock).startswith(b"HTTP/1.1 408")


def test_the_server_configuration_sets_every_limit() -> None:
    config = server_config(create_app(insecure_no_auth=True), "127.0.0.1", 1, "warning")
    assert config.timeout_keep_alive == KEEP_ALIVE_SECONDS
    assert config.h11_max_incomplete_event_size == 16 * 1024
    assert config.http is HeaderTimeoutProtocol
    assert config.access_log is False
    assert config.limit_concurrency is not None
    assert HEADER_TIMEOUT_SECONDS <= 30


def test_the_access_log_has_the_route_template_never_the_path_or_query(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="iop_placement.access"):
        client.post(f"{HOOK}?patient={SECRET}", content=json.dumps(hook_call()), headers=JSON)
        client.get(f"/static/{SECRET}.js")
        client.get(f"/{SECRET}")
        client.request(SECRET, "/cds-services")
    lines = [r.getMessage() for r in caplog.records if r.name == "iop_placement.access"]
    assert len(lines) == 4
    assert lines[3].startswith("(other method) /cds-services 405 ")
    assert lines[0].startswith("POST /cds-services/{service_id} 200 ")
    assert lines[1].startswith("GET /static/{name} 404 ")
    assert lines[2].startswith("GET (no route) 404 ")
    assert all(line.endswith("ms") for line in lines)
    assert SECRET not in caplog.text


class _ExplodingEngine(PlacementEngine):
    def __init__(self) -> None:
        pass

    def recommend(self, assessment: Assessment | Mapping[str, Any]) -> Recommendation:  # noqa: ARG002
        msg = f"engine blew up on {SECRET}"
        raise RuntimeError(msg)


def test_an_unexpected_error_is_a_fixed_500_without_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app(_ExplodingEngine(), insecure_no_auth=True)
    with (
        TestClient(app, raise_server_exceptions=False) as test,
        caplog.at_level(logging.DEBUG),
    ):
        response = _post(test, "/api/recommendation", json.dumps(BASELINE))
    assert response.status_code == 500
    assert response.json() == {
        "error": "internal error: the request could not be answered",
        "problems": [],
    }
    assert response.headers["cache-control"] == "no-store"
    assert SECRET not in caplog.text
    assert all(record.exc_info is None for record in caplog.records)
    assert "RuntimeError" in caplog.text


def test_every_response_is_no_store(client: TestClient) -> None:
    for response in (
        client.get("/cds-services"),
        client.get("/openapi.json"),
        client.post(HOOK, content=b"{", headers=JSON),
        client.get("/nothing"),
        client.get(HOOK),
        _post(client, HOOK, json.dumps(hook_call())),
    ):
        assert response.headers["cache-control"] == "no-store"


class _WaitingEngine(PlacementEngine):
    """An engine that blocks until told: on the event loop it would stall every request."""

    def __init__(self) -> None:
        import threading

        self.release = threading.Event()
        self.entered = threading.Event()
        self.inner = PlacementEngine.from_directory(DEFAULT_RULES)

    def recommend(self, assessment: Assessment | Mapping[str, Any]) -> Recommendation:
        self.entered.set()
        assert self.release.wait(timeout=60), "never released"
        return self.inner.recommend(assessment)


def test_the_engine_runs_off_the_event_loop() -> None:
    import threading
    import urllib.request

    engine = _WaitingEngine()
    results: list[int] = []
    with live_server(create_app(engine, insecure_no_auth=True)) as base:

        def slow_call() -> None:
            request = urllib.request.Request(
                f"{base}/api/recommendation", data=json.dumps(BASELINE).encode(), headers=JSON
            )
            with urllib.request.urlopen(request, timeout=60) as reply:
                results.append(reply.status)

        thread = threading.Thread(target=slow_call)
        thread.start()
        assert engine.entered.wait(timeout=60)
        # The blocked engine does not hold up other requests: discovery answers meanwhile.
        with urllib.request.urlopen(f"{base}/cds-services", timeout=30) as reply:
            assert reply.status == 200
        assert results == []
        engine.release.set()
        thread.join(timeout=60)
    assert results == [200]


def test_small_bodies_are_answered_inline_and_large_ones_in_a_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A thread hop costs more than the library's engine on a small body; a large body, which
    # could take longer to validate, still goes to a worker thread. (provisional() always
    # runs in its own bounded threads: test_service_provisional.py.)
    hops: list[object] = []
    hop = run_in_threadpool

    async def counted(work: Any, *args: Any) -> Any:
        hops.append(work)
        return await hop(work, *args)

    monkeypatch.setattr(app_module, "run_in_threadpool", counted)
    small = json.dumps(BASELINE)
    large = small + " " * app_module.INLINE_BODY_BYTES  # the same answers, padded
    with TestClient(create_app(insecure_no_auth=True)) as client:
        for path in ("/api/recommendation",):
            assert _post(client, path, small).status_code == 200
            assert hops == []
            assert _post(client, path, large).status_code == 200
            assert len(hops) == 1
            hops.clear()


def test_the_json_response_matches_json_dumps_of_model_dump(client: TestClient) -> None:
    reply = _post(client, "/api/recommendation", json.dumps(BASELINE))
    rec = PlacementEngine.from_directory(DEFAULT_RULES).recommend(BASELINE)
    assert reply.headers["content-type"] == "application/json"
    assert reply.json()["recommendation"] == rec.model_dump(mode="json")
    assert (
        app_module.JSONResponse({"a": [1, "é"], "b": None}).body
        == '{"a":[1,"é"],"b":null}'.encode()
    )
    assert app_module.JSONResponse({"x": float("nan")}).body == b'{"x":null}'


def test_an_array_with_too_many_members_is_refused_before_validation(client: TestClient) -> None:
    answers = {**BASELINE, "obligations": ["work"] * 1001}
    response = _post(client, "/api/recommendation", json.dumps(answers))
    assert response.status_code == 400
    assert "more than 1000 members" in response.json()["error"]


def test_headers_larger_than_the_limit_are_a_431(client: TestClient) -> None:
    response = client.get("/cds-services", headers={"X-Filler": "x" * 40_000})
    assert response.status_code == 431


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_the_body_deadline_raises_timeout_error_on_either_event_loop(backend: str) -> None:
    """asyncio's own timeout under asyncio (cheaper), anyio's on any other loop: the same end."""

    async def wait_past_the_deadline() -> str:
        try:
            async with app_module._deadline(0.05):
                await anyio.sleep(5)
        except TimeoutError:
            return "timed out"
        return "no deadline"

    async def within_the_deadline() -> str:
        async with app_module._deadline(5):
            await anyio.sleep(0)
        return "done"

    assert anyio.run(wait_past_the_deadline, backend=backend) == "timed out"
    assert anyio.run(within_the_deadline, backend=backend) == "done"


# --- issue 24, item 4: one client cannot take every connection; JSON 503s ----------------


def _half_open(base: str, source: str, count: int) -> list[socket.socket]:
    """``count`` connections from ``source`` that send half a request line and wait."""
    port = int(base.rsplit(":", 1)[1])
    held = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
        sock.sendall(b"POST /cds-ser")
        held.append(sock)
    return held


def _raw_post(base: str, source: str, *, send: bool = True) -> tuple[int, dict[str, str], bytes]:
    """A hook call from ``source``; without ``send``, what the server says unasked."""
    port = int(base.rsplit(":", 1)[1])
    body = json.dumps(hook_call()).encode() if send else b""
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0)) as s:
        s.sendall(
            b""
            if not send
            else f"POST {HOOK} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    head, _, payload = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, payload


def test_one_clients_half_open_connections_do_not_starve_the_others() -> None:
    with live_server(create_app(insecure_no_auth=True)) as base:
        held = _half_open(base, "127.0.0.2", 300)  # more than the server's whole limit
        try:
            statuses = [_raw_post(base, "127.0.0.1")[0] for _ in range(45)]
            # Refused on connecting (a request sent first would meet a reset).
            status, headers, payload = _raw_post(base, "127.0.0.2", send=False)
        finally:
            for sock in held:
                sock.close()
    assert statuses == [200] * 45  # on main: 44 of 45 were a plain-text 503
    assert (status, headers["content-type"], headers["retry-after"]) == (
        503,
        "application/json",
        "5",
    )
    assert "too many connections from this address" in json.loads(payload)["error"]
    from iop_placement.service._http import MAX_CONNECTIONS_PER_CLIENT

    assert MAX_CONNECTIONS_PER_CLIENT < MAX_CONNECTIONS


def test_the_servers_own_limit_answers_in_json() -> None:
    with live_server(create_app(insecure_no_auth=True)) as base:
        held = []
        try:
            for client in range(2, 6):  # four addresses, under the per-client limit each
                held += _half_open(base, f"127.0.0.{client}", MAX_CONNECTIONS // 4)
            status, headers, payload = _raw_post(base, "127.0.0.9")
        finally:
            for sock in held:
                sock.close()
    assert (status, headers["content-type"], headers["retry-after"]) == (
        503,
        "application/json",
        "5",
    )
    assert json.loads(payload) == {
        "error": "the service is at its connection limit; try again shortly",
        "problems": [],
    }
