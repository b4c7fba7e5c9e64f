"""A recommendation as JSON-ready display data: codes with their human labels.

What a page or a card shows, worked out once from the model's labels, so no client has
to know a label (the intake page renders this and nothing else). The texts are in the
language in use (:func:`iop_placement._i18n.use_language`); codes, rule ids, ratings and
sources are the same in every language. The memos below hold English views only: in
another language every view is worked out afresh.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Final

from iop_placement._i18n import DEFAULT_LANGUAGE, N_, _, current_language, rating_label, rule_text
from iop_placement._model.asam import AsamCorrespondence
from iop_placement._model.dump import key_json, model_json, to_json
from iop_placement._model.fields import field_specs
from iop_placement._model.levels import Dimension, Flag, LevelOfCare
from iop_placement._model.memo import IdentityMemo
from iop_placement._model.provisional import (
    Provisional,
    _answer,
    _rating_range,
    range_words,
)
from iop_placement._model.recommendation import (
    OVERRIDE_NOTICE,
    Alternative,
    DimensionRating,
    Reason,
    Recommendation,
    _condition,
)
from iop_placement._model.record import RulesetInfo
from iop_placement._model.wording import NOTICE, describe_facts

__all__ = [
    "CRISIS_ASK",
    "dimension_view",
    "flag_view",
    "level_view",
    "provisional_view",
    "reason_view",
    "recommendation_response_json",
    "recommendation_view",
    "recommendation_view_json",
]

# What the crisis flag asks of the reader: an evaluation by a clinician, not a placement.
CRISIS_ASK: Final = N_(
    "please arrange an immediate crisis evaluation by a clinician before any placement"
)


def level_view(level: LevelOfCare) -> dict[str, str]:
    """A level's code, label, description and typical intensity."""
    return {
        "code": level.value,
        "label": _(level.label),
        "description": _(level.description),
        "intensity": _(level.intensity),
    }


def flag_view(flag: Flag) -> dict[str, str]:
    """A flag's code, label, description and kind (safety or feasibility)."""
    return {
        "code": flag.value,
        "label": _(flag.label),
        "description": _(flag.description),
        "kind": flag.kind.value,
    }


def _reason_view(reason: Reason) -> dict[str, Any]:
    return {
        "rule_id": reason.rule_id,
        "title": rule_text(reason.rule_id, reason.title),
        "level": _(reason.level.label) if reason.level else None,
        "flags": [_(flag.label) for flag in reason.flags],
        "text": rule_text(reason.rule_id, reason.text),
        "facts": describe_facts(reason.facts),
        "source": reason.source,
    }


def _reason_parts(reason: Reason) -> tuple[bytes, bytes, bytes]:
    """A reason as JSON; its view; its view with its rating (a dimension table's row)."""
    plain = to_json(_reason_view(reason))
    return to_json(reason), plain, plain[:-1] + b',"rating":' + to_json(reason.rating) + b"}"


def _rating_parts(rating: DimensionRating) -> tuple[bytes, bytes]:
    """A rating as JSON; its dimension row as JSON up to the row's reasons."""
    return to_json(rating), to_json(_row(rating))[:-1] + b',"reasons":['


# The parts are frozen and the engine hands out the same reason for the same facts, and
# the same rating, alternative and rule set objects again and again: each one's view (the
# facts in words above all) is worked out once. Bounded: a rule set has a few hundred
# rules, and the engine keeps a bounded number of reasons per rule.
_LIMIT: Final = 4096
_REASON_VIEWS: Final = IdentityMemo(_reason_view, _LIMIT)
_REASON_PARTS: Final = IdentityMemo(_reason_parts, _LIMIT)
_RATING_PARTS: Final = IdentityMemo(_rating_parts, _LIMIT)


def _english() -> bool:
    """Whether views are in English, the only language the memos hold."""
    return current_language() == DEFAULT_LANGUAGE


def reason_view(reason: Reason) -> dict[str, Any]:
    """One reason: rule id and title, the level it supports, text, facts in words, source."""
    if not _english():
        return _reason_view(reason)
    view = _REASON_VIEWS(reason)
    # A copy: the memo's own must not change with what a caller does to the result.
    return {**view, "flags": list(view["flags"])}


