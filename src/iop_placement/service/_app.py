"""The ASGI app: intake page, its API, CDS Hooks discovery, hook call and feedback.

Bounded everywhere: bodies are counted while they are read (chunked ones too) and cut
off at :data:`MAX_BODY_BYTES` with a 413; JSON is parsed with depth and number limits
(:mod:`iop_placement._limits`); error bodies hold at most :data:`MAX_PROBLEMS` problems
of bounded length. A request body of at most :data:`INLINE_BODY_BYTES` is answered on
the event loop by the library's engine (validation and rules take well under a
millisecond there, less than the hop to a thread costs); a larger one, an engine of
another class, and every call that may wait on the network or the audit database run in
a worker thread so that one request cannot stall the event loop. Responses are written
by pydantic-core's JSON serialiser. No response or log line holds a traceback or
anything the client sent: the access log (logger ``iop_placement.access``) has the
method, the route template, the status and the latency only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import urllib.parse
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Mapping,
    MutableMapping,
    Sequence,
)
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import asdict
from importlib.resources import files
from typing import Any, Final

try:
    import anyio
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware
    from starlette.requests import ClientDisconnect, Request
    from starlette.responses import Response
    from starlette.routing import Route
except ImportError as error:  # pragma: no cover - depends on the installed extras
    msg = "iop_placement.service needs Starlette: pip install 'iop-placement[service]'"
    raise ImportError(msg) from error

from iop_placement._engine import PlacementEngine, default_engine
from iop_placement._i18n import LANGUAGES, UnsupportedLanguage, check_language, use_language
from iop_placement._limits import JsonLimitError, loads_bounded
from iop_placement._model.dump import to_json
from iop_placement._model.errors import FieldProblem, InvalidAssessment
from iop_placement._model.explanation import Explanation
from iop_placement._model.fields import field_specs
from iop_placement._model.printable import printable_summary
from iop_placement._model.schema import json_schema, ui_schema
from iop_placement._model.view import provisional_view, recommendation_response_json
from iop_placement._version import __version__
from iop_placement.adaptive import next_field, next_question
from iop_placement.audit import AuditError, AuditStore
from iop_placement.cds_hooks._feedback import parse_feedback
from iop_placement.cds_hooks._fetch import FhirFetchError, fhir_server_base
from iop_placement.cds_hooks._service import (
    DEFAULT_MAX_INTAKE_AGE_DAYS,
    SERVICE_ID,
    HookAnswer,
    HookCallError,
    answer_hook,
    discovery,
)
from iop_placement.fhir._questionnaire import to_questionnaire
from iop_placement.service._auth import AuthenticationError, AuthenticationUnavailable, JwtVerifier
from iop_placement.service._page import page_text

__all__ = [
    "INLINE_BODY_BYTES",
    "LOOPBACK_HOSTS",
    "MAX_BODY_BYTES",
    "MAX_PROBLEMS",
    "create_app",
    "host_name",
    "openapi",
]

MAX_BODY_BYTES: Final = 1_000_000
INLINE_BODY_BYTES: Final = 16 * 1024
BODY_TIMEOUT_SECONDS: Final = 20.0
MAX_HEADER_BYTES: Final = 16 * 1024
MAX_PROBLEMS: Final = 20
# provisional() may take milliseconds (seconds on the case-split fallback): it runs in
# worker threads, at most this many at once, so it never holds up the event loop.
PROVISIONAL_CONCURRENCY: Final = 2
MAX_TEXT: Final = 300
NEXT_QUESTION: Final = "/Questionnaire/$next-question"
REALM: Final = "iop-placement"
ACCESS_LOG: Final = logging.getLogger("iop_placement.access")
ERROR_LOG: Final = logging.getLogger("iop_placement.service")
_STATIC: Final = {
    "intake.js": "text/javascript; charset=utf-8",
    "intake.css": "text/css; charset=utf-8",
    "sources.json": "application/json",
}
_PAGE_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self';"
    " img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self';"
    " frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_PART: Final = re.compile(r"[.\[\]]+")
_PROTOCOL_NAMES: Final = frozenset(
    {
        "hook", "hookInstance", "context", "patientId", "userId", "fhirServer",
        "fhirAuthorization", "access_token", "token_type", "prefetch", "intake",
        "feedback", "card", "outcome", "overrideReason", "reason", "userComment",
        "outcomeTimestamp", "acceptedSuggestions", "code", "system", "display",
        "questionnaire-response", "full-record",
    }
)  # fmt: skip
_FIXED_FIELDS: Final = {
    "(request)",
    "(assessment)",
    "(questionnaire response)",
    "(a field whose name is not shown)",
    "(an item whose linkId is not shown)",
    "(parameters)",
}
_JSON_TYPES: Final = ("application/json", "application/fhir+json")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "\u2026"


def _field(name: str, number: int, known: frozenset[str]) -> str:
    """A problem's field as given if every part is a known name or an index, else by position.

    A name the client made up (an unknown key) may be patient data: it is never shown.
    """
    parts = [part for part in _PART.split(name) if part]
    if name in _FIXED_FIELDS or (parts and all(part.isdigit() or part in known for part in parts)):
        return _clip(name)
    return f"(field of problem {number + 1}, name not shown)"


def _known_fields() -> frozenset[str]:
    return frozenset(field_specs()) | _PROTOCOL_NAMES


def _problems(problems: Sequence[FieldProblem]) -> list[dict[str, str]]:
    known = _known_fields()
    shown = []
    for number, problem in enumerate(problems[:MAX_PROBLEMS]):
        item = {key: _clip(str(value)) for key, value in asdict(problem).items()}
        item["field"] = _field(problem.field, number, known)
        shown.append(item)
    return shown


class JSONResponse(Response):
    """A JSON response written by pydantic-core: models as ``model_dump(mode="json")`` has them.

    Several times faster than ``json.dumps`` on a recommendation and its view (about 40 KB),
    and it takes models as they are, without a ``model_dump`` first. Compact, UTF-8, the same
    bytes as Starlette's ``JSONResponse``; a NaN or infinity (none can come from a request:
    the parser refuses them) would be ``null``, never invalid JSON.
    """

    media_type = "application/json"

    def render(self, content: Any) -> bytes:  # noqa: ANN401 - any JSON-able value or model
        """``content`` as compact JSON bytes."""
        return to_json(content)


def _error(status: int, message: str, problems: Sequence[FieldProblem] = ()) -> JSONResponse:
    body: dict[str, Any] = {"error": _clip(message), "problems": _problems(problems)}
    if len(problems) > MAX_PROBLEMS:
        body["more_problems"] = len(problems) - MAX_PROBLEMS
    return JSONResponse(body, status_code=status)


RETRY_AFTER_SECONDS: Final = 5
"""``Retry-After`` on a 503: the audit database or the issuer's keys are out of reach."""


