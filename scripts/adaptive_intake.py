"""Write the figures of docs/adaptive-intake.md: how many questions the adaptive intake asks.

Run from a checkout (``PYTHONPATH=src`` or an installed package)::

    python scripts/adaptive_intake.py            # 2,000 intakes per population
    python scripts/adaptive_intake.py 200        # a quicker look

Each seeded intake of each reference population (``iop_placement.populations``:
assumptions, not data) is driven through ``Questionnaire/$next-question`` exactly as an
SDC client would, answering each question it asks from the intake; the script counts the
questions asked until the operation stops (the level settled, the safety screen
answered, no safety flag still open) and checks that the level it stops on is ``recommend()``'s on the whole intake.
It also counts the flags that were still possible but undecided when it stopped (the
full record, ``full-record``, settles them). The figures replace the part of the page
between the two ``<!-- figures -->`` markers.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from iop_placement import fhir, provisional, recommend
from iop_placement._model.fields import field_specs
from iop_placement.adaptive import RESULT_LINK_ID, next_question
from iop_placement.populations import POPULATIONS, population

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "adaptive-intake.md"
SAMPLES = 2_000
SEED = 28
MARK = "<!-- figures -->"


def drive(case: dict[str, Any]) -> tuple[int, str, set[str]]:
    """Questions asked, the level stated at the end, and the flags left undecided."""
    given = {i["linkId"]: i for i in fhir.to_questionnaire_response(case)["item"]}
    response: dict[str, Any] = {"resourceType": "QuestionnaireResponse", "status": "in-progress"}
    asked: list[str] = []
    while True:
        response = next_question(response)
        items = response["contained"][0]["item"]
        if response["status"] == "completed":
            (result,) = (i for i in items if i["linkId"] == RESULT_LINK_ID)
            answers = {name: case[name] for name in asked}
            partial = provisional(answers)
            return len(asked), result["text"], set(partial.possible_flags) - set(partial.flags)
        asked.append(items[-1]["linkId"])
        if asked[-1] in given:
            response["item"].append(given[asked[-1]])


def percentile(values: list[int], share: float) -> int:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def figures(samples: int) -> str:
    """The figures as Markdown: a table per population and the flags left undecided."""
    form = len(field_specs())
    rows: list[str] = []
    flags: list[str] = []
    for name, pop in POPULATIONS.items():
        counts: list[int] = []
        mismatches = 0
        open_flags = 0
        undecided: Counter[str] = Counter()
        for case in population(name, samples, seed=SEED):
            asked, level, left = drive(case)
            counts.append(asked)
            mismatches += level != recommend(case).level.label
            open_flags += bool(left)
            undecided.update(flag.label for flag in left)
        histogram = Counter(counts)
        mean = sum(counts) / len(counts)
        rows.append(
            f"| {pop.title} | {samples:,} | {mean:.1f} | {percentile(counts, 0.5)} |"
            f" {percentile(counts, 0.95)} | {max(counts)} | {form} |"
            f" {100 * (1 - mean / form):.0f}% | {mismatches} | {open_flags / samples:.0%} |"
            f" {histogram.get(3, 0) / samples:.0%} |"
        )
        flags.append(
            f"- {pop.title}: "
            + "; ".join(f"{label} {n / samples:.0%}" for label, n in undecided.most_common())
        )
    return "\n".join(
        [
            f"Seed {SEED}; full form = the {form} questions of the intake Questionnaire.",
            "",
            "| population | intakes | mean | median | p95 | max | full form | saved"
            " | level differs from full form | flags undecided at stop | settled after the"
            " safety screen alone |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            "Flags still undecided when the level settled (share of intakes; the response's"
            " last display item names them, and `full-record` decides them):",
            "",
            *flags,
        ]
    )


def main() -> None:
    """Regenerate the figures in docs/adaptive-intake.md."""
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else SAMPLES
    text = OUT.read_text(encoding="utf-8")
    head, _, rest = text.partition(MARK)
    _, _, tail = rest.partition(MARK)
    OUT.write_text(f"{head}{MARK}\n{figures(samples)}\n{MARK}{tail}", encoding="utf-8")


if __name__ == "__main__":
    main()
