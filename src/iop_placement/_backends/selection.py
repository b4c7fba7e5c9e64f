"""Which backend an engine uses, and its matcher for a set of conditions.

durable-rules is the default; the environment variable ``IOP_PLACEMENT_BACKEND`` or the
engine's ``backend`` argument choose otherwise. Where durable-rules is not installed (it
does not build on Python 3.13+) the compiled backend is used silently: both give the same
results, and a warning on every run would make ``python -W error`` (or a downstream suite
with ``filterwarnings = error``) fail ``recommend()``. ``iop-placement --version`` says
which backend runs. To be told by a warning, set ``IOP_PLACEMENT_BACKEND=durable``: then
a missing durable-rules falls back with one ``RuntimeWarning``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import warnings
from collections.abc import Mapping
from typing import Final

from iop_placement._backends.base import Backend, Matcher
from iop_placement._backends.compiled import CompiledMatcher
from iop_placement._model.errors import PlacementError
from iop_placement._rules.normal_form import Node

__all__ = ["BACKEND_VARIABLE", "describe", "durable_available", "matcher", "resolve"]

BACKEND_VARIABLE: Final = "IOP_PLACEMENT_BACKEND"
_warned = False


def durable_available() -> bool:
    """Whether durable-rules' C core is installed (it does not build on Python 3.13+)."""
    return importlib.util.find_spec("durable_rules_engine") is not None


def resolve(backend: Backend | None) -> Backend:
    """The backend to use: the one asked for, else the environment's, else durable-rules.

    Without durable-rules, the default falls back to the compiled backend silently; a
    ``durable`` from the environment falls back with one ``RuntimeWarning`` (the opt-in
    way to be told); ``backend="durable"`` raises.

    Raises:
        ValueError: for an unknown backend name.
        PlacementError: when durable-rules is asked for by name and is not installed.

    """
    global _warned  # noqa: PLW0603 - say it once per process
    from_environment = os.environ.get(BACKEND_VARIABLE)
    chosen = backend or from_environment or "durable"
    if chosen not in {"durable", "compiled"}:
        msg = f"backend must be 'durable' or 'compiled', not {chosen!r}"
        raise ValueError(msg)
    if chosen == "durable" and not durable_available():
        if backend == "durable":
            msg = "the durable backend needs durable-rules, which is not installed"
            raise PlacementError(msg)
        if from_environment == "durable" and not _warned:
            _warned = True
            warnings.warn(
                "durable-rules is not installed (it does not build on Python 3.13+);"
                " iop-placement uses its compiled backend, which gives the same results",
                RuntimeWarning,
                stacklevel=3,
            )
        return "compiled"
    return "durable" if chosen == "durable" else "compiled"


def describe() -> str:
    """Which backend a default engine uses here, in words (for ``iop-placement --version``)."""
    try:
        chosen = resolve(None)
    except ValueError as error:
        return str(error)
    if chosen == "compiled":
        # Asked for by name says so, even where durable-rules is missing as well.
        why = (
            f"{BACKEND_VARIABLE}=compiled"
            if os.environ.get(BACKEND_VARIABLE) == "compiled"
            else "durable-rules is not installed"
        )
        return f"rule backend: compiled ({why})"
    try:
        return f"rule backend: durable-rules {importlib.metadata.version('durable-rules')}"
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - no metadata
        return "rule backend: durable-rules"


def matcher(
    backend: Backend,
    name: str,
    conditions: Mapping[str, Node],
    weights: Mapping[str, int] | None = None,
) -> Matcher:
    """The conditions compiled by ``backend``; ``name`` names them in its errors.

    ``weights`` gives each condition's distinct bit for ``Matcher.mask`` (default: bit i
    for the i-th).
    """
    if backend == "durable":
        # Imported here: durable-rules is an optional dependency (absent on Python 3.13+).
        from iop_placement._backends.durable import DurableMatcher  # noqa: PLC0415

        return DurableMatcher(name, conditions, weights)
    return CompiledMatcher(name, conditions, weights)
