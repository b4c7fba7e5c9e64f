"""The intake page in adaptive order, in headless Chromium at 1280 and 390 px wide.

A person answers only what the page asks (the next question named by /api/provisional:
the safety screen first, then the most decisive); the page must ask exactly the questions
the library's adaptive rule asks, stop on the full form's level, then show the rest, take
the submit, hide the provisional panel, serve the PDF, show sources by title, keep the
live panel beside the question (a bar at the bottom of a phone) and fit a 390 px phone.
In Spanish (?lang=es, or the language switch mid-intake) the same questions are asked in
the same order, the page's own text is Spanish, the answers given stay, and the printed
summary is the Spanish PDF.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pypdf
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from iop_placement import populations, provisional, recommend
from iop_placement._i18n import _, use_language
from iop_placement._model.fields import field_specs
from iop_placement._model.intake import intake_order
from iop_placement.adaptive import next_field
from iop_placement.service import create_app
from service_helpers import live_server

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "src" / "iop_placement" / "_static"
WAIT_S = 20
FILE_NAME = re.compile(r"\b\d{3}_[0-9a-f]{16}\.txt\b")
CASES = [
    json.loads((ROOT / "examples" / f"{name}.json").read_text(encoding="utf-8"))
    for name in ("crisis", "intensive_outpatient", "standard_outpatient")
] + [
    case
    for name in populations.POPULATIONS
    for case in itertools.islice(populations.population(name, 1, seed=9), 1)
]
WIDTHS = {"wide": (1280, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with live_server(create_app(insecure_no_auth=True)) as url:
        yield url + "/"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not (chromium and driver_path):
        if os.environ.get("CI"):
            pytest.fail("the adaptive intake test needs chromium and chromium-driver")
        pytest.skip("needs Debian's chromium and chromium-driver")
    options = Options()
    options.binary_location = str(chromium)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-adaptive')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(driver_path)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _size(browser: webdriver.Chrome, width: int, height: int) -> None:
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def _open(browser: webdriver.Chrome, url: str) -> None:
    browser.get(url)
    WebDriverWait(browser, WAIT_S).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-provisional")
    )


def _seq(browser: webdriver.Chrome) -> int:
    return int(browser.find_element(By.TAG_NAME, "body").get_attribute("data-provisional") or 0)


def _click(browser: webdriver.Chrome, element: WebElement) -> None:
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def _answer(browser: webdriver.Chrome, name: str, value: Any) -> None:
    before = _seq(browser)
    if isinstance(value, list):
        if not value:
            _click(browser, browser.find_element(By.ID, f"{name}--none"))
        for code in value:
            _click(browser, browser.find_element(By.ID, f"{name}--{code}"))
    elif isinstance(value, int) and not isinstance(value, bool):
        box = browser.find_element(By.ID, name)
        _click(browser, box)
        # One input event with the whole number: typed key by key on a busy machine, "12"
        # could be answered as "1" first (the page debounces 150 ms), and the test would
        # read the question that "1" calls for.
        browser.execute_script(
            "arguments[0].value = arguments[1];"
            "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
            box,
            str(value),
        )
    else:
        code = "null" if value is None else json.dumps(value) if isinstance(value, bool) else value
        _click(browser, browser.find_element(By.ID, f"{name}--{code}"))
    WebDriverWait(browser, WAIT_S).until(lambda d: _seq(d) > before)


def _library_order(case: dict[str, Any]) -> list[str]:
    """The questions the library's adaptive rule asks for ``case``, in order."""
    given: dict[str, Any] = {}
    while (name := next_field(provisional(given))) is not None:
        given[name] = case.get(name)
    return list(given)


def _visible_questions(browser: webdriver.Chrome) -> list[str]:
    return [
        q.get_attribute("data-field") or ""
        for q in browser.find_elements(By.CSS_SELECTOR, "fieldset.question")
        if q.is_displayed()
    ]


