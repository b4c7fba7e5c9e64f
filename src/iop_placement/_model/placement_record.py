"""Placement record v2: recommended, selected, authorized and admitted levels, with coded reasons.

Extends the v1 override record (:class:`~iop_placement._model.record.PlacementRecord`, which
stays as it is): the level the engine recommended, the level a clinician selected (with
their role), the level a payer authorized (authorization id, dates or units) and the level
the person was admitted to; a reason from a **configurable code system per jurisdiction**
(a JSON data file; the bundled default covers the common state-form reasons and maps each
to one of the five :class:`OverrideReason` codes); structured barriers. The free-text note
is never dumped, rendered or exported; the audit store keeps it in its own column.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import AwareDatetime, Field, ValidationError, model_validator

from iop_placement._model.asam import AsamCorrespondence
from iop_placement._model.base import Frozen
from iop_placement._model.labels import LabelledEnum
from iop_placement._model.levels import Dimension, Flag, LevelOfCare
from iop_placement._model.recommendation import Recommendation
from iop_placement._model.record import (
    NOTE_MAX,
    InvalidOverride,
    OverrideReason,
    PlacementRecord,
    RulesetInfo,
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

_DEFAULT_CODES: Final = "reason_codes.default.json"


class InvalidPlacementRecord(InvalidOverride):
    """A v2 placement record cannot be made; the message names the fields, never values."""


class ClinicianRole(LabelledEnum):
    """Who selected the level."""

    PHYSICIAN = "physician", "Physician", "A physician (MD/DO), including an addiction specialist."
    NURSE_PRACTITIONER = "nurse_practitioner", "Nurse practitioner or physician assistant"
    COUNSELOR = "counselor", "Addiction counselor", "A licensed or certified addiction counselor."
    SOCIAL_WORKER = "social_worker", "Social worker"
    PSYCHOLOGIST = "psychologist", "Psychologist"
    CASE_MANAGER = "case_manager", "Case manager or care coordinator"
    OTHER = "other", "Other clinician"


class Barrier(LabelledEnum):
    """Something that stands between the person and the recommended level (structured)."""

    TRANSPORT = "transport", "Transportation"
    CHILDCARE = "childcare", "Childcare or caregiving"
    WORK_OR_SCHOOL = "work_or_school", "Work or school"
    HOUSING = "housing", "Housing"
    LANGUAGE = "language", "Language or culture"
    COST = "cost", "Cost or coverage"
    WAITLIST = "waitlist", "Waiting list or no bed"
    LEGAL = "legal", "Legal or court requirements"
    DISTANCE = "distance", "Distance"
    DISABILITY = "disability", "Disability access"


class ReasonCode(Frozen):
    """One code of a jurisdiction's reason code system."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    display: str = Field(min_length=1)
    definition: str = ""
    maps_to: OverrideReason = Field(description="The library's own reason this code counts as.")
    requires_note: bool = False


class ReasonCodeSystem(Frozen):
    """A jurisdiction's reasons for a placement that differs from the recommended level."""

    jurisdiction: str = Field(min_length=1)
    title: str
    system: str = Field(min_length=1, description="The code system's URI (FHIR Coding.system).")
    version: str = Field(min_length=1)
    source: str = ""
    note: str = ""
    codes: tuple[ReasonCode, ...]

    @model_validator(mode="after")
    def _with_the_library_codes(self) -> ReasonCodeSystem:
        own = [
            ReasonCode(
                code=reason.value,
                display=reason.label,
                definition=reason.description,
                maps_to=reason,
                requires_note=reason == OverrideReason.OTHER,
            )
            for reason in OverrideReason
        ]
        given = [c for c in self.codes if c.code not in OverrideReason.values()]
        names = [c.code for c in given]
        if len(set(names)) != len(names):
            msg = "codes: each code must appear once"
            raise ValueError(msg)
        object.__setattr__(self, "codes", (*own, *given))
        return self

    def get(self, code: str) -> ReasonCode:
        """The code ``code``.

        Raises:
            InvalidPlacementRecord: no such code (the message lists the allowed codes).

        """
        for item in self.codes:
            if item.code == code:
                return item
        allowed = ", ".join(repr(c.code) for c in self.codes)
        msg = f"reason_code: must be one of {allowed} (code system {self.jurisdiction})"
        raise InvalidPlacementRecord(msg)

    @classmethod
    def from_file(cls, path: str | Path) -> ReasonCodeSystem:
        """A code system from a JSON file (the format of the bundled default).

        Raises:
            InvalidPlacementRecord: the file is not a valid code system.

        """
        return cls._parse(Path(path).read_bytes())

    @classmethod
    def _parse(cls, raw: bytes) -> ReasonCodeSystem:
        try:
            return cls.model_validate(json.loads(raw))
        except (ValidationError, ValueError) as error:
            msg = f"the reason code system is not valid ({type(error).__name__})"
            raise InvalidPlacementRecord(msg) from None


