"""The fault and load run over loopback, asserted: outcomes and memory, never times.

It drives ``iop-placement serve`` (with JWT authentication and a SQLite audit trail)
through benchmarks/service_load.py, which also prints the figures for
docs/performance.md: the hostile inputs of issue 14 while 50 slow clients hold
half-sent requests open, then 2,000 requests at 16 connections.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

HOOK = "/cds-services/iop-placement"
SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "service_load.py"
EXPECTED = {
    "no token": 401,
    "garbage token": 401,
    "alg=none token": 401,
    "expired token": 401,
    "replayed token": 401,
    "another patient's intake": 400,
    "empty context": 400,
    "non-UUID hookInstance": 400,
    "text/plain body": 415,
    "1 MB of invalid obligations": 400,
    "5 x 1 MB of invalid obligations at once": 400,
    "100 MB chunked body (bytes sent before the answer)": 413,
    "5000-digit integer": 400,
    "100k-deep nesting": 400,
    "Content-Length of 1 TB": 413,
    "40 KB of headers": 431,
    "unknown field named like a patient (-1: echoed)": 400,
    "query string with patient data": 200,
}


def _driver() -> ModuleType:
    spec = importlib.util.spec_from_file_location("service_load", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["service_load"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_hostile_inputs_and_a_bounded_load_leave_the_server_whole() -> None:
    driver = _driver()
    with driver.running_server() as server:
        driver.load(server, 200, 4)  # warm-up
        rss_start = server.rss_kib()
        with driver.slow_clients(server, 50):
            faults = driver.hostile(server)
            rss_before = server.rss_kib()
            result = driver.load(server, 2000, 16)
        rss_after = server.rss_kib()
        assert server.process.poll() is None
        log = server.log()
    assert {name: status for name, (status, _) in faults.items()} == EXPECTED
    for name, (_, size) in faults.items():
        if name.startswith("100 MB"):
            assert size < 20 * driver.MB  # cut off early: bytes sent before the 413
        else:
            assert 0 <= size < 4096, name  # never proportional to the input, never echoed
    assert dict(result.statuses) == {200: 2000}
    assert result.errors == []
    assert rss_after - rss_before < 64 * 1024  # KiB: roughly flat under load
    assert rss_before - rss_start < 128 * 1024  # the hostile inputs do not balloon it
    assert "Traceback" not in log
    assert driver.SECRET not in log


def _bytes_written(pid: int) -> int:
    # Every write(2) of the process, sockets included: a worker that answered requests
    # wrote their bodies; an idle one writes next to nothing.
    line = next(
        line
        for line in Path(f"/proc/{pid}/io").read_text().splitlines()
        if line.startswith("wchar:")
    )
    return int(line.split()[1])


@pytest.mark.slow
def test_two_workers_keep_one_audit_chain_and_refuse_replays_across_processes() -> None:
    driver = _driver()
    with driver.running_server(workers=2) as server:
        driver.load(server, 30, 2)  # both workers up; 10 hook calls
        workers = server.worker_pids()
        assert len(workers) == 2
        written = {pid: _bytes_written(pid) for pid in workers}
        result = driver.load(server, 300, 8)  # 100 hook calls (a card each), intake API, discovery
        # The same token on 4 fresh connections at once, 20 times: one worker's memory alone
        # would let a replay that reaches the other worker through.
        tokens = 20
        for _ in range(tokens):
            token = server.token()
            replies = driver._at_once(
                4, lambda token=token: driver.post(server, HOOK, driver.hook_call(), token=token)
            )
            statuses = sorted(status for status, _ in replies)
            assert statuses == [200, 401, 401, 401]
        grown = {pid: _bytes_written(pid) - written[pid] for pid in workers}
        verified = subprocess.run(
            [sys.executable, "-m", "iop_placement", "audit", "verify", "--db",
             f"sqlite:///{server.folder / 'audit.db'}"],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert server.process.poll() is None
        log = server.log()
    assert dict(result.statuses) == {200: 300}
    assert result.errors == []
    assert all(size > 200_000 for size in grown.values()), grown  # both workers answered
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith(f"{10 + 100 + tokens} entries, chain intact")
    assert "Traceback" not in log


def _listening(pid: int, port: int) -> set[int]:
    """The inodes of the TCP sockets process ``pid`` holds that listen on ``port``."""
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            held.add(int(target[len("socket:[") : -1]))
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], int(fields[9])
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                listening.add(inode)
    return held & listening


@pytest.mark.slow
def test_each_worker_listens_on_a_socket_of_its_own_and_a_dead_worker_is_replaced() -> None:
    """SO_REUSEPORT: the kernel spreads connections over the workers' own sockets."""
    driver = _driver()
    with driver.running_server(workers=2) as server:
        driver.load(server, 30, 2)
        workers = server.worker_pids()
        assert len(workers) == 2
        sockets = {pid: _listening(pid, server.port) for pid in workers}
        assert all(len(held) == 1 for held in sockets.values()), sockets
        assert sockets[workers[0]] != sockets[workers[1]]
        assert _listening(server.process.pid, server.port) == set()  # the arbiter holds none
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 60
        while True:
            now = server.worker_pids()
            if len(now) == 2 and workers[0] not in now:
                break
            assert time.monotonic() < deadline, now
            time.sleep(0.2)
        result = driver.load(server, 60, 4)
        assert server.process.poll() is None
    assert dict(result.statuses) == {200: 60}
    assert result.errors == []
