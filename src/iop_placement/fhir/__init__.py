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
assessment's own codes.
"""

from __future__ import annotations

from iop_placement.fhir._canonical import (
    CANONICAL_BASE,
    QUESTIONNAIRE_ID,
    QUESTIONNAIRE_URL,
    code_system,
)
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
    "ChosenResponse",
    "ResponseStatusError",
    "asam_system",
    "choose_response",
    "code_system",
    "from_questionnaire_response",
    "level_code",
    "partial_answers",
    "to_questionnaire",
    "to_questionnaire_response",
    "to_result",
    "to_variance_bundle",
]
