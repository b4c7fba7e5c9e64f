"""A thin, safe adapter over durable-rules' C core (``durable_rules_engine``).

Measured facts this module is built on (durable-rules 2.0.28, see docs/engine.md):

* ``durable.lang`` is one process-global registry and ``durable.engine.Host`` starts timer
  threads that race with deleted state (silent empty results, error 307, segfaults).
  Neither is used: this module drives the C core directly, with no Python actions at all.
* A fact fires every matching rule (an event fires only the first), but a rule fires
  once per satisfied branch of an ``$or``: rule names are de-duplicated here.
* Every evaluation asserts its fact into one session and retracts it afterwards: one
  fact is ever alive, so the 32-bit fact hashes cannot collide, and no session state is
  created or freed per evaluation (that costs about 100 us; assert + retract about 17 us).
  The C calls of one evaluation are serialised by a lock.
* Numeric tests are written ``{"$lt": {"field": n}}``; there is no ``$in`` and no ``$not``.
* The C core never initialises a new state's action context, and ``delete_state`` frees
  it: deleting a state on which no action ever started frees heap garbage (segfault or
  ``free(): invalid pointer``, 10 crashes in 10 runs of tests/test_durable_backend.py's
  reproducer). A sentinel rule that matches every fact makes an action start on every
  state, which sets the context and then clears it, so the delete is safe. After any
  failure the session is not deleted: the whole C ruleset is replaced instead.
"""

from __future__ import annotations

import json
import os
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any, Final

import durable_rules_engine as _core
import orjson

from iop_placement._backends.base import default_weights
from iop_placement._backends.facts import fact_key, fact_keys, fact_name, fact_value
from iop_placement._model.errors import PlacementError
from iop_placement._rules.normal_form import Compare, Equals, Includes, Node, fold
from iop_placement._rules.operators import ORDERS

__all__ = ["DurableMatcher", "to_durable"]

_HANDLED: Final = 0
SENTINEL_KEY: Final = "always__"
_SENTINEL_RULE: Final = "sentinel__"


class _Durable:
    """The algebra of durable-rules expressions."""

    def constant(self, value: bool) -> dict[str, Any]:  # noqa: ARG002  # pragma: no cover
        # A constant condition is rejected when the rule set loads.
        msg = "a constant condition cannot be compiled"
        raise PlacementError(msg)

    def equals(self, node: Equals) -> dict[str, Any]:
        return {fact_name(node.field): fact_value(node.value)}

    def compare(self, node: Compare) -> dict[str, Any]:
        return {ORDERS[node.op].durable: {fact_name(node.field): node.number}}

    def includes(self, node: Includes) -> dict[str, Any]:
        return {fact_key(node.field, node.item): node.present}

    def all_of(self, parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
        return {"$and": list(parts)}

    def any_of(self, parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
        return {"$or": list(parts)}


def to_durable(node: Node) -> dict[str, Any]:
    """One normal-form condition as a durable-rules expression."""
    return fold(node, _Durable())


_SESSION: Final = "0"


def _dispose(handle: int, used: list[bool]) -> None:
    """Free a C ruleset: its session first (delete_ruleset would leak it), then the ruleset."""
    if used[0]:
        # Safe: the sentinel made an action start and finish on the session, which set
        # its context and then cleared it.
        _core.delete_state(handle, _SESSION)
    _core.delete_ruleset(handle)


class DurableMatcher:
    """One durable-rules ruleset whose rules are only conditions; thread-safe.

    ``fired(fact)`` returns the names of the rules whose condition holds, each once, in
    the order durable-rules fired them. Every evaluation asserts the fact into the same
    session and retracts it afterwards, so only one fact is ever alive.
    """

    def __init__(
        self,
        name: str,
        conditions: Mapping[str, Node],
        weights: Mapping[str, int] | None = None,
    ) -> None:
        if _SENTINEL_RULE in conditions:
            msg = f"{_SENTINEL_RULE!r} is reserved"
            raise PlacementError(msg)
        definition = {rule: {"all": [{"m": to_durable(node)}]} for rule, node in conditions.items()}
        definition[_SENTINEL_RULE] = {"all": [{"m": {SENTINEL_KEY: True}}]}
        self._name = name
        self._definition = json.dumps(definition)
        # durable-rules parses every key of the fact it is given: only the ones read here.
        self._keys = tuple(
            dict.fromkeys(k for node in conditions.values() for k in fact_keys(node))
        )
        self._weights = dict(default_weights(conditions) if weights is None else weights)
        self._lock = threading.Lock()
        self._create()
        _LIVE.add(self)

    def _create(self) -> None:
        try:
            self._handle = _core.create_ruleset(self._name, self._definition)
        except _core.error as error:
            msg = f"durable-rules rejected rule set {self._name!r}: {error}"
            raise PlacementError(msg) from None
        self._used = [False]
        self._finalizer = weakref.finalize(self, _dispose, self._handle, self._used)

    def _restart_in_child(self) -> None:
        """After a fork: a new lock and a fresh C ruleset; the inherited ones are abandoned.

        Another thread of the parent may have held the lock, with a fact asserted and its
        actions half read: neither the lock nor that session can be trusted or freed.
        """
        self._lock = threading.Lock()
        self._finalizer.detach()
        self._create()

    def _recreate(self) -> None:
        """Start over with a fresh C ruleset after a failure.

        The session of a failed evaluation may hold an uninitialised context, which
        ``delete_state`` would free: it is abandoned with its ruleset, not deleted.
        """
        self._finalizer.detach()
        _core.delete_ruleset(self._handle)
        self._create()

    def fired(self, fact: Mapping[str, Any]) -> list[str]:
        """Names of the rules that hold for ``fact`` (without the keys ``sid``, ``id``)."""
        read = {key: fact[key] for key in self._keys}
        read[SENTINEL_KEY] = True
        read["sid"] = _SESSION
        message = orjson.dumps(read).decode()  # the C core takes str
        with self._lock:
            try:
                names = self._fire(message)
                _core.retract_fact(self._handle, message)
            except _core.error as error:
                self._recreate()
                msg = f"durable-rules failed evaluating rule set {self._name!r}: {error}"
                raise PlacementError(msg) from None
            except BaseException:
                self._recreate()
                raise
            self._used[0] = True
            return names

    def mask(self, fact: Mapping[str, Any]) -> int:
        """The sum of the weights of the rules that hold for ``fact``."""
        return sum(map(self._weights.__getitem__, self.fired(fact)))

    def _fire(self, message: str) -> list[str]:
        code, state = _core.assert_fact(self._handle, message)
        if code != _HANDLED:  # the sentinel always matches, so "not handled" is an error too
            msg = f"durable-rules answered code {code} for the session's only fact"
            raise PlacementError(msg)
        names: dict[str, None] = {}
        started = _core.start_action_for_state(self._handle, state)
        action: str | None = started[1] if started else None
        while action:
            names[_rule_name(action)] = None
            action = _core.complete_and_start_action(self._handle, state)
        names.pop(_SENTINEL_RULE, None)
        return list(names)


_LIVE: Final[weakref.WeakSet[DurableMatcher]] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for matcher in list(_LIVE):
        matcher._restart_in_child()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _rule_name(action: str) -> str:
    # An action message is {"<rule name>":{...}}; rule names are ours and never hold quotes.
    return action[2 : action.index('"', 2)]
