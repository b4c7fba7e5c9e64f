"""CDS Hooks 2.0 authentication: the CDS client's signed JWT, verified; 401 otherwise."""

from __future__ import annotations

import base64
import http.server
import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from starlette.testclient import TestClient

from iop_placement.audit import AuditStore
from iop_placement.service import (
    AuthenticationError,
    AuthenticationUnavailable,
    JwtVerifier,
    TrustedIssuer,
    create_app,
)
from service_helpers import FEEDBACK, HOOK, ISSUER, SERVICE_URL, Client, hook_call


@pytest.fixture(scope="module")
def ehr() -> Client:
    return Client()


@pytest.fixture(scope="module")
def client(ehr: Client, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("auth")
    verifier = JwtVerifier([TrustedIssuer(ISSUER, str(ehr.write_jwks(folder)))])
    audit = AuditStore.open(f"sqlite:///{folder / 'audit.db'}")
    app = create_app(verifier=verifier, service_url=SERVICE_URL, audit=audit)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    audit.close()


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _refused(response: Any, reason: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith('Bearer realm="iop-placement"')
    assert response.headers["cache-control"] == "no-store"
    assert reason in response.json()["error"]


@pytest.mark.parametrize("alg", ["ES384", "RS384", "RS256", "RS512", "PS256"])
def test_a_signed_token_from_a_trusted_issuer_is_accepted(
    client: TestClient, ehr: Client, alg: str
) -> None:
    response = client.post(HOOK, json=hook_call(), headers=ehr.headers(alg=alg))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert len(response.json()["cards"]) == 1


def test_no_token_is_a_401(client: TestClient) -> None:
    _refused(client.post(HOOK, json=hook_call()), "bearer token is required")
    _refused(client.post(HOOK, json=hook_call(), headers={"Authorization": "Basic eA=="}), "Bearer")


def test_a_garbage_token_is_a_401(client: TestClient) -> None:
    for token in ("garbage", "a.b.c", "x" * 9000):
        headers = {"Authorization": f"Bearer {token}"}
        _refused(client.post(HOOK, json=hook_call(), headers=headers), "")


def test_an_unsigned_alg_none_token_is_a_401(client: TestClient) -> None:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": f"{SERVICE_URL}{HOOK}", "iat": now, "exp": now + 60}
    token = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': 'ec-1'})}.{_b64(claims)}."
    headers = {"Authorization": f"Bearer {token}"}
    _refused(client.post(HOOK, json=hook_call(), headers=headers), "algorithm")


def test_an_hmac_token_keyed_with_the_public_key_is_a_401(client: TestClient, ehr: Client) -> None:
    # The classic algorithm confusion: HS256 with the published RSA key as the secret.
    public = ehr.rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": f"{SERVICE_URL}{HOOK}", "iat": now, "exp": now + 60}
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"})
    import hashlib
    import hmac

    signing_input = f"{header}.{_b64({**claims, 'jti': str(uuid.uuid4())})}"
    signature = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
    headers = {"Authorization": f"Bearer {token}"}
    _refused(client.post(HOOK, json=hook_call(), headers=headers), "algorithm")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"exp_in": -600, "iat_in": -700}, "expired"),
        ({"aud": "https://other.example/cds-services/iop-placement"}, "aud"),
        ({"aud": f"{SERVICE_URL}/cds-services/other"}, "aud"),
        ({"iss": "https://evil.example"}, "issuer"),
        ({"lifetime": 3600}, "five minutes"),
        ({"iat_in": 600}, ""),
        ({"drop": ("jti",)}, "claim"),
        ({"drop": ("exp",)}, "claim"),
        ({"drop": ("iat",)}, "claim"),
    ],
)
def test_a_token_with_bad_claims_is_a_401(
    client: TestClient, ehr: Client, changes: dict[str, Any], reason: str
) -> None:
    changes = dict(changes)
    lifetime = changes.pop("lifetime", 120)
    drop = changes.pop("drop", ())
    # Times relative to when the test runs, not to when the module was collected: a slow
    # suite reached this test after a collection-time "future" iat had passed.
    now = int(time.time())
    for claim in ("exp", "iat"):
        if f"{claim}_in" in changes:
            changes[claim] = now + changes.pop(f"{claim}_in")
    token = ehr.token(lifetime=lifetime, drop=drop, **changes)
    headers = {"Authorization": f"Bearer {token}"}
    _refused(client.post(HOOK, json=hook_call(), headers=headers), reason)


def test_a_token_signed_by_another_key_is_a_401(client: TestClient) -> None:
    impostor = Client()  # same issuer name and kid, other keys
    _refused(client.post(HOOK, json=hook_call(), headers=impostor.headers()), "signature")


