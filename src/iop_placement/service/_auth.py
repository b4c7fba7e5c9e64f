"""CDS Hooks 2.0 authentication: the CDS client's signed JWT bearer token, verified.

The specification (CDS Hooks 2.0, "Trusting CDS Clients") has the client send
``Authorization: Bearer <JWT>`` signed with a key it publishes as a JWK Set; the service
trusts a configured list of issuers. Verified here, with PyJWT and ``cryptography``:

- the issuer (``iss``) is one of the configured ones, and the key is found by the
  header's ``kid`` in that issuer's JWK Set (a file, or an https URL fetched and cached;
  http only on loopback; the header's ``jku`` is never followed; the download is at most
  :data:`MAX_JWKS_BYTES` within one 5 s deadline, with no proxy);
- the algorithm is in :data:`ALGORITHMS` (asymmetric only: no ``none``, no HMAC), and
  is the key's own when its JWK declares one (``alg``); the header's ``typ`` is ``JWT``;
- ``aud`` is the URL of the endpoint called, built from the configured service URL and
  never from the request's ``Host``;
- ``exp``, ``iat`` (numbers) and ``jti`` are present; the token has not expired, was not issued in
  the future, and lives at most :data:`MAX_LIFETIME_SECONDS` (the specification's
  five minutes);
- a ``jti`` already seen from the same issuer is refused (replay), for as long as its
  token could be valid. The memory of seen ids is this process's own unless the verifier
  is given ``claim_id`` (``iop-placement serve`` passes its audit database's
  :meth:`~iop_placement.audit.AuditStore.claim_token_id`, shared by all its workers).

Any failure is :class:`AuthenticationError` with a fixed message; the token's content is
never echoed or logged.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

import jwt

from iop_placement._limits import JsonLimitError, loads_bounded
from iop_placement._model.errors import IopPlacementError
from iop_placement.cds_hooks._fetch import BoundedGetError, bounded_get

__all__ = [
    "ALGORITHMS",
    "MAX_LIFETIME_SECONDS",
    "AuthenticationError",
    "AuthenticationUnavailable",
    "ClaimId",
    "JwtVerifier",
    "TrustedIssuer",
]

ALGORITHMS: Final = ("ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384")
"""Accepted signature algorithms: CDS Hooks requires ES384 and RS384; all are asymmetric."""
MAX_LIFETIME_SECONDS: Final = 300
LEEWAY_SECONDS: Final = 30
MAX_TOKEN_CHARS: Final = 8192
MAX_REMEMBERED_IDS: Final = 100_000
_REQUIRED: Final = ("iss", "aud", "exp", "iat", "jti")


class AuthenticationError(IopPlacementError, ValueError):
    """The request's bearer token is missing or not acceptable; the message is fixed text."""


class AuthenticationUnavailable(IopPlacementError, RuntimeError):  # noqa: N818 - reads as the others
    """A token could not be checked now (its issuer's keys cannot be fetched, or too many ids)."""


@dataclass(frozen=True, slots=True)
class TrustedIssuer:
    """An issuer the service trusts and where its keys are: a JWK Set file or an https URL."""

    issuer: str
    jwks: str

    @classmethod
    def parse(cls, text: str) -> TrustedIssuer:
        """``ISSUER=JWKS`` as ``--trust`` takes it, split at the first ``=``."""
        issuer, sep, jwks = text.partition("=")
        if not sep or not issuer or not jwks:
            msg = "must be ISSUER=JWKS, the issuer and its JWK Set (a file or an https URL)"
            raise ValueError(msg)
        return cls(issuer, jwks)


MAX_JWKS_BYTES: Final = 256 * 1024
"""A JWK Set larger than this is refused (a few keys take a few KB)."""
JWKS_TIMEOUT_SECONDS: Final = 5.0


