"""Test helpers: evaluate rules in plain Python, to check the durable-rules engine."""

from __future__ import annotations

from typing import Any

from iop_placement import Assessment, LevelOfCare, PlacementEngine


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
