"""The recommendation: level, flags, reasons, alternative, and the rule set that made it.

Also what it says in words (the document the renderers format), so that
``Recommendation.render()`` and the explanation read the same reasons the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Final

from pydantic import Field

from iop_placement._i18n import N_, _, rating_label, rule_text, use_language
from iop_placement._model.asam import AsamCorrespondence
from iop_placement._model.base import Frozen
from iop_placement._model.fields import FactValue
from iop_placement._model.levels import Dimension, Flag, LevelOfCare, RiskRating
from iop_placement._model.record import (
    OverrideReason,
    PlacementRecord,
    RulesetInfo,
    record_override,
)
from iop_placement._model.wording import NOTICE, describe_facts

# The document and its renderers load when something renders, not at import: recommend()
# never renders (each function below imports what it builds).
if TYPE_CHECKING:
    from iop_placement._render.document import Document, Item, Section

__all__ = [
    "OVERRIDE_NOTICE",
    "Alternative",
    "DimensionRating",
    "Reason",
    "Recommendation",
    "recommendation_document",
]


class Reason(Frozen):
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


class DimensionRating(Frozen):
    """One dimension's risk rating and the rating rules that set it."""

    dimension: Dimension
    rating: int = Field(
        ge=0, le=4, description="0 none, 1 mild, 2 moderate, 3 significant, 4 severe."
    )
    label: str = Field(description="The rating in words.")
    rule_ids: tuple[str, ...] = Field(
        description="The rating rules that gave this rating (none for a rating of 0)."
    )


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

    def render(self, language: str = "en") -> str:
        """The plain-text explanation a clinician reads, in ``language`` (``en``, ``es``).

        Raises:
            UnsupportedLanguage: when ``language`` has no catalogue.

        """
        from iop_placement._render.plain import render_plain  # noqa: PLC0415

        with use_language(language):
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
    from iop_placement._render.document import Detail, Item  # noqa: PLC0415

    details = [
        Detail(rule_text(reason.rule_id, reason.text)),
        Detail(describe_facts(reason.facts), _("Facts")),
    ]
    if reason.flags:
        details.append(Detail(", ".join(_(flag.label) for flag in reason.flags), _("Raises")))
    # The source quotes and reads English documents: it stays as written.
    details.append(Detail(reason.source, _("Source")))
    if reason.level is not None:
        outcome = _(reason.level.label)
    elif reason.dimension is not None:
        outcome = _("{dimension} rated {rating}").format(
            dimension=_(reason.dimension.label), rating=reason.rating
        )
    else:
        outcome = _("flags only")
    return Item(rule_text(reason.rule_id, reason.title), reason.rule_id, outcome, tuple(details))


DIMENSIONS_INTRO: Final = N_(
    "Each of the six ASAM dimensions is rated 0 (none) to 4 (severe) by the rating rules;"
    " the placement rules read these ratings."
)


def dimensions_section(rec: Recommendation) -> list[Section]:
    """The six-row table of dimension ratings and the reasons behind each (none before v2)."""
    from iop_placement._render.document import Section, Table  # noqa: PLC0415

    if not rec.dimensions:
        return []
    rows = []
    for rating in rec.dimensions:
        behind = sorted(
            (r for r in rec.reasons if r.dimension == rating.dimension),
            key=lambda r: -(r.rating or 0),
        )
        why = "; ".join(
            _("{title} [{rule_id}] gives {rating}: {facts}").format(
                title=rule_text(r.rule_id, r.title),
                rule_id=r.rule_id,
                rating=r.rating,
                facts=describe_facts(r.facts),
            )
            for r in behind
        )
        rows.append(
            (
                _(rating.dimension.label),
                f"{rating.rating} ({rating_label(RiskRating.of(rating.rating).label).lower()})",
                why or _("No rating rule holds."),
            )
        )
    table = Table((_("Dimension"), _("Rating"), _("Why")), tuple(rows))
    return [Section(_("Dimension ratings"), (_(DIMENSIONS_INTRO),), table=table)]


def why_sections(rec: Recommendation) -> list[Section]:
    """Flags, the deciding reasons, the dimension table, supporting reasons, the alternative."""
    from iop_placement._render.document import Detail, Item, Section  # noqa: PLC0415

    sections = []
    if rec.flags:
        flags = tuple(
            Item(_(flag.label), details=(Detail(_(flag.description)),)) for flag in rec.flags
        )
        sections.append(Section(_("Flags"), items=flags, numbered=False))
    least = LevelOfCare.least_intensive()
    none = (
        ()
        if rec.deciding
        else (_("No rule calls for more than {level}.").format(level=_(least.label)),)
    )
    deciding = tuple(reason_item(reason) for reason in rec.deciding)
    sections.append(Section(_("Why (deciding reasons)"), none, deciding))
    sections += dimensions_section(rec)
    if rec.supporting:
        # Rating reasons too: the table sums them up; here each shows its text and source.
        supporting = tuple(reason_item(reason) for reason in rec.supporting)
        sections.append(Section(_("Also considered (supporting reasons)"), items=supporting))
    if rec.alternative is not None:
        alt = rec.alternative
        intro = _("{level} (offered by {rule_ids}), only if all of these hold:").format(
            level=_(alt.level.label), rule_ids=", ".join(alt.rule_ids)
        )
        conditions = tuple(Item(_condition(alt.rule_ids, c)) for c in alt.conditions)
        sections.append(
            Section(_("Alternative the clinician may weigh"), (intro,), conditions, numbered=False)
        )
    return sections


def _condition(rule_ids: tuple[str, ...], condition: str) -> str:
    """An alternative's condition in the current language (from the first rule that has it)."""
    for rule_id in rule_ids:
        translated = rule_text(rule_id, condition)
        if translated != condition:
            return translated
    return condition


OVERRIDE_NOTICE: Final = N_(
    "a danger to life is present (see the flags): act on it first. No less intensive level"
    " or alternative is offered."
)


def framed(rec: Recommendation, sections: list[Section]) -> Document:
    """``sections`` between the summary (level, intensity) and the footer (rule set, notice)."""
    from iop_placement._render.document import Detail, Document, cleaned  # noqa: PLC0415

    lead = (Detail(_(OVERRIDE_NOTICE), _("Safety first")),) if rec.safety_override else ()
    summary = (
        *lead,
        Detail(_(rec.level.label), _("Recommended level of care")),
        Detail(_(rec.intensity), _("Typical intensity")),
    )
    ruleset = rec.ruleset
    footer = (
        _("Rule set: {name} {version} (sha256 {sha256})").format(
            name=ruleset.name, version=ruleset.version, sha256=ruleset.sha256[:12]
        ),
        _(NOTICE),
    )
    return cleaned(Document(summary, tuple(sections), footer))


def recommendation_document(rec: Recommendation) -> Document:
    """The recommendation alone in words: summary, flags, why, alternative, rule set."""
    return framed(rec, why_sections(rec))
