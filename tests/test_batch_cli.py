"""``assess --jsonl`` loses nothing: one output line per input line whatever its bytes,
no torn output, clean stops on SIGTERM/SIGINT, a summary, exit codes, usage messages."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from helpers import BASELINE, assessment
from iop_placement import batch, recommend
from iop_placement.cli import _batch, main

GOOD = json.dumps(BASELINE).encode()
HOSTILE_LINES = [
    GOOD,
    b"\xff\xfe not UTF-8",
    b'{"motivation": "\x00"}',
    b"\x00",
    b"9" * 5000,
    b'{"available_hours_per_week": ' + b"9" * 5000 + b"}",
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    b'{"x": 1}\r{"y": 2}',  # a lone \r is part of the line
    json.dumps(assessment(suicide_risk="imminent")).encode() + b"\r",  # a CRLF line
    b"",
    json.dumps({**BASELINE, "obligations": [[[]] * 3] * 3}).encode(),
    GOOD,
]
OK_LINES = {1, 10, 13}


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_cli(*argv: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    source = io.TextIOWrapper(io.BytesIO(stdin or b""), encoding="utf-8")
    code = main(list(argv), stdout=out, stderr=err, stdin=source)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_every_input_line_gives_exactly_one_output_line(tmp_path: Path, workers: str) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\n".join(HOSTILE_LINES) + b"\n")
    target = tmp_path / "out.jsonl"
    argv = ["assess", "--jsonl", str(source), "-o", str(target), "--workers", workers]
    code, _, err = run_cli(*argv)
    assert code == 1  # some lines failed
    results = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [r["line"] for r in results] == list(range(1, len(HOSTILE_LINES) + 1))
    assert {r["line"] for r in results if r["ok"]} == OK_LINES
    assert results[9]["recommendation"] == recommend(
        assessment(suicide_risk="imminent")
    ).model_dump(mode="json")
    assert "Traceback" not in err
    assert f"scored {len(HOSTILE_LINES)} lines: 3 ok, 10 failed, in " in err
    messages = [r["error"]["message"] for r in results if not r["ok"]]
    assert "not UTF-8 text (at byte 1)" in messages
    assert "not readable: JSON nested too deeply" in messages
    assert "not readable: a number with too many digits" in messages


def test_a_line_longer_than_the_limit_is_one_error_line(monkeypatch: pytest.MonkeyPatch) -> None:
    limit = len(GOOD) + 2  # the limit counts the line ending
    monkeypatch.setattr(batch, "MAX_LINE_BYTES", limit)
    lines = [GOOD, GOOD + b"   ", b"x" * (3 << 20), GOOD + b"\r", GOOD]
    code, out, _ = run_cli("assess", "--jsonl", "-", stdin=b"\n".join(lines) + b"\n")
    results = [json.loads(line) for line in out.splitlines()]
    assert code == 1
    assert [r["ok"] for r in results] == [True, False, False, True, True]
    assert results[1]["error"]["message"] == f"not read: longer than {limit:,} bytes"


def test_standard_input_is_read_as_bytes_too() -> None:
    code, out, err = run_cli("assess", "--jsonl", "-", stdin=b"\n".join(HOSTILE_LINES))
    assert code == 1
    assert len(out.splitlines()) == len(HOSTILE_LINES)
    assert "Traceback" not in err


def test_all_lines_ok_exits_0_with_a_summary(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(GOOD + b"\n" + GOOD)  # the last line needs no newline
    code, out, err = run_cli("assess", "--jsonl", str(source))
    assert code == 0
    assert len(out.splitlines()) == 2
    assert "scored 2 lines: 2 ok, 0 failed, in " in err


@pytest.mark.parametrize("link", ["same", "symlink", "hardlink"])
def test_the_output_may_not_be_the_input(tmp_path: Path, link: str) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(GOOD + b"\n")
    target = tmp_path / "alias.jsonl"
    if link == "same":
        target = source
    elif link == "symlink":
        target.symlink_to(source)
    else:
        os.link(source, target)
    code, _, err = run_cli("assess", "--jsonl", str(source), "-o", str(target))
    assert code == 2
    assert "is the input file" in err
    assert source.read_bytes() == GOOD + b"\n"


def test_the_output_replaces_the_target_only_on_success(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(GOOD + b"\n")
    target = tmp_path / "out.jsonl"
    target.write_text("previous\n")
    assert run_cli("assess", "--jsonl", str(source), "-o", str(target))[0] == 0
    assert json.loads(target.read_text())["ok"] is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]


def test_progress_lines_when_not_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_batch, "PROGRESS_SECONDS", 0.0)
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\n".join([GOOD] * 3))
    _, _, err = run_cli("assess", "--jsonl", str(source))
    assert err.count("so far") == 3
    assert "scored 3 lines so far (0 failed)" in err


def test_a_progress_counter_on_a_terminal(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\n".join([GOOD] * 1000))
    err = Terminal()
    code = main(["assess", "--jsonl", str(source)], stdout=io.StringIO(), stderr=err)
    assert code == 0
    assert "\rscored 1,000 lines\n" in err.getvalue()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["assess", "x.json", "-o", "out.jsonl"], "-o apply only with --jsonl"),
        (["assess", "x.json", "--workers", "2"], "--workers apply only with --jsonl"),
        (["assess", "--jsonl", "-", "--workers", "0"], "--workers must be"),
        (["assess", "--jsonl", "-", "--workers", "-3"], "--workers must be"),
        (["assess", "x.json", "--jsonl", "-"], "not both"),
        (["assess", "--jsonl", "-", "--json"], "do not apply with --jsonl"),
        (["assess", "--jsonl", "-", "-o", "/nonexistent/folder/out.jsonl"], "does not exist"),
    ],
)
def test_usage_errors_are_messages_with_exit_2(argv: list[str], message: str) -> None:
    code, out, err = run_cli(*argv, stdin=GOOD)
    assert (code, out) == (2, "")
    assert message in err
    assert "Traceback" not in err


def test_an_output_that_is_a_folder_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run_cli("assess", "--jsonl", "-", "-o", str(tmp_path), stdin=GOOD)
    assert code == 2
    assert "is a folder" in err


@pytest.mark.parametrize(
    ("content", "argv", "message"),
    [
        (None, ["--jsonl"], "cannot read"),
        ("folder", ["--jsonl"], "cannot read"),
        (None, [], "cannot read"),
        (b"\xff\xfe{}", [], "is not UTF-8 text"),
        (b"9" * 5000, [], "too many digits"),
        (b"[" * 100_000 + b"]" * 100_000, [], "nested too deeply"),
    ],
    ids=["missing jsonl", "folder jsonl", "missing file", "not UTF-8", "digits", "deep"],
)
def test_input_errors_are_messages_with_exit_1(
    tmp_path: Path, content: bytes | str | None, argv: list[str], message: str
) -> None:
    path = tmp_path / "input"
    if content == "folder":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    code, _, err = run_cli("assess", *argv, str(path))
    assert code == 1
    assert message in err
    assert "Traceback" not in err


# -- Signals: a real process, its workers and resource tracker -------------------------


def marked_processes(marker: str) -> list[int]:
    """Processes (of this user) whose environment carries ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if marker.encode() in environ:
                found.append(int(entry.name))
    return found


