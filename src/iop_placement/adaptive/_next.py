"""What to ask next, and the SDC ``$next-question`` operation built on it."""

from __future__ import annotations

import copy
import re
from collections.abc import Collection, Mapping
from typing import Any, Final

from iop_placement._engine import PlacementEngine, default_engine
from iop_placement._model.errors import FieldProblem, InvalidAssessment
from iop_placement._model.fields import field_specs
from iop_placement._model.intake import intake_order
from iop_placement._model.levels import FlagKind
from iop_placement._model.provisional import SAFETY_SCREEN, Provisional
from iop_placement.fhir import QUESTIONNAIRE_URL, partial_answers
from iop_placement.fhir._questionnaire import is_required, questionnaire_item, questionnaire_version

__all__ = [
    "ADAPTIVE_EXTENSION",
    "ADAPTIVE_QUESTIONNAIRE_PROFILE",
    "ADAPTIVE_RESPONSE_PROFILE",
    "CONTAINED_ID",
    "FULL_RECORD_PARAMETER",
    "RESULT_LINK_ID",
    "UNDECIDED_LINK_ID",
    "next_field",
    "next_question",
]

SDC: Final = "http://hl7.org/fhir/uv/sdc/StructureDefinition/"
ADAPTIVE_EXTENSION: Final = SDC + "sdc-questionnaire-adaptive"
"""On the contained Questionnaire: it is adaptive (SDC), grown by ``$next-question``."""
ADAPTIVE_QUESTIONNAIRE_PROFILE: Final = SDC + "sdc-questionnaire-adapt"
ADAPTIVE_RESPONSE_PROFILE: Final = SDC + "sdc-questionnaireresponse-adapt"
CONTAINED_ID: Final = "adaptive-intake"
RESULT_LINK_ID: Final = "iop-placement.result"
"""The read-only display item that states the settled level when the intake stops."""
UNDECIDED_LINK_ID: Final = "iop-placement.undecided-flags"
"""A display item after the result: flags the questions not asked could still raise."""
UNDECIDED_FLAGS: Final = "Not asked, and could still raise"
RESPONSE_PARAMETER: Final = "questionnaire-response"
FULL_RECORD_PARAMETER: Final = "full-record"
"""A ``valueBoolean`` input parameter (this service's own): true asks every question."""
_WHOLE: Final = "(parameters)"
_ID: Final = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # a FHIR id


def next_field(
    result: Provisional, asked: Collection[str] = (), *, full_record: bool = False
) -> str | None:
    """The field to ask next for a partial intake's ``result``, or None to stop.

    The unanswered safety-screen questions first (in their order), then the most decisive
    open question (``result.decisive``). Without ``full_record`` it stops (None) once the
    level is settled, the safety screen answered and no safety flag can still be raised by
    an unasked question; with it, it then asks the remaining
    questions in the intake interview's order. ``asked`` are fields already put to the
    person (an optional question asked and left blank is not asked again).
    """
    open_fields = [name for name in result.unanswered if name not in asked]
    for name in SAFETY_SCREEN:
        if name in open_fields:
            return name
    for name in result.decisive:
        if name in open_fields:
            return name
    # A settled level is not enough to stop: a safety flag (crisis, withdrawal, medical
    # instability, overdose risk) that an unasked question could still raise is a danger to
    # life the clinician must not miss. Needs and feasibility may stay open.
    safety_open = any(
        flag.kind is FlagKind.SAFETY and flag not in result.flags for flag in result.possible_flags
    )
    if not open_fields or (result.settled and not safety_open and not full_record):
        return None
    # Unsettled yet no single answer moves a bound, a safety flag still open, or the full
    # record: the interview order.
    rank = {name: index for index, name in enumerate(intake_order())}
    return min(open_fields, key=rank.__getitem__)


def _problem(field: str, problem: str, given: str, allowed: str) -> InvalidAssessment:
    return InvalidAssessment((FieldProblem(field, problem, given, allowed),))


def _parameters(body: object) -> tuple[Mapping[str, Any], bool]:
    """The QuestionnaireResponse and the full-record choice from a Parameters (or a bare QR)."""
    if isinstance(body, Mapping) and body.get("resourceType") == "QuestionnaireResponse":
        return body, False
    if not isinstance(body, Mapping) or body.get("resourceType") != "Parameters":
        raise _problem(
            _WHOLE, "is not a Parameters resource", "another document", "resourceType Parameters"
        )
    response: Mapping[str, Any] | None = None
    full = False
    parameters = body.get("parameter", [])
    if not isinstance(parameters, list):
        raise _problem(_WHOLE, "has parameters that are not a list", "not a list", "a list")
    for parameter in parameters:
        name = parameter.get("name") if isinstance(parameter, Mapping) else None
        if name == RESPONSE_PARAMETER and isinstance(parameter.get("resource"), Mapping):
            response = parameter["resource"]
        elif name == FULL_RECORD_PARAMETER:
            value = parameter.get("valueBoolean")
            if not isinstance(value, bool):
                raise _problem(
                    FULL_RECORD_PARAMETER, "must be a valueBoolean", "another value", "true, false"
                )
            full = value
    if response is None:
        raise _problem(
            RESPONSE_PARAMETER,
            "is missing",
            "no such parameter with a resource",
            "one parameter named questionnaire-response holding a QuestionnaireResponse",
        )
    return response, full