def test_an_unknown_key_id_is_a_401(client: TestClient, ehr: Client) -> None:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": f"{SERVICE_URL}{HOOK}", "iat": now, "exp": now + 60}
    token = jwt.encode(
        {**claims, "jti": "k"}, ehr.ec_key, algorithm="ES384", headers={"kid": "nope"}
    )
    _refused(
        client.post(HOOK, json=hook_call(), headers={"Authorization": f"Bearer {token}"}), "key"
    )


def test_a_replayed_token_is_a_401(client: TestClient, ehr: Client) -> None:
    headers = ehr.headers()
    assert client.post(HOOK, json=hook_call(), headers=headers).status_code == 200
    _refused(client.post(HOOK, json=hook_call(), headers=headers), "replay")


def test_the_feedback_endpoint_needs_its_own_audience(client: TestClient, ehr: Client) -> None:
    body = {"feedback": [{"card": str(uuid.uuid4()), "outcome": "accepted"}]}
    _refused(client.post(FEEDBACK, json=body, headers=ehr.headers(HOOK)), "aud")
    _refused(client.post(FEEDBACK, json=body), "bearer token is required")


def test_the_audience_comes_from_the_configuration_not_the_host(
    client: TestClient, ehr: Client
) -> None:
    token = ehr.token(aud="http://testserver/cds-services/iop-placement")
    headers = {"Authorization": f"Bearer {token}", "Host": "testserver"}
    _refused(client.post(HOOK, json=hook_call(), headers=headers), "aud")


def test_discovery_needs_no_token(client: TestClient) -> None:
    response = client.get("/cds-services")
    assert (response.status_code, response.headers["cache-control"]) == (200, "no-store")


def test_the_app_refuses_to_start_without_authentication_unless_told() -> None:
    with pytest.raises(ValueError, match="JwtVerifier"):
        create_app()
    verifier = JwtVerifier([TrustedIssuer(ISSUER, "https://ehr.example.org/jwks")])
    with pytest.raises(ValueError, match="service's own URL"):
        create_app(verifier=verifier)


def test_a_jwks_url_is_fetched_once_and_cached(ehr: Client) -> None:
    fetched: list[str] = []
    document = json.dumps(ehr.jwks()).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetched.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
        verifier = JwtVerifier([TrustedIssuer(ISSUER, url)])
        app = create_app(verifier=verifier, service_url=SERVICE_URL)
        with TestClient(app) as test_client:
            for _ in range(3):
                response = test_client.post(HOOK, json=hook_call(), headers=ehr.headers())
                assert response.status_code == 200
    finally:
        server.shutdown()
        server.server_close()
    assert fetched == ["/jwks.json"]


def test_an_unreachable_jwks_url_is_a_503_not_a_pass(ehr: Client) -> None:
    verifier = JwtVerifier([TrustedIssuer(ISSUER, "http://127.0.0.1:9/jwks.json")])
    with TestClient(create_app(verifier=verifier, service_url=SERVICE_URL)) as test_client:
        response = test_client.post(HOOK, json=hook_call(), headers=ehr.headers())
    assert response.status_code == 503


def test_trusted_issuer_parsing(tmp_path: Path) -> None:
    assert TrustedIssuer.parse("https://a.example=/k.json") == TrustedIssuer(
        "https://a.example", "/k.json"
    )
    for text in ("nojwks", "=x", "x="):
        with pytest.raises(ValueError, match="ISSUER=JWKS"):
            TrustedIssuer.parse(text)
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="cannot read the JWK Set"):
        JwtVerifier([TrustedIssuer(ISSUER, str(bad))])


