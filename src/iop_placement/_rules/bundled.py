"""Where the bundled rule set lives: inside the installed package, or in a source checkout."""

from __future__ import annotations

import functools
import threading
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

__all__ = ["bundled_rules"]


# functools.cache alone may run a function twice when two threads call it first at once
# (each then keeps its own result): the lock makes the first call the only one.
_LOCK = threading.Lock()


def bundled_rules() -> Traversable:
    """The bundled ``rules/`` directory: the same object on every call, from any thread.

    A wheel carries it as ``iop_placement/rules``; an editable install of a checkout reads
    the top-level ``rules/`` beside ``src/``, which is the same directory before packaging.
    """
    with _LOCK:
        return _locate()


@functools.cache
def _locate() -> Traversable:
    packaged = files("iop_placement") / "rules"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / "rules"
    if checkout.is_dir():
        return checkout
    return packaged  # loading it raises a RuleSetError that says it does not exist
