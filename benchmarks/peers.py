"""The bundled level rules translated for peer rule engines, and the hand-written floor.

Everything here is benchmark-only: the peers are the ``bench`` extra of pyproject.toml,
never runtime dependencies, and each is imported only when its translation is built.

What is translated: the rules that decide the level, read from the rule files
(``ruleset.json`` and each family file) by :func:`load_level_rules`, not copied by hand.

* stage 1, the rating rules (conditions on answers): a dimension's rating is the highest
  any fired rating rule gives it, else 0;
* the derived pseudo-fields, computed from the ratings exactly as the engine does
  (``rating.<dimension>`` and ``dimensions_at_least.<k>``);
* stage 2, the placement rules that set a level (conditions on ratings, counts and
  answers): the level is the most intensive level any fired rule supports, else the
  least intensive level.

Left out of every peer translation: flags, alternatives, reasons and the stage-3
feasibility rules (they read the decided level and can never change it). The output of
every path is the level code only.

Each peer gets the same input, :func:`peer_input`: the validated answers as a plain dict,
an optional field left out read as what its absence means (``None`` where absence is a
value of its own). Whatever a peer needs beyond that (CLIPS symbols, variable classes,
the derived counts between two calls) is its own glue and is inside its timing.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iop_placement._model.assessment import Assessment
from iop_placement._model.fields import field_specs
from iop_placement._model.levels import Dimension, LevelOfCare

__all__ = [
    "PEERS",
    "LevelRules",
    "NotTranslatableError",
    "floor_level",
    "load_level_rules",
    "peer_input",
]

Level = Callable[[Mapping[str, Any]], str]
Condition = Mapping[str, Any]


class NotTranslatableError(ValueError):
    """A condition uses something a peer's translation does not support."""


@dataclass(frozen=True)
class RatingRule:
    id: str
    when: Condition
    dimension: str
    value: int


@dataclass(frozen=True)
class LevelRule:
    id: str
    when: Condition
    level: str


@dataclass(frozen=True)
class LevelRules:
    """The rules that decide the level, as read from a rule directory."""

    ratings: tuple[RatingRule, ...]
    levels: tuple[LevelRule, ...]  # stage 1 rules that set a level, then stage 2's
    dimensions: tuple[str, ...]
    ranked: tuple[str, ...]  # level codes, least intensive first
    max_rating: int = 4

    @property
    def least(self) -> str:
        return self.ranked[0]

    def derived(self, ratings: Mapping[str, int]) -> dict[str, int]:
        """The pseudo-fields of stage 2, with flat names (see :func:`flat`)."""
        out = {flat(f"rating.{d}"): ratings[d] for d in self.dimensions}
        for k in range(1, self.max_rating + 1):
            out[flat(f"dimensions_at_least.{k}")] = sum(ratings[d] >= k for d in self.dimensions)
        return out

    def decide(self, supported: Sequence[str]) -> str:
        """The most intensive of the supported levels, else the least intensive level."""
        return max(supported, key=self.ranked.index, default=self.least)


def flat(name: str) -> str:
    """A pseudo-field's name as one identifier: ``rating.biomedical`` -> ``rating__biomedical``."""
    return name.replace(".", "__")


def _test(node: Condition) -> tuple[str, str, Any]:
    """One test as (variable, operator, operand); the variable name is flat."""
    if "rating" in node:
        var = flat(f"rating.{node['rating']}")
    elif "dimensions_at_least" in node:
        var = flat(f"dimensions_at_least.{node['dimensions_at_least']}")
    else:
        var = flat(node["field"])
    ops = [k for k in node if k not in {"field", "rating", "dimensions_at_least"}]
    if len(ops) != 1:
        raise NotTranslatableError(f"a test needs one operator: {node}")
    return var, ops[0], node[ops[0]]


def _reads(node: Condition) -> set[str]:
    if "all" in node or "any" in node:
        return set().union(*(_reads(p) for p in node.get("all", node.get("any", []))))
    if "not" in node:
        return _reads(node["not"])
    return {_test(node)[0]}


def reads(node: Condition) -> set[str]:
    """The (flat) variables a condition reads."""
    return _reads(node)


