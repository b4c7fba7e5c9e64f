"""The compiled backend: a rule set's conditions turned into one Python function at load time.

Same input and output as the durable-rules adapter (``fired(fact)`` -> rule names, each
once, in rule order), so the engine can use either. It is the fast path, and the backend
on Pythons where durable-rules does not build. Field names and values in the generated
code come from validated rule files (known fields, allowed values) and are written with
``repr``, so the source cannot be anything but comparisons.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from iop_placement._backends.facts import fact_key, fact_name, fact_value
from iop_placement._rules.normal_form import And, Compare, Constant, Equals, Includes, Node, Or
from iop_placement._rules.operators import ORDERS

__all__ = ["CompiledMatcher", "python_source"]


def _expression(node: Node) -> str:
    if isinstance(node, Equals):
        key = fact_name(node.field)
        if isinstance(node.value, bool):
            return f"(f[{key!r}] is {node.value!r})"
        return f"(f[{key!r}] == {fact_value(node.value)!r})"
    if isinstance(node, Compare):
        return f"(f[{fact_name(node.field)!r}] {ORDERS[node.op].python} {node.number!r})"
    if isinstance(node, Includes):
        return f"(f[{fact_key(node.field, node.item)!r}] is {node.present!r})"
    if isinstance(node, And | Or):
        joiner = " and " if isinstance(node, And) else " or "
        return "(" + joiner.join(_expression(part) for part in node.parts) + ")"
    if isinstance(node, Constant):
        return repr(node.value)
    raise TypeError(node)  # pragma: no cover


def python_source(conditions: Mapping[str, Node]) -> str:
    """The source of ``fired(f)``, which lists the names whose condition holds for fact f."""
    lines = ["def fired(f):", "    out = []"]
    for name, node in conditions.items():
        lines += [f"    if {_expression(node)}:", f"        out.append({name!r})"]
    lines.append("    return out")
    return "\n".join(lines) + "\n"


class CompiledMatcher:
    """Evaluates conditions with one generated function; stateless, so thread-safe."""

    def __init__(self, name: str, conditions: Mapping[str, Node]) -> None:
        self.source = python_source(conditions)
        namespace: dict[str, Any] = {}
        exec(compile(self.source, f"<rules {name}>", "exec"), namespace)  # noqa: S102 - see module docstring
        self._fired: Callable[[Mapping[str, Any]], list[str]] = namespace["fired"]

    def fired(self, fact: Mapping[str, Any]) -> list[str]:
        """Names of the rules whose condition holds for ``fact``."""
        return self._fired(fact)