def _row(rating: DimensionRating) -> dict[str, Any]:
    """A dimension row without its reasons."""
    return {
        "code": rating.dimension.value,
        "label": _(rating.dimension.label),
        "rating": rating.rating,
        "rating_label": rating_label(rating.label),
    }


def dimension_view(rec: Recommendation, rating: DimensionRating) -> dict[str, Any]:
    """One row of the dimension table: the dimension, its rating, and the rules behind it."""
    return {
        **_row(rating),
        "reasons": [
            reason_view(reason) | {"rating": reason.rating}
            for reason in rec.reasons
            if reason.dimension == rating.dimension
        ],
    }


def _alternative_view(alternative: Alternative) -> dict[str, Any]:
    return {
        **level_view(alternative.level),
        "conditions": [_condition(alternative.rule_ids, c) for c in alternative.conditions],
        "rule_ids": list(alternative.rule_ids),
    }


def _asam_view(asam: AsamCorrespondence) -> dict[str, Any]:
    return {
        "approximate": asam.approximate,
        "note": _(asam.note),
        "levels": [level.model_dump(mode="json") for level in asam.levels],
    }


def _ruleset_view(ruleset: RulesetInfo) -> dict[str, Any]:
    return ruleset.model_dump(mode="json")


def _alert(flag: Flag) -> dict[str, str]:
    ask = _(CRISIS_ASK)
    return {**flag_view(flag), "ask": ask[0].upper() + ask[1:] + "."}


def _flags_view(flags: tuple[Flag, ...]) -> list[dict[str, str]]:
    return [flag_view(flag) for flag in flags]


_Part = Callable[[Callable[[Any], object], Any], object]


def _outer(rec: Recommendation, part: _Part) -> tuple[dict[str, Any], dict[str, Any]]:
    """The view's keys before the reasons and after the dimension table.

    ``part(view_of, value)`` is the view of ``value`` as a dict, or its JSON.
    """
    head = {
        "alert": part(_alert, Flag.CRISIS) if Flag.CRISIS in rec.flags else None,
        "level": part(level_view, rec.level),
        "flags": part(_flags_view, rec.flags),
    }
    alternative, asam = rec.alternative, rec.asam
    tail = {
        "safety_override": rec.safety_override,
        # Under the safety override the page leads with this, as the text renderings do.
        "safety_notice": _(OVERRIDE_NOTICE) if rec.safety_override else None,
        "alternative": None if alternative is None else part(_alternative_view, alternative),
        "asam": None if asam is None else part(_asam_view, asam),
        "ruleset": part(_ruleset_view, rec.ruleset),
        "notice": _(NOTICE),
    }
    return head, tail


def _viewed(view_of: Callable[[Any], object], value: object) -> object:
    return view_of(value)


def recommendation_view(rec: Recommendation) -> dict[str, Any]:
    """Everything a clinician reads about a recommendation, labelled, as plain JSON.

    ``alert`` is set for a crisis, to be shown before anything else.
    """
    head, tail = _outer(rec, _viewed)
    return {
        **head,
        "deciding": [reason_view(reason) for reason in rec.deciding],
        "supporting": [reason_view(reason) for reason in rec.supporting],
        "dimensions": [dimension_view(rec, rating) for rating in rec.dimensions],
        **tail,
    }


def _json_of(view_of: Callable[[Any], object]) -> IdentityMemo[Any, bytes]:
    return IdentityMemo(lambda value: to_json(view_of(value)), _LIMIT)


# Levels and flags are enum members, the others frozen models shared between
# recommendations; a tuple of flags is hashable and cheap to hash, so it is keyed by value.
_WRITTEN: Final[dict[Callable[[Any], object], Callable[[Any], bytes]]] = {
    _alert: _json_of(_alert),
    level_view: _json_of(level_view),
    _flags_view: functools.lru_cache(maxsize=512)(lambda flags: to_json(_flags_view(flags))),
    _alternative_view: _json_of(_alternative_view),
    _asam_view: _json_of(_asam_view),
    _ruleset_view: _json_of(_ruleset_view),
}


def _written(view_of: Callable[[Any], object], value: object) -> bytes:
    return _WRITTEN[view_of](value) if _english() else to_json(view_of(value))


