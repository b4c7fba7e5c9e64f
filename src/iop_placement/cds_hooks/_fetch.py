"""The patient's intake, fetched from the CDS client's FHIR server when it was not prefetched.

CDS Hooks 2.0 lets a service query ``fhirServer`` itself with the access token the
client passes in ``fhirAuthorization``. The query is the prefetch template's, for the
hook's patient. The server must be ``https`` (``http`` only on a loopback address, for
tests and local development); the answer is read with a time-out and a size limit and
parsed with the bounded JSON parser. Every failure is :class:`FhirFetchError` with a fixed
message: nothing the server sent is echoed.
"""

from __future__ import annotations

import ipaddress
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any, Final

from iop_placement._limits import JsonLimitError, loads_bounded
from iop_placement._model.errors import IopPlacementError
from iop_placement.fhir._canonical import QUESTIONNAIRE_URL

__all__ = ["FETCH_TIMEOUT_SECONDS", "MAX_FHIR_BYTES", "FhirFetchError", "fetch_intake"]

FETCH_TIMEOUT_SECONDS: Final = 5.0
MAX_FHIR_BYTES: Final = 1_000_000
_LOOPBACK_NAMES: Final = {"localhost"}


class FhirFetchError(IopPlacementError, RuntimeError):
    """The intake could not be fetched from the FHIR server; the message is fixed text."""


def _loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _server_base(server: str) -> str:
    parts = urllib.parse.urlsplit(server)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return server.rstrip("/")
    if parts.scheme == "http" and _loopback(host):
        return server.rstrip("/")
    msg = "fhirServer must be an https URL (http only on a loopback address)"
    raise FhirFetchError(msg)


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
    return token


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect would carry the access token to wherever the server points: refuse it.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401, ARG002
        return None


_OPENER: Final = urllib.request.build_opener(_NoRedirect)


def fetch_intake(
    server: str, authorization: Mapping[str, Any] | None, patient_id: str
) -> Mapping[str, Any]:
    """The search Bundle of the patient's latest completed intake, from ``server``.

    Raises:
        FhirFetchError: the URL is not allowed, the server cannot be reached, answers
            with an error, too much, or something that is not a JSON object.

    """
    base = _server_base(server)
    token = _token(authorization)
    query = urllib.parse.urlencode(
        {
            "subject": f"Patient/{patient_id}",
            "questionnaire": QUESTIONNAIRE_URL,
            "status": "completed",
            "_sort": "-authored",
            "_count": "1",
        }
    )
    headers = {"Accept": "application/fhir+json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        f"{base}/QuestionnaireResponse?{query}", headers=headers
    )
    try:
        with _OPENER.open(request, timeout=FETCH_TIMEOUT_SECONDS) as reply:
            body = reply.read(MAX_FHIR_BYTES + 1)
    except urllib.error.HTTPError as error:
        error.close()
        msg = f"the FHIR server answered HTTP {int(error.code)}"
        raise FhirFetchError(msg) from None
    except (OSError, ValueError):
        msg = "the FHIR server cannot be reached"
        raise FhirFetchError(msg) from None
    if len(body) > MAX_FHIR_BYTES:
        msg = f"the FHIR server's answer is larger than {MAX_FHIR_BYTES} bytes"
        raise FhirFetchError(msg)
    try:
        data = loads_bounded(body)
    except JsonLimitError:
        msg = "the FHIR server's answer is not usable JSON"
        raise FhirFetchError(msg) from None
    if not isinstance(data, Mapping):
        msg = "the FHIR server's answer is not a FHIR resource"
        raise FhirFetchError(msg)
    return data
