r"""``iop-placement assess --jsonl IN [-o OUT] [--workers N]``: stream JSON lines, lose nothing.

* Every input line gives exactly one output line, whatever its bytes: the input is read in
  binary and split on ``\n`` only (a lone ``\r`` is part of its line; ``\r\n`` ends one).
* ``-o OUT`` is written to a temporary file in OUT's folder and renamed over OUT only when
  the run completes, so OUT never holds a torn or partial result. OUT may not be the input
  (the same file, also through a symlink or a hard link). The file and then the folder
  are synced to disk around the rename, so a crash cannot leave OUT empty or missing.
* The temporary file ``.OUT.<random>.part`` is locked (``flock``) while a run writes it.
  A run killed outright (SIGKILL, a crash) leaves it behind unlocked; the next run with
  the same ``-o OUT`` deletes such leftovers and never touches one another run holds.
* SIGTERM and SIGINT stop the workers at once and exit with a message (code 128 + signal).
* A summary (lines ok, failed, seconds) goes to standard error; progress too: a counter
  on a terminal, a line every ``PROGRESS_SECONDS`` otherwise.
* Exit codes: 0 all lines ok, 1 some lines failed or the input cannot be read, 2 usage.
"""

from __future__ import annotations

import argparse
import fcntl
import glob
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, suppress
from pathlib import Path
from types import FrameType
from typing import IO, Any, Final, TextIO

from iop_placement import batch
from iop_placement.batch import WorkersStopped, score_chunks

__all__ = [
    "PROGRESS_SECONDS",
    "BatchUsageError",
    "add_batch_options",
    "check_batch_usage",
    "run_jsonl",
]

_EVERY: Final = 1000  # terminal counter refresh, in lines
PROGRESS_SECONDS: float = 10.0
"""Seconds between progress lines when standard error is not a terminal."""

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2


class BatchUsageError(Exception):
    """The command line asks for something that does not apply or cannot be done."""


class _Stopped(BaseException):
    """SIGTERM or SIGINT arrived; raised in the main thread by the handler."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def add_batch_options(assess: argparse.ArgumentParser) -> None:
    """Add --jsonl, --output and --workers to the ``assess`` command."""
    assess.add_argument(
        "--jsonl",
        metavar="IN",
        help="score a file of JSON lines (- for standard input), one output line per input line",
    )
    assess.add_argument(
        "-o", "--output", metavar="OUT", help="with --jsonl: write here, not stdout"
    )
    assess.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="with --jsonl: score on N processes (default 1)",
    )
    assess.add_argument(
        "--compact",
        action="store_true",
        help="with --jsonl: each recommendation as its level, flags, reason rule ids and"
        " ratings (about 0.3-0.7 kB, not 5-15 kB); write the catalogue of what they mean"
        " once with: iop-placement rules --compact-catalogue",
    )


def check_batch_usage(args: argparse.Namespace) -> None:
    """Refuse options that do not apply.

    Raises:
        BatchUsageError: naming the option and when it applies.

    """
    if args.jsonl is None:
        given = [
            name
            for name, value in (
                ("-o", args.output),
                ("--workers", args.workers),
                ("--compact", args.compact or None),
            )
            if value is not None
        ]
        if given:
            msg = f"{' and '.join(given)} apply only with --jsonl IN"
            raise BatchUsageError(msg)
        return
    if args.file is not None:
        msg = "give FILE or --jsonl IN, not both"
        raise BatchUsageError(msg)
    if args.json or args.format is not None or args.full:
        msg = "--json, --format and --full do not apply with --jsonl (its output is JSON lines)"
        raise BatchUsageError(msg)
    if args.workers is not None and args.workers < 1:
        msg = "--workers must be a whole number of at least 1"
        raise BatchUsageError(msg)


def _same_file(one: str, other: str) -> bool:
    try:
        return os.path.samefile(one, other)
    except OSError:
        return False  # the output does not exist yet


class _StopState:
    """What the signal handler needs to know about where the main thread is."""

    signum: int | None = None
    reading = False  # blocked on input: safe to interrupt, and nothing else would
    writing = False  # inside a write: never interrupted (no torn line on stdout)


def _lines(stream: IO[Any]) -> Iterator[bytes | str]:
    r"""The lines of a stream without their end: split on \n only, one \r before it dropped.

    A line longer than ``batch.MAX_LINE_BYTES`` is skipped unread (memory stays bounded)
    and stands as ``LINE_TOO_LONG``, which scores as an error line.
    """
    limit = batch.MAX_LINE_BYTES
    while line := _read(stream, limit + 1):
        newline: Any = b"\n" if isinstance(line, bytes) else "\n"
        if len(line) > limit and not line.endswith(newline):
            while (rest := _read(stream, 1 << 20)) and not rest.endswith(newline):
                pass
            yield batch.LINE_TOO_LONG
            continue
        end = len(line) - line.endswith(newline)
        if end and line[end - 1 : end] in (b"\r", "\r"):
            end -= 1
        yield line[:end]


def _read(stream: IO[Any], size: int) -> Any:  # noqa: ANN401 - bytes or str, as the stream
    _StopState.reading = True
    try:
        return stream.readline(size)
    finally:
        _StopState.reading = False


def _sync_folder(folder: str) -> None:
    """Fsync a folder, so that a rename in it survives a crash (POSIX)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _remove_stale_parts(folder: str, name: str) -> None:
    """Delete the temporary files of earlier runs that died writing ``name`` in ``folder``.

    A file another run still writes is locked: it is left alone.
    """
    pattern = os.path.join(glob.escape(folder), f".{glob.escape(name)}.*.part")
    for path in glob.glob(pattern):
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(descriptor)
            continue  # a live run's file
        try:
            os.unlink(path)
        except OSError:
            pass
        finally:
            os.close(descriptor)


