"""Integrations with web frameworks; each module imports its framework, the core never does.

``iop_placement.integrations.fastapi``: 422 responses that name fields and what they
allow, never the values submitted (``pip install 'iop-placement[fastapi]'``).
"""
