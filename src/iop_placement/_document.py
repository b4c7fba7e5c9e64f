"""The explanation as a neutral document: what to say, in words, before choosing a format.

The text, Markdown and HTML renderers all render this one document, so they show the same
content. Every string comes from the explanation, the rule set, the model's labels and
titles, or the few sentences of framing below; control characters are removed here, once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final

from iop_placement._explanation import Counterfactual, Explanation, NearMiss
from iop_placement._fields import FieldSpec, field_specs
from iop_placement._levels import LevelOfCare, RiskRating
from iop_placement._recommendation import FactValue, Reason, Recommendation
from iop_placement._render import NOTICE, describe_facts

__all__ = [
    "Detail",
    "Document",
    "Item",
    "Section",
    "Table",
    "build_document",
    "clean",
    "recommendation_document",
]

GOALS_NOTICE: Final = (
    "These are goals for treatment planning, found by re-running the rules: changes that"
    " treatment or a change of circumstances could bring about, after which a less intensive"
    " level would fit. They are not answers to record: the assessment must always say what"
    " is true now."
)
# C0/C1 controls and the bidirectional overrides that can disguise text on screen.
_UNSAFE: Final = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]+")


def clean(text: str) -> str:
    """``text`` with control and bidi-override characters replaced by one space."""
    return _UNSAFE.sub(" ", text)


@dataclass(frozen=True, slots=True)
class Detail:
    """One line under an item: plain text, or ``label: text``."""

    text: str
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """One entry of a section: a reason, a near miss, a goal set, a flag, a condition."""

    title: str
    code: str | None = None
    outcome: str | None = None
    details: tuple[Detail, ...] = ()


@dataclass(frozen=True, slots=True)
class Table:
    """A small table: column headings and rows of cells, all text."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class Section:
    """A heading, a few sentences, a table, and a numbered or bulleted list of items."""

    heading: str
    intro: tuple[str, ...] = ()
    items: tuple[Item, ...] = ()
    numbered: bool = True
    table: Table | None = None


@dataclass(frozen=True, slots=True)
class Document:
    """The whole explanation, ready for any renderer."""

    summary: tuple[Detail, ...]
    sections: tuple[Section, ...]
    footer: tuple[str, ...]

    def strings(self) -> Iterator[str]:
        """Every piece of text the document shows (renderers must show each one)."""
        for detail in self.summary:
            yield from (s for s in (detail.label, detail.text) if s)
        for section in self.sections:
            yield section.heading
            yield from section.intro
            if section.table is not None:
                yield from section.table.columns
                yield from (cell for row in section.table.rows for cell in row)
            for item in section.items:
                yield from (s for s in (item.title, item.code, item.outcome) if s)
                for detail in item.details:
                    yield from (s for s in (detail.label, detail.text) if s)
        yield from self.footer


def _value_label(spec: FieldSpec, value: FactValue) -> str:
    if isinstance(value, list):
        return ", ".join(spec.label(item) for item in value) or "none"
    return spec.label(value)


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
    return _either([_value_label(spec, value) for value in answers])


def _unmet_text(
    unmet: Mapping[str, tuple[FactValue, ...]], current: Mapping[str, FactValue]
) -> str:
    specs = field_specs(with_derived=True)
    parts = []
    for name, answers in unmet.items():
        spec = specs[name]
        now = _value_label(spec, current[name]) if name in current else "?"
        parts.append(f"{spec.title.lower()} is {now}, not {_answers(spec, answers)}")
    return "; ".join(parts)


def _reason_item(reason: Reason) -> Item:
    details = [Detail(reason.text), Detail(describe_facts(reason.facts), "Facts")]
    if reason.flags:
        details.append(Detail(", ".join(flag.label for flag in reason.flags), "Raises"))
    details.append(Detail(reason.source, "Source"))
    if reason.level is not None:
        outcome = reason.level.label
    elif reason.dimension is not None:
        outcome = f"{reason.dimension.label} rated {reason.rating}"
    else:
        outcome = "flags only"
    return Item(reason.title, reason.rule_id, outcome, tuple(details))


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
        before = _value_label(spec, goal.previous[name]) if name in goal.previous else "?"
        details.append(Detail(f"{spec.title.lower()}: {_value_label(spec, value)} (now {before})"))
    return Item(f"{goal.level.label} would fit once:", details=tuple(details))


DIMENSIONS_INTRO: Final = (
    "Each of the six ASAM dimensions is rated 0 (none) to 4 (severe) by the rating rules;"
    " the placement rules read these ratings."
)


