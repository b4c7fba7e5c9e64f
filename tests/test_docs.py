"""Code in the docs runs.

The integrator's property tests in docs/testing.md pass, and every python, json and console
block of README.md and docs/*.md is a test (conftest.py at the root, Sybil).
"""

from __future__ import annotations

import importlib.util
import json
import re
import runpy
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sybil.evaluators.skip import Skipper

from iop_placement import InvalidAssessment

DOCS = Path(__file__).resolve().parents[1] / "docs"


def python_blocks(page: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def run_as_module(block: str, directory: Path) -> dict[str, Any]:
    """Run ``block`` from a ``.py`` file of its own and return its namespace.

    Not ``compile(block, "docs/testing.md")``: Hypothesis reads a failing test's source
    with ``inspect.getsource``, which on Python 3.12+ tokenises the file the code names,
    and Markdown is not Python.
    """
    module = directory / "docs_testing_example.py"
    module.write_text(block, encoding="utf-8")
    return runpy.run_path(str(module))


def test_testing_page_example_runs_and_its_properties_pass(tmp_path: Path) -> None:
    (block,) = python_blocks("testing.md")
    namespace = run_as_module(block, tmp_path)
    tests = [value for name, value in namespace.items() if name.startswith("test_")]
    assert len(tests) == 4
    for test in tests:
        test()


def test_testing_page_example_catches_a_broken_integration(tmp_path: Path) -> None:
    (block,) = python_blocks("testing.md")
    broken = block.replace('"CRISIS: clinician crisis evaluation now" if', '"" if')
    assert broken != block
    namespace = run_as_module(broken, tmp_path)
    with pytest.raises(AssertionError):
        namespace["test_imminent_risk_always_shows_the_crisis_banner"]()


# --- every code block of README.md and docs/*.md runs (conftest.py at the root) ----------

ROOT = DOCS.parent
PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
RUN_LANGUAGES = ("python", "json", "console")


def docs_conftest() -> ModuleType:
    """The root conftest.py (not tests/conftest.py, which has the same module name)."""
    spec = importlib.util.spec_from_file_location("docs_conftest", ROOT / "conftest.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_python_json_and_console_block_is_collected(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    fences = re.findall(rf"^ *```({'|'.join(RUN_LANGUAGES)}) *$", text, flags=re.MULTILINE)
    document = docs_conftest().SYBIL.parse(page)
    blocks = [e for e in document.examples() if not isinstance(e.region.evaluator, Skipper)]
    assert len(blocks) == len(fences)


def test_the_pytest_run_collects_every_page() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    testpaths = config["tool"]["pytest"]["ini_options"]["testpaths"]
    assert {"README.md", "docs"} <= set(testpaths)
    sybil = docs_conftest().SYBIL
    for page in PAGES:
        assert any(page.match(pattern) for pattern in sybil.patterns), page.name


def test_skipped_blocks_are_rare_and_say_why() -> None:
    skips = [
        match
        for page in PAGES
        for match in re.findall(r"<!-- skip: (.*?) -->", page.read_text(encoding="utf-8"))
    ]
    assert len(skips) <= 5
    assert all(re.fullmatch(r'next "[^"]{10,}"', skip) for skip in skips), skips


def test_a_json_block_that_does_not_parse_fails(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text('```json\n{"a": 1}\n{"b": [2, 3]}\n```\n\n```json\n{"a": 1} {"b": 2,]}\n```\n')
    good, bad = docs_conftest().SYBIL.parse(page).examples()
    good.evaluate()
    with pytest.raises(json.JSONDecodeError, match=r"\(char 17\)"):  # the second value
        bad.evaluate()


def test_a_console_block_with_an_unknown_option_fails(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "```console\n$ iop-placement assess x.json --format markdown > out.md\nok\n```\n\n"
        "```console\n$ iop-placement assess x.json --colour\n```\n"
    )
    good, bad = docs_conftest().SYBIL.parse(page).examples()
    good.evaluate()
    with pytest.raises(AssertionError, match="not a valid command line"):
        bad.evaluate()


def test_a_python_block_that_raises_fails(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```python\nfrom iop_placement import recommend\nrecommend({})\n```\n")
    (block,) = docs_conftest().SYBIL.parse(page).examples()
    with pytest.raises(InvalidAssessment):
        block.evaluate()


REPOSITORY = "https://github.com/iop-placement/iop-placement/"


def test_readme_links_are_absolute_and_name_files_of_this_repository() -> None:
    """The README is the package index page, where relative links break."""
    links = re.findall(r"\]\(([^)]+)\)", (ROOT / "README.md").read_text(encoding="utf-8"))
    assert links
    for link in links:
        assert link.startswith(("https://", "http://")), link
        if link.startswith(REPOSITORY):
            path = re.sub(r"^(blob|tree)/main/", "", link.removeprefix(REPOSITORY))
            assert (ROOT / path.split("#")[0]).exists(), link
