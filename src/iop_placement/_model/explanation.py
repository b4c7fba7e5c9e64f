"""The explanation of one recommendation: why, why not more intensive, what would change it.

Also what it says in words: the document the text, Markdown and HTML renderers format.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from pydantic import Field

from iop_placement._model.base import Frozen
from iop_placement._model.fields import FactValue, FieldSpec, field_specs, rating_field
from iop_placement._model.levels import LevelOfCare
from iop_placement._model.recommendation import Reason, Recommendation, framed, why_sections
from iop_placement._model.wording import describe_facts, value_label
from iop_placement._render.document import Detail, Document, Item, Section
from iop_placement._render.html import render_html
from iop_placement._render.markdown import render_markdown
from iop_placement._render.plain import render_plain

__all__ = ["Counterfactual", "Explanation", "NearMiss", "explanation_document"]

Answers = dict[str, tuple[FactValue, ...]]

GOALS_NOTICE: Final = (
    "These are goals for treatment planning, found by re-running the rules: changes that"
    " treatment or a change of circumstances could bring about, after which a less intensive"
    " level would fit. They are not answers to record: the assessment must always say what"
    " is true now."
)


class NearMiss(Frozen):
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


class Counterfactual(Frozen):
    """A treatment-planning goal: changes to modifiable answers that give a lower level.

    Computed by re-running the rules. It is never a suggestion to record different answers:
    it says what would have to become true for a less intensive level to fit.
    """

    changes: dict[str, FactValue] = Field(description="Field -> the goal answer.")
    level: LevelOfCare = Field(description="The level the rules give once every change holds.")
    previous: dict[str, FactValue] = Field(
        description="Field -> this assessment's answer now, for each changed field."
    )


class Explanation(Frozen):
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
        return render_plain(explanation_document(self))

    def to_markdown(self) -> str:
        """Markdown; every rule and label string is escaped."""
        return render_markdown(explanation_document(self))

    def to_html(self) -> str:
        """An HTML fragment safe to embed: all text escaped, no scripts, styles or links."""
        return render_html(explanation_document(self))


# --- in words ---------------------------------------------------------------------------


def _either(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]


def _numbers(values: Iterable[int]) -> str:
    """Whole numbers as ranges: 0 to 8, 20."""
    runs: list[list[int]] = []
    for value in sorted(values):
        if runs and value == runs[-1][-1] + 1:
            runs[-1].append(value)
        else:
            runs.append([value])
    return _either([f"{r[0]} to {r[-1]}" if len(r) > 1 else str(r[0]) for r in runs])


def _answers(spec: FieldSpec, answers: tuple[FactValue, ...]) -> str:
    if spec.kind == "integer":
        return _numbers(v for v in answers if isinstance(v, int))
    return _either([value_label(spec, value) for value in answers])


def _unmet_text(
    unmet: Mapping[str, tuple[FactValue, ...]], current: Mapping[str, FactValue]
) -> str:
    specs = field_specs(with_derived=True)
    parts = []
    for name, answers in unmet.items():
        spec = specs[name]
        now = value_label(spec, current[name]) if name in current else "?"
        parts.append(f"{spec.title.lower()} is {now}, not {_answers(spec, answers)}")
    return "; ".join(parts)


def _near_miss_item(miss: NearMiss) -> Item:
    details = [Detail(_unmet_text(miss.unmet, miss.current), "Not met")]
    details += [
        Detail(
            f"{through.title} [{through.rule_id}]: {_unmet_text(through.unmet, through.current)}",
            "A higher rating would come from",
        )
        for through in miss.through[:3]
    ]
    details += [
        Detail(_unmet_text(way, {**miss.current, **miss.met}), "Or it would hold if")
        for way in miss.other_ways
    ]
    if miss.met:
        details.append(Detail(describe_facts(miss.met), "Already met"))
    details.append(Detail(miss.text, "Rule"))
    return Item(miss.title, miss.rule_id, None, tuple(details))


def _goal_item(goal: Counterfactual) -> Item:
    specs = field_specs()
    details = []
    for name, value in goal.changes.items():
        spec = specs[name]
        before = value_label(spec, goal.previous[name]) if name in goal.previous else "?"
        details.append(Detail(f"{spec.title.lower()}: {value_label(spec, value)} (now {before})"))
    return Item(f"{goal.level.label} would fit once:", details=tuple(details))


def _why_not(explanation: Explanation) -> Section:
    above = explanation.why_not_level
    if above is None:
        level = explanation.recommendation.level.label
        return Section("Why not a more intensive level", (f"{level} is the most intensive level.",))
    if not explanation.why_not:
        return Section(
            f"Why not {above.label}", (f"No rule of this rule set calls for {above.label}.",)
        )
    intro = (
        f"No rule that calls for {above.label} holds on these answers. Each rule shows what it"
        " did not find, nearest miss first.",
    )
    return Section(
        f"Why not {above.label}", intro, tuple(_near_miss_item(m) for m in explanation.why_not)
    )


def _what_would_change(explanation: Explanation) -> Section:
    heading = "What would change it (treatment-planning goals)"
    level = explanation.recommendation.level
    if level.rank == 0:
        return Section(heading, (f"{level.label} is the least intensive level.",))
    goals = explanation.what_would_change
    if goals:
        intro = (GOALS_NOTICE, "Smallest sets first; no set contains a smaller one that works.")
        return Section(heading, intro, tuple(_goal_item(goal) for goal in goals))
    specs = field_specs()
    if explanation.goal_fields:
        titles = ", ".join(specs[name].title.lower() for name in explanation.goal_fields)
        reason = (
            f"No combination of goals for the answers that treatment or circumstances can"
            f" change ({titles}) makes a less intensive level fit."
        )
    else:
        reason = (
            "Every answer that treatment or circumstances can change is already at its goal,"
            " so no goal can make a less intensive level fit."
        )
    rec = explanation.recommendation
    # A deciding rule that reads a rating rests on the answers of the rating rules behind it.
    read = {name for r in rec.deciding for name in r.facts}
    behind = [
        r
        for r in rec.reasons
        if r.dimension is not None
        and rating_field(r.dimension.value) in read
        and r.rating == next(d.rating for d in rec.dimensions if d.dimension == r.dimension)
    ]
    deciding = dict.fromkeys(
        name for r in (*rec.deciding, *behind) for name in r.facts if name in specs
    )
    rests = ", ".join(specs[name].title.lower() for name in deciding)
    return Section(heading, (reason, f"The level rests on: {rests}.") if rests else (reason,))


def explanation_document(explanation: Explanation) -> Document:
    """The explanation in words: summary, why, why not, what would change it, rule set."""
    rec = explanation.recommendation
    sections = [*why_sections(rec), _why_not(explanation), _what_would_change(explanation)]
    return framed(rec, sections)
