"""Fault and load run against `iop-placement serve` over loopback, with real JWTs.

Starts the server in a subprocess (a JWK Set of its own, a SQLite audit trail in a
temporary folder), sends the hostile inputs of issue 14 while slow clients hold
connections open, then a bounded load of hook calls, intake-API calls and discovery
at N connections. Prints the figures as Markdown (docs/performance.md); the test
tests/test_service_load.py runs the same functions and asserts outcomes, never times.

    python benchmarks/service_load.py [--requests 2000] [--connections 16]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from iop_placement import fhir

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ISSUER = "https://ehr.example.org"
HOOK = "/cds-services/iop-placement"
SECRET = "SECRETPHI_Jane_Roe"
MB = 1_000_000


def _example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """A running `iop-placement serve` and what is needed to call it."""

    process: subprocess.Popen[bytes]
    port: int
    key: ec.EllipticCurvePrivateKey
    folder: Path
    base: str = ""

    def __post_init__(self) -> None:
        self.base = f"http://127.0.0.1:{self.port}"

    def token(self, endpoint: str = HOOK, **claims: int) -> str:
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "sub": "ehr",
            "aud": f"{self.base}{endpoint}",
            "iat": now,
            "exp": now + 120,
            "jti": str(uuid.uuid4()),
            **claims,
        }
        return jwt.encode(payload, self.key, algorithm="ES384", headers={"kid": "k1"})

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        msg = "no VmRSS"
        raise RuntimeError(msg)

    def worker_pids(self) -> list[int]:
        """The server's worker processes (``--workers N``); empty with one process."""
        pids = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                text = status.read_text()
                cmdline = (status.parent / "cmdline").read_bytes()
            except OSError:
                continue
            parent = next(line for line in text.splitlines() if line.startswith("PPid:"))
            # gunicorn's workers are forks of the server; leave out multiprocessing's tracker
            if int(parent.split()[1]) == self.process.pid and b"resource_tracker" not in cmdline:
                pids.append(int(status.parent.name))
        return sorted(pids)

    def log(self) -> str:
        return "".join(
            (self.folder / name).read_text(encoding="utf-8", errors="replace")
            for name in ("out.log", "err.log")
        )


@contextmanager
def running_server(workers: int = 1) -> Iterator[Server]:
    """`iop-placement serve` with JWT authentication, on a free loopback port."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        key = ec.generate_private_key(ec.SECP384R1())
        jwk = json.loads(jwt.get_algorithm_by_name("ES384").to_jwk(key.public_key()))
        (folder / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "k1"}]}))
        port = _free_port()
        command = [
            sys.executable, "-m", "iop_placement", "serve", "--port", str(port),
            "--service-url", f"http://127.0.0.1:{port}",
            "--trust", f"{ISSUER}={folder / 'jwks.json'}",
            "--audit-db", f"sqlite:///{folder / 'audit.db'}", "--log-level", "info",
            "--workers", str(workers),
        ]  # fmt: skip
        with (folder / "out.log").open("wb") as out, (folder / "err.log").open("wb") as err:
            process = subprocess.Popen(command, stdout=out, stderr=err)
            server = Server(process, port, key, folder)
            try:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        with socket.create_connection(("127.0.0.1", port), timeout=1):
                            break
                    except OSError:
                        if process.poll() is not None or time.monotonic() > deadline:
                            msg = "the server did not start:\n" + server.log()
                            raise RuntimeError(msg) from None
                        time.sleep(0.1)
                yield server
            finally:
                process.terminate()
                process.wait(timeout=30)


def hook_call(patient: str = "p1", name: str = "intensive_outpatient") -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/1", "patientId": patient},
        "prefetch": {
            "intake": fhir.to_questionnaire_response(_example(name), subject=f"Patient/{patient}")
        },
    }


def request(
    server: Server,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    conn: http.client.HTTPConnection | None = None,
) -> tuple[int, bytes]:
    """One request (on ``conn`` if given, kept open); the status and the body."""
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        reply = conn.getresponse()
        return reply.status, reply.read()
    finally:
        if own:
            conn.close()


def post(
    server: Server,
    path: str,
    body: object,
    *,
    token: str | None = "new",
    media: str = "application/json",
    conn: http.client.HTTPConnection | None = None,
) -> tuple[int, bytes]:
    """POST ``body`` (JSON-encoded unless bytes) with a fresh token, another, or none."""
    headers = {"Content-Type": media}
    if token == "new":
        headers["Authorization"] = f"Bearer {server.token()}"
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return request(server, "POST", path, body=data, headers=headers, conn=conn)


def _b64(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _chunked_flood(server: Server, total: int) -> tuple[int, int]:
    """A chunked body of ``total`` bytes; the status and how many bytes went out first."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(
            f"POST {HOOK} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Authorization: Bearer {server.token()}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        chunk = b" " * 65536
        frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        sent, reply = 0, b""
        sock.settimeout(0.02)
        while sent < total and not reply:
            try:
                sock.sendall(frame)
                sent += len(chunk)
            except TimeoutError:
                continue
            except OSError:
                break
            try:
                reply = sock.recv(4096)
            except TimeoutError:
                continue
        sock.settimeout(30)
        while b"\r\n" not in reply:
            more = sock.recv(4096)
            if not more:
                break
            reply += more
    status = int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.1 ") else 0
    return status, sent