def load_level_rules(directory: str | Path) -> LevelRules:
    """The rating and level rules of the rule set in ``directory``, from its JSON files."""
    root = Path(directory)
    manifest = json.loads((root / "ruleset.json").read_text(encoding="utf-8"))
    ratings: list[RatingRule] = []
    stage1_levels: list[LevelRule] = []
    stage2_levels: list[LevelRule] = []
    for family in manifest["families"]:
        data = json.loads((root / f"{family}.json").read_text(encoding="utf-8"))
        for rule in data["rules"]:
            when, then = rule["when"], rule["then"]
            read = reads(when)
            if "level" in read:
                continue  # stage 3: reads the decided level, never sets one
            stage2 = any(v.startswith(("rating__", "dimensions_at_least__")) for v in read)
            if "rating" in then:
                if stage2:
                    raise NotTranslatableError(f"{rule['id']}: a rating rule that reads ratings")
                rating = then["rating"]
                ratings.append(
                    RatingRule(rule["id"], when, rating["dimension"], int(rating["value"]))
                )
            if "level" in then:
                target = stage2_levels if stage2 else stage1_levels
                target.append(LevelRule(rule["id"], when, then["level"]))
    return LevelRules(
        ratings=tuple(ratings),
        levels=(*stage1_levels, *stage2_levels),
        dimensions=tuple(d.value for d in Dimension),
        ranked=tuple(lvl.value for lvl in sorted(LevelOfCare, key=lambda lvl: lvl.rank)),
    )


def peer_input(assessment: Assessment) -> dict[str, Any]:
    """The input every peer and the floor get: answers, absence read as what it means."""
    values = assessment.values()
    return {name: spec.read(values[name]) for name, spec in field_specs().items()}


# --- the hand-written floor --------------------------------------------------------------


def floor_level(v: Mapping[str, Any]) -> str:  # noqa: PLR0915 - one function: the floor
    """The bundled 2.1.0 level rules written by hand: the practical floor for speed.

    Written from docs/rules.md, not generated; the agreement check keeps it honest.
    """
    severity = v["substance_use_severity"]
    residential = v["completed_residential"]
    use = v["use_status"]
    active = use == "active"
    # 1 intoxication and withdrawal
    d1 = 0
    if v["detox_status"] in ("needed", "in_progress"):
        ws = v["withdrawal_severity"]
        if ws in ("severe", None) or v["complicated_withdrawal_history"]:
            d1 = 3
        else:
            d1 = 2 if ws == "moderate" else 1
    # 2 biomedical
    d2 = 4 if v["medically_unstable"] else 0
    # 3 emotional, behavioural, cognitive
    risk = v["suicide_risk"]
    d3 = 4 if risk == "imminent" else 2 if risk == "ideation" else 0
    co = v["co_occurring_mental_health"]
    if co == "significant":
        d3 = max(d3, 2 if residential else 3)
    elif co == "active":
        d3 = max(d3, 2)
    elif co == "stable":
        d3 = max(d3, 1)
    impairment = v["functional_impairment"]
    if impairment == "moderate":
        d3 = max(d3, 2)
    elif impairment == "severe":
        d3 = max(d3, 2 if severity == "mild" else 3)
    # 4 readiness: rated, but no level rule reads it (not even the interaction counts)
    # 5 relapse and continued use
    support = v["support_system"]
    history = v["relapse_history"]
    d5 = 0
    if v["prior_iop_failed"] and history == "frequent":
        d5 = 3
    elif (
        history == "frequent"
        or v["prior_outpatient_failed"]
        or v["prior_iop_failed"]
        or v["opioid_use_with_lost_tolerance"]
        or v["recent_overdose"]
        or (severity == "severe" and active)  # before or after residential treatment
    ):
        d5 = 2
    elif (
        (severity == "moderate" and active)
        or (severity == "severe" and use == "early_remission")
        or history == "occasional"
    ):
        d5 = 1
    # 6 recovery environment
    home = v["home_environment"]
    residence = v["recovery_residence"]
    d6 = 1 if support == "none" else 0
    if home in ("unstable", "toxic", "homeless"):
        if residence == "residing":
            d6 = max(d6, 1)
        elif home == "toxic" and residence == "none" and severity != "mild" and not residential:
            d6 = 3 if active else 2
        else:
            d6 = 2
    if d1 >= 3 or d2 >= 3 or d3 >= 3 or d5 >= 3 or d6 >= 3:
        return "inpatient"
    counted = (d1 >= 2) + (d2 >= 2) + (d3 >= 2) + (d5 >= 2) + (d6 >= 2)
    if counted >= 4 or (counted >= 3 and support == "none"):
        return "inpatient"
    unsafe_home = home in ("toxic", "homeless") and residence == "none"
    if (
        severity == "severe"
        and active
        and not residential
        and (unsafe_home or v["prior_iop_failed"])
    ):
        return "inpatient"
    if d1 >= 2 and (d6 >= 2 or support == "none"):
        return "inpatient"
    if d1 >= 2 or d3 >= 2 or d5 >= 2 or d6 >= 2:
        return "intensive_outpatient"
    return "standard_outpatient"


