"""The patient's intake, fetched from the CDS client's FHIR server when it was not prefetched.

CDS Hooks 2.0 lets a service query ``fhirServer`` itself with the access token the
client passes in ``fhirAuthorization``. The query is the prefetch template's, for the
hook's patient, on a fixed path under the server's base URL:
``{base}/QuestionnaireResponse?subject=Patient/<id>&...``.

- The base must be ``https`` (``http`` only on a loopback address), without user
  information, query or fragment; a service gives the bases each client may name
  (:func:`fhir_server_base` normalises them), and any other is refused before anything
  is sent.
- The request goes straight to the server: no proxy from the environment
  (``http_proxy``), no redirect followed (it would carry the token elsewhere).
- One deadline, :data:`FETCH_TIMEOUT_SECONDS`, covers the whole fetch (connection,
  headers, body): a server trickling a byte every few seconds is cut off at the deadline,
  not kept alive by each byte. The answer is at most :data:`MAX_FHIR_BYTES`.
- Every failure on the way (no connection, a timeout, malformed HTTP, an error status,
  too much, not JSON) is the same :class:`FhirFetchError`, so that the answer cannot be
  used to tell an open port from a closed one; the kind is logged (logger
  ``iop_placement.cds_hooks``), never what the server sent.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import logging
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Collection, Mapping
from typing import Any, Final

from iop_placement._limits import JsonLimitError, loads_bounded
from iop_placement._model.errors import IopPlacementError
from iop_placement.fhir._canonical import QUESTIONNAIRE_URL
from iop_placement.fhir._response import USABLE_STATUSES

__all__ = [
    "FETCH_TIMEOUT_SECONDS",
    "MAX_FHIR_BYTES",
    "BoundedGetError",
    "FhirFetchError",
    "bounded_get",
    "fetch_intake",
    "fhir_server_base",
]

FETCH_TIMEOUT_SECONDS: Final = 5.0
MAX_FHIR_BYTES: Final = 1_000_000
_LOOPBACK_NAMES: Final = {"localhost"}
_CHUNK: Final = 65_536
_LOG: Final = logging.getLogger("iop_placement.cds_hooks")
_UNAVAILABLE: Final = "the FHIR server did not give a usable answer"


class FhirFetchError(IopPlacementError, RuntimeError):
    """The intake could not be fetched from the FHIR server; the message is fixed text."""


class BoundedGetError(IopPlacementError, RuntimeError):
    """A bounded GET failed; ``kind`` says how (for a log line), never with the server's text."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        super().__init__(kind)


def _loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def fhir_server_base(server: str) -> str:
    """``server`` as a normalised base URL (lower case, no default port, no final ``/``).

    Raises:
        FhirFetchError: not https (http only on loopback), or with user information, a
            query or a fragment (they would let the caller choose what is asked, and
            where the token goes).

    """
    try:
        parts = urllib.parse.urlsplit(server)
        port = parts.port
    except ValueError:
        msg = "fhirServer is not a URL"
        raise FhirFetchError(msg) from None
    host = parts.hostname or ""
    allowed = (parts.scheme == "https" and host) or (parts.scheme == "http" and _loopback(host))
    if not allowed:
        msg = "fhirServer must be an https URL (http only on a loopback address)"
        raise FhirFetchError(msg)
    if "@" in parts.netloc or parts.query or parts.fragment or "?" in server or "#" in server:
        msg = "fhirServer must be a base URL without user, query or fragment"
        raise FhirFetchError(msg)
    default = {"https": 443, "http": 80}[parts.scheme]
    name = f"[{host}]" if ":" in host else host
    netloc = name if port in {None, default} else f"{name}:{port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def _token(authorization: Mapping[str, Any] | None) -> str | None:
    if authorization is None:
        return None
    token = authorization.get("access_token")
    kind = authorization.get("token_type", "Bearer")
    if not isinstance(token, str) or not token or not isinstance(kind, str):
        msg = "fhirAuthorization needs an access_token"
        raise FhirFetchError(msg)
    if kind.lower() != "bearer":
        msg = "fhirAuthorization must be a Bearer token"
        raise FhirFetchError(msg)
    if any(ord(char) < 0x21 or ord(char) > 0x7E for char in token):
        msg = "fhirAuthorization's access_token is not a token"
        raise FhirFetchError(msg)
    return token


