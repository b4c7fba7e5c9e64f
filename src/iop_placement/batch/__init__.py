"""Batch scoring: many assessments in order, optionally on several processes.

* :func:`recommend_many` - Python objects in, ``Recommendation`` or ``InvalidAssessment``
  out, one per input, in order.
* :func:`score_lines` / :func:`score_partition` - JSON lines in, JSON lines out: one output
  line per input line, ``{"line": n, "ok": true, "recommendation": {...}}`` or
  ``{"line": n, "ok": false, "error": {...}}``; a bad line never stops the run, whatever
  its bytes (lines may be given as ``bytes``: invalid UTF-8 is an error line, as are
  invalid JSON, nesting too deep to read and numbers too long to convert). This is what
  ``iop-placement assess --jsonl`` and the Dask recipe (docs/scale.md) run.

With ``workers > 1`` the work goes to a pool of processes (the rule engine holds the GIL,
so threads do not add throughput); at most a few chunks per worker are in flight, so
memory stays flat however long the input is.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import itertools
import json
import multiprocessing
import signal
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from importlib.resources.abc import Traversable
from typing import Any, Final, TypeVar

from iop_placement._backends.base import Backend
from iop_placement._engine import PlacementEngine
from iop_placement._model.assessment import Assessment
from iop_placement._model.errors import FieldProblem, InvalidAssessment, PlacementError
from iop_placement._model.recommendation import Recommendation
from iop_placement._rules.bundled import bundled_rules

__all__ = [
    "LINE_TOO_LONG",
    "MAX_LINE_BYTES",
    "is_ok_line",
    "recommend_many",
    "score_lines",
    "score_partition",
    "stop_workers",
]

Result = Recommendation | InvalidAssessment
T = TypeVar("T")
R = TypeVar("R")

CHUNK: Final = 500
MAX_LINE_BYTES: int = 16 * 1024 * 1024
"""Longest input line read, with its ending (``assess --jsonl``); a longer one is skipped."""
LINE_TOO_LONG: Final = b"\n"
"""Passed by a reader in place of a line longer than MAX_LINE_BYTES: its error line says so.

No line split on newlines can be a newline, so the marker never stands for a real line.
"""
_IN_FLIGHT_PER_WORKER: Final = 3
_engines: dict[tuple[str | None, Backend | None], PlacementEngine] = {}


def _engine(rules: str | None, backend: Backend | None) -> PlacementEngine:
    """One engine per process and rule set, built on first use."""
    key = (rules, backend)
    if key not in _engines:
        _engines[key] = PlacementEngine.from_directory(rules or bundled_rules(), backend=backend)
    return _engines[key]


def _recommend_chunk(
    items: list[Assessment | Mapping[str, Any]], rules: str | None, backend: Backend | None
) -> list[Result]:
    engine = _engine(rules, backend)
    results: list[Result] = []
    for item in items:
        try:
            results.append(engine.recommend(item))
        except InvalidAssessment as error:
            results.append(error)
    return results


def _error_line(line: int, message: str, problems: Iterable[FieldProblem] = ()) -> str:
    listed = [dataclasses.asdict(problem) for problem in problems]
    error = {"message": message, "problems": listed}
    return json.dumps({"line": line, "ok": False, "error": error}, ensure_ascii=False)


def _score_line(engine: PlacementEngine, line: int, text: str | bytes) -> str:
    """One output line for one input line; every failure is an error line, in place."""
    # Messages give positions only: the line may hold patient data.
    if text in (LINE_TOO_LONG, "\n"):
        return _error_line(line, f"not read: longer than {MAX_LINE_BYTES:,} bytes")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            return _error_line(line, f"not UTF-8 text (at byte {error.start + 1})")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return _error_line(line, f"not valid JSON ({error.msg} at column {error.colno})")
    except RecursionError:
        return _error_line(line, "not readable: JSON nested too deeply")
    except ValueError:  # an integer longer than Python converts (4,300 digits by default)
        return _error_line(line, "not readable: a number with too many digits")
    try:
        rec = engine.recommend(data)
    except InvalidAssessment as error:
        return _error_line(line, "invalid assessment", error.problems)
    except PlacementError:
        return _error_line(line, "the rule engine failed on this line (internal error)")
    body = {"line": line, "ok": True, "recommendation": rec.model_dump(mode="json")}
    return json.dumps(body, ensure_ascii=False)


def _score_chunk(
    numbered: list[tuple[int, str | bytes]], rules: str | None, backend: Backend | None
) -> list[str]:
    engine = _engine(rules, backend)
    out = []
    for line, text in numbered:
        try:
            out.append(_score_line(engine, line, text))
        except Exception as error:  # noqa: BLE001 - one line never stops the run
            kind = type(error).__name__
            out.append(_error_line(line, f"could not be scored (internal error: {kind})"))
    return out


def is_ok_line(output: str) -> bool:
    """Whether an output line of :func:`score_lines` is a recommendation (not an error)."""
    # Our own format: '{"line": <n>, "ok": true, ...' - the flag is within the first bytes.
    return '"ok": true' in output[:48]


def _ignore_interrupts() -> None:
    """Workers leave SIGINT to the parent, which stops them (a terminal sends it to all)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _run(
    work: Callable[[list[T], str | None, Backend | None], list[R]],
    items: Iterable[T],
    *,
    workers: int,
    rules: Traversable | str | None,
    backend: Backend | None,
    chunk_size: int,
) -> Iterator[R]:
    if workers < 1:
        msg = f"workers must be at least 1, not {workers}"
        raise ValueError(msg)
    if rules is not None and not isinstance(rules, str):
        rules = str(rules)  # a Traversable on disk; processes receive its path
    if workers == 1:
        for chunk in _chunks(items, chunk_size):
            yield from work(chunk, rules, backend)
        return
    # spawn, not fork: the parent may hold threads and durable-rules state.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_ignore_interrupts
    )
    _ACTIVE_POOLS.add(pool)
    try:
        pending: collections.deque[tuple[Future[list[R]], list[T]]] = collections.deque()
        for chunk in _chunks(items, chunk_size):
            pending.append((pool.submit(work, chunk, rules, backend), chunk))
            if len(pending) >= workers * _IN_FLIGHT_PER_WORKER:
                yield from _collect(*pending.popleft(), work, rules, backend)
        while pending:
            yield from _collect(*pending.popleft(), work, rules, backend)
    except BaseException:
        # Interrupted (a signal, KeyboardInterrupt) or closed early: stop the workers now
        # rather than let them finish the chunks in flight; none is left behind.
        _terminate(pool)
        raise
    finally:
        _ACTIVE_POOLS.discard(pool)
        pool.shutdown(wait=True, cancel_futures=True)