def wait_until(predicate: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc (Linux)")
@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_workers_and_leaves_no_torn_output(
    tmp_path: Path, signum: signal.Signals, workers: int
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes((GOOD + b"\n") * 40_000)
    target = tmp_path / "out.jsonl"
    target.write_text("previous\n")
    name, value = "IOP_PLACEMENT_TEST_MARKER", uuid.uuid4().hex
    marker = f"{name}={value}"
    env = {**os.environ, name: value}
    command = [sys.executable, "-m", "iop_placement.cli", "assess", "--jsonl", str(source)]
    process = subprocess.Popen(
        [*command, "-o", str(target), "--workers", str(workers)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        parts = lambda: [p for p in tmp_path.glob(".out.jsonl.*.part") if p.stat().st_size]  # noqa: E731
        assert wait_until(parts, 120), "the run never started writing"
        running = marked_processes(marker)
        process.send_signal(signum)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
        process.communicate()
    text = err.decode()
    # The CLI, and with --workers 2 its workers and multiprocessing's resource tracker.
    assert len(running) >= (2 if workers > 1 else 1), (running, text)
    assert process.returncode == 128 + signum, text
    assert f"stopped by {signum.name}" in text
    assert "Traceback" not in text
    assert target.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]
    assert wait_until(lambda: not marked_processes(marker), 30), "workers were left running"


def test_a_killed_runs_part_file_is_removed_by_the_next_run(tmp_path: Path) -> None:
    import fcntl

    source = tmp_path / "in.jsonl"
    source.write_bytes(GOOD + b"\n")
    target = tmp_path / "out.jsonl"
    left = tmp_path / ".out.jsonl.dead1234.part"  # a SIGKILLed run's: nobody holds its lock
    left.write_bytes(b"x" * 1000)
    live = tmp_path / ".out.jsonl.live5678.part"  # another run's, still being written
    other = tmp_path / ".other.jsonl.dead9999.part"  # another output's: not ours to judge
    other.write_bytes(b"y")
    with live.open("wb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, _, _ = run_cli("assess", "--jsonl", str(source), "-o", str(target))
        assert code == 0
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            [live.name, other.name, "in.jsonl", "out.jsonl"]
        )


def test_a_sigkilled_run_leaves_a_part_file_that_the_next_run_removes(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes((GOOD + b"\n") * 40_000)
    target = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "iop_placement.cli", "assess", "--jsonl", str(source)]
    process = subprocess.Popen(
        [*command, "-o", str(target)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        parts = lambda: [p for p in tmp_path.glob(".out.jsonl.*.part") if p.stat().st_size]  # noqa: E731
        assert wait_until(parts, 120), "the run never started writing"
        process.kill()
        process.communicate(timeout=60)
    finally:
        process.kill()
        process.communicate()
    assert list(tmp_path.glob(".out.jsonl.*.part")), "SIGKILL left no part file"
    source.write_bytes(GOOD + b"\n")
    assert run_cli("assess", "--jsonl", str(source), "-o", str(target))[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]


def test_the_folder_is_synced_after_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stat

    source = tmp_path / "in.jsonl"
    source.write_bytes(GOOD + b"\n")
    target = tmp_path / "out.jsonl"
    synced: list[tuple[bool, bool]] = []
    real_fsync = os.fsync

    def fsync(descriptor: int) -> None:
        synced.append((stat.S_ISDIR(os.fstat(descriptor).st_mode), target.exists()))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)
    assert run_cli("assess", "--jsonl", str(source), "-o", str(target))[0] == 0
    # The file before the rename, then its folder after it.
    assert synced == [(False, False), (True, True)]
