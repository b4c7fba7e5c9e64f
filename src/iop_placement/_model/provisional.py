"""A provisional recommendation for a partial intake: the exact range, flags and what to ask.

The engine works the numbers out (``iop_placement._analysis.provisional``); this module holds the
result and what it says in words, for the same three renderers as a recommendation.
"""

from __future__ import annotations

import re
from typing import Final

from pydantic import Field

from iop_placement._i18n import N_, _, rating_label, use_language
from iop_placement._model.base import Frozen
from iop_placement._model.fields import field_specs
from iop_placement._model.labels import in_sentence
from iop_placement._model.levels import Dimension, Flag, LevelOfCare, RiskRating
from iop_placement._model.recommendation import Recommendation, recommendation_document
from iop_placement._model.record import RulesetInfo
from iop_placement._model.wording import NOTICE, field_title, option_text
from iop_placement._render.document import Detail, Document, Item, Section, Table, cleaned
from iop_placement._render.html import render_html
from iop_placement._render.markdown import render_markdown
from iop_placement._render.plain import render_plain

__all__ = [
    "SAFETY_SCREEN",
    "AnswerOutcome",
    "DimensionRange",
    "OpenQuestion",
    "Provisional",
    "provisional_document",
]

SAFETY_SCREEN: Final = ("suicide_risk", "medically_unstable", "detox_status")
"""The questions that screen for danger to life; ``incomplete_safety_screen`` while any is open."""


class DimensionRange(Frozen):
    """The range of one dimension's rating over every completion of the open questions."""

    dimension: Dimension
    lowest: int = Field(ge=0, le=4)
    highest: int = Field(ge=0, le=4)

    @property
    def label(self) -> str:
        """The range in words, e.g. ``0-3 (none to significant)`` or ``2 (moderate)``."""
        low, high = RiskRating.of(self.lowest), RiskRating.of(self.highest)
        if low == high:
            return f"{self.lowest} ({low.label.lower()})"
        return f"{self.lowest}-{self.highest} ({low.label.lower()} to {high.label.lower()})"


class AnswerOutcome(Frozen):
    """What one answer to an open question would make the range."""

    answer: str = Field(description="The answer in words (for the hours, a band).")
    lowest: LevelOfCare
    highest: LevelOfCare


class OpenQuestion(Frozen):
    """One decisive open question, with the range each of its answers would give."""

    field: str
    title: str
    safety_screen: bool
    outcomes: tuple[AnswerOutcome, ...]


class Provisional(Frozen):
    """A provisional recommendation: exact bounds over every completion of a partial intake.

    ``lowest`` and ``highest`` are the least and most intensive level any completion of
    the unanswered fields gets; ``flags`` are raised in every completion (and
    ``incomplete_safety_screen`` while the safety screen is open), ``possible_flags`` in
    at least one; ``decisive`` lists the unanswered fields whose answer can move
    ``lowest`` or ``highest``, most decisive first (see docs/decision-model.md).
    """

    lowest: LevelOfCare
    highest: LevelOfCare
    flags: tuple[Flag, ...]
    possible_flags: tuple[Flag, ...]
    unanswered: tuple[str, ...] = Field(description="The unanswered fields, in model order.")
    decisive: tuple[str, ...]
    questions: tuple[OpenQuestion, ...] = Field(
        description="The decisive fields in the same order, with each answer's range."
    )
    dimensions: tuple[DimensionRange, ...]
    answers: dict[str, object] = Field(description="The given answers, validated, as codes.")
    ruleset: RulesetInfo
    recommendation: Recommendation | None = Field(
        default=None, description="When complete: the recommendation, as recommend() gives it."
    )

    @property
    def complete(self) -> bool:
        """True when nothing is unanswered: then the bounds are the recommendation's level."""
        return not self.unanswered

    @property
    def incomplete_safety_screen(self) -> bool:
        """Whether suicide risk, medical stability or detox status is unanswered."""
        return Flag.INCOMPLETE_SAFETY_SCREEN in self.flags

    @property
    def settled(self) -> bool:
        """Whether every completion gets the same level (questions may still be open)."""
        return self.lowest == self.highest

    def to_text(self, language: str = "en") -> str:
        """Plain text, as the command line prints it, in ``language`` (``en``, ``es``)."""
        with use_language(language):
            return render_plain(provisional_document(self))

    def to_markdown(self, language: str = "en") -> str:
        """Markdown in ``language``; every label is escaped."""
        with use_language(language):
            return render_markdown(provisional_document(self))

    def to_html(self, language: str = "en") -> str:
        """An HTML fragment in ``language``, safe to embed: all text escaped, no scripts."""
        with use_language(language):
            return render_html(provisional_document(self))

    def render(self, language: str = "en") -> str:
        """The plain-text rendering."""
        return self.to_text(language)


# --- in words ---------------------------------------------------------------------------