_ACTIVE_POOLS: Final[set[ProcessPoolExecutor]] = set()


def stop_workers() -> int:
    """Terminate the worker processes of every batch running in this process.

    Safe to call from a signal handler: it only sends SIGTERM to the workers. The batch
    then ends with ``BrokenProcessPool`` where it waits for a result. Returns how many
    pools were stopped (0: no batch runs on processes).
    """
    pools = list(_ACTIVE_POOLS)
    for pool in pools:
        _terminate(pool)
    return len(pools)


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop the workers now, and make sure the pool can then shut down.

    ProcessPoolExecutor has no public way to stop busy workers: its process table is used
    (as CPython's own tests do). Killing a worker can leave the pool's threads blocked for
    ever, and with them its shutdown and interpreter exit (measured: about 1 in 15
    SIGTERMs under load hung): the queue feeder writing a chunk into the full pipe to the
    workers, or the manager reading a result a worker was killed in the middle of
    sending. The parent holds the other end of both pipes; closing those ends makes the
    blocked write fail and the blocked read end, so the pool breaks and shuts down.
    """
    for process in list((pool._processes or {}).values()):
        process.terminate()
    for queue, end in (("_call_queue", "_reader"), ("_result_queue", "_writer")):
        connection = getattr(getattr(pool, queue, None), end, None)
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.close()


def _collect(
    future: Future[list[R]],
    chunk: list[T],
    work: Callable[[list[T], str | None, Backend | None], list[R]],
    rules: str | None,
    backend: Backend | None,
) -> list[R]:
    """A chunk's results; a chunk that cannot be sent to a worker is worked here.

    An input that cannot be pickled (an object whose attribute access raises, say) fails
    the whole chunk's hand-over; working it in this process gives each item its own
    result (an ``InvalidAssessment`` for the unreadable one) instead.
    """
    try:
        return future.result()
    except BrokenProcessPool:
        raise
    except Exception:  # noqa: BLE001 - the hand-over failed, not the work: do it here
        return work(chunk, rules, backend)


def recommend_many(
    assessments: Iterable[Assessment | Mapping[str, Any]],
    *,
    workers: int = 1,
    rules: Traversable | str | None = None,
    backend: Backend | None = None,
    chunk_size: int = CHUNK,
) -> Iterator[Result]:
    """Recommend for each assessment, in order; an invalid one yields its InvalidAssessment.

    ``rules`` is a rule set directory (default: the bundled rules); ``workers`` > 1 uses
    that many processes.
    """
    return _run(
        _recommend_chunk,
        assessments,
        workers=workers,
        rules=rules,
        backend=backend,
        chunk_size=chunk_size,
    )


def score_lines(
    lines: Iterable[str | bytes],
    *,
    workers: int = 1,
    rules: Traversable | str | None = None,
    backend: Backend | None = None,
    chunk_size: int = CHUNK,
) -> Iterator[str]:
    """Score JSON lines: one output line (without newline) per input line, in order.

    A line may be ``bytes`` (read in binary, so no byte can split or stop the run).
    """
    numbered = ((number, text) for number, text in enumerate(lines, 1))
    return _run(
        _score_chunk, numbered, workers=workers, rules=rules, backend=backend, chunk_size=chunk_size
    )


def score_partition(lines: Iterable[str | bytes], rules: str | None = None) -> list[str]:
    """Score one partition of JSON lines (for Dask or Spark); line numbers count from 1."""
    return _score_chunk(list(enumerate(lines, 1)), rules, None)
