"""The service keeps answering when its audit database goes away and comes back (issue 24, 2).

While the store is down every call that needs it is a JSON 503 with ``Retry-After`` and a
log line (the JWT path too); once it is back the service answers 200 again, nothing
acknowledged is lost and the chain verifies.

The PostgreSQL restart test stops and starts the real server CI runs (``.ci/run`` exports
``IOP_PLACEMENT_TEST_POSTGRES_URL`` and, for this test, ``IOP_PLACEMENT_TEST_PG_CTL`` and
``IOP_PLACEMENT_TEST_PG_DATA``: the cluster's ``pg_ctl`` and data directory). Without
the last two it skips; with only some of the three set it fails.
"""

from __future__ import annotations

import logging
import os
import pwd
import shlex
import subprocess
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from iop_placement.audit import AuditStore, verify
from iop_placement.service import JwtVerifier, TrustedIssuer, create_app
from service_helpers import HOOK, ISSUER, SERVICE_URL, Client, hook_call

POSTGRES_ENV = "IOP_PLACEMENT_TEST_POSTGRES_URL"
PG_CTL_ENV = "IOP_PLACEMENT_TEST_PG_CTL"
PG_DATA_ENV = "IOP_PLACEMENT_TEST_PG_DATA"


def _unavailable(response: object) -> None:
    status = getattr(response, "status_code", None)
    assert status == 503, getattr(response, "text", "")
    headers = getattr(response, "headers", {})
    assert headers["retry-after"] == "5"
    assert headers["content-type"] == "application/json"
    assert "cards" not in getattr(response, "json")()  # noqa: B009


def test_a_store_that_cannot_be_written_is_a_503_with_retry_after(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = AuditStore.open(f"sqlite:///{tmp_path / 'audit.db'}")
    with TestClient(create_app(insecure_no_auth=True, audit=store)) as client:
        store.close()  # the database goes away
        with caplog.at_level(logging.ERROR, logger="iop_placement"):
            _unavailable(client.post(HOOK, json=hook_call()))
    assert "the audit trail could not be written" in caplog.text


def test_the_jwt_path_logs_and_answers_503_with_retry_after(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ehr = Client()
    store = AuditStore.open(f"sqlite:///{tmp_path / 'audit.db'}")
    verifier = JwtVerifier(
        [TrustedIssuer(ISSUER, str(ehr.write_jwks(tmp_path)))], claim_id=store.claim_token_id
    )
    app = create_app(verifier=verifier, service_url=SERVICE_URL, audit=store)
    with TestClient(app) as client:
        assert client.post(HOOK, json=hook_call(), headers=ehr.headers()).status_code == 200
        store.close()
        token = ehr.token()
        with caplog.at_level(logging.ERROR, logger="iop_placement"):
            _unavailable(
                client.post(HOOK, json=hook_call(), headers={"Authorization": f"Bearer {token}"})
            )
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("iop_placement")]
    assert lines == [
        "authentication unavailable on /cds-services/{service_id}:"
        " the token ids cannot be recorded now"
    ]
    assert token not in caplog.text


# --- the real PostgreSQL server, stopped and started --------------------------------------


class _Cluster:
    """The test server's cluster, stopped and started with its own pg_ctl as its owner."""

    def __init__(self, pg_ctl: str, data: str) -> None:
        self.pg_ctl, self.data = pg_ctl, data
        self.owner = pwd.getpwuid(Path(data).stat().st_uid).pw_name

    def _run(self, *args: str) -> None:
        command = shlex.join([self.pg_ctl, "-D", self.data, *args])
        if os.geteuid() == 0 and self.owner != "root":  # CI runs as root; the cluster is not
            argv = ["su", self.owner, "-s", "/bin/sh", "-c", command]
        else:
            argv = ["/bin/sh", "-c", command]
        subprocess.run(argv, check=True, capture_output=True, timeout=120)

    def stop(self) -> None:
        self._run("-m", "fast", "-w", "stop")

    def start(self) -> None:
        self._run("-w", "-l", str(Path(self.data) / "restart-test.log"), "start")


@pytest.fixture
def cluster_db() -> Iterator[tuple[str, _Cluster]]:
    admin = os.environ.get(POSTGRES_ENV)
    pg_ctl, data = os.environ.get(PG_CTL_ENV), os.environ.get(PG_DATA_ENV)
    needed = f"{POSTGRES_ENV}, {PG_CTL_ENV} and {PG_DATA_ENV}"
    if not (pg_ctl or data):
        pytest.skip(f"no PostgreSQL cluster to restart: set {needed}")
    if not (admin and pg_ctl and data):
        pytest.fail(f"the restart test needs all of {needed}")  # half set: never skip silently
    import psycopg

    cluster = _Cluster(pg_ctl, data)
    name = f"iop_restart_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urllib.parse.urlsplit(admin)
    url = urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    try:
        yield url, cluster
    finally:
        if not _reachable(admin):
            cluster.start()
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _reachable(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def test_after_a_postgres_restart_the_service_answers_again_and_loses_nothing(
    cluster_db: tuple[str, _Cluster], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url, cluster = cluster_db
    ehr = Client()
    store = AuditStore.open(url)
    verifier = JwtVerifier(
        [TrustedIssuer(ISSUER, str(ehr.write_jwks(tmp_path)))], claim_id=store.claim_token_id
    )
    app = create_app(verifier=verifier, service_url=SERVICE_URL, audit=store)
    cards: list[str] = []

    def call() -> object:
        response = client.post(HOOK, json=hook_call(), headers=ehr.headers())
        if response.status_code == 200:
            cards.append(response.json()["cards"][0]["uuid"])
        return response

    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            for _ in range(5):
                assert call().status_code == 200  # type: ignore[attr-defined]
            cluster.stop()
            try:
                with caplog.at_level(logging.ERROR, logger="iop_placement"):
                    for _ in range(3):
                        _unavailable(call())
            finally:
                cluster.start()
            # Back: the pool replaces its broken connections. A bound for a failing run,
            # not a measured time (the issue saw 503s two minutes after the restart).
            deadline = time.monotonic() + 60
            while call().status_code != 200:  # type: ignore[attr-defined]
                assert time.monotonic() < deadline, "still no 200 a minute after the restart"
                time.sleep(0.2)
            for _ in range(5):
                assert call().status_code == 200  # type: ignore[attr-defined]
        assert "authentication unavailable" in caplog.text
    finally:
        store.close()
    report = verify(url)
    assert report.ok, report.problems
    with AuditStore.open(url) as reader:
        recorded = [entry.card_uuid for entry in reader.entries()]
    assert recorded == cards  # every card answered is recorded, and only those
