"""`import iop_placement` loads nothing but the package face: every public name on first use.

The models (and Pydantic) on the first use of a model or the first recommend(), the engine
on the first recommend(), the integrations, explanation, provisional search and batch only
when used. Checked in a fresh interpreter (``sys.modules``), never by timing. The lazy
names are still public: listed in ``__all__``, found by ``getattr``, ``from ... import``
and ``import *``, their classes reporting the package as their module
(tests/test_public_api.py checks all of it), the same object from any thread.
"""

from __future__ import annotations

import ast
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


def _run(program: str, *options: str) -> subprocess.CompletedProcess[str]:
    """``program`` in a fresh interpreter that imports this checkout's package."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, *options, "-c", program],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )


def _loaded_after(code: str) -> set[str]:
    done = _run(f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))")
    return set(json.loads(done.stdout))


# What the first use of the assessment's model loads (Pydantic with it), not the engine.
MODELS = ("pydantic", "pydantic_core", "iop_placement._model.assessment")


def test_importing_the_package_loads_nothing_but_its_face() -> None:
    # Only the package's own __init__, __future__ (its `from __future__ import` is also an
    # import) and what `import typing` alone would load (the face imports TYPE_CHECKING;
    # Pydantic needs typing anyway): no model, no Pydantic, no gettext or
    # importlib.resources (the languages), nothing else of the package.
    bare = _loaded_after("")
    new = _loaded_after("import iop_placement") - bare
    allowed = {"iop_placement", "__future__"} | (_loaded_after("import typing") - bare)
    assert sorted(new - allowed) == []
    assert "pydantic" not in new  # the point of it, and not allowed through typing


def test_the_first_model_loads_the_models_not_the_engine() -> None:
    loaded = _loaded_after(
        "import iop_placement\n"
        "assert iop_placement.Assessment.__module__ == 'iop_placement'\n"
        "assert iop_placement.Assessment.model_fields"
    )
    assert set(MODELS) <= loaded
    assert sorted(loaded & {*HEAVY, *ON_FIRST_RECOMMEND, "iop_placement._version"}) == []


def test_recommending_loads_the_models_and_no_heavy_module() -> None:
    loaded = _loaded_after(
        "import iop_placement\n"
        "from iop_placement.populations import population\n"
        "iop_placement.recommend(next(population('community_intake', 1)))"
    )
    assert {*MODELS, *ON_FIRST_RECOMMEND, "iop_placement._model.recommendation"} <= loaded
    assert sorted(loaded & set(HEAVY)) == []


def test_import_star_gives_every_public_name() -> None:
    loaded = _loaded_after(
        "from iop_placement import *\n"
        "import iop_placement\n"
        "names = iop_placement.__all__\n"
        "missing = [n for n in names if n not in globals()]\n"
        "assert missing == [], missing\n"
        "other = [n for n in names if globals()[n] is not getattr(iop_placement, n)]\n"
        "assert other == [], other\n"
        "assert dir(iop_placement) == sorted(names)"
    )
    assert {*MODELS, "iop_placement._engine", "iop_placement.cds_hooks"} <= loaded


def test_first_use_from_many_threads_gives_one_object() -> None:
    # Threads released together on a fresh interpreter, switching as often as CPython lets
    # them, each read the lazy names first: every thread must get the very same object.
    # (DEFAULT_RULES is made by a call, bundled_rules(): a second call, unguarded, made an
    # equal object that was not the same.)
    for names in (
        ["DEFAULT_RULES", "Assessment", "LevelOfCare", "parse_assessment", "RuleSetError"],
        ["json_schema", "DEFAULT_RULES", "PlacementEngine", "Explanation", "audit"],
    ):
        _loaded_after(
            "import sys, threading\n"
            "sys.setswitchinterval(1e-6)\n"
            "import iop_placement\n"
            f"names = {names!r}\n"
            "start = threading.Barrier(8)\n"
            "seen = []\n"
            "def read():\n"
            "    start.wait()\n"
            "    seen.append([getattr(iop_placement, n) for n in names])\n"
            "threads = [threading.Thread(target=read) for _ in range(8)]\n"
            "for t in threads: t.start()\n"
            "for t in threads: t.join()\n"
            "assert len(seen) == 8, len(seen)\n"
            "for i, n in enumerate(names):\n"
            "    assert len({id(s[i]) for s in seen}) == 1, n\n"
        )


def test_the_bundled_rule_set_is_located_once_for_all_threads() -> None:
    _loaded_after(
        "import sys, threading\n"
        "sys.setswitchinterval(1e-6)\n"
        "from iop_placement._rules.bundled import bundled_rules\n"
        "start = threading.Barrier(8)\n"
        "seen = []\n"
        "def read():\n"
        "    start.wait()\n"
        "    seen.append(bundled_rules())\n"
        "threads = [threading.Thread(target=read) for _ in range(8)]\n"
        "for t in threads: t.start()\n"
        "for t in threads: t.join()\n"
        "assert len(seen) == 8 and len({id(s) for s in seen}) == 1, seen\n"
        "assert bundled_rules() is seen[0] and seen[0].is_dir()"
    )


def test_the_message_template_does_not_depend_on_what_was_used() -> None:
    # The public classes say `iop_placement` for __module__ only once the face hands them
    # out; the .pot, built from the enums, must be the same either way.
    build = (
        "import hashlib\n"
        "from iop_placement._i18n_build import _pot_bytes, template\n"
        "print(hashlib.sha256(_pot_bytes(template())).hexdigest())"
    )
    digests = [_run(f"{first}\n{build}").stdout for first in ("", "from iop_placement import *")]
    assert len(digests[0].strip()) == 64
    assert digests[0] == digests[1]


def test_the_lazy_table_is_what_the_type_checker_sees() -> None:
    # _LAZY (module -> names, read by __getattr__) and the imports under TYPE_CHECKING
    # (read by mypy and IDEs) say the same, and with the three functions they are __all__.
    face = ast.parse(Path(iop_placement.__file__).read_text(encoding="utf-8"))
    guarded = next(
        node
        for node in face.body
        if isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
    )
    declared = {}
    for node in guarded.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("iop_"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                declared[alias.name] = sub if node.module == "iop_placement" else node.module
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            declared[node.target.id] = "(annotated)"
    lazy = dict(iop_placement._LAZY)
    annotated = {n for n, m in declared.items() if m == "(annotated)"}
    assert annotated == {"DEFAULT_RULES", "__version__"}
    assert {n: m for n, m in declared.items() if n not in annotated} == {
        n: m for n, m in lazy.items() if n not in annotated
    }
    functions = {"recommend", "provisional", "explain"}
    assert set(lazy) | functions == set(iop_placement.__all__)
    assert set(lazy).isdisjoint(functions)


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


def test_importtime_sees_what_first_use_loads() -> None:
    # `python -X importtime`, the tool for finding where import time goes (and the
    # benchmark's breakdown), times the import statement's machinery only: the face must
    # load lazy names through it, or their modules vanish from its report.
    done = _run("import iop_placement\niop_placement.Assessment", "-X", "importtime")
    timed = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert {"iop_placement", "iop_placement._model.assessment"} <= timed


def test_pickles_load_whether_or_not_the_package_handed_the_class_out() -> None:
    # A class reached only through its private module still says so in __module__; handed
    # out by the package, it says `iop_placement`. A pickle made either way loads in a
    # fresh interpreter (by the private path, or by the package's __getattr__).
    make = (
        "import pickle, sys\n"
        "from iop_placement._model.levels import LevelOfCare\n"
        "from iop_placement._model.errors import FieldProblem, InvalidAssessment\n"
        "{touch}\n"
        "error = InvalidAssessment((FieldProblem('motivation', 'unknown', 'a string', 'high'),))\n"
        "sys.stdout.write(pickle.dumps((LevelOfCare.INPATIENT, error), protocol=0).decode())"
    )
    load = (
        "import pickle\n"
        "level, error = pickle.loads({pickled!r}.encode())\n"
        "import iop_placement\n"
        "assert level is iop_placement.LevelOfCare.INPATIENT\n"
        "assert type(error) is iop_placement.InvalidAssessment and error.fields == ('motivation',)"
    )
    modules = []
    for touch in (
        "",
        "import iop_placement; iop_placement.LevelOfCare, iop_placement.InvalidAssessment",
    ):
        pickled = _run(make.format(touch=touch)).stdout
        modules.append("iop_placement._model.levels" in pickled)
        _run(load.format(pickled=pickled))
    assert modules == [True, False]
