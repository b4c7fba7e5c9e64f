"""The CDS Hooks service, without a web framework: discovery and answering a hook call.

The service answers ``patient-view``. It needs the patient's latest intake
``QuestionnaireResponse``, which the CDS client prefetches under the key ``intake``; it
never calls a FHIR server itself. A call it cannot use raises :class:`HookCallError`
with the HTTP status to answer (400 for a malformed call or answers, 412 when the intake
was not prefetched) and the problems, which name fields and never echo values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, Final

from pydantic import ValidationError

from iop_placement._engine import PlacementEngine, default_engine
from iop_placement._model.errors import FieldProblem, InvalidAssessment, IopPlacementError
from iop_placement._model.validation import describe_kind
from iop_placement.cds_hooks._card import to_cds_card
from iop_placement.cds_hooks._models import CdsResponse, Discovery, HookRequest, ServiceDefinition
from iop_placement.fhir._canonical import QUESTIONNAIRE_URL
from iop_placement.fhir._response import from_questionnaire_response

__all__ = [
    "PREFETCH_KEY",
    "SERVICE_HOOK",
    "SERVICE_ID",
    "HookCallError",
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
            " (or a search Bundle holding one). The service does not query FHIR servers."
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
        " QuestionnaireResponse (this service does not query FHIR servers)",
    )


def _prefetched_response(prefetch: Mapping[str, Any] | None) -> Mapping[str, Any]:
    data = (prefetch or {}).get(PREFETCH_KEY)
    if data is None:
        raise _missing("is missing or null")
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


def answer_hook_call(
    body: object, engine: PlacementEngine | None = None, *, card_uuid: str | None = None
) -> dict[str, Any]:
    """Answer one ``POST {base}/cds-services/iop-placement`` call: ``{"cards": [card]}``.

    ``body`` is the parsed JSON of the request; ``engine`` defaults to the bundled rules.

    Raises:
        HookCallError: with status 400 for a malformed call or invalid answers (the
            problems name each linkId) and 412 when the intake was not prefetched.

    """
    request = _hook_request(body)
    if request.hook != SERVICE_HOOK:
        raise HookCallError(400, f"this service answers the '{SERVICE_HOOK}' hook only")
    response = _prefetched_response(request.prefetch)
    try:
        assessment = from_questionnaire_response(response)
    except InvalidAssessment as error:
        message = f"the prefetched '{PREFETCH_KEY}' QuestionnaireResponse is not a valid assessment"
        raise HookCallError(400, message, error.problems) from None
    if engine is None:
        engine = default_engine()
    card = to_cds_card(engine.recommend(assessment), card_uuid=card_uuid)
    return CdsResponse.model_validate({"cards": [card]}).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
