"""FHIR R4 CodeSystem resources for every code system the project's resources reference.

One per choice question of the Questionnaire (its answers' codes), one for the override
reasons of a CDS card's override feedback, and one each for the levels of care and the
ASAM dimensions that ``fhir.to_result`` codes its ServiceRequests and Observations in.
Built from the model's enums (codes, labels, descriptions), so they cannot drift from the
Questionnaire, the cards or the results.
"""

from __future__ import annotations

from typing import Any, Final

from iop_placement._model.assessment import Assessment
from iop_placement._model.fields import FieldSpec, field_specs
from iop_placement._model.intake import intake_order
from iop_placement._model.labels import LabelledEnum
from iop_placement._model.levels import Dimension, LevelOfCare
from iop_placement._model.record import OverrideReason
from iop_placement._version import __version__
from iop_placement.fhir._canonical import CANONICAL_BASE, code_system, code_system_id

__all__ = ["OVERRIDE_REASON", "code_system_names", "to_code_system", "to_code_systems"]

OVERRIDE_REASON: Final = "override_reason"
"""The vocabulary of override reasons (CDS Hooks override feedback, audit records)."""

_PUBLISHER: Final = "iop-placement developers"

# The vocabularies that are one enum each: name -> (enum, title, description).
_ENUM_SYSTEMS: Final[dict[str, tuple[type[LabelledEnum], str, str]]] = {
    OVERRIDE_REASON: (
        OverrideReason,
        "Override reason",
        "Why the level of care chosen differs from the recommended one.",
    ),
    "level_of_care": (
        LevelOfCare,
        "Level of care",
        "The levels of care iop-placement recommends (fhir.to_result's ServiceRequests).",
    ),
    "asam_dimension": (
        Dimension,
        "ASAM dimension",
        "The six ASAM Criteria dimensions rated in each recommendation (fhir.to_result's"
        " Observations).",
    ),
}


def _choice_specs() -> dict[str, FieldSpec]:
    specs = field_specs()
    return {
        name: specs[name] for name in intake_order() if specs[name].kind in {"choice", "choices"}
    }


def code_system_names() -> tuple[str, ...]:
    """Every vocabulary with a CodeSystem: the choice questions in intake order, then the rest."""
    return (*_choice_specs(), *_ENUM_SYSTEMS)


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _concepts(codes: tuple[str, ...], enum: type[LabelledEnum] | None) -> list[dict[str, str]]:
    concepts = []
    for code in codes:
        member = enum.of(code) if enum is not None else None
        concept = {"code": code, "display": member.label if member is not None else code}
        if member is not None and member.description:
            concept["definition"] = member.description
        concepts.append(concept)
    return concepts


def _resource(
    name: str, title: str, description: str, concepts: list[dict[str, str]], base: str
) -> dict[str, Any]:
    return {
        "resourceType": "CodeSystem",
        "id": code_system_id(name),
        "url": code_system(name, base),
        "version": __version__,
        "name": _pascal(name),
        "title": title,
        "status": "active",
        "experimental": False,
        "publisher": _PUBLISHER,
        "description": description,
        "caseSensitive": True,
        "content": "complete",
        "count": len(concepts),
        "concept": concepts,
    }


def to_code_system(name: str, *, base: str = CANONICAL_BASE) -> dict[str, Any]:
    """The CodeSystem of one vocabulary (a choice field's name, or one of the enum ones).

    Its ``url`` is :func:`code_system` of the name under ``base``; each concept is a code
    with its label as ``display`` and, where the model has one, its description as
    ``definition``.

    Raises:
        KeyError: when ``name`` has no code system (see :func:`code_system_names`).
        CanonicalBaseError: when ``base`` cannot prefix canonical URLs.

    """
    if name in _ENUM_SYSTEMS:
        enum, title, description = _ENUM_SYSTEMS[name]
        return _resource(name, title, description, _concepts(enum.values(), enum), base)
    specs = _choice_specs()
    if name not in specs:
        msg = f"{name!r} has no code system; the names are {', '.join(code_system_names())}"
        raise KeyError(msg)
    spec = specs[name]
    description = Assessment.model_fields[name].description or spec.title
    return _resource(name, spec.title, description, _concepts(spec.values, spec.enum), base)


def to_code_systems(*, base: str = CANONICAL_BASE) -> list[dict[str, Any]]:
    """Every CodeSystem, in the order of :func:`code_system_names`."""
    return [to_code_system(name, base=base) for name in code_system_names()]
