"""Placement record v2: recommended, selected, authorized and admitted levels, coded reasons.

::

    from iop_placement.placement import record_placement
    record = record_placement(rec, at=now, selected="intensive_outpatient", role="counselor",
                              reason_code="transport", barriers=("transport",))
    store.append_placement(record)            # iop_placement.audit.AuditStore

Reason codes come from a code system per jurisdiction (:class:`ReasonCodeSystem`, a JSON
file; :func:`default_reason_codes` is the bundled one). See docs/placement-record.md.
"""

from __future__ import annotations

from iop_placement._model.placement_record import (
    Admission,
    Authorization,
    Barrier,
    ClinicianRole,
    CodedReason,
    InvalidPlacementRecord,
    PlacementRecordV2,
    ReasonCode,
    ReasonCodeSystem,
    RecommendedPlacement,
    Selection,
    default_reason_codes,
    record_placement,
)

__all__ = [
    "Admission",
    "Authorization",
    "Barrier",
    "ClinicianRole",
    "CodedReason",
    "InvalidPlacementRecord",
    "PlacementRecordV2",
    "ReasonCode",
    "ReasonCodeSystem",
    "RecommendedPlacement",
    "Selection",
    "default_reason_codes",
    "record_placement",
]
