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
from iop_placement._model.variance import (
    CSV_COLUMNS,
    Count,
    VarianceReport,
    deidentified_csv,
    variance_report,
)

__all__ = [
    "CSV_COLUMNS",
    "Admission",
    "Authorization",
    "Barrier",
    "ClinicianRole",
    "CodedReason",
    "Count",
    "InvalidPlacementRecord",
    "PlacementRecordV2",
    "ReasonCode",
    "ReasonCodeSystem",
    "RecommendedPlacement",
    "Selection",
    "VarianceReport",
    "default_reason_codes",
    "deidentified_csv",
    "record_placement",
    "variance_report",
]
