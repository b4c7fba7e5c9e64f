"""Shared fixtures; Hypothesis runs derandomised and longer in CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from helpers import BASELINE, copy_rules
from iop_placement import Assessment, PlacementEngine, default_engine
from iop_placement._backends.selection import durable_available

settings.register_profile("dev", max_examples=150, deadline=None)
settings.register_profile(
    "ci",
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

if not durable_available():
    # Without durable-rules (Python 3.13+) engines fall back to the compiled backend
    # silently; choose it explicitly all the same, so that a test setting the variable to
    # "durable" is the only one to see the fallback's opt-in RuntimeWarning (the suite's
    # filterwarnings makes it an error). tests/test_engine.py checks the fallback.
    os.environ.setdefault("IOP_PLACEMENT_BACKEND", "compiled")


@pytest.fixture(scope="session")
def engine() -> PlacementEngine:
    return default_engine()


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """A writable copy of the bundled rule set."""
    return copy_rules(tmp_path / "rules")


@pytest.fixture
def baseline() -> Assessment:
    return Assessment.model_validate(BASELINE)
