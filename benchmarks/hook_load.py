"""The CDS Hooks call served, against a minimal endpoint validating the same JSON (issue 26).

Starts `iop-placement serve` (no token check, a SQLite audit trail as shipped), the same on
the compiled backend, and a minimal Starlette app on uvicorn that reads the body, validates
it as a hook request (the library's ``HookRequest`` model) and answers constant JSON. The
same hook calls (population intakes as prefetched QuestionnaireResponses) go to each over
keep-alive connections from an asyncio load generator in this process (it shares the
machine's cores), in turn within each round; the figure of record is the median over rounds
of the ratio within a round. Latencies are per request, pooled over the rounds.

    python benchmarks/hook_load.py [--seconds 4] [--rounds 5] [--connections 1 8] [--split]

``--split`` also times, in this process, each part of the work one served call does.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from run import free_port, server

from iop_placement import DEFAULT_RULES, fhir
from iop_placement._engine import PlacementEngine
from iop_placement._limits import loads_bounded
from iop_placement.audit._store import AuditStore
from iop_placement.cds_hooks._models import HookRequest
from iop_placement.cds_hooks._service import answer_hook
from iop_placement.populations import population
from iop_placement.service._app import JSONResponse

HOOK = "/cds-services/iop-placement"

MINIMAL_HOOK_APP = """
import sys
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.routing import Route
from iop_placement.cds_hooks._models import HookRequest
from iop_placement.service._app import _Guard, _json_body
from iop_placement.service._server import server_config

# argv: port, the answer's size in bytes (0: an empty card list), and how it works:
# "inline"; "thread" validates in the thread pool as serve runs its calls; "stack" also
# has serve's middleware, HTTP protocol (header timeout, limits) and bounded body reading.
SIZE, MODE = int(sys.argv[2]), sys.argv[3]
ANSWER = b'{"cards": []}' if not SIZE else b'{"cards": [{"detail": "' + b"x" * SIZE + b'"}]}'

def work(body):
    HookRequest.model_validate_json(body)
    return ANSWER

def work_parsed(document):
    HookRequest.model_validate(document)
    return ANSWER

async def hook(request):
    if MODE == "stack":
        document, _ = await _json_body(request)
        answer = await run_in_threadpool(work_parsed, document)
    else:
        body = await request.body()
        answer = await run_in_threadpool(work, body) if MODE == "thread" else work(body)
    return Response(answer, media_type="application/json")

routes = [Route("/cds-services/iop-placement", hook, methods=["POST"])]
if MODE == "stack":
    app = Starlette(routes=routes, middleware=[Middleware(_Guard)])
    uvicorn.Server(server_config(app, "127.0.0.1", int(sys.argv[1]), "warning")).run()
else:
    app = Starlette(routes=routes)
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""
SIZED = "minimal, card-sized answer"
HANDED = "minimal, card-sized answer, thread hand-off"
STACKED = (
    "minimal, card-sized answer, thread hand-off, serve's middleware, protocol and body reading"
)
"""The minimal endpoint's variants: what the size of the answer costs, what the hand-off
to a worker thread (which serve needs: a FHIR fetch or the audit commit must not block the
event loop) costs on top, and what serve's own server path (the guard middleware, the
header-timeout protocol, the bounded body read and JSON parse) adds to that."""


def hook_bodies(count: int) -> list[bytes]:
    """``count`` patient-view calls, each prefetching one population intake."""
    return [
        json.dumps(
            {
                "hook": "patient-view",
                "hookInstance": str(uuid.uuid4()),
                "context": {"userId": "Practitioner/1", "patientId": f"p{i}"},
                "prefetch": {
                    "intake": fhir.to_questionnaire_response(answers, subject=f"Patient/p{i}")
                },
            }
        ).encode()
        for i, answers in enumerate(population("community_intake", count, seed=26))
    ]


