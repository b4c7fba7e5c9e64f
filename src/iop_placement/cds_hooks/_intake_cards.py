"""Cards for an intake that cannot give a final recommendation: in progress, or too old.

Kept apart from :mod:`iop_placement.cds_hooks._card` (the recommendation's card): these
cards never name a final level. An ``in-progress`` intake gets a provisional card, the
range over every completion of its answers and what to ask next, even when every
question already has an answer (the response is still not completed). An intake older
than the service's maximum age gets a card that says so and asks for a reassessment; its
answers are not used for a suggestion.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final

from iop_placement._model.levels import Flag
from iop_placement._model.provisional import Provisional, range_words
from iop_placement._model.record import RulesetInfo
from iop_placement._model.wording import NOTICE

# The library's one Markdown escaper (imported, not changed).
from iop_placement._render.markdown import escape_markdown as _md
from iop_placement.cds_hooks._card import provisional_summary
from iop_placement.cds_hooks._models import SUMMARY_MAX, Card, Source

__all__ = ["in_progress_card", "stale_intake_card"]

_COMPLETE_HEAD: Final = "Provisional (intake not completed)"


def _source(ruleset: RulesetInfo) -> Source:
    return Source(
        label=f"iop-placement, rule set {ruleset.name} {ruleset.version}"
        f" (sha256 {ruleset.sha256[:12]})"
    )


def _all_answered_summary(p: Provisional) -> str:
    summary = f"{_COMPLETE_HEAD}: {range_words(p.lowest, p.highest)} \u2014 confirm the answers"
    return summary if len(summary) <= SUMMARY_MAX else _COMPLETE_HEAD


def _all_answered_detail(p: Provisional) -> str:
    lines = [
        f"**{_COMPLETE_HEAD}:** every question has an answer, but the intake's status is"
        " in progress: this is not a recommendation yet.",
        "",
        f"**Provisional level of care:** {_md(range_words(p.lowest, p.highest))}",
        "",
        "**Ask next:** confirm the answers with the patient and complete the intake for a"
        " recommendation.",
        "",
    ]
    if p.flags:
        lines += ["**Flags**", ""]
        lines += [f"- **{_md(flag.label)}:** {_md(flag.description)}" for flag in p.flags]
        lines.append("")
    ruleset = p.ruleset
    lines.append(
        f"_{_md(NOTICE)} Rule set {_md(ruleset.name)} {_md(ruleset.version)},"
        f" sha256 {ruleset.sha256}._"
    )
    return "\n".join(lines)


def in_progress_card(p: Provisional, *, card_uuid: str | None = None) -> dict[str, Any]:
    """The card for an ``in-progress`` intake: "Provisional", the range, what to ask next.

    Never a final level: an intake whose every question is answered but whose status is
    still ``in-progress`` gets the range (one level) and is asked to be completed.
    ``critical`` when the crisis flag is raised whatever the open answers, else
    ``warning``; no override reasons (there is nothing final to override).
    """
    if p.complete:
        summary, detail = _all_answered_summary(p), _all_answered_detail(p)
    else:
        summary, detail = provisional_summary(p), p.to_markdown()
    card = Card(
        uuid=card_uuid or str(uuid.uuid4()),
        summary=summary,
        detail=detail,
        indicator="critical" if Flag.CRISIS in p.flags else "warning",
        source=_source(p.ruleset),
    )
    return card.model_dump(mode="json", by_alias=True, exclude_none=True)


def stale_intake_card(
    authored: datetime,
    max_age_days: int,
    ruleset: RulesetInfo,
    *,
    card_uuid: str | None = None,
) -> dict[str, Any]:
    """The card for an intake older than ``max_age_days``: no level, a request to reassess."""
    day = authored.date().isoformat()
    summary = (
        f"Latest intake is from {day}, older than {max_age_days} days \u2014 please reassess"
        " before choosing a level of care."
    )
    detail = "\n".join(
        [
            f"**Intake too old to use:** the latest intake questionnaire was authored on {day},"
            f" more than {max_age_days} days ago. Its answers may no longer describe the"
            " patient, so no level of care is suggested from them.",
            "",
            "**Ask next:** a new intake (the safety screen first: suicide risk, medical"
            " stability, withdrawal).",
            "",
            f"_{_md(NOTICE)}_",
        ]
    )
    card = Card(
        uuid=card_uuid or str(uuid.uuid4()),
        summary=summary if len(summary) <= SUMMARY_MAX else "Latest intake is too old: reassess.",
        detail=detail,
        indicator="warning",
        source=_source(ruleset),
    )
    return card.model_dump(mode="json", by_alias=True, exclude_none=True)
