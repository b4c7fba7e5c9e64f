"""Batch scoring: many assessments in order, optionally on several processes.

* :func:`recommend_many` - Python objects in, ``Recommendation`` or ``InvalidAssessment``
  out, one per input, in order.
* :func:`score_lines` / :func:`score_partition` - JSON lines in, JSON lines out: one output
  line per input line, ``{"line": n, "ok": true, "recommendation": {...}}`` or
  ``{"line": n, "ok": false, "error": {...}}``; a bad line never stops the run, whatever
  its bytes (lines may be given as ``bytes``: invalid UTF-8 is an error line, as are
  invalid JSON, nesting too deep to read and numbers too long to convert). This is what
  ``iop-placement assess --jsonl`` and the Dask recipe (docs/scale.md) run.
* :func:`score_chunks` - the same, as UTF-8 blocks of output lines: what the command line
  writes, so that with worker processes the parent only passes bytes along, in order.

With ``workers`` N > 1 the work goes to N processes: N - 1 spawned ones and this one
(batch._workers; the rule engine holds the GIL, so threads do not add throughput). Each
parses, scores and serialises its own chunks of lines, and at most a few chunks per worker
are in flight, so memory stays flat however long the input is.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from importlib.resources.abc import Traversable
from typing import Any, Final, NamedTuple, TypeVar

from pydantic import TypeAdapter

from iop_placement._backends.base import Backend
from iop_placement._engine import PlacementEngine
from iop_placement._model.assessment import Assessment
from iop_placement._model.errors import FieldProblem, InvalidAssessment, PlacementError
from iop_placement._model.recommendation import Recommendation
from iop_placement._rules.bundled import bundled_rules
from iop_placement.batch._workers import WorkersStopped, ordered_map, stop_all

__all__ = [
    "LINE_TOO_LONG",
    "MAX_LINE_BYTES",
    "ScoredChunk",
    "WorkersStopped",
    "is_ok_line",
    "recommend_many",
    "score_chunks",
    "score_lines",
    "score_partition",
    "stop_workers",
]

Result = Recommendation | InvalidAssessment
T = TypeVar("T")
R = TypeVar("R")

CHUNK: Final = 500
LINES_CHUNK: Final = 64
"""Lines per chunk for :func:`score_chunks`: about 20 ms of work, under 1 MB of output."""
MAX_LINE_BYTES: int = 16 * 1024 * 1024
"""Longest input line read, with its ending (``assess --jsonl``); a longer one is skipped."""
LINE_TOO_LONG: Final = b"\n"
"""Passed by a reader in place of a line longer than MAX_LINE_BYTES: its error line says so.

