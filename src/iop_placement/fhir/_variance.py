"""The variance report as a FHIR R4 Bundle holding one ``summary`` MeasureReport.

De-identified aggregate counts only: one group per way of counting (reason code, level
pair, deciding rule), each with one stratum per key and its count; the period is the years
the records fall in. No subject, record id or free text.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from iop_placement._model.variance import Count, VarianceReport
from iop_placement.fhir._canonical import CANONICAL_BASE, code_system

__all__ = ["VARIANCE_MEASURE", "to_variance_bundle"]

VARIANCE_MEASURE: Final = f"{CANONICAL_BASE}/Measure/placement-variance"
_GROUPS: Final = code_system("variance_group")
_POPULATION: Final = "http://terminology.hl7.org/CodeSystem/measure-population"


def _population(count: int) -> list[dict[str, Any]]:
    return [
        {
            "code": {"coding": [{"system": _POPULATION, "code": "initial-population"}]},
            "count": count,
        }
    ]


def _group(code: str, total: int, counts: tuple[Count, ...]) -> dict[str, Any]:
    return {
        "code": {"coding": [{"system": _GROUPS, "code": code}]},
        "population": _population(total),
        "stratifier": [
            {
                "code": [{"coding": [{"system": _GROUPS, "code": code}]}],
                "stratum": [
                    {"value": {"text": c.key}, "population": _population(c.count)} for c in counts
                ],
            }
        ],
    }


def to_variance_bundle(report: VarianceReport) -> dict[str, Any]:
    """A ``collection`` Bundle with the report as a ``summary`` MeasureReport (JSON-ready)."""
    years = report.years or (0,)
    measure_report = {
        "resourceType": "MeasureReport",
        "id": "placement-variance",
        "status": "complete",
        "type": "summary",
        "measure": VARIANCE_MEASURE,
        "period": {"start": f"{years[0]:04d}", "end": f"{years[-1]:04d}"},
        "group": [
            _group("all-records", report.records, report.by_level_pair),
            _group("reason-code", report.records, report.by_reason),
            _group("deciding-rule", report.variances, report.by_deciding_rule),
        ],
    }
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": measure_report}],
    }