# --- translations -----------------------------------------------------------------------


def _ratings_of(rules: LevelRules, fired: Sequence[RatingRule]) -> dict[str, int]:
    ratings = dict.fromkeys(rules.dimensions, 0)
    for r in fired:
        ratings[r.dimension] = max(ratings[r.dimension], r.value)
    return ratings


def _zen_literal(value: Any) -> str:  # noqa: ANN401 - a JSON scalar
    return json.dumps(value)


def _zen(node: Condition, ref: Callable[[str], str]) -> str:
    if "all" in node:
        return "(" + " and ".join(_zen(p, ref) for p in node["all"]) + ")"
    if "any" in node:
        return "(" + " or ".join(_zen(p, ref) for p in node["any"]) + ")"
    if "not" in node:
        return f"(not {_zen(node['not'], ref)})"
    var, op, operand = _test(node)
    name = ref(var)
    if op == "is":
        return f"({name} == {_zen_literal(operand)})"
    if op == "in":
        parts = [f"{name} == null" for v in operand if v is None]
        rest = [v for v in operand if v is not None]
        if rest:
            parts.append(f"{name} in {_zen_literal(rest)}")
        return "(" + " or ".join(parts) + ")"
    symbols = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}
    if op in symbols:
        return f"({name} {symbols[op]} {int(operand)})"
    raise NotTranslatableError(f"zen: operator {op}")


def zen_decision_content(rules: LevelRules) -> dict[str, Any]:
    """One JDM graph: input -> one expression node (ratings, counts, level) -> output.

    Later expressions of the node read earlier ones as ``$.name``: stage 1's ratings, the
    derived counts, then the level (stage 2).
    """
    derived_names = set(rules.derived(dict.fromkeys(rules.dimensions, 0)))

    def ref(var: str) -> str:
        return f"$.{var}" if var in derived_names else var

    expressions: list[dict[str, str]] = []
    for d in rules.dimensions:
        terms = [
            f"({_zen(r.when, ref)} ? {r.value} : 0)" for r in rules.ratings if r.dimension == d
        ]
        expressions.append(
            {"key": flat(f"rating.{d}"), "value": f"max([{', '.join([*terms, '0'])}])"}
        )
    for k in range(1, rules.max_rating + 1):
        counted = " + ".join(f"($.{flat(f'rating.{d}')} >= {k} ? 1 : 0)" for d in rules.dimensions)
        expressions.append({"key": flat(f"dimensions_at_least.{k}"), "value": counted})
    level = _zen_literal(rules.least)
    for code in rules.ranked[1:]:  # most intensive last, so it wraps outermost
        conds = [_zen(r.when, ref) for r in rules.levels if r.level == code]
        if conds:
            level = f"(({' or '.join(conds)}) ? {_zen_literal(code)} : {level})"
    expressions.append({"key": "level", "value": level})
    position = {"x": 0, "y": 0}
    return {
        "nodes": [
            {"id": "input", "type": "inputNode", "name": "answers", "position": position},
            {
                "id": "placement",
                "type": "expressionNode",
                "name": "ratings, counts, level",
                "position": position,
                "content": {
                    "expressions": [{"id": f"e{i}", **e} for i, e in enumerate(expressions)]
                },
            },
            {"id": "output", "type": "outputNode", "name": "level", "position": position},
        ],
        "edges": [
            {"id": "a", "sourceId": "input", "targetId": "placement", "type": "edge"},
            {"id": "b", "sourceId": "placement", "targetId": "output", "type": "edge"},
        ],
    }


