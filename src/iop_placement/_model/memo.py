"""A bounded memo keyed by object identity, for values worked out from immutable objects."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

__all__ = ["IdentityMemo"]

K = TypeVar("K")
V = TypeVar("V")


class IdentityMemo(Generic[K, V]):
    """``make(obj)`` worked out once per object, for at most ``limit`` objects at a time.

    For objects that are immutable but not hashable (frozen models holding a dict), which
    the engine hands out again and again. Each entry keeps its object alive, so its ``id``
    cannot be reused while the entry stands; the oldest entries go first once the memo is
    full. Reads take no lock (a dict read is atomic); two threads may both work out a
    value that was missing, and either result is kept: they are equal.
    """

    def __init__(self, make: Callable[[K], V], limit: int) -> None:
        self._make = make
        self._limit = limit
        self._entries: dict[int, tuple[K, V]] = {}
        self._lock = threading.Lock()

    def __call__(self, obj: K) -> V:
        """The value for ``obj``, from the memo when ``obj`` itself is there."""
        entry = self._entries.get(id(obj))
        if entry is not None and entry[0] is obj:
            return entry[1]
        return self._add(obj)

    def many(self, objs: Iterable[K]) -> list[V]:
        """The value for each of ``objs``: one call for a whole tuple of reasons."""
        get = self._entries.get
        values = []
        for obj in objs:
            entry = get(id(obj))
            values.append(entry[1] if entry is not None and entry[0] is obj else self._add(obj))
        return values

    def _add(self, obj: K) -> V:
        value = self._make(obj)
        with self._lock:
            entries = self._entries
            while len(entries) >= self._limit:
                del entries[next(iter(entries))]
            entries[id(obj)] = (obj, value)
        return value

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every entry (and let go of their objects)."""
        with self._lock:
            self._entries.clear()
