"""A recommendation as a CDS Hooks 2.0 card: summary, Markdown detail, indicator, source.

The card suggests; it never directs. With a crisis flag it asks for a clinician's crisis
evaluation first; the level, its reasons and sources follow in the detail.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Final

from iop_placement._model.fields import field_specs
from iop_placement._model.levels import Dimension, Flag
from iop_placement._model.provisional import Provisional, range_words
from iop_placement._model.recommendation import Reason, Recommendation
from iop_placement._model.record import OverrideReason
from iop_placement._model.view import CRISIS_ASK
from iop_placement._model.wording import NOTICE, describe_facts

# The library's one Markdown escaper, as for explanations and the rule catalogue.
from iop_placement._render.markdown import escape_markdown
from iop_placement.cds_hooks._models import SUMMARY_MAX, Card, Coding, Indicator, Source
from iop_placement.fhir._canonical import code_system

__all__ = [
    "OVERRIDE_REASON_SYSTEM",
    "card_indicator",
    "card_summary",
    "provisional_summary",
    "to_cds_card",
]

OVERRIDE_REASON_SYSTEM: Final = code_system("override_reason")

# What a card escapes is the rule set's constant text (labels, flag descriptions, the
# alternative's conditions, the notice): each is escaped once and kept.
_md: Final = lru_cache(maxsize=2048)(escape_markdown)


def card_indicator(rec: Recommendation) -> Indicator:
    """``critical`` with a crisis, ``warning`` with any other flag, ``info`` otherwise."""
    if Flag.CRISIS in rec.flags:
        return "critical"
    return "warning" if rec.flags else "info"


def card_summary(rec: Recommendation) -> str:
    """One sentence under 140 characters; with a crisis, a request for its evaluation."""
    if Flag.CRISIS in rec.flags:
        return f"{Flag.CRISIS.label} \u2014 {CRISIS_ASK}."
    summary = f"Suggested level of care: {rec.level.label}"
    if not rec.flags:
        return summary
    # Flags come safety first: name as many as fit, so a safety flag is never only counted.
    labels = [flag.label for flag in rec.flags]
    for shown in range(len(labels), 0, -1):
        rest = len(labels) - shown
        more = f" (+{rest} more)" if rest else ""
        listed = f"{summary} \u2014 flags: {', '.join(labels[:shown])}{more}"
        if len(listed) <= SUMMARY_MAX:
            return listed
    count = len(labels)
    return f"{summary} \u2014 {count} flag{'s' if count > 1 else ''}, see details"


# A reason's Markdown depends only on the reason: its rule's constant text (title, text,
# source, what it supports) and the facts that made it hold. The same few hundred reasons
# recur across calls, so each is escaped and rendered once (escaping was most of a hook
# call's CPU). The key holds every field read, each fact with its type (True == 1).
_ReasonKey = tuple[object, ...]


def _reason_key(reason: Reason) -> _ReasonKey:
    facts = tuple(
        (name, value.__class__, tuple(value) if isinstance(value, list) else value)
        for name, value in reason.facts.items()
    )
    return (
        reason.rule_id,
        reason.title,
        reason.text,
        reason.source,
        reason.level,
        reason.dimension,
        reason.rating,
        facts,
    )


@dataclass(frozen=True, slots=True)
class _ReasonParts:
    """One reason's Markdown: its list item (after the number) and its dimension-table entry."""

    item: str
    why: str


def _render_reason(reason: Reason) -> _ReasonParts:
    supports = (
        reason.level.label
        if reason.level
        else f"{reason.dimension.label} rated {reason.rating}"
        if reason.dimension
        else "flags only"
    )
    title, facts = _md(reason.title), _md(describe_facts(reason.facts))
    item = (
        f" **{title}** (`{reason.rule_id}`, {_md(supports)}): {_md(reason.text)}\n"
        f"   - Facts: {facts}\n"
        f"   - Source: {_md(reason.source)}"
    )
    why = f"{title} (`{reason.rule_id}`) gives {reason.rating}: {facts}"
    return _ReasonParts(item, why)


_REASONS_KEPT: Final = 4096
_reason_parts_memo: dict[_ReasonKey, _ReasonParts] = {}
_memo_lock = threading.Lock()


def _reason_parts(reason: Reason) -> _ReasonParts:
    """The reason's parts, rendered once and kept (at most ``_REASONS_KEPT`` of them)."""
    key = _reason_key(reason)
    parts = _reason_parts_memo.get(key)
    if parts is None:
        parts = _render_reason(reason)
        with _memo_lock:
            if len(_reason_parts_memo) >= _REASONS_KEPT:
                _reason_parts_memo.clear()  # a custom rule set with endless facts: start over
            _reason_parts_memo[key] = parts
    return parts


def _reasons(title: str, parts: Iterable[_ReasonParts]) -> list[str]:
    lines = [f"{number}.{part.item}" for number, part in enumerate(parts, 1)]
    return [f"**{title}**", "", *lines, ""] if lines else []


def _dimension_table(rec: Recommendation, parts: list[tuple[Reason, _ReasonParts]]) -> list[str]:
    if not rec.dimensions:
        return []
    rows = [
        "**Dimension ratings (0 none to 4 severe)**",
        "",
        "| Dimension | Rating | Why |",
        "|---|---|---|",
    ]
    whys: dict[object, list[str]] = {}
    for reason, part in parts:
        if reason.dimension is not None:
            whys.setdefault(reason.dimension, []).append(part.why)
    for rating in rec.dimensions:
        why = "; ".join(whys.get(rating.dimension, ()))
        rows.append(
            f"{_rating_cells(rating.dimension, rating.rating, rating.label)}"
            f" | {why or 'no rating rule holds'} |"
        )
    return [*rows, ""]


