"""Searches over the decision policy: provisional ranges of a partial intake and explanations.

``provisional`` (the exact case-split search, the fallback for large rule sets),
``provisional_diagrams`` (the same bounds read off the decision diagrams) and ``explain``
(near misses, counterfactuals, modifiable goals). ``verification`` and ``comparison``, the
public searches, sit beside them at the package's top level.
"""
