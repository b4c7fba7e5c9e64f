"""The rule-set shapes every backend refuses: what durable-rules' C core cannot hold safely.

The limits are checked when a rule set loads, for every backend, so the durable and the
compiled backend accept exactly the same rule sets. They come from durable-rules 2.0.28's
C core (``src/rules/rete.c``, ``events.c``, ``rules.h``), each confirmed by experiment on
this project's machine (docs/engine.md, "Rule-set limits"):

* at most 4,096 rules (actions) per compiled ruleset: error 106 beyond;
* an alpha node's list of rules ending on it holds 256 entries and is scanned with an
  off-by-one: 256 rules with the same condition segfault, 257 or more read and write past
  the list (valgrind: invalid read and write in ``linkAlpha``) and fail with error 108
  only when the memory behind it happens to be non-zero;
* an alpha node's tests (its children) live in a 512-slot hash set: 512 distinct tests
  under one node make evaluation fail (error 303), more make loading loop forever;
* one rule's expression sequence holds 31 entries, two per ``$and`` or ``$or``: 16 or
  more of them give error 113;
* evaluation walks the network with a 64-entry stack: a fact on which more than 64 alpha
  nodes are pending at once fails with error 303, so the rule set is refused when that
  can happen for any assessment.

This module models the network durable-rules builds from the normal-form conditions
(alpha nodes are shared between rules by their path of tests, each ``$or`` adds a forward
node) and measures those quantities; it imports nothing of durable-rules.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from iop_placement._rules.normal_form import Compare, Equals, Includes, Node, fold

__all__ = [
    "MAX_CHILDREN",
    "MAX_CONNECTIVES",
    "MAX_NESTING",
    "MAX_PENDING",
    "MAX_RULES",
    "MAX_SAME_CONDITION",
    "Violation",
    "check_phase",
    "connectives",
]

MAX_RULES: Final = 4000
"""Rules per phase (durable-rules: 4,096 actions per ruleset, one is the engine's own)."""
MAX_SAME_CONDITION: Final = 250
"""Rules of one phase ending on the same path of tests (durable-rules: fails from 256)."""
MAX_CHILDREN: Final = 500
"""Distinct tests following one path of tests (durable-rules: fails from 512)."""
MAX_CONNECTIVES: Final = 15
"""``all``/``any`` nodes of one condition in normal form (durable-rules: fails from 16)."""
MAX_PENDING: Final = 64
"""Alpha nodes pending at once while one fact is evaluated (durable-rules' stack: 64)."""
MAX_NESTING: Final = 32
"""JSON nesting levels of a rule file (the bundled files use at most 8)."""

# Every phase's ruleset also holds the durable backend's sentinel rule: one test of its own.
_SENTINEL_TEST: Final = ("sentinel",)


@dataclass(frozen=True, slots=True)
class Violation:
    """A limit the rule (by its index in the phase) exceeds, and how."""

    index: int
    problem: str


@dataclass(slots=True)
class _Network:
    """The alpha network of one phase, as durable-rules shares it."""

    size: int = 1  # node 0 is the root
    children: defaultdict[int, dict[tuple[object, ...], int]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    forwards: defaultdict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    rules_ending: defaultdict[int, int] = field(default_factory=lambda: defaultdict(int))
    most_children: int = 0

    def new(self) -> int:
        """A fresh node."""
        self.size += 1
        return self.size - 1

    def test(self, parent: int, key: tuple[object, ...]) -> int:
        """The node for one test after ``parent``: shared when the same test is there."""
        tests = self.children[parent]
        if key not in tests:
            tests[key] = self.new()
            self.most_children = max(self.most_children, len(tests))
        return tests[key]

    def build(self, node: Node, parent: int) -> int:
        """Add a condition after ``parent``; the node its rule ends on.

        Recursive, but only as deep as the condition, which MAX_NESTING bounds.
        """
        return fold(node, _Paths(self))(parent)

    def pending(self) -> int:
        """An upper bound of the alpha nodes pending at once for any fact.

        Of a node's tests on one key, at most one equality holds (a fact has one value per
        key), but every comparison may; every forward node is pushed. Which pushed node is
        worked first is not known, so the bound assumes the worst order.
        """
        order = self._post_order()
        bound: dict[int, int] = {}
        for node in order:
            tests = self.children.get(node, {})
            equality_keys = {key[1] for key in tests if key[0] == "eq"}
            compared = sum(1 for key in tests if key[0] == "cmp")
            pushed = len(equality_keys) + compared + len(self.forwards.get(node, ()))
            following = [*tests.values(), *self.forwards.get(node, ())]
            deepest = max((bound[child] for child in following), default=0)
            bound[node] = pushed + max(0, deepest - 1) if pushed else 0
        return bound[0]

    def _post_order(self) -> list[int]:
        seen: set[int] = set()
        order: list[int] = []
        stack: list[tuple[int, bool]] = [(0, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if node in seen:
                continue
            seen.add(node)
            stack.append((node, True))
            following = [*self.children.get(node, {}).values(), *self.forwards.get(node, ())]
            stack.extend((child, False) for child in following if child not in seen)
        return order


Path = Callable[[int], int]
"""Adds a condition's tests after a node of the network; the node it ends on."""


class _Paths:
    """The algebra of a condition's paths through the network, as durable-rules builds them."""

    def __init__(self, network: _Network) -> None:
        self.network = network

    def _test(self, key: tuple[object, ...]) -> Path:
        return lambda parent: self.network.test(parent, key)

    def constant(self, value: bool) -> Path:  # pragma: no cover - rejected before the limits
        return self._test(("constant", value))

    def equals(self, node: Equals) -> Path:
        return self._test(("eq", node.field, type(node.value).__name__, node.value))

    def includes(self, node: Includes) -> Path:
        return self._test(("eq", f"{node.field}[{node.item}]", "bool", node.present))

    def compare(self, node: Compare) -> Path:
        return self._test(("cmp", node.field, node.op, node.number))

    def all_of(self, parts: Sequence[Path]) -> Path:
        def chain(parent: int) -> int:
            for part in parts:
                parent = part(parent)
            return parent

        return chain

    def any_of(self, parts: Sequence[Path]) -> Path:
        def join(parent: int) -> int:
            forward = self.network.new()  # each $or gets a forward node of its own
            for part in parts:
                self.network.forwards[part(parent)].append(forward)
            return forward

        return join


class _Connectives:
    """The algebra that counts ``all``/``any`` nodes."""

    def constant(self, value: bool) -> int:  # noqa: ARG002 - no connective
        return 0

    def equals(self, node: Equals | Compare | Includes) -> int:  # noqa: ARG002 - no connective
        return 0

    compare = includes = equals

    def all_of(self, parts: Sequence[int]) -> int:
        return 1 + sum(parts)

    any_of = all_of


def connectives(node: Node) -> int:
    """How many ``all``/``any`` nodes a normal-form condition has."""
    return fold(node, _Connectives())


def _network(conditions: Iterable[Node]) -> _Network:
    network = _Network()
    network.rules_ending[network.test(0, _SENTINEL_TEST)] += 1
    for condition in conditions:
        network.rules_ending[network.build(condition, 0)] += 1
    return network


def check_phase(conditions: Sequence[Node]) -> Violation | None:
    """The first limit that the conditions of one phase (in rule order) exceed, if any.

    A violation names the first rule at which the phase exceeds the limit.
    """
    network = _Network()
    network.rules_ending[network.test(0, _SENTINEL_TEST)] += 1
    for index, condition in enumerate(conditions):
        if index >= MAX_RULES:
            return Violation(index, f"a rule set may hold at most {MAX_RULES} rules per phase")
        if (count := connectives(condition)) > MAX_CONNECTIVES:
            return Violation(
                index,
                f"the condition has {count} all/any groups after normalisation (sets and"
                f" negations become any-groups); at most {MAX_CONNECTIVES} are allowed",
            )
        end = network.build(condition, 0)
        network.rules_ending[end] += 1
        if network.rules_ending[end] > MAX_SAME_CONDITION:
            return Violation(
                index,
                f"more than {MAX_SAME_CONDITION} rules share this condition (the same tests"
                " in the same order); merge them or tell them apart",
            )
        if network.most_children > MAX_CHILDREN:
            return Violation(
                index,
                f"more than {MAX_CHILDREN} different tests follow the same tests in this"
                " phase's conditions",
            )
    if network.pending() > MAX_PENDING:
        # The bound only grows as rules are added: find the first rule that exceeds it.
        low, high = 0, len(conditions) - 1
        while low < high:
            middle = (low + high) // 2
            if _network(conditions[: middle + 1]).pending() > MAX_PENDING:
                high = middle
            else:
                low = middle + 1
        return Violation(
            low,
            f"the conditions of this phase could leave more than {MAX_PENDING} tests"
            " pending at once while one assessment is evaluated (too many overlapping"
            " number comparisons or any-groups sharing a test)",
        )
    return None