def zen_engine(rules: LevelRules) -> Level:
    """zen-engine (GoRules), the decision created once and cached, evaluated per input."""
    import zen  # noqa: PLC0415 - benchmark-only peer

    decision = zen.ZenEngine().create_decision(json.dumps(zen_decision_content(rules)))

    def level(v: Mapping[str, Any]) -> str:
        return str(decision.evaluate(dict(v))["result"]["level"])

    return level


# A conjunction of literals: (positive?, test). DNF rows are what a decision table holds.
Literal = tuple[bool, Condition]


def _dnf(node: Condition, positive: bool = True) -> list[list[Literal]]:
    """``node`` as a disjunction of conjunctions of (possibly negated) tests."""
    if "not" in node:
        return _dnf(node["not"], not positive)
    if "all" in node or "any" in node:
        parts = node.get("all", node.get("any", []))
        conjunctive = ("all" in node) == positive  # De Morgan under a negation
        if conjunctive:
            rows: list[list[Literal]] = [[]]
            for part in parts:
                rows = [row + more for row in rows for more in _dnf(part, positive)]
            return rows
        return [row for part in parts for row in _dnf(part, positive)]
    return [[(positive, node)]]


def _cell(literal: Literal) -> str:
    """A decision-table cell for one test: a unary test where zen has one, else on ``$``.

    zen reads a cell that opens with "(" as an interval and mis-parses parentheses around
    "or" inside a conjunction, so a cell never holds more than one test and never opens
    with a parenthesis; a row with two tests on one field uses two columns on that field.
    """
    positive, node = literal
    _, op, operand = _test(node)
    symbols = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}
    if op in symbols:
        return f"{symbols[op]} {int(operand)}" if positive else f"not($ {symbols[op]} {operand})"
    if op == "is":
        values = [operand]
    elif op == "in":
        values = list(operand)
    else:
        raise NotTranslatableError(f"zen: operator {op}")
    rest = [v for v in values if v is not None]
    listed = _zen_literal(rest)
    if positive:
        if None not in values:
            return ", ".join(_zen_literal(v) for v in rest)
        return f"$ == null or $ in {listed}" if rest else "$ == null"
    if None not in values:
        return f"not($ in {listed})"
    return f"$ != null and not($ in {listed})" if rest else "$ != null"


def _table(
    hit_policy: str,
    rows: Sequence[tuple[Sequence[Literal], Mapping[str, str]]],
    outputs: Sequence[str],
    **extra: Any,  # noqa: ANN401 - JDM node settings
) -> dict[str, Any]:
    """A JDM decision table: a column per variable the rows test (more if a row tests twice)."""
    columns: list[tuple[str, int]] = []  # (variable, how many tests on it came before)
    for literals, _ in rows:
        seen: dict[str, int] = {}
        for _, node in literals:
            var = _test(node)[0]
            slot = seen.get(var, 0)
            seen[var] = slot + 1
            if (var, slot) not in columns:
                columns.append((var, slot))
    table_rows = []
    for index, (literals, out) in enumerate(rows):
        row: dict[str, str] = {"_id": f"r{index}"}
        cells: dict[tuple[str, int], str] = {}
        for literal in literals:
            var = _test(literal[1])[0]
            slot = sum(1 for column in cells if column[0] == var)
            cells[(var, slot)] = _cell(literal)
        for number, column in enumerate(columns):
            row[f"i{number}"] = cells.get(column, "")
        for number, name in enumerate(outputs):
            row[f"o{number}"] = out[name]
        table_rows.append(row)
    return {
        "hitPolicy": hit_policy,
        "inputs": [
            {"id": f"i{n}", "name": var, "field": var} for n, (var, _) in enumerate(columns)
        ],
        "outputs": [{"id": f"o{n}", "name": name, "field": name} for n, name in enumerate(outputs)],
        "rules": table_rows,
        **extra,
    }


