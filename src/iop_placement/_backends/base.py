"""The backend protocol: what the engine asks of whatever evaluates its conditions.

A backend compiles a mapping of rule names to normal-form conditions once, then answers
``fired(fact)`` for one assessment's flat fact (``facts.encode``): the names whose
condition holds, each once, in rule order; ``mask(fact)`` gives the same answer as one
int, the sum of the weights given to those conditions (one distinct bit each, by default
bit i for the i-th), which the engine's hot path reads without a list or a lookup per
name. It must be safe to share between threads.
``durable`` and ``compiled`` are the two; ``selection`` picks one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, Protocol

__all__ = ["Backend", "Matcher", "default_weights"]

Backend = Literal["durable", "compiled"]


class Matcher(Protocol):
    """A rule set's conditions, compiled by one backend."""

    def fired(self, fact: Mapping[str, Any]) -> list[str]:
        """Names of the conditions that hold for ``fact``, each once, in rule order."""
        ...

    def mask(self, fact: Mapping[str, Any]) -> int:
        """The sum of the weights of the conditions that hold for ``fact``."""
        ...


def default_weights(names: Iterable[str]) -> dict[str, int]:
    """Bit i for the i-th condition: what a matcher weighs conditions by unless told."""
    return {name: 1 << index for index, name in enumerate(names)}
