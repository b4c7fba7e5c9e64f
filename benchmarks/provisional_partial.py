"""provisional() on realistic partial intakes: population intakes with k answers left out.

For every population and every k from 0 to all fields, ``--per`` intakes each leave out k
answers chosen at random; the time of ``engine.provisional`` is reported by k (p50, p99,
max) and overall, with the one-off build of the decision diagrams and its memory.

    PYTHONPATH=src python benchmarks/provisional_partial.py --per 20
"""

from __future__ import annotations

import argparse
import collections
import time
import tracemalloc

from _data import partial_intakes

from iop_placement import DEFAULT_RULES, PlacementEngine


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per", type=int, default=20, help="intakes per population and k")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    engine = PlacementEngine.from_directory(DEFAULT_RULES)
    tracemalloc.start()
    started = time.perf_counter()
    engine.provisional({})
    built = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"build (first call): {built * 1e3:.0f} ms, peak traced memory {peak / 2**20:.1f} MiB")
    by_k: dict[int, list[float]] = collections.defaultdict(list)
    for k, answers in partial_intakes(args.per, args.seed):
        started = time.perf_counter()
        engine.provisional(answers)
        by_k[k].append(time.perf_counter() - started)
    print(f"{'k':>3} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    every: list[float] = []
    for k, times in sorted(by_k.items()):
        every += times
        p50, p99 = percentile(times, 0.5), percentile(times, 0.99)
        print(f"{k:>3} {len(times):>5} {p50 * 1e3:8.2f} {p99 * 1e3:8.2f} {max(times) * 1e3:8.2f}")
    p50, p99 = percentile(every, 0.5), percentile(every, 0.99)
    print(f"all {len(every):>5} {p50 * 1e3:8.2f} {p99 * 1e3:8.2f} {max(every) * 1e3:8.2f}")


if __name__ == "__main__":
    main()
