"""The backend protocol: what the engine asks of whatever evaluates its conditions.

A backend compiles a mapping of rule names to normal-form conditions once, then answers
``fired(fact)`` for one assessment's flat fact (``facts.encode``): the names whose
condition holds, each once, in rule order. It must be safe to share between threads.
``durable`` and ``compiled`` are the two; ``selection`` picks one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol

__all__ = ["Backend", "Matcher"]

Backend = Literal["durable", "compiled"]


class Matcher(Protocol):
    """A rule set's conditions, compiled by one backend."""

    def fired(self, fact: Mapping[str, Any]) -> list[str]:
        """Names of the conditions that hold for ``fact``, each once, in rule order."""
        ...
