"""Helpers for the service tests: CDS clients' keys and tokens, hook calls, a live server.

Test modules never import each other; the service tests share these instead.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from iop_placement import fhir

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SERVICE_URL = "https://cds.example.org"
HOOK = "/cds-services/iop-placement"
FEEDBACK = "/cds-services/iop-placement/feedback"
ISSUER = "https://ehr.example.org"
PATIENT_ID = "example"


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def hook_call(name: str = "crisis", patient: str = PATIENT_ID) -> dict[str, Any]:
    """A patient-view call with the example's intake prefetched for ``patient``."""
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/example", "patientId": patient},
        "prefetch": {
            "intake": fhir.to_questionnaire_response(example(name), subject=f"Patient/{patient}")
        },
    }


class Client:
    """A CDS client: an EC P-384 and an RSA key, its JWK Set, and tokens it signs."""

    def __init__(self, issuer: str = ISSUER) -> None:
        self.issuer = issuer
        self.ec_key = ec.generate_private_key(ec.SECP384R1())
        self.rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key, alg in (("ec-1", self.ec_key, "ES384"), ("rsa-1", self.rsa_key, "RS384")):
            algorithm = jwt.get_algorithm_by_name(alg)
            jwk: dict[str, Any] = json.loads(algorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig"})
        return {"keys": keys}

    def write_jwks(self, folder: Path) -> Path:
        path = folder / "jwks.json"
        path.write_text(json.dumps(self.jwks()), encoding="utf-8")
        return path

    def token(
        self,
        endpoint: str = HOOK,
        *,
        alg: str = "ES384",
        lifetime: int = 120,
        drop: tuple[str, ...] = (),
        **claims: Any,
    ) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "sub": "ehr-client",
            "aud": f"{SERVICE_URL}{endpoint}",
            "iat": now,
            "exp": now + lifetime,
            "jti": str(uuid.uuid4()),
            **claims,
        }
        for name in drop:
            payload.pop(name, None)
        key = self.ec_key if alg.startswith("ES") else self.rsa_key
        kid = "ec-1" if alg.startswith("ES") else "rsa-1"
        return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid, "typ": "JWT"})

    def headers(self, endpoint: str = HOOK, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(endpoint, **kwargs)}"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn with the service's own configuration, on loopback."""
    import uvicorn

    from iop_placement.service._server import server_config

    port = free_port()
    server = uvicorn.Server(server_config(app, "127.0.0.1", port, "warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the server stopped while starting"
        assert time.monotonic() < deadline, "the server did not start in 30 s"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def problems_fields(body: Mapping[str, Any]) -> list[str]:
    return [problem["field"] for problem in body["problems"]]