class _Output:
    """Where result lines go: standard output, or a temporary file renamed on success."""

    def __init__(self, target: str | None, out: TextIO) -> None:
        self._target = target
        self._temporary: str | None = None
        self._folder = ""
        if target is None:
            self._stream: IO[Any] = out
            buffer = getattr(out, "buffer", None)
            if buffer is None:  # a text stream only (a StringIO)
                self._write: Callable[[bytes], Any] = lambda text: out.write(text.decode())
            else:  # the lines are UTF-8 already: past the text layer, emptied first
                out.flush()
                self._stream, self._write = buffer, buffer.write
            return
        folder = os.path.dirname(os.path.abspath(target))
        if not os.path.isdir(folder):
            msg = f"the folder of -o {target} does not exist"
            raise BatchUsageError(msg)
        if os.path.isdir(target):
            msg = f"-o {target} is a folder; give a file name"
            raise BatchUsageError(msg)
        name = os.path.basename(target)
        self._folder = folder
        _remove_stale_parts(folder, name)
        descriptor, self._temporary = tempfile.mkstemp(
            dir=folder, prefix=f".{name}.", suffix=".part"
        )
        # Held until the file is renamed or deleted (the kernel drops it if we are killed):
        # a later run tells a dead run's leftover from a live run's file by this lock.
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._stream = os.fdopen(descriptor, "wb")
        self._write = self._stream.write

    def write(self, lines: bytes) -> None:
        self._write(lines)

    def commit(self) -> None:
        """Make the output final: flush, and rename the temporary file over the target."""
        self._stream.flush()
        if self._temporary is not None and self._target is not None:
            os.fsync(self._stream.fileno())
            os.replace(self._temporary, self._target)
            self._temporary = None
            self._stream.close()  # after the rename: the lock covers the whole write
            _sync_folder(self._folder)

    def discard(self) -> None:
        """Drop a temporary file: the target is left as it was."""
        if self._temporary is not None:
            with suppress(OSError):
                os.unlink(self._temporary)  # before the close drops the lock
            with suppress(OSError):
                self._stream.close()
            self._temporary = None


class _Progress:
    def __init__(self, err: TextIO) -> None:
        self._err = err
        self._tty = err.isatty()
        self._started = self._last = time.monotonic()
        self.ok = self.failed = 0

    def count_lines(self, flags: bytes) -> None:
        """Count a chunk's lines, one by one (``flags``: 1 for an ok line, 0 for an error)."""
        for ok in flags:
            self.count(ok=bool(ok))

    def count(self, *, ok: bool) -> None:
        if ok:
            self.ok += 1
        else:
            self.failed += 1
        total = self.ok + self.failed
        if self._tty:
            if total % _EVERY == 0:
                self._err.write(f"\rscored {total:,} lines")
                self._err.flush()
        elif (now := time.monotonic()) - self._last >= PROGRESS_SECONDS:
            self._last = now
            self._err.write(
                f"iop-placement: scored {total:,} lines so far ({self.failed:,} failed)\n"
            )
            self._err.flush()

    def summary(self) -> str:
        seconds = time.monotonic() - self._started
        total = self.ok + self.failed
        return f"scored {total:,} lines: {self.ok:,} ok, {self.failed:,} failed, in {seconds:.1f} s"

    def end_line(self) -> None:
        if self._tty and self.ok + self.failed >= _EVERY:
            self._err.write("\n")