def _invalid_obligations() -> bytes:
    """An intake-API body just under 1 MB whose obligations are all invalid."""
    answers = {**_example("standard_outpatient"), "obligations": ["bad"] * 130_000}
    body = json.dumps(answers).encode()
    assert len(body) < MB, len(body)
    return body


def _at_once(count: int, call: Callable[[], tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    replies: list[tuple[int, bytes]] = []
    threads = [threading.Thread(target=lambda: replies.append(call())) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return replies


def hostile(server: Server) -> dict[str, tuple[int, int]]:
    """Every hostile input: name -> (status, size of the answer; for a flood, bytes sent)."""
    results: dict[str, tuple[int, int]] = {}

    def record(name: str, reply: tuple[int, bytes]) -> None:
        results[name] = (reply[0], len(reply[1]))

    call = hook_call()
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": server.base + HOOK, "iat": now, "exp": now + 60}
    unsigned = f"{_b64({'alg': 'none', 'kid': 'k1'})}.{_b64(claims)}."
    reused = server.token()
    post(server, HOOK, call, token=reused)
    record("no token", post(server, HOOK, call, token=None))
    record("garbage token", post(server, HOOK, call, token="garbage"))
    record("alg=none token", post(server, HOOK, call, token=unsigned))
    record(
        "expired token", post(server, HOOK, call, token=server.token(iat=now - 900, exp=now - 600))
    )
    record("replayed token", post(server, HOOK, call, token=reused))
    wrong = hook_call()
    wrong["context"]["patientId"] = "p2"
    record("another patient's intake", post(server, HOOK, wrong))
    record("empty context", post(server, HOOK, {**hook_call(), "context": {}}))
    record("non-UUID hookInstance", post(server, HOOK, {**hook_call(), "hookInstance": "42"}))
    record("text/plain body", post(server, HOOK, call, media="text/plain"))
    obligations = _invalid_obligations()
    record(
        "1 MB of invalid obligations", post(server, "/api/recommendation", obligations, token=None)
    )
    five = _at_once(5, lambda: post(server, "/api/recommendation", obligations, token=None))
    results["5 x 1 MB of invalid obligations at once"] = (
        max(status for status, _ in five),
        max(len(reply) for _, reply in five),
    )
    results["100 MB chunked body (bytes sent before the answer)"] = _chunked_flood(server, 100 * MB)
    record("5000-digit integer", post(server, HOOK, b'{"hook": ' + b"9" * 5000 + b"}"))
    record("100k-deep nesting", post(server, HOOK, b"[" * 100_000 + b"]" * 100_000))
    headers = {
        "Content-Type": "application/json",
        "Content-Length": str(10**12),
        "Authorization": f"Bearer {server.token()}",
    }
    record("Content-Length of 1 TB", request(server, "POST", HOOK, body=b"{}", headers=headers))
    big = {"Content-Type": "application/json", "X-Filler": "x" * 40_000}
    record("40 KB of headers", request(server, "POST", HOOK, body=b"{}", headers=big))
    unknown = {**_example("standard_outpatient"), SECRET: 1}
    status, reply = post(server, "/api/recommendation", unknown, token=None)
    results["unknown field named like a patient (-1: echoed)"] = (
        status,
        -1 if SECRET.encode() in reply else len(reply),
    )
    record("query string with patient data", request(server, "GET", f"/cds-services?p={SECRET}"))
    return results


@dataclass
class LoadResult:
    """What a load run saw."""

    statuses: Counter[int] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def _kinds(server: Server) -> list[Callable[[http.client.HTTPConnection], tuple[int, bytes]]]:
    intake = _example("intensive_outpatient")

    def hook(conn: http.client.HTTPConnection) -> tuple[int, bytes]:
        return post(server, HOOK, hook_call(f"p{uuid.uuid4().hex[:8]}"), conn=conn)

    def recommendation(conn: http.client.HTTPConnection) -> tuple[int, bytes]:
        return post(server, "/api/recommendation", intake, token=None, conn=conn)

    def discovery(conn: http.client.HTTPConnection) -> tuple[int, bytes]:
        return request(server, "GET", "/cds-services", conn=conn)

    return [hook, recommendation, discovery]


def load(server: Server, total: int, connections: int) -> LoadResult:
    """``total`` requests (hook calls, intake API, discovery in turn) over ``connections``."""
    result = LoadResult()
    kinds = _kinds(server)
    lock = threading.Lock()
    counter = iter(range(total))

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        try:
            while True:
                with lock:
                    number = next(counter, None)
                if number is None:
                    return
                started = time.perf_counter()
                try:
                    status, _ = kinds[number % len(kinds)](conn)
                except (OSError, http.client.HTTPException) as error:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
                    with lock:
                        result.errors.append(type(error).__name__)
                    continue
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    result.statuses[status] += 1
                    result.latencies_ms.append(elapsed)
        finally:
            conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result


@contextmanager
def slow_clients(server: Server, count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections that send half a request's headers and then nothing."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
            sock.sendall(b"POST /cds-services/iop-placement HTTP/1.1\r\nHost: x\r\n")
            socks.append(sock)
        yield socks
    finally:
        for sock in socks:
            sock.close()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    with running_server() as server:
        load(server, 200, 4)  # warm-up
        rss_start = server.rss_kib()
        with slow_clients(server, 50):
            faults = hostile(server)
            rss_before = server.rss_kib()
            result = load(server, args.requests, args.connections)
        rss_after = server.rss_kib()
        log = server.log()
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs (shared)"
    print(f"- Machine: {machine}, Python {platform.python_version()}")
    print(f"- {args.requests} requests at {args.connections} connections;", end=" ")
    print("50 slow clients hold half-sent requests open throughout")
    print()
    print("| hostile input | status | answer bytes |")
    print("|---|---:|---:|")
    for name, (status, size) in faults.items():
        print(f"| {name} | {status} | {size:,} |")
    print()
    lat = result.latencies_ms
    p50, p95, p99 = statistics.median(lat), _percentile(lat, 0.95), _percentile(lat, 0.99)
    print("| load | value |")
    print("|---|---:|")
    print(f"| statuses | {dict(result.statuses)} |")
    print(f"| connection errors | {len(result.errors)} |")
    print(f"| throughput | {len(lat) / result.seconds:,.0f} requests/s |")
    print(f"| latency p50 / p95 / p99 | {p50:.1f} / {p95:.1f} / {p99:.1f} ms |")
    rss = f"{rss_start / 1024:.1f} / {rss_before / 1024:.1f} / {rss_after / 1024:.1f}"
    print(f"| server RSS after warm-up / after the hostile inputs / after the load | {rss} MiB |")
    tracebacks, leaked = log.count("Traceback"), log.count(SECRET)
    print(f"| tracebacks / patient text in the server log | {tracebacks} / {leaked} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