def zen_decision_tables(rules: LevelRules) -> dict[str, Any]:
    """The JDM graph GoRules recommends: decision tables for the rules, an expression between.

    input -> "ratings" (collect: one row per conjunction of a rating rule, plus a 0 row per
    dimension) -> "ratings and counts" (expression node: the highest rating per dimension,
    the counts) -> "level" (first hit: rows most intensive level first, a last row with the
    least intensive level) -> output. Conditions are expanded to disjunctive normal form,
    one table row per conjunction; a cell is a unary test (``"severe", "moderate"``,
    ``>= 2``) where one positive test is on its column, else an expression on ``$``.
    """
    rating_rows: list[tuple[Sequence[Literal], Mapping[str, str]]] = []
    for r in rules.ratings:
        out = {"dimension": _zen_literal(r.dimension), "value": str(r.value)}
        rating_rows += [(row, out) for row in _dnf(r.when)]
    rating_rows += [([], {"dimension": _zen_literal(d), "value": "0"}) for d in rules.dimensions]
    expressions = [
        {
            "key": flat(f"rating.{d}"),
            "value": f"max(map(filter(rated, #.dimension == {_zen_literal(d)}), #.value))",
        }
        for d in rules.dimensions
    ]
    for k in range(1, rules.max_rating + 1):
        counted = " + ".join(f"($.{flat(f'rating.{d}')} >= {k} ? 1 : 0)" for d in rules.dimensions)
        expressions.append({"key": flat(f"dimensions_at_least.{k}"), "value": counted})
    level_rows: list[tuple[Sequence[Literal], Mapping[str, str]]] = []
    for code in reversed(rules.ranked[1:]):  # most intensive first: the first hit wins
        for lr in rules.levels:
            if lr.level == code:
                level_rows += [(row, {"level": _zen_literal(code)}) for row in _dnf(lr.when)]
    level_rows.append(([], {"level": _zen_literal(rules.least)}))
    position = {"x": 0, "y": 0}
    nodes = [
        {"id": "input", "type": "inputNode", "name": "answers", "position": position},
        {
            "id": "ratings",
            "type": "decisionTableNode",
            "name": "ratings",
            "position": position,
            "content": _table(
                "collect",
                rating_rows,
                ["dimension", "value"],
                passThrough=True,
                outputPath="rated",
            ),
        },
        {
            "id": "derived",
            "type": "expressionNode",
            "name": "ratings and counts",
            "position": position,
            "content": {
                "passThrough": True,
                "expressions": [{"id": f"e{i}", **e} for i, e in enumerate(expressions)],
            },
        },
        {
            "id": "level",
            "type": "decisionTableNode",
            "name": "level",
            "position": position,
            "content": _table("first", level_rows, ["level"]),
        },
        {"id": "output", "type": "outputNode", "name": "level", "position": position},
    ]
    order = ["input", "ratings", "derived", "level", "output"]
    edges = [
        {"id": f"e{i}", "sourceId": a, "targetId": b, "type": "edge"}
        for i, (a, b) in enumerate(itertools.pairwise(order))
    ]
    return {"nodes": nodes, "edges": edges}


def zen_engine_tables(rules: LevelRules) -> Level:
    """zen-engine with decision tables (its idiomatic form), created once and cached."""
    import zen  # noqa: PLC0415 - benchmark-only peer

    decision = zen.ZenEngine().create_decision(json.dumps(zen_decision_tables(rules)))

    def level(v: Mapping[str, Any]) -> str:
        return str(decision.evaluate(dict(v))["result"]["level"])

    return level


def _jl(node: Condition) -> Any:  # noqa: ANN401 - a JsonLogic expression
    if "all" in node:
        return {"and": [_jl(p) for p in node["all"]]}
    if "any" in node:
        return {"or": [_jl(p) for p in node["any"]]}
    if "not" in node:
        return {"!": [_jl(node["not"])]}
    var, op, operand = _test(node)
    ref = {"var": var}
    if op == "is":
        return {"===": [ref, operand]}
    if op == "in":
        parts: list[Any] = [{"===": [ref, None]} for v in operand if v is None]
        rest = [v for v in operand if v is not None]
        if rest:
            parts.append({"in": [ref, rest]})
        return parts[0] if len(parts) == 1 else {"or": parts}
    symbols = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}
    if op in symbols:
        return {symbols[op]: [ref, int(operand)]}
    raise NotTranslatableError(f"json-logic: operator {op}")


