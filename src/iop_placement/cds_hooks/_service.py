"""The CDS Hooks service, without a web framework: discovery and answering a hook call.

The service answers ``patient-view``. It needs the patient's latest intake
``QuestionnaireResponse``, which the CDS client prefetches under the key ``intake``;
without the prefetch it queries the call's ``fhirServer`` with the ``fhirAuthorization``
token (:mod:`iop_placement.cds_hooks._fetch`).

Which response, and whether it may be used:

- every ``QuestionnaireResponse`` given (a resource, or each one in a Bundle) must be
  about the hook's patient: ``Patient/<context.patientId>``, or that reference made
  absolute on the call's own ``fhirServer``. One about anybody else refuses the whole
  call (a Bundle mixing patients is not trusted for any of them), and so does a
  ``fhirAuthorization.patient`` other than ``context.patientId``;
- among them :func:`iop_placement.fhir.choose_response` picks the latest usable one by
  ``authored`` (``entered-in-error`` and ``stopped`` ones are passed over);
- its ``authored`` may not lie in the future (beyond :data:`CLOCK_SKEW`); one older than
  the maximum age (:data:`DEFAULT_MAX_INTAKE_AGE_DAYS` unless configured) gets a
  stale-intake card that names no level; one without ``authored`` is used, and its
  card says that its date is unknown;
- ``in-progress`` gives a provisional card (the range, what to ask next), never a final
  level; ``completed`` and ``amended`` give the recommendation's card.

A call it cannot use raises :class:`HookCallError` with the HTTP status to answer (400
for a malformed call, answers or another patient's intake, 412 when the intake cannot
be had) and the problems, which name fields and never echo values.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from pydantic import ValidationError

from iop_placement._engine import PlacementEngine, default_engine
from iop_placement._model.errors import FieldProblem, InvalidAssessment, IopPlacementError
from iop_placement._model.provisional import Provisional
from iop_placement._model.recommendation import Recommendation
from iop_placement._model.validation import describe_kind
from iop_placement.cds_hooks._card import to_cds_card
from iop_placement.cds_hooks._fetch import FhirFetchError, fetch_intake
from iop_placement.cds_hooks._intake_cards import in_progress_card, stale_intake_card
from iop_placement.cds_hooks._models import Discovery, HookRequest, ServiceDefinition
from iop_placement.fhir._canonical import QUESTIONNAIRE_URL
from iop_placement.fhir._response import (
    IN_PROGRESS,
    USABLE_STATUSES,
    choose_response,
    from_questionnaire_response,
    partial_answers,
)

__all__ = [
    "CLOCK_SKEW",
    "DEFAULT_MAX_INTAKE_AGE_DAYS",
    "PREFETCH_KEY",
    "SERVICE_HOOK",
    "SERVICE_ID",
    "HookAnswer",
    "HookCallError",
    "answer_hook",
    "answer_hook_call",
    "discovery",
    "service_definition",
]

SERVICE_ID: Final = "iop-placement"
SERVICE_HOOK: Final = "patient-view"
PREFETCH_KEY: Final = "intake"
_PREFETCH_QUERY: Final = (
    "QuestionnaireResponse?subject=Patient/{{context.patientId}}"
    f"&questionnaire={QUESTIONNAIRE_URL}&status={','.join(USABLE_STATUSES)}"
    "&_sort=-authored&_count=1"
)
_REQUEST: Final = "(request)"
_CONTEXT_PATIENT: Final = "context.patientId"
_FHIR_ID: Final = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_RESPONSE: Final = "QuestionnaireResponse"
CLOCK_SKEW: Final = timedelta(minutes=5)
"""How far in the future an intake's ``authored`` may lie (clocks disagree a little)."""
DEFAULT_MAX_INTAKE_AGE_DAYS: Final = 30
"""An intake authored longer ago than this gets the stale-intake card, not a level."""


class HookCallError(IopPlacementError, ValueError):
    """A hook call the service cannot answer: the HTTP status, a message, the problems."""

    def __init__(self, status: int, message: str, problems: tuple[FieldProblem, ...] = ()) -> None:
        self.status = status
        self.message = message
        self.problems = problems
        super().__init__(message)

    def payload(self) -> dict[str, Any]:
        """The JSON error body: ``{"error": message, "problems": [...]}``."""
        return {"error": self.message, "problems": [asdict(problem) for problem in self.problems]}


