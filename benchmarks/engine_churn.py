"""Memory of creating and discarding many PlacementEngine instances, and of many evaluations.

Run: python benchmarks/engine_churn.py [ENGINES] [EVALUATIONS]

Reports resident set size (RSS) as ratios to a warm baseline measured in the same run, so a
noisy machine does not matter; a leak shows as a ratio that keeps growing with the count.
Not part of the test suite's pass/fail.
"""

from __future__ import annotations

import gc
import sys
import threading
from pathlib import Path

from _data import random_assessments

from iop_placement import DEFAULT_RULES, PlacementEngine


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main() -> None:
    engines = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    evaluations = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
    sample = random_assessments(1000, seed=1)
    threads_before = threading.active_count()

    PlacementEngine.from_directory(DEFAULT_RULES).recommend(sample[0])  # warm up imports
    gc.collect()
    base = rss_kib()
    print(f"engines created and discarded (baseline RSS {base / 1024:.1f} MiB)")
    print(f"{'engines':>10} {'RSS/baseline':>13}")
    step = max(engines // 5, 1)
    for done in range(1, engines + 1):
        engine = PlacementEngine.from_directory(DEFAULT_RULES)
        engine.recommend(sample[done % len(sample)])
        del engine
        if done % step == 0:
            gc.collect()
            print(f"{done:>10} {rss_kib() / base:>13.3f}")

    engine = PlacementEngine.from_directory(DEFAULT_RULES)
    gc.collect()
    base = rss_kib()
    print(f"\nevaluations on one engine (baseline RSS {base / 1024:.1f} MiB)")
    print(f"{'evaluations':>12} {'RSS/baseline':>13}")
    step = max(evaluations // 5, 1)
    for done in range(1, evaluations + 1):
        engine.recommend(sample[done % len(sample)])
        if done % step == 0:
            print(f"{done:>12} {rss_kib() / base:>13.3f}")
    print(f"\nthreads before {threads_before}, after {threading.active_count()} (no timer threads)")


if __name__ == "__main__":
    main()