def _dimensions(rec: Recommendation) -> list[Section]:
    if not rec.dimensions:
        return []
    rows = []
    for rating in rec.dimensions:
        behind = sorted(
            (r for r in rec.reasons if r.dimension == rating.dimension),
            key=lambda r: -(r.rating or 0),
        )
        why = "; ".join(
            f"{r.title} [{r.rule_id}] gives {r.rating}: {describe_facts(r.facts)}" for r in behind
        )
        rows.append(
            (
                rating.dimension.label,
                f"{rating.rating} ({RiskRating(rating.rating).label.lower()})",
                why or "No rating rule holds.",
            )
        )
    table = Table(("Dimension", "Rating", "Why"), tuple(rows))
    return [Section("Dimension ratings", (DIMENSIONS_INTRO,), table=table)]


def _why(rec: Recommendation) -> list[Section]:
    sections = []
    if rec.flags:
        flags = tuple(Item(flag.label, details=(Detail(flag.description),)) for flag in rec.flags)
        sections.append(Section("Flags", items=flags, numbered=False))
    least = LevelOfCare.least_intensive()
    none = () if rec.deciding else (f"No rule calls for more than {least.label}.",)
    deciding = tuple(_reason_item(reason) for reason in rec.deciding)
    sections.append(Section("Why (deciding reasons)", none, deciding))
    sections += _dimensions(rec)
    if rec.supporting:
        # Rating reasons too: the table sums them up; here each shows its text and source.
        supporting = tuple(_reason_item(reason) for reason in rec.supporting)
        sections.append(Section("Also considered (supporting reasons)", items=supporting))
    if rec.alternative is not None:
        alt = rec.alternative
        intro = (
            f"{alt.level.label} (offered by {', '.join(alt.rule_ids)}), only if all of these hold:"
        )
        conditions = tuple(Item(condition) for condition in alt.conditions)
        sections.append(
            Section("Alternative the clinician may weigh", (intro,), conditions, numbered=False)
        )
    return sections


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
        if r.dimension is not None and f"rating.{r.dimension.value}" in read
        and r.rating == next(d.rating for d in rec.dimensions if d.dimension == r.dimension)
    ]
    deciding = dict.fromkeys(
        name for r in (*rec.deciding, *behind) for name in r.facts if name in specs
    )
    rests = ", ".join(specs[name].title.lower() for name in deciding)
    return Section(heading, (reason, f"The level rests on: {rests}.") if rests else (reason,))


def _cleaned(document: Document) -> Document:
    def detail(d: Detail) -> Detail:
        return Detail(clean(d.text), clean(d.label) if d.label is not None else None)

    def item(i: Item) -> Item:
        return Item(
            clean(i.title),
            clean(i.code) if i.code is not None else None,
            clean(i.outcome) if i.outcome is not None else None,
            tuple(detail(d) for d in i.details),
        )

    return Document(
        summary=tuple(detail(d) for d in document.summary),
        sections=tuple(
            Section(
                clean(s.heading),
                tuple(clean(t) for t in s.intro),
                tuple(item(i) for i in s.items),
                s.numbered,
                None
                if s.table is None
                else Table(
                    tuple(clean(c) for c in s.table.columns),
                    tuple(tuple(clean(c) for c in row) for row in s.table.rows),
                ),
            )
            for s in document.sections
        ),
        footer=tuple(clean(t) for t in document.footer),
    )


OVERRIDE_NOTICE: Final = (
    "a danger to life is present (see the flags): act on it first. No less intensive level"
    " or alternative is offered."
)


def _summary(rec: Recommendation) -> tuple[Detail, ...]:
    lead = (Detail(OVERRIDE_NOTICE, "Safety first"),) if rec.safety_override else ()
    return (
        *lead,
        Detail(rec.level.label, "Recommended level of care"),
        Detail(rec.intensity, "Typical intensity"),
    )


def _footer(rec: Recommendation) -> tuple[str, ...]:
    ruleset = rec.ruleset
    return (f"Rule set: {ruleset.name} {ruleset.version} (sha256 {ruleset.sha256[:12]})", NOTICE)


def recommendation_document(rec: Recommendation) -> Document:
    """The recommendation alone in words: summary, flags, why, alternative, rule set."""
    return _cleaned(Document(_summary(rec), tuple(_why(rec)), _footer(rec)))


def build_document(explanation: Explanation) -> Document:
    """The explanation in words: summary, why, why not, what would change it, rule set."""
    rec = explanation.recommendation
    sections = [*_why(rec), _why_not(explanation), _what_would_change(explanation)]
    return _cleaned(Document(_summary(rec), tuple(sections), _footer(rec)))