def _unavailable(message: str) -> JSONResponse:
    response = _error(503, message)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _route_of(request: Request) -> str:
    return _route(request.scope)


def _unauthorized(message: str) -> JSONResponse:
    response = _error(401, message)
    response.headers["WWW-Authenticate"] = f'Bearer realm="{REALM}", error="invalid_token"'
    return response


@asynccontextmanager
async def _anyio_deadline(seconds: float) -> AsyncIterator[None]:
    with anyio.fail_after(seconds):
        yield


def _deadline(seconds: float) -> AbstractAsyncContextManager[object]:
    """A deadline raising ``TimeoutError``: asyncio's own under asyncio (uvicorn), else anyio's.

    anyio's cancel scope costs about four times as much, some 30 µs on each request.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # another event loop (trio)
        return _anyio_deadline(seconds)
    return asyncio.timeout(seconds)


async def _body(request: Request) -> bytes:
    """The body, read at most :data:`MAX_BODY_BYTES` far: 413 as soon as it is longer."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async with _deadline(BODY_TIMEOUT_SECONDS):
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    too_big = f"the request body is larger than {MAX_BODY_BYTES} bytes"
                    raise HTTPException(413, too_big)
                chunks.append(chunk)
    except ClientDisconnect:
        raise HTTPException(400, "the client went away before the body was sent") from None
    except TimeoutError:
        raise HTTPException(408, "the request body came too slowly") from None
    return b"".join(chunks)


