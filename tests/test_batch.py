"""Batch scoring: in order, one output per input, bad input in place, processes, Dask."""

from __future__ import annotations

import functools
import io
import json
import multiprocessing
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpers import BASELINE, assessment, random_assessments
from iop_placement import InvalidAssessment, Recommendation, batch, recommend
from iop_placement.batch import (
    WorkersStopped,
    _workers,
    is_ok_line,
    recommend_many,
    score_chunks,
    score_lines,
    score_partition,
    stop_workers,
)
from iop_placement.cli import main

BAD_LINES = ["{not json", "", "[]", json.dumps({**BASELINE, "motivation": "none at all"})]


def mixed_lines(count: int) -> list[str]:
    """Valid assessments with a bad line every fifth line."""
    good = [json.dumps(d) for d in random_assessments(count, seed=8)]
    return [BAD_LINES[i % len(BAD_LINES)] if i % 5 == 4 else line for i, line in enumerate(good)]


def test_recommend_many_keeps_order_and_returns_errors_in_place() -> None:
    data: list[Any] = random_assessments(300, seed=4)
    data[7] = {}
    data[150] = {**BASELINE, "obligations": "work"}
    results = list(recommend_many(data, chunk_size=32))
    assert len(results) == 300
    assert isinstance(results[7], InvalidAssessment)
    assert isinstance(results[150], InvalidAssessment)
    for item, result in zip(data, results, strict=True):
        if isinstance(result, Recommendation):
            assert result == recommend(item)


def test_processes_give_the_same_results_in_the_same_order() -> None:
    data: list[Any] = [*random_assessments(400, seed=5), {"x": 1}]
    one = list(recommend_many(data, chunk_size=50))
    two = list(recommend_many(data, workers=2, chunk_size=50))
    assert [type(r) for r in two] == [type(r) for r in one]
    assert [r for r in two if isinstance(r, Recommendation)] == [
        r for r in one if isinstance(r, Recommendation)
    ]
    assert str(two[-1]) == str(one[-1])


def test_workers_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        list(recommend_many([BASELINE], workers=0))


def test_score_lines_one_output_per_input_line() -> None:
    lines = mixed_lines(500)
    out = [json.loads(line) for line in score_lines(lines, chunk_size=64)]
    assert [o["line"] for o in out] == list(range(1, 501))
    for text, result in zip(lines, out, strict=True):
        if text in BAD_LINES:
            assert result["ok"] is False
            assert result["error"]["message"]
        else:
            assert result["ok"] is True
            assert result["recommendation"] == recommend(json.loads(text)).model_dump(mode="json")


def test_error_lines_name_the_field_and_never_echo_the_line() -> None:
    secret = "Jane Doe 1980"
    out = [
        json.loads(o)
        for o in score_lines(['{"name": "' + secret, json.dumps(assessment(motivation=secret))])
    ]
    assert "not valid JSON" in out[0]["error"]["message"]
    assert [p["field"] for p in out[1]["error"]["problems"]] == ["motivation"]
    assert secret not in json.dumps(out)


def test_score_lines_on_two_processes_matches_one() -> None:
    lines = mixed_lines(600)
    assert list(score_lines(lines, workers=2, chunk_size=100)) == list(score_lines(lines))


def test_cli_jsonl_to_file_and_stdout(tmp_path: Path) -> None:
    lines = mixed_lines(120)
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    target = tmp_path / "out.jsonl"
    # Exit code 1: some lines failed (every one still has its output line).
    assert main(["assess", "--jsonl", str(source), "-o", str(target), "--workers", "2"]) == 1
    written = target.read_text(encoding="utf-8").splitlines()
    out = io.StringIO()
    assert main(["assess", "--jsonl", "-"], stdout=out, stdin=io.StringIO(source.read_text())) == 1
    assert written == out.getvalue().splitlines()
    assert len(written) == 120
    assert sum(not json.loads(line)["ok"] for line in written) == 24


