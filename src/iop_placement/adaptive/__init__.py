"""The shortest intake: ask the most decisive open question next, stop when the level is settled.

Two faces of one rule (:func:`next_field`): a plain function on the answers so far, and
the HL7 SDC adaptive-questionnaire operation ``Questionnaire/$next-question``
(:func:`next_question`), whose QuestionnaireResponse carries a contained Questionnaire
that grows by one question per call::

    from iop_placement import adaptive
    out = adaptive.next_question({"resourceType": "Parameters", "parameter": [
        {"name": "questionnaire-response", "resource": response}]})
    response = out["parameter"][0]["resource"]   # status "completed" when settled

The safety screen (suicide risk, medical stability, detox status) is asked first; then the
open question whose answer can move the exact level range furthest
(:func:`iop_placement.provisional`); the intake stops once the range is one level and the
safety screen is answered. With ``full_record`` (the ``full-record`` parameter) it goes
on through every question, most decisive first, for a complete record. See
docs/adaptive-intake.md for how many questions that takes on the reference populations.
"""

from __future__ import annotations

from iop_placement.adaptive._next import (
    ADAPTIVE_EXTENSION,
    FULL_RECORD_PARAMETER,
    RESULT_LINK_ID,
    UNDECIDED_LINK_ID,
    next_field,
    next_question,
)

__all__ = [
    "ADAPTIVE_EXTENSION",
    "FULL_RECORD_PARAMETER",
    "RESULT_LINK_ID",
    "UNDECIDED_LINK_ID",
    "next_field",
    "next_question",
]