def _open_input(source: str, stdin: TextIO, stack: ExitStack) -> IO[Any]:
    if source == "-":
        return getattr(stdin, "buffer", stdin)  # binary when there is one (a real stdin)
    try:
        return stack.enter_context(Path(source).open("rb"))
    except OSError as error:
        msg = f"cannot read {source}: {error.strerror or error}"
        raise OSError(msg) from None


def run_jsonl(args: argparse.Namespace, out: TextIO, stdin: TextIO, err: TextIO) -> int:
    """Stream the input's lines through the engine; a bad line never stops the run."""
    check_batch_usage(args)
    if args.output is not None and args.jsonl != "-" and _same_file(args.jsonl, args.output):
        msg = f"-o {args.output} is the input file; write the output elsewhere"
        raise BatchUsageError(msg)
    progress = _Progress(err)
    _StopState.signum = None
    _StopState.reading = _StopState.writing = False
    with ExitStack() as stack:
        stack.callback(_restore, _catch_stop_signals())
        try:
            source = _open_input(args.jsonl, stdin, stack)
        except OSError as error:
            err.write(f"iop-placement: {error}\n")
            return EXIT_FAILED
        try:
            output = _Output(args.output, out)
        except OSError as error:
            err.write(f"iop-placement: cannot write -o {args.output}: {error.strerror or error}\n")
            return EXIT_FAILED
        stack.callback(output.discard)
        results = score_chunks(
            _lines(source), workers=args.workers or 1, rules=args.rules, compact=args.compact
        )
        close: Callable[[], object] = getattr(results, "close", lambda: None)
        stack.callback(close)
        try:
            try:
                for chunk in results:
                    _StopState.writing = True
                    output.write(chunk.text)
                    _StopState.writing = False
                    progress.count_lines(chunk.ok)
                    if _StopState.signum is not None:
                        raise _Stopped(_StopState.signum)
            except WorkersStopped:
                if _StopState.signum is None:
                    raise
                raise _Stopped(_StopState.signum) from None
            if _StopState.signum is not None:
                raise _Stopped(_StopState.signum)
            output.commit()
        except _Stopped as stop:
            _ignore_stop_signals()  # a second signal must not interrupt the clean-up
            close()  # stops the workers, if the signal came while a result was handled
            output.discard()
            return _report_stop(stop.signum, args.output, progress, err)
        except WorkersStopped:
            err.write("iop-placement: a worker process died; the output was not written\n")
            return EXIT_FAILED
        except OSError as error:
            err.write(f"iop-placement: cannot read or write: {error.strerror or error}\n")
            return EXIT_FAILED
    progress.end_line()
    err.write(f"iop-placement: {progress.summary()}\n")
    return EXIT_OK if progress.failed == 0 else EXIT_FAILED


def _report_stop(signum: int, target: str | None, progress: _Progress, err: TextIO) -> int:
    progress.end_line()
    name = signal.Signals(signum).name
    where = (
        f"{target} was not written (left as it was)"
        if target is not None
        else "the output is incomplete"
    )
    err.write(f"iop-placement: stopped by {name}, workers stopped; {where}; ")
    err.write(f"{progress.summary()}\n")
    return 128 + signum


_STOP_SIGNALS: Final = (signal.SIGTERM, signal.SIGINT)


def _catch_stop_signals() -> dict[int, Any]:
    """SIGTERM and SIGINT raise _Stopped in the main thread; the handlers they replace."""
    if threading.current_thread() is not threading.main_thread():
        return {}  # signals are delivered to the main thread only
    return {signum: signal.signal(signum, _on_stop_signal) for signum in _STOP_SIGNALS}


def _ignore_stop_signals() -> None:
    if threading.current_thread() is threading.main_thread():
        for signum in _STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)


def _restore(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def _on_stop_signal(signum: int, _frame: FrameType | None) -> None:
    """Stop the run without raising inside code that holds locks.

    Worker processes are terminated at once (the main thread, waiting for a result, then
    sees WorkersStopped); the loop checks the flag after each chunk it writes. Raising here is
    safe, and needed, only while blocked on input, or when there are no workers and no
    write is under way (the signal then lands in scoring code).
    """
    _StopState.signum = signum
    stopped = batch.stop_workers()
    if _StopState.reading or (not stopped and not _StopState.writing):
        raise _Stopped(signum)
