"""Our FHIR Questionnaire in a real SDC renderer, LHC-Forms (npm ``lforms`` 40.1.3).

The page under ``tests/browser/lforms/`` loads the prebuilt bundles from the npm tarball
(``.ci/run`` fetches it with ``npm pack``, checks its sha512 against
``tests/browser/lforms/lforms.integrity`` and extracts them into ``vendor/``, git-ignored)
and renders :func:`iop_placement.fhir.to_questionnaire` served over loopback. The tests
fill it by its widgets (clicking the yes/no radios, typing an option's label into a list
field and pressing Enter, typing the hours), export LHC-Forms' QuestionnaireResponse, let
the page set its status as an app would (LHC-Forms' own validity check: ``completed``
when every required question is answered, else ``in-progress``), and compare what the
Python API reads from it with ``recommend()`` / ``provisional()`` of the same answers.
Without the bundle or Chromium they skip locally but fail in CI.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from iop_placement import Assessment, fhir, provisional, recommend
from iop_placement._model.fields import field_specs
from iop_placement._model.intake import intake_order

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "tests" / "browser" / "lforms"
VENDOR = PAGE / "vendor"
# The files of the lforms tarball the page loads (.ci/run extracts exactly these).
BUNDLE = (
    "webcomponent/assets/lib/zone.min.js",
    "webcomponent/lhc-forms.js",
    "webcomponent/styles.css",
    "fhir/R4/lformsFHIR.min.js",
)
LFORMS_VERSION = "40.1.3"
ARTIFACTS = ROOT / "artifacts"
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
WAIT_S = 30


def _needs(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"the LHC-Forms browser test needs {what}; .ci/run provides it")
    pytest.skip(f"needs {what}")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Keep the request log out of the test output."""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The page, the bundle and our Questionnaire, served on 127.0.0.1 at a free port."""
    missing = [name for name in BUNDLE if not (VENDOR / name).is_file()]
    if missing:
        where = VENDOR.relative_to(ROOT)
        _needs(f"the lforms {LFORMS_VERSION} bundle in {where}/ (see the lforms block of .ci/run)")
    root = tmp_path_factory.mktemp("lforms")
    for name in ("index.html", "page.js"):
        shutil.copy(PAGE / name, root / name)
    shutil.copytree(VENDOR, root / "vendor")
    (root / "questionnaire.json").write_text(json.dumps(fhir.to_questionnaire()), "utf-8")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        thread.join(timeout=WAIT_S)
        server.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not (chromium and driver_path):
        _needs("Debian's chromium and chromium-driver")
    options = Options()
    options.binary_location = str(chromium)
    for flag in (*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-lforms')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(driver_path)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _load(browser: webdriver.Chrome, url: str) -> None:
    browser.get(url)
    WebDriverWait(browser, WAIT_S).until(lambda d: d.execute_script("return window.__ready"))
    assert browser.execute_script("return window.__ready") == "ok"
    logs: list[dict[str, Any]] = browser.get_log("browser")  # type: ignore[no-untyped-call]
    errors = [entry for entry in logs if entry["level"] == "SEVERE"]
    assert errors == [], "the page logged errors while loading"


def _fill(browser: webdriver.Chrome, answers: dict[str, Any]) -> None:
    """Answer by the rendered widgets, in intake order.

    Yes/no: click the radio's label. A choice (a list field in LHC-Forms): type the
    option's label and press Enter, once per option for the obligations. Hours: type them.
    """
    specs = field_specs()
    for name in intake_order():
        if name not in answers:
            continue
        value = answers[name]
        if isinstance(value, bool):
            browser.find_element(By.ID, f"{name}/1|{'true' if value else 'false'}").click()
            continue
        box = browser.find_element(By.ID, f"{name}/1")
        if isinstance(value, int):
            box.click()
            box.send_keys(str(value))
            continue
        for code in value if isinstance(value, list) else [value]:
            label = specs[name].label(code)
            box.click()
            box.send_keys(label)
            # Enter picks the highlighted match: wait until the list shows it (a busy
            # machine may draw the filtered list after the keys arrive).
            WebDriverWait(browser, WAIT_S).until(partial(_offers, label=label))
            box.send_keys(Keys.ENTER)
    browser.find_element(By.TAG_NAME, "body").click()  # leave the last field


# Whether LHC-Forms shows its (one, shared) options list; it hides it with visibility.
_SHOWN = """
    const list = document.getElementById('lhc-tools-searchResults');
    return !!list && getComputedStyle(list).visibility === 'visible';
"""


_OPTIONS = """
    const items = document.querySelectorAll('#completionOptions li');
    return Array.from(items, (li) => Array.from(li.childNodes)
      .filter((node) => node.nodeType === Node.TEXT_NODE)
      .map((node) => node.textContent).join('').trim());
"""


def _options_now(browser: webdriver.Chrome) -> list[str]:
    options: list[str] = browser.execute_script(_OPTIONS)
    return options


def _offers(browser: webdriver.Chrome, *, label: str) -> bool:
    """Whether the open options list shows an option with this label (typed part included:
    LHC-Forms wraps the matched letters in an element of their own)."""
    script = """
        const items = document.querySelectorAll('#completionOptions li');
        return Array.from(items, (li) => li.textContent);
    """
    shown: list[str] = browser.execute_script(script) if browser.execute_script(_SHOWN) else []
    return any(label in text for text in shown)


def _listed_options(browser: webdriver.Chrome) -> list[str]:
    """The options the open list field shows (each item is "<number>: <label>")."""
    WebDriverWait(browser, WAIT_S).until(lambda d: d.execute_script(_SHOWN))
    return _options_now(browser)


def _respond(browser: webdriver.Chrome, name: str) -> dict[str, Any]:
    """The page's QuestionnaireResponse (status set by the app), checked as FHIR; a screenshot."""
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / f"lforms-{name}.png"))
    response: dict[str, Any] = browser.execute_script("return window.respond()")
    QuestionnaireResponse.model_validate(response)
    assert response["questionnaire"].split("|", 1)[0] == fhir.QUESTIONNAIRE_URL
    assert {"code": f"lformsVersion: {LFORMS_VERSION}"} in response["meta"]["tag"]
    return response


