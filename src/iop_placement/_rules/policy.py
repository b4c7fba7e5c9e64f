"""The safety override's filter, stated once for every evaluator of the decision policy.

While the safety override is in force the recommendation keeps only some fired rules:
their reasons stay and only their flags are shown. The engine, the decision diagrams and
both verifier encodings read this one statement, so a proof is about the flags the
engine shows, not about the flags some rule raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from iop_placement._rules.ruleset import Rule

__all__ = ["kept_under_override", "kept_under_override_of", "rule_kept_under_override"]


def kept_under_override(stage: int, level: str | None, *, rates: bool, offers: bool) -> bool | str:
    """When a fired rule stays under the override: never, always, or at one level.

    False: never; True: always; a level code: only when that level is the one decided.
    Nothing that offers a way down stays: a rule that only offers an alternative, or one
    reading the decided level (stage 3) that offers one. A stage-3 rule that only raises
    flags stays (a bed out of reach is shown exactly when there is a danger to life); a
    rule supporting a level stays only if that level is the one decided.
    """
    if offers and (stage == 3 or (level is None and not rates)):
        return False
    return True if level is None else level


def kept_under_override_of(stage: int, then: Mapping[str, Any]) -> bool | str:
    """:func:`kept_under_override` for a rule's ``then`` as written in a rule file."""
    return kept_under_override(
        stage,
        then.get("level"),
        rates="rating" in then,
        offers="alternative" in then,
    )


def rule_kept_under_override(rule: Rule) -> bool | str:
    """:func:`kept_under_override` for a loaded rule."""
    then = rule.then
    return kept_under_override(
        rule.stage,
        then.level.value if then.level is not None else None,
        rates=then.rating is not None,
        offers=then.alternative is not None,
    )