def _panel_next(browser: webdriver.Chrome) -> str:
    return browser.find_element(By.ID, "provisional").get_attribute("data-next") or ""


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("case", CASES, ids=[f"case{n}" for n in range(len(CASES))])
def test_adaptive_intake_ends_on_the_full_form_level(
    browser: webdriver.Chrome, base_url: str, case: dict[str, Any], width: str
) -> None:
    _size(browser, *WIDTHS[width])
    _open(browser, base_url)
    assert _visible_questions(browser) == ["suicide_risk"]
    expected = _library_order(case)
    asked: list[str] = []
    while name := _panel_next(browser):
        assert _visible_questions(browser)[-1] == name  # the question asked is shown last
        current = browser.find_element(By.ID, f"q-{name}")
        assert "current" in (current.get_attribute("class") or "")
        if width == "wide":  # the live panel sits beside the question being answered
            panel = browser.find_element(By.ID, "provisional").rect
            question = current.rect
            top = browser.execute_script("return window.scrollY")
            assert panel["x"] >= question["x"] + question["width"]
            assert top <= panel["y"] <= top + 900
        else:  # a compact bar at the bottom of the phone's screen
            bar = browser.execute_script(
                "return document.getElementById('provisional').getBoundingClientRect().toJSON()"
            )
            assert bar["bottom"] <= 844 + 1
            assert bar["height"] <= 0.45 * 844 + 1
        asked.append(name)
        _answer(browser, name, case.get(name))
        assert len(asked) <= len(field_specs())
    assert asked == expected
    assert asked[:3] == ["suicide_risk", "medically_unstable", "detox_status"]
    level = recommend(case).level.value
    live = browser.find_element(By.ID, "provisional")
    assert (live.get_attribute("data-lowest"), live.get_attribute("data-highest")) == (
        level,
        level,
    )
    assert browser.find_element(By.ID, "settled").is_displayed()
    # Settled: every other question is shown, after the ones asked.
    shown = _visible_questions(browser)
    assert shown[: len(asked)] == asked
    assert sorted(shown) == sorted(intake_order())
    for name in intake_order():
        if name not in asked and name in case:
            _answer(browser, name, case[name])
    browser.find_element(By.ID, "submit").click()
    WebDriverWait(browser, WAIT_S).until(lambda d: d.find_element(By.ID, "result").is_displayed())
    # Read the level from the result as finally drawn: on a busy machine a late answer can
    # redraw it, and an element found before that is stale.
    shown_level = WebDriverWait(
        browser, WAIT_S, ignored_exceptions=(StaleElementReferenceException,)
    ).until(lambda d: d.find_element(By.ID, "level").get_attribute("data-level"))
    assert shown_level == level
    # No stale provisional panel (with an empty "ask next") beside the result.
    assert not browser.find_element(By.ID, "provisional").is_displayed()
    sources = [s.text for s in browser.find_elements(By.CSS_SELECTOR, "#result .source")]
    assert sources
    assert not any(FILE_NAME.search(s) for s in sources)
    if width == "phone":  # nothing wider than the phone, the dimension table included
        overflow = browser.execute_script(
            "return [document.documentElement.scrollWidth,"
            " document.getElementById('dimensions').getBoundingClientRect().right]"
        )
        assert overflow[0] <= 390
        assert overflow[1] <= 390


@pytest.mark.parametrize("width", list(WIDTHS))
def test_print_button_serves_the_pdf(browser: webdriver.Chrome, base_url: str, width: str) -> None:
    _size(browser, *WIDTHS[width])
    _open(browser, base_url)
    _click(browser, browser.find_element(By.ID, "show-all"))
    case = CASES[1]
    for name in intake_order():
        if name in case:
            _answer(browser, name, case[name])
    browser.find_element(By.ID, "submit").click()
    WebDriverWait(browser, WAIT_S).until(lambda d: d.find_element(By.ID, "print").is_displayed())
    _click(browser, browser.find_element(By.ID, "print"))
    printed = WebDriverWait(browser, WAIT_S).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-printed")
    )
    kind, size = str(printed).split()
    assert kind == "application/pdf"
    assert int(size) > 1000


def test_show_all_shows_every_question_in_interview_order(
    browser: webdriver.Chrome, base_url: str
) -> None:
    _size(browser, *WIDTHS["wide"])
    _open(browser, base_url)
    _answer(browser, "suicide_risk", "none")
    assert _visible_questions(browser) == ["suicide_risk", "medically_unstable"]
    _click(browser, browser.find_element(By.ID, "show-all"))
    assert _visible_questions(browser) == list(intake_order())
    _click(browser, browser.find_element(By.ID, "show-all"))
    assert _visible_questions(browser) == ["suicide_risk", "medically_unstable"]


def test_every_cited_document_has_a_title() -> None:
    titles = json.loads((STATIC / "sources.json").read_text(encoding="utf-8"))["documents"]
    cited = {
        name
        for path in (ROOT / "rules").glob("*.json")
        for name in FILE_NAME.findall(path.read_text(encoding="utf-8"))
    }
    assert cited
    assert cited <= set(titles)
    assert all(title.strip() and not FILE_NAME.search(title) for title in titles.values())


