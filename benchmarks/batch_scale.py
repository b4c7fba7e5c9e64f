"""Batch scoring at scale: N seeded JSON lines (bad lines mixed in) through the CLI.

Run: python benchmarks/batch_scale.py [LINES] [WORKERS]

Checks one output line per input line, in order, every bad line reported in place, and
samples the scoring process's RSS while it runs (it should stay flat). Not part of the
test suite's pass/fail.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _data import iter_random_assessments

BAD = ["{not json", "", "[]", '{"substance_use_severity": "extreme"}']


def write_input(path: Path, lines: int) -> int:
    bad = 0
    good = iter_random_assessments(lines, seed=1_000_000)
    with path.open("w", encoding="utf-8") as out:
        for number in range(1, lines + 1):
            data = next(good)
            if number % 97 == 0:
                out.write(BAD[number % len(BAD)] + "\n")
                bad += 1
                continue
            out.write(json.dumps(data) + "\n")
    return bad


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    workers = sys.argv[2] if len(sys.argv) > 2 else "2"
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        bad = write_input(source, lines)
        started = time.perf_counter()
        command = [
            "iop-placement",
            "assess",
            "--jsonl",
            str(source),
            "-o",
            str(target),
            "--workers",
            workers,
        ]
        process = subprocess.Popen(command)
        samples = []
        while process.poll() is None:
            try:
                if rss := rss_mib(process.pid):
                    samples.append(rss)
            except FileNotFoundError:
                break
            time.sleep(1)
        seconds = time.perf_counter() - started
        assert process.returncode == (1 if bad else 0), process.returncode  # 1: lines failed
        count = errors = 0
        with target.open(encoding="utf-8") as results:
            for count, text in enumerate(results, 1):
                record = json.loads(text)
                assert record["line"] == count
                errors += not record["ok"]
        assert count == lines, (count, lines)
        assert errors == bad, (errors, bad)
        quarter = max(len(samples) // 4, 1)
        print(
            f"{lines:,} lines ({bad:,} bad) with {workers} workers in {seconds:.0f} s"
            f" ({lines / seconds:,.0f} lines/s); one output line per input line, in order"
        )
        print(
            f"parent RSS, MiB: first quarter max {max(samples[:quarter]):.1f},"
            f" last quarter max {max(samples[-quarter:]):.1f}, overall max {max(samples):.1f}"
        )


if __name__ == "__main__":
    main()
