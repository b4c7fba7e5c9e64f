"""The explanation of one recommendation: why, why not more intensive, what would change it.

Also what it says in words: the document the text, Markdown and HTML renderers format.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from pydantic import Field

from iop_placement._i18n import N_, _, rule_text, use_language
from iop_placement._model.base import Frozen
from iop_placement._model.fields import FactValue, FieldSpec, field_specs, rating_field
from iop_placement._model.levels import LevelOfCare
from iop_placement._model.recommendation import Reason, Recommendation, framed, why_sections
from iop_placement._model.wording import describe_facts, field_title_in_sentence, value_label
from iop_placement._render.document import Detail, Document, Item, Section
from iop_placement._render.html import render_html
from iop_placement._render.markdown import render_markdown
from iop_placement._render.plain import render_plain

__all__ = ["Counterfactual", "Explanation", "NearMiss", "explanation_document"]

Answers = dict[str, tuple[FactValue, ...]]

GOALS_NOTICE: Final = N_(
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

    def to_text(self, language: str = "en") -> str:
        """Plain text, as the command line prints it, in ``language`` (``en``, ``es``)."""
        with use_language(language):
            return render_plain(explanation_document(self))

    def to_markdown(self, language: str = "en") -> str:
        """Markdown in ``language``; every rule and label string is escaped."""
        with use_language(language):
            return render_markdown(explanation_document(self))

    def to_html(self, language: str = "en") -> str:
        """An HTML fragment in ``language``, safe to embed: all text escaped, no scripts."""
        with use_language(language):
            return render_html(explanation_document(self))


# --- in words ---------------------------------------------------------------------------


def _either(labels: list[str]) -> str:
    if len(labels) == 1:
        return labels[0]
    return _("{some} or {last}").format(some=", ".join(labels[:-1]), last=labels[-1])


def _numbers(values: Iterable[int]) -> str:
    """Whole numbers as ranges: 0 to 8, 20."""
    runs: list[list[int]] = []
    for value in sorted(values):
        if runs and value == runs[-1][-1] + 1:
            runs[-1].append(value)
        else:
            runs.append([value])
    return _either(
        [
            _("{low} to {high}").format(low=r[0], high=r[-1]) if len(r) > 1 else str(r[0])
            for r in runs
        ]
    )


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
        parts.append(
            _("{field} is {now}, not {answers}").format(
                field=field_title_in_sentence(spec), now=now, answers=_answers(spec, answers)
            )
        )
    return "; ".join(parts)


def _near_miss_item(miss: NearMiss) -> Item:
    details = [Detail(_unmet_text(miss.unmet, miss.current), _("Not met"))]
    details += [
        Detail(
            f"{rule_text(through.rule_id, through.title)} [{through.rule_id}]:"
            f" {_unmet_text(through.unmet, through.current)}",
            _("A higher rating would come from"),
        )
        for through in miss.through[:3]
    ]
    details += [
        Detail(_unmet_text(way, {**miss.current, **miss.met}), _("Or it would hold if"))
        for way in miss.other_ways
    ]
    if miss.met:
        details.append(Detail(describe_facts(miss.met), _("Already met")))
    details.append(Detail(rule_text(miss.rule_id, miss.text), _("Rule")))
    return Item(rule_text(miss.rule_id, miss.title), miss.rule_id, None, tuple(details))


def _goal_item(goal: Counterfactual) -> Item:
    specs = field_specs()
    details = []
    for name, value in goal.changes.items():
        spec = specs[name]
        before = value_label(spec, goal.previous[name]) if name in goal.previous else "?"
        details.append(
            Detail(
                _("{field}: {goal} (now {before})").format(
                    field=field_title_in_sentence(spec),
                    goal=value_label(spec, value),
                    before=before,
                )
            )
        )
    return Item(
        _("{level} would fit once:").format(level=_(goal.level.label)), details=tuple(details)
    )


def _why_not(explanation: Explanation) -> Section:
    above = explanation.why_not_level
    if above is None:
        level = _(explanation.recommendation.level.label)
        return Section(
            _("Why not a more intensive level"),
            (_("{level} is the most intensive level.").format(level=level),),
        )
    heading = _("Why not {level}").format(level=_(above.label))
    if not explanation.why_not:
        return Section(
            heading,
            (_("No rule of this rule set calls for {level}.").format(level=_(above.label)),),
        )
    intro = (
        _(
            "No rule that calls for {level} holds on these answers. Each rule shows what it"
            " did not find, nearest miss first."
        ).format(level=_(above.label)),
    )
    return Section(heading, intro, tuple(_near_miss_item(m) for m in explanation.why_not))


def _what_would_change(explanation: Explanation) -> Section:
    heading = _("What would change it (treatment-planning goals)")
    level = explanation.recommendation.level
    if level.rank == 0:
        return Section(
            heading, (_("{level} is the least intensive level.").format(level=_(level.label)),)
        )
    goals = explanation.what_would_change
    if goals:
        intro = (
            _(GOALS_NOTICE),
            _("Smallest sets first; no set contains a smaller one that works."),
        )
        return Section(heading, intro, tuple(_goal_item(goal) for goal in goals))
    specs = field_specs()
    if explanation.goal_fields:
        titles = ", ".join(field_title_in_sentence(specs[name]) for name in explanation.goal_fields)
        reason = _(
            "No combination of goals for the answers that treatment or circumstances can"
            " change ({titles}) makes a less intensive level fit."
        ).format(titles=titles)
    else:
        reason = _(
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
    rests = ", ".join(field_title_in_sentence(specs[name]) for name in deciding)
    rests_on = _("The level rests on: {fields}.").format(fields=rests)
    return Section(heading, (reason, rests_on) if rests else (reason,))


def explanation_document(explanation: Explanation) -> Document:
    """The explanation in words: summary, why, why not, what would change it, rule set."""
    rec = explanation.recommendation
    sections = [*why_sections(rec), _why_not(explanation), _what_would_change(explanation)]
    return framed(rec, sections)