# --- in Spanish -------------------------------------------------------------------------------


# A few population cases, one per level (not every one: each intake takes some seconds in
# Chromium), drawn from both populations.
def _one_per_level() -> list[dict[str, Any]]:
    chosen: dict[str, dict[str, Any]] = {}
    for name in sorted(populations.POPULATIONS):
        for case in populations.population(name, 20, seed=28):
            chosen.setdefault(recommend(case).level.value, case)
    return [chosen[level] for level in sorted(chosen)]


LANGUAGE_CASES = _one_per_level()


def _spanish(english: str) -> str:
    with use_language("es"):
        return _(english)


def _text(browser: webdriver.Chrome, css: str) -> str:
    return " ".join(browser.find_element(By.CSS_SELECTOR, css).text.split())


def _adaptive_intake(browser: webdriver.Chrome, case: dict[str, Any]) -> list[str]:
    """Answer what the page asks until the level is settled; the questions asked, in order."""
    asked: list[str] = []
    while name := _panel_next(browser):
        asked.append(name)
        _answer(browser, name, case.get(name))
        assert len(asked) <= len(field_specs())
    return asked


def _finish_and_submit(browser: webdriver.Chrome, case: dict[str, Any], asked: list[str]) -> str:
    """Answer the rest (the full record), submit; the level the result shows."""
    for name in intake_order():
        if name not in asked and name in case:
            _answer(browser, name, case[name])
    browser.find_element(By.ID, "submit").click()
    WebDriverWait(browser, WAIT_S).until(lambda d: d.find_element(By.ID, "result").is_displayed())
    return str(
        WebDriverWait(browser, WAIT_S, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda d: d.find_element(By.ID, "level").get_attribute("data-level")
        )
    )


@pytest.mark.parametrize("case", LANGUAGE_CASES, ids=lambda case: recommend(case).level.value)
def test_adaptive_intake_in_spanish_ends_on_the_full_form_level(
    browser: webdriver.Chrome, base_url: str, case: dict[str, Any]
) -> None:
    _size(browser, *WIDTHS["wide"])
    _open(browser, base_url + "?lang=es")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "es"
    assert _text(browser, "#q-suicide_risk legend") == "Riesgo suicida"
    asked = _adaptive_intake(browser, case)
    # The same questions, in the same order, as in English (the library's adaptive rule).
    assert asked == _library_order(case)
    level = recommend(case).level
    live = browser.find_element(By.ID, "provisional")
    assert live.get_attribute("data-lowest") == live.get_attribute("data-highest") == level.value
    assert _text(browser, "#settled") == _spanish(
        "The level is settled: the other questions cannot change it. Answer them for the"
        " full record."
    )
    assert _finish_and_submit(browser, case, asked) == level.value
    assert _text(browser, "#level") == _spanish(level.label)
    assert _text(browser, "#result h2") == "Nivel de atención sugerido"


def _spy_on_the_summary(browser: webdriver.Chrome) -> None:
    """Keep the URL and bytes of the page's summary.pdf request (the page downloads it)."""
    browser.execute_script(
        """
        const original = window.fetch;
        window.printed = null;
        window.fetch = async (url, options) => {
          const response = await original(url, options);
          if (String(url).includes("summary.pdf")) {
            const bytes = new Uint8Array(await response.clone().arrayBuffer());
            let binary = "";
            for (const byte of bytes) binary += String.fromCharCode(byte);
            window.printed = { url: String(url), pdf: btoa(binary) };
          }
          return response;
        };
        """
    )


def _assert_answered(browser: webdriver.Chrome, name: str, value: Any) -> None:
    """The question ``name`` shows ``value`` as answered."""
    if isinstance(value, list):
        for code in value:
            assert browser.find_element(By.ID, f"{name}--{code}").is_selected(), name
    elif isinstance(value, int) and not isinstance(value, bool):
        assert browser.find_element(By.ID, name).get_attribute("value") == str(value), name
    else:
        code = "null" if value is None else json.dumps(value) if isinstance(value, bool) else value
        assert browser.find_element(By.ID, f"{name}--{code}").is_selected(), name