def service_definition() -> dict[str, Any]:
    """The service's entry in the discovery document."""
    definition = ServiceDefinition(
        hook=SERVICE_HOOK,
        id=SERVICE_ID,
        title="Level of care for substance use (iop-placement)",
        description=(
            "Suggests a level of care (standard outpatient, intensive outpatient or"
            " inpatient) from the patient's latest completed intake questionnaire, with"
            " the reasons, their sources and safety flags for a clinician to check."
        ),
        prefetch={PREFETCH_KEY: _PREFETCH_QUERY},
        usageRequirements=(
            f"Prefetch '{PREFETCH_KEY}': a QuestionnaireResponse to {QUESTIONNAIRE_URL}"
            " (or a search Bundle holding one) whose subject is context.patientId. Without"
            " it the service queries fhirServer with fhirAuthorization. Calls need a"
            " signed JWT bearer token (CDS Hooks 2.0)."
        ),
    )
    return definition.model_dump(mode="json", by_alias=True, exclude_none=True)


def discovery() -> dict[str, Any]:
    """The answer to ``GET {base}/cds-services``."""
    return Discovery.model_validate({"services": [service_definition()]}).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )


def _hook_request(body: object) -> HookRequest:
    if not isinstance(body, Mapping):
        problem = FieldProblem(
            _REQUEST, "must be a JSON object", describe_kind(body), "a CDS Hooks call"
        )
        raise HookCallError(400, "the request is not a CDS Hooks call", (problem,))
    try:
        return HookRequest.model_validate(body)
    except ValidationError as error:
        problems = tuple(
            FieldProblem(
                ".".join(str(part) for part in item["loc"]) or _REQUEST,
                "is required" if item["type"] == "missing" else "is not valid",
                "nothing" if item["type"] == "missing" else "a value of the wrong kind",
                "see the CDS Hooks 2.0 request",
            )
            for item in error.errors(include_url=False, include_input=False)
        )
        raise HookCallError(400, "the request is not a CDS Hooks call", problems) from None


def _missing(what: str) -> HookCallError:
    return HookCallError(
        412,
        f"prefetch '{PREFETCH_KEY}' {what}: the CDS client must prefetch the patient's intake"
        " QuestionnaireResponse, or give fhirServer for the service to fetch it",
    )


def _patient_id(request: HookRequest) -> str:
    patient = request.context.get("patientId")
    if not isinstance(patient, str) or not _FHIR_ID.fullmatch(patient):
        problem = FieldProblem(
            "context.patientId",
            "is required" if patient is None else "is not a FHIR id",
            "nothing" if patient is None else describe_kind(patient),
            "the FHIR id of the patient in context",
        )
        raise HookCallError(400, "the request is not a CDS Hooks call", (problem,))
    return patient


def _subject_ok(reference: object, patient: str, server: str | None) -> bool:
    if not isinstance(reference, str):
        return False
    if reference == f"Patient/{patient}":
        return True
    # An absolute reference is the same patient only on the hook's own FHIR server: any
    # other server's Patient/<id> is another person who happens to share the id.
    return server is not None and reference == f"{server.rstrip('/')}/Patient/{patient}"


def _check_subjects(responses: list[Mapping[str, Any]], patient: str, server: str | None) -> None:
    for response in responses:
        subject = response.get("subject")
        reference = subject.get("reference") if isinstance(subject, Mapping) else None
        if not _subject_ok(reference, patient, server):
            # Another patient's answers, or answers about nobody: never a card from them,
            # and a Bundle that mixes patients is not trusted for any of them.
            raise HookCallError(
                400, f"the intake's subject is not the hook's patient ({_CONTEXT_PATIENT})"
            )


def _check_authorization(request: HookRequest, patient: str) -> None:
    granted = (request.fhir_authorization or {}).get("patient")
    if granted is not None and granted != patient:
        # The EHR granted access to another patient's record than the one in context.
        raise HookCallError(
            400, f"fhirAuthorization.patient is not the hook's patient ({_CONTEXT_PATIENT})"
        )


def _responses_in(data: object) -> list[Mapping[str, Any]]:
    wrong = HookCallError(
        400,
        f"prefetch '{PREFETCH_KEY}' must be a QuestionnaireResponse or a Bundle holding one",
    )
    if not isinstance(data, Mapping):
        raise wrong
    kind = data.get("resourceType")
    if kind == _RESPONSE:
        return [data]
    if kind == "OperationOutcome":
        raise _missing("could not be fetched by the CDS client")
    if kind != "Bundle":
        raise wrong
    entries = data.get("entry", [])
    if not isinstance(entries, list):
        raise wrong
    found = []
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(resource, Mapping) and resource.get("resourceType") == _RESPONSE:
            found.append(resource)
    if not found:
        raise _missing("holds no QuestionnaireResponse")
    return found


