"""The representations the decision policy is computed in, beyond plain booleans.

Each is an algebra ``_decision.policy.decide`` runs over: decision diagrams over the whole
assessment space (``diagrams``), used by ``diff``, ``verify`` and ``provisional()``; and
expressions over the set of fired rules (``fired_sets``), from which the engine reads its
tables once per rule set.
"""
