"""Work on spawned processes, results in input order, over plain pipes.

Why not ``ProcessPoolExecutor``: stopping its busy workers needs its private process table,
and its feeder and manager threads can block for ever when a worker is killed mid-message.
Here the parent owns the processes and its end of every pipe, and does all its pipe I/O in
the calling thread, non-blocking, with a selector: a stopped worker is just an end of file
(or a broken pipe), and there is no thread to hang.

With ``processes`` N, N - 1 are spawned and the calling process is the N-th: on 2 cores a
spawned worker pays a second start-up (imports, engine) and leaves this process idle but
for passing bytes. This process works its share between rounds of pipe I/O, and alone until
a spawned worker reports ready, so a worker's start-up delays nothing.

Each spawned worker has a pipe for tasks and one for results, and answers its tasks in the
order it got them; each task goes to the worker with the fewest outstanding, at most
``in_flight`` per worker, so memory stays bounded. A frame is a header (kind, length) and a
pickle.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import multiprocessing
import os
import pickle
import selectors
import signal
import struct
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Final, Generic, TypeVar

__all__ = ["WorkersStopped", "ordered_map", "stop_all"]

T = TypeVar("T")
R = TypeVar("R")

_HEADER: Final = struct.Struct("!BQ")  # kind, length of the pickle that follows
_DONE: Final = 0  # the answer
_FAILED: Final = 1  # the work raised, or its answer could not be pickled
_READY: Final = 2  # the worker has started (imports done) and reads its tasks
_READ_SIZE: Final = 1 << 20
_PIPE_BYTES: Final = 1 << 20  # Linux's default limit for an unprivileged process
_JOIN_SECONDS: Final = 10.0
_PENDING: Final = object()  # a result this process has still to work out


class WorkersStopped(BrokenProcessPool):
    """A worker process died or was stopped before it answered (a ``BrokenProcessPool``)."""


def _serve(tasks: Connection, results: Connection, work: Callable[[Any], Any]) -> None:
    """A worker's loop: answer each task in turn until the parent closes the task pipe."""
    # SIGINT from a terminal goes to the whole process group: the parent decides, and stops
    # the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with (
        open(tasks.fileno(), "rb", closefd=False) as source,
        open(results.fileno(), "wb", closefd=False) as sink,
    ):
        sink.write(_HEADER.pack(_READY, 0))
        sink.flush()
        while len(header := source.read(_HEADER.size)) == _HEADER.size:
            _, length = _HEADER.unpack(header)
            task = source.read(length)
            try:
                kind, answer = _DONE, pickle.dumps(work(pickle.loads(task)), protocol=5)  # noqa: S301 - from our parent
            except Exception:  # noqa: BLE001 - the parent redoes the task itself and sees why
                kind, answer = _FAILED, b""
            sink.write(_HEADER.pack(kind, len(answer)))
            sink.write(answer)
            sink.flush()


def _enlarge(pipe: int) -> None:
    """Give a pipe room for a whole chunk's answer (64 kB by default), where Linux allows.

    A worker then writes its answer at once and goes on to its next task, instead of
    waiting for the parent to drain the pipe 64 kB at a time (measured: 8% of its time).
    """
    setting = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setting is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(pipe, setting, _PIPE_BYTES)


class _Worker:
    """The parent's side of one worker: its process, pipe ends and unfinished frames."""

    def __init__(self, context: Any, work: Callable[[Any], Any]) -> None:  # noqa: ANN401 - a multiprocessing context
        task_reader, task_writer = context.Pipe(duplex=False)
        result_reader, result_writer = context.Pipe(duplex=False)
        self.process: BaseProcess = context.Process(
            target=_serve, args=(task_reader, result_writer, work), daemon=True
        )
        try:
            self.process.start()
        finally:
            task_reader.close()  # the child has its copies; ours would hide its end of file
            result_writer.close()
        self._task_pipe, self._result_pipe = task_writer, result_reader
        self.tasks = task_writer.fileno()
        self.results = result_reader.fileno()
        for end in (self.tasks, self.results):
            _enlarge(end)
        os.set_blocking(self.tasks, False)
        os.set_blocking(self.results, False)
        self.outbox = bytearray()  # frames not yet written to the task pipe
        self.inbox = bytearray()  # bytes read from the result pipe, not yet a whole frame
        self.answers: collections.deque[tuple[int, bytes]] = collections.deque()
        self.outstanding = 0
        self.ready = False

    def send(self, task: bytes) -> None:
        self.outbox += _HEADER.pack(_DONE, len(task))
        self.outbox += task
        self.outstanding += 1

    def write(self) -> None:
        try:
            written = os.write(self.tasks, self.outbox[:_READ_SIZE])
        except BlockingIOError:
            return
        except OSError:  # EPIPE: the worker is gone
            raise WorkersStopped("a worker process stopped") from None
        del self.outbox[:written]

    def read(self) -> None:
        try:
            data = os.read(self.results, _READ_SIZE)
        except BlockingIOError:
            return
        if not data:
            raise WorkersStopped("a worker process stopped")
        self.inbox += data
        while len(self.inbox) >= _HEADER.size:
            kind, length = _HEADER.unpack_from(self.inbox)
            end = _HEADER.size + length
            if len(self.inbox) < end:
                break
            if kind == _READY:
                self.ready = True
            else:
                self.answers.append((kind, bytes(self.inbox[_HEADER.size : end])))
                self.outstanding -= 1
            del self.inbox[:end]

    def close(self) -> None:
        """End of tasks: the worker sees end of file and exits."""
        self._task_pipe.close()

    def stop(self) -> None:
        """SIGTERM, unless it already ended (safe in a signal handler: a kill, no waiting)."""
        with contextlib.suppress(OSError, ValueError):
            self.process.terminate()

    def reap(self) -> None:
        self.process.join(_JOIN_SECONDS)
        if self.process.exitcode is None:
            self.process.kill()
            self.process.join()
        self._task_pipe.close()
        self._result_pipe.close()
        self.process.close()


