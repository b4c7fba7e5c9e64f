"""Code in the docs runs: the integrator's property tests in docs/testing.md pass."""

from __future__ import annotations

import re
import runpy
from pathlib import Path
from typing import Any

import pytest

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
