"""Our JSON Schema and uiSchema in real react-jsonschema-form (rjsf 6), in headless Chromium.

The page under ``tests/browser/rjsf/`` bundles the current ``@rjsf/core``, ``@rjsf/utils``
and ``@rjsf/validator-ajv8`` from the npm registry (lock file committed; ``.ci/run``
installs it with ``npm ci`` and builds ``dist/bundle.js``) and passes the props
``docs/json-schema.md`` documents. Nothing may be pre-selected, every answer must be
reachable by clicking (including "No" and an empty obligations list), strict Ajv must
accept the schema, and what the form produces must give the Python API's results. Without
the bundle or Chromium the tests skip locally but fail in CI.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from iop_placement import json_schema, provisional, recommend, ui_schema
from iop_placement._model.intake import intake_order

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "tests" / "browser" / "rjsf"
BUNDLE = PAGE / "dist" / "bundle.js"
EXAMPLE = json.loads((ROOT / "examples" / "intensive_outpatient.json").read_text())
FLAGS = (
    "--headless=new",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--window-size=1280,4000",
)
WAIT_S = 20


def _needs(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"the rjsf browser test needs {what}; .ci/run provides it")
    pytest.skip(f"needs {what}")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The page with our schema and uiSchema, in a temporary directory."""
    if not BUNDLE.is_file():
        _needs("the rjsf bundle (cd tests/browser/rjsf && npm ci && npm run build)")
    root = tmp_path_factory.mktemp("rjsf")
    shutil.copy(PAGE / "index.html", root / "index.html")
    (root / "dist").mkdir()
    shutil.copy(BUNDLE, root / "dist" / "bundle.js")
    config = {"schema": json_schema(), "uiSchema": ui_schema()}
    (root / "config.js").write_text(f"window.IOP = {json.dumps(config)};\n", encoding="utf-8")
    return root / "index.html"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not (chromium and driver_path):
        _needs("Debian's chromium and chromium-driver")
    options = Options()
    options.binary_location = str(chromium)
    for flag in (*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-rjsf')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(driver_path)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _load(browser: webdriver.Chrome, page: Path) -> None:
    browser.get(page.as_uri())
    WebDriverWait(browser, WAIT_S).until(
        lambda d: d.execute_script("return window.__formData !== undefined")
    )


def _option_index(name: str, value: Any) -> int:
    prop = json_schema()["properties"][name]
    options = prop["items"]["oneOf"] if prop.get("type") == "array" else prop["oneOf"]
    consts = [option["const"] for option in options]
    return next(i for i, c in enumerate(consts) if type(c) is type(value) and c == value)


def _fill(browser: webdriver.Chrome, answers: dict[str, Any]) -> None:
    """Answer as a clinician would: click the options, type the hours."""
    for name in intake_order():
        if name not in answers:
            continue
        value = answers[name]
        if isinstance(value, list):
            for code in value:
                browser.find_element(By.ID, f"root_{name}-{_option_index(name, code)}").click()
        elif isinstance(value, int) and not isinstance(value, bool):
            box = browser.find_element(By.ID, f"root_{name}")
            box.clear()
            box.send_keys(str(value))
        else:
            browser.find_element(By.ID, f"root_{name}-{_option_index(name, value)}").click()


def _read(browser: webdriver.Chrome, key: str) -> Any:
    deadline = time.monotonic() + WAIT_S
    while (value := browser.execute_script(f"return window.{key}")) is None:
        assert time.monotonic() < deadline, f"the page set no {key}"
        time.sleep(0.05)
    return value


def test_load_selects_nothing_and_strict_ajv_accepts_the_schema(
    browser: webdriver.Chrome, page: Path
) -> None:
    _load(browser, page)
    assert browser.execute_script("return window.__strictAjv") == "ok"
    assert browser.find_elements(By.CSS_SELECTOR, "input:checked") == []
    assert browser.execute_script("return JSON.stringify(window.__formData)") == "{}"
    text = browser.find_element(By.TAG_NAME, "body").text
    for prop in json_schema()["properties"].values():
        assert prop["title"] in text
    # Option labels and their descriptions are shown.
    assert "Imminent" in text
    assert "Intent or plan: imminent danger." in text


def test_a_filled_iop_case_gives_the_python_result(browser: webdriver.Chrome, page: Path) -> None:
    _load(browser, page)
    _fill(browser, EXAMPLE)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    submitted = _read(browser, "__submitted")
    assert submitted == EXAMPLE  # "No" answers clicked, nothing added
    assert recommend(submitted) == recommend(EXAMPLE)


def test_an_empty_obligations_list_is_answerable(browser: webdriver.Chrome, page: Path) -> None:
    _load(browser, page)
    answers = {**EXAMPLE, "obligations": []}
    _fill(browser, answers)
    box = browser.find_element(By.ID, f"root_obligations-{_option_index('obligations', 'work')}")
    box.click()
    box.click()  # ticked and unticked: answered "none of these"
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    submitted = _read(browser, "__submitted")
    assert submitted == answers
    assert recommend(submitted).level == recommend(answers).level


def test_a_partial_form_gives_the_python_provisional(browser: webdriver.Chrome, page: Path) -> None:
    _load(browser, page)
    partial = {
        "substance_use_severity": "severe",
        "medically_unstable": False,
        "suicide_risk": "none",
        "prior_outpatient_failed": False,
    }
    _fill(browser, partial)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert browser.execute_script("return window.__submitted") is None  # incomplete: refused
    browser.find_element(By.ID, "partial").click()
    sent = _read(browser, "__partial")
    assert sent == partial
    assert provisional(sent) == provisional(partial)
    assert "detox_status" in provisional(sent).unanswered
