"""`import iop_placement` loads the core only: integrations, explanation and batch on first use.

Checked in a fresh interpreter (``sys.modules``), never by timing. The lazy names are
still public: listed in ``__all__``, found by ``getattr`` and by ``from ... import``, their
classes reporting the package as their module (tests/test_public_api.py checks all of it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import iop_placement

SRC = Path(iop_placement.__file__).resolve().parents[1]

# Modules a program that only recommends never needs: each costs import time.
HEAVY = (
    "iop_placement.audit",
    "iop_placement.batch",
    "iop_placement.cds_hooks",
    "iop_placement.fhir",
    "iop_placement.service",
    "iop_placement.cli",
    "iop_placement.comparison",
    "iop_placement.verification",
    "iop_placement._analysis.explain",
    "iop_placement._model.explanation",
    "iop_placement._analysis.provisional_diagrams",  # and dd, networkx under it: provisional() only
    "dd",
    "multiprocessing",
    "concurrent.futures.process",
    "sqlite3",
    "starlette",
    "uvicorn",
    "jwt",
    "httpx",
)


def _loaded_after(code: str) -> set[str]:
    program = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, env=env
    )
    return set(json.loads(done.stdout))


def test_importing_the_package_loads_no_heavy_module() -> None:
    loaded = _loaded_after("import iop_placement")
    assert "iop_placement._engine" in loaded  # the core is there
    assert sorted(loaded & set(HEAVY)) == []


def test_recommending_loads_no_heavy_module() -> None:
    loaded = _loaded_after(
        "import iop_placement\n"
        "from iop_placement.populations import population\n"
        "iop_placement.recommend(next(population('community_intake', 1)))"
    )
    assert sorted(loaded & set(HEAVY)) == []


def test_lazy_names_load_on_first_use() -> None:
    loaded = _loaded_after(
        "from iop_placement import Explanation, cds_hooks, recommend_many\n"
        "assert Explanation.__module__ == 'iop_placement', Explanation.__module__\n"
        "assert callable(recommend_many) and cds_hooks.to_cds_card"
    )
    assert {
        "iop_placement._model.explanation",
        "iop_placement.batch",
        "iop_placement.cds_hooks",
    } <= loaded


def test_explain_loads_the_explanation_when_called() -> None:
    loaded = _loaded_after(
        "import iop_placement\n"
        "from iop_placement.populations import population\n"
        "e = iop_placement.explain(next(population('community_intake', 1)))\n"
        "assert type(e).__name__ == 'Explanation' and e.to_markdown()"
    )
    assert "iop_placement._analysis.explain.explainer" in loaded
