"""Speed and memory of recommend(), stage by stage, both backends and the reference, in one run.

Run: python benchmarks/bench_recommend.py [--n 20000] [--evaluations 1000000] [--write]

Everything is measured in the same process and run, and compared as ratios, because these
machines are noisy. --write replaces docs/performance.md with the table. Not part of the
test suite's pass/fail.
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from pathlib import Path
from typing import Any

from _data import random_assessments

from iop_placement import DEFAULT_RULES, Assessment, PlacementEngine, parse_assessment
from iop_placement._backends.facts import encode
from iop_placement.reference import ReferenceEvaluator

ROOT = Path(__file__).resolve().parents[1]


def timed(fn: Callable[[Any], object], items: Sequence[Any]) -> dict[str, float]:
    """Per-call latency (µs) percentiles and throughput over items."""
    for item in items[:500]:  # warm up
        fn(item)
    samples = []
    clock = time.perf_counter_ns
    start = clock()
    for item in items:
        t = clock()
        fn(item)
        samples.append(clock() - t)
    total = (clock() - start) / 1e9
    samples.sort()
    return {
        "p50": samples[len(samples) // 2] / 1000,
        "p99": samples[int(len(samples) * 0.99)] / 1000,
        "per_s": len(items) / total,
    }


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def import_ms() -> float:
    runs = []
    for _ in range(7):
        code = (
            "import time; t = time.perf_counter(); import iop_placement;"
            " print(time.perf_counter() - t)"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        runs.append(float(done.stdout) * 1000)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--evaluations", type=int, default=1_000_000)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()

    data = random_assessments(args.n, seed=2026)
    models = [Assessment.model_validate(d) for d in data]
    durable = PlacementEngine.from_directory(DEFAULT_RULES, backend="durable")
    compiled = PlacementEngine.from_directory(DEFAULT_RULES, backend="compiled")
    reference = ReferenceEvaluator.from_directory(DEFAULT_RULES)
    facts = [encode(m.values()) for m in models]

    rows: list[tuple[str, dict[str, float]]] = []
    rows.append(("recommend(), durable backend (end to end)", timed(durable.recommend, data)))
    rows.append(("recommend(), compiled backend (end to end)", timed(compiled.recommend, data)))
    rows.append(("reference evaluator (end to end)", timed(reference.evaluate, data)))
    rows.append(("stage: validation (parse_assessment)", timed(parse_assessment, data)))
    rows.append(("stage: answers + flat fact", timed(lambda m: encode(m.values()), models)))
    rows.append(("stage: level rules on durable-rules", timed(durable._levels.fired, facts)))
    rows.append(("stage: level rules compiled", timed(compiled._levels.fired, facts)))
    rows.append(
        ("recommend(Assessment), durable (no validation)", timed(durable.recommend, models))
    )

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(durable.recommend, data[:1000]))
        start = time.perf_counter()
        list(pool.map(durable.recommend, data, chunksize=64))
        threaded = len(data) / (time.perf_counter() - start)

    gc.collect()
    before = rss_mib()
    engine = durable
    for i in range(args.evaluations):
        engine.recommend(models[i % len(models)])
    gc.collect()
    after = rss_mib()
    imported = import_ms()

    by_name = dict(rows)
    end_to_end = by_name["recommend(), durable backend (end to end)"]
    fast = by_name["recommend(), compiled backend (end to end)"]
    ratio = end_to_end["p50"] / fast["p50"]
    lines = [
        "# Performance",
        "",
        "Measured by `python benchmarks/bench_recommend.py --write` in one run on one machine;",
        "compare the ratios, not the absolute numbers, across machines. Single thread unless",
        f"stated; {args.n:,} seeded random assessments.",
        "",
        f"- Machine: {platform.machine()}, {threading.active_count()} thread(s) at start,"
        f" Python {platform.python_version()}, {platform.system()}",
        f"- iop-placement {version('iop-placement')}, durable-rules {version('durable-rules')},"
        f" pydantic {version('pydantic')}",
        "",
        "| what | p50 µs | p99 µs | per second |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {name} | {r['p50']:.1f} | {r['p99']:.1f} | {r['per_s']:,.0f} |" for name, r in rows
    ]
    lines += [
        "",
        f"- durable / compiled end to end, p50: **{ratio:.2f}x**",
        f"- 8 threads, durable backend, total: {threaded:,.0f} per second"
        f" ({threaded / end_to_end['per_s']:.2f}x one thread: the C core holds the GIL)",
        f"- RSS before / after {args.evaluations:,} evaluations on one engine:"
        f" {before:.1f} / {after:.1f} MiB ({after / before:.3f}x)",
        f"- `import iop_placement`: {imported:.0f} ms (median of 7 fresh interpreters)",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        (ROOT / "docs" / "performance.md").write_text(report + NOTES, encoding="utf-8")


NOTES = """
## Notes

- The end-to-end path validates the input (Pydantic), evaluates the level rules, then
  the rules that read the decided level, and builds the reasons with their facts.
- durable-rules' cost per evaluation is dominated by `assert_fact` and `delete_state`
  (creating and freeing a session's rete state); see docs/engine.md for why each
  evaluation needs a fresh session.
- Threads are safe but add no throughput: use `recommend_many(..., workers=N)` or
  `iop-placement assess --jsonl IN --workers N` (processes) for volume.
"""


if __name__ == "__main__":
    main()
