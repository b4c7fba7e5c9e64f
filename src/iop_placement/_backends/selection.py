"""Which backend an engine uses, and its matcher for a set of conditions.

durable-rules is the default; the environment variable ``IOP_PLACEMENT_BACKEND`` or the
engine's ``backend`` argument choose otherwise. Where durable-rules is not installed (it
does not build on Python 3.13+) the compiled backend is used, with one warning.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from collections.abc import Mapping
from typing import Final

from iop_placement._backends.base import Backend, Matcher
from iop_placement._backends.compiled import CompiledMatcher
from iop_placement._model.errors import PlacementError
from iop_placement._rules.normal_form import Node

__all__ = ["BACKEND_VARIABLE", "durable_available", "matcher", "resolve"]

BACKEND_VARIABLE: Final = "IOP_PLACEMENT_BACKEND"
_warned = False


def durable_available() -> bool:
    """Whether durable-rules' C core is installed (it does not build on Python 3.13+)."""
    return importlib.util.find_spec("durable_rules_engine") is not None


def resolve(backend: Backend | None) -> Backend:
    """The backend to use: the one asked for, else the environment's, else durable-rules.

    Raises:
        ValueError: for an unknown backend name.
        PlacementError: when durable-rules is asked for by name and is not installed.

    """
    global _warned  # noqa: PLW0603 - say it once per process
    chosen = backend or os.environ.get(BACKEND_VARIABLE) or "durable"
    if chosen not in {"durable", "compiled"}:
        msg = f"backend must be 'durable' or 'compiled', not {chosen!r}"
        raise ValueError(msg)
    if chosen == "durable" and not durable_available():
        if backend == "durable":
            msg = "the durable backend needs durable-rules, which is not installed"
            raise PlacementError(msg)
        if not _warned:
            _warned = True
            warnings.warn(
                "durable-rules is not installed (it does not build on Python 3.13+);"
                " iop-placement uses its compiled backend, which gives the same results",
                RuntimeWarning,
                stacklevel=3,
            )
        return "compiled"
    return "durable" if chosen == "durable" else "compiled"


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