def json_logic_programs(rules: LevelRules) -> tuple[Any, Any]:
    """Stage 1 (one max-of-ifs per dimension, as one array) and stage 2 (the level)."""
    stage1 = [
        {
            "max": [
                *({"if": [_jl(r.when), r.value, 0]} for r in rules.ratings if r.dimension == d),
                0,
            ]
        }
        for d in rules.dimensions
    ]
    stage2: Any = rules.least
    for code in rules.ranked[1:]:
        conds = [_jl(r.when) for r in rules.levels if r.level == code]
        if conds:
            stage2 = {"if": [{"or": conds}, code, stage2]}
    return stage1, stage2


def panzi_json_logic(rules: LevelRules) -> Level:
    """panzi-json-logic: two calls, the counts derived between them."""
    from json_logic import jsonLogic  # noqa: PLC0415 - benchmark-only peer

    stage1, stage2 = json_logic_programs(rules)
    dims = rules.dimensions

    def level(v: Mapping[str, Any]) -> str:
        data = dict(v)
        ratings = dict(zip(dims, jsonLogic(stage1, data), strict=True))
        data.update(rules.derived(ratings))
        return str(jsonLogic(stage2, data))

    return level


def _br(node: Condition, kinds: Mapping[str, str]) -> dict[str, Any]:
    if "all" in node:
        return {"all": [_br(p, kinds) for p in node["all"]]}
    if "any" in node:
        return {"any": [_br(p, kinds) for p in node["any"]]}
    if "not" in node:
        raise NotTranslatableError("business-rules has no 'not'")
    var, op, operand = _test(node)
    kind = kinds[var]

    def equal(value: Any) -> dict[str, Any]:  # noqa: ANN401 - a JSON scalar
        if kind == "boolean":
            return {"name": var, "operator": "is_true" if value else "is_false", "value": None}
        # business-rules reads a missing string as "" (no value of ours is empty)
        return {"name": var, "operator": "equal_to", "value": "" if value is None else value}

    if op == "is":
        return equal(operand)
    if op == "in":
        return {"any": [equal(value) for value in operand]}
    names = {
        "lt": "less_than",
        "le": "less_than_or_equal_to",
        "gt": "greater_than",
        "ge": "greater_than_or_equal_to",
    }
    if op in names:
        return {"name": var, "operator": names[op], "value": int(operand)}
    raise NotTranslatableError(f"business-rules: operator {op}")


def business_rules(rules: LevelRules) -> Level:
    """business-rules (Venmo): run_all over stage 1 (action: rate), then stage 2 (support)."""
    from business_rules import run_all  # noqa: PLC0415 - benchmark-only peer
    from business_rules.actions import BaseActions, rule_action  # noqa: PLC0415
    from business_rules.fields import FIELD_NUMERIC, FIELD_TEXT  # noqa: PLC0415
    from business_rules.variables import (  # noqa: PLC0415
        BaseVariables,
        boolean_rule_variable,
        numeric_rule_variable,
        string_rule_variable,
    )

    kinds: dict[str, str] = {}
    for name, spec in field_specs().items():
        kinds[name] = {"boolean": "boolean", "integer": "numeric"}.get(spec.kind, "string")
    for name in rules.derived(dict.fromkeys(rules.dimensions, 0)):
        kinds[name] = "numeric"
    decorators = {
        "boolean": boolean_rule_variable,
        "numeric": numeric_rule_variable,
        "string": string_rule_variable,
    }

    def getter(name: str) -> Callable[[Any], Any]:
        def get(self: Any) -> Any:  # noqa: ANN401
            return self.data[name]

        get.__name__ = name
        return get

    namespace: dict[str, Any] = {
        "__init__": lambda self, data: setattr(self, "data", data),
    }
    for name, kind in kinds.items():
        if kind != "choices":
            namespace[name] = decorators[kind](label=name)(getter(name))
    variables = type("AssessmentVariables", (BaseVariables,), namespace)

    class Outcome(BaseActions):  # type: ignore[misc]
        def __init__(self) -> None:
            self.ratings = dict.fromkeys(rules.dimensions, 0)
            self.supported: list[str] = []

        @rule_action(params={"dimension": FIELD_TEXT, "value": FIELD_NUMERIC})  # type: ignore[untyped-decorator]
        def rate(self, dimension: str, value: int) -> None:
            self.ratings[dimension] = max(self.ratings[dimension], value)

        @rule_action(params={"level": FIELD_TEXT})  # type: ignore[untyped-decorator]
        def support(self, level: str) -> None:
            self.supported.append(level)

    stage1 = [
        {
            "conditions": _br(r.when, kinds),
            "actions": [{"name": "rate", "params": {"dimension": r.dimension, "value": r.value}}],
        }
        for r in rules.ratings
    ]
    stage2 = [
        {
            "conditions": _br(r.when, kinds),
            "actions": [{"name": "support", "params": {"level": r.level}}],
        }
        for r in rules.levels
    ]

    def level(v: Mapping[str, Any]) -> str:
        outcome = Outcome()
        run_all(stage1, variables(v), outcome, stop_on_first_trigger=False)
        data = {**v, **rules.derived(outcome.ratings)}
        run_all(stage2, variables(data), outcome, stop_on_first_trigger=False)
        return rules.decide(outcome.supported)

    return level