CardKind = Literal["recommendation", "provisional", "stale"]


@dataclass(frozen=True, slots=True)
class HookAnswer:
    """A hook call answered: the response body, what the card is, and the call's ids.

    ``kind`` is ``recommendation`` (``recommendation`` is set), ``provisional`` (an
    in-progress intake: ``provisional`` is set) or ``stale`` (the intake is too old:
    neither is set). ``authored`` is the used intake's date, when it has one.
    """

    response: dict[str, Any]
    recommendation: Recommendation | None
    hook_instance: str
    card_uuid: str
    kind: CardKind = "recommendation"
    provisional: Provisional | None = None
    authored: datetime | None = None

    def audit_content(self) -> dict[str, Any]:
        """What the audit trail records about the card (codes only, no free text)."""
        content: dict[str, Any] = {
            "card_uuid": self.card_uuid,
            "hook_instance": self.hook_instance,
        }
        if self.kind != "recommendation":
            content["card_kind"] = self.kind
        if self.authored is not None:
            content["intake_authored"] = self.authored.isoformat()
        rec, p = self.recommendation, self.provisional
        if rec is not None:
            content |= {
                "recommended_level": rec.level.value,
                "flags": [flag.value for flag in rec.flags],
                "rule_ids": [reason.rule_id for reason in rec.deciding],
                "ruleset": rec.ruleset.model_dump(mode="json"),
            }
        elif p is not None:
            content |= {
                "provisional_range": [p.lowest.value, p.highest.value],
                "flags": [flag.value for flag in p.flags],
                "unanswered": list(p.unanswered),
                "ruleset": p.ruleset.model_dump(mode="json"),
            }
        return content


def _intake(
    request: HookRequest, patient: str, fetch: bool, allowed: Collection[str] | None
) -> list[Mapping[str, Any]]:
    prefetched = (request.prefetch or {}).get(PREFETCH_KEY)
    failed = (
        isinstance(prefetched, Mapping) and prefetched.get("resourceType") == "OperationOutcome"
    )
    if prefetched is not None and not (failed and fetch and request.fhir_server):
        return _responses_in(prefetched)
    if not fetch or request.fhir_server is None:
        raise _missing("is missing or null")
    try:
        bundle = fetch_intake(
            request.fhir_server, request.fhir_authorization, patient, allowed=allowed
        )
    except FhirFetchError as error:
        raise HookCallError(412, f"the intake could not be fetched: {error}") from None
    return _responses_in(bundle)


def _authored(response: Mapping[str, Any]) -> datetime | None:
    """The response's ``authored`` as an aware datetime (a zone-less one read as UTC)."""
    raw = response.get("authored")
    if raw is None:
        return None
    moment = None
    if isinstance(raw, str):
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            moment = None
    if moment is None:
        problem = FieldProblem(
            "authored", "is not a FHIR dateTime", describe_kind(raw), "a FHIR dateTime"
        )
        raise HookCallError(400, "the intake's authored date cannot be read", (problem,))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _unknown_date(card: dict[str, Any]) -> dict[str, Any]:
    note = (
        "_The intake has no authored date: check that it is the patient's current intake"
        " before acting on this suggestion._"
    )
    # At the end: a crisis request stays the detail's first line.
    card["detail"] = f"{card.get('detail', '')}\n\n{note}"
    return card