async def _json_body(request: Request) -> tuple[Any, int]:
    """The body's JSON document and the body's size in bytes."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in _JSON_TYPES:
        raise HTTPException(415, "the request body must be JSON (Content-Type: application/json)")
    body = await _body(request)
    try:
        return loads_bounded(body), len(body)
    except JsonLimitError as error:
        raise HTTPException(400, str(error)) from None


async def _answer(request: Request, work: Callable[[Any], Response], *, inline: bool) -> Response:
    """``work`` on the body: on the event loop if ``inline`` and it is small, else in a thread."""
    document, size = await _json_body(request)
    if inline and size <= INLINE_BODY_BYTES:
        return work(document)
    return await run_in_threadpool(work, document)


def _same_origin(request: Request) -> bool:
    """Whether the request comes from the service's own page, as far as a browser says.

    Browsers name the page's origin on every POST (``Origin``, ``Sec-Fetch-Site``); a
    request naming another origin is refused. Clients that are not browsers send neither.
    """
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    if origin is not None and origin != own:
        return False
    return request.headers.get("sec-fetch-site", "same-origin") in {"same-origin", "none"}


# ?format= of /api/explanation: how to render, and the media type to send.
_RENDERINGS: Final[Mapping[str, tuple[Callable[[Explanation, str], str], str]]] = {
    "html": (Explanation.to_html, "text/html; charset=utf-8"),
    "markdown": (Explanation.to_markdown, "text/markdown; charset=utf-8"),
    "text": (Explanation.to_text, "text/plain; charset=utf-8"),
}


def _language(request: Request) -> str | Response:
    """The ``lang`` query parameter (``en`` when absent), or a 400 naming the allowed codes."""
    try:
        return check_language(request.query_params.get("lang", "en"))
    except UnsupportedLanguage:
        return _error(400, f"lang: allowed values are {', '.join(LANGUAGES)}")


def _static(name: str) -> bytes:
    return (files("iop_placement") / "_static" / name).read_bytes()


def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 description of the service (shipped as ``service/openapi.json``)."""
    text = (files("iop_placement") / "service" / "openapi.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    document["info"]["version"] = __version__  # the package's, so it cannot go stale
    return document


class _Guard:
    """Outermost middleware: ``Cache-Control: no-store``, the access log, no traceback out.

    An exception that reaches it becomes a fixed 500 body, and the log line names the
    exception's type only: its message or traceback could quote the request.
    """

    def __init__(self, app: Asgi, allowed_hosts: frozenset[str] | None = None) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        sent = False
        too_big = sum(len(k) + len(v) for k, v in scope.get("headers", ())) > MAX_HEADER_BYTES

        async def send_with_headers(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = int(message["status"])
                sent = True
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"
                ]
                headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        try:
            if too_big:  # h11 limits only headers that arrive in pieces; these came whole
                message = f"the request headers are larger than {MAX_HEADER_BYTES} bytes"
                await _error(431, message)(scope, receive, send_with_headers)
            elif not self._host_allowed(scope):
                # DNS rebinding: a page on another site whose name now resolves to this
                # address would otherwise read the loopback intake page and its API.
                message = "the Host header does not name this service"
                await _error(421, message)(scope, receive, send_with_headers)
            else:
                await self.app(scope, receive, send_with_headers)
        except Exception as error:  # noqa: BLE001 - the one place every failure ends
            ERROR_LOG.error(
                "internal error on %s %s: %s",
                _method(scope),
                _route(scope),
                type(error).__name__,
            )
            if not sent:
                response = _error(500, "internal error: the request could not be answered")
                await response(scope, receive, send_with_headers)
        finally:
            ACCESS_LOG.info(
                "%s %s %d %.1fms",
                _method(scope),
                _route(scope),
                status,
                (time.perf_counter() - started) * 1000,
            )

    def _host_allowed(self, scope: Scope) -> bool:
        if self.allowed_hosts is None:
            return True
        host = next((v for k, v in scope.get("headers", ()) if k == b"host"), None)
        if host is None:
            return False
        return host_name(host.decode("latin-1")) in self.allowed_hosts


def host_name(host: str) -> str:
    """The name in a ``Host`` header or URL authority, lower case, without the port."""
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8737
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "[::1]"})
"""The names a loopback server is reached by: always allowed with ``allowed_hosts``."""