No line split on newlines can be a newline, so the marker never stands for a real line.
"""
_IN_FLIGHT_PER_WORKER: Final = 3
_engines: dict[tuple[str | None, Backend | None], PlacementEngine] = {}
# pydantic's serialiser writes the JSON itself (UTF-8 bytes), several times faster than
# model_dump() then json.dumps() for a recommendation of some 13 kB.
_RECOMMENDATION: Final = TypeAdapter(Recommendation)


class ScoredChunk(NamedTuple):
    """Consecutive output lines of :func:`score_chunks`."""

    text: bytes
    """The lines, UTF-8, each ending in ``\\n``."""
    ok: bytes
    """One byte per line: 1 for a recommendation, 0 for an error line."""


def _engine(rules: str | None, backend: Backend | None) -> PlacementEngine:
    """One engine per process and rule set, built on first use."""
    key = (rules, backend)
    if key not in _engines:
        _engines[key] = PlacementEngine.from_directory(rules or bundled_rules(), backend=backend)
    return _engines[key]


def _recommend_chunk(
    rules: str | None, backend: Backend | None, items: list[Assessment | Mapping[str, Any]]
) -> list[Result]:
    engine = _engine(rules, backend)
    results: list[Result] = []
    for item in items:
        try:
            results.append(engine.recommend(item))
        except InvalidAssessment as error:
            results.append(error)
    return results


def _encode(text: str) -> bytes:
    # A lone surrogate (from a JSON escape) is written as its escape, not refused.
    return text.encode("utf-8", "backslashreplace")


def _error_line(line: int, message: str, problems: Iterable[FieldProblem] = ()) -> bytes:
    listed = [dataclasses.asdict(problem) for problem in problems]
    error = {"message": message, "problems": listed}
    return _encode(json.dumps({"line": line, "ok": False, "error": error}, ensure_ascii=False))


def _recommendation_json(rec: Recommendation) -> bytes:
    try:
        return _RECOMMENDATION.dump_json(rec)
    except ValueError:  # a string pydantic will not write (a lone surrogate): the slow way
        return _encode(json.dumps(rec.model_dump(mode="json"), ensure_ascii=False))


def _score_line(engine: PlacementEngine, line: int, text: str | bytes) -> tuple[bytes, bool]:
    """One output line for one input line, and whether it is ok; every failure in place."""
    # Messages give positions only: the line may hold patient data.
    if text in (LINE_TOO_LONG, "\n"):
        return _error_line(line, f"not read: longer than {MAX_LINE_BYTES:,} bytes"), False
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            return _error_line(line, f"not UTF-8 text (at byte {error.start + 1})"), False
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        message = f"not valid JSON ({error.msg} at column {error.colno})"
        return _error_line(line, message), False
    except RecursionError:
        return _error_line(line, "not readable: JSON nested too deeply"), False
    except ValueError:  # an integer longer than Python converts (4,300 digits by default)
        return _error_line(line, "not readable: a number with too many digits"), False
    try:
        rec = engine.recommend(data)
    except InvalidAssessment as error:
        return _error_line(line, "invalid assessment", error.problems), False
    except PlacementError:
        message = "the rule engine failed on this line (internal error)"
        return _error_line(line, message), False
    return b'{"line": %d, "ok": true, "recommendation": %b}' % (
        line,
        _recommendation_json(rec),
    ), True


def _score_chunk(
    rules: str | None, backend: Backend | None, numbered: tuple[int, list[str | bytes]]
) -> ScoredChunk:
    """Score consecutive lines, the first numbered ``numbered[0]``."""
    first, lines = numbered
    engine = _engine(rules, backend)
    out: list[bytes] = []
    ok = bytearray(len(lines))
    for index, text in enumerate(lines):
        try:
            result, ok[index] = _score_line(engine, first + index, text)
        except Exception as error:  # noqa: BLE001 - one line never stops the run
            kind = type(error).__name__
            result = _error_line(first + index, f"could not be scored (internal error: {kind})")
        out.append(result)
    out.append(b"")
    return ScoredChunk(b"\n".join(out), bytes(ok))


def is_ok_line(output: str | bytes) -> bool:
    """Whether an output line of :func:`score_lines` is a recommendation (not an error)."""
    # Our own format: '{"line": <n>, "ok": true, ...' - the flag is within the first bytes.
    if isinstance(output, bytes):
        return b'"ok": true' in output[:48]
    return '"ok": true' in output[:48]


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _numbered_chunks(lines: Iterable[T], size: int) -> Iterator[tuple[int, list[T]]]:
    first = 1
    for chunk in _chunks(lines, size):
        yield first, chunk
        first += len(chunk)


def _run(
    work: Callable[[str | None, Backend | None, T], R],
    chunks: Iterable[T],
    *,
    workers: int,
    rules: Traversable | str | None,
    backend: Backend | None,
) -> Iterator[R]:
    if workers < 1:
        msg = f"workers must be at least 1, not {workers}"
        raise ValueError(msg)
    if rules is not None and not isinstance(rules, str):
        rules = str(rules)  # a Traversable on disk; processes receive its path
    bound = functools.partial(work, rules, backend)  # pickles by reference, with its args
    if workers == 1:
        # In this process: no pool, no pickling, nothing to start.
        return map(bound, chunks)
    return ordered_map(bound, chunks, processes=workers, in_flight=_IN_FLIGHT_PER_WORKER)


def stop_workers() -> int:
    """Terminate the worker processes of every batch running in this process.

    Safe to call from a signal handler: it only sends SIGTERM to the workers. The batch
    then ends with ``WorkersStopped`` (a ``BrokenProcessPool``) where it waits for a
    result. Returns how many batches were stopped (0: no batch runs on processes).
    """
    return stop_all()


def recommend_many(
    assessments: Iterable[Assessment | Mapping[str, Any]],
    *,
    workers: int = 1,
    rules: Traversable | str | None = None,
    backend: Backend | None = None,
    chunk_size: int = CHUNK,
) -> Generator[Result, None, None]:
    """Recommend for each assessment, in order; an invalid one yields its InvalidAssessment.

    ``rules`` is a rule set directory (default: the bundled rules); ``workers`` > 1 uses
    that many processes.
    """
    chunks = _chunks(assessments, chunk_size)
    # A generator, so that closing it closes the workers' iterator (and stops them).
    for results in _run(_recommend_chunk, chunks, workers=workers, rules=rules, backend=backend):
        yield from results


def score_chunks(
    lines: Iterable[str | bytes],
    *,
    workers: int = 1,
    rules: Traversable | str | None = None,
    backend: Backend | None = None,
    chunk_size: int = LINES_CHUNK,
) -> Iterator[ScoredChunk]:
    """Score JSON lines: their output lines in order, ``chunk_size`` input lines at a time.

    A line may be ``bytes`` (read in binary, so no byte can split or stop the run).
    """
    chunks = _numbered_chunks(lines, chunk_size)
    return _run(_score_chunk, chunks, workers=workers, rules=rules, backend=backend)


def _split(chunk: ScoredChunk) -> list[str]:
    # JSON escapes every control character, so a newline only ever ends a line.
    return chunk.text.decode("utf-8").split("\n")[:-1]


def score_lines(
    lines: Iterable[str | bytes],
    *,
    workers: int = 1,
    rules: Traversable | str | None = None,
    backend: Backend | None = None,
    chunk_size: int = LINES_CHUNK,
) -> Generator[str, None, None]:
    """Score JSON lines: one output line (without newline) per input line, in order.

    A line may be ``bytes`` (read in binary, so no byte can split or stop the run).
    """
    chunks = score_chunks(
        lines, workers=workers, rules=rules, backend=backend, chunk_size=chunk_size
    )
    for chunk in chunks:
        yield from _split(chunk)


def score_partition(lines: Iterable[str | bytes], rules: str | None = None) -> list[str]:
    """Score one partition of JSON lines (for Dask or Spark); line numbers count from 1."""
    return _split(_score_chunk(rules, None, (1, list(lines))))
