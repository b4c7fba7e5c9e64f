"""A recommendation as JSON-ready display data: codes with their human labels.

What a page or a card shows, worked out once from the model's labels, so no client has
to know a label (the intake page renders this and nothing else).
"""

from __future__ import annotations

from typing import Any, Final

from iop_placement._model.fields import field_specs
from iop_placement._model.levels import Flag, LevelOfCare
from iop_placement._model.provisional import Provisional, range_words
from iop_placement._model.recommendation import (
    OVERRIDE_NOTICE,
    DimensionRating,
    Reason,
    Recommendation,
)
from iop_placement._model.wording import NOTICE, describe_facts

__all__ = [
    "CRISIS_ASK",
    "dimension_view",
    "flag_view",
    "level_view",
    "provisional_view",
    "reason_view",
    "recommendation_view",
]

# What the crisis flag asks of the reader: an evaluation by a clinician, not a placement.
CRISIS_ASK: Final = (
    "please arrange an immediate crisis evaluation by a clinician before any placement"
)


def level_view(level: LevelOfCare) -> dict[str, str]:
    """A level's code, label, description and typical intensity."""
    return {
        "code": level.value,
        "label": level.label,
        "description": level.description,
        "intensity": level.intensity,
    }


def flag_view(flag: Flag) -> dict[str, str]:
    """A flag's code, label, description and kind (safety or feasibility)."""
    return {
        "code": flag.value,
        "label": flag.label,
        "description": flag.description,
        "kind": flag.kind.value,
    }


def reason_view(reason: Reason) -> dict[str, Any]:
    """One reason: rule id and title, the level it supports, text, facts in words, source."""
    return {
        "rule_id": reason.rule_id,
        "title": reason.title,
        "level": reason.level.label if reason.level else None,
        "flags": [flag.label for flag in reason.flags],
        "text": reason.text,
        "facts": describe_facts(reason.facts),
        "source": reason.source,
    }


def dimension_view(rec: Recommendation, rating: DimensionRating) -> dict[str, Any]:
    """One row of the dimension table: the dimension, its rating, and the rules behind it."""
    return {
        "code": rating.dimension.value,
        "label": rating.dimension.label,
        "rating": rating.rating,
        "rating_label": rating.label,
        "reasons": [
            reason_view(reason) | {"rating": reason.rating}
            for reason in rec.reasons
            if reason.dimension == rating.dimension
        ],
    }


def recommendation_view(rec: Recommendation) -> dict[str, Any]:
    """Everything a clinician reads about a recommendation, labelled, as plain JSON.

    ``alert`` is set for a crisis, to be shown before anything else.
    """
    alternative = None
    if rec.alternative is not None:
        alternative = {
            **level_view(rec.alternative.level),
            "conditions": list(rec.alternative.conditions),
            "rule_ids": list(rec.alternative.rule_ids),
        }
    asam = None
    if rec.asam is not None:
        asam = {
            "approximate": rec.asam.approximate,
            "note": rec.asam.note,
            "levels": [level.model_dump(mode="json") for level in rec.asam.levels],
        }
    alert = None
    if Flag.CRISIS in rec.flags:
        alert = {**flag_view(Flag.CRISIS), "ask": CRISIS_ASK[0].upper() + CRISIS_ASK[1:] + "."}
    return {
        "alert": alert,
        "level": level_view(rec.level),
        "flags": [flag_view(flag) for flag in rec.flags],
        "deciding": [reason_view(reason) for reason in rec.deciding],
        "supporting": [reason_view(reason) for reason in rec.supporting],
        "dimensions": [dimension_view(rec, rating) for rating in rec.dimensions],
        "safety_override": rec.safety_override,
        # Under the safety override the page leads with this, as the text renderings do.
        "safety_notice": OVERRIDE_NOTICE if rec.safety_override else None,
        "alternative": alternative,
        "asam": asam,
        "ruleset": rec.ruleset.model_dump(mode="json"),
        "notice": NOTICE,
    }


def provisional_view(p: Provisional) -> dict[str, Any]:
    """A provisional result, labelled, as plain JSON for the intake page.

    ``recommendation`` is the full recommendation view once every question is answered.
    """
    specs = field_specs()
    return {
        "complete": p.complete,
        "summary": f"Provisional: {range_words(p.lowest, p.highest)}",
        "lowest": level_view(p.lowest),
        "highest": level_view(p.highest),
        "settled": p.settled,
        "incomplete_safety_screen": p.incomplete_safety_screen,
        "flags": [flag_view(flag) for flag in p.flags],
        "possible_flags": [flag_view(flag) for flag in p.possible_flags if flag not in p.flags],
        "ask_next": [
            {
                "field": q.field,
                "title": q.title,
                "safety_screen": q.safety_screen,
                "outcomes": [
                    {"answer": o.answer, "range": range_words(o.lowest, o.highest)}
                    for o in q.outcomes
                ],
            }
            for q in p.questions
        ],
        "also_open": [
            {"field": name, "title": specs[name].title}
            for name in p.unanswered
            if name not in p.decisive
        ],
        "dimensions": [
            {"code": d.dimension.value, "label": d.dimension.label, "range": d.label}
            for d in p.dimensions
        ],
        "recommendation": recommendation_view(p.recommendation) if p.recommendation else None,
        "notice": NOTICE,
    }
