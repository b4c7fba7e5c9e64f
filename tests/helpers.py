"""Test helpers: rules evaluated in plain Python; writable copies of the bundled rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from iop_placement import DEFAULT_RULES, Assessment, LevelOfCare, PlacementEngine


def expected_fired(engine: PlacementEngine, assessment: Assessment) -> tuple[set[str], LevelOfCare]:
    """The rules whose condition holds, and the level they give, computed without durable-rules."""
    values: dict[str, Any] = assessment.values()
    rules = engine.rule_set.rules
    level_rules = [rule for rule in rules if not rule.reads_decided_level]
    fired = {rule.id for rule in level_rules if rule.when.holds(values)}
    levels = [rule.then.level for rule in level_rules if rule.id in fired and rule.then.level]
    level = max(levels, key=lambda lvl: lvl.rank, default=LevelOfCare.STANDARD_OUTPATIENT)
    context = {**values, "level": level.value}
    fired |= {rule.id for rule in rules if rule.reads_decided_level and rule.when.holds(context)}
    return fired, level


Edit = Callable[[dict[str, Any]], None]


def copy_rules(target: Path, *changes: tuple[str, Edit]) -> Path:
    """A writable copy of the bundled rule set at ``target``, with (file, edit) changes."""
    target.mkdir()
    for entry in DEFAULT_RULES.iterdir():
        if entry.name.endswith(".json"):
            (target / entry.name).write_bytes(entry.read_bytes())
    for name, change in changes:
        data = json.loads((target / name).read_text(encoding="utf-8"))
        change(data)
        (target / name).write_text(json.dumps(data), encoding="utf-8")
    return target