def test_the_memory_of_seen_ids_is_bounded(
    ehr: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from iop_placement.service import _auth

    monkeypatch.setattr(_auth, "MAX_REMEMBERED_IDS", 2)
    verifier = JwtVerifier([TrustedIssuer(ISSUER, str(ehr.write_jwks(tmp_path)))])
    audience = f"{SERVICE_URL}{HOOK}"
    for _ in range(2):
        verifier.verify(f"Bearer {ehr.token()}", audience)
    with pytest.raises(_auth.AuthenticationUnavailable):
        verifier.verify(f"Bearer {ehr.token()}", audience)


def test_verifiers_sharing_an_audit_database_refuse_each_others_replays(
    ehr: Client, tmp_path: Path
) -> None:
    # Two verifiers on one database stand for two `serve --workers` processes.
    jwks = str(ehr.write_jwks(tmp_path))
    url = f"sqlite:///{tmp_path / 'ids.db'}"
    audience = f"{SERVICE_URL}{HOOK}"
    with AuditStore.open(url) as first_store, AuditStore.open(url) as second_store:
        first = JwtVerifier([TrustedIssuer(ISSUER, jwks)], claim_id=first_store.claim_token_id)
        second = JwtVerifier([TrustedIssuer(ISSUER, jwks)], claim_id=second_store.claim_token_id)
        token = ehr.token()
        first.verify(f"Bearer {token}", audience)
        with pytest.raises(AuthenticationError, match="replay"):
            second.verify(f"Bearer {token}", audience)
        second.verify(f"Bearer {ehr.token()}", audience)  # another token is fine


def test_token_ids_that_cannot_be_recorded_are_a_503_not_a_pass(
    ehr: Client, tmp_path: Path
) -> None:
    store = AuditStore.open(f"sqlite:///{tmp_path / 'ids.db'}")
    verifier = JwtVerifier(
        [TrustedIssuer(ISSUER, str(ehr.write_jwks(tmp_path)))], claim_id=store.claim_token_id
    )
    store.close()
    with pytest.raises(AuthenticationUnavailable, match="cannot be recorded"):
        verifier.verify(f"Bearer {ehr.token()}", f"{SERVICE_URL}{HOOK}")


def test_a_jwks_url_in_clear_text_is_refused_off_loopback() -> None:
    with pytest.raises(ValueError, match="https"):
        JwtVerifier([TrustedIssuer(ISSUER, "http://ehr.example.org/jwks.json")])
    JwtVerifier([TrustedIssuer(ISSUER, "https://ehr.example.org/jwks.json")])  # not fetched yet


def test_serve_wires_authentication_cors_and_the_page_from_its_options(
    ehr: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from iop_placement.cli import main
    from iop_placement.service import _server

    preflight = {
        "Origin": "https://ehr.example.org",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    seen: list[Any] = []

    def run_server(app: Any, host: str, port: int, log_level: str) -> None:  # noqa: ARG001
        # What serve would serve, asked while it is serving (the audit store is open).
        with TestClient(app, base_url=SERVICE_URL) as test_client:  # its Host
            allowed = test_client.options(HOOK, headers=preflight).headers
            evil = {**preflight, "Origin": "https://evil.example"}
            seen.extend(
                [
                    host,
                    allowed.get("access-control-allow-origin"),
                    test_client.options(HOOK, headers=evil).headers.get(
                        "access-control-allow-origin"
                    ),
                    test_client.post(HOOK, json=hook_call()).status_code,
                    test_client.post(HOOK, json=hook_call(), headers=ehr.headers()).status_code,
                    test_client.get("/").status_code,
                ]
            )

    monkeypatch.setattr(_server, "run_server", run_server)
    args = [
        "serve", "--host", "0.0.0.0", "--service-url", SERVICE_URL,
        "--trust", f"{ISSUER}={ehr.write_jwks(tmp_path)}",
        "--cors-origin", "https://ehr.example.org",
        "--audit-db", f"sqlite:///{tmp_path / 'audit.db'}",
    ]  # fmt: skip
    assert main(args) == 0
    # CORS for the configured origin only; a token needed; no intake page off loopback.
    assert seen == ["0.0.0.0", "https://ehr.example.org", None, 401, 200, 404]


@pytest.mark.parametrize("claim", ["exp", "iat"])
def test_a_numeric_string_exp_or_iat_is_a_401_not_a_500(
    client: TestClient, ehr: Client, claim: str
) -> None:
    now = int(time.time())
    value = str(now + 120 if claim == "exp" else now)
    headers = ehr.headers(**{claim: value})
    _refused(client.post(HOOK, json=hook_call(), headers=headers), "must be numbers")


@pytest.mark.parametrize("typ", ["at+jwt", "dpop+jwt", None, 7])
def test_a_token_of_another_type_is_a_401(client: TestClient, ehr: Client, typ: object) -> None:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": f"{SERVICE_URL}{HOOK}", "iat": now, "exp": now + 60}
    token = jwt.encode(
        {**claims, "jti": str(uuid.uuid4())},
        ehr.ec_key,
        algorithm="ES384",
        headers={"kid": "ec-1", "typ": typ},
    )
    if typ is None:  # PyJWT writes typ JWT unless told to leave it out
        assert "typ" not in jwt.get_unverified_header(token)
    headers = {"Authorization": f"Bearer {token}"}
    _refused(client.post(HOOK, json=hook_call(), headers=headers), "typ")


def test_a_key_that_declares_its_algorithm_is_used_with_that_one_only(
    ehr: Client, tmp_path: Path
) -> None:
    jwks = ehr.jwks()
    for key in jwks["keys"]:
        key["alg"] = "RS384" if key["kid"] == "rsa-1" else "ES384"
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks), encoding="utf-8")
    verifier = JwtVerifier([TrustedIssuer(ISSUER, str(path))])
    audience = f"{SERVICE_URL}{HOOK}"
    verifier.verify(ehr.headers(alg="RS384")["Authorization"], audience)
    for alg in ("RS256", "RS512", "PS256"):
        with pytest.raises(AuthenticationError, match="declares"):
            verifier.verify(ehr.headers(alg=alg)["Authorization"], audience)
