"""A thin, safe adapter over durable-rules' C core (``durable_rules_engine``).

Measured facts this module is built on (durable-rules 2.0.28, see docs/engine.md):

* ``durable.lang`` is one process-global registry and ``durable.engine.Host`` starts timer
  threads that race with deleted state (silent empty results, error 307, segfaults).
  Neither is used: this module drives the C core directly, with no Python actions at all.
* A fact fires every matching rule (an event fires only the first), but a rule fires
  once per satisfied branch of an ``$or``: rule names are de-duplicated here.
* Each evaluation uses a fresh session id whose state is deleted afterwards (at most 1024
  live states per ruleset); the C calls of one evaluation are serialised by a lock.
* Numeric tests are written ``{"$lt": {"field": n}}``; there is no ``$in`` and no ``$not``.
* The C core never initialises a new state's action context, and ``delete_state`` frees
  it: deleting a state on which no action ever started frees heap garbage (segfault or
  ``free(): invalid pointer``, 10 crashes in 10 runs of tests/test_durable_adapter.py's
  reproducer). A sentinel rule that matches every fact makes an action start on every
  state, which sets the context and then clears it, so the delete is safe. After any
  failure the state is not deleted: the whole C ruleset is replaced instead.
"""

from __future__ import annotations

import itertools
import json
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any, Final

import durable_rules_engine as _core

from iop_placement._errors import PlacementError
from iop_placement._normal_form import And, Compare, Constant, Equals, Includes, Node, Or

__all__ = ["CompiledRuleset", "fact_key", "to_durable"]

_OPERATORS: Final = {"lt": "$lt", "le": "$lte", "gt": "$gt", "ge": "$gte"}
_HANDLED: Final = 0
SENTINEL_KEY: Final = "always__"
_SENTINEL_RULE: Final = "sentinel__"


def fact_key(field: str, item: str) -> str:
    """The flat key that says whether list ``field`` includes ``item``."""
    return f"{field}__{item}"


def to_durable(node: Node) -> dict[str, Any]:
    """One normal-form condition as a durable-rules expression."""
    if isinstance(node, Equals):
        return {node.field: node.value}
    if isinstance(node, Compare):
        return {_OPERATORS[node.op]: {node.field: node.number}}
    if isinstance(node, Includes):
        return {fact_key(node.field, node.item): node.present}
    if isinstance(node, And | Or):
        return {"$and" if isinstance(node, And) else "$or": [to_durable(p) for p in node.parts]}
    if isinstance(node, Constant):  # pragma: no cover - rejected when the rule set loads
        msg = "a constant condition cannot be compiled"
        raise PlacementError(msg)
    raise TypeError(node)  # pragma: no cover


class CompiledRuleset:
    """One durable-rules ruleset whose rules are only conditions; thread-safe.

    ``fired(fact)`` returns the names of the rules whose condition holds, each once, in
    the order durable-rules fired them.
    """

    def __init__(self, name: str, conditions: Mapping[str, Node]) -> None:
        if _SENTINEL_RULE in conditions:
            msg = f"{_SENTINEL_RULE!r} is reserved"
            raise PlacementError(msg)
        definition = {rule: {"all": [{"m": to_durable(node)}]} for rule, node in conditions.items()}
        definition[_SENTINEL_RULE] = {"all": [{"m": {SENTINEL_KEY: True}}]}
        self._name = name
        self._definition = json.dumps(definition)
        self._lock = threading.Lock()
        self._sessions = itertools.count(1)
        self._create()

    def _create(self) -> None:
        try:
            self._handle = _core.create_ruleset(self._name, self._definition)
        except _core.error as error:
            msg = f"durable-rules rejected rule set {self._name!r}: {error}"
            raise PlacementError(msg) from None
        # Free the C ruleset when this object goes; no states are alive between calls.
        self._finalizer = weakref.finalize(self, _core.delete_ruleset, self._handle)

    def _recreate(self) -> None:
        """Start over with a fresh C ruleset after a failure.

        A state left by a failed evaluation may hold an uninitialised context, and
        ``delete_state`` would free it; deleting the whole ruleset leaves states alone.
        """
        self._finalizer()
        self._create()

    def fired(self, fact: Mapping[str, Any]) -> list[str]:
        """Names of the rules that hold for ``fact`` (without the keys ``sid``, ``id``)."""
        with self._lock:
            sid = str(next(self._sessions))
            message = json.dumps({**fact, SENTINEL_KEY: True, "sid": sid})
            try:
                names = self._fire(message)
                _core.delete_state(self._handle, sid)
            except _core.error as error:
                self._recreate()
                msg = f"durable-rules failed evaluating rule set {self._name!r}: {error}"
                raise PlacementError(msg) from None
            except BaseException:
                self._recreate()
                raise
            return names

    def _fire(self, message: str) -> list[str]:
        code, state = _core.assert_fact(self._handle, message)
        if code != _HANDLED:  # the sentinel always matches, so "not handled" is an error too
            msg = f"durable-rules answered code {code} for a fresh session"
            raise PlacementError(msg)
        names: dict[str, None] = {}
        started = _core.start_action_for_state(self._handle, state)
        action: str | None = started[1] if started else None
        while action:
            names[_rule_name(action)] = None
            action = _core.complete_and_start_action(self._handle, state)
        names.pop(_SENTINEL_RULE, None)
        return list(names)


def _rule_name(action: str) -> str:
    # An action message is {"<rule name>":{...}}; rule names are ours and never hold quotes.
    return action[2 : action.index('"', 2)]


def rule_names(count: int) -> Sequence[str]:
    """Short, safe durable-rules names for ``count`` rules."""
    return [f"r{index}" for index in range(count)]
