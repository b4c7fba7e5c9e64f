"""The CDS Hooks card's detail, rendered from parts prepared once, is the reference's byte for byte.

The card escapes each rule's constant text once and renders each reason once (issue 26).
The reference below is the straightforward renderer it replaced: every string escaped
character by character on every call. Both run on population intakes (and seeded ones
with optional fields left out) on the engine's backend (``IOP_PLACEMENT_BACKEND``).
"""

from __future__ import annotations

import random
import re
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

from iop_placement import PlacementEngine, Reason, Recommendation
from iop_placement._model.levels import Flag
from iop_placement._model.view import CRISIS_ASK
from iop_placement._model.wording import NOTICE, describe_facts
from iop_placement._render.markdown import escape_markdown
from iop_placement.cds_hooks import to_cds_card
from iop_placement.cds_hooks._card import _reason_key
from iop_placement.populations import population

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _data import seeded_assessments  # benchmarks/ is a folder of scripts (on the path above)

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_PUNCTUATION = re.compile(r"([\\`*_\[\]|~])")
_LINE_START = re.compile(r"^(\d{1,9})([.)])(?=\s|$)|^()([-+=#])")
_SPACES = re.compile(r"\s+")


def reference_escape(text: str) -> str:
    text = _SPACES.sub(" ", text).strip()
    text = "".join(_ENTITIES.get(char, char) for char in text)
    text = _PUNCTUATION.sub(r"\\\1", text)
    return _LINE_START.sub(lambda m: f"{m[1] or m[3]}\\{m[2] or m[4]}", text)


_md = reference_escape


def _reference_reasons(title: str, reasons: Iterable[Reason]) -> list[str]:
    lines: list[str] = []
    for number, reason in enumerate(reasons, 1):
        supports = (
            reason.level.label
            if reason.level
            else f"{reason.dimension.label} rated {reason.rating}"
            if reason.dimension
            else "flags only"
        )
        lines.append(
            f"{number}. **{_md(reason.title)}** (`{reason.rule_id}`, {_md(supports)}):"
            f" {_md(reason.text)}"
        )
        lines.append(f"   - Facts: {_md(describe_facts(reason.facts))}")
        lines.append(f"   - Source: {_md(reason.source)}")
    return [f"**{title}**", "", *lines, ""] if lines else []


def _reference_table(rec: Recommendation) -> list[str]:
    if not rec.dimensions:
        return []
    rows = [
        "**Dimension ratings (0 none to 4 severe)**",
        "",
        "| Dimension | Rating | Why |",
        "|---|---|---|",
    ]
    for rating in rec.dimensions:
        behind = [r for r in rec.reasons if r.dimension == rating.dimension]
        why = "; ".join(
            f"{_md(r.title)} (`{r.rule_id}`) gives {r.rating}: {_md(describe_facts(r.facts))}"
            for r in behind
        )
        rows.append(
            f"| {_md(rating.dimension.label)} | {rating.rating} ({_md(rating.label.lower())})"
            f" | {why or 'no rating rule holds'} |"
        )
    return [*rows, ""]


def reference_detail(rec: Recommendation) -> str:
    lines = []
    if Flag.CRISIS in rec.flags:
        lines += [f"**{_md(Flag.CRISIS.label)}:** {_md(CRISIS_ASK.capitalize())}.", ""]
    elif rec.safety_override:
        danger = ", ".join(f.label for f in rec.flags if f.kind == "safety")
        lines += [f"**Safety first:** {_md(danger)}: act on it before placement.", ""]
    lines += [f"**Suggested level of care: {_md(rec.level.label)}** ({_md(rec.intensity)})", ""]
    if rec.flags:
        lines += ["**Flags**", ""]
        lines += [f"- **{_md(flag.label)}:** {_md(flag.description)}" for flag in rec.flags]
        lines.append("")
    lines += _reference_reasons("Why (deciding reasons)", rec.deciding)
    if not rec.deciding:
        lines += ["**Why:** no rule calls for more than standard outpatient care.", ""]
    lines += _reference_table(rec)
    lines += _reference_reasons("Also considered", rec.supporting)
    if rec.alternative is not None:
        alt = rec.alternative
        lines += [f"**Alternative the clinician may weigh: {_md(alt.level.label)}**, only if:", ""]
        lines += [f"- {_md(condition)}" for condition in alt.conditions]
        lines.append("")
    if rec.asam is not None:
        codes = "; ".join(
            f"{level.edition} edition {level.code} {_md(level.label)}" for level in rec.asam.levels
        )
        lines += [f"**Approximate ASAM Criteria levels:** {codes}. _{_md(rec.asam.note)}_", ""]
    ruleset = rec.ruleset
    lines.append(
        f"_{_md(NOTICE)} Rule set {_md(ruleset.name)} {_md(ruleset.version)},"
        f" sha256 {ruleset.sha256}._"
    )
    return "\n".join(lines)


def _intakes() -> list[dict[str, object]]:
    return [
        *population("community_intake", 2000, seed=26),
        *population("low_acuity_referrals", 1000, seed=26),
        *seeded_assessments(1000, seed=26),
    ]


def test_card_detail_is_the_reference_on_population_intakes(engine: PlacementEngine) -> None:
    details = set()
    for answers in _intakes():
        rec = engine.recommend(answers)
        detail = to_cds_card(rec, card_uuid="u")["detail"]
        assert detail == reference_detail(rec), answers
        details.add(detail)
    assert len(details) > 100  # many different cards, not one repeated


def test_escape_is_the_reference_on_hostile_text() -> None:
    alphabet = "ab1 9.)\\`*_[]|~&<>;-+=#\n\t\u00a0\u2003é→"
    rng = random.Random(26)
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert escape_markdown(text) == reference_escape(text), repr(text)


@pytest.mark.parametrize(("a", "b"), [(True, 1), (False, 0), (["work"], "work")])
def test_reasons_with_equal_but_different_facts_are_kept_apart(a: object, b: object) -> None:
    # True == 1 and hash alike: a memo keyed on the values alone would mix their wordings.
    def reason(value: object) -> Reason:
        return Reason.model_validate(
            {
                "rule_id": "x.y",
                "title": "T",
                "level": None,
                "text": "t",
                "facts": {"prior_outpatient_failed": value},
                "source": "s",
            }
        )

    assert _reason_key(reason(a)) != _reason_key(reason(b))
