"""The web service: CDS Hooks endpoints and a small intake page, as one ASGI app.

Needs the ``service`` extra: ``pip install 'iop-placement[service]'``. Start it with
``iop-placement serve``, or serve :func:`create_app` with any ASGI server::

    GET  /                                       the intake page (built from the JSON Schema)
    GET  /api/schema                             the assessment's JSON Schema
    GET  /api/ui-schema                          its react-jsonschema-form uiSchema
    GET  /api/page-text                          the intake page's own sentences (?lang=)
    POST /api/recommendation                     an assessment -> the recommendation, labelled
    POST /api/provisional                        partial answers -> the provisional result, labelled
    GET  /openapi.json                           the OpenAPI 3.1 description of this service
    GET  /cds-services                           CDS Hooks discovery
    POST /cds-services/iop-placement             CDS Hooks call (patient-view; JWT bearer)
    POST /cds-services/iop-placement/feedback    CDS Hooks feedback (JWT bearer)

Every error is JSON, ``{"error": ..., "problems": [...]}``, of bounded size: 400 for a
request or answers that cannot be used, 401 without an acceptable bearer token, 412 when
the intake cannot be had, 404/405/413/415 as HTTP says. Nothing the client sent is echoed
back or logged.
"""

from __future__ import annotations

from iop_placement.service._app import MAX_BODY_BYTES, MAX_PROBLEMS, create_app, openapi
from iop_placement.service._auth import (
    ALGORITHMS,
    AuthenticationError,
    AuthenticationUnavailable,
    JwtVerifier,
    TrustedIssuer,
)

__all__ = [
    "ALGORITHMS",
    "MAX_BODY_BYTES",
    "MAX_PROBLEMS",
    "AuthenticationError",
    "AuthenticationUnavailable",
    "JwtVerifier",
    "TrustedIssuer",
    "create_app",
    "openapi",
]