def test_dask_recipe_in_local_mode(tmp_path: Path) -> None:
    dask = pytest.importorskip("dask")
    import dask.bag as db

    lines = mixed_lines(90)
    (tmp_path / "in").mkdir()
    for part in range(3):
        (tmp_path / "in" / f"part-{part}.jsonl").write_text(
            "\n".join(lines[part * 30 : part * 30 + 30]) + "\n"
        )
    # The recipe of docs/scale.md: one partition per file, so line numbers are per file.
    bag = (
        db.read_text(str(tmp_path / "in" / "*.jsonl"), blocksize=None)  # type: ignore[no-untyped-call]
        .map(str.rstrip)
        .map_partitions(score_partition)
    )
    with dask.config.set(scheduler="processes", num_workers=2):
        bag.to_textfiles(str(tmp_path / "out" / "*.jsonl"))
    for part in range(3):
        got = (tmp_path / "out" / f"{part}.jsonl").read_text().splitlines()
        assert got == score_partition(lines[part * 30 : part * 30 + 30])


def test_score_chunks_are_the_lines_of_score_lines_with_their_flags() -> None:
    lines = mixed_lines(150)
    chunks = list(score_chunks(lines, workers=2, chunk_size=16))
    text = b"".join(chunk.text for chunk in chunks).decode()
    assert text == "".join(line + "\n" for line in score_lines(lines))
    flags = b"".join(chunk.ok for chunk in chunks)
    assert list(flags) == [is_ok_line(line) for line in text.splitlines()]
    assert flags.count(0) == 30


def test_stopped_workers_end_the_batch_and_none_is_left() -> None:
    chunks = score_chunks(mixed_lines(400), workers=3, chunk_size=4)
    next(chunks)
    assert len(multiprocessing.active_children()) == 2  # and this process
    assert stop_workers() == 1
    with pytest.raises(WorkersStopped):
        list(chunks)
    assert multiprocessing.active_children() == []
    assert stop_workers() == 0


def test_a_killed_worker_ends_the_batch() -> None:
    results = recommend_many(random_assessments(400, seed=6), workers=2, chunk_size=4)
    next(results)
    os.kill(multiprocessing.active_children()[0].pid or 0, signal.SIGKILL)
    with pytest.raises(WorkersStopped):
        list(results)
    assert multiprocessing.active_children() == []


def test_closing_early_stops_the_workers() -> None:
    results = score_lines(mixed_lines(400), workers=2, chunk_size=4)
    next(results)
    results.close()
    assert multiprocessing.active_children() == []


def ready_pool(work: Callable[[Any], Any], processes: int) -> _workers._Pool[Any, Any]:
    """A pool whose spawned workers have all started (else this process does all the work)."""
    pool: _workers._Pool[Any, Any] = _workers._Pool(work, processes)
    while not all(worker.ready for worker in pool.workers):
        pool._exchange(wait=True)
    return pool


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs /proc (Linux)")
def test_this_process_and_the_spawned_workers_share_the_work() -> None:
    pool = ready_pool(os.readlink, 3)  # os.readlink("/proc/self"): who did the work
    children = {str(worker.process.pid) for worker in pool.workers}
    try:
        done = list(pool.map(["/proc/self"] * 60, in_flight=3))
    finally:
        pool.shut_down(stop=False)
    assert len(done) == 60
    assert set(done) == {str(os.getpid()), *children}


def test_spawned_workers_score_as_this_process_does() -> None:
    lines = mixed_lines(300)
    chunks = [(first, lines[first - 1 : first + 19]) for first in range(1, 301, 20)]
    pool = ready_pool(functools.partial(batch._score_chunk, None, None), 2)
    try:
        got = list(pool.map(chunks, in_flight=2))
    finally:
        pool.shut_down(stop=False)
    assert b"".join(chunk.text for chunk in got).decode().splitlines() == list(score_lines(lines))
