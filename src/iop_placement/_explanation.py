"""The explanation of one recommendation: why, why not more intensive, what would change it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from iop_placement._levels import LevelOfCare
from iop_placement._recommendation import FactValue, Reason, Recommendation

__all__ = ["Counterfactual", "Explanation", "NearMiss"]

Answers = dict[str, tuple[FactValue, ...]]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NearMiss(_Frozen):
    """A rule for the next level up that did not hold, and what it did not find."""

    rule_id: str = Field(description="The rule's stable id, '<family>.<name>'.")
    title: str = Field(description="The rule's short title.")
    level: LevelOfCare | None = Field(description="The level the rule would have supported.")
    text: str = Field(description="The criterion in plain language.")
    source: str = Field(description="The documents and reading the rule comes from.")
    unmet: Answers = Field(
        description="For the nearest way the rule could hold: each field not met, with the"
        " answers that would have met it."
    )
    current: dict[str, FactValue] = Field(description="This assessment's answers to those fields.")
    met: dict[str, FactValue] = Field(
        default_factory=dict,
        description="Fields of that same way that this assessment already meets.",
    )
    other_ways: tuple[Answers, ...] = Field(
        default=(),
        description="Other ways, equally near, each as field -> answers that would have met it.",
    )
    through: tuple[NearMiss, ...] = Field(
        default=(),
        description="For a rule that reads ratings: the rating rules that would give the"
        " ratings it did not find, nearest first.",
    )


class Counterfactual(_Frozen):
    """A treatment-planning goal: changes to modifiable answers that give a lower level.

    Computed by re-running the rules. It is never a suggestion to record different answers:
    it says what would have to become true for a less intensive level to fit.
    """

    changes: dict[str, FactValue] = Field(description="Field -> the goal answer.")
    level: LevelOfCare = Field(description="The level the rules give once every change holds.")
    previous: dict[str, FactValue] = Field(
        description="Field -> this assessment's answer now, for each changed field."
    )


class Explanation(_Frozen):
    """Everything a clinician needs to check one recommendation, in one object.

    Render it with :meth:`to_text`, :meth:`to_markdown` or :meth:`to_html`; all three show
    the same content.
    """

    recommendation: Recommendation
    why_not_level: LevelOfCare | None = Field(
        description="The next level up, whose rules ``why_not`` lists; null at the top level."
    )
    why_not: tuple[NearMiss, ...] = Field(
        description="The rules for the next level up, nearest miss first."
    )
    what_would_change: tuple[Counterfactual, ...] = Field(
        description="Minimal sets of goals that move the level down, smallest first."
    )
    goal_fields: tuple[str, ...] = Field(
        description="The modifiable fields whose answers could still improve, which the"
        " counterfactual search could change."
    )

    @property
    def deciding(self) -> tuple[Reason, ...]:
        """The reasons that set the level (they support the recommended level itself)."""
        return self.recommendation.deciding

    @property
    def supporting(self) -> tuple[Reason, ...]:
        """The other reasons: less intensive levels, flags and alternatives."""
        return self.recommendation.supporting

    def to_text(self) -> str:
        """Plain text, as the command line prints it."""
        from iop_placement._document import build_document  # noqa: PLC0415 - import cycle
        from iop_placement._render_plain import render_plain  # noqa: PLC0415

        return render_plain(build_document(self))

    def to_markdown(self) -> str:
        """Markdown; every rule and label string is escaped."""
        from iop_placement._document import build_document  # noqa: PLC0415 - import cycle
        from iop_placement._render_markdown import render_markdown  # noqa: PLC0415

        return render_markdown(build_document(self))

    def to_html(self) -> str:
        """An HTML fragment safe to embed: all text escaped, no scripts, styles or links."""
        from iop_placement._document import build_document  # noqa: PLC0415 - import cycle
        from iop_placement._render_html import render_html  # noqa: PLC0415

        return render_html(build_document(self))
