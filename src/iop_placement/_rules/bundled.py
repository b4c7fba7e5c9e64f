"""Where the bundled rule set lives: inside the installed package, or in a source checkout."""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

__all__ = ["bundled_rules"]


def bundled_rules() -> Traversable:
    """The bundled ``rules/`` directory.

    A wheel carries it as ``iop_placement/rules``; an editable install of a checkout reads
    the top-level ``rules/`` beside ``src/``, which is the same directory before packaging.
    """
    packaged = files("iop_placement") / "rules"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / "rules"
    if checkout.is_dir():
        return checkout
    return packaged  # loading it raises a RuleSetError that says it does not exist
