"""The compiled backend: a rule set's conditions turned into one Python function at load time.

Same input and output as the durable-rules adapter (``fired(fact)`` -> rule names, each
once, in rule order), so the engine can use either. It is the fast path, and the backend
on Pythons where durable-rules does not build. Field names and values in the generated
code come from validated rule files (known fields, allowed values) and are written with
``repr``, so the source cannot be anything but comparisons.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from iop_placement._backends.base import default_weights
from iop_placement._backends.facts import fact_key, fact_keys, fact_name, fact_value
from iop_placement._rules.normal_form import Compare, Equals, Includes, Node, fold
from iop_placement._rules.operators import ORDERS

__all__ = ["CompiledMatcher", "python_source"]


class _Python:
    """The algebra of Python expressions on the fact's values, bound to locals by key."""

    def __init__(self, local: Mapping[str, str]) -> None:
        self.local = local

    def constant(self, value: bool) -> str:
        return repr(value)

    def equals(self, node: Equals) -> str:
        name = self.local[fact_name(node.field)]
        if isinstance(node.value, bool):
            return f"({name} is {node.value!r})"
        return f"({name} == {fact_value(node.value)!r})"

    def compare(self, node: Compare) -> str:
        return f"({self.local[fact_name(node.field)]} {ORDERS[node.op].python} {node.number!r})"

    def includes(self, node: Includes) -> str:
        return f"({self.local[fact_key(node.field, node.item)]} is {node.present!r})"

    def all_of(self, parts: Sequence[str]) -> str:
        return "(" + " and ".join(parts) + ")"

    def any_of(self, parts: Sequence[str]) -> str:
        return "(" + " or ".join(parts) + ")"


def python_source(conditions: Mapping[str, Node], weights: Mapping[str, int]) -> str:
    """The source of ``fired(f)`` and ``mask(f)``: the conditions that hold for fact f.

    ``fired`` lists their names; ``mask`` adds up their ``weights``. Each fact key read
    is looked up once, into a local (most are read by several rules).
    """
    keys = dict.fromkeys(key for node in conditions.values() for key in fact_keys(node))
    local = {key: f"v{index}" for index, key in enumerate(keys)}
    reads = [f"    {name} = f[{key!r}]" for key, name in local.items()]
    python = _Python(local)
    tests = [fold(node, python) for node in conditions.values()]
    lines = ["def fired(f):", *reads, "    out = []"]
    for name, test in zip(conditions, tests, strict=True):
        lines += [f"    if {test}:", f"        out.append({name!r})"]
    lines += ["    return out", "", "def mask(f):", *reads, "    m = 0"]
    for name, test in zip(conditions, tests, strict=True):
        lines += [f"    if {test}:", f"        m += {weights[name]!r}"]
    lines.append("    return m")
    return "\n".join(lines) + "\n"


class CompiledMatcher:
    """Evaluates conditions with one generated function; stateless, so thread-safe."""

    def __init__(
        self,
        name: str,
        conditions: Mapping[str, Node],
        weights: Mapping[str, int] | None = None,
    ) -> None:
        weights = default_weights(conditions) if weights is None else weights
        self.source = python_source(conditions, weights)
        namespace: dict[str, Any] = {}
        exec(compile(self.source, f"<rules {name}>", "exec"), namespace)  # noqa: S102 - see module docstring
        self._fired: Callable[[Mapping[str, Any]], list[str]] = namespace["fired"]
        self.mask: Callable[[Mapping[str, Any]], int] = namespace["mask"]
        """The sum of the weights of the conditions that hold for a fact."""

    def fired(self, fact: Mapping[str, Any]) -> list[str]:
        """Names of the rules whose condition holds for ``fact``."""
        return self._fired(fact)
