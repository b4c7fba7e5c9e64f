"""Variance: how often what happened differs from what the criteria recommended, and why.

Counts over placement records (v2) by reason code, by level pair (recommended -> the most
downstream level known) and by deciding rule, and a de-identified row per record for CSV.
Nothing here carries free text, a record id, a subject or a date finer than the year
(HIPAA Safe Harbor keeps only the year of a date).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable
from typing import Final

from pydantic import Field

from iop_placement._model.base import Frozen
from iop_placement._model.placement_record import PlacementRecordV2

__all__ = ["CSV_COLUMNS", "Count", "VarianceReport", "deidentified_csv", "variance_report"]

CSV_COLUMNS: Final = (
    "year",
    "recommended_level",
    "selected_level",
    "selected_role",
    "authorized_level",
    "admitted_level",
    "final_level",
    "reason_system",
    "reason_code",
    "reason_maps_to",
    "deciding_rules",
    "flags",
    "barriers",
    "ruleset_name",
    "ruleset_version",
)


class Count(Frozen):
    """One key and how many records have it."""

    key: str
    count: int = Field(ge=0)


class VarianceReport(Frozen):
    """Counts over placement records; no free text, identifiers or dates."""

    records: int = Field(description="Placement records read.")
    variances: int = Field(description="Records whose final level differs from the recommended.")
    years: tuple[int, ...] = Field(description="The years the records fall in.")
    by_reason: tuple[Count, ...] = Field(description="Reason code (system|code) -> records.")
    by_level_pair: tuple[Count, ...] = Field(
        description="'recommended->final' -> records (every record, variance or not)."
    )
    by_deciding_rule: tuple[Count, ...] = Field(
        description="Deciding rule of the recommendation -> records that differ."
    )

    def to_text(self) -> str:
        """A plain-text table for the terminal."""
        lines = [
            f"{self.records} placement records, {self.variances} differ from the recommended level"
        ]
        for title, counts in (
            ("By reason code", self.by_reason),
            ("By level pair (recommended -> final)", self.by_level_pair),
            ("By deciding rule (records that differ)", self.by_deciding_rule),
        ):
            lines += ["", title]
            lines += [f"  {c.count:6d}  {c.key}" for c in counts] or ["  (none)"]
        return "\n".join(lines)


def _counts(counter: Counter[str]) -> tuple[Count, ...]:
    return tuple(
        Count(key=k, count=n) for k, n in sorted(counter.items(), key=lambda i: (-i[1], i[0]))
    )


def variance_report(records: Iterable[PlacementRecordV2]) -> VarianceReport:
    """Count the records by reason code, level pair and deciding rule."""
    total = differ = 0
    years: set[int] = set()
    reasons: Counter[str] = Counter()
    pairs: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    for record in records:
        total += 1
        years.add(record.at.year)
        recommended, final = record.recommended.level, record.final_level
        pairs[f"{recommended.value}->{final.value}"] += 1
        if record.reason is not None:
            reasons[f"{record.reason.system}|{record.reason.code}"] += 1
        if final != recommended:
            differ += 1
            for rule_id in record.recommended.deciding_rule_ids or ("(none recorded)",):
                rules[rule_id] += 1
    return VarianceReport(
        records=total,
        variances=differ,
        years=tuple(sorted(years)),
        by_reason=_counts(reasons),
        by_level_pair=_counts(pairs),
        by_deciding_rule=_counts(rules),
    )


def _row(record: PlacementRecordV2) -> dict[str, str]:
    def level(part: object) -> str:
        value = getattr(part, "level", None)
        return "" if value is None else str(value)

    reason = record.reason
    return {
        "year": str(record.at.year),
        "recommended_level": record.recommended.level.value,
        "selected_level": level(record.selected),
        "selected_role": record.selected.role.value if record.selected else "",
        "authorized_level": level(record.authorized),
        "admitted_level": level(record.admitted),
        "final_level": record.final_level.value,
        "reason_system": reason.system if reason else "",
        "reason_code": reason.code if reason else "",
        "reason_maps_to": reason.maps_to.value if reason else "",
        "deciding_rules": ";".join(record.recommended.deciding_rule_ids),
        "flags": ";".join(flag.value for flag in record.recommended.flags),
        "barriers": ";".join(b.value for b in record.barriers),
        "ruleset_name": record.recommended.ruleset.name,
        "ruleset_version": record.recommended.ruleset.version,
    }


def deidentified_csv(records: Iterable[PlacementRecordV2]) -> str:
    """One row per record (columns :data:`CSV_COLUMNS`): codes only, the year only."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow(_row(record))
    return out.getvalue()
