"""The benchmark of record keeps working: its translations agree with the engine, it runs.

The peers are benchmark-only (the ``bench`` extra), not in the test extra: a test of a
peer skips when the peer is not installed. The hand-written floor's test always runs.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import peers  # noqa: E402 - benchmarks/ is a folder of scripts, put on the path above
from _data import seeded_assessments  # noqa: E402

from helpers import needs_durable  # noqa: E402
from iop_placement import DEFAULT_RULES, Assessment, PlacementEngine  # noqa: E402

COUNT = 200


@pytest.fixture(scope="module")
def cases() -> list[tuple[dict[str, Any], str]]:
    """200 seeded assessments (optional fields sometimes left out) as peers see them."""
    engine = PlacementEngine.from_directory(DEFAULT_RULES, backend="compiled")
    data = seeded_assessments(COUNT, seed=15)
    return [
        (peers.peer_input(Assessment.model_validate(d)), engine.recommend(d).level.value)
        for d in data
    ]


@pytest.fixture(scope="module")
def level_rules() -> peers.LevelRules:
    return peers.load_level_rules(str(DEFAULT_RULES))


def _disagreements(
    level: Callable[[Mapping[str, Any]], str], cases: list[tuple[dict[str, Any], str]]
) -> list[tuple[str, str]]:
    return [(level(given), want) for given, want in cases if level(given) != want]


def test_the_translator_reads_every_rating_and_level_rule(level_rules: peers.LevelRules) -> None:
    engine = PlacementEngine.from_directory(DEFAULT_RULES, backend="compiled")
    rules = engine.rule_set.rules
    rating_ids = [r.id for r in rules if r.then.rating is not None]
    level_ids = [r.id for r in rules if r.then.level is not None]
    assert [r.id for r in level_rules.ratings] == rating_ids
    assert sorted(r.id for r in level_rules.levels) == sorted(level_ids)


def test_the_hand_written_floor_agrees_with_the_engine(
    cases: list[tuple[dict[str, Any], str]],
) -> None:
    assert _disagreements(peers.floor_level, cases) == []
    assert {want for _, want in cases} >= {"inpatient", "intensive_outpatient"}


@pytest.mark.parametrize("name", list(peers.PEERS))
def test_each_installed_peer_agrees_with_the_engine(
    name: str, cases: list[tuple[dict[str, Any], str]], level_rules: peers.LevelRules
) -> None:
    distribution, build = peers.PEERS[name]
    module = {
        "zen-engine": "zen",
        "panzi-json-logic": "json_logic",
        "business-rules": "business_rules",
        "rule-engine": "rule_engine",
        "clipspy": "clips",
    }[distribution]
    pytest.importorskip(module, reason=f"{distribution} is in the bench extra only")
    assert _disagreements(build(level_rules), cases) == []


def test_a_rule_set_with_a_changed_threshold_changes_the_translations(tmp_path: Path) -> None:
    """The translations follow the rule files, they are not copied from them."""
    shutil.copytree(Path(str(DEFAULT_RULES)), tmp_path / "rules")
    placement = tmp_path / "rules" / "placement.json"
    family = json.loads(placement.read_text(encoding="utf-8"))
    rule = next(r for r in family["rules"] if r["id"] == "placement.many_risks_interact")
    rule["when"] = {"dimensions_at_least": 2, "ge": 6}
    placement.write_text(json.dumps(family), encoding="utf-8")
    bundled = peers.load_level_rules(str(DEFAULT_RULES))
    edited = peers.load_level_rules(tmp_path / "rules")
    assert bundled != edited
    interact = next(r for r in edited.levels if r.id == "placement.many_risks_interact")
    assert interact.when == {"dimensions_at_least": 2, "ge": 6}


@needs_durable  # the benchmark of record sets both backends side by side
def test_the_quick_benchmark_runs_end_to_end() -> None:
    """``python benchmarks/run.py --quick`` without writing the doc: every section renders."""
    import run

    text = run.main(["--quick", "--no-write"])
    assert "### Targets" in text
    assert "hand-written Python function (the floor)" in text
    for heading in ("Rules only", "End to end", "explain()", "Batch", "Service", "Profiles"):
        assert heading in text
    assert "| assess --jsonl --compact, 2 workers |" in text
    # The CDS Hooks call: serve's own server path, and its parts timed inside the server.
    assert "serve's middleware, protocol and body reading |" in text
    assert "| `answer_hook` (worker thread) |" in text