@cache
def default_reason_codes() -> ReasonCodeSystem:
    """The bundled default code system (common state-form reasons)."""
    raw = (files("iop_placement._model") / "codes" / _DEFAULT_CODES).read_bytes()
    return ReasonCodeSystem._parse(raw)


class CodedReason(Frozen):
    """A reason as coded: system, code, display, and the library's reason it counts as."""

    system: str
    code: str
    display: str
    maps_to: OverrideReason


class RecommendedPlacement(Frozen):
    """What the engine recommended."""

    level: LevelOfCare
    flags: tuple[Flag, ...] = ()
    rule_ids: tuple[str, ...] = Field(default=(), description="Every rule that fired.")
    deciding_rule_ids: tuple[str, ...] = Field(
        default=(), description="The rules that support the recommended level itself."
    )
    ratings: tuple[tuple[Dimension, int], ...] = Field(
        default=(), description="Each dimension's risk rating (0-4)."
    )
    ruleset: RulesetInfo
    asam: AsamCorrespondence | None = Field(
        default=None, description="The ASAM levels the recommendation roughly corresponds to."
    )


class Selection(Frozen):
    """The level a clinician selected, and their role."""

    level: LevelOfCare
    role: ClinicianRole
    at: AwareDatetime


class Authorization(Frozen):
    """What the payer authorized: level, authorization id, and dates or units."""

    level: LevelOfCare
    authorization_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    start: date | None = None
    end: date | None = None
    units: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _dates_or_units(self) -> Authorization:
        if self.units is None and self.start is None:
            msg = "authorized: give dates (start, and end if known) or units"
            raise ValueError(msg)
        if self.start and self.end and self.end < self.start:
            msg = "authorized: end is before start"
            raise ValueError(msg)
        return self


class Admission(Frozen):
    """The level the person was admitted to, and when."""

    level: LevelOfCare
    on: date


class PlacementRecordV2(Frozen):
    """Recommended, selected, authorized and admitted levels, with a coded reason."""

    schema_version: Literal[2] = 2
    record_id: str = Field(
        default_factory=lambda: str(uuid.uuid4()),
        pattern=r"^[A-Za-z0-9\-.]{1,40}$",
        description="The record's id (a UUID by default); FHIR resource ids derive from it.",
    )
    at: AwareDatetime
    recommended: RecommendedPlacement
    selected: Selection | None = None
    authorized: Authorization | None = None
    admitted: Admission | None = None
    reason: CodedReason | None = None
    barriers: tuple[Barrier, ...] = ()
    questionnaire_response: str | None = Field(
        default=None,
        pattern=r"^QuestionnaireResponse/[A-Za-z0-9\-.]{1,64}$",
        description="The source QuestionnaireResponse, as a FHIR reference.",
    )
    note: str | None = Field(
        default=None,
        max_length=NOTE_MAX,
        repr=False,
        exclude=True,
        description="Free text; never shown, dumped, exported or logged unless asked for.",
    )

    @model_validator(mode="after")
    def _reason_when_it_differs(self) -> PlacementRecordV2:
        recommended = self.recommended.level
        differs = any(
            part is not None and part.level != recommended
            for part in (self.selected, self.authorized, self.admitted)
        )
        if differs and self.reason is None:
            msg = "reason: a level differs from the recommended one, so a reason code is needed"
            raise ValueError(msg)
        return self

    @property
    def final_level(self) -> LevelOfCare:
        """The most downstream level known: admitted, else authorized, selected, recommended."""
        for part in (self.admitted, self.authorized, self.selected):
            if part is not None:
                return part.level
        return self.recommended.level

    def audit_data(self, *, include_note: bool = False) -> dict[str, Any]:
        """The record as JSON-safe data; the note only when ``include_note`` is true."""
        data = self.model_dump(mode="json")
        if include_note:
            data["note"] = self.note
        return data

    def to_text(self) -> str:
        """One line per item, for a chart; never the note."""
        lines = [f"Recommended: {self.recommended.level.label}"]
        if self.selected:
            lines.append(f"Selected: {self.selected.level.label} (by {self.selected.role.label})")
        if self.authorized:
            a = self.authorized
            span = f"{a.units} units" if a.units else f"from {a.start} to {a.end or 'open'}"
            lines.append(f"Authorized: {a.level.label} ({a.authorization_id}, {span})")
        if self.admitted:
            lines.append(f"Admitted: {self.admitted.level.label} on {self.admitted.on}")
        if self.reason:
            lines.append(f"Reason: {self.reason.display} ({self.reason.code})")
        if self.barriers:
            lines.append("Barriers: " + ", ".join(b.label for b in self.barriers))
        if self.note is not None:
            lines.append("Note: recorded (not shown)")
        return "\n".join(lines)

    @classmethod
    def from_v1(cls, record: PlacementRecord) -> PlacementRecordV2:
        """A v1 override record as v2 (the selection's role is not known: ``other``)."""
        reason = default_reason_codes().get(record.reason_code.value)
        return cls(
            at=record.at,
            recommended=RecommendedPlacement(
                level=record.recommended_level,
                flags=record.flags,
                rule_ids=record.rule_ids,
                ruleset=record.ruleset,
            ),
            selected=Selection(level=record.chosen_level, role=ClinicianRole.OTHER, at=record.at),
            reason=_coded(default_reason_codes(), reason),
            note=record.note,
        )