def _re(node: Condition) -> str:
    if "all" in node:
        return "(" + " and ".join(_re(p) for p in node["all"]) + ")"
    if "any" in node:
        return "(" + " or ".join(_re(p) for p in node["any"]) + ")"
    if "not" in node:
        return f"(not {_re(node['not'])})"
    var, op, operand = _test(node)
    if op == "is":
        return f"({var} == {json.dumps(operand)})"
    if op == "in":
        parts = [f"{var} == null" for v in operand if v is None]
        rest = [v for v in operand if v is not None]
        if rest:
            parts.append(f"{var} in {json.dumps(rest)}")
        return "(" + " or ".join(parts) + ")"
    symbols = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}
    if op in symbols:
        return f"({var} {symbols[op]} {int(operand)})"
    raise NotTranslatableError(f"rule-engine: operator {op}")


def rule_engine(rules: LevelRules) -> Level:
    """rule-engine (zeroSteiner): one compiled Rule per rule, ``matches()`` on each."""
    import rule_engine as re_  # noqa: PLC0415 - benchmark-only peer

    stage1 = [(re_.Rule(_re(r.when)), r) for r in rules.ratings]
    stage2 = [(re_.Rule(_re(r.when)), r.level) for r in rules.levels]

    def level(v: Mapping[str, Any]) -> str:
        fired = [r for compiled, r in stage1 if compiled.matches(v)]
        data = {**v, **rules.derived(_ratings_of(rules, fired))}
        return rules.decide([lvl for compiled, lvl in stage2 if compiled.matches(data)])

    return level


def _clips_value(value: Any) -> str:  # noqa: ANN401 - a JSON scalar
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return str(value)


def _clips(node: Condition) -> str:
    if "all" in node:
        return "(and " + " ".join(_clips(p) for p in node["all"]) + ")"
    if "any" in node:
        return "(or " + " ".join(_clips(p) for p in node["any"]) + ")"
    if "not" in node:
        return f"(not {_clips(node['not'])})"
    var, op, operand = _test(node)
    if op == "is":
        return f"(eq ?{var} {_clips_value(operand)})"
    if op == "in":
        return "(or " + " ".join(f"(eq ?{var} {_clips_value(v)})" for v in operand) + ")"
    symbols = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}
    if op in symbols:
        return f"({symbols[op]} ?{var} {int(operand)})"
    raise NotTranslatableError(f"clips: operator {op}")


