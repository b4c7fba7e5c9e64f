"""A completed FHIR QuestionnaireResponse read back into an Assessment.

Every problem is collected and raised together as one ``InvalidAssessment`` whose
problems name the item's ``linkId`` (which is the field name). Messages describe what was
given by its kind only, never by its content.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Final

from iop_placement._model.assessment import Assessment
from iop_placement._model.errors import FieldProblem, InvalidAssessment
from iop_placement._model.fields import FieldSpec, field_specs
from iop_placement._model.intake import intake_order
from iop_placement._model.validation import describe_kind, parse_assessment
from iop_placement.fhir._canonical import (
    CANONICAL_BASE,
    check_base,
    code_system,
    questionnaire_url,
)
from iop_placement.fhir._questionnaire import is_required

__all__ = [
    "FINAL_STATUSES",
    "IN_PROGRESS",
    "REFUSED_STATUSES",
    "USABLE_STATUSES",
    "WHOLE_RESPONSE",
    "ChosenResponse",
    "ResponseStatusError",
    "choose_response",
    "from_questionnaire_response",
    "partial_answers",
]

WHOLE_RESPONSE: Final = "(questionnaire response)"
STATUS: Final = "status"
# QuestionnaireResponse.status (FHIR R4, required binding): which ones say what.
FINAL_STATUSES: Final = ("completed", "amended")
IN_PROGRESS: Final = "in-progress"
USABLE_STATUSES: Final = (*FINAL_STATUSES, IN_PROGRESS)
"""The statuses a response may be used with: a recommendation, or an in-progress one's
provisional range. The CDS Hooks service asks a FHIR server for the latest of these."""
REFUSED_STATUSES: Final = ("entered-in-error", "stopped")
_STATUS_WORDS: Final = {
    "entered-in-error": "was entered in error",
    "stopped": "was stopped before it was completed",
}


class ResponseStatusError(InvalidAssessment):
    """The response's ``status`` forbids this use (refused, or in progress for a final answer).

    ``status`` is the FHIR code (one of a fixed set, never free text).
    """

    def __init__(self, status: str | None, problem: str, allowed: str) -> None:
        self.status = status
        given = f"status {status}" if status in _KNOWN_STATUSES else "another status or none"
        super().__init__((FieldProblem(STATUS, problem, given, allowed),))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_status_error, (self.status, self.problems[0].problem, self.problems[0].allowed))


def _status_error(status: str | None, problem: str, allowed: str) -> ResponseStatusError:
    return ResponseStatusError(status, problem, allowed)


_KNOWN_STATUSES: Final = frozenset({*FINAL_STATUSES, IN_PROGRESS, *REFUSED_STATUSES})


def response_status(response: Mapping[str, Any], *, final: bool) -> str:
    """The response's status when it may be used (``final``: only a completed one).

    Raises:
        ResponseStatusError: for entered-in-error or stopped (never usable), for
            in-progress when ``final``, and for a missing or unknown status.

    """
    status = response.get(STATUS)
    usable = FINAL_STATUSES if final else USABLE_STATUSES
    allowed = "status " + " or ".join(usable)
    if status in REFUSED_STATUSES:
        words = _STATUS_WORDS[str(status)]
        raise ResponseStatusError(
            str(status), f"is refused: the response {words} and must not be used", allowed
        )
    if status == IN_PROGRESS and final:
        raise ResponseStatusError(
            status,
            "is in progress: it gives a provisional recommendation, never a final one"
            " (use fhir.partial_answers with provisional())",
            allowed,
        )
    if status not in usable:
        raise ResponseStatusError(None, "has no status this service can use", allowed)
    return str(status)


_HIDDEN: Final = "(an item whose linkId is not shown)"
_NAME_LIKE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,63}")
_VALUE_KEY: Final = {
    "choice": "valueCoding",
    "choices": "valueCoding",
    "boolean": "valueBoolean",
    "integer": "valueInteger",
}


class _BadAnswerError(Exception):
    """One item's answers cannot be read; carries the problem and the kind given."""

    def __init__(self, problem: str, given: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.given = given


def _allowed(spec: FieldSpec, base: str) -> str:
    key = _VALUE_KEY[spec.kind]
    if spec.kind in {"choice", "choices"}:
        count = "one" if spec.kind == "choice" else "zero or more"
        return (
            f"{count} {key} from {code_system(spec.name, base)}"
            f" with a code in {', '.join(spec.values)}"
        )
    if spec.kind == "integer":
        return f"one {key} from {spec.minimum} to {spec.maximum}"
    return f"one {key}"


def _value(spec: FieldSpec, answer: object, base: str) -> Any:  # noqa: ANN401 - a field's code
    """The code or value of one answer, checked for shape and code system."""
    key = _VALUE_KEY[spec.kind]
    if not isinstance(answer, Mapping):
        raise _BadAnswerError("has an answer that is not an object", describe_kind(answer))
    value_keys = [k for k in answer if isinstance(k, str) and k.startswith("value")]
    if value_keys != [key]:
        given = "an answer with no value" if not value_keys else "an answer of another type"
        raise _BadAnswerError(f"must be answered with {key}", given)
    value = answer[key]
    if key != "valueCoding":
        return value
    if not isinstance(value, Mapping):
        raise _BadAnswerError("has a valueCoding that is not an object", describe_kind(value))
    if value.get("system") != code_system(spec.name, base):
        raise _BadAnswerError("has a coding from another code system", "another system")
    code = value.get("code")
    if not isinstance(code, str):
        raise _BadAnswerError("has a coding without a code", describe_kind(code))
    return code


def _read_item(spec: FieldSpec, item: Mapping[str, Any], base: str) -> Any:  # noqa: ANN401
    answers = item.get("answer", [])
    if not isinstance(answers, list):
        raise _BadAnswerError("has answers that are not a list", describe_kind(answers))
    values = [_value(spec, answer, base) for answer in answers]
    if spec.kind == "choices":
        return values
    if not values:
        raise _BadAnswerError("has no answer", "nothing")
    if len(values) > 1:
        raise _BadAnswerError("has more than one answer", f"{len(values)} answers")
    return values[0]


def _link_id(item: object) -> str | None:
    link = item.get("linkId") if isinstance(item, Mapping) else None
    return link if isinstance(link, str) else None


def _check_resource(response: Mapping[str, Any], base: str) -> list[FieldProblem]:
    url = questionnaire_url(base)
    problems = []
    if response.get("resourceType") != "QuestionnaireResponse":
        problems.append(
            FieldProblem(
                WHOLE_RESPONSE,
                "is not a QuestionnaireResponse",
                "another resource type" if "resourceType" in response else "no resourceType",
                "resourceType QuestionnaireResponse",
            )
        )
    canonical = response.get("questionnaire")
    if canonical is not None and (
        not isinstance(canonical, str) or canonical.split("|", 1)[0] != url
    ):
        problems.append(
            FieldProblem(
                WHOLE_RESPONSE,
                "answers another questionnaire",
                "another questionnaire" if isinstance(canonical, str) else describe_kind(canonical),
                url,
            )
        )
    return problems


@dataclass(frozen=True, slots=True)
class _Question:
    """What one item's answers must be: a choice's (or choices') value key and code system."""

    key: str
    system: str | None
    repeats: bool


@lru_cache(maxsize=32)
def _questions(base: str) -> dict[str, _Question]:
    """The intake's questions by linkId under ``base`` (a checked base), made once per base."""
    return {
        name: _Question(
            _VALUE_KEY[spec.kind],
            code_system(name, base) if spec.kind in {"choice", "choices"} else None,
            spec.kind == "choices",
        )
        for name, spec in field_specs().items()
    }


@lru_cache(maxsize=1)
def _optional_lists() -> tuple[str, ...]:
    """The list questions that may be left out (a completed response then means none)."""
    return tuple(
        name
        for name, spec in field_specs().items()
        if spec.kind == "choices" and not is_required(spec)
    )


def _plain_values(items: list[Any], base: str) -> dict[str, Any] | None:
    """The answers by field when every item is plain and well-formed, else None.

    What EHRs send: dicts and lists as JSON parsing makes them, each question once, each
    answer only its value. Gives exactly what :func:`_read_items` gives such items (with
    no problem); anything else (another mapping type, an unknown or repeated linkId, an
    answer with other keys, a foreign coding) is left to it, which names the problem.
    """
    questions = _questions(check_base(base))
    values: dict[str, Any] = {}
    try:  # a missing key, or an unhashable linkId, is for the careful reading to name
        for item in items:
            if type(item) is not dict:
                return None
            link = item["linkId"]
            question = questions[link]
            answers = item["answer"]
            if link in values or type(answers) is not list:
                return None
            if question.repeats:
                read = [_plain_value(question, answer) for answer in answers]
                if _UNREAD in read:
                    return None
                values[link] = read
            elif len(answers) == 1:
                value = _plain_value(question, answers[0])
                if value is _UNREAD:
                    return None
                values[link] = value
            else:
                return None
    except (KeyError, TypeError):
        return None
    return values


_UNREAD: Final = object()


def _plain_value(question: _Question, answer: object) -> object:
    """One plain answer's code or value as :func:`_value` reads it, or ``_UNREAD``."""
    if type(answer) is not dict or len(answer) != 1:
        return _UNREAD
    value = answer.get(question.key, _UNREAD)
    system = question.system
    if system is None or value is _UNREAD:
        return value
    if type(value) is not dict or value.get("system") != system:
        return _UNREAD
    code = value.get("code")
    return code if type(code) is str else _UNREAD


def _read_items(
    items: list[Any], problems: list[FieldProblem], base: str
) -> tuple[dict[str, Any], set[str]]:
    """The answers by field, and the fields whose items had problems (added to ``problems``)."""
    plain = _plain_values(items, base)
    if plain is not None:
        return plain, set()
    specs = field_specs()
    values: dict[str, Any] = {}
    bad: set[str] = set()
    for item in items:
        link = _link_id(item)
        if link is None or link not in specs:
            shown = link if link is not None and _NAME_LIKE.fullmatch(link) else _HIDDEN
            given = "an item without a linkId" if link is None else "an unknown linkId"
            allowed = "the linkIds of the intake questionnaire"
            problems.append(FieldProblem(shown, "is not a question of the intake", given, allowed))
            continue
        spec = specs[link]
        if link in values or link in bad:
            problems.append(FieldProblem(link, "is answered twice", "two items", "one item"))
            bad.add(link)
            values.pop(link, None)
            continue
        try:
            values[link] = _read_item(spec, item, base)
        except _BadAnswerError as error:
            problems.append(FieldProblem(link, error.problem, error.given, _allowed(spec, base)))
            bad.add(link)
    return values, bad


def from_questionnaire_response(response: object, *, base: str = CANONICAL_BASE) -> Assessment:
    """Read a completed ``QuestionnaireResponse`` to :func:`to_questionnaire` as an Assessment.

    Only a response whose ``status`` is ``completed`` or ``amended`` gives an assessment:
    ``in-progress`` raises :class:`ResponseStatusError` (read it with
    :func:`partial_answers` for a provisional result), and ``entered-in-error`` and
    ``stopped`` are refused.

    Items are matched by ``linkId`` (the field name). A missing obligations item means no
    obligations; every other question must be answered once, with a coding from the
    question's own code system, a boolean or an integer as the Questionnaire says. ``base``
    is the canonical base the Questionnaire was made with (``to_questionnaire(base=...)``).

    Raises:
        CanonicalBaseError: when ``base`` cannot prefix canonical URLs.
        InvalidAssessment: naming the linkId of every missing or bad answer (and of
            unknown items when their linkId looks like a name); no other error escapes.

    """
    if not isinstance(response, Mapping):
        raise InvalidAssessment(
            (
                FieldProblem(
                    WHOLE_RESPONSE,
                    "must be a QuestionnaireResponse object",
                    describe_kind(response),
                    "a FHIR QuestionnaireResponse resource",
                ),
            )
        )
    problems = _check_resource(response, base)
    items = response.get("item", [])
    if not isinstance(items, list):
        problems.append(
            FieldProblem(
                WHOLE_RESPONSE,
                "has items that are not a list",
                describe_kind(items),
                "a list of items",
            )
        )
        items = []
    try:
        response_status(response, final=True)
    except ResponseStatusError as error:
        if error.status is not None:
            raise  # refused or in progress: nothing else matters
        problems += error.problems
    values, bad = _read_items(items, problems, base)
    for name in _optional_lists():
        if name not in values and name not in bad:
            values[name] = []
    try:
        assessment = parse_assessment(values)
    except InvalidAssessment as error:
        problems += [p for p in error.problems if p.field not in bad]
    if problems:
        rank = {name: index for index, name in enumerate(intake_order())}
        problems.sort(key=lambda p: rank.get(p.field.split("[", 1)[0], -1))
        raise InvalidAssessment(tuple(problems))
    return assessment


def partial_answers(response: object, *, base: str = CANONICAL_BASE) -> dict[str, Any]:
    """The answers of a ``completed``, ``amended`` or ``in-progress`` response, for provisional().

    A question without an item is unanswered (for a completed response the obligations
    item left out means none, as in :func:`from_questionnaire_response`). Answers are
    checked as there; ``entered-in-error`` and ``stopped`` are refused. ``base`` as there.

    Raises:
        CanonicalBaseError: when ``base`` cannot prefix canonical URLs.
        ResponseStatusError: for a refused, missing or unknown status.
        InvalidAssessment: naming the linkId of every bad answer.

    """
    if not isinstance(response, Mapping):
        from_questionnaire_response(response, base=base)  # the error a non-object gets
    assert isinstance(response, Mapping)
    status = response_status(response, final=False)
    problems = _check_resource(response, base)
    items = response.get("item", [])
    if not isinstance(items, list):
        items = []
        problems.append(
            FieldProblem(WHOLE_RESPONSE, "has items that are not a list", "not a list", "a list")
        )
    values, _bad = _read_items(items, problems, base)
    if status in FINAL_STATUSES:
        # A completed response is read whole, as from_questionnaire_response reads it.
        for name, spec in field_specs().items():
            if name in values:
                continue
            if spec.kind == "choices" and not is_required(spec):
                values[name] = []
            elif spec.optional:
                values[name] = None
    if problems:
        raise InvalidAssessment(tuple(problems))
    return values


@dataclass(frozen=True, slots=True)
class ChosenResponse:
    """The response used among several, and the choice in words (for the record)."""

    response: Mapping[str, Any]
    status: str
    statement: str


def _authored(response: Mapping[str, Any]) -> datetime | None:
    raw = response.get("authored")
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    # A FHIR dateTime may omit the zone (local time) or the time: compare such as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def choose_response(responses: object) -> ChosenResponse:
    """The latest usable QuestionnaireResponse by ``authored``, from a list or a Bundle.

    ``entered-in-error`` and ``stopped`` responses are never used (they are counted in
    the statement); among the rest the latest ``authored`` wins, and one without a
    readable ``authored`` only when no other has one. Ties go to the later in the list.

    Raises:
        ResponseStatusError: when no response is usable (each refused or without status).
        InvalidAssessment: when ``responses`` holds no QuestionnaireResponse.

    """
    if isinstance(responses, Mapping) and responses.get("resourceType") == "Bundle":
        entries = responses.get("entry") or []
        responses = [e.get("resource") for e in entries if isinstance(e, Mapping)]
    if isinstance(responses, Mapping):
        responses = [responses]
    candidates = [
        r
        for r in (responses if isinstance(responses, list) else [])
        if isinstance(r, Mapping) and r.get("resourceType") == "QuestionnaireResponse"
    ]
    if not candidates:
        raise InvalidAssessment(
            (
                FieldProblem(
                    WHOLE_RESPONSE,
                    "is missing",
                    "no QuestionnaireResponse",
                    "a QuestionnaireResponse, a list of them or a Bundle holding them",
                ),
            )
        )
    usable, skipped, last_error = [], 0, None
    for index, response in enumerate(candidates):
        try:
            status = response_status(response, final=False)
        except ResponseStatusError as error:
            skipped += 1
            last_error = error
            continue
        usable.append((_authored(response), index, response, status))
    if not usable:
        assert last_error is not None
        raise last_error
    dated = [u for u in usable if u[0] is not None]
    pool = dated or usable
    moment, _index, chosen, status = max(pool, key=lambda u: (u[0] or _EPOCH, u[1]))
    count = len(candidates)
    when = f"authored {moment.isoformat()}" if moment else "no authored date on any response"
    statement = (
        f"Used the latest of {count} QuestionnaireResponses by authored ({when}, status {status})"
        if count > 1
        else f"Used the one QuestionnaireResponse ({when}, status {status})"
    )
    if skipped:
        statement += f"; {skipped} entered in error or stopped, not used"
    return ChosenResponse(chosen, status, statement + ".")


_EPOCH: Final = datetime(1, 1, 1, tzinfo=UTC)
