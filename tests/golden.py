"""Golden outputs: digests of what the bundled rules say on seeded population intakes.

Issue 22 rewrites the decision core (one program, many algebras); the outputs must stay
byte-identical. This module records, per population and per block of ``BLOCK`` intakes,
one SHA-256 over three streams on each intake of ``iop_placement.populations`` (seed
``SEED``):

- ``recommend(a).model_dump_json()``,
- the explanation, as JSON and as the command line's plain text (``to_text()``),
- ``provisional()`` on the same intake with a seeded number of answers left out (0 to all),
  as JSON.

Both rule backends must give the same digests (they answer the same). Record with
``PYTHONPATH=src python tests/golden.py`` (20,000 intakes, about five minutes on one
core); ``tests/test_golden.py`` checks the first blocks of each population on both backends.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final, Literal

from iop_placement import DEFAULT_RULES, PlacementEngine
from iop_placement.populations import POPULATIONS, population

SEED: Final = 22
BLOCK: Final = 500
PER_POPULATION: Final = 10_000  # 20,000 intakes over the two populations
DIGESTS: Final = Path(__file__).parent / "data" / "golden-digests.json"


def partial(answers: dict[str, Any], index: int) -> dict[str, Any]:
    """The intake with a seeded number of its answers (0 to all) left out."""
    chooser = random.Random(SEED * 1_000_003 + index)
    names = sorted(answers)
    left_out = set(chooser.sample(names, chooser.randint(0, len(names))))
    return {name: value for name, value in answers.items() if name not in left_out}


def outputs(engine: PlacementEngine, answers: dict[str, Any], index: int) -> Iterator[str]:
    """The byte streams that must not change, for one intake."""
    yield engine.recommend(answers).model_dump_json()
    explanation = engine.explain(answers)
    yield explanation.model_dump_json()
    yield explanation.to_text()
    yield engine.provisional(partial(answers, index)).model_dump_json()


def digests(backend: Literal["durable", "compiled"], count: int) -> dict[str, list[str]]:
    """Per population, one digest per block of ``BLOCK`` intakes (the first ``count``)."""
    engine = PlacementEngine.from_directory(DEFAULT_RULES, backend=backend)
    result: dict[str, list[str]] = {}
    for name in sorted(POPULATIONS):
        blocks: list[str] = []
        digest = hashlib.sha256()
        for index, answers in enumerate(population(name, count, seed=SEED)):
            for text in outputs(engine, answers, index):
                digest.update(text.encode())
                digest.update(b"\0")
            if (index + 1) % BLOCK == 0:
                blocks.append(digest.hexdigest())
                digest = hashlib.sha256()
        result[name] = blocks
    return result


def recorded() -> dict[str, list[str]]:
    """The committed digests."""
    data: dict[str, list[str]] = json.loads(DIGESTS.read_text())["populations"]
    return data


def main() -> int:
    """Record the digests on both backends; refuse if the backends disagree."""
    by_backend = {backend: digests(backend, PER_POPULATION) for backend in ("durable", "compiled")}
    if by_backend["durable"] != by_backend["compiled"]:
        print("the two backends disagree; nothing recorded", file=sys.stderr)
        return 1
    document = {
        "about": __doc__.splitlines()[0] if __doc__ else "",
        "seed": SEED,
        "block": BLOCK,
        "populations": by_backend["durable"],
    }
    DIGESTS.write_text(json.dumps(document, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