class _Local:
    """The calling process as a worker: it works its tasks between rounds of pipe I/O."""

    def __init__(self) -> None:
        self.outstanding = 0


class _Pool(Generic[T, R]):
    def __init__(self, work: Callable[[T], R], processes: int) -> None:
        self.work = work
        # spawn, not fork: the parent may hold threads and durable-rules state.
        context = multiprocessing.get_context("spawn")
        self.workers: list[_Worker] = []
        self.local = _Local()
        self.selector = selectors.DefaultSelector()
        try:
            for _ in range(processes - 1):
                worker = _Worker(context, work)
                self.workers.append(worker)
                self.selector.register(worker.results, selectors.EVENT_READ, worker)
        except BaseException:
            self.shut_down(stop=True)
            raise

    def map(self, items: Iterable[T], in_flight: int) -> Iterator[R]:
        # In input order: [item, who works it, its result once this process has worked it].
        order: collections.deque[list[Any]] = collections.deque()
        unworked: collections.deque[list[Any]] = collections.deque()  # ours, oldest first
        source = iter(items)
        more = True
        bound = in_flight * (len(self.workers) + 1)
        while True:
            self._exchange(wait=False)
            while more and len(order) < bound:
                try:
                    item = next(source)
                except StopIteration:
                    more = False
                    break
                entry: list[Any] = [item, self._hand_out(item, in_flight), _PENDING]
                order.append(entry)
                if entry[1] is self.local:
                    unworked.append(entry)
            if not order:
                return
            item, worker, result = order[0]
            if result is not _PENDING:
                order.popleft()
                yield result
            elif isinstance(worker, _Worker) and worker.answers:
                order.popleft()
                kind, answer = worker.answers.popleft()
                # A task the worker could not do or answer (an input that does not survive
                # pickling, say) is done here: its own exception, or its results.
                yield pickle.loads(answer) if kind == _DONE else self.work(item)  # noqa: S301
            elif unworked:
                entry = unworked.popleft()
                entry[2] = self.work(entry[0])
                self.local.outstanding -= 1
            else:
                self._exchange(wait=True)

    def _hand_out(self, item: T, in_flight: int) -> _Worker | _Local:
        """The worker with the fewest outstanding tasks (this process on a tie), if ready."""
        ready = [w for w in self.workers if w.ready and w.outstanding < in_flight]
        chosen = min(ready, key=lambda w: w.outstanding, default=None)
        if chosen is None or self.local.outstanding <= chosen.outstanding:
            self.local.outstanding += 1
            return self.local
        try:
            task = pickle.dumps(item, protocol=5)
        except Exception:  # noqa: BLE001 - cannot be sent: worked here, in its turn
            self.local.outstanding += 1
            return self.local
        if not chosen.outbox:
            self.selector.register(chosen.tasks, selectors.EVENT_WRITE, chosen)
        chosen.send(task)
        return chosen

    def _exchange(self, *, wait: bool) -> None:
        """Write what is waiting and read what has come; first wait for a pipe if asked."""
        if not self.workers:
            return
        for key, _ in self.selector.select(None if wait else 0):
            worker: _Worker = key.data
            if key.fd == worker.tasks:
                worker.write()
                if not worker.outbox:
                    self.selector.unregister(worker.tasks)
            else:
                worker.read()

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()

    def shut_down(self, *, stop: bool) -> None:
        """Let the workers finish (end of tasks), or stop them; wait for them either way."""
        self.selector.close()
        for worker in self.workers:
            worker.stop() if stop else worker.close()
        for worker in self.workers:
            worker.reap()


_ACTIVE: Final[set[_Pool[Any, Any]]] = set()


def ordered_map(
    work: Callable[[T], R], items: Iterable[T], *, processes: int, in_flight: int
) -> Iterator[R]:
    """``work(item)`` for each item on ``processes`` spawned workers; results in order.

    ``work`` and the items must pickle (by reference, for a function); an item or result
    that does not is worked in this process instead. Raises WorkersStopped if a worker
    dies or is stopped (:func:`stop_all`). Closing the iterator early stops the workers.
    """
    pool = _Pool(work, processes)
    _ACTIVE.add(pool)
    stop = True
    try:
        yield from pool.map(items, in_flight)
        stop = False
    finally:
        _ACTIVE.discard(pool)
        # Interrupted (a signal, an exception, closed early): stop the workers now rather
        # than let them finish the tasks in flight; none is left behind.
        pool.shut_down(stop=stop)


def stop_all() -> int:
    """Send SIGTERM to the workers of every :func:`ordered_map` running in this process.

    Safe in a signal handler (it only sends signals); each map then raises WorkersStopped
    where it waits. Returns how many maps were stopped.
    """
    pools = list(_ACTIVE)
    for pool in pools:
        pool.stop()
    return len(pools)
