"""provisional() on decision diagrams: the same results as the case-split search.

The case-split search (``ProvisionalSearch``) is exact and stays as the fallback; the
diagrams must give identical ``Provisional`` objects, on the bundled rules and on a
changed copy, and the engine must fall back when the diagrams exceed their bound.
"""

from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any

import pytest

from helpers import copy_rules
from iop_placement import DEFAULT_RULES, PlacementEngine, Provisional
from iop_placement._analysis import provisional_diagrams as diagrams
from iop_placement._analysis.provisional import ProvisionalSearch, build_provisional
from iop_placement._analysis.provisional_diagrams import DiagramSearch
from iop_placement._model.fields import field_specs
from iop_placement._model.validation import parse_partial
from iop_placement.populations import POPULATIONS, population

# The case-split search takes up to seconds with many answers open: compare it on
# intakes that leave at most this many out (the diagrams' cost does not depend on it).
MOST_LEFT_OUT = 5


def partial_intakes(seed: int, per_population: int) -> list[dict[str, Any]]:
    """Population intakes with 0..MOST_LEFT_OUT answers left out, chosen at random."""
    rng = random.Random(seed)
    names = list(field_specs())
    out = []
    for name in POPULATIONS:
        for values in population(name, per_population, seed=seed):
            for k in range(MOST_LEFT_OUT + 1):
                left_out = set(rng.sample(names, k))
                out.append({n: v for n, v in values.items() if n not in left_out})
    return out


def both(engine: PlacementEngine, answers: dict[str, Any]) -> tuple[Provisional, Provisional]:
    """The provisional by the diagrams and by the case-split search."""
    given = parse_partial(answers)
    search = ProvisionalSearch(engine._rule_set)
    cases = build_provisional(search, given, engine._info, None)
    by_diagrams = build_provisional(
        DiagramSearch(engine._rule_set, search.cuts), given, engine._info, None
    )
    return by_diagrams, cases


@pytest.fixture(scope="module")
def engine() -> PlacementEngine:
    return PlacementEngine.from_directory(DEFAULT_RULES)


def test_the_diagrams_equal_the_case_split_search(engine: PlacementEngine) -> None:
    search = ProvisionalSearch(engine._rule_set)
    fast = DiagramSearch(engine._rule_set, search.cuts)
    for answers in [*partial_intakes(seed=7, per_population=2), {"suicide_risk": "none"}]:
        given = parse_partial(answers)
        expected = build_provisional(search, given, engine._info, None)
        assert build_provisional(fast, given, engine._info, None) == expected, answers


def test_the_diagrams_follow_a_changed_rule_set(tmp_path: Path) -> None:
    # A planted change the bundled rules do not have: housing also supports IOP, so the
    # safety override hides the flag; both searches must see the same thing.
    def housing_with_iop(data: dict[str, Any]) -> None:
        for rule in data["rules"]:
            if "housing_needed" in rule["then"].get("flags", ()):
                rule["then"]["level"] = "intensive_outpatient"

    changed = PlacementEngine.from_directory(
        copy_rules(tmp_path / "r", ("environment.json", housing_with_iop))
    )
    for answers in partial_intakes(seed=11, per_population=1):
        by_diagrams, cases = both(changed, answers)
        assert by_diagrams == cases, answers


def test_the_engine_falls_back_when_the_diagrams_are_too_large(
    engine: PlacementEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = next(iter(partial_intakes(seed=3, per_population=1)))
    expected = engine.provisional(answers)
    monkeypatch.setattr(diagrams, "MAX_DIAGRAM_NODES", 0)
    small = PlacementEngine.from_directory(DEFAULT_RULES)
    assert small.provisional(answers) == expected
    assert isinstance(small._search, ProvisionalSearch)
    assert isinstance(engine._search, DiagramSearch)


def test_the_diagrams_are_built_once_per_engine_under_concurrent_first_use() -> None:
    fresh = PlacementEngine.from_directory(DEFAULT_RULES)
    answers = partial_intakes(seed=5, per_population=1)[:8]
    searches: list[object] = []
    results: dict[int, list[Provisional]] = {}

    def work(index: int) -> None:
        results[index] = [fresh.provisional(a) for a in answers]
        searches.append(fresh._search)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(search) for search in searches}) == 1
    assert all(result == results[0] for result in results.values())
