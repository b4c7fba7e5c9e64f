"""The contract's invariants checked on the decision diagrams of the shipped policy.

``iop_placement._algebras.diagrams.Outcomes`` holds, over every assessment of the space (absence
included), what the engine shows: the level, each dimension's rating, the flags the
safety override keeps and the alternative offered. ``tests/test_comparison.py`` checks
those diagrams against the engine on drawn assessments. Each invariant is a diagram of
the assessments on which it fails; an empty diagram is a proof over the whole space, a
non-empty one gives the least risky counterexample (``Space.example``).

* monotone: each field's two answers one risk step apart are substituted into the
  level's and the ratings' "at least k" diagrams (cofactors); the level or a rating is
  lowered where some "at least k" holds at the lower-risk answer and not at the other;
* feasibility: a level or rating diagram depends on a feasibility field where quantifying
  that field's variables away, existentially, leaves both it and its negation;
* flags, safety, alternative and lint: conjunctions and disjunctions of the diagrams.

The findings and their messages are those of the symbolic method (``_symbolic.py``),
which proves the same invariants over the rule files as the independent reference reads
them: the two encodings share only the override's filter (``_decision/override.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from iop_placement._algebras.diagrams import Function, Outcomes, Space
from iop_placement._model.levels import Dimension, Flag, LevelOfCare
from iop_placement._rules.ruleset import Rule, RuleSet
from iop_placement.verification._findings import (
    Finding,
    level_lowered,
    rating_lowered,
    words,
)

__all__ = ["DiagramChecks"]

_RATINGS: Final = range(5)  # RiskRating 0-4


def _with(
    order: Iterable[str],
    answers: Mapping[str, Any],
    name: str,
    value: Any,  # noqa: ANN401
) -> dict[str, Any]:
    """``answers`` with ``name`` answered ``value`` (None: left out), fields in ``order``."""
    changed = {**answers, name: value}
    return {key: changed[key] for key in order if changed.get(key) is not None}


class DiagramChecks:
    """One rule set's diagrams, and a search for a counterexample to each invariant."""

    def __init__(
        self,
        space: Space,
        rule_set: RuleSet,
        contract_flags: Mapping[str, Mapping[str, Any]],
        safety: Sequence[Mapping[str, Any]],
    ) -> None:
        self.space = space
        self.rules = rule_set.rules
        self.out = Outcomes(space, rule_set)
        self.contract_flags = contract_flags
        self.safety = safety
        self.false = space.bdd.false
        self._shown: dict[str, Function] = {}

    # -- reading ---------------------------------------------------------------------------

    def nodes(self) -> int:
        """The size of the diagrams of the level, ratings, flags and alternative."""
        out = self.out
        parts = [out.level_is(level) for level in LevelOfCare]
        parts += [out.rating_is(d, r) for d in Dimension for r in _RATINGS]
        parts += list(out.flags.values())
        parts += [out.alternative_is(level) for level in (None, *LevelOfCare)]
        return sum(part.dag_size for part in parts)

    def _holds(self, condition: Mapping[str, Any]) -> Function:
        """A contract condition on the answers (absence read as what it means; None: absent)."""
        if "all" in condition:
            return self.space.all_of(self._holds(part) for part in condition["all"])
        if "any" in condition:
            return self.space.any_of(self._holds(part) for part in condition["any"])
        if "not" in condition:
            return ~self._holds(condition["not"])
        name = condition["field"]
        wanted = condition["in"] if "in" in condition else [condition["is"]]
        return self.space.any_of(
            self.space.answer_is(name, None) if value is None else self.space.reads_as(name, value)
            for value in wanted
        )

    def _true_at(self, where: Function, answers: Mapping[str, Any]) -> bool:
        return (where & self.space.point(answers)) != self.false

    def _level_at(self, answers: Mapping[str, Any]) -> LevelOfCare:
        return next(lv for lv in LevelOfCare if self._true_at(self.out.level_is(lv), answers))

    def _rating_at(self, dimension: Dimension, answers: Mapping[str, Any]) -> int:
        return next(r for r in _RATINGS if self._true_at(self.out.rating_is(dimension, r), answers))

    def _deciding(self, answers: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
        level = self._level_at(answers)
        fired = set(self.out.fired_at(answers))
        ids = tuple(r.id for r in self.rules if r.then.level is level and r.id in fired)
        return level.value, ids

    def _report(self, kind: str, message: str, where: Function) -> list[Finding]:
        example = self._least_risky(where)
        if example is None:
            return []
        return [Finding(kind, message, self.out.fired_at(example), example)]

    @functools.cached_property
    def _bounds(self) -> list[Function]:
        return self.space.risk_bounds()  # built on the first counterexample only

    def _least_risky(self, where: Function) -> dict[str, Any] | None:
        """The counterexample in ``where`` with the fewest risk steps, as Z3's optimiser."""
        if (where & self.space.domain) == self.false:
            return None  # a proof: no bounds needed
        return self.space.least_risky(where, self._bounds)

    def shown(self, rule: Rule) -> Function:
        """The rule fired and the safety override keeps it."""
        if rule.id not in self._shown:
            self._shown[rule.id] = self.out.shown(rule)
        return self._shown[rule.id]

    # -- the invariants --------------------------------------------------------------------

    def edge(self, name: str, low: Any, high: Any) -> list[Finding]:  # noqa: ANN401 - codes
        """Worsening ``name`` from ``low`` to ``high`` lowers neither the level nor a rating."""
        space, out = self.space, self.out
        let = space.bdd.let
        at_low, at_high = space.fixing({name: low}), space.fixing({name: high})
        ladders: list[tuple[str, Sequence[Function], Dimension | None]] = [
            ("level", out.level_at_least[1:], None)
        ]
        ladders += [(f"rating of {d.value}", out.rating_at_least[d][1:], d) for d in Dimension]
        findings = []
        for what, ladder, dimension in ladders:
            lowered = space.any_of(let(at_low, k) & ~let(at_high, k) for k in ladder)
            rest = self._least_risky(lowered)
            if rest is None:
                continue
            order = space.fields
            point, worse = _with(order, rest, name, low), _with(order, rest, name, high)
            step = (name, low, high)
            if dimension is None:
                before = self._deciding(point)
                findings.append(level_lowered(step, before, self._deciding(worse), (point, worse)))
            else:
                ratings = self._rating_at(dimension, point), self._rating_at(dimension, worse)
                fired = (*out.fired_at(point), *out.fired_at(worse))
                findings.append(rating_lowered(step, what, ratings, fired, (point, worse)))
        return findings

    def total(self) -> list[Finding]:
        """Every assessment gets exactly one level."""
        decided = self.space.any_of(self.out.level_is(level) for level in LevelOfCare)
        return self._report("total", "some points have no valid level", ~decided)

    def flags(self) -> list[Finding]:
        """Each contract flag is shown exactly when its answers hold."""
        findings = []
        for flag, condition in self.contract_flags.items():
            should, raised = self._holds(condition), self.out.flags[Flag.of(flag)]
            findings += self._report(
                "flag-definition", f"{flag} is not raised when {words(condition)}", should & ~raised
            )
            findings += self._report(
                "flag-definition",
                f"{flag} is raised although not {words(condition)}",
                raised & ~should,
            )
        return findings

    def safety_checks(self) -> list[Finding]:
        """Each safety case means inpatient and no alternative; an alternative is lower."""
        out, findings = self.out, []
        offered = out.alternative_at_least[0]
        for case in self.safety:
            flagged = out.flags[Flag.of(case["flag"])]
            if "also" in case:
                flagged &= self._holds(case["also"])
            unsafe = self._holds(case["answers"]) | flagged
            below = unsafe & ~out.level_is(LevelOfCare.INPATIENT)
            findings += self._report("safety", f"{case['name']} below inpatient", below)
            findings += self._report(
                "alternative", f"an alternative is offered with {case['name']}", unsafe & offered
            )
        above = [*out.level_at_least, self.false]  # above[r + 1]: the level is above rank r
        not_lower = self.space.any_of(
            out.alternative_is(level) & ~above[level.rank + 1] for level in LevelOfCare
        )
        message = "an alternative is not less intensive than the level"
        return findings + self._report("alternative", message, not_lower)

    def feasibility(self) -> list[Finding]:
        """No feasibility field changes the level or a rating."""
        space, out = self.space, self.out
        findings = []
        for name, spec in space.specs.items():
            if not spec.feasibility:
                continue
            variables = set(space.fields[name].names)
            partitions = [("level", [out.level_is(level) for level in LevelOfCare])]
            partitions += [
                (f"rating of {d.value}", [out.rating_is(d, r) for r in _RATINGS]) for d in Dimension
            ]
            for what, parts in partitions:
                found = self._depends(name, variables, parts)
                if found is not None:
                    point, other = found
                    ids = tuple(dict.fromkeys((*out.fired_at(point), *out.fired_at(other))))
                    message = f"{name} changes the {what}"
                    findings.append(Finding("feasibility", message, ids, point, other))
        return findings

    def _depends(
        self, name: str, variables: set[str], parts: Iterable[Function]
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """Two assessments differing only in ``name`` on different parts, if any."""
        space, domain = self.space, self.space.domain
        for part in parts:
            inside = space.bdd.exist(variables, part & domain)
            outside = space.bdd.exist(variables, ~part & domain)
            mixed = inside & outside
            if mixed == self.false:
                continue
            point = self._least_risky(mixed & part)
            assert point is not None  # mixed holds somewhere, and part with it
            others = space.holding({n: point.get(n) for n in space.fields if n != name})
            other = self._least_risky(others & ~part)
            assert other is not None  # the same answers, another value of name
            return point, other
        return None

    def lint_rule(self, rule: Rule) -> list[Finding]:
        """Never fires, always fires, or never makes a difference (shadowed)."""
        out, domain = self.out, self.space.domain
        fires = out.holds[rule.id] & domain
        if fires == self.false:
            return [Finding("never-fires", "the rule never fires", (rule.id,))]
        findings = []
        if (~out.holds[rule.id] & domain) == self.false:
            message = "the rule fires on every assessment"
            findings.append(Finding("always-fires", message, (rule.id,)))
        then, useful = rule.then, []
        if then.level is not None:
            useful.append(out.level_is(then.level))
        for flag in then.flags:
            others = self.space.any_of(
                self.shown(r) for r in self.rules if r.id != rule.id and flag in r.then.flags
            )
            useful.append(self.shown(rule) & ~others)
        if then.alternative is not None:
            useful.append(out.alternative_is(then.alternative.level))
        if then.rating is not None and int(then.rating.value) > 0:
            given = then.rating
            others = self.space.any_of(
                out.holds[r.id]
                for r in self.rules
                if r.id != rule.id
                and r.then.rating is not None
                and r.then.rating.dimension == given.dimension
                and r.then.rating.value >= given.value
            )
            useful.append(~others)
        if (fires & self.space.any_of(useful)) == self.false:
            example = self._least_risky(fires)
            assert example is not None  # it fires somewhere
            others_fired = tuple(r for r in out.fired_at(example) if r != rule.id)
            findings.append(
                Finding(
                    "shadowed",
                    "the rule never decides the level, a rating, adds a flag"
                    " or supplies the alternative",
                    (rule.id, *others_fired),
                    example,
                )
            )
        return findings