def clips_constructs(rules: LevelRules) -> list[str]:
    """deftemplates and defrules; stage 1 calls (py-rate D V), stage 2 (py-support LEVEL)."""
    answers = [n for n, s in field_specs().items() if s.kind != "choices"]
    derived = list(rules.derived(dict.fromkeys(rules.dimensions, 0)))
    out = [
        f"(deftemplate answers {' '.join(f'(slot {n})' for n in answers)})",
        f"(deftemplate derived {' '.join(f'(slot {n})' for n in derived)})",
    ]

    def patterns(node: Condition) -> str:
        used = reads(node)
        parts = []
        a = [n for n in answers if n in used]
        d = [n for n in derived if n in used]
        if a:
            parts.append("(answers " + " ".join(f"({n} ?{n})" for n in a) + ")")
        if d:
            parts.append("(derived " + " ".join(f"({n} ?{n})" for n in d) + ")")
        return " ".join(parts)

    for i, r in enumerate(rules.ratings):
        out.append(
            f"(defrule rating{i} {patterns(r.when)} (test {_clips(r.when)})"
            f" => (py-rate {r.dimension} {r.value}))"
        )
    for i, lr in enumerate(rules.levels):
        out.append(
            f"(defrule level{i} {patterns(lr.when)} (test {_clips(lr.when)})"
            f" => (py-support {lr.level}))"
        )
    return out


def clipspy(rules: LevelRules) -> Level:
    """CLIPS through clipspy: reset, assert the answers, run; assert the counts, run.

    The right-hand sides call back into Python (``define_function``) rather than assert
    result facts: reading results through ``env.facts()`` made every evaluation slower
    than the one before (about 0.5 ms at first, 1.3 ms after 3,000; Fact objects pile up).
    """
    import clips  # noqa: PLC0415 - benchmark-only peer

    state: dict[str, Any] = {}

    def py_rate(dimension: Any, value: int) -> None:  # noqa: ANN401 - a CLIPS symbol
        ratings = state["ratings"]
        ratings[dimension] = max(ratings[dimension], int(value))

    def py_support(level: Any) -> None:  # noqa: ANN401 - a CLIPS symbol
        state["supported"].append(str(level))

    def environment() -> tuple[Any, Any, Any]:
        env = clips.Environment()
        env.define_function(py_rate, name="py-rate")
        env.define_function(py_support, name="py-support")
        for construct in clips_constructs(rules):
            env.build(construct)
        return env, env.find_template("answers"), env.find_template("derived")

    slots = [n for n, s in field_specs().items() if s.kind != "choices"]
    symbol = clips.Symbol
    symbols = {None: symbol("nil"), True: symbol("TRUE"), False: symbol("FALSE")}

    def as_clips(value: Any) -> Any:  # noqa: ANN401
        if isinstance(value, str):
            return symbol(value)
        if value is None or isinstance(value, bool):
            return symbols[value]
        return value

    built = [*environment(), 0]

    def level(v: Mapping[str, Any]) -> str:
        # clipspy 1.0.6 slows down call after call in one environment (0.44 ms per
        # evaluation at first, 1.2 ms after 8,000, measured): a fresh one every
        # _CLIPS_RENEW evaluations keeps each figure what a CLIPS evaluation costs; the
        # rebuild falls into one sample in _CLIPS_RENEW and so leaves the p50 alone.
        if built[3] >= _CLIPS_RENEW:
            built[:] = [*environment(), 0]
        env, answers_t, derived_t, _ = built
        built[3] += 1
        env.reset()
        ratings = state["ratings"] = dict.fromkeys(rules.dimensions, 0)
        supported: list[str] = []
        state["supported"] = supported
        answers_t.assert_fact(**{n: as_clips(v[n]) for n in slots})
        env.run()
        derived_t.assert_fact(**rules.derived(ratings))
        env.run()
        return rules.decide(supported)

    return level


_CLIPS_RENEW = 500


# name -> (pip distribution, builder); a builder raises ImportError when its peer is missing
PEERS: dict[str, tuple[str, Callable[[LevelRules], Level]]] = {
    "zen-engine (GoRules), decision tables": ("zen-engine", zen_engine_tables),
    "zen-engine (GoRules), one expression node": ("zen-engine", zen_engine),
    "panzi-json-logic": ("panzi-json-logic", panzi_json_logic),
    "business-rules": ("business-rules", business_rules),
    "rule-engine": ("rule-engine", rule_engine),
    "CLIPS (clipspy)": ("clipspy", clipspy),
}
