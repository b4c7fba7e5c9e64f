"""Write docs/impact-<new>.md: whom a rule-set change moves, and why.

Run from a checkout with the verify extra installed::

    python scripts/impact_report.py                       # 2.0.0 -> bundled: impact-2.1.0.md
    python scripts/impact_report.py OLD_DIR NEW_DIR OUT.md

(a few minutes on 2 cores). Every level figure comes from ``iop_placement.comparison``,
the engine behind ``iop-placement diff``:

* the whole space (every answer of every field, absence and feasibility included), exact;
* the clinical review's profiles: the clinical fields of version 1 with 15 free hours a
  week, no obligations, inpatient care accessible and the optional fields left out, exact;
* 100,000 seeded intakes of each reference population (``iop_placement.populations``:
  assumptions, not data), per 1,000, with inpatient placements split by whether a
  danger to life decided them (``danger_to_life`` below).

docs/impact-2.0.0.md was written by the first version of this script (rule set 1.0.0 to
2.0.0, on the populations of that time, whose fields were drawn independently); it is
kept as it was published.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from iop_placement import LevelOfCare, PlacementEngine, Recommendation
from iop_placement.comparison import RuleSetComparison, Tally, compare_rules
from iop_placement.populations import POPULATIONS, RHO, population

ROOT = Path(__file__).resolve().parents[1]
OLD = ROOT / "tests" / "data" / "rules-2.0.0"
NEW = ROOT / "rules"
OUT = ROOT / "docs" / "impact-2.1.0.md"
SAMPLES = 100_000
REVIEW_PROFILES = {
    "available_hours_per_week": 15,
    "obligations": [],
    "inpatient_accessible": True,
    "withdrawal_severity": None,
    "recovery_residence": None,
    "prior_iop_failed": None,
    "recent_overdose": None,
    "use_status": None,
    "addiction_medication": None,
    "complicated_withdrawal_history": None,
}
DANGER = (
    "A placement is *with a danger-to-life reason* when the rule set's safety override is in"
    " force (`rec.safety_override`): imminent suicide risk, medical instability, or"
    " withdrawal that needs 24-hour care (severe or unrated, complicated by seizures or"
    " delirium before, or with no safe place and nobody to monitor it). Every other"
    " inpatient placement is *without*: it rests on risks that a clinician may weigh"
    " (a decompensated co-occurring condition, severe impairment, an unsafe home,"
    " accumulated moderate risks, relapse despite IOP)."
)


def danger_to_life(rec: Recommendation) -> bool:
    """Whether a danger to life decided the recommendation (the safety override)."""
    return rec.safety_override


def table(tally: Tally, per: float | None, old: str, new: str) -> list[str]:
    """Shares before and after, and the moves, counted or per ``per`` assessments."""
    scale = 1.0 if per is None else per / tally.total

    def shown(count: float) -> str:
        return f"{count:,}" if per is None else f"{count * scale:,.1f}"

    unit = "assessments" if per is None else f"per {per:,.0f}"
    rows = [f"| level | {old} ({unit}) | {new} ({unit}) |", "|---|---:|---:|"]
    for level in LevelOfCare:
        before = tally.at_level(level, after=False)
        after = tally.at_level(level, after=True)
        rows.append(f"| {level.label} | {shown(before)} | {shown(after)} |")
    rows += [
        "",
        f"Moved to a more intensive level: {shown(tally.moved('up'))}; to a less intensive"
        f" level: {shown(tally.moved('down'))}.",
        "",
        "| from | to | count |",
        "|---|---|---:|",
    ]
    for (before, after), count in tally.levels.items():
        if before != after and count:
            rows.append(
                f"| {LevelOfCare.of(before).label} | {LevelOfCare.of(after).label} |"
                f" {shown(count)} |"
            )
    return rows


def reasons(tally: Tally) -> list[str]:
    """Each level move with its least risky example's deciding rules."""
    rows = ["", "| move | deciding before | deciding after |", "|---|---|---|"]
    for change in tally.changes:
        if change.kind == "level":
            rows.append(
                f"| {change.before} → {change.after} | {', '.join(change.rules_before)} |"
                f" {', '.join(change.rules_after)} |"
            )
    return rows


