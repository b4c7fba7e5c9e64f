"""The decision policy, stated once: ``policy.decide(program, algebra)`` and the override's filter.

What a rule set decides (ratings, counts, level, the safety override, the flags and reasons
shown, the alternative) is written here and nowhere else; the engine, ``provisional()``,
``explain()``, ``verify`` and ``diff`` compute it in the algebra each needs (``_algebras``).
"""
