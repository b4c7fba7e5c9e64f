"""The fault and load run over loopback, asserted: outcomes and memory, never times.

It drives ``iop-placement serve`` (with JWT authentication and a SQLite audit trail)
through benchmarks/service_load.py, which also prints the figures for
docs/performance.md: the hostile inputs of issue 14 while 50 slow clients hold
half-sent requests open, then 2,000 requests at 16 connections.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

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
