"""The package's architecture, enforced: which layer may import which, no cycles, no face.

Every module under ``src/iop_placement`` is parsed with ``ast``; every import counts,
including those inside functions and under ``TYPE_CHECKING``. A module's layer is its
first component below the package (``_model.fields`` is in ``_model``); imports within a
layer are free, imports between layers must be listed in ``ALLOWED``. The checker itself
is tested on small synthetic graphs, so a violation cannot pass unnoticed.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Set
from pathlib import Path

PACKAGE = "iop_placement"
SOURCE = Path(__file__).resolve().parents[1] / "src" / PACKAGE

# Layer -> the layers it may import, bottom of the pipeline first. The package face
# (iop_placement/__init__.py) may import anything, and nothing may import it.
ALLOWED: Mapping[str, Set[str]] = {
    "_version": set(),
    "_render": set(),
    "_i18n": set(),
    "_model": {"_render", "_i18n"},
    "_i18n_build": {"_i18n", "_model", "_rules"},
    "_rules": {"_model", "_render"},
    "_backends": {"_model", "_rules"},
    # The decision policy, stated once (decide over a DecisionProgram); the algebras it is
    # computed in; the searches over it (provisional ranges, explanations).
    "_decision": {"_model", "_rules"},
    "_algebras": {"_model", "_rules", "_decision"},
    "_analysis": {"_model", "_rules", "_backends", "_decision", "_algebras"},
    "_engine": {
        "_model",
        "_rules",
        "_backends",
        "_decision",
        "_algebras",
        "_analysis",
    },
    "reference": {"_model"},
    "reassessment": {"_model", "_rules", "_render", "_engine"},
    "placement": {"_model"},
    "verification": {"_model", "_rules", "reference", "_decision", "_algebras"},
    "testing": {"_model", "_i18n"},
    "populations": set(),
    "comparison": {"_model", "_rules", "_render", "_engine", "_decision", "_algebras"},
    "_limits": set(),
    "audit": {"_model"},
    "batch": {"_model", "_rules", "_backends", "_engine"},
    "fhir": {"_model", "_version", "_rules", "_i18n"},
    "adaptive": {"_model", "_engine", "fhir"},
    "cds_hooks": {"_model", "_render", "_engine", "fhir", "_limits"},
    "service": {
        "_model",
        "_engine",
        "cds_hooks",
        "audit",
        "_limits",
        "_i18n",
        "fhir",
        "adaptive",
        "_render",
        "_version",
    },
    "cli": {
        "_model",
        "_rules",
        "_backends",
        "_engine",
        "_version",
        "batch",
        "audit",
        "service",
        "verification",
        "comparison",
        "populations",
        "reassessment",
        "fhir",
        "_i18n",
    },
    "__main__": {"cli"},
    "integrations": {"_model"},
}
# Third-party modules only one place may import.
CONFINED: Mapping[str, tuple[str, ...]] = {
    "durable_rules_engine": (f"{PACKAGE}._backends.durable",),
    "z3": (f"{PACKAGE}.verification._symbolic",),
    "dd": (f"{PACKAGE}._algebras.diagrams",),
    "jwt": (f"{PACKAGE}.service._auth",),
    "psycopg": (f"{PACKAGE}.audit._store",),
    "psycopg_pool": (f"{PACKAGE}.audit._store",),
    "uvicorn": (f"{PACKAGE}.service._http", f"{PACKAGE}.service._server"),
    "gunicorn": (f"{PACKAGE}.service._workers",),
    "uvicorn_worker": (f"{PACKAGE}.service._workers",),
    "fastapi": (f"{PACKAGE}.integrations.fastapi",),
    "fpdf": (f"{PACKAGE}._render.pdf",),
}

Graph = Mapping[str, Set[str]]


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(tree: ast.AST, modules: Set[str]) -> set[str]:
    """Every module an ``ast`` tree imports (``from pkg import submodule`` is the submodule)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
    return found


def package_graph() -> dict[str, set[str]]:
    """Module -> the modules it imports, for every module of the package."""
    paths = sorted(SOURCE.rglob("*.py"))
    modules = {module_name(path) for path in paths}
    return {
        module_name(path): imports_of(ast.parse(path.read_text(encoding="utf-8")), modules)
        for path in paths
    }


def layer(module: str) -> str | None:
    """The layer of a module of the package (None for the face), or of any other module."""
    if module == PACKAGE:
        return None
    return module.removeprefix(f"{PACKAGE}.").split(".")[0]


def cycles(graph: Graph) -> list[list[str]]:
    """Import cycles between the graph's own modules, each as a path that closes on itself."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in graph:
                continue
            if state.get(target) == 1:
                found.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def violations(graph: Graph, allowed: Mapping[str, Set[str]]) -> list[str]:
    """Imports the layer table does not allow, imports of the face, confined imports."""
    found = []
    for module, targets in sorted(graph.items()):
        source = layer(module)
        for target in sorted(targets):
            confined = CONFINED.get(target.split(".")[0])
            if confined is not None and module not in confined:
                only = " or ".join(confined)
                found.append(f"{module} imports {target}, which only {only} may")
            if target.split(".")[0] != PACKAGE or source is None:
                continue
            if target == PACKAGE:
                found.append(f"{module} imports the package face {PACKAGE}")
                continue
            goal = layer(target)
            if source not in allowed:
                found.append(f"{module}: layer {source!r} is not in the layer table")
            elif goal != source and goal not in allowed[source]:
                found.append(f"{module} ({source}) imports {target} ({goal})")
    return found


def test_the_package_has_no_import_cycle() -> None:
    assert cycles(package_graph()) == []


def test_every_import_follows_the_layer_table() -> None:
    assert violations(package_graph(), ALLOWED) == []


def test_every_module_is_in_a_layer_of_the_table() -> None:
    layers = {layer(module) for module in package_graph()} - {None}
    assert layers == set(ALLOWED)


def test_the_face_imports_in_function_bodies_are_counted() -> None:
    tree = ast.parse("def f():\n    from iop_placement import recommend\n")
    assert imports_of(tree, set()) == {PACKAGE}


def test_the_checker_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a", "os"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_checker_finds_upward_imports_and_imports_of_the_face() -> None:
    (durable,) = CONFINED["durable_rules_engine"]
    graph = {
        f"{PACKAGE}._model.levels": {f"{PACKAGE}._rules.conditions", "enum"},
        f"{PACKAGE}._rules.conditions": {f"{PACKAGE}._model.levels", f"{PACKAGE}._rules.x"},
        f"{PACKAGE}.cli": {PACKAGE},
        f"{PACKAGE}._engine": {"durable_rules_engine"},
        f"{PACKAGE}._new": set(),
        PACKAGE: {f"{PACKAGE}.cli"},
    }
    assert violations(
        graph, {"_model": set(), "_rules": {"_model"}, "cli": {"_model"}, "_engine": set()}
    ) == [
        f"{PACKAGE}._engine imports durable_rules_engine, which only {durable} may",
        f"{PACKAGE}._model.levels (_model) imports {PACKAGE}._rules.conditions (_rules)",
        f"{PACKAGE}.cli imports the package face {PACKAGE}",
    ]