def range_words(lowest: LevelOfCare, highest: LevelOfCare) -> str:
    """``Inpatient`` when settled, else ``Standard outpatient to Inpatient``."""
    if lowest == highest:
        return _(lowest.label)
    return _("{low} to {high}").format(low=_(lowest.label), high=_(highest.label))


def _rating_range(d: DimensionRange) -> str:
    """:attr:`DimensionRange.label` in the current language."""
    low, high = (rating_label(RiskRating.of(v).label).lower() for v in (d.lowest, d.highest))
    if d.lowest == d.highest:
        return f"{d.lowest} ({low})"
    return f"{d.lowest}-{d.highest} " + "({})".format(
        _("{low} to {high}").format(low=low, high=high)
    )


_NUMBERS: Final = re.compile(r"(\d+) to (\d+)")


def _answer(field: str, words: str) -> str:
    """An answer in words (a label, labels, 'none' or a band of hours) in the language."""
    if band := _NUMBERS.fullmatch(words):
        return _("{low} to {high}").format(low=band[1], high=band[2])
    spec = field_specs().get(field)
    if spec is None or spec.enum is None:
        return _(words)
    if words == "none" and spec.kind == "choices":
        return _(words)
    return ", ".join(option_text(spec.enum, part) for part in words.split(", "))


def _question_item(question: OpenQuestion) -> Item:
    details = tuple(
        Detail(
            range_words(outcome.lowest, outcome.highest), _answer(question.field, outcome.answer)
        )
        for outcome in question.outcomes
    )
    code = (
        _("{field}, safety screen").format(field=question.field)
        if question.safety_screen
        else question.field
    )
    return Item(_(question.title), code, None, details)


PROVISIONAL_NOTICE: Final = N_(
    "Provisional: exact over every possible answer to the open questions; it becomes a"
    " recommendation when every question is answered."
)


def provisional_document(p: Provisional) -> Document:
    """The provisional result in words: range, flags, what to ask next, what is open."""
    if p.recommendation is not None:
        final = recommendation_document(p.recommendation)
        lead = Detail(_("every question is answered: this is the recommendation."), _("Complete"))
        return Document((lead, *final.summary), final.sections, final.footer)
    specs = field_specs()
    count = len(p.unanswered)
    open_words = (
        _("{count} question still open") if count == 1 else _("{count} questions still open")
    ).format(count=count)
    summary = [
        Detail(
            _("{range} ({open}; not a recommendation yet)").format(
                range=range_words(p.lowest, p.highest), open=open_words
            ),
            _("Provisional level of care"),
        )
    ]
    if p.incomplete_safety_screen:
        missing = ", ".join(
            in_sentence(field_title(specs[name])) for name in SAFETY_SCREEN if name in p.unanswered
        )
        summary.insert(
            0,
            Detail(
                _("ask first: {fields}.").format(fields=missing),
                _(Flag.INCOMPLETE_SAFETY_SCREEN.label),
            ),
        )
    if p.questions:
        summary.append(Detail(_(p.questions[0].title), _("Ask next")))
    elif p.settled:
        summary.append(
            Detail(
                _("no open answer can change the level; answer the rest for the final record."),
                _("Level settled"),
            )
        )
    sections: list[Section] = []
    if p.flags:
        items = tuple(
            Item(_(flag.label), details=(Detail(_(flag.description)),)) for flag in p.flags
        )
        sections.append(
            Section(_("Flags raised whatever the open answers"), items=items, numbered=False)
        )
    possible = [flag for flag in p.possible_flags if flag not in p.flags]
    if possible:
        items = tuple(
            Item(_(flag.label), details=(Detail(_(flag.description)),)) for flag in possible
        )
        sections.append(Section(_("Flags some answers would raise"), items=items, numbered=False))
    if p.questions:
        intro = (
            _(
                "Open questions whose answer can move the range, most decisive first (the"
                " safety screen first), with the range each answer would give:"
            ),
        )
        items = tuple(_question_item(q) for q in p.questions)
        sections.append(Section(_("What to ask next"), intro, items))
    rest = [name for name in p.unanswered if name not in p.decisive]
    if rest:
        items = tuple(Item(field_title(specs[name]), name) for name in rest)
        sections.append(
            Section(
                _("Also still open (cannot change the range)"),
                (_("Needed for the final recommendation, its flags and alternative."),),
                items,
                numbered=False,
            )
        )
    rows = tuple((_(d.dimension.label), _rating_range(d)) for d in p.dimensions)
    sections.append(
        Section(
            _("Dimension ratings (range over the open answers)"),
            table=Table((_("Dimension"), _("Rating")), rows),
        )
    )
    ruleset = p.ruleset
    footer = (
        _("Rule set: {name} {version} (sha256 {sha256})").format(
            name=ruleset.name, version=ruleset.version, sha256=ruleset.sha256[:12]
        ),
        _(PROVISIONAL_NOTICE),
        _(NOTICE),
    )
    return cleaned(Document(tuple(summary), tuple(sections), footer))
