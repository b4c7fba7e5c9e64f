"""Backends: what evaluates a rule set's conditions on one assessment's flat fact.

``base`` is the protocol every backend meets; ``durable`` drives durable-rules' C core,
``compiled`` generates one Python function. Both give identical results.
"""
