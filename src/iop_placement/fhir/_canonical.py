"""The project's canonical URLs: its FHIR Questionnaire and the code systems of its answers.

``CANONICAL_BASE`` is the default: a placeholder under the reserved ``example.org`` domain.
A deployment that publishes these resources passes its own base, an address it controls,
as ``base=`` to :func:`~iop_placement.fhir.to_questionnaire` and the other FHIR functions
(or ``iop-placement fhir ... --base URL``); every Questionnaire, coding and CodeSystem made
with it follows.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final
from urllib.parse import urlsplit

from iop_placement._model.errors import IopPlacementError

__all__ = [
    "CANONICAL_BASE",
    "QUESTIONNAIRE_ID",
    "QUESTIONNAIRE_URL",
    "CanonicalBaseError",
    "check_base",
    "code_system",
    "code_system_id",
    "questionnaire_url",
]

CANONICAL_BASE: Final = "https://iop-placement.example.org/fhir"
QUESTIONNAIRE_ID: Final = "iop-placement-intake"

_BASE_RULE: Final = (
    "an absolute http or https URL with a host, without a query, a fragment or a trailing"
    " slash, e.g. https://fhir.example.com/iop-placement"
)


class CanonicalBaseError(IopPlacementError, ValueError):
    """A canonical base that cannot prefix FHIR canonical URLs; the message says what can."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"base {problem}: it must be {_BASE_RULE}")
        self.problem = problem


def check_base(base: str) -> str:
    """``base`` if it can prefix canonical URLs, else :class:`CanonicalBaseError`."""
    if not isinstance(base, str):
        raise CanonicalBaseError("is not a string")
    return _checked(base)


@lru_cache(maxsize=32)  # called for every coding: check each base once
def _checked(base: str) -> str:
    try:
        parts = urlsplit(base)
    except ValueError:
        raise CanonicalBaseError("is not a URL") from None
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise CanonicalBaseError("is not an absolute http or https URL")
    if parts.query or parts.fragment or "?" in base or "#" in base:
        raise CanonicalBaseError("has a query or a fragment")
    if base.endswith("/"):
        raise CanonicalBaseError("ends with a slash")
    if any(ch.isspace() or ord(ch) < 32 for ch in base):
        raise CanonicalBaseError("holds white space or control characters")
    return base


def questionnaire_url(base: str = CANONICAL_BASE) -> str:
    """The Questionnaire's canonical URL under ``base``."""
    return f"{check_base(base)}/Questionnaire/{QUESTIONNAIRE_ID}"


def code_system_id(name: str) -> str:
    """The id of one field's code system (or another vocabulary's): its name with hyphens."""
    return name.replace("_", "-")


def code_system(name: str, base: str = CANONICAL_BASE) -> str:
    """The code system URL of one field's answers (or of another vocabulary, by name)."""
    return f"{check_base(base)}/CodeSystem/{code_system_id(name)}"


QUESTIONNAIRE_URL: Final = questionnaire_url()
