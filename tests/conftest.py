"""Shared fixtures; Hypothesis runs derandomised and longer in CI."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from helpers import copy_rules
from iop_placement import Assessment, PlacementEngine, default_engine

settings.register_profile("dev", max_examples=150, deadline=None)
settings.register_profile(
    "ci",
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# A low-risk assessment: no rule but the standard-outpatient one fires on it.
BASELINE: dict[str, Any] = {
    "substance_use_severity": "mild",
    "detox_status": "not_needed",
    "co_occurring_mental_health": "none",
    "home_environment": "supportive",
    "support_system": "strong",
    "suicide_risk": "none",
    "functional_impairment": "none",
    "relapse_history": "none",
    "prior_outpatient_failed": False,
    "motivation": "high",
    "medically_unstable": False,
    "completed_residential": False,
    "recovery_plan_established": True,
    "opioid_use_with_lost_tolerance": False,
    "available_hours_per_week": 12,
    "obligations": [],
    "inpatient_accessible": True,
}


def assessment(**changes: Any) -> dict[str, Any]:
    """The baseline with some answers changed."""
    return {**BASELINE, **changes}


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
