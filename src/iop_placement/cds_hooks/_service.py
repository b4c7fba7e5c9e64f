"""The CDS Hooks service, without a web framework: discovery and answering a hook call.

The service answers ``patient-view``. It needs the patient's latest intake
``QuestionnaireResponse``, which the CDS client prefetches under the key ``intake``;
without the prefetch it queries the call's ``fhirServer`` with the ``fhirAuthorization``
token (:mod:`iop_placement.cds_hooks._fetch`). Only a response whose ``subject`` is the
hook's ``context.patientId`` is used: any other is refused, and no card is made. A call
it cannot use raises :class:`HookCallError` with the HTTP status to answer (400 for a
malformed call, answers or another patient's intake, 412 when the intake cannot be
had) and the problems, which name fields and never echo values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

from pydantic import ValidationError

from iop_placement._engine import PlacementEngine, default_engine
from iop_placement._model.errors import FieldProblem, InvalidAssessment, IopPlacementError
from iop_placement._model.recommendation import Recommendation
from iop_placement._model.validation import describe_kind
from iop_placement.cds_hooks._card import to_cds_card
from iop_placement.cds_hooks._fetch import FhirFetchError, fetch_intake
from iop_placement.cds_hooks._models import CdsResponse, Discovery, HookRequest, ServiceDefinition
from iop_placement.fhir._canonical import QUESTIONNAIRE_URL
from iop_placement.fhir._response import from_questionnaire_response

__all__ = [
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
    f"&questionnaire={QUESTIONNAIRE_URL}&status=completed&_sort=-authored&_count=1"
)
_REQUEST: Final = "(request)"
_CONTEXT_PATIENT: Final = "context.patientId"
_FHIR_ID: Final = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_RESPONSE: Final = "QuestionnaireResponse"


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


def _check_subject(response: Mapping[str, Any], patient: str) -> None:
    subject = response.get("subject")
    reference = subject.get("reference") if isinstance(subject, Mapping) else None
    if not isinstance(reference, str) or not (
        reference == f"Patient/{patient}" or reference.endswith(f"/Patient/{patient}")
    ):
        # Another patient's answers, or answers about nobody: never a card from them.
        raise HookCallError(
            400, f"the intake's subject is not the hook's patient ({_CONTEXT_PATIENT})"
        )


def _intake_in(data: object) -> Mapping[str, Any]:
    wrong = HookCallError(
        400,
        f"prefetch '{PREFETCH_KEY}' must be a QuestionnaireResponse or a Bundle holding one",
    )
    if not isinstance(data, Mapping):
        raise wrong
    kind = data.get("resourceType")
    if kind == _RESPONSE:
        return data
    if kind == "OperationOutcome":
        raise _missing("could not be fetched by the CDS client")
    if kind != "Bundle":
        raise wrong
    entries = data.get("entry", [])
    if not isinstance(entries, list):
        raise wrong
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(resource, Mapping) and resource.get("resourceType") == _RESPONSE:
            return resource
    raise _missing("holds no QuestionnaireResponse")


@dataclass(frozen=True, slots=True)
class HookAnswer:
    """A hook call answered: the response body, the recommendation and the call's ids."""

    response: dict[str, Any]
    recommendation: Recommendation
    hook_instance: str
    card_uuid: str


def _intake(request: HookRequest, patient: str, fetch: bool) -> Mapping[str, Any]:
    prefetched = (request.prefetch or {}).get(PREFETCH_KEY)
    failed = (
        isinstance(prefetched, Mapping) and prefetched.get("resourceType") == "OperationOutcome"
    )
    if prefetched is not None and not (failed and fetch and request.fhir_server):
        return _intake_in(prefetched)
    if not fetch or request.fhir_server is None:
        raise _missing("is missing or null")
    try:
        bundle = fetch_intake(request.fhir_server, request.fhir_authorization, patient)
    except FhirFetchError as error:
        raise HookCallError(412, f"the intake could not be fetched: {error}") from None
    return _intake_in(bundle)


def answer_hook(
    body: object,
    engine: PlacementEngine | None = None,
    *,
    card_uuid: str | None = None,
    fetch: bool = True,
) -> HookAnswer:
    """Answer one hook call, keeping the recommendation (for the audit trail).

    See :func:`answer_hook_call`.
    """
    request = _hook_request(body)
    if request.hook != SERVICE_HOOK:
        raise HookCallError(400, f"this service answers the '{SERVICE_HOOK}' hook only")
    patient = _patient_id(request)
    response = _intake(request, patient, fetch)
    _check_subject(response, patient)
    try:
        assessment = from_questionnaire_response(response)
    except InvalidAssessment as error:
        message = f"the '{PREFETCH_KEY}' QuestionnaireResponse is not a valid assessment"
        raise HookCallError(400, message, error.problems) from None
    if engine is None:
        engine = default_engine()
    rec = engine.recommend(assessment)
    card = to_cds_card(rec, card_uuid=card_uuid)
    answer = CdsResponse.model_validate({"cards": [card]}).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    return HookAnswer(answer, rec, request.hook_instance, card["uuid"])


def answer_hook_call(
    body: object,
    engine: PlacementEngine | None = None,
    *,
    card_uuid: str | None = None,
    fetch: bool = True,
) -> dict[str, Any]:
    """Answer one ``POST {base}/cds-services/iop-placement`` call: ``{"cards": [card]}``.

    ``body`` is the parsed JSON of the request; ``engine`` defaults to the bundled rules.
    The intake comes from ``prefetch.intake``; without it, and with ``fetch`` true and a
    ``fhirServer`` in the call, it is fetched from that server. Its ``subject`` must be
    ``Patient/<context.patientId>``.

    Raises:
        HookCallError: with status 400 for a malformed call, invalid answers (the
            problems name each linkId) or an intake about another patient, and 412 when
            the intake was not prefetched and could not be fetched.

    """
    return answer_hook(body, engine, card_uuid=card_uuid, fetch=fetch).response