class _BoundedJWKClient(jwt.PyJWKClient):
    """PyJWT's JWK Set client, fetching with one deadline and a size limit, without proxies.

    PyJWT reads the whole answer, with a timeout per socket read: a server could send
    gigabytes, or a byte every few seconds. Only the download is replaced; the caching,
    the cool-down and the key lookup stay PyJWT's.
    """

    def fetch_data(self) -> Any:  # noqa: ANN401 - the JWK Set's JSON, as PyJWT has it
        """The JWK Set, fetched within the limits, and put in PyJWT's cache."""
        try:
            body = bounded_get(
                self.uri,
                {"Accept": "application/json", **self.headers},
                max_bytes=MAX_JWKS_BYTES,
                seconds=JWKS_TIMEOUT_SECONDS,
            )
            data = loads_bounded(body)
        except (BoundedGetError, JsonLimitError) as error:
            kind = error.kind if isinstance(error, BoundedGetError) else "not usable JSON"
            msg = f"the JWK Set could not be fetched ({kind})"
            raise jwt.PyJWKClientConnectionError(msg) from None
        if not isinstance(data, dict):
            msg = "the JWK Set is not a JSON object"
            raise jwt.PyJWKClientConnectionError(msg)
        if self.jwk_set_cache is not None:
            self.jwk_set_cache.put(data)
        if hasattr(self, "_last_successful_fetch"):  # PyJWT >= 2.11: starts its cool-down
            self._last_successful_fetch = time.monotonic()
        return data


class _Keys:
    """One issuer's keys: a JWK Set file read once, or a URL fetched and cached by PyJWT."""

    def __init__(self, jwks: str) -> None:
        self._client: jwt.PyJWKClient | None = None
        self._set: jwt.PyJWKSet | None = None
        if jwks.startswith(("https://", "http://")):
            if not _trusted_transport(jwks):
                # Keys fetched in clear text could be swapped on the way: anyone could sign.
                msg = "a JWK Set URL must be https (http only on a loopback address)"
                raise ValueError(msg)
            # Cached for five minutes, refreshed once on an unknown kid (with a cool-down).
            self._client = _BoundedJWKClient(jwks, cache_jwk_set=True, lifespan=300, timeout=5)
        else:
            try:
                data = json.loads(Path(jwks).read_text(encoding="utf-8"))
                self._set = jwt.PyJWKSet.from_dict(data)
            except (OSError, ValueError, jwt.PyJWTError) as error:
                msg = f"cannot read the JWK Set file {jwks}: {type(error).__name__}"
                raise ValueError(msg) from None

    def key(self, kid: str, alg: str) -> Any:  # noqa: ANN401 - a cryptography public key
        """The public key ``kid`` for a token signed with ``alg``.

        Raises:
            AuthenticationError: no such key, or the key declares another ``alg``.
            AuthenticationUnavailable: the issuer's keys cannot be fetched now.

        """
        if self._client is not None:
            try:
                found = self._client.get_signing_key(kid)
            except jwt.PyJWKClientConnectionError:
                raise AuthenticationUnavailable("the issuer's keys cannot be fetched") from None
            except jwt.PyJWTError:
                raise AuthenticationError("the token's key is not known") from None
        else:
            assert self._set is not None
            matches = [key for key in self._set.keys if key.key_id == kid]
            if not matches:
                raise AuthenticationError("the token's key is not known")
            found = matches[0]
        # RFC 7517 4.4: a key that declares its algorithm is used with that one only. PyJWK
        # keeps the JWK as given (it fills in a default alg when none is declared, so its
        # algorithm_name cannot tell a declared RS256 from none).
        declared = getattr(found, "_jwk_data", {}).get("alg")
        if declared is not None and declared != alg:
            raise AuthenticationError("the token's algorithm is not the one its key declares")
        return found.key


class ClaimId(Protocol):
    """Records a token id until ``expires``; False if it was recorded before (a replay).

    Raises an exception when the ids cannot be recorded: the token is then refused (503).
    """

    def __call__(self, issuer: str, jti: str, *, expires: float, now: float) -> bool: ...


