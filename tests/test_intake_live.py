"""The intake page's live provisional panel, in headless Chromium (as tests/test_intake_page.py).

No submit: as questions are answered the page shows the exact range and the open
questions in the order ``provisional()`` ranks them, and the final recommendation once
every question is answered (optional ones included, "not asked" being an answer).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from iop_placement import provisional, recommend
from iop_placement._model.fields import field_specs
from iop_placement.service import create_app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = json.loads((ROOT / "examples" / "intensive_outpatient.json").read_text())
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--window-size=1280,3200",
)
WAIT_S = 20


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    app = create_app(insecure_no_auth=True)  # the intake page only; no CDS client here
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_S
    while not server.started:
        assert thread.is_alive(), "the server stopped while starting"
        assert time.monotonic() < deadline, f"the server did not start in {WAIT_S} s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT_S)
        listener.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not (chromium and driver_path):
        if os.environ.get("CI"):
            pytest.fail("the live intake test needs chromium and chromium-driver")
        pytest.skip("needs Debian's chromium and chromium-driver")
    options = Options()
    options.binary_location = str(chromium)
    for flag in (*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-live')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(driver_path)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _click(browser: webdriver.Chrome, name: str, value: Any) -> None:
    if isinstance(value, list):
        for code in value:
            browser.find_element(By.ID, f"{name}--{code}").click()
    elif isinstance(value, int) and not isinstance(value, bool):
        box = browser.find_element(By.ID, name)
        box.clear()
        box.send_keys(str(value))
    else:
        code = "null" if value is None else json.dumps(value) if isinstance(value, bool) else value
        browser.find_element(By.ID, f"{name}--{code}").click()


def _panel(browser: webdriver.Chrome) -> dict[str, Any]:
    live = browser.find_element(By.ID, "provisional")
    asks = live.find_elements(By.CSS_SELECTOR, "#ask-next > li")
    return {
        "lowest": live.get_attribute("data-lowest"),
        "highest": live.get_attribute("data-highest"),
        "complete": live.get_attribute("data-complete"),
        "ask": [li.get_attribute("data-field") for li in asks],
    }


def _expect(browser: webdriver.Chrome, answers: dict[str, Any]) -> dict[str, Any]:
    p = provisional(answers)
    want = {
        "lowest": p.lowest.value,
        "highest": p.highest.value,
        "complete": str(p.complete).lower(),
        "ask": list(p.decisive),
    }
    try:
        WebDriverWait(browser, WAIT_S).until(lambda d: _panel(d) == want)
    except Exception:  # noqa: BLE001 - show what the page has instead
        assert _panel(browser) == want
    return want


def test_the_page_shows_the_provisional_result_live(
    browser: webdriver.Chrome, base_url: str
) -> None:
    browser.get(base_url + "?all")  # every question shown, answered in any order
    WebDriverWait(browser, WAIT_S).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-provisional")
    )
    empty = _expect(browser, {})
    assert empty["ask"][:2] == ["suicide_risk", "medically_unstable"]
    assert browser.find_element(By.ID, "safety-screen").is_displayed()
    assert browser.find_element(By.ID, "result").is_displayed() is False

    given: dict[str, Any] = {}
    for name in ("substance_use_severity", "suicide_risk", "medically_unstable"):
        given[name] = EXAMPLE[name]
        _click(browser, name, EXAMPLE[name])
        _expect(browser, given)
    assert "Provisional" in browser.find_element(By.ID, "provisional-range").text

    # Every question answered (the optional ones "not asked"): final, without a submit.
    answers = {name: EXAMPLE.get(name) for name in field_specs()}
    for name, value in answers.items():
        if name not in given:
            _click(browser, name, value)
    _expect(browser, answers)
    level = browser.find_element(By.ID, "level")
    WebDriverWait(browser, WAIT_S).until(lambda d: d.find_element(By.ID, "result").is_displayed())
    assert level.get_attribute("data-level") == recommend(answers).level.value
