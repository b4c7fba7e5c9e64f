"""The placement record: which level was chosen when it differs from the recommended one, and why.

The record is for audit: the recommended and chosen levels, a reason code from a fixed
list, the flags and rules behind the recommendation, the rule set's name, version and
hash, and a timestamp the caller supplies. The free-text note may hold patient details: it
is kept out of ``repr``, ``str``, ``model_dump``, JSON and every rendering, and is given only
when asked for (``record.note``, ``record.audit_data(include_note=True)``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from pydantic import AwareDatetime, ConfigDict, Field, ValidationError, model_validator

from iop_placement._model.base import Frozen
from iop_placement._model.errors import IopPlacementError
from iop_placement._model.labels import LabelledEnum
from iop_placement._model.levels import Flag, LevelOfCare

__all__ = [
    "InvalidOverride",
    "OverrideReason",
    "PlacementRecord",
    "RulesetInfo",
    "record_override",
]

NOTE_MAX: Final = 2000


class OverrideReason(LabelledEnum):
    """Why the level chosen differs from the recommended one."""

    PATIENT_PREFERENCE = (
        "patient_preference",
        "Patient preference",
        "The person chose another level after the options were discussed.",
    )
    NOT_AVAILABLE = (
        "not_available",
        "Not available",
        "The recommended level is not available or cannot be reached now.",
    )
    CLINICAL_JUDGEMENT = (
        "clinical_judgement",
        "Clinical judgement",
        "The clinician judged another level more suitable, on information the rules do not weigh.",
    )
    PAYER = "payer", "Payer", "The payer did not authorise the recommended level."
    OTHER = "other", "Other", "Another reason, described in the note."


class RulesetInfo(Frozen):
    """Which rule set made a recommendation, for audit."""

    name: str
    version: str
    sha256: str = Field(description="SHA-256 of the rule files' contents.")


class InvalidOverride(IopPlacementError, ValueError):  # noqa: N818 - reads as the others do
    """The override cannot be recorded; the message names the fields, never their values."""


class PlacementRecord(Frozen):
    """An auditable record of a placement that differs from the recommendation."""

    model_config = ConfigDict(hide_input_in_errors=True)

    recommended_level: LevelOfCare = Field(description="The level the rules recommended.")
    chosen_level: LevelOfCare = Field(description="The level actually chosen.")
    reason_code: OverrideReason = Field(description="Why the chosen level differs.")
    at: AwareDatetime = Field(description="When the decision was made, with its time zone.")
    ruleset: RulesetInfo = Field(description="The rule set that made the recommendation.")
    flags: tuple[Flag, ...] = Field(default=(), description="Flags of the recommendation.")
    rule_ids: tuple[str, ...] = Field(
        default=(), description="The rules behind the recommendation, most intensive first."
    )
    note: str | None = Field(
        default=None,
        max_length=NOTE_MAX,
        repr=False,
        exclude=True,
        description="Free text; never shown, dumped or logged unless asked for.",
    )

    @model_validator(mode="after")
    def _an_override(self) -> PlacementRecord:
        if self.chosen_level == self.recommended_level:
            msg = "the chosen level is the recommended level: there is nothing to override"
            raise ValueError(msg)
        if self.reason_code == OverrideReason.OTHER and not (self.note and self.note.strip()):
            msg = "the reason code 'other' needs a note that says what the reason is"
            raise ValueError(msg)
        return self

    @property
    def more_intensive(self) -> bool:
        """Whether the chosen level is more intensive than the recommended one."""
        return self.chosen_level.rank > self.recommended_level.rank

    def audit_data(self, *, include_note: bool = False) -> dict[str, Any]:
        """The record as JSON-safe data; the note only when ``include_note`` is true."""
        data = self.model_dump(mode="json")
        if include_note:
            data["note"] = self.note
        return data

    def to_text(self) -> str:
        """One line per item, for a chart or an audit log; never the note."""
        ruleset = self.ruleset
        direction = "more" if self.more_intensive else "less"
        lines = [
            f"Recommended level of care: {self.recommended_level.label}",
            f"Chosen level of care: {self.chosen_level.label} ({direction} intensive)",
            f"Reason: {self.reason_code.label}",
            f"At: {self.at.isoformat()}",
            f"Rule set: {ruleset.name} {ruleset.version} (sha256 {ruleset.sha256})",
        ]
        if self.flags:
            lines.append("Flags: " + ", ".join(flag.label for flag in self.flags))
        if self.note is not None:
            lines.append("Note: recorded (not shown)")
        return "\n".join(lines)


def _problem(error: ValidationError) -> InvalidOverride:
    parts = []
    for item in error.errors(include_url=False, include_input=False, include_context=False):
        where = ".".join(str(part) for part in item["loc"]) or "record"
        if item["type"] in {"value_error", "assertion_error"}:
            parts.append(str(item["msg"]).removeprefix("Value error, "))
        elif where == "note":
            parts.append(f"note: must be text of at most {NOTE_MAX} characters")
        elif where == "reason_code":
            allowed = ", ".join(repr(code.value) for code in OverrideReason)
            parts.append(f"reason_code: must be one of {allowed}")
        elif where == "chosen_level":
            allowed = ", ".join(repr(level.value) for level in LevelOfCare)
            parts.append(f"chosen_level: must be one of {allowed}")
        elif where == "at":
            parts.append("at: must be a date and time with a time zone")
        else:
            parts.append(f"{where}: is not valid")
    return InvalidOverride("cannot record the override: " + "; ".join(parts))


def record_override(
    *,
    recommended_level: LevelOfCare,
    chosen_level: LevelOfCare | str,
    reason_code: OverrideReason | str,
    note: str | None,
    at: datetime,
    ruleset: RulesetInfo,
    flags: tuple[Flag, ...],
    rule_ids: tuple[str, ...],
) -> PlacementRecord:
    """A placement record for choosing ``chosen_level`` instead of the recommended level.

    Raises:
        InvalidOverride: when the level, reason code, timestamp or note is not valid, the
            chosen level is the recommended one, or 'other' comes without a note.

    """
    try:
        return PlacementRecord(
            recommended_level=recommended_level,
            chosen_level=chosen_level,  # a code is validated too
            reason_code=reason_code,
            at=at,
            ruleset=ruleset,
            flags=flags,
            rule_ids=rule_ids,
            note=note,
        )
    except ValidationError as error:
        raise _problem(error) from None
