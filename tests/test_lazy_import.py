"""`import iop_placement` loads the models only: the engine on the first recommend(), the
integrations, explanation, provisional search and batch on first use.

Checked in a fresh interpreter (``sys.modules``), never by timing. The lazy names are
still public: listed in ``__all__``, found by ``getattr`` and by ``from ... import``, their
classes reporting the package as their module (tests/test_public_api.py checks all of it).
"""

from __future__ import annotations

import importlib.util
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
    "iop_placement._analysis.provisional",  # the search and its models: provisional() only
    "iop_placement._analysis.provisional_diagrams",  # and dd, networkx under it
    "iop_placement._model.provisional",
    "iop_placement._render.document",  # the document and its renderers: render() only
    "iop_placement._render.plain",
    "iop_placement._render.html",
    "iop_placement._render.markdown",
    "dd",
    "multiprocessing",
    "concurrent.futures.process",
    "sqlite3",
    "starlette",
    "uvicorn",
    "jwt",
    "httpx",
)

# What the first recommend() loads, and `import iop_placement` does not: the engine, its
# backends, the rule set (read from the package on first use) and the decision policy the
# engine reads its tables from. (The version, from importlib.metadata, loads on first read
# of __version__.)
ON_FIRST_RECOMMEND = (
    "iop_placement._engine",
    "iop_placement._decision.policy",
    "iop_placement._algebras.fired_sets",
    "iop_placement._backends.facts",
    "iop_placement._backends.selection",
    "iop_placement._rules.ruleset",
    "iop_placement._rules.normal_form",
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
    assert "iop_placement._model.assessment" in loaded  # the models are there
    assert sorted(loaded & {*HEAVY, *ON_FIRST_RECOMMEND, "iop_placement._version"}) == []


def test_recommending_loads_no_heavy_module() -> None:
    loaded = _loaded_after(
        "import iop_placement\n"
        "from iop_placement.populations import population\n"
        "iop_placement.recommend(next(population('community_intake', 1)))"
    )
    assert set(ON_FIRST_RECOMMEND) <= loaded
    assert sorted(loaded & set(HEAVY)) == []


def test_the_engine_names_load_the_engine_on_first_use() -> None:
    loaded = _loaded_after(
        "import iop_placement\n"
        "from iop_placement import DEFAULT_RULES, PlacementEngine, __version__, default_engine\n"
        "assert PlacementEngine.__module__ == 'iop_placement', PlacementEngine.__module__\n"
        "assert default_engine() is default_engine() and default_engine().rule_set\n"
        "assert DEFAULT_RULES is iop_placement.DEFAULT_RULES and DEFAULT_RULES.is_dir()\n"
        "assert __version__ and __version__ == iop_placement.__version__"
    )
    assert "iop_placement._engine" in loaded


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


def test_every_listed_module_of_the_package_exists() -> None:
    # A module renamed or moved would otherwise pass the tests above without being checked.
    listed = [n for n in (*HEAVY, *ON_FIRST_RECOMMEND) if n.startswith("iop_placement.")]
    assert [n for n in listed if importlib.util.find_spec(n) is None] == []
