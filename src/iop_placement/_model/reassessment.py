"""A reassessment: what to do now, from the recommendation before, the one now, and the level.

The vocabulary (:class:`Transition`) and the result (:class:`Reassessment`) live here, once;
the decision comes from the continued-service and transfer rules in ``rules/transitions.json``
(see ``iop_placement.reassessment``).
"""

from __future__ import annotations

from pydantic import Field

from iop_placement._model.base import Frozen
from iop_placement._model.errors import IopPlacementError
from iop_placement._model.labels import LabelledEnum
from iop_placement._model.levels import Dimension, Flag, LevelOfCare

__all__ = [
    "DimensionDelta",
    "InvalidReassessment",
    "Reassessment",
    "Transition",
    "TransitionReason",
    "TransitionRulesInfo",
]


class InvalidReassessment(IopPlacementError, ValueError):  # noqa: N818 - reads as the others
    """The current level or the days in it are not valid; the message names the field."""


class Transition(LabelledEnum):
    """What a reassessment recommends for the person's current level of care."""

    CONTINUE = (
        "continue",
        "Continue at the current level",
        "Stay at the current level and reassess.",
    )
    STEP_DOWN = (
        "step_down",
        "Step down",
        "Transfer to the less intensive level recommended now.",
    )
    STEP_UP = (
        "step_up",
        "Step up",
        "Transfer to the more intensive level recommended now.",
    )
    DISCHARGE = (
        "discharge",
        "Discharge to continuing care",
        "Goals of the least intensive level met: move to continuing care (recovery monitoring).",
    )


class DimensionDelta(Frozen):
    """One dimension's risk rating before and now."""

    dimension: Dimension
    before: int = Field(ge=0, le=4, description="The rating at the previous assessment.")
    after: int = Field(ge=0, le=4, description="The rating now.")

    @property
    def delta(self) -> int:
        """Positive when the risk rose."""
        return self.after - self.before


class TransitionReason(Frozen):
    """A continued-service or transfer rule that fired."""

    rule_id: str
    title: str
    text: str
    decision: Transition
    source: str = Field(description="The documents and reading the rule comes from.")


class TransitionRulesInfo(Frozen):
    """Which transition rules decided, for audit."""

    version: str
    sha256: str = Field(description="SHA-256 of the transition rule file.")


class Reassessment(Frozen):
    """The outcome of a reassessment, with everything a clinician needs to check it."""

    decision: Transition
    current_level: LevelOfCare = Field(description="The level the person is in now.")
    recommended_level: LevelOfCare = Field(description="The level the criteria recommend now.")
    previous_level: LevelOfCare = Field(description="The level recommended at the previous one.")
    days_in_level: int | None = Field(default=None, ge=0, description="Days in the current level.")
    dimensions: tuple[DimensionDelta, ...] = Field(description="Ratings before and now.")
    rules_fired: tuple[str, ...] = Field(
        description="Placement rules that fire now and did not before."
    )
    rules_released: tuple[str, ...] = Field(
        description="Placement rules that fired before and no longer do."
    )
    flags_raised: tuple[Flag, ...] = Field(description="Flags raised now and not before.")
    flags_cleared: tuple[Flag, ...] = Field(description="Flags raised before and not now.")
    reasons: tuple[TransitionReason, ...] = Field(
        description="Every transition rule that fired, in file order."
    )
    deciding: tuple[str, ...] = Field(description="The transition rules that gave the decision.")
    justification: str | None = Field(
        default=None, description="Why a step-down or discharge is justified (when it is one)."
    )
    not_yet_safe: tuple[str, ...] = Field(
        default=(),
        description="Why a less intensive level, though recommended, is not yet safe.",
    )
    transitions: TransitionRulesInfo

    @property
    def target_level(self) -> LevelOfCare:
        """The level the person should be in after this decision."""
        if self.decision in {Transition.STEP_DOWN, Transition.STEP_UP}:
            return self.recommended_level
        return self.current_level

    def to_text(self) -> str:
        """Plain text for a chart: decision, levels, deltas, rules; no patient free text."""
        lines = [
            f"Decision: {self.decision.label}",
            f"Current level: {self.current_level.label}"
            + (f" ({self.days_in_level} days)" if self.days_in_level is not None else ""),
            f"Recommended now: {self.recommended_level.label}"
            f" (previously {self.previous_level.label})",
        ]
        if self.justification:
            lines.append(f"Justification: {self.justification}")
        lines.extend(f"Not yet safe to step down: {text}" for text in self.not_yet_safe)
        changed = [d for d in self.dimensions if d.delta]
        if changed:
            lines.append("Dimension ratings (before -> now):")
            lines.extend(f"  {d.dimension.label}: {d.before} -> {d.after}" for d in changed)
        else:
            lines.append("Dimension ratings: unchanged")
        if self.flags_raised:
            lines.append("Flags raised: " + ", ".join(f.label for f in self.flags_raised))
        if self.flags_cleared:
            lines.append("Flags cleared: " + ", ".join(f.label for f in self.flags_cleared))
        if self.rules_fired:
            lines.append("Placement rules now firing: " + ", ".join(self.rules_fired))
        if self.rules_released:
            lines.append("Placement rules released: " + ", ".join(self.rules_released))
        lines.append("Transition rules: " + ", ".join(self.deciding or ("(default)",)))
        lines.append(
            f"Transition rules version {self.transitions.version}"
            f" (sha256 {self.transitions.sha256})"
        )
        return "\n".join(lines)
