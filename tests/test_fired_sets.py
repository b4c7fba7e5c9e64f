"""The fired-set algebra the engine reads the policy in, against brute force.

Every expression over five rules is checked on all 32 sets of fired rules: evaluation is
what the expression says, restriction agrees with evaluation on every completion of the
unknown rules and reads none of the known ones, support covers every rule an expression
can depend on, and the constructors simplify as the engine needs (a disjunction of
"some rule fired" parts is one mask).
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from iop_placement._algebras.fired_sets import (
    All,
    Either,
    Expr,
    FiredSets,
    Not,
    PolicyShapeError,
    Some,
    as_mask,
    evaluate,
    restrict,
    support,
)
from iop_placement._decision.policy import Derived, count

RULES = 5
EVERY = range(1 << RULES)
ALGEBRA = FiredSets({f"r{i}": 1 << i for i in range(RULES)})
NOTHING: Derived[Expr] = Derived()  # a backend decides a rule: no numbers read
Meaning = Callable[[int], bool]


def _draw(rng: random.Random, depth: int) -> tuple[Expr, Meaning]:
    """A random expression built with the algebra, and what it means, as plain Python."""
    pick = rng.randrange(6 if depth else 2)
    if pick == 0:
        mask = rng.randrange(1 << RULES)
        atoms = (ALGEBRA.atom(f"r{i}", NOTHING) for i in range(RULES) if mask >> i & 1)
        return ALGEBRA.any_of(atoms), (lambda fired: bool(fired & mask))
    if pick == 1:
        value = rng.random() < 0.5
        return (ALGEBRA.true if value else ALGEBRA.false), (lambda _: value)
    if pick == 2:
        part, means = _draw(rng, depth - 1)
        return ALGEBRA.not_(part), (lambda fired: not means(fired))
    parts = [_draw(rng, depth - 1) for _ in range(rng.randrange(1, 4))]
    exprs = [e for e, _ in parts]
    meanings = [m for _, m in parts]
    if pick == 3:
        return ALGEBRA.all_of(exprs), (lambda fired: all(m(fired) for m in meanings))
    if pick == 4:
        return ALGEBRA.any_of(exprs), (lambda fired: any(m(fired) for m in meanings))
    ladder = ALGEBRA.at_least(exprs)
    k = rng.randrange(len(ladder))
    return ladder[k], (lambda fired: sum(m(fired) for m in meanings) >= k)


DRAWN = [_draw(random.Random(seed), 4) for seed in range(300)]


@pytest.mark.parametrize("seed", range(0, 300, 10))
def test_evaluate_is_the_meaning(seed: int) -> None:
    for expr, means in DRAWN[seed : seed + 10]:
        assert [evaluate(expr, fired) for fired in EVERY] == [means(fired) for fired in EVERY]


def test_restrict_agrees_on_every_completion_and_reads_no_known_rule() -> None:
    rng = random.Random(7)
    for expr, means in DRAWN:
        known, fired = rng.randrange(1 << RULES), rng.randrange(1 << RULES)
        fired &= known
        left = restrict(expr, known, fired)
        assert support(left) & known == 0
        for rest in EVERY:
            completion = fired | (rest & ~known)
            assert evaluate(left, completion) == means(completion)


def test_support_covers_what_an_expression_depends_on() -> None:
    for expr, means in DRAWN:
        read = support(expr)
        for fired in EVERY:
            assert means(fired) == means(fired & read)


def test_restrict_takes_what_is_given_otherwise() -> None:
    level = Some(0b00110)
    expr = ALGEBRA.all_of((Some(0b00001), ALGEBRA.not_(level)))
    assert restrict(expr, 0, 0, [(0b00110, False)]) == Some(0b00001)
    assert restrict(expr, 0, 0, [(0b00110, True)]) is False
    assert restrict(expr, 0b00001, 0b00001, [(0b00110, False)]) is True
    # Given parts merged into a larger mask still count: all of them not fired, or one.
    merged = ALGEBRA.any_of((Some(0b00110), Some(0b11000)))
    assert restrict(merged, 0, 0, [(0b00110, False), (0b11000, False)]) is False
    assert restrict(merged, 0, 0, [(0b00110, False), (0b11000, True)]) is True
    assert restrict(merged, 0, 0, [(0b00110, False)]) == Some(0b11000)


def test_restrict_with_given_facts_agrees_on_every_completion() -> None:
    rng = random.Random(9)
    for expr, means in DRAWN:
        given_mask = rng.randrange(1, 1 << RULES)
        for fired in EVERY:
            held = bool(fired & given_mask)
            left = restrict(expr, 0, 0, [(given_mask, held)])
            assert evaluate(left, fired) == means(fired)


def test_the_constructors_simplify() -> None:
    a, b, c = (ALGEBRA.atom(f"r{i}", NOTHING) for i in range(3))
    assert ALGEBRA.any_of((a, ALGEBRA.false, b, ALGEBRA.any_of((c,)))) == Some(0b111)
    assert ALGEBRA.any_of((a, ALGEBRA.true)) is True
    assert ALGEBRA.any_of(()) is False
    assert ALGEBRA.all_of(()) is True
    assert ALGEBRA.all_of((a, ALGEBRA.false)) is False
    assert ALGEBRA.all_of((a, ALGEBRA.all_of((b, c)))) == All((a, b, c))
    assert ALGEBRA.not_(ALGEBRA.not_(a)) == a
    assert ALGEBRA.any_of((ALGEBRA.not_(a), b, c)) == Either((Some(0b110), Not(a)))
    assert count(ALGEBRA, [a, b])[1] == Some(0b11)


def test_a_part_that_is_not_some_rule_fired_is_refused_by_name() -> None:
    assert as_mask(Some(0b101), "x") == 0b101
    assert as_mask(False, "x") == 0
    with pytest.raises(PolicyShapeError, match="the level being at least 2"):
        as_mask(All((Some(1), Some(2))), "the level being at least 2")
    with pytest.raises(PolicyShapeError):
        as_mask(True, "a rung")