def danger_table(
    intakes: list[dict[str, object]], directories: tuple[Path, Path], old: str, new: str
) -> list[str]:
    """Inpatient with and without a danger-to-life reason, and what decided the rest."""
    engines = {
        version: PlacementEngine.from_directory(directory, backend="compiled")
        for version, directory in zip((old, new), directories, strict=True)
    }
    counts: Counter[tuple[str, str]] = Counter()
    deciding: Counter[str] = Counter()
    for answers in intakes:
        for version, engine in engines.items():
            rec = engine.recommend(answers)
            if rec.level is LevelOfCare.INPATIENT:
                kind = "with" if danger_to_life(rec) else "without"
                counts[version, kind] += 1
                if version == new and kind == "without":
                    deciding.update(
                        r.rule_id for r in rec.reasons if r.level is LevelOfCare.INPATIENT
                    )
    per = 1000 / len(intakes)
    rows = [
        "",
        f"| inpatient placements (per 1,000) | {old} | {new} |",
        "|---|---:|---:|",
    ]
    for kind in ("with", "without"):
        rows.append(
            f"| {kind} a danger-to-life reason | {counts[old, kind] * per:,.1f} |"
            f" {counts[new, kind] * per:,.1f} |"
        )
    rows += [
        "",
        f"Rules deciding {new}'s inpatient placements without a danger-to-life reason (a"
        " placement may have several), per 1,000 intakes:",
        "",
        "| rule | per 1,000 |",
        "|---|---:|",
    ]
    rows += [f"| `{rule}` | {count * per:,.1f} |" for rule, count in deciding.most_common()]
    return rows


def section(
    title: str, intro: str, comparison: RuleSetComparison, per: float | None, versions: list[str]
) -> list[str]:
    """One section: its title, what it counts, the table and, for a space, the moves."""
    tally = comparison.population or comparison.space
    lines = ["", f"## {title}", "", intro, "", *table(tally, per, *versions)]
    return lines + reasons(tally) if comparison.population is None else lines


def main(argv: list[str]) -> None:
    """Compare two rule sets (by default 2.0.0 and the bundled one) and write the report."""
    old_dir, new_dir, out = (Path(a) for a in argv) if argv else (OLD, NEW, OUT)
    whole = compare_rules(old_dir, new_dir)
    versions = [whole.old.version, whole.new.version]
    old, new = versions
    lines = [
        f"# Rule set {old} to {new}: whom the change moves",
        "",
        "Generated by `python scripts/impact_report.py` with `iop_placement.comparison`"
        " (`iop-placement diff`); rerun it to check every figure. The old rule set is kept in"
        f" `{old_dir.relative_to(ROOT) if old_dir.is_relative_to(ROOT) else old_dir}/` for"
        " this comparison. The deciding rules are those of the least risky assessment"
        " showing each move.",
        "",
        DANGER,
    ]
    lines += section(
        "Every assessment",
        f"Every answer of every field, each optional field also left out, every number of"
        f" free hours and every set of obligations: {whole.space.total:,} assessments,"
        " counted exactly on decision diagrams. Most of this space is implausible"
        " combinations; the populations below are closer to a real intake.",
        whole,
        None,
        versions,
    )
    review = compare_rules(old_dir, new_dir, fixed=REVIEW_PROFILES)
    lines += section(
        "The clinical review's profiles",
        "Every combination of the clinical fields of version 1 (with the co-occurring value"
        f" 'active' of contract v3), with {json.dumps(REVIEW_PROFILES)} held fixed"
        " (feasibility never changes the level).",
        review,
        None,
        versions,
    )
    for mix in POPULATIONS.values():
        drawn = list(population(mix.name, SAMPLES))
        compared = compare_rules(old_dir, new_dir, population=[json.dumps(a) for a in drawn])
        lines += section(
            f"{mix.title} (per 1,000 intakes)",
            f"{mix.description} {SAMPLES:,} seeded intakes (`iop-placement population"
            f" {mix.name} -n {SAMPLES} --seed 0`; latent loading {RHO}).",
            compared,
            1000,
            versions,
        )
        lines += danger_table(drawn, (old_dir, new_dir), old, new)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