class JwtVerifier:
    """Verifies CDS clients' bearer tokens against trusted issuers; thread-safe.

    ``claim_id`` keeps the ids of accepted tokens somewhere shared (several processes, or
    across restarts); without it they are kept in this process's memory.
    """

    def __init__(
        self,
        issuers: Sequence[TrustedIssuer],
        *,
        clock: Any = time.time,  # noqa: ANN401
        claim_id: ClaimId | None = None,
    ) -> None:
        if not issuers:
            msg = "at least one trusted issuer is needed"
            raise ValueError(msg)
        self._keys: dict[str, _Keys] = {item.issuer: _Keys(item.jwks) for item in issuers}
        self._clock = clock
        self._claim_id = claim_id
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    @property
    def issuers(self) -> tuple[str, ...]:
        """The trusted issuers, in the order given."""
        return tuple(self._keys)

    def verify(self, authorization: str | None, audience: str) -> Mapping[str, Any]:
        """The verified claims of ``Authorization: Bearer <token>`` for ``audience``.

        Raises:
            AuthenticationError: no bearer token, or one that is not acceptable.
            AuthenticationUnavailable: the issuer's keys cannot be fetched now.

        """
        token = _bearer(authorization)
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise AuthenticationError("the bearer token is not a JWT") from None
        alg, kid, issuer = header.get("alg"), header.get("kid"), unverified.get("iss")
        typ = header.get("typ")
        if not isinstance(alg, str) or alg not in ALGORITHMS:
            raise AuthenticationError("the token's algorithm is not accepted")
        if not isinstance(typ, str) or typ.upper() != "JWT":
            # CDS Hooks 2.0: the header's typ is "JWT"; another typ is another kind of token.
            raise AuthenticationError("the token's type (typ) must be JWT")
        if not isinstance(kid, str) or not kid:
            raise AuthenticationError("the token has no key id (kid)")
        if not isinstance(issuer, str) or issuer not in self._keys:
            raise AuthenticationError("the token's issuer is not trusted")
        key = self._keys[issuer].key(kid, alg)
        now = self._clock()
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=audience,
                issuer=issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": list(_REQUIRED), "verify_iat": True},
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise AuthenticationError("the token is not for this endpoint (aud)") from None
        except jwt.ImmatureSignatureError:
            raise AuthenticationError("the token is not valid yet") from None
        except jwt.MissingRequiredClaimError:
            raise AuthenticationError("the token lacks a required claim") from None
        except (jwt.PyJWTError, ValueError, TypeError):
            raise AuthenticationError("the token's signature or claims are not valid") from None
        exp, iat, jti = claims["exp"], claims["iat"], claims["jti"]
        if not all(_numeric_date(value) for value in (exp, iat)):
            # RFC 7519 NumericDate: a JSON number. PyJWT accepts "1700000000" (a string).
            raise AuthenticationError("the token's exp and iat must be numbers")
        if not isinstance(jti, str) or not jti or len(jti) > 256:
            raise AuthenticationError("the token's jti is not valid")
        if exp - now > MAX_LIFETIME_SECONDS + LEEWAY_SECONDS or exp - iat > MAX_LIFETIME_SECONDS:
            raise AuthenticationError("the token lives longer than five minutes")
        self._remember(issuer, jti, float(exp) + LEEWAY_SECONDS, now)
        return claims

    def _remember(self, issuer: str, jti: str, until: float, now: float) -> None:
        if self._claim_id is not None:
            try:
                fresh = self._claim_id(issuer, jti, expires=until, now=now)
            except Exception:  # noqa: BLE001 - a store's error may quote the token's id
                raise AuthenticationUnavailable("the token ids cannot be recorded now") from None
            if not fresh:
                raise AuthenticationError("the token was used before (jti replay)")
            return
        with self._lock:
            if (issuer, jti) in self._seen and self._seen[issuer, jti] >= now:
                raise AuthenticationError("the token was used before (jti replay)")
            if len(self._seen) >= MAX_REMEMBERED_IDS:
                self._seen = {k: v for k, v in self._seen.items() if v >= now}
                if len(self._seen) >= MAX_REMEMBERED_IDS:
                    raise AuthenticationUnavailable("too many tokens in the last minutes")
            self._seen[issuer, jti] = until


def _numeric_date(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _trusted_transport(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        return bool(parts.hostname)
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise AuthenticationError("a bearer token is required")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthenticationError("the Authorization header must be 'Bearer <token>'")
    if len(token) > MAX_TOKEN_CHARS:
        raise AuthenticationError("the bearer token is too long")
    return token
