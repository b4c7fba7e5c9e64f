"""What a recommendation says about ASAM Criteria levels: an approximate correspondence.

The crosswalk that yields it is rule-set data (``_rules.asam``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from iop_placement._model.base import Frozen

__all__ = ["AsamCorrespondence", "AsamLevel"]


class AsamLevel(Frozen):
    """One ASAM Criteria level: the edition whose vocabulary it is, its code and name."""

    edition: str = Field(description="The edition of the ASAM Criteria: '3rd' or '4th'.")
    code: str = Field(description="The level's code in that edition, e.g. '2.1' or '3.7-WM'.")
    label: str = Field(description="The level's name in that edition.")
    rule_ids: tuple[str, ...] = Field(
        default=(),
        description="The deciding rules this level corresponds to; empty when no rule decided"
        " the level.",
    )


class AsamCorrespondence(Frozen):
    """The ASAM levels a recommendation roughly corresponds to; never an ASAM placement."""

    approximate: Literal[True] = Field(
        default=True, description="Always true: the correspondence is approximate."
    )
    note: str = Field(description="What the correspondence is and is not, for the reader.")
    levels: tuple[AsamLevel, ...] = Field(
        description="The corresponding levels, edition by edition, in each edition's order."
    )
