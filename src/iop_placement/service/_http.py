"""The HTTP protocol, limits and logging of every server process (one, or each worker).

uvicorn closes an idle keep-alive connection (``timeout_keep_alive``) but waits forever
for the headers of a request: a client that opens connections and sends a byte a minute
holds them all. :class:`HeaderTimeoutProtocol` closes a connection whose request line and
headers are not complete :data:`HEADER_TIMEOUT_SECONDS` after it opened or after the
previous response. uvicorn's own access log is off: it records paths with their query
strings; the app logs the route template instead (``iop_placement.access``).

Logging is configured by :func:`log_config` in every mode and every worker process: the
``iop_placement`` loggers (the access log and the error lines) and uvicorn's own go to
standard error, each line starting with its UTC time (ISO 8601) and level.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import socket
import time
from typing import Any, Final

from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = [
    "HEADER_TIMEOUT_SECONDS",
    "KEEP_ALIVE_SECONDS",
    "MAX_CONNECTIONS_PER_CLIENT",
    "MAX_HEADER_BYTES",
    "HeaderTimeoutProtocol",
    "UtcFormatter",
    "log_config",
    "uvicorn_settings",
]

HEADER_TIMEOUT_SECONDS: Final = 10.0
KEEP_ALIVE_SECONDS: Final = 5
MAX_HEADER_BYTES: Final = 16 * 1024
MAX_CONNECTIONS: Final = 256


MAX_CONNECTIONS_PER_CLIENT: Final = 128
"""Connections one client address may hold at once: half of :data:`MAX_CONNECTIONS`."""
RETRY_AFTER_SECONDS: Final = 5


def _busy_body(message: str) -> bytes:
    return json.dumps({"error": message, "problems": []}, separators=(",", ":")).encode()


_TOO_MANY_FROM_CLIENT: Final = _busy_body(
    "too many connections from this address; close some and try again"
)
_TOO_MANY: Final = _busy_body("the service is at its connection limit; try again shortly")


def _busy_response(body: bytes) -> bytes:
    return (
        b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
        + f"content-length: {len(body)}\r\nretry-after: {RETRY_AFTER_SECONDS}\r\n".encode()
        + b"cache-control: no-store\r\nconnection: close\r\n\r\n"
        + body
    )


async def _at_limit(scope: Any, receive: Any, send: Any) -> None:  # noqa: ANN401, ARG001 - ASGI
    """Uvicorn's answer at its concurrency limit, as JSON (uvicorn's own is plain text)."""
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(_TOO_MANY)).encode()),
                (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                (b"cache-control", b"no-store"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _TOO_MANY, "more_body": False})


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections whose headers come too slowly.

    Also: a client address holding :data:`MAX_CONNECTIONS_PER_CLIENT` connections gets a
    JSON 503 on the next one, which is closed at once (one client's half-open connections
    cannot take the whole server), and uvicorn's plain-text 503 at its concurrency limit
    is answered as JSON with ``Retry-After``.
    """

    header_timeout: float = HEADER_TIMEOUT_SECONDS
    _header_timer: asyncio.TimerHandle | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401 - uvicorn's
        """Uvicorn's protocol, with its limit kept here and answered in JSON."""
        super().__init__(*args, **kwargs)
        limit, app = self.limit_concurrency, self.app
        self.limit_concurrency = None  # checked by the wrapper below instead
        connections, tasks = self.connections, self.tasks

        async def guarded(scope: Any, receive: Any, send: Any) -> None:  # noqa: ANN401 - ASGI
            # uvicorn's own test, made before the task exists: this request's task is in
            # ``tasks`` here, hence ``>`` for the tasks.
            if limit is not None and (len(connections) >= limit or len(tasks) > limit):
                await _at_limit(scope, receive, send)
                return
            await app(scope, receive, send)

        self.app = guarded

    def _too_many_from_client(self) -> bool:
        peer = self.client[0] if self.client else None
        if peer is None:
            return False
        held = 0
        for protocol in self.connections:
            client = getattr(protocol, "client", None)
            if client and client[0] == peer:
                held += 1
        return held > MAX_CONNECTIONS_PER_CLIENT

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request's headers; send without Nagle's delay."""
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # asyncio sets TCP_NODELAY only when the socket's proto is IPPROTO_TCP; a listening
            # socket handed to uvicorn's worker processes has proto 0, and then every response
            # that ends in a short segment waited for the client's delayed ACK (about 40 ms).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
        if self._too_many_from_client():
            transport.write(_busy_response(_TOO_MANY_FROM_CLIENT))
            transport.close()
            return
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock."""
        self._disarm_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Stop the clock once a request's headers are in."""
        super().data_received(data)
        if self.cycle is not None and not self.cycle.response_complete:
            self._disarm_header_timer()

    def on_response_complete(self) -> None:
        """Start the clock again for the next request on this connection."""
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_header_timer()


class UtcFormatter(logging.Formatter):
    """``2026-12-05T12:00:00.123Z LEVEL logger: message``: UTC, whatever the machine's zone."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802, ARG002 - logging's name
        """The record's time as ISO 8601 UTC with milliseconds."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{stamp}.{int(record.msecs):03d}Z"


def log_config(log_level: str) -> dict[str, Any]:
    """Uvicorn's logging configuration, with timestamps, and the service's own loggers.

    Applied by uvicorn in the server process and in each worker process; without it the
    ``iop_placement`` loggers had no handler and Python's last-resort handler dropped the
    access log (INFO) and printed errors without a time.
    """
    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    timed = {"()": f"{__name__}.UtcFormatter"}
    config["formatters"] = {"default": timed, "access": timed}
    config["handlers"]["root"] = {
        "formatter": "default",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
    }
    # On the root logger: the service's records propagate to it (and to any handler a
    # host application or a test adds there); other libraries' stay at WARNING.
    config["root"] = {"handlers": ["root"], "level": "WARNING"}
    config["loggers"]["iop_placement"] = {"level": log_level.upper()}
    return config


def uvicorn_settings() -> dict[str, Any]:
    """The limits every server process gets, one process or a gunicorn worker."""
    return {
        "access_log": False,
        "http": HeaderTimeoutProtocol,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "limit_concurrency": MAX_CONNECTIONS,
        "timeout_graceful_shutdown": 10,
        "server_header": False,
        "proxy_headers": False,
        "lifespan": "off",
    }
