"""The intake page's /api/provisional: off the event loop, bounded, for the page's origin.

A provisional call is held inside the engine (an Event) while a CDS Hooks call is made:
the hook must be answered while the provisional is still being computed, which is only
possible when provisional() does not run on the event loop. No wall-clock assertions:
the order of events says it.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

import pytest
from starlette.testclient import TestClient

from iop_placement import DEFAULT_RULES, PlacementEngine, Provisional
from iop_placement.service import create_app
from iop_placement.service._app import PROVISIONAL_CONCURRENCY
from service_helpers import HOOK, hook_call, live_server

WAIT = 20.0  # seconds a test waits for an event before failing (never reached when right)


def post(url: str, body: Any, headers: Mapping[str, str] | None = None) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=WAIT) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code


class Held:
    """Wraps an engine's provisional(): each call waits until released."""

    def __init__(self, engine: PlacementEngine) -> None:
        self.original = engine.provisional
        self.release = threading.Event()
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()
        self.started = threading.Semaphore(0)

    def __call__(self, answers: Any) -> Provisional:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        self.started.release()
        try:
            self.release.wait(WAIT)
            return self.original(answers)
        finally:
            with self.lock:
                self.running -= 1


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> tuple[PlacementEngine, Held]:
    # Still exactly a PlacementEngine (the service trusts the library's own engine).
    engine = PlacementEngine.from_directory(DEFAULT_RULES)
    slow = Held(engine)
    monkeypatch.setattr(engine, "provisional", slow)
    return engine, slow


def test_a_provisional_call_does_not_hold_up_a_cds_hooks_call(
    held: tuple[PlacementEngine, Held],
) -> None:
    engine, slow = held
    order: list[str] = []
    statuses: dict[str, int] = {}
    with live_server(create_app(engine, insecure_no_auth=True)) as base:

        def provisional() -> None:
            statuses["provisional"] = post(f"{base}/api/provisional", {})
            order.append("provisional answered")

        caller = threading.Thread(target=provisional)
        caller.start()
        assert slow.started.acquire(timeout=WAIT), "provisional() was never called"
        statuses["hook"] = post(f"{base}{HOOK}", hook_call())
        order.append("hook answered")
        slow.release.set()
        caller.join(WAIT)
    assert statuses == {"hook": 200, "provisional": 200}
    assert order == ["hook answered", "provisional answered"]


def test_provisional_calls_run_at_most_the_bound_at_once(
    held: tuple[PlacementEngine, Held],
) -> None:
    engine, slow = held
    statuses: list[int] = []
    with live_server(create_app(engine, insecure_no_auth=True)) as base:
        callers = [
            threading.Thread(target=lambda: statuses.append(post(f"{base}/api/provisional", {})))
            for _ in range(PROVISIONAL_CONCURRENCY + 2)
        ]
        for caller in callers:
            caller.start()
        for _ in range(PROVISIONAL_CONCURRENCY):
            assert slow.started.acquire(timeout=WAIT)
        # The others wait for a free slot: none of them has started, and the hook still works.
        assert post(f"{base}{HOOK}", hook_call()) == 200
        assert slow.running == PROVISIONAL_CONCURRENCY
        slow.release.set()
        for caller in callers:
            caller.join(WAIT)
    assert statuses == [200] * (PROVISIONAL_CONCURRENCY + 2)
    assert slow.most == PROVISIONAL_CONCURRENCY


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({}, False),
        ({"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}, False),
        ({"Origin": "https://elsewhere.example"}, True),
        ({"Sec-Fetch-Site": "cross-site"}, True),
        ({"Origin": "http://testserver", "Sec-Fetch-Site": "same-site"}, True),
    ],
)
@pytest.mark.parametrize(
    "path", ["/api/provisional", "/api/recommendation", "/api/explanation", "/api/summary.pdf"]
)
def test_the_intake_api_answers_only_the_pages_own_origin(
    path: str, headers: dict[str, str], refused: bool
) -> None:
    # Another site's page must not read a recommendation made from answers it posts.
    with TestClient(create_app(insecure_no_auth=True)) as client:
        response = client.post(path, json={}, headers=headers)
    if refused:
        assert response.status_code == 403
        assert response.json()["error"] == "the intake API answers only the service's own page"
    else:
        assert response.status_code in {200, 400}  # {} is partial: 400 where complete is needed