_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _method(scope: Scope) -> str:
    # The method is the client's text too: only the standard ones are logged as such.
    method = scope.get("method")
    return method if method in _METHODS else "(other method)"


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "(no route)"


class _Endpoints:
    """The route handlers, sharing the app's engine, verifier and audit store."""

    def __init__(
        self,
        engine: PlacementEngine | None,
        verifier: JwtVerifier | None,
        base: str,
        audit: AuditStore | None,
        *,
        fetch_fhir: bool,
        max_intake_age_days: int = DEFAULT_MAX_INTAKE_AGE_DAYS,
        fhir_servers: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        self.fhir_servers = dict(fhir_servers or {})
        self.engine = engine
        self.max_intake_age_days = max_intake_age_days
        self.verifier = verifier
        self.base = base
        self.audit = audit
        self.fetch_fhir = fetch_fhir
        # The library's own engine has a bounded cost per small body; a subclass may wait
        # on anything (a lock, the network), so its calls always go to a worker thread.
        self.inline = engine is None or type(engine) is PlacementEngine
        self.provisional_limiter = anyio.CapacityLimiter(PROVISIONAL_CONCURRENCY)

    def _engine(self) -> PlacementEngine:
        return self.engine if self.engine is not None else default_engine()

    async def _authenticate(self, request: Request, endpoint: str) -> Response | None:
        if self.verifier is None:
            return None
        authorization = request.headers.get("authorization")
        try:
            claims = await run_in_threadpool(
                self.verifier.verify, authorization, f"{self.base}{endpoint}"
            )
        except AuthenticationError as error:
            return _unauthorized(str(error))
        except AuthenticationUnavailable as error:
            # Fixed text (the issuer's keys, or the token ids' store, cannot be reached).
            ERROR_LOG.error("authentication unavailable on %s: %s", _route_of(request), error)
            return _unavailable(str(error))
        request.state.issuer = claims["iss"]
        return None

    def _fhir_servers(self, issuer: str | None) -> frozenset[str]:
        """The FHIR servers a call may have fetched from: its issuer's (all, without auth)."""
        if self.verifier is None:
            return frozenset().union(*self.fhir_servers.values())
        return self.fhir_servers.get(issuer or "", frozenset())

    async def page(self, request: Request) -> Response:  # noqa: ARG002 - Starlette's signature
        return Response(_static("intake.html"), media_type="text/html", headers=_PAGE_HEADERS)

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in _STATIC:
            raise HTTPException(404, "no such file")
        return Response(_static(name), media_type=_STATIC[name], headers=_PAGE_HEADERS)

    async def page_text(self, request: Request) -> Response:
        """The intake page's own sentences in ``?lang=``, and the languages there are."""
        language = _language(request)
        if isinstance(language, Response):
            return language
        return JSONResponse(page_text(language))

    async def schema(self, request: Request) -> Response:
        language = _language(request)
        if isinstance(language, Response):
            return language
        return JSONResponse(json_schema(language=language))

    async def form_ui(self, request: Request) -> Response:
        language = _language(request)
        if isinstance(language, Response):
            return language
        return JSONResponse(ui_schema(language=language))

    async def questionnaire(self, request: Request) -> Response:
        """The FHIR Questionnaire in ``?lang=`` with the other languages as translations."""
        language = _language(request)
        if isinstance(language, Response):
            return language
        others = [other for other in LANGUAGES if other != language]
        return JSONResponse(to_questionnaire(language, others), media_type="application/fhir+json")

    async def description(self, request: Request) -> Response:  # noqa: ARG002
        return JSONResponse(openapi())

    async def services(self, request: Request) -> Response:  # noqa: ARG002
        return JSONResponse(discovery())

    def _recommend(self, body: Any, language: str = "en") -> Response:  # noqa: ANN401 - any JSON
        try:
            rec = self._engine().recommend(body)
        except InvalidAssessment as error:
            return _error(400, "the answers are not a valid assessment", error.problems)
        # What JSONResponse would write, from the parts that recommendations share (most of
        # the ~40 KB), each written once (in English; the view in ``language``).
        with use_language(language):
            written = recommendation_response_json(rec)
        return Response(written, media_type=JSONResponse.media_type)

    async def recommendation(self, request: Request) -> Response:
        if not _same_origin(request):
            return _error(403, "the intake API answers only the service's own page")
        language = _language(request)
        if isinstance(language, Response):
            return language
        if language == "en":
            return await _answer(request, self._recommend, inline=self.inline)
        return await _answer(
            request, lambda body: self._recommend(body, language), inline=self.inline
        )

    def _explain(self, body: Any, language: str, form: str) -> Response:  # noqa: ANN401
        try:
            explanation = self._engine().explain(body)
        except InvalidAssessment as error:
            return _error(400, "the answers are not a valid assessment", error.problems)
        render, media = _RENDERINGS[form]
        return Response(render(explanation, language), media_type=media)

    async def explanation(self, request: Request) -> Response:
        """The explanation rendered as ``?format=`` (html, markdown, text) in ``?lang=``."""
        if not _same_origin(request):
            return _error(403, "the intake API answers only the service's own page")
        language = _language(request)
        if isinstance(language, Response):
            return language
        form = request.query_params.get("format", "html")
        if form not in _RENDERINGS:
            return _error(400, f"format: allowed values are {', '.join(_RENDERINGS)}")
        document, _ = await _json_body(request)
        return await run_in_threadpool(self._explain, document, language, form)

    def _provisional(self, body: Any, language: str = "en") -> Response:  # noqa: ANN401
        try:
            result = self._engine().provisional(body)
        except InvalidAssessment as error:
            return _error(400, "the answers given are not valid", error.problems)
        # The adaptive page asks this field next (None: the level is settled).
        following = next_field(result)
        with use_language(language):
            view = provisional_view(result)
        return JSONResponse({"provisional": result, "view": view, "next": following})

    async def provisional(self, request: Request) -> Response:
        if not _same_origin(request):
            return _error(403, "the intake API answers only the service's own page")
        language = _language(request)
        if isinstance(language, Response):
            return language
        document, _ = await _json_body(request)
        return await anyio.to_thread.run_sync(
            self._provisional, document, language, limiter=self.provisional_limiter
        )

    def _next_question(self, body: Any) -> Response:  # noqa: ANN401 - any JSON; validated
        try:
            out = next_question(body, engine=self._engine())
        except InvalidAssessment as error:
            return _error(400, "the request is not a valid $next-question call", error.problems)
        return Response(to_json(out), media_type="application/fhir+json")

    async def next_question(self, request: Request) -> Response:
        """SDC ``Questionnaire/$next-question`` (authenticated as the CDS Hooks calls are)."""
        refused = await self._authenticate(request, NEXT_QUESTION)
        if refused is not None:
            return refused
        document, _ = await _json_body(request)
        return await anyio.to_thread.run_sync(
            self._next_question, document, limiter=self.provisional_limiter
        )

    def _summary(self, body: Any, language: str = "en") -> Response:  # noqa: ANN401 - any JSON
        try:
            explanation = self._engine().explain(body)
        except InvalidAssessment as error:
            return _error(400, "the answers are not a valid assessment", error.problems)
        return Response(
            printable_summary(explanation, language=language),
            media_type="application/pdf",
            headers={
                "Content-Disposition": 'inline; filename="level-of-care-summary.pdf"',
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def summary(self, request: Request) -> Response:
        """The printable summary (PDF) of complete answers, for the page's print button.

        POST only: answers in a URL would stay in logs and the browser's history.
        """
        if not _same_origin(request):
            return _error(403, "the intake API answers only the service's own page")
        language = _language(request)
        if isinstance(language, Response):
            return language
        document, _ = await _json_body(request)
        return await anyio.to_thread.run_sync(
            self._summary, document, language, limiter=self.provisional_limiter
        )

    def _hook(self, body: object, issuer: str | None = None) -> Response:
        try:
            answer: HookAnswer = answer_hook(
                body,
                self._engine(),
                fetch=self.fetch_fhir,
                max_intake_age_days=self.max_intake_age_days,
                fhir_servers=self._fhir_servers(issuer),
            )
        except HookCallError as error:
            return _error(error.status, error.message, error.problems)
        if self.audit is not None:
            self.audit.append("card", answer.audit_content(), card_uuid=answer.card_uuid)
        return JSONResponse(answer.response)

    async def hook(self, request: Request) -> Response:
        if request.path_params["service_id"] != SERVICE_ID:
            raise HTTPException(404, f"no CDS service with this id; this server has {SERVICE_ID!r}")
        refused = await self._authenticate(request, f"/cds-services/{SERVICE_ID}")
        if refused is not None:
            return refused
        body, _ = await _json_body(request)
        issuer = getattr(request.state, "issuer", None)
        return await run_in_threadpool(self._hook, body, issuer)

    def _feedback(self, body: object) -> Response:
        audit = self.audit
        assert audit is not None
        try:
            outcomes = parse_feedback(body)
        except HookCallError as error:
            return _error(error.status, error.message, error.problems)
        for number, outcome in enumerate(outcomes):
            if audit.card(outcome.card_uuid) is None:
                problem = FieldProblem(
                    f"feedback.{number}.card",
                    "is not a card this service issued",
                    "an unknown card uuid",
                    "the uuid of a card from this service",
                )
                return _error(400, "the feedback is about an unknown card", (problem,))
        for outcome in outcomes:
            audit.append(
                "feedback",
                outcome.audit_content(),
                note=outcome.comment,
                card_uuid=outcome.card_uuid,
            )
        return JSONResponse({"recorded": len(outcomes)})

    async def feedback(self, request: Request) -> Response:
        if request.path_params["service_id"] != SERVICE_ID:
            raise HTTPException(404, f"no CDS service with this id; this server has {SERVICE_ID!r}")
        refused = await self._authenticate(request, f"/cds-services/{SERVICE_ID}/feedback")
        if refused is not None:
            return refused
        body, _ = await _json_body(request)
        return await run_in_threadpool(self._feedback, body)


async def _http_error(request: Request, exc: Exception) -> Response:  # noqa: ARG001
    assert isinstance(exc, HTTPException)
    return _error(exc.status_code, exc.detail)


async def _audit_error(request: Request, exc: Exception) -> Response:  # noqa: ARG001
    ERROR_LOG.error("the audit trail could not be written: %s", type(exc).__name__)
    return _unavailable("the audit trail cannot be written now; nothing was recorded")


def create_app(
    engine: PlacementEngine | None = None,
    *,
    verifier: JwtVerifier | None = None,
    service_url: str | None = None,
    insecure_no_auth: bool = False,
    audit: AuditStore | None = None,
    cors_origins: Sequence[str] = (),
    intake_page: bool = True,
    fetch_fhir: bool = True,
    max_intake_age_days: int = DEFAULT_MAX_INTAKE_AGE_DAYS,
    allowed_hosts: Sequence[str] | None = None,
    fhir_servers: Mapping[str, Sequence[str]] | None = None,
) -> Starlette:
    """The ASGI app: the intake page, its API and the CDS Hooks endpoints.

    ``engine`` defaults to the bundled rule set. The hook and feedback endpoints need a
    CDS client's JWT bearer token, checked by ``verifier`` with the audience
    ``{service_url}/cds-services/iop-placement`` (and ``.../feedback``); only
    ``insecure_no_auth=True`` turns that off, for development and tests. ``audit``
    stores each card issued and the feedback on it (without it, there is no feedback
    endpoint). ``cors_origins`` lists the origins of browser-based CDS clients allowed to
    call the service (none by default). ``intake_page`` serves the page and its
    unauthenticated API (``iop-placement serve`` does so on a loopback address only).
    ``fetch_fhir`` lets the hook query the call's ``fhirServer`` without a prefetch, and
    only when it is one of ``fhir_servers[issuer]`` for the token's issuer (any listed
    one without authentication); with none listed nothing is ever fetched (412).
    An intake authored more than ``max_intake_age_days`` ago gets a stale-intake card
    instead of a suggested level. ``allowed_hosts``, when given, are the host names the
    ``Host`` header may carry (with any port) besides :data:`LOOPBACK_HOSTS` and the
    service URL's own host; any other is answered 421 before routing (``serve`` always
    gives it).

    Raises:
        ValueError: neither a verifier and service URL, nor ``insecure_no_auth``.

    """
    if verifier is None and not insecure_no_auth:
        msg = "the CDS Hooks endpoints need a JwtVerifier (or insecure_no_auth=True)"
        raise ValueError(msg)
    if verifier is not None and not (service_url or "").startswith(("https://", "http://")):
        msg = "a JwtVerifier needs the service's own URL (the tokens' audience)"
        raise ValueError(msg)
    base = (service_url or "").rstrip("/")
    try:
        servers = {
            issuer: frozenset(fhir_server_base(url) for url in urls)
            for issuer, urls in (fhir_servers or {}).items()
        }
    except FhirFetchError as error:
        msg = f"fhir_servers: {error}"
        raise ValueError(msg) from None
    if max_intake_age_days < 1:
        msg = "max_intake_age_days must be at least 1"
        raise ValueError(msg)
    ends = _Endpoints(
        engine,
        verifier,
        base,
        audit,
        fetch_fhir=fetch_fhir,
        max_intake_age_days=max_intake_age_days,
        fhir_servers=servers,
    )
    # Starlette tries the routes in order: the calls made most often come first.
    routes = [Route("/cds-services/{service_id}", ends.hook, methods=["POST"])]
    if intake_page:
        routes += [
            Route("/api/recommendation", ends.recommendation, methods=["POST"]),
            Route("/api/provisional", ends.provisional, methods=["POST"]),
            Route("/api/explanation", ends.explanation, methods=["POST"]),
            Route("/api/summary.pdf", ends.summary, methods=["POST"]),
        ]
    routes += [
        Route(NEXT_QUESTION, ends.next_question, methods=["POST"]),
        Route("/cds-services", ends.services, methods=["GET"]),
        Route("/openapi.json", ends.description, methods=["GET"]),
    ]
    if audit is not None:
        routes.append(Route("/cds-services/{service_id}/feedback", ends.feedback, methods=["POST"]))
    if intake_page:
        routes += [
            Route("/", ends.page, methods=["GET"]),
            Route("/static/{name}", ends.static, methods=["GET"]),
            Route("/api/schema", ends.schema, methods=["GET"]),
            Route("/api/ui-schema", ends.form_ui, methods=["GET"]),
            Route("/api/page-text", ends.page_text, methods=["GET"]),
            Route("/api/questionnaire", ends.questionnaire, methods=["GET"]),
        ]
    hosts = None
    if allowed_hosts is not None:
        own = [urllib.parse.urlsplit(base).netloc] if base else []
        hosts = frozenset({*LOOPBACK_HOSTS, *(host_name(h) for h in [*own, *allowed_hosts])})
    middleware = [Middleware(_Guard, allowed_hosts=hosts)]
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
        exception_handlers={HTTPException: _http_error, AuditError: _audit_error},
    )