class _Watchdog:
    """Shuts the connection's socket down at the deadline, wherever the fetch is waiting."""

    def __init__(self, connection: http.client.HTTPConnection, seconds: float) -> None:
        self._connection = connection
        self.fired = False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        self.fired = True
        sock = self._connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


def bounded_get(url: str, headers: Mapping[str, str], *, max_bytes: int, seconds: float) -> bytes:
    """The body of ``GET url`` answered 200, within ``seconds`` overall, ``max_bytes`` at most.

    No proxy, no redirect.

    Raises:
        BoundedGetError: anything else (``kind`` names it: ``timeout``, ``connection``,
            ``malformed HTTP``, ``HTTP <status>``, ``too large``).

    """
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "", parts.port
    target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        context = ssl.create_default_context()
        connection = http.client.HTTPSConnection(host, port, timeout=seconds, context=context)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=seconds)
    started = time.monotonic()
    reply: http.client.HTTPResponse | None = None
    try:
        with _Watchdog(connection, seconds) as watchdog:
            try:
                connection.request("GET", target, headers=dict(headers))
                reply = connection.getresponse()
                if reply.status != 200:
                    raise BoundedGetError(f"HTTP {int(reply.status)}")
                declared = reply.getheader("Content-Length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise BoundedGetError("too large")
                chunks: list[bytes] = []
                size = 0
                while chunk := reply.read(_CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise BoundedGetError("too large")
                    chunks.append(chunk)
                if watchdog.fired:
                    raise BoundedGetError("timeout")
                return b"".join(chunks)
            except BoundedGetError:
                raise
            except (http.client.HTTPException, OSError, ValueError) as error:
                if watchdog.fired or time.monotonic() - started >= seconds:
                    raise BoundedGetError("timeout") from None
                kind = (
                    "malformed HTTP"
                    if isinstance(error, http.client.HTTPException)
                    else "connection"
                )
                raise BoundedGetError(kind) from None
    finally:
        if reply is not None:
            reply.close()
        connection.close()


def fetch_intake(
    server: str,
    authorization: Mapping[str, Any] | None,
    patient_id: str,
    *,
    allowed: Collection[str] | None = None,
) -> Mapping[str, Any]:
    """The search Bundle of the patient's latest usable intake, from ``server``.

    Latest by ``authored`` among completed, amended and in-progress responses (FHIR's
    comma is "or"): an amended intake is the one to use, and an in-progress one gives a
    provisional card rather than an older intake's level.

    ``allowed``, when given, are the normalised bases (:func:`fhir_server_base`) this
    call may ask; any other ``server`` is refused before anything is sent.

    Raises:
        FhirFetchError: the URL is not allowed (a message saying why), or the server did
            not give a usable answer (one message for every way it can fail).

    """
    base = fhir_server_base(server)
    if allowed is not None and base not in allowed:
        msg = "fhirServer is not a FHIR server this service may ask for this client"
        raise FhirFetchError(msg)
    token = _token(authorization)
    query = urllib.parse.urlencode(
        {
            "subject": f"Patient/{patient_id}",
            "questionnaire": QUESTIONNAIRE_URL,
            "status": ",".join(USABLE_STATUSES),
            "_sort": "-authored",
            "_count": "1",
        },
        safe=",",  # FHIR's "or" between values, sent as written
    )
    headers = {"Accept": "application/fhir+json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    try:
        body = bounded_get(
            f"{base}/QuestionnaireResponse?{query}",
            headers,
            max_bytes=MAX_FHIR_BYTES,
            seconds=FETCH_TIMEOUT_SECONDS,
        )
        data = loads_bounded(body)
    except BoundedGetError as error:
        _LOG.warning("the FHIR server's answer was not used: %s", error.kind)
        raise FhirFetchError(_UNAVAILABLE) from None
    except JsonLimitError:
        _LOG.warning("the FHIR server's answer was not used: not usable JSON")
        raise FhirFetchError(_UNAVAILABLE) from None
    if not isinstance(data, Mapping):
        _LOG.warning("the FHIR server's answer was not used: not a JSON object")
        raise FhirFetchError(_UNAVAILABLE)
    return data
