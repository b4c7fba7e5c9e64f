"""Fetching the intake from fhirServer, and the JWK Set, within fixed bounds (issue 24, 3).

Each client's own FHIR servers only, a fixed path, no proxy from the environment, one
deadline for the whole fetch, the same 412 for every way the server can fail, and a size
limit on the JWK Set.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from iop_placement import cds_hooks, fhir
from iop_placement.cds_hooks import HookCallError
from iop_placement.cds_hooks import _fetch as fetch_module
from iop_placement.service import (
    AuthenticationUnavailable,
    JwtVerifier,
    TrustedIssuer,
    create_app,
)
from service_helpers import HOOK, ISSUER, SERVICE_URL, Client, example

PATIENT = "example"


def _bundle() -> dict[str, Any]:
    response = fhir.to_questionnaire_response(
        example("intensive_outpatient"), subject=f"Patient/{PATIENT}"
    )
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": response}]}


def _call(server: str) -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/1", "patientId": PATIENT},
        "fhirServer": server,
        "fhirAuthorization": {"access_token": "ehr-token", "token_type": "Bearer"},
    }


class _Raw:
    """A TCP server on loopback running ``handle(connection)`` for each client; records
    the request heads it was sent."""

    def __init__(self, handle: Callable[[socket.socket], None]) -> None:
        self.handle = handle
        self.heads: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        self.sock.settimeout(0.1)  # to see `done`: closing a socket does not wake accept()
        while not self.done.is_set():
            try:
                connection, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with connection:
                connection.settimeout(30)
                head = b""
                try:
                    while b"\r\n\r\n" not in head:
                        chunk = connection.recv(4096)
                        if not chunk:
                            break
                        head += chunk
                    self.heads.append(head)
                    self.handle(connection)
                except OSError:
                    pass

    def __enter__(self) -> _Raw:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join(timeout=30)
        self.sock.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/fhir"


def _ok(body: object) -> Callable[[socket.socket], None]:
    data = json.dumps(body).encode()

    def handle(connection: socket.socket) -> None:
        connection.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\n"
            + f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
            + data
        )

    return handle


def _error(call: dict[str, Any], **kwargs: Any) -> HookCallError:
    with pytest.raises(HookCallError) as caught:
        cds_hooks.answer_hook_call(call, **kwargs)
    return caught.value


def test_only_an_allowed_fhir_server_is_asked() -> None:
    with _Raw(_ok(_bundle())) as allowed, _Raw(_ok(_bundle())) as other:
        base = allowed.url
        card = cds_hooks.answer_hook_call(_call(base), fhir_servers={base})["cards"][0]
        assert card["summary"].startswith("Suggested level of care")
        error = _error(_call(other.url), fhir_servers={base})
    assert error.status == 412
    assert "may ask" in error.message
    assert other.heads == []  # nothing was sent, the EHR's token least of all


@pytest.mark.parametrize(
    "suffix",
    ["?", "?x=", "/other?_format=json&", "#frag", "/../admin?"],
)
def test_a_base_url_cannot_choose_the_path_or_query(suffix: str) -> None:
    with _Raw(_ok(_bundle())) as server:
        error = _error(_call(server.url + suffix))
    assert error.status == 412
    assert server.heads == []


def test_a_user_in_the_base_url_is_refused() -> None:
    with _Raw(_ok(_bundle())) as server:
        error = _error(_call(server.url.replace("http://", "http://evil@")))
    assert (error.status, server.heads) == (412, [])


def test_the_query_is_on_the_fixed_path() -> None:
    with _Raw(_ok(_bundle())) as server:
        cds_hooks.answer_hook_call(_call(server.url + "/"))
    (head,) = server.heads
    line = head.split(b"\r\n", 1)[0].decode()
    assert line.startswith("GET /fhir/QuestionnaireResponse?subject=Patient%2Fexample&")
    # The latest usable intake: an amended or in-progress one is not passed over.
    assert "&status=completed,amended,in-progress&_sort=-authored&_count=1 " in line
    assert b"Authorization: Bearer ehr-token" in head


def test_proxies_from_the_environment_are_not_used() -> None:
    # In a process of its own: a proxy set in the environment when the service starts.
    script = (
        "import json, sys; from iop_placement import cds_hooks;"
        " print(len(cds_hooks.answer_hook_call(json.loads(sys.argv[1]))['cards']))"
    )
    with _Raw(_ok(_bundle())) as server, _Raw(_ok(_bundle())) as proxy:
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "all_proxy"):
            env[name] = f"http://127.0.0.1:{proxy.port}"
        done = subprocess.run(
            [sys.executable, "-c", script, json.dumps(_call(server.url))],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert proxy.heads == []  # the proxy never saw the EHR's token
    assert (done.stdout, len(server.heads)) == ("1\n", 1), done.stderr


def test_one_deadline_covers_the_whole_fetch(monkeypatch: pytest.MonkeyPatch) -> None:
    # A server that answers one byte every 0.2 s would keep a per-read timeout alive for
    # as long as it likes; the fetch's deadline (1 s here) cuts it off well before the end.
    monkeypatch.setattr(fetch_module, "FETCH_TIMEOUT_SECONDS", 1.0)
    sent: list[int] = []
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
    stop = threading.Event()

    def trickle(connection: socket.socket) -> None:
        for count, byte in enumerate(answer * 20, 1):
            if stop.wait(0.2):
                return
            try:
                connection.sendall(bytes([byte]))
            except OSError:
                return
            sent.append(count)

    with _Raw(trickle) as server:
        error = _error(_call(server.url))
        stop.set()
    assert error.status == 412
    assert len(sent) < len(answer)  # cut off before even the headers were complete


def _malformed(connection: socket.socket) -> None:
    connection.sendall(b"HTTP/1.1 2x0 Nonsense\r\nContent-Length: x\r\n\r\n{")


def _closes(connection: socket.socket) -> None:
    connection.shutdown(socket.SHUT_RDWR)


def _status(code: int) -> Callable[[socket.socket], None]:
    def handle(connection: socket.socket) -> None:
        connection.sendall(f"HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n".encode())

    return handle


def _too_long_header(connection: socket.socket) -> None:
    connection.sendall(b"HTTP/1.1 200 OK\r\nX: " + b"a" * 100_000 + b"\r\n\r\n")


def _huge(connection: socket.socket) -> None:
    connection.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
    for _ in range(40):
        connection.sendall(b" " * 65536)


@pytest.mark.parametrize(
    "handle",
    [_malformed, _closes, _status(500), _status(401), _status(302), _too_long_header, _huge],
    ids=["malformed", "closes", "500", "401", "302", "long header", "over 1 MB"],
)
def test_every_failure_is_the_same_412(handle: Callable[[socket.socket], None]) -> None:
    with _Raw(handle) as server:
        error = _error(_call(server.url))
    # The same words for every way the server can fail: a caller cannot scan ports by them.
    assert (error.status, error.message) == (
        412,
        "the intake could not be fetched: the FHIR server did not give a usable answer",
    )


def test_a_closed_port_gives_the_same_412() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = _error(_call(f"http://127.0.0.1:{port}/fhir"))
    assert error.message.endswith("the FHIR server did not give a usable answer")


# --- the service: each client's own FHIR servers ----------------------------------------


@pytest.fixture
def ehr(tmp_path: Path) -> tuple[Client, Path]:
    return Client(), tmp_path


def _app(client: Client, folder: Path, servers: dict[str, list[str]]) -> Any:
    other = Client("https://other-ehr.example.org")
    (folder / "other").mkdir(exist_ok=True)
    verifier = JwtVerifier(
        [
            TrustedIssuer(ISSUER, str(client.write_jwks(folder))),
            TrustedIssuer(other.issuer, str(other.write_jwks(folder / "other"))),
        ]
    )
    return create_app(verifier=verifier, service_url=SERVICE_URL, fhir_servers=servers)


def test_the_service_fetches_only_from_the_callers_own_servers(
    ehr: tuple[Client, Path],
) -> None:
    client, folder = ehr
    with _Raw(_ok(_bundle())) as mine, _Raw(_ok(_bundle())) as theirs:
        app = _app(client, folder, {ISSUER: [mine.url + "/"], "https://x.example": [theirs.url]})
        with TestClient(app, raise_server_exceptions=False) as test:
            ok = test.post(HOOK, json=_call(mine.url), headers=client.headers())
            refused = test.post(HOOK, json=_call(theirs.url), headers=client.headers())
    assert ok.status_code == 200
    assert refused.status_code == 412
    assert "may ask" in refused.json()["error"]
    assert theirs.heads == []


def test_without_listed_servers_the_service_never_fetches(ehr: tuple[Client, Path]) -> None:
    client, folder = ehr
    with _Raw(_ok(_bundle())) as server:
        with TestClient(_app(client, folder, {})) as test:
            response = test.post(HOOK, json=_call(server.url), headers=client.headers())
        assert response.status_code == 412
        assert server.heads == []


def test_a_listed_server_must_be_a_usable_base() -> None:
    with pytest.raises(ValueError, match="fhir_servers"):
        create_app(insecure_no_auth=True, fhir_servers={ISSUER: ["https://ehr.example/fhir?"]})


# --- the JWK Set ------------------------------------------------------------------------


def test_a_jwks_over_the_size_limit_is_not_used() -> None:
    ehr = Client()
    jwks = ehr.jwks()
    jwks["padding"] = "x" * 2_000_000  # still a valid JWK Set, with its keys
    with _Raw(_ok(jwks)) as server:
        verifier = JwtVerifier([TrustedIssuer(ISSUER, f"http://127.0.0.1:{server.port}/jwks")])
        with pytest.raises(AuthenticationUnavailable):
            verifier.verify(f"Bearer {ehr.token()}", f"{SERVICE_URL}{HOOK}")


def test_a_jwks_within_the_limit_is_used_without_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    ehr = Client()
    with _Raw(_ok(ehr.jwks())) as server, _Raw(_ok({})) as proxy:
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.delenv("no_proxy", raising=False)
        verifier = JwtVerifier([TrustedIssuer(ISSUER, f"http://127.0.0.1:{server.port}/jwks")])
        verifier.verify(f"Bearer {ehr.token()}", f"{SERVICE_URL}{HOOK}")
    assert proxy.heads == []