@lru_cache(maxsize=256)
def _rating_cells(dimension: Dimension, rating: int, label: str) -> str:
    """A dimension row's first cells: the dimension and its rating in words, escaped."""
    return f"| {_md(dimension.label)} | {rating} ({_md(label.lower())})"


def _detail(rec: Recommendation) -> str:
    lines = []
    if Flag.CRISIS in rec.flags:
        lines += [f"**{_md(Flag.CRISIS.label)}:** {_md(CRISIS_ASK.capitalize())}.", ""]
    elif rec.safety_override:
        danger = ", ".join(f.label for f in rec.flags if f.kind == "safety")
        lines += [f"**Safety first:** {_md(danger)}: act on it before placement.", ""]
    lines += [f"**Suggested level of care: {_md(rec.level.label)}** ({_md(rec.intensity)})", ""]
    if rec.flags:
        lines += ["**Flags**", ""]
        lines += [f"- **{_md(flag.label)}:** {_md(flag.description)}" for flag in rec.flags]
        lines.append("")
    # rec.reasons in order, split as rec.deciding and rec.supporting split them.
    parts = [(reason, _reason_parts(reason)) for reason in rec.reasons]
    deciding = [part for reason, part in parts if reason.level == rec.level]
    lines += _reasons("Why (deciding reasons)", deciding)
    if not deciding:
        lines += ["**Why:** no rule calls for more than standard outpatient care.", ""]
    lines += _dimension_table(rec, parts)
    lines += _reasons("Also considered", [part for r, part in parts if r.level != rec.level])
    if rec.alternative is not None:
        alt = rec.alternative
        lines += [f"**Alternative the clinician may weigh: {_md(alt.level.label)}**, only if:", ""]
        lines += [f"- {_md(condition)}" for condition in alt.conditions]
        lines.append("")
    if rec.asam is not None:
        codes = "; ".join(
            f"{level.edition} edition {level.code} {_md(level.label)}" for level in rec.asam.levels
        )
        lines += [f"**Approximate ASAM Criteria levels:** {codes}. _{_md(rec.asam.note)}_", ""]
    ruleset = rec.ruleset
    lines.append(
        f"_{_md(NOTICE)} Rule set {_md(ruleset.name)} {_md(ruleset.version)},"
        f" sha256 {ruleset.sha256}._"
    )
    return "\n".join(lines)


@cache
def _override_reasons() -> tuple[Coding, ...]:
    return tuple(
        Coding(code=reason.value, system=OVERRIDE_REASON_SYSTEM, display=reason.label)
        for reason in OverrideReason
    )


def provisional_summary(p: Provisional) -> str:
    """``Provisional: <range> - ask next: <questions>``, under 140 characters."""
    head = f"Provisional (intake incomplete): {range_words(p.lowest, p.highest)}"
    specs = field_specs()
    asks = [specs[name].title for name in p.decisive]
    for count in range(len(asks), 0, -1):
        listed = f"{head} \u2014 ask next: {', '.join(asks[:count])}"
        if len(listed) <= SUMMARY_MAX:
            return listed
    return head if len(head) <= SUMMARY_MAX else head[: SUMMARY_MAX - 1] + "\u2026"


def _provisional_card(p: Provisional, card_uuid: str | None) -> dict[str, Any]:
    ruleset = p.ruleset
    card = Card(
        uuid=card_uuid or str(uuid.uuid4()),
        summary=provisional_summary(p),
        detail=p.to_markdown(),
        indicator="critical" if Flag.CRISIS in p.flags else "warning",
        source=Source(
            label=f"iop-placement, rule set {ruleset.name} {ruleset.version}"
            f" (sha256 {ruleset.sha256[:12]})"
        ),
    )
    return card.model_dump(mode="json", by_alias=True, exclude_none=True)


def to_cds_card(
    rec: Recommendation | Provisional, *, card_uuid: str | None = None
) -> dict[str, Any]:
    """The recommendation as one CDS Hooks 2.0 card (a JSON-ready dict).

    ``uuid`` is ``card_uuid`` or a new random UUID; ``summary`` is under 140 characters;
    ``detail`` is Markdown with the flags, the deciding and supporting reasons (text,
    facts, source), the alternative and the approximate ASAM levels; ``indicator`` is
    ``critical`` for a crisis (whose summary asks for a clinician's crisis evaluation),
    ``warning`` for other flags and ``info`` otherwise; ``source.label`` names the rule
    set, its version and hash; ``overrideReasons`` carry the override reason codes.

    A :class:`Provisional` (partial intake) complete with a recommendation gets that
    recommendation's card; an incomplete one gets a ``warning`` card whose summary says
    "Provisional", gives the range and what to ask next, with no override reasons (there
    is nothing final to override).
    """
    if isinstance(rec, Provisional):
        if rec.recommendation is None:
            return _provisional_card(rec, card_uuid)
        rec = rec.recommendation
    ruleset = rec.ruleset
    card = Card(
        uuid=card_uuid or str(uuid.uuid4()),
        summary=card_summary(rec),
        detail=_detail(rec),
        indicator=card_indicator(rec),
        source=Source(
            label=f"iop-placement, rule set {ruleset.name} {ruleset.version}"
            f" (sha256 {ruleset.sha256[:12]})"
        ),
        overrideReasons=_override_reasons(),
    )
    return card.model_dump(mode="json", by_alias=True, exclude_none=True)