def _printed(browser: webdriver.Chrome) -> tuple[str, str]:
    """The URL the summary was asked at and the PDF's text (read with pypdf)."""
    spied = browser.execute_script("return window.printed")
    reader = pypdf.PdfReader(io.BytesIO(base64.b64decode(spied["pdf"])))
    text = " ".join(page.extract_text() for page in reader.pages)
    return str(spied["url"]), " ".join(text.split())


def test_switching_language_mid_intake_keeps_the_answers_and_prints_in_spanish(
    browser: webdriver.Chrome, base_url: str
) -> None:
    _size(browser, *WIDTHS["wide"])
    _open(browser, base_url + "?lang=en")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    picker = Select(browser.find_element(By.ID, "language"))
    assert [o.text for o in picker.options] == ["English", "Español"]
    case = LANGUAGE_CASES[0]
    order = _library_order(case)
    first = order[:3]
    for name in first:
        assert _panel_next(browser) == name
        _answer(browser, name, case.get(name))
    assert _text(browser, "#provisional h2") == "Provisional (intake incomplete)"
    before = _seq(browser)
    picker.select_by_value("es")
    WebDriverWait(browser, WAIT_S).until(
        lambda d: (
            d.find_element(By.TAG_NAME, "body").get_attribute("data-switched") == "es"
            and _seq(d) > before
        )
    )
    # The page's own text, the questions and the live panel are Spanish now.
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "es"
    assert browser.title.startswith("Admisión para el nivel de atención")
    assert _text(browser, "h1") == "Admisión para el nivel de atención"
    assert _text(browser, "#submit") == "Sugerir un nivel de atención"
    assert _text(browser, "label[for=show-all]") == "Mostrar todas las preguntas"
    assert _text(browser, "#q-suicide_risk legend") == "Riesgo suicida"
    assert _text(browser, "#provisional h2") == "Provisional (admisión incompleta)"
    assert browser.current_url.endswith("?lang=es")
    # The answers given stay, the questions asked stay shown, the next one is the same.
    assert _visible_questions(browser)[: len(first)] == first
    for name in first:
        _assert_answered(browser, name, case.get(name))
    assert _panel_next(browser) == order[3]
    asked = first + _adaptive_intake(browser, case)
    assert asked == order
    level = recommend(case).level
    assert _finish_and_submit(browser, case, asked) == level.value
    assert _text(browser, "#level") == _spanish(level.label)
    # Print: the summary is asked for in Spanish and is the Spanish PDF.
    _spy_on_the_summary(browser)
    WebDriverWait(browser, WAIT_S).until(lambda d: d.find_element(By.ID, "print").is_displayed())
    assert _text(browser, "#print") == "Imprimir resumen (PDF)"
    _click(browser, browser.find_element(By.ID, "print"))
    printed = WebDriverWait(browser, WAIT_S).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-printed")
    )
    assert str(printed).split()[0] == "application/pdf"
    url, text = _printed(browser)
    assert "lang=es" in url
    assert "Resumen del nivel de atención" in text
    assert " ".join(_spanish(level.label).split()) in text
    # And back to English: the result shown is redrawn in English, the level unchanged.
    Select(browser.find_element(By.ID, "language")).select_by_value("en")
    WebDriverWait(browser, WAIT_S).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-switched") == "en"
    )
    assert _text(browser, "#result h2") == "Suggested level of care"
    assert browser.find_element(By.ID, "level").get_attribute("data-level") == level.value
    assert _text(browser, "#level") == level.label


def test_the_page_starts_in_the_browsers_language(browser: webdriver.Chrome, base_url: str) -> None:
    """No ?lang=: the first of navigator.languages the server has (else English)."""
    _size(browser, *WIDTHS["wide"])
    _open(browser, base_url)
    original = ",".join(browser.execute_script("return navigator.languages"))
    try:
        for accept, expected in (("es-MX,es;q=0.9", "es"), ("fr-FR,fr;q=0.9", "en")):
            browser.execute_cdp_cmd(
                "Emulation.setUserAgentOverride",
                {
                    "userAgent": browser.execute_script("return navigator.userAgent"),
                    "acceptLanguage": accept,
                },
            )
            _open(browser, base_url)
            assert browser.execute_script("return navigator.languages")[0] == accept.split(",")[0]
            assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == expected
            assert (
                Select(browser.find_element(By.ID, "language")).first_selected_option.get_attribute(
                    "value"
                )
                == expected
            )
    finally:
        browser.execute_cdp_cmd(
            "Emulation.setUserAgentOverride",
            {
                "userAgent": browser.execute_script("return navigator.userAgent"),
                "acceptLanguage": original,
            },
        )
