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
* :func:`stream_partition` / :func:`score_numbered` - a Dask or Spark partition, lazily,
  64 lines at a time (memory bounded however large the partition), numbered from a given
  line or by the line numbers carried in (docs/scale.md).
* ``compact=True`` - each recommendation as its level, flags, reason rule ids and ratings
  (about 5 % of the full size); :func:`compact_catalogue` is the rule catalogue to write
  once beside them.

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
from iop_placement._model.levels import Dimension
from iop_placement._model.recommendation import Recommendation
from iop_placement._rules.bundled import bundled_rules
from iop_placement.batch._workers import WorkersStopped, ordered_map, stop_all

__all__ = [
    "COMPACT_FORMAT",
    "LINE_TOO_LONG",
    "MAX_LINE_BYTES",
    "ScoredChunk",
    "WorkersStopped",
    "compact_catalogue",
    "is_ok_line",
    "recommend_many",
    "score_chunks",
    "score_lines",
    "score_numbered",
    "score_partition",
    "stop_workers",
    "stream_partition",
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
COMPACT_FORMAT: Final = "iop-placement-compact/1"
"""The version of the compact line format, named in :func:`compact_catalogue`."""


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


def _compact_json(rec: Recommendation) -> bytes:
    """A recommendation by codes and rule ids; the words are in the catalogue, once."""
    compact = {
        "level": rec.level.value,
        "flags": [flag.value for flag in rec.flags],
        "reasons": [reason.rule_id for reason in rec.reasons],
        "ratings": [rating.rating for rating in rec.dimensions],
        "alternative": rec.alternative.level.value if rec.alternative else None,
        "safety_override": rec.safety_override,
        "asam": [f"{level.edition}:{level.code}" for level in rec.asam.levels]
        if rec.asam
        else None,
    }
    return _encode(json.dumps(compact, ensure_ascii=False, separators=(",", ":")))


def compact_catalogue(rules: Traversable | str | None = None) -> dict[str, Any]:
    """What a compact line's codes and rule ids mean: write it once beside a bulk run.

    The rule set (name, version, SHA-256: which rules scored the lines), the order of the
    ``ratings`` (the dimensions), and every rule as ``iop-placement rules --json`` gives it
    (title, criterion, outcome, source), by id.
    """
    engine = _engine(None if rules is None else str(rules), None)
    rule_set = engine.rule_set
    rec_dimensions = [d.value for d in Dimension]
    return {
        "format": COMPACT_FORMAT,
        "ruleset": {"name": rule_set.name, "version": rule_set.version, "sha256": rule_set.sha256},
        "line": {
            "level": "the recommended level of care (LevelOfCare code)",
            "flags": "Flag codes",
            "reasons": "the rule ids of the reasons, deciding (most intensive level) first",
            "ratings": "the risk rating 0-4 of each dimension, in the order of 'dimensions'",
            "alternative": "a less intensive level the clinician may weigh, or null",
            "safety_override": "a danger to life is present: the level leads",
            "asam": "approximate ASAM levels as '<edition>:<code>', or null",
        },
        "dimensions": rec_dimensions,
        "rules": {
            rule.id: rule.model_dump(mode="json", by_alias=True, exclude_none=True)
            for rule in rule_set.rules
        },
    }


def _score_line(
    engine: PlacementEngine, line: int, text: str | bytes, compact: bool = False
) -> tuple[bytes, bool]:
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
    if compact:
        return b'{"line": %d, "ok": true, "compact": %b}' % (line, _compact_json(rec)), True
    return b'{"line": %d, "ok": true, "recommendation": %b}' % (
        line,
        _recommendation_json(rec),
    ), True


def _score_numbered(
    engine: PlacementEngine, numbers: Iterable[int], lines: list[str | bytes], compact: bool
) -> ScoredChunk:
    out: list[bytes] = []
    ok = bytearray(len(lines))
    for index, (number, text) in enumerate(zip(numbers, lines, strict=True)):
        try:
            result, ok[index] = _score_line(engine, number, text, compact)
        except Exception as error:  # noqa: BLE001 - one line never stops the run
            kind = type(error).__name__
            result = _error_line(number, f"could not be scored (internal error: {kind})")
        out.append(result)
    out.append(b"")
    return ScoredChunk(b"\n".join(out), bytes(ok))


def _score_chunk(
    rules: str | None, backend: Backend | None, numbered: tuple[int, list[str | bytes]]
) -> ScoredChunk:
    """Score consecutive lines, the first numbered ``numbered[0]``."""
    first, lines = numbered
    numbers = range(first, first + len(lines))
    return _score_numbered(_engine(rules, backend), numbers, lines, compact=False)


def _score_chunk_compact(
    rules: str | None, backend: Backend | None, numbered: tuple[int, list[str | bytes]]
) -> ScoredChunk:
    """:func:`_score_chunk` with compact recommendations."""
    first, lines = numbered
    numbers = range(first, first + len(lines))
    return _score_numbered(_engine(rules, backend), numbers, lines, compact=True)


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
    compact: bool = False,
) -> Iterator[ScoredChunk]:
    """Score JSON lines: their output lines in order, ``chunk_size`` input lines at a time.

    A line may be ``bytes`` (read in binary, so no byte can split or stop the run).
    ``compact`` writes each recommendation by codes and rule ids (:func:`compact_catalogue`).
    """
    chunks = _numbered_chunks(lines, chunk_size)
    work = _score_chunk_compact if compact else _score_chunk
    return _run(work, chunks, workers=workers, rules=rules, backend=backend)


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
    compact: bool = False,
) -> Generator[str, None, None]:
    """Score JSON lines: one output line (without newline) per input line, in order.

    A line may be ``bytes`` (read in binary, so no byte can split or stop the run).
    """
    chunks = score_chunks(
        lines,
        workers=workers,
        rules=rules,
        backend=backend,
        chunk_size=chunk_size,
        compact=compact,
    )
    for chunk in chunks:
        yield from _split(chunk)


def score_partition(lines: Iterable[str | bytes], rules: str | None = None) -> list[str]:
    """Score one partition of JSON lines; line numbers count from 1.

    The whole partition's output is held in memory: for large partitions use
    :func:`stream_partition` (Dask) or :func:`score_numbered` (Spark).
    """
    return list(stream_partition(lines, rules))


def stream_partition(
    lines: Iterable[str | bytes],
    rules: str | None = None,
    *,
    first_line: int = 1,
    compact: bool = False,
) -> Iterator[str]:
    """Score one partition lazily, :data:`LINES_CHUNK` lines at a time, from ``first_line``.

    Output lines come without a newline (Dask's ``to_textfiles(..., last_endline=True)``
    ends every one). Memory stays bounded by a chunk however large the partition.
    """
    engine = _engine(rules, None)
    for first, chunk in _numbered_chunks(lines, LINES_CHUNK):
        numbers = range(first_line + first - 1, first_line + first - 1 + len(chunk))
        yield from _split(_score_numbered(engine, numbers, chunk, compact))


def score_numbered(
    numbered: Iterable[tuple[int, str | bytes]],
    rules: str | None = None,
    *,
    compact: bool = False,
) -> Iterator[str]:
    """Score ``(line number, line)`` pairs lazily: line numbers carried in, so they are global.

    For Spark, where a partition does not know where it starts: number the lines across
    the whole input first (``rdd.zipWithIndex()``), then ``mapPartitions`` with this.
    """
    engine = _engine(rules, None)
    for chunk in _chunks(numbered, LINES_CHUNK):
        numbers = [number for number, _ in chunk]
        yield from _split(_score_numbered(engine, numbers, [text for _, text in chunk], compact))