@dataclass
class Served:
    """Requests per second of each round, every request's latency in seconds, and the
    server process's CPU seconds per request in each round (where /proc tells)."""

    rates: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU time of a process so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _connection(
    port: int, bodies: list[bytes], stop: float, offset: int, latencies: list[float]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = offset
    try:
        while time.perf_counter() < stop:
            body = bodies[i % len(bodies)]
            i += 1
            started = time.perf_counter()
            writer.write(
                f"POST {HOOK} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            if status != 200:
                msg = f"status {status} from port {port}"
                raise RuntimeError(msg)
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


def load(
    port: int, bodies: list[bytes], seconds: float, connections: int
) -> tuple[float, list[float]]:
    """Requests per second over ``connections`` keep-alive connections, and the latencies."""
    latencies: list[float] = []

    async def run() -> None:
        stop = time.perf_counter() + seconds
        await asyncio.gather(
            *(_connection(port, bodies, stop, 97 * n, latencies) for n in range(connections))
        )

    started = time.perf_counter()
    asyncio.run(run())
    return len(latencies) / (time.perf_counter() - started), latencies


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(
    seconds: float,
    rounds: int,
    connections: tuple[int, ...],
    baseline: str | None = None,
    audit_dir: str | None = None,
) -> dict[int, dict[str, Served]]:
    """For each connection count, each server's rounds (in turn within a round).

    ``baseline``, a source folder (another checkout's ``src``), adds `serve` run from it.
    ``audit_dir`` holds the audit databases (a temporary folder by default; a tmpfs such
    as /dev/shm takes the disk's fsync out of the figures).
    """
    bodies = hook_bodies(500)
    sizes = sorted(len(json.dumps(answer_hook(loads_bounded(b)).response)) for b in bodies)
    card = sizes[len(sizes) // 2]  # the median answer's size
    servers = ["serve", "compiled", *(["baseline"] if baseline else [])]
    minimal = {
        "minimal": ("0", "inline"),
        SIZED: (str(card), "inline"),
        HANDED: (str(card), "thread"),
        STACKED: (str(card), "stack"),
    }
    names = [*servers, *minimal]
    ports = {name: free_port() for name in names}
    pids: dict[str, int] = {}
    results: dict[int, dict[str, Served]] = {}
    with tempfile.TemporaryDirectory(dir=audit_dir) as tmp, ExitStack() as stack:
        for name in servers:
            command = [
                sys.executable, "-m", "iop_placement", "serve", "--port", str(ports[name]),
                "--log-level", "warning", "--insecure-dev-no-auth",
                "--audit-db", f"sqlite:///{tmp}/audit-{name}.db",
            ]  # fmt: skip
            env = {"IOP_PLACEMENT_BACKEND": "compiled"} if name == "compiled" else {}
            if name == "baseline" and baseline:
                env["PYTHONPATH"] = baseline
            pids[name] = stack.enter_context(server(command, ports[name], **env)).pid
        for name, (size, mode) in minimal.items():
            command = [sys.executable, "-c", MINIMAL_HOOK_APP, str(ports[name]), size, mode]
            pids[name] = stack.enter_context(server(command, ports[name])).pid
        for count in connections:
            for port in ports.values():
                load(port, bodies, seconds / 2, count)  # warm up
            served = {name: Served() for name in ports}
            for _ in range(rounds):
                for name, port in ports.items():
                    before = cpu_seconds(pids[name])
                    rate, latencies = load(port, bodies, seconds, count)
                    after = cpu_seconds(pids[name])
                    served[name].rates.append(rate)
                    served[name].latencies += latencies
                    if before is not None and after is not None:
                        served[name].cpu.append((after - before) / len(latencies))
            results[count] = served
    return results


def ratio(served: dict[str, Served], name: str, other: str = "minimal") -> list[float]:
    return [a / b for a, b in zip(served[name].rates, served[other].rates, strict=True)]


def report(results: dict[int, dict[str, Served]]) -> str:
    lines = [
        "| connections | server | requests/s (median) | / minimal (median, min-max) |"
        " p50 ms | p99 ms | max ms | server CPU µs per request |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for count, served in results.items():
        for name, s in served.items():
            ratios = ratio(served, name)
            lat = [x * 1000 for x in s.latencies]
            lines.append(
                f"| {count} | {name} | {statistics.median(s.rates):.0f} |"
                f" {statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f}) |"
                f" {quantile(lat, 0.5):.2f} | {quantile(lat, 0.99):.2f} | {max(lat):.1f} |"
                f" {f'{statistics.median(s.cpu) * 1e6:,.0f}' if s.cpu else 'n/a'} |"
            )
    return "\n".join(lines)


def _p50_us(fn: Callable[[Any], object], items: Sequence[Any], rounds: int = 3) -> float:
    """The median over ``rounds`` of each round's p50, in µs (one call timed at a time)."""
    medians = []
    for _ in range(rounds):
        times = []
        for item in items:
            started = time.perf_counter_ns()
            fn(item)
            times.append(time.perf_counter_ns() - started)
        medians.append(statistics.median(times))
    return statistics.median(medians) / 1000


def split(count: int = 300, audit_dir: str | None = None) -> list[tuple[str, float]]:
    """p50 µs of each part of one served hook call's work, in this process, each backend.

    What `serve` does per call (the JSON parse, ``answer_hook``, the audit append, the
    response), beside what the minimal endpoint does (validating the body as JSON).
    """
    raw = hook_bodies(count)
    bodies = [loads_bounded(body) for body in raw]
    rows = [
        ("bounded JSON parse of the body (`loads_bounded`)", _p50_us(loads_bounded, raw)),
        ("the minimal endpoint's work (`HookRequest.model_validate_json`)",
         _p50_us(HookRequest.model_validate_json, raw)),
    ]  # fmt: skip
    for backend in ("durable", "compiled"):
        engine = PlacementEngine.from_directory(DEFAULT_RULES, backend=backend)
        answer = functools.partial(answer_hook, engine=engine)
        rows.append((f"`answer_hook`, {backend} backend", _p50_us(answer, bodies)))
    answers = [answer_hook(body) for body in bodies]
    with tempfile.TemporaryDirectory(dir=audit_dir) as tmp:
        store = AuditStore.open(f"sqlite:///{tmp}/audit.db")
        rows.append(
            (
                "the audit append (SQLite, one call at a time: no group to commit with)",
                _p50_us(
                    lambda a: store.append("card", a.audit_content(), card_uuid=a.card_uuid),
                    answers[:100],
                ),
            )
        )
    rows.append(
        ("`JSONResponse(answer.response)`", _p50_us(lambda a: JSONResponse(a.response), answers))
    )
    return rows


INSIDE_SERVE = """
import json, signal, sys, time
import iop_placement.audit._store as store
import iop_placement.service._app as app
from iop_placement.cli import main

# argv: the file for the results, then serve's arguments. Each part's thread CPU time per
# call, inside the served process (the parts as serve calls them, in its threads).
OUT, times = sys.argv[1], {}

def timed(owner, name, label):
    function = getattr(owner, name)
    def wrapper(*args, **kwargs):
        started = time.thread_time_ns()
        try:
            return function(*args, **kwargs)
        finally:
            times.setdefault(label, []).append(time.thread_time_ns() - started)
    setattr(owner, name, wrapper)

timed(app, "loads_bounded", "bounded JSON parse of the body (event loop)")
timed(app, "answer_hook", "`answer_hook` (worker thread)")
timed(store.AuditStore, "append", "the audit append (worker thread)")
timed(app._Endpoints, "_hook", "all of the worker thread's part (`answer_hook`, append, response)")

def report(*_):
    with open(OUT, "w") as out:
        json.dump(times, out)
    sys.exit(0)

signal.signal(signal.SIGTERM, report)
main(["serve", *sys.argv[2:]])
"""


def inside(seconds: float, audit_dir: str | None = None) -> tuple[list[tuple[str, float]], float]:
    """Each part's p50 thread CPU µs inside a served process at 1 connection, and the
    process's CPU µs per request (/proc): the parts as serve runs them, in its threads."""
    bodies = hook_bodies(500)
    port = free_port()
    with tempfile.TemporaryDirectory(dir=audit_dir) as tmp:
        out = Path(tmp) / "parts.json"
        command = [
            sys.executable, "-c", INSIDE_SERVE, str(out), "--port", str(port),
            "--log-level", "warning", "--insecure-dev-no-auth",
            "--audit-db", f"sqlite:///{tmp}/audit.db",
        ]  # fmt: skip
        with server(command, port) as process:
            load(port, bodies, seconds / 2, 1)  # warm up
            before = cpu_seconds(process.pid)
            _, latencies = load(port, bodies, seconds, 1)
            after = cpu_seconds(process.pid)
        times: dict[str, list[int]] = json.loads(out.read_text())
    per_request = (after - before) / len(latencies) * 1e6 if before and after else float("nan")
    # The parts over the measured calls only (the warm-up's calls came first).
    rows = [
        (label, statistics.median(values[-len(latencies) :]) / 1000)
        for label, values in times.items()
    ]
    return rows, per_request


def inside_report(rows: list[tuple[str, float]], per_request: float) -> str:
    lines = ["| part, inside the served process | p50 thread CPU µs |", "|---|---:|"]
    lines += [f"| {what} | {us:.1f} |" for what, us in rows]
    lines.append(f"| the whole process, per request (/proc) | {per_request:,.0f} |")
    return "\n".join(lines)


def split_report(rows: list[tuple[str, float]]) -> str:
    lines = ["| part of one served call | p50 µs |", "|---|---:|"]
    lines += [f"| {what} | {us:.1f} |" for what, us in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="per server per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--baseline", metavar="SRC", help="also serve from this source folder")
    parser.add_argument("--audit-dir", metavar="DIR", help="where the audit databases go")
    parser.add_argument("--split", action="store_true", help="also time each part of a call")
    args = parser.parse_args()
    if args.split:
        print(split_report(split(audit_dir=args.audit_dir)), end="\n\n")
        print(inside_report(*inside(args.seconds, args.audit_dir)), end="\n\n")
    connections = tuple(args.connections)
    results = measure(args.seconds, args.rounds, connections, args.baseline, args.audit_dir)
    print(report(results))


if __name__ == "__main__":
    main()