def answer_hook(
    body: object,
    engine: PlacementEngine | None = None,
    *,
    card_uuid: str | None = None,
    fetch: bool = True,
    max_intake_age_days: int = DEFAULT_MAX_INTAKE_AGE_DAYS,
    now: datetime | None = None,
    fhir_servers: Collection[str] | None = None,
) -> HookAnswer:
    """Answer one hook call, keeping what the card says (for the audit trail).

    See :func:`answer_hook_call`.
    """
    request = _hook_request(body)
    if request.hook != SERVICE_HOOK:
        raise HookCallError(400, f"this service answers the '{SERVICE_HOOK}' hook only")
    patient = _patient_id(request)
    _check_authorization(request, patient)
    responses = _intake(request, patient, fetch, fhir_servers)
    _check_subjects(responses, patient, request.fhir_server)
    for response in responses:
        _authored(response)  # an unreadable date is refused wherever it is
    try:
        chosen = choose_response(responses)
    except InvalidAssessment as error:  # every response refused (entered in error, stopped)
        message = f"the '{PREFETCH_KEY}' QuestionnaireResponse is not a valid assessment"
        raise HookCallError(400, message, error.problems) from None
    authored = _authored(chosen.response)
    moment = now if now is not None else datetime.now(UTC)
    if authored is not None and authored > moment + CLOCK_SKEW:
        problem = FieldProblem(
            "authored", "is in the future", "a date after now", "a date not in the future"
        )
        raise HookCallError(400, "the intake's authored date is in the future", (problem,))
    if engine is None:
        engine = default_engine()
    uuid_ = card_uuid
    if authored is not None and authored < moment - timedelta(days=max_intake_age_days):
        card = stale_intake_card(
            authored, max_intake_age_days, engine.ruleset_info, card_uuid=uuid_
        )
        return _answer(card, request, None, "stale", authored=authored)
    if chosen.status == IN_PROGRESS:
        try:
            answers = partial_answers(chosen.response)
            p = engine.provisional(answers)
        except InvalidAssessment as error:
            message = f"the '{PREFETCH_KEY}' QuestionnaireResponse is not a valid assessment"
            raise HookCallError(400, message, error.problems) from None
        card = in_progress_card(p, card_uuid=uuid_)
        if authored is None:
            card = _unknown_date(card)
        return _answer(card, request, None, "provisional", provisional=p, authored=authored)
    try:
        assessment = from_questionnaire_response(chosen.response)
    except InvalidAssessment as error:
        message = f"the '{PREFETCH_KEY}' QuestionnaireResponse is not a valid assessment"
        raise HookCallError(400, message, error.problems) from None
    rec = engine.recommend(assessment)
    card = to_cds_card(rec, card_uuid=uuid_)
    if authored is None:
        card = _unknown_date(card)
    return _answer(card, request, rec, "recommendation", authored=authored)


def _answer(
    card: dict[str, Any],
    request: HookRequest,
    rec: Recommendation | None,
    kind: CardKind,
    *,
    provisional: Provisional | None = None,
    authored: datetime | None = None,
) -> HookAnswer:
    # Each card is already a validated Card's JSON dump (to_cds_card, in_progress_card,
    # stale_intake_card; _unknown_date only appends to its detail): the response is a
    # valid CdsResponse as it is, and validating and dumping it again gave the same dict.
    answer = {"cards": [card]}
    return HookAnswer(answer, rec, request.hook_instance, card["uuid"], kind, provisional, authored)


def answer_hook_call(
    body: object,
    engine: PlacementEngine | None = None,
    *,
    card_uuid: str | None = None,
    fetch: bool = True,
    max_intake_age_days: int = DEFAULT_MAX_INTAKE_AGE_DAYS,
    now: datetime | None = None,
    fhir_servers: Collection[str] | None = None,
) -> dict[str, Any]:
    """Answer one ``POST {base}/cds-services/iop-placement`` call: ``{"cards": [card]}``.

    ``body`` is the parsed JSON of the request; ``engine`` defaults to the bundled rules.
    The intake comes from ``prefetch.intake``; without it, and with ``fetch`` true and a
    ``fhirServer`` in the call, it is fetched from that server. Every response's
    ``subject`` must be ``Patient/<context.patientId>`` (or that reference on the call's
    ``fhirServer``); the latest usable one by ``authored`` is used
    (:func:`iop_placement.fhir.choose_response`). One authored more than
    ``max_intake_age_days`` before ``now`` (default: the current time) gets a
    stale-intake card; an ``in-progress`` one a provisional card. ``fhir_servers``, when
    given, are the only ``fhirServer`` bases the call may have fetched from (normalised
    with :func:`~iop_placement.cds_hooks._fetch.fhir_server_base`); a service gives each
    client's own.

    Raises:
        HookCallError: with status 400 for a malformed call, invalid answers (the
            problems name each linkId), an intake about another patient (or a Bundle
            mixing patients), an authored date in the future or unreadable, and 412 when
            the intake was not prefetched and could not be fetched.

    """
    return answer_hook(
        body,
        engine,
        card_uuid=card_uuid,
        fetch=fetch,
        max_intake_age_days=max_intake_age_days,
        now=now,
        fhir_servers=fhir_servers,
    ).response
