"""Which answers each rule's outcome rests on, through the ratings it reads.

A rule that reads only answers rests on the answers it reads. A rule that reads a
dimension's rating rests on the answers of every rule that can rate that dimension, and a
rule that reads a count of ratings on the answers of every rating rule. A change that
touches none of a rule's answers cannot change whether the rule fires: that is what lets
the counterfactual search skip change sets without evaluating them. Nothing here knows a
field by name: it follows the rule files and the model's pseudo-fields.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Final

from iop_placement._model.fields import COUNT_PREFIX, RATING_PREFIX, field_specs
from iop_placement._rules.ruleset import RuleSet

__all__ = ["answers_behind"]

_CACHE: dict[str, Mapping[str, frozenset[str]]] = {}
_LOCK: Final = threading.Lock()
_LIMIT: Final = 64


def _behind(rule_set: RuleSet) -> dict[str, frozenset[str]]:
    answers = set(field_specs())
    by_dimension: dict[str, set[str]] = {}
    for rule in rule_set.rules:
        rating = rule.then.rating
        if rating is not None:
            reads = {name for name in rule.when.fields() if name in answers}
            by_dimension.setdefault(rating.dimension.value, set()).update(reads)
    every_rating = frozenset().union(*by_dimension.values())
    behind: dict[str, frozenset[str]] = {}
    for rule in rule_set.rules:
        if rule.then.level is None or rule.reads_decided_level:
            continue  # the level is the most intensive of what stages 1-2 support
        fields: set[str] = set()
        for name in rule.when.fields():
            if name.startswith(RATING_PREFIX):
                fields |= by_dimension.get(name.removeprefix(RATING_PREFIX), set())
            elif name.startswith(COUNT_PREFIX):
                fields |= every_rating
            elif name in answers:
                fields.add(name)
        behind[rule.id] = frozenset(fields)
    return behind


def answers_behind(rule_set: RuleSet) -> Mapping[str, frozenset[str]]:
    """Level-setting rule id -> the answers whose change can change whether it fires.

    Only the rules the level is decided by (those setting a level without reading the
    decided level) are listed.
    """
    found = _CACHE.get(rule_set.sha256)
    if found is None:
        found = _behind(rule_set)
        with _LOCK:
            if len(_CACHE) < _LIMIT:
                _CACHE[rule_set.sha256] = found
    return found
