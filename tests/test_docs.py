"""Code in the docs runs: the integrator's property tests in docs/testing.md pass."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def python_blocks(page: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_testing_page_example_runs_and_its_properties_pass() -> None:
    (block,) = python_blocks("testing.md")
    namespace: dict[str, Any] = {}
    exec(compile(block, "docs/testing.md", "exec"), namespace)
    tests = [value for name, value in namespace.items() if name.startswith("test_")]
    assert len(tests) == 4
    for test in tests:
        test()


def test_testing_page_example_catches_a_broken_integration() -> None:
    (block,) = python_blocks("testing.md")
    broken = block.replace('"CRISIS: clinician crisis evaluation now" if', '"" if')
    namespace: dict[str, Any] = {}
    exec(compile(broken, "docs/testing.md", "exec"), namespace)
    with pytest.raises(AssertionError):
        namespace["test_imminent_risk_always_shows_the_crisis_banner"]()