def _view_json(
    rec: Recommendation,
    reasons: list[tuple[bytes, bytes, bytes]],
    ratings: list[tuple[bytes, bytes]],
) -> bytes:
    head, tail = _outer(rec, _written)
    deciding: list[bytes] = []
    supporting: list[bytes] = []
    rated: dict[Dimension | None, list[bytes]] = {}
    level = rec.level
    for reason, (_model_json, plain, with_rating) in zip(rec.reasons, reasons, strict=True):
        (deciding if reason.level == level else supporting).append(plain)
        rated.setdefault(reason.dimension, []).append(with_rating)
    rows = [
        row + b",".join(rated.get(rating.dimension, ())) + b"]}"
        for rating, (_model_json, row) in zip(rec.dimensions, ratings, strict=True)
    ]
    view = {
        **head,
        "deciding": b"[" + b",".join(deciding) + b"]",
        "supporting": b"[" + b",".join(supporting) + b"]",
        "dimensions": b"[" + b",".join(rows) + b"]",
        **tail,
    }
    # The bytes values are JSON already; the others are a few plain values.
    return (
        b"{"
        + b",".join(
            [key_json(k) + (v if type(v) is bytes else to_json(v)) for k, v in view.items()]
        )
        + b"}"
    )


def recommendation_view_json(rec: Recommendation) -> bytes:
    """``to_json(recommendation_view(rec))``, the same bytes, each shared part written once."""
    if not _english():
        return to_json(recommendation_view(rec))
    return _view_json(rec, _REASON_PARTS.many(rec.reasons), _RATING_PARTS.many(rec.dimensions))


def recommendation_response_json(rec: Recommendation) -> bytes:
    """``to_json({"recommendation": rec, "view": recommendation_view(rec)})``, the same bytes.

    In one pass over the reasons and ratings, each written (model and view) only once
    for as long as the memo holds it; the rest is spliced around them in the order the
    model and :func:`recommendation_view` have.
    """
    if type(rec) is not Recommendation or not _english():  # a subclass may serialise otherwise
        return to_json({"recommendation": rec, "view": recommendation_view(rec)})
    reasons = _REASON_PARTS.many(rec.reasons)
    ratings = _RATING_PARTS.many(rec.dimensions)
    written = {
        "reasons": b"[" + b",".join([parts[0] for parts in reasons]) + b"]",
        "dimensions": b"[" + b",".join([parts[0] for parts in ratings]) + b"]",
    }
    return b"".join(
        [
            b'{"recommendation":',
            model_json(rec, written),
            b',"view":',
            _view_json(rec, reasons, ratings),
            b"}",
        ]
    )


def provisional_view(p: Provisional) -> dict[str, Any]:
    """A provisional result, labelled, as plain JSON for the intake page.

    ``recommendation`` is the full recommendation view once every question is answered.
    """
    specs = field_specs()
    # An answer in words is the model's own in English (its translation looks fields up).
    answer = (lambda _field, words: words) if _english() else _answer
    return {
        "complete": p.complete,
        "summary": _("Provisional: {range}").format(range=range_words(p.lowest, p.highest)),
        "lowest": level_view(p.lowest),
        "highest": level_view(p.highest),
        "settled": p.settled,
        "incomplete_safety_screen": p.incomplete_safety_screen,
        "flags": [flag_view(flag) for flag in p.flags],
        "possible_flags": [flag_view(flag) for flag in p.possible_flags if flag not in p.flags],
        "ask_next": [
            {
                "field": q.field,
                "title": _(q.title),
                "safety_screen": q.safety_screen,
                "outcomes": [
                    {
                        "answer": answer(q.field, o.answer),
                        "range": range_words(o.lowest, o.highest),
                    }
                    for o in q.outcomes
                ],
            }
            for q in p.questions
        ],
        "also_open": [
            {"field": name, "title": _(specs[name].title)}
            for name in p.unanswered
            if name not in p.decisive
        ],
        "dimensions": [
            {"code": d.dimension.value, "label": _(d.dimension.label), "range": _rating_range(d)}
            for d in p.dimensions
        ],
        "recommendation": recommendation_view(p.recommendation) if p.recommendation else None,
        "notice": _(NOTICE),
    }
