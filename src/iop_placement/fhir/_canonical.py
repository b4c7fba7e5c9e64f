"""The project's canonical URLs: its FHIR Questionnaire and the code systems of its answers.

``CANONICAL_BASE`` is a placeholder under the reserved ``example.org`` domain until the
project publishes these resources at an address it owns; change it here and every
Questionnaire, coding and card follows.
"""

from __future__ import annotations

from typing import Final

__all__ = ["CANONICAL_BASE", "QUESTIONNAIRE_ID", "QUESTIONNAIRE_URL", "code_system"]

CANONICAL_BASE: Final = "https://iop-placement.example.org/fhir"
QUESTIONNAIRE_ID: Final = "iop-placement-intake"
QUESTIONNAIRE_URL: Final = f"{CANONICAL_BASE}/Questionnaire/{QUESTIONNAIRE_ID}"


def code_system(name: str) -> str:
    """The code system URL of one field's answers (or of another vocabulary, by name)."""
    return f"{CANONICAL_BASE}/CodeSystem/{name.replace('_', '-')}"
