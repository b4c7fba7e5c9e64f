"""Seeded random assessments for the benchmarks (the same stream on every run)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from iop_placement._model.fields import field_specs
from iop_placement.populations import POPULATIONS, population


def random_assessments(count: int, seed: int) -> list[dict[str, Any]]:
    """Valid assessments as a form sends them; every value of every field occurs."""
    return list(iter_random_assessments(count, seed))


def iter_random_assessments(count: int, seed: int) -> Iterator[dict[str, Any]]:
    """The same stream as :func:`random_assessments`, one at a time."""
    rng = random.Random(seed)
    specs = list(field_specs().items())
    for _ in range(count):
        data: dict[str, Any] = {}
        for name, spec in specs:
            if spec.kind in {"choice", "boolean"}:
                data[name] = rng.choice(spec.values)
            elif spec.kind == "integer":
                data[name] = rng.randint(0, 40)
            else:
                data[name] = [v for v in spec.values if rng.random() < 0.3]
        yield data


def seeded_assessments(count: int, seed: int, *, absent: float = 0.2) -> list[dict[str, Any]]:
    """Like :func:`random_assessments`, but an optional field is left out with ``absent``.

    The benchmark of record (benchmarks/run.py) uses these, so that what an absence means
    is exercised as well.
    """
    rng = random.Random(seed)
    out = []
    for data in iter_random_assessments(count, seed):
        for name, spec in field_specs().items():
            if spec.optional and rng.random() < absent:
                del data[name]
        out.append(data)
    return out


def population_intakes(count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` realistic intakes, an equal share from each reference population in turn.

    What users send (``iop_placement.populations``): the uniform stream above is mostly
    inpatient, these follow published marginals of the settings the populations describe.
    """
    names = list(POPULATIONS)
    share = -(-count // len(names))
    streams = [list(population(name, share, seed=seed)) for name in names]
    mixed = [intake for group in zip(*streams, strict=True) for intake in group]
    return mixed[:count]


def partial_intakes(per: int, seed: int) -> list[tuple[int, dict[str, Any]]]:
    """Population intakes with k answers left out, ``per`` of them for every population and k.

    k runs from 0 to every field; the answers left out are drawn at random. Returns
    (k, answers) pairs, as an intake form sends them while it is being filled in.
    """
    rng = random.Random(seed)
    names = list(field_specs())
    out = []
    for name in POPULATIONS:
        intakes = list(population(name, per * (len(names) + 1), seed=seed))
        for index, values in enumerate(intakes):
            k = index % (len(names) + 1)
            left_out = set(rng.sample(names, k))
            out.append((k, {n: v for n, v in values.items() if n not in left_out}))
    return out
