"""The intake page in a real headless Chromium: fill in the form, submit it, read the level.

Drives Debian's ``chromium`` through ``chromedriver`` (packages chromium and
chromium-driver, which ``.ci/run`` installs) with Selenium, against the service running
in this process on 127.0.0.1. Screenshots go to ``artifacts/`` (git-ignored). Without
Chromium the tests are skipped locally but fail in CI, where they must run.
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
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from iop_placement import Assessment, Flag, recommend
from iop_placement._model.intake import intake_order
from iop_placement.service import create_app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
ARTIFACTS = ROOT / "artifacts"
# One case per level, and a crisis.
CASES = ["standard_outpatient", "intensive_outpatient", "inpatient_withdrawal", "crisis"]
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # the machine's network is closed
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,3200",
)
WAIT_S = 20


def _tools() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    reason = (
        "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
    )
    if os.environ.get("CI"):
        pytest.fail(f"the browser test {reason}; .ci/run installs them")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """The service on 127.0.0.1 at a free port, stopped after the module's tests."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(insecure_no_auth=True), log_level="warning", lifespan="off")
    )
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
    chromium, chromedriver = _tools()
    options = Options()
    options.binary_location = chromium
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _open(browser: webdriver.Chrome, url: str) -> None:
    browser.get(url + "?all")  # every question shown (tests/test_intake_adaptive.py: adaptive)
    WebDriverWait(browser, WAIT_S).until(
        lambda driver: driver.find_element(By.TAG_NAME, "body").get_attribute("data-ready")
    )


def _fill(browser: webdriver.Chrome, answers: dict[str, Any], *, skip: str | None = None) -> None:
    """Answer every question as a person would: click the options, type the number."""
    for name in intake_order():
        if name == skip or name not in answers:  # an optional question left unanswered
            continue
        value = answers[name]
        if isinstance(value, list):
            for code in value:
                browser.find_element(By.ID, f"{name}--{code}").click()
        elif isinstance(value, bool):
            browser.find_element(By.ID, f"{name}--{'true' if value else 'false'}").click()
        elif isinstance(value, int):
            box = browser.find_element(By.ID, name)
            box.clear()
            box.send_keys(str(value))
        else:
            browser.find_element(By.ID, f"{name}--{value}").click()


def _submit(browser: webdriver.Chrome) -> None:
    browser.find_element(By.ID, "submit").click()


def _screenshot(browser: webdriver.Chrome, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"intake-{name}.png"
    assert browser.save_screenshot(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return path


def _severe_console_messages(browser: webdriver.Chrome) -> list[str]:
    logs: list[dict[str, Any]] = browser.get_log("browser")  # type: ignore[no-untyped-call]
    return [str(entry["message"]) for entry in logs if entry["level"] == "SEVERE"]


def test_the_form_is_built_from_the_schema(browser: webdriver.Chrome, base_url: str) -> None:
    _open(browser, base_url)
    questions = browser.find_elements(By.CSS_SELECTOR, "fieldset.question")
    assert [q.get_attribute("data-field") for q in questions] == list(intake_order())
    legends = [q.find_element(By.TAG_NAME, "legend").text for q in questions]
    assert legends == [Assessment.model_fields[name].title for name in intake_order()]
    assert browser.find_elements(By.CSS_SELECTOR, "#q-obligations input[type=checkbox]")


@pytest.mark.parametrize("case", CASES)
def test_filling_in_the_form_shows_the_recommendation(
    browser: webdriver.Chrome, base_url: str, case: str
) -> None:
    answers = json.loads((EXAMPLES / f"{case}.json").read_text(encoding="utf-8"))
    expected = recommend(answers)
    _open(browser, base_url)
    _fill(browser, answers)
    _submit(browser)
    level = WebDriverWait(browser, WAIT_S).until(
        expected_conditions.visibility_of_element_located((By.ID, "level"))
    )
    assert level.get_attribute("data-level") == expected.level.value
    assert level.text == expected.level.label
    shown_flags = [
        li.get_attribute("data-flag") for li in browser.find_elements(By.CSS_SELECTOR, "#flags li")
    ]
    assert shown_flags == [flag.value for flag in expected.flags]
    deciding = browser.find_elements(By.CSS_SELECTOR, "#deciding > li")
    assert [li.get_attribute("data-rule") for li in deciding] == [
        r.rule_id for r in expected.deciding
    ]
    alternatives = browser.find_elements(By.ID, "alternative")
    if expected.alternative is None:
        assert not alternatives
    else:
        assert alternatives[0].get_attribute("data-level") == expected.alternative.level.value
    assert browser.find_element(By.ID, "asam").is_displayed()
    rows = browser.find_elements(By.CSS_SELECTOR, "#dimensions tbody tr")
    assert [(r.get_attribute("data-dimension"), r.get_attribute("data-rating")) for r in rows] == [
        (d.dimension.value, str(d.rating)) for d in expected.dimensions
    ]
    assert len(rows) == 6
    safety = browser.find_elements(By.ID, "safety")
    assert bool(safety) is expected.safety_override
    if safety and Flag.CRISIS not in expected.flags:  # the danger leads the result
        assert browser.find_element(By.CSS_SELECTOR, "#result > :first-child") == safety[0]
    alerts = browser.find_elements(By.ID, "alert")
    assert bool(alerts) is (Flag.CRISIS in expected.flags)
    if alerts:  # the crisis comes first, asking for a clinician's evaluation
        assert browser.find_element(By.CSS_SELECTOR, "#result > :first-child") == alerts[0]
        assert "crisis evaluation by a clinician" in alerts[0].text
    _screenshot(browser, case)
    assert not _severe_console_messages(browser)


def test_an_unanswered_question_blocks_the_form(browser: webdriver.Chrome, base_url: str) -> None:
    answers = json.loads((EXAMPLES / "crisis.json").read_text(encoding="utf-8"))
    _open(browser, base_url)
    _fill(browser, answers, skip="detox_status")
    _submit(browser)
    assert (
        browser.execute_script("return document.getElementById('intake').checkValidity()") is False
    )
    assert not browser.find_element(By.ID, "result").is_displayed()
    # Past the browser's own check, the service names the missing answer by its title.
    browser.execute_script("document.getElementById('intake').noValidate = true")
    _submit(browser)
    errors = WebDriverWait(browser, WAIT_S).until(
        expected_conditions.visibility_of_element_located((By.ID, "errors"))
    )
    assert "Detox status: is required" in errors.text
    _screenshot(browser, "unanswered")
