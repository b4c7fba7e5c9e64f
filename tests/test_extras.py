"""Extras that match their users: the Hypothesis strategies need Hypothesis only."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Packages of the test, verify, dask, service and postgres extras an integrator's tests
# must not need just to draw assessments.
HEAVY = (
    "pytest",
    "numpy",
    "z3",
    "dask",
    "selenium",
    "fhir",
    "starlette",
    "psycopg",
    "rich",
    "jsonschema",
    "schemathesis",
    "httpx",
)


def test_strategies_extra_is_hypothesis_alone() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert [req.split(">")[0] for req in extras["strategies"]] == ["hypothesis"]


def test_strategies_import_and_draw_without_test_only_packages() -> None:
    script = f"""
import sys
from hypothesis import given, settings, strategies as st
from iop_placement import Assessment, recommend
from iop_placement.testing import assessments

@settings(max_examples=10, database=None)
@given(assessments(), st.from_type(Assessment))
def check(drawn, registered):
    recommend(drawn)
    assert isinstance(registered, Assessment)

check()
print(sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r})))
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        # Other packages' Hypothesis plugins here (this environment has the test extra)
        # import pytest; without plugins only Hypothesis and iop_placement are measured.
        # Importing iop_placement.testing registers the strategy for st.from_type itself.
        env={
            "PYTHONPATH": str(ROOT / "src"),
            "PATH": "/usr/bin:/bin",
            "HYPOTHESIS_NO_PLUGINS": "1",
        },
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