def _coded(system: ReasonCodeSystem, code: ReasonCode) -> CodedReason:
    return CodedReason(
        system=system.system, code=code.code, display=code.display, maps_to=code.maps_to
    )


def _problem(error: ValidationError) -> InvalidPlacementRecord:
    parts = []
    for item in error.errors(include_url=False, include_input=False, include_context=False):
        where = ".".join(str(part) for part in item["loc"]) or "record"
        text = str(item["msg"]).removeprefix("Value error, ")
        parts.append(text if item["type"] == "value_error" else f"{where}: {text}")
    return InvalidPlacementRecord("cannot record the placement: " + "; ".join(parts))


def record_placement(
    recommendation: Recommendation,
    *,
    at: datetime,
    selected: LevelOfCare | str | None = None,
    role: ClinicianRole | str | None = None,
    authorized: Authorization | dict[str, Any] | None = None,
    admitted: Admission | dict[str, Any] | None = None,
    reason_code: str | None = None,
    codes: ReasonCodeSystem | None = None,
    barriers: tuple[Barrier | str, ...] = (),
    questionnaire_response: str | None = None,
    note: str | None = None,
) -> PlacementRecordV2:
    """A v2 placement record for ``recommendation``.

    ``reason_code`` is a code of ``codes`` (default: the bundled default system). A
    reason is required when the selected, authorized or admitted level differs from the
    recommended one; a code that requires a note needs one.

    Raises:
        InvalidPlacementRecord: naming each bad field, never its value.

    """
    system = codes or default_reason_codes()
    reason = None
    if reason_code is not None:
        code = system.get(reason_code)
        if code.requires_note and not (note and note.strip()):
            msg = f"cannot record the placement: the reason code {code.code!r} needs a note"
            raise InvalidPlacementRecord(msg)
        reason = _coded(system, code)
    try:
        return PlacementRecordV2(
            at=at,
            recommended=RecommendedPlacement(
                level=recommendation.level,
                flags=recommendation.flags,
                rule_ids=tuple(r.rule_id for r in recommendation.reasons),
                deciding_rule_ids=tuple(r.rule_id for r in recommendation.deciding),
                ratings=tuple((d.dimension, d.rating) for d in recommendation.dimensions),
                ruleset=recommendation.ruleset,
                asam=recommendation.asam,
            ),
            selected=None
            if selected is None
            else Selection.model_validate({"level": selected, "role": role, "at": at}),
            authorized=authorized,
            admitted=admitted,
            reason=reason,
            barriers=barriers,
            questionnaire_response=questionnaire_response,
            note=note,
        )
    except ValidationError as error:
        raise _problem(error) from None
