"""The card for a newer intake of a patient already in care: the reassessment's decision."""

from __future__ import annotations

import uuid
from typing import Any

from iop_placement._model.reassessment import Reassessment, Transition
from iop_placement._model.wording import NOTICE
from iop_placement._render.markdown import escape_markdown as _md
from iop_placement.cds_hooks._models import SUMMARY_MAX, Card, Source

__all__ = ["reassessment_card"]


def reassessment_card(result: Reassessment, *, card_uuid: str | None = None) -> dict[str, Any]:
    """A card: a newer intake exists, and what the transition rules say to do.

    ``warning`` for a step-up or a held step-down, ``info`` otherwise. Only levels, ratings
    and rule ids: no answer of the intake is quoted.
    """
    decision = result.decision
    summary = f"Newer intake: {decision.label} ({result.current_level.label}"
    summary += (
        f" \u2192 {result.target_level.label})"
        if result.target_level != (result.current_level)
        else ")"
    )
    if len(summary) > SUMMARY_MAX:
        summary = f"Newer intake: {decision.label}"
    lines = [f"**Reassessment:** {_md(decision.label)}.", ""]
    if result.justification:
        lines += [f"**Justification:** {_md(result.justification)}", ""]
    lines += [f"- **Not yet safe to step down:** {_md(text)}" for text in result.not_yet_safe]
    changed = [d for d in result.dimensions if d.delta]
    if changed:
        lines += ["", "**Ratings (before \u2192 now)**", ""]
        lines += [f"- {_md(d.dimension.label)}: {d.before} \u2192 {d.after}" for d in changed]
    lines += ["", f"_Transition rules: {_md(', '.join(result.deciding) or 'default')}._"]
    lines += ["", f"_{_md(NOTICE)}_"]
    held = decision == Transition.CONTINUE and bool(result.not_yet_safe)
    card = Card(
        uuid=card_uuid or str(uuid.uuid4()),
        summary=summary,
        detail="\n".join(lines),
        indicator="warning" if decision == Transition.STEP_UP or held else "info",
        source=Source(
            label=f"iop-placement transition rules {result.transitions.version}"
            f" (sha256 {result.transitions.sha256[:12]})"
        ),
    )
    return card.model_dump(mode="json", by_alias=True, exclude_none=True)
