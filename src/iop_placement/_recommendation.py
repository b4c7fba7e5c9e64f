"""The recommendation: level, flags, reasons, alternative, and the rule set that made it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from iop_placement._asam import AsamCorrespondence
from iop_placement._levels import Dimension, Flag, LevelOfCare

if TYPE_CHECKING:
    from datetime import datetime

    from iop_placement._override import OverrideReason, PlacementRecord

__all__ = [
    "Alternative",
    "DimensionRating",
    "FactValue",
    "Reason",
    "Recommendation",
    "RulesetInfo",
]

# None: an optional field left out.
FactValue = str | bool | int | list[str] | None


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Reason(_Frozen):
    """One rule that fired: what it says, the facts that triggered it, and its source."""

    rule_id: str = Field(description="The rule's stable id, '<family>.<name>'.")
    title: str = Field(description="The rule's short title.")
    level: LevelOfCare | None = Field(
        description="The level the rule supports, or null for a rule that only raises flags"
        " or offers an alternative."
    )
    dimension: Dimension | None = Field(
        default=None, description="For a rating rule: the dimension it rates."
    )
    rating: int | None = Field(
        default=None, ge=0, le=4, description="For a rating rule: the rating it gives (0-4)."
    )
    flags: tuple[Flag, ...] = Field(default=(), description="Flags the rule raises.")
    text: str = Field(description="The criterion in plain language.")
    facts: dict[str, FactValue] = Field(
        description="The assessment answers that made the rule's condition hold, and for"
        " rules that read them the ratings ('rating.<dimension>'), counts"
        " ('dimensions_at_least.<k>') and decided level ('level'); null for a field left out."
    )
    source: str = Field(description="The documents and reading the rule comes from.")


class DimensionRating(_Frozen):
    """One dimension's risk rating and the rating rules that set it."""

    dimension: Dimension
    rating: int = Field(ge=0, le=4, description="0 none, 1 mild, 2 moderate, 3 significant, 4 severe.")
    label: str = Field(description="The rating in words.")
    rule_ids: tuple[str, ...] = Field(
        description="The rating rules that gave this rating (none for a rating of 0)."
    )


class Alternative(_Frozen):
    """A less intensive level the clinician may weigh, only on the conditions listed."""

    level: LevelOfCare
    conditions: tuple[str, ...]
    rule_ids: tuple[str, ...] = Field(description="The rules that offer this alternative.")


class RulesetInfo(_Frozen):
    """Which rule set made a recommendation, for audit."""

    name: str
    version: str
    sha256: str = Field(description="SHA-256 of the rule files' contents.")


class Recommendation(_Frozen):
    """The recommended level of care and everything a clinician needs to check it."""

    level: LevelOfCare
    flags: tuple[Flag, ...] = Field(description="Concerns to see beside the level.")
    reasons: tuple[Reason, ...] = Field(description="Rules that fired, most intensive level first.")
    alternative: Alternative | None = Field(
        default=None, description="A less intensive level the clinician may weigh."
    )
    intensity: str = Field(description="The typical intensity of the recommended level.")
    ruleset: RulesetInfo
    safety_override: bool = Field(
        default=False,
        description="A danger to life is present (the rule set's safety override): the level"
        " leads, and no lower-level reason or alternative is offered.",
    )
    dimensions: tuple[DimensionRating, ...] = Field(
        default=(),
        description="The risk rating of each ASAM dimension, in the order of Dimension (empty"
        " in records made before version 2 of the contract).",
    )
    asam: AsamCorrespondence | None = Field(
        default=None,
        description="The ASAM Criteria levels this roughly corresponds to (approximate), or null"
        " for a rule set without an ASAM crosswalk.",
    )

    @property
    def deciding(self) -> tuple[Reason, ...]:
        """The reasons that support the recommended level itself."""
        return tuple(reason for reason in self.reasons if reason.level == self.level)

    @property
    def supporting(self) -> tuple[Reason, ...]:
        """The other reasons: less intensive levels, flags and alternatives."""
        return tuple(reason for reason in self.reasons if reason.level != self.level)

    def render(self) -> str:
        """The plain-text explanation a clinician reads."""
        # Imported here: the document module builds on this one.
        from iop_placement._document import recommendation_document  # noqa: PLC0415
        from iop_placement._render_plain import render_plain  # noqa: PLC0415

        return render_plain(recommendation_document(self))

    def override(
        self,
        level: LevelOfCare | str,
        reason_code: OverrideReason | str,
        note: str | None = None,
        *,
        at: datetime,
    ) -> PlacementRecord:
        """An auditable record of choosing ``level`` instead of the recommended level.

        ``at`` is the time of the decision, with its time zone, supplied by the caller. The
        note is kept out of every rendering, dump and log unless asked for.

        Raises:
            InvalidOverride: when an argument is not valid, ``level`` is the recommended
                level, or the reason code 'other' comes without a note.

        """
        from iop_placement._override import record_override  # noqa: PLC0415 - import cycle

        return record_override(self, level, reason_code, note, at=at)
