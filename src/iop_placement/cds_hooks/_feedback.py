"""CDS Hooks 2.0 feedback: which cards a clinician accepted or overrode, and why.

:func:`parse_feedback` checks a feedback body; an override reason must be one of the
card's ``overrideReasons`` (this library's code system and an
:class:`~iop_placement.OverrideReason` code), and the reason ``other`` needs the user's
comment. The comment is free text that may hold patient details: it is kept for the
audit trail only, never echoed in errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from pydantic import ValidationError

from iop_placement._model.errors import FieldProblem
from iop_placement._model.record import OverrideReason
from iop_placement._model.validation import describe_kind
from iop_placement.cds_hooks._card import OVERRIDE_REASON_SYSTEM
from iop_placement.cds_hooks._models import Feedback
from iop_placement.cds_hooks._service import HookCallError

__all__ = ["CardOutcome", "parse_feedback"]

_BODY: Final = "(request)"
_NOT_FEEDBACK: Final = "the request is not CDS Hooks feedback"


@dataclass(frozen=True, slots=True)
class CardOutcome:
    """One card's outcome, checked; ``comment`` is left out of ``repr``."""

    card_uuid: str
    outcome: str
    reason: OverrideReason | None
    outcome_timestamp: str
    accepted_suggestions: int
    comment: str | None = field(repr=False)

    def audit_content(self) -> dict[str, object]:
        """The outcome as audit content, without the comment (stored as the entry's note)."""
        return {
            "card_uuid": self.card_uuid,
            "outcome": self.outcome,
            "override_reason": self.reason.value if self.reason else None,
            "outcome_timestamp": self.outcome_timestamp,
            "accepted_suggestions": self.accepted_suggestions,
        }


def _problem(where: str, problem: str) -> FieldProblem:
    return FieldProblem(where, problem, "a value that cannot be used", "see CDS Hooks 2.0 feedback")


def parse_feedback(body: object) -> tuple[CardOutcome, ...]:
    """The outcomes in a feedback body.

    Raises:
        HookCallError: 400 naming the members (by position) that are missing or wrong.

    """
    if not isinstance(body, Mapping):
        problem = FieldProblem(_BODY, "must be a JSON object", describe_kind(body), "feedback")
        raise HookCallError(400, _NOT_FEEDBACK, (problem,))
    try:
        feedback = Feedback.model_validate(body)
    except ValidationError as error:
        problems = tuple(
            _problem(
                ".".join(str(part) for part in item["loc"]) or _BODY,
                "is required" if item["type"] == "missing" else "is not valid",
            )
            for item in error.errors(include_url=False, include_input=False)[:20]
        )
        raise HookCallError(400, _NOT_FEEDBACK, problems) from None
    outcomes = []
    codes = {reason.value: reason for reason in OverrideReason}
    for number, item in enumerate(feedback.feedback):
        given = item.override_reason
        reason = None
        where = f"feedback.{number}.overrideReason"
        if given is not None and given.reason is not None:
            coding = given.reason
            if coding.system != OVERRIDE_REASON_SYSTEM or coding.code not in codes:
                problem = _problem(f"{where}.reason", "is not one of the card's overrideReasons")
                raise HookCallError(400, _NOT_FEEDBACK, (problem,))
            reason = codes[coding.code]
        if item.outcome == "accepted" and given is not None:
            problem = _problem(where, "is only for an overridden card")
            raise HookCallError(400, _NOT_FEEDBACK, (problem,))
        comment = given.user_comment if given else None
        if reason is OverrideReason.OTHER and not (comment and comment.strip()):
            problem = _problem(f"{where}.userComment", "is required with the reason 'other'")
            raise HookCallError(400, _NOT_FEEDBACK, (problem,))
        outcomes.append(
            CardOutcome(
                card_uuid=item.card.lower(),
                outcome=item.outcome,
                reason=reason,
                outcome_timestamp=item.outcome_timestamp.isoformat(),
                accepted_suggestions=len(item.accepted_suggestions),
                comment=comment,
            )
        )
    return tuple(outcomes)