def _asked(response: Mapping[str, Any]) -> tuple[list[str], str]:
    """The fields the contained Questionnaire asks, in the order asked, and its id."""
    contained = response.get("contained", [])
    specs = field_specs()
    for resource in contained if isinstance(contained, list) else []:
        if isinstance(resource, Mapping) and resource.get("resourceType") == "Questionnaire":
            items = resource.get("item", [])
            given = resource.get("id")
            ident = given if isinstance(given, str) and _ID.fullmatch(given) else CONTAINED_ID
            asked = [
                item["linkId"]
                for item in (items if isinstance(items, list) else [])
                if isinstance(item, Mapping) and item.get("linkId") in specs
            ]
            return asked, ident
    return [], CONTAINED_ID


def _answers(response: Mapping[str, Any], asked: list[str]) -> dict[str, Any]:
    """The given answers; an optional question asked and left blank is answered "left out"."""
    items = response.get("item", [])
    answered = [
        item
        for item in (items if isinstance(items, list) else [])
        if not isinstance(item, Mapping) or item.get("answer") not in (None, [])
    ]
    values = partial_answers(
        {
            "resourceType": "QuestionnaireResponse",
            "questionnaire": QUESTIONNAIRE_URL,
            "status": "in-progress",
            "item": answered,
        }
    )
    specs = field_specs()
    for name in asked:
        spec = specs[name]
        if name in values:
            continue
        if spec.kind == "choices" and not is_required(spec):
            values[name] = []
        elif spec.optional:
            values[name] = None
    return values


def _result_items(result: Provisional) -> list[dict[str, Any]]:
    text = result.lowest.label
    if not result.settled:  # the full record of an intake that stays open cannot end here
        text = f"{text} to {result.highest.label}"
    items: list[dict[str, Any]] = [{"linkId": RESULT_LINK_ID, "text": text, "type": "display"}]
    undecided = [flag.label for flag in result.possible_flags if flag not in result.flags]
    if undecided:
        items.append(
            {
                "linkId": UNDECIDED_LINK_ID,
                "text": f"{UNDECIDED_FLAGS}: {'; '.join(undecided)}",
                "type": "display",
            }
        )
    return items


def next_question(body: object, *, engine: PlacementEngine | None = None) -> dict[str, Any]:
    """SDC ``Questionnaire/$next-question``: the response with its Questionnaire grown by one.

    ``body`` is a ``Parameters`` resource with a ``questionnaire-response`` parameter
    and optionally ``full-record`` (``valueBoolean``), or the QuestionnaireResponse
    itself (FHIR's form for an operation's single resource input, as DTR clients send).
    The response's contained Questionnaire (profile ``sdc-questionnaire-adapt``, extension
    ``sdc-questionnaire-adaptive``) lists the questions asked so far; the first call may
    send none. Returned (FHIR's form for a single ``return`` resource, without Parameters):
    the response with the next question appended to the contained Questionnaire and
    ``status`` ``in-progress``; when the intake stops, no question is added, a display
    item states the level (and another the flags the questions not asked could still
    raise: the level is settled, the flags may not be), and ``status`` is ``completed``.
    A required question asked but not answered is asked again before any other.

    Raises:
        InvalidAssessment: a malformed request, or answers that are not valid (naming the
            linkId and what is allowed).

    """
    response, full_record = _parameters(body)
    if response.get("resourceType") != "QuestionnaireResponse":
        raise _problem(
            RESPONSE_PARAMETER,
            "is not a QuestionnaireResponse",
            "another resource",
            "resourceType QuestionnaireResponse",
        )
    asked, ident = _asked(response)
    answers = _answers(response, asked)
    result = (engine or default_engine()).provisional(answers)
    following = next_field(result, asked, full_record=full_record)
    # Unanswered required questions already asked stay open: the client answers them first.
    waiting = [name for name in asked if name not in answers]
    specs = field_specs()
    fields = list(asked)
    if following is not None and not waiting:
        fields.append(following)
    done = following is None and not waiting
    questionnaire: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": ident,
        "meta": {"profile": [ADAPTIVE_QUESTIONNAIRE_PROFILE]},
        "extension": [{"url": ADAPTIVE_EXTENSION, "valueBoolean": True}],
        "url": f"{QUESTIONNAIRE_URL}-adaptive",
        "version": questionnaire_version(),
        "derivedFrom": [f"{QUESTIONNAIRE_URL}|{questionnaire_version()}"],
        "title": "Level-of-care intake (adaptive)",
        "status": "active",
        "subjectType": ["Patient"],
        "item": [questionnaire_item(specs[name]) for name in fields],
    }
    out: dict[str, Any] = {
        key: copy.deepcopy(value)
        for key, value in response.items()
        if key not in {"contained", "item", "status", "questionnaire", "meta"}
    }
    kept = [
        copy.deepcopy(item)
        for item in response.get("item", [])
        if isinstance(item, Mapping) and item.get("linkId") in specs
    ]
    if done:
        questionnaire["item"] += _result_items(result)
    out.update(
        {
            "resourceType": "QuestionnaireResponse",
            "meta": {"profile": [ADAPTIVE_RESPONSE_PROFILE]},
            "contained": [questionnaire],
            "questionnaire": f"#{ident}",
            "status": "completed" if done else "in-progress",
            "item": kept,
        }
    )
    return out
