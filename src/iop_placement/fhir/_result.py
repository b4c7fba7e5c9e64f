"""``fhir.to_result(record, subject=...)``: a placement record as FHIR R4 resources a payer reads.

A ``collection`` Bundle holding:

- a **ServiceRequest** ``intent=proposal`` for the level the engine recommended, its
  ``code`` coded in several systems (the engine's levels, ASAM 4th and 3rd edition
  approximate from the rule set's ``asam.json``, TEDS service types from ``level_codes.json``);
- a **ServiceRequest** ``intent=order`` for the level the clinician selected (when there is
  one), ``basedOn`` the proposal, its ``reasonCode`` the coded reason (the jurisdiction's
  system), the payer's authorization as an ``identifier`` and its dates or units as
  ``occurrencePeriod`` / ``quantityQuantity``;
- an **Encounter** for the admission (when there is one), ``basedOn`` the order;
- one **Observation** per ASAM dimension (its rating 0-4), ``derivedFrom`` the source
  QuestionnaireResponse;

every resource labelled in ``meta.security`` for 42 CFR Part 2. Why ServiceRequest and not
the CPG's RequestGroup/GuidanceResponse is in docs/placement-record.md. The free-text note
is never written.
"""

from __future__ import annotations

import json
import uuid
from functools import cache
from importlib.resources import files
from typing import Any, Final

from iop_placement._model.asam import AsamCorrespondence
from iop_placement._model.levels import Dimension, LevelOfCare
from iop_placement._model.placement_record import PlacementRecordV2
from iop_placement._rules.asam import ASAM_FILE, AsamCrosswalk
from iop_placement._rules.bundled import bundled_rules
from iop_placement.fhir._canonical import code_system

__all__ = ["LEVEL_SYSTEM", "PART2_SECURITY", "asam_system", "level_code", "to_result"]

LEVEL_SYSTEM: Final = code_system("level_of_care")
DIMENSION_SYSTEM: Final = code_system("asam_dimension")
AUTHORIZATION_SYSTEM: Final = code_system("prior_authorization")
_ACT_CODE: Final = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
_CONFIDENTIALITY: Final = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
PART2_SECURITY: Final = (
    {"system": _CONFIDENTIALITY, "code": "R", "display": "restricted"},
    {"system": _ACT_CODE, "code": "42CFRPart2", "display": "42 CFR Part2"},
    {"system": _ACT_CODE, "code": "ETH", "display": "substance abuse information sensitivity"},
    {
        "system": _ACT_CODE,
        "code": "NORDSCLCD",
        "display": "no redisclosure without consent directive",
    },
)
"""The ``meta.security`` labels of every resource: restricted; 42 CFR Part 2; substance use
information; no redisclosure without consent (HL7 v3 Confidentiality and ActCode)."""


def asam_system(edition: str) -> str:
    """The code system URL of one ASAM edition's levels (approximate correspondence)."""
    return code_system(f"asam_{edition}_edition_level")


@cache
def _other_systems() -> tuple[dict[str, Any], ...]:
    data = json.loads((files("iop_placement.fhir") / "level_codes.json").read_bytes())
    return tuple(data["systems"])


@cache
def _crosswalk() -> AsamCrosswalk:
    raw = (bundled_rules() / ASAM_FILE).read_bytes()
    return AsamCrosswalk.model_validate(json.loads(raw))


def level_code(level: LevelOfCare, asam: AsamCorrespondence | None = None) -> dict[str, Any]:
    """A CodeableConcept for ``level``: engine, ASAM 4th/3rd (approximate) and TEDS codings.

    ``asam``: the recommendation's own correspondence (``rec.asam``); else the bundled
    crosswalk's codes for the level.
    """
    codings: list[dict[str, Any]] = [
        {"system": LEVEL_SYSTEM, "code": level.value, "display": level.label}
    ]
    if asam is None:
        asam = _crosswalk().correspond(level, ())
    codings += [
        {"system": asam_system(item.edition), "code": item.code, "display": item.label}
        for item in asam.levels
    ]
    for other in _other_systems():
        entry = other["levels"].get(level.value)
        if entry is not None:
            codings.append({"system": other["system"], **entry})
    return {"coding": codings, "text": level.label}


def _meta() -> dict[str, Any]:
    return {"security": [dict(label) for label in PART2_SECURITY]}


