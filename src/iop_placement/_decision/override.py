"""The safety override's filter, stated once for every evaluator of the decision policy.

While the safety override is in force the recommendation keeps only some fired rules:
their reasons stay and only their flags are shown. The engine, the decision diagrams and
both verifier encodings read this one statement, so a proof is about the flags the
engine shows, not about the flags some rule raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["kept_under_override", "kept_under_override_of"]


def kept_under_override(stage: int, level: str | None, *, rates: bool, offers: bool) -> bool | str:
    """When a fired rule stays under the override: never, always, or at one level.

    False: never; True: always; a level code: only when that level is the one decided.
    Nothing that suggests weighing a lower level stays: a rule offering an alternative
    goes when it reads the decided level (stage 3) or does nothing but offer. A rule
    supporting a level stays only if that level is the one decided; any other rule stays
    (a rule reading the decided level that only raises flags too).
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
