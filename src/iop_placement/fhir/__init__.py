"""FHIR R4: the intake as a Questionnaire, and a QuestionnaireResponse read as an Assessment.

Everything is plain JSON-ready dicts; no FHIR library is needed at run time::

    from iop_placement import fhir, recommend
    questionnaire = fhir.to_questionnaire()            # publish it, or load it in a form
    assessment = fhir.from_questionnaire_response(qr)  # InvalidAssessment names bad linkIds
    recommend(assessment)
    chosen = fhir.choose_response(bundle)               # the latest usable one, and why
    provisional(fhir.partial_answers(chosen.response))  # in-progress: a provisional result
    fhir.to_result(placement_record, subject="Patient/1") # ServiceRequests + Observations

Choice answers are Codings in one code system per question
(:func:`code_system`, e.g. ``.../CodeSystem/detox-status``) whose codes are the
assessment's own codes; :func:`to_code_systems` gives them as CodeSystem resources. Every
function takes ``base=`` (default :data:`CANONICAL_BASE`, a placeholder): the address
where you publish the resources.
"""

from __future__ import annotations

from iop_placement.fhir._canonical import (
    CANONICAL_BASE,
    QUESTIONNAIRE_ID,
    QUESTIONNAIRE_URL,
    CanonicalBaseError,
    code_system,
    questionnaire_url,
)
from iop_placement.fhir._code_systems import code_system_names, to_code_system, to_code_systems
from iop_placement.fhir._questionnaire import to_questionnaire, to_questionnaire_response
from iop_placement.fhir._response import (
    ChosenResponse,
    ResponseStatusError,
    choose_response,
    from_questionnaire_response,
    partial_answers,
)
from iop_placement.fhir._result import PART2_SECURITY, asam_system, level_code, to_result
from iop_placement.fhir._variance import VARIANCE_MEASURE, to_variance_bundle

__all__ = [
    "CANONICAL_BASE",
    "PART2_SECURITY",
    "QUESTIONNAIRE_ID",
    "QUESTIONNAIRE_URL",
    "VARIANCE_MEASURE",
    "CanonicalBaseError",
    "ChosenResponse",
    "ResponseStatusError",
    "asam_system",
    "choose_response",
    "code_system",
    "code_system_names",
    "from_questionnaire_response",
    "level_code",
    "partial_answers",
    "questionnaire_url",
    "to_code_system",
    "to_code_systems",
    "to_questionnaire",
    "to_questionnaire_response",
    "to_result",
    "to_variance_bundle",
]