def _observation(
    record: PlacementRecordV2, dimension: Dimension, rating: int, subject: str
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"{record.record_id}-d{list(Dimension).index(dimension) + 1}",
        "meta": _meta(),
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "survey",
                    }
                ]
            }
        ],
        "code": {
            "coding": [
                {"system": DIMENSION_SYSTEM, "code": dimension.value, "display": dimension.label}
            ],
            "text": dimension.description,
        },
        "subject": {"reference": subject},
        "effectiveDateTime": record.at.isoformat(),
        "valueInteger": rating,
    }
    if record.questionnaire_response:
        resource["derivedFrom"] = [{"reference": record.questionnaire_response}]
    return resource


def _proposal(record: PlacementRecordV2, subject: str, observations: list[str]) -> dict[str, Any]:
    recommended = record.recommended
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": f"{record.record_id}-recommended",
        "meta": _meta(),
        "status": "active" if record.selected is None else "completed",
        "intent": "proposal",
        "code": level_code(recommended.level, recommended.asam),
        "subject": {"reference": subject},
        "authoredOn": record.at.isoformat(),
        "reasonReference": [{"reference": ref} for ref in observations],
    }
    if record.questionnaire_response:
        resource["supportingInfo"] = [{"reference": record.questionnaire_response}]
    return resource


def _order(record: PlacementRecordV2, subject: str) -> dict[str, Any] | None:
    selected = record.selected
    if selected is None:
        return None
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": f"{record.record_id}-selected",
        "meta": _meta(),
        "status": "active",
        "intent": "order",
        "basedOn": [{"reference": _ref("ServiceRequest", f"{record.record_id}-recommended")}],
        "code": level_code(selected.level),
        "subject": {"reference": subject},
        "authoredOn": selected.at.isoformat(),
    }
    if record.reason is not None:
        reason = record.reason
        resource["reasonCode"] = [
            {"coding": [{"system": reason.system, "code": reason.code, "display": reason.display}]}
        ]
    authorized = record.authorized
    if authorized is not None:
        resource["identifier"] = [
            {"system": AUTHORIZATION_SYSTEM, "value": authorized.authorization_id}
        ]
        if authorized.start is not None:
            period = {"start": authorized.start.isoformat()}
            if authorized.end is not None:
                period["end"] = authorized.end.isoformat()
            resource["occurrencePeriod"] = period
        if authorized.units is not None:
            resource["quantityQuantity"] = {"value": authorized.units, "unit": "units"}
    return resource


def _encounter(record: PlacementRecordV2, subject: str) -> dict[str, Any] | None:
    admitted = record.admitted
    if admitted is None:
        return None
    inpatient = admitted.level == LevelOfCare.INPATIENT
    based_on = (
        f"{record.record_id}-selected" if record.selected else f"{record.record_id}-recommended"
    )
    return {
        "resourceType": "Encounter",
        "id": f"{record.record_id}-admitted",
        "meta": _meta(),
        "status": "in-progress",
        "class": {
            "system": _ACT_CODE,
            "code": "IMP" if inpatient else "AMB",
            "display": "inpatient encounter" if inpatient else "ambulatory",
        },
        "serviceType": level_code(admitted.level),
        "subject": {"reference": subject},
        "basedOn": [{"reference": _ref("ServiceRequest", based_on)}],
        "period": {"start": admitted.on.isoformat()},
    }


def to_result(record: PlacementRecordV2, *, subject: str) -> dict[str, Any]:
    """The record as a FHIR R4 ``collection`` Bundle (JSON-ready dict); never the note.

    ``subject`` is the patient's reference (``Patient/<id>``); it is not stored in the
    record, which stays free of identifiers.

    Raises:
        ValueError: ``subject`` is not a ``Patient/<id>`` reference.

    """
    kind, _, ident = subject.partition("/")
    if kind != "Patient" or not ident or len(ident) > 64:
        msg = "subject: must be a reference Patient/<id>"
        raise ValueError(msg)
    observations = [
        _observation(record, dimension, rating, subject)
        for dimension, rating in record.recommended.ratings
    ]
    refs = [_ref("Observation", o["id"]) for o in observations]
    resources = [_proposal(record, subject, refs)]
    order = _order(record, subject)
    if order is not None:
        resources.append(order)
    encounter = _encounter(record, subject)
    if encounter is not None:
        resources.append(encounter)
    resources += observations
    return {
        "resourceType": "Bundle",
        "id": record.record_id,
        "meta": _meta(),
        "type": "collection",
        "timestamp": record.at.isoformat(),
        "entry": [{"fullUrl": _ref(r["resourceType"], r["id"]), "resource": r} for r in resources],
    }


def _ref(kind: str, ident: str) -> str:
    """The bundle-local reference of a resource: a name-based UUID URN (stable per record)."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{kind}/{ident}')}"
