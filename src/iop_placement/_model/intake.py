"""The order of questions in an intake interview, read from ``intake.json`` (data, not code)."""

from __future__ import annotations

import functools
import json
from importlib.resources import files

from iop_placement._model.assessment import Assessment

__all__ = ["declared_intake_order", "intake_order"]

_DATA = "intake.json"


@functools.cache
def declared_intake_order() -> tuple[str, ...]:
    """The field names exactly as ``intake.json`` lists them."""
    data = json.loads((files("iop_placement") / _DATA).read_bytes())
    return tuple(str(name) for name in data["order"])


@functools.cache
def intake_order() -> tuple[str, ...]:
    """Every field of :class:`Assessment`, in the order an intake interview asks for them.

    A name the data file lists but the model lacks is left out, and a field the model has
    but the file does not list follows in the model's order, so a form never loses a
    question (a test keeps the file and the model in step).
    """
    fields = Assessment.model_fields
    declared = [name for name in declared_intake_order() if name in fields]
    return (*declared, *(name for name in fields if name not in declared))
