"""The few CDS Hooks 2.0 objects this library speaks, as small Pydantic models.

No maintained Python library models CDS Hooks, so these follow the specification's
tables for the parts used here: discovery (service definitions), the hook request, and
the response with its cards. Field names are the specification's JSON names (aliases);
dump with ``by_alias=True, exclude_none=True``.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import AwareDatetime, ConfigDict, Field, model_validator

from iop_placement._model.base import Frozen

__all__ = [
    "SUMMARY_MAX",
    "UUID_PATTERN",
    "Card",
    "CdsResponse",
    "Coding",
    "Discovery",
    "Feedback",
    "FeedbackItem",
    "HookRequest",
    "Indicator",
    "Link",
    "OverrideReasonGiven",
    "ServiceDefinition",
    "Source",
]

SUMMARY_MAX = 139  # "one-sentence, <140-character summary message"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
Indicator = Literal["info", "warning", "critical"]


class _Model(Frozen):
    model_config = ConfigDict(hide_input_in_errors=True)


class Coding(_Model):
    """A code with its system and display (override reasons, source topic)."""

    code: str = Field(min_length=1)
    system: str | None = None
    display: str | None = None


class Source(_Model):
    """Who the card comes from."""

    label: str = Field(min_length=1)
    url: str | None = None
    icon: str | None = None
    topic: Coding | None = None


class Link(_Model):
    """A link shown on a card."""

    label: str = Field(min_length=1)
    url: str = Field(min_length=1)
    type: Literal["absolute", "smart"]
    app_context: str | None = Field(default=None, alias="appContext")


class Card(_Model):
    """One card: a summary, Markdown detail, an indicator and its source."""

    uuid: str | None = None
    summary: str = Field(min_length=1, max_length=SUMMARY_MAX)
    detail: str | None = None
    indicator: Indicator
    source: Source
    links: tuple[Link, ...] | None = None
    override_reasons: tuple[Coding, ...] | None = Field(default=None, alias="overrideReasons")

    @model_validator(mode="after")
    def _override_reasons_are_displayed(self) -> Card:
        if any(not reason.display for reason in self.override_reasons or ()):
            msg = "every override reason needs a display"
            raise ValueError(msg)
        return self


class CdsResponse(_Model):
    """A service's answer to a hook call."""

    cards: tuple[Card, ...]


class ServiceDefinition(_Model):
    """One service, as the discovery endpoint lists it."""

    hook: str = Field(min_length=1)
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._~-]+$")
    title: str | None = None
    description: str = Field(min_length=1)
    prefetch: dict[str, str] | None = None
    usage_requirements: str | None = Field(default=None, alias="usageRequirements")


class Discovery(_Model):
    """The discovery endpoint's answer."""

    services: tuple[ServiceDefinition, ...]


class HookRequest(_Model):
    """A hook call; unknown members (extensions) are ignored."""

    model_config = ConfigDict(extra="ignore")

    hook: str = Field(min_length=1, max_length=200)
    hook_instance: str = Field(pattern=UUID_PATTERN, alias="hookInstance")
    context: dict[str, Any] = Field(min_length=1)
    fhir_server: str | None = Field(default=None, max_length=2000, alias="fhirServer")
    fhir_authorization: dict[str, Any] | None = Field(default=None, alias="fhirAuthorization")
    prefetch: dict[str, Any] | None = None


FEEDBACK_MAX: Final = 50
COMMENT_MAX: Final = 2000


class OverrideReasonGiven(_Model):
    """Why a clinician overrode a card: a Coding from the card's list, and a comment."""

    model_config = ConfigDict(extra="ignore")

    reason: Coding | None = None
    user_comment: str | None = Field(default=None, max_length=COMMENT_MAX, alias="userComment")


class FeedbackItem(_Model):
    """One card's outcome, as the CDS client reports it."""

    model_config = ConfigDict(extra="ignore")

    card: str = Field(pattern=UUID_PATTERN)
    outcome: Literal["accepted", "overridden"]
    accepted_suggestions: tuple[dict[str, Any], ...] = Field(
        default=(), max_length=FEEDBACK_MAX, alias="acceptedSuggestions"
    )
    override_reason: OverrideReasonGiven | None = Field(default=None, alias="overrideReason")
    outcome_timestamp: AwareDatetime = Field(alias="outcomeTimestamp")


class Feedback(_Model):
    """The body of ``POST {base}/cds-services/{id}/feedback``."""

    model_config = ConfigDict(extra="ignore")

    feedback: tuple[FeedbackItem, ...] = Field(min_length=1, max_length=FEEDBACK_MAX)
