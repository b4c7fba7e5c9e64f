"""The recommendation: level, flags, reasons, alternative, and the rule set that made it.

Also what it says in words (the document the renderers format), so that
``Recommendation.render()`` and the explanation read the same reasons the same way.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from iop_placement._model.asam import AsamCorrespondence
from iop_placement._model.base import Frozen
from iop_placement._model.fields import FactValue
from iop_placement._model.levels import Flag, LevelOfCare
from iop_placement._model.record import (
    OverrideReason,
    PlacementRecord,
    RulesetInfo,
    record_override,
)
from iop_placement._model.wording import NOTICE, describe_facts
from iop_placement._render.document import Detail, Document, Item, Section, cleaned
from iop_placement._render.plain import render_plain

__all__ = ["Alternative", "Reason", "Recommendation", "recommendation_document"]


class Reason(Frozen):
    """One rule that fired: what it says, the facts that triggered it, and its source."""

    rule_id: str = Field(description="The rule's stable id, '<family>.<name>'.")
    title: str = Field(description="The rule's short title.")
    level: LevelOfCare | None = Field(
        description="The level the rule supports, or null for a rule that only raises flags"
        " or offers an alternative."
    )
    flags: tuple[Flag, ...] = Field(default=(), description="Flags the rule raises.")
    text: str = Field(description="The criterion in plain language.")
    facts: dict[str, FactValue] = Field(
        description="The assessment answers that made the rule's condition hold."
    )
    source: str = Field(description="The documents and reading the rule comes from.")


class Alternative(Frozen):
    """A less intensive level the clinician may weigh, only on the conditions listed."""

    level: LevelOfCare
    conditions: tuple[str, ...]
    rule_ids: tuple[str, ...] = Field(description="The rules that offer this alternative.")


class Recommendation(Frozen):
    """The recommended level of care and everything a clinician needs to check it."""

    level: LevelOfCare
    flags: tuple[Flag, ...] = Field(description="Concerns to see beside the level.")
    reasons: tuple[Reason, ...] = Field(description="Rules that fired, most intensive level first.")
    alternative: Alternative | None = Field(
        default=None, description="A less intensive level the clinician may weigh."
    )
    intensity: str = Field(description="The typical intensity of the recommended level.")
    ruleset: RulesetInfo
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
        return record_override(
            recommended_level=self.level,
            chosen_level=level,
            reason_code=reason_code,
            note=note,
            at=at,
            ruleset=self.ruleset,
            flags=self.flags,
            rule_ids=tuple(reason.rule_id for reason in self.reasons),
        )


# --- in words ---------------------------------------------------------------------------


def reason_item(reason: Reason) -> Item:
    """One reason: title, rule id and the level it supports; text, facts, flags, source."""
    details = [Detail(reason.text), Detail(describe_facts(reason.facts), "Facts")]
    if reason.flags:
        details.append(Detail(", ".join(flag.label for flag in reason.flags), "Raises"))
    details.append(Detail(reason.source, "Source"))
    outcome = reason.level.label if reason.level is not None else "flags only"
    return Item(reason.title, reason.rule_id, outcome, tuple(details))


def why_sections(rec: Recommendation) -> list[Section]:
    """Flags, the deciding and supporting reasons, and the alternative."""
    sections = []
    if rec.flags:
        flags = tuple(Item(flag.label, details=(Detail(flag.description),)) for flag in rec.flags)
        sections.append(Section("Flags", items=flags, numbered=False))
    least = LevelOfCare.least_intensive()
    none = () if rec.deciding else (f"No rule calls for more than {least.label}.",)
    deciding = tuple(reason_item(reason) for reason in rec.deciding)
    sections.append(Section("Why (deciding reasons)", none, deciding))
    if rec.supporting:
        supporting = tuple(reason_item(reason) for reason in rec.supporting)
        sections.append(Section("Also considered (supporting reasons)", items=supporting))
    if rec.alternative is not None:
        alt = rec.alternative
        intro = (
            f"{alt.level.label} (offered by {', '.join(alt.rule_ids)}), only if all of these hold:"
        )
        conditions = tuple(Item(condition) for condition in alt.conditions)
        sections.append(
            Section("Alternative the clinician may weigh", (intro,), conditions, numbered=False)
        )
    return sections


def framed(rec: Recommendation, sections: list[Section]) -> Document:
    """``sections`` between the summary (level, intensity) and the footer (rule set, notice)."""
    summary = (
        Detail(rec.level.label, "Recommended level of care"),
        Detail(rec.intensity, "Typical intensity"),
    )
    ruleset = rec.ruleset
    footer = (f"Rule set: {ruleset.name} {ruleset.version} (sha256 {ruleset.sha256[:12]})", NOTICE)
    return cleaned(Document(summary, tuple(sections), footer))


def recommendation_document(rec: Recommendation) -> Document:
    """The recommendation alone in words: summary, flags, why, alternative, rule set."""
    return framed(rec, why_sections(rec))