def test_every_question_is_rendered_and_nothing_is_answered(
    browser: webdriver.Chrome, site: str
) -> None:
    _load(browser, site)
    items = fhir.to_questionnaire()["item"]
    labels = browser.find_elements(By.CSS_SELECTOR, "label[id^='label-']")
    assert [label.get_attribute("id") for label in labels] == [
        f"label-{item['linkId']}/1" for item in items
    ]
    for label, item in zip(labels, items, strict=True):
        assert label.find_element(By.CSS_SELECTOR, ".question").text == item["text"]
        starred = label.find_elements(By.CSS_SELECTOR, ".lhc-required")
        assert bool(starred) is item["required"], item["linkId"]
    for item in items:
        if item["type"] == "choice":  # a list field: its list shows every option, in order
            box = browser.find_element(By.ID, f"{item['linkId']}/1")
            box.click()
            assert _listed_options(browser) == [
                option["valueCoding"]["display"] for option in item["answerOption"]
            ]
            box.send_keys(Keys.ESCAPE)
            WebDriverWait(browser, WAIT_S).until(lambda d: not d.execute_script(_SHOWN))
    browser.find_element(By.TAG_NAME, "body").click()
    helps = browser.find_elements(By.CSS_SELECTOR, ".lhc-help-button")
    assert len(helps) == sum(1 for item in items if item.get("item"))
    # LHC-Forms' own check asks for exactly our required questions.
    errors = browser.execute_script(
        "return LForms.Util.checkValidity(document.getElementById('form'))"
    )
    assert errors == [f"{item['text']} requires a value" for item in items if item["required"]]
    # Nothing is answered for the clinician, yet LHC-Forms calls its export "completed":
    # the app must set the status (the page does, from checkValidity).
    exported = browser.execute_script("return window.lhcExport()")
    assert "item" not in exported
    assert exported["status"] == "completed"
    assert _respond(browser, "empty")["status"] == "in-progress"


def test_a_filled_iop_case_gives_the_python_recommendation(
    browser: webdriver.Chrome, site: str
) -> None:
    _load(browser, site)
    _fill(browser, EXAMPLE)
    response = _respond(browser, "complete")
    assert response["status"] == "completed"
    assert [item["linkId"] for item in response["item"]] == [
        name for name in intake_order() if name in EXAMPLE
    ]
    assessment = fhir.from_questionnaire_response(response)
    assert assessment == Assessment.model_validate(EXAMPLE)
    assert recommend(assessment) == recommend(EXAMPLE)
    # Read as a partial intake, a completed response is complete: its provisional is final.
    assert provisional(fhir.partial_answers(response)).recommendation == recommend(EXAMPLE)


def test_a_partly_filled_form_gives_the_python_provisional(
    browser: webdriver.Chrome, site: str
) -> None:
    _load(browser, site)
    partial = {
        "substance_use_severity": "severe",
        "recent_overdose": False,
        "detox_status": "needed",
        "withdrawal_severity": "moderate",
        "suicide_risk": "none",
        "prior_outpatient_failed": False,
        "obligations": ["work"],
    }
    _fill(browser, {**partial, "obligations": ["work", "school"]})
    # Taken back: an option removed by its button, a yes/no set back to "Not Answered".
    browser.find_element(By.CSS_SELECTOR, "button[aria-label='\"School\" item remove']").click()
    browser.find_element(By.ID, "medically_unstable/1|true").click()
    browser.find_element(By.ID, "medically_unstable/1|null").click()
    response = _respond(browser, "partial")
    assert response["status"] == "in-progress"
    with pytest.raises(fhir.ResponseStatusError):
        fhir.from_questionnaire_response(response)  # never a final recommendation
    answers = fhir.partial_answers(response)
    assert answers == partial
    result = provisional(answers)
    assert result == provisional(partial)
    assert not result.complete
    assert result.recommendation is None
    assert "medically_unstable" in result.unanswered
    assert result.incomplete_safety_screen  # medical stability is still open


def test_an_intake_finished_later_is_read_from_the_latest_response(
    browser: webdriver.Chrome, site: str
) -> None:
    _load(browser, site)
    first = {name: EXAMPLE[name] for name in ("substance_use_severity", "suicide_risk")}
    _fill(browser, first)
    saved = _respond(browser, "saved")
    assert saved["status"] == "in-progress"
    rest = {name: value for name, value in EXAMPLE.items() if name not in first}
    _fill(browser, rest)  # the same form, finished at a later contact
    finished = _respond(browser, "finished")
    assert finished["status"] == "completed"
    assert finished["authored"] > saved["authored"]
    chosen = fhir.choose_response([finished, saved])  # the order is not what decides
    assert chosen.response == finished
    assert "latest of 2" in chosen.statement
    assert fhir.choose_response([saved, finished]).response == finished
    assert recommend(fhir.from_questionnaire_response(chosen.response)) == recommend(EXAMPLE)
