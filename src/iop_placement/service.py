"""The web service: CDS Hooks endpoints and a small intake page, as one ASGI app.

Needs the ``service`` extra: ``pip install 'iop-placement[service]'``. Start it with
``iop-placement serve`` (localhost only), or serve :func:`create_app` with any ASGI
server behind your own authentication::

    GET  /                             the intake page (built from the JSON Schema)
    GET  /api/schema                   the assessment's JSON Schema
    GET  /api/ui-schema                its react-jsonschema-form uiSchema
    POST /api/recommendation           an assessment -> the recommendation, labelled
    POST /api/provisional              partial answers -> the provisional result, labelled
    GET  /cds-services                 CDS Hooks discovery
    POST /cds-services/iop-placement   CDS Hooks call (patient-view, prefetch 'intake')

Every error is JSON, ``{"error": ..., "problems": [...]}``: 400 for a request or
answers that cannot be used, 412 when the intake was not prefetched, 404/405/413 as
HTTP says. Nothing the client sent is echoed back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from importlib.resources import files
from typing import Any, Final

try:
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route
except ImportError as error:  # pragma: no cover - depends on the installed extras
    msg = "iop_placement.service needs Starlette: pip install 'iop-placement[service]'"
    raise ImportError(msg) from error

from iop_placement._engine import PlacementEngine, default_engine
from iop_placement._model.errors import InvalidAssessment
from iop_placement._model.schema import json_schema, ui_schema
from iop_placement._model.view import provisional_view, recommendation_view
from iop_placement.cds_hooks._service import SERVICE_ID, HookCallError, answer_hook_call, discovery

__all__ = ["MAX_BODY_BYTES", "create_app"]

MAX_BODY_BYTES: Final = 1_000_000
_STATIC: Final = {
    "intake.js": "text/javascript; charset=utf-8",
    "intake.css": "text/css; charset=utf-8",
}
_PAGE_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self';"
    " img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self';"
    " frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _error(status: int, message: str, problems: Sequence[Any] = ()) -> JSONResponse:
    return JSONResponse(
        {"error": message, "problems": [asdict(problem) for problem in problems]},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


async def _json_body(request: Request) -> Any:  # noqa: ANN401 - any JSON document
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise HTTPException(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise HTTPException(400, "the request body is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise HTTPException(400, f"the request body is not valid JSON ({where})") from None
    except RecursionError:
        raise HTTPException(400, "the request body is nested too deeply") from None


def _static(name: str) -> bytes:
    return (files("iop_placement") / "_static" / name).read_bytes()


def create_app(
    engine: PlacementEngine | None = None, *, cors_origins: Sequence[str] = ()
) -> Starlette:
    """The ASGI app: the intake page, its API and the CDS Hooks endpoints.

    ``engine`` defaults to the bundled rule set. ``cors_origins`` lists the origins of
    browser-based CDS clients allowed to call the service (none by default).
    """

    def _engine() -> PlacementEngine:
        if engine is not None:
            return engine
        return default_engine()

    async def page(request: Request) -> Response:  # noqa: ARG001 - Starlette's signature
        return Response(_static("intake.html"), media_type="text/html", headers=_PAGE_HEADERS)

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in _STATIC:
            raise HTTPException(404, "no such file")
        return Response(_static(name), media_type=_STATIC[name], headers=_PAGE_HEADERS)

    async def schema(request: Request) -> Response:  # noqa: ARG001 - Starlette's signature
        return JSONResponse(json_schema())

    async def form_ui(request: Request) -> Response:  # noqa: ARG001 - Starlette's signature
        return JSONResponse(ui_schema())

    async def recommendation(request: Request) -> Response:
        body = await _json_body(request)
        try:
            rec = _engine().recommend(body)
        except InvalidAssessment as error:
            return _error(400, "the answers are not a valid assessment", error.problems)
        return JSONResponse(
            {"recommendation": rec.model_dump(mode="json"), "view": recommendation_view(rec)},
            headers={"Cache-Control": "no-store"},
        )

    async def provisional(request: Request) -> Response:
        body = await _json_body(request)
        try:
            result = _engine().provisional(body)
        except InvalidAssessment as error:
            return _error(400, "the answers given are not valid", error.problems)
        return JSONResponse(
            {"provisional": result.model_dump(mode="json"), "view": provisional_view(result)},
            headers={"Cache-Control": "no-store"},
        )

    async def services(request: Request) -> Response:  # noqa: ARG001 - Starlette's signature
        return JSONResponse(discovery())

    async def hook(request: Request) -> Response:
        if request.path_params["service_id"] != SERVICE_ID:
            raise HTTPException(404, f"no CDS service with this id; this server has {SERVICE_ID!r}")
        body = await _json_body(request)
        try:
            return JSONResponse(answer_hook_call(body, _engine()))
        except HookCallError as error:
            return _error(error.status, error.message, error.problems)

    async def http_error(request: Request, exc: Exception) -> Response:  # noqa: ARG001
        if isinstance(exc, HTTPException):
            return _error(exc.status_code, exc.detail, ())
        return _error(500, "internal error", ())  # pragma: no cover - never on purpose

    async def internal_error(request: Request, exc: Exception) -> Response:  # noqa: ARG001
        return _error(500, "internal error: the recommendation could not be made", ())

    routes = [
        Route("/", page, methods=["GET"]),
        Route("/static/{name}", static, methods=["GET"]),
        Route("/api/schema", schema, methods=["GET"]),
        Route("/api/ui-schema", form_ui, methods=["GET"]),
        Route("/api/recommendation", recommendation, methods=["POST"]),
        Route("/api/provisional", provisional, methods=["POST"]),
        Route("/cds-services", services, methods=["GET"]),
        Route("/cds-services/{service_id}", hook, methods=["POST"]),
    ]
    middleware = []
    if cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type"],
            )
        )
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={HTTPException: http_error, Exception: internal_error},
    )
