"""The ``iop-placement serve`` command: the CDS Hooks service (and, on loopback, the intake page).

The hook and feedback endpoints need the CDS client's signed JWT (``--service-url`` and
one ``--trust ISSUER=JWKS`` or more); ``--insecure-dev-no-auth`` turns that off, says so
loudly on every start, and is refused on an address other than loopback. The intake page
and its JSON API have no authentication: they are served on a loopback address only.

``--workers N`` runs N server processes on one socket. Each builds its own app from the
options, which the command checks first and hands on in :data:`OPTIONS_ENV`; all write
one audit hash chain and share the ids of accepted tokens through the audit database,
so a token replayed to another worker is refused too.
"""

from __future__ import annotations

import argparse
import atexit
import ipaddress
import json
import logging
import os
import sys
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Final, TextIO

from iop_placement._engine import PlacementEngine

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from iop_placement.audit import AuditStore

__all__ = [
    "DEFAULT_AUDIT_DB",
    "DEFAULT_PORT",
    "HOST",
    "MAX_WORKERS",
    "OPTIONS_ENV",
    "add_serve_command",
    "worker_app",
]

HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8737
DEFAULT_AUDIT_DB: Final = "sqlite:///iop-placement-audit.db"
_INSTALL_HINT = "iop-placement serve needs the service extra: pip install 'iop-placement[service]'"
_INSECURE = (
    "WARNING: --insecure-dev-no-auth: the CDS Hooks endpoints accept calls WITHOUT"
    " authentication. For development on this machine only; never with patient data."
)
_LOG: Final = logging.getLogger("iop_placement.service")
MAX_WORKERS: Final = 64
OPTIONS_ENV: Final = "IOP_PLACEMENT_SERVE_OPTIONS"
WORKER_FACTORY: Final = "iop_placement.cli._serve:worker_app"


@dataclass(frozen=True, slots=True)
class _Options:
    """What a server process needs to build the app; JSON in :data:`OPTIONS_ENV`."""

    rules: str | None
    service_url: str | None
    trust: list[str]
    insecure: bool
    audit_db: str
    cors_origins: list[str]
    intake_page: bool
    log_level: str
    max_intake_age_days: int = 30
    allowed_hosts: list[str] | None = None
    fhir_servers: dict[str, list[str]] | None = None


def _build(options: _Options) -> tuple[Starlette, AuditStore]:
    """The app and its audit store, from the command's options.

    Raises:
        ValueError: an option cannot be used; the message names it.
        AuditError: the audit database cannot be opened.

    """
    from iop_placement.audit import AuditStore  # noqa: PLC0415 - the service extra
    from iop_placement.service import JwtVerifier, TrustedIssuer, create_app  # noqa: PLC0415

    trusted = []
    if not options.insecure:
        try:
            trusted = [TrustedIssuer.parse(item) for item in options.trust]
            JwtVerifier(trusted)  # reads the JWK Sets: a bad one fails before the database opens
        except ValueError as error:
            msg = f"--trust: {error}"
            raise ValueError(msg) from None
    audit = AuditStore.open(options.audit_db)
    try:
        verifier = None
        if trusted:
            # The ids of accepted tokens go to the audit database: every worker sees them.
            verifier = JwtVerifier(trusted, claim_id=audit.claim_token_id)
        engine = PlacementEngine.from_directory(options.rules) if options.rules else None
        try:
            app = create_app(
                engine,
                verifier=verifier,
                service_url=options.service_url,
                insecure_no_auth=options.insecure,
                audit=audit,
                cors_origins=options.cors_origins,
                intake_page=options.intake_page,
                max_intake_age_days=options.max_intake_age_days,
                allowed_hosts=options.allowed_hosts or [],
                fhir_servers=options.fhir_servers or {},
            )
        except ValueError as error:
            option = "--fhir-server" if str(error).startswith("fhir_servers") else "--service-url"
            msg = f"{option}: {error}"
            raise ValueError(msg) from None
    except BaseException:
        audit.close()
        raise
    return app, audit


def worker_app() -> Starlette:
    """The app of one ``serve --workers N`` process (uvicorn calls it in each worker)."""
    options = _Options(**json.loads(os.environ[OPTIONS_ENV]))
    logging.getLogger("iop_placement").setLevel(options.log_level.upper())
    app, audit = _build(options)
    atexit.register(audit.close)  # the store lives as long as the worker process
    return app


def _workers(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        msg = "must be a whole number"
        raise argparse.ArgumentTypeError(msg) from None
    if not 1 <= count <= MAX_WORKERS:
        msg = f"must be from 1 to {MAX_WORKERS}"
        raise argparse.ArgumentTypeError(msg)
    return count


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        msg = "must be a whole number"
        raise argparse.ArgumentTypeError(msg) from None
    if not 1 <= days <= 36_500:
        msg = "must be from 1 to 36500"
        raise argparse.ArgumentTypeError(msg)
    return days


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        msg = "must be a whole number"
        raise argparse.ArgumentTypeError(msg) from None
    if not 1 <= port <= 65535:
        msg = "must be from 1 to 65535"
        raise argparse.ArgumentTypeError(msg)
    return port


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _usage(message: str) -> int:
    sys.stderr.write(f"iop-placement serve: {message}\n")
    return 2


def _serve(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:  # noqa: ARG001
    try:
        from iop_placement.audit import AuditError  # noqa: PLC0415
        from iop_placement.service._server import run_server  # noqa: PLC0415
    except ImportError:
        sys.stderr.write(_INSTALL_HINT + "\n")
        return 1
    loopback = _loopback(args.host)
    if args.insecure_dev_no_auth:
        if not loopback:
            return _usage("--insecure-dev-no-auth is refused on an address other than loopback")
        if args.trust or args.service_url:
            return _usage("--insecure-dev-no-auth cannot be combined with --trust or --service-url")
        sys.stderr.write(_INSECURE + "\n")
        logging.basicConfig()
        _LOG.warning(_INSECURE)
    elif not args.trust or not args.service_url:
        return _usage(
            "the CDS Hooks endpoints need authentication: give --service-url and"
            " --trust ISSUER=JWKS (or --insecure-dev-no-auth for local development)"
        )
    fhir_servers: dict[str, list[str]] = {}
    for item in args.fhir_server or ():
        issuer, sep, url = item.partition("=")
        if not sep or not issuer or not url:
            return _usage(
                "--fhir-server must be ISSUER=URL (a FHIR base URL that issuer's calls may name)"
            )
        fhir_servers.setdefault(issuer, []).append(url)
    options = _Options(
        rules=args.rules,
        service_url=args.service_url,
        trust=list(args.trust or ()),
        insecure=args.insecure_dev_no_auth,
        audit_db=args.audit_db,
        cors_origins=list(args.cors_origin or ()),
        intake_page=loopback,
        log_level=args.log_level,
        max_intake_age_days=args.max_intake_age_days,
        fhir_servers=fhir_servers,
        # The address it listens on is a name it is reached by, unless it is "any".
        allowed_hosts=[
            *(args.allowed_host or ()),
            *([] if args.host in {"0.0.0.0", "::", ""} else [args.host]),  # noqa: S104
        ],
    )
    # Built here with every worker count: a bad option is a usage error before any worker starts.
    try:
        app, audit = _build(options)
    except AuditError as error:
        return _usage(f"--audit-db: {error}")
    except ValueError as error:
        return _usage(str(error))
    where = f"http://{args.host}:{args.port}"
    page = f"intake page on {where}/ and " if loopback else ""
    processes = f", {args.workers} worker processes" if args.workers > 1 else ""
    out.write(
        f"iop-placement: {page}CDS Hooks discovery on {where}/cds-services"
        f"{processes} (Ctrl+C stops it)\n"
    )
    out.flush()
    try:
        if args.workers == 1:
            run_server(app, args.host, args.port, args.log_level)
        else:
            audit.close()  # each worker opens its own connection
            os.environ[OPTIONS_ENV] = json.dumps(asdict(options))
            run_server(WORKER_FACTORY, args.host, args.port, args.log_level, workers=args.workers)
    finally:
        audit.close()
    return 0


def add_serve_command(commands: Any) -> None:  # noqa: ANN401 - argparse's private subparsers type
    """Add ``serve`` to the CLI's subcommands."""
    serve = commands.add_parser(
        "serve", help="serve the CDS Hooks service (and, on loopback, the intake page)"
    )
    serve.add_argument("--host", default=HOST, help=f"address to listen on (default {HOST})")
    serve.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    serve.add_argument("--rules", metavar="DIR", help="a customised rule set directory")
    serve.add_argument(
        "--service-url",
        metavar="URL",
        help="this service's public base URL; tokens' aud is URL/cds-services/iop-placement",
    )
    serve.add_argument(
        "--trust",
        action="append",
        metavar="ISSUER=JWKS",
        help="a CDS client's issuer and its JWK Set (a file or an https URL); repeatable",
    )
    serve.add_argument(
        "--insecure-dev-no-auth",
        action="store_true",
        help="accept CDS Hooks calls without a token (loopback development only)",
    )
    serve.add_argument(
        "--audit-db",
        default=DEFAULT_AUDIT_DB,
        metavar="URL",
        help=f"the audit database: sqlite:///PATH or postgresql://... (default {DEFAULT_AUDIT_DB})",
    )
    serve.add_argument(
        "--cors-origin",
        action="append",
        metavar="ORIGIN",
        help="an origin allowed to call the service from a browser; repeatable",
    )
    serve.add_argument(
        "--workers",
        type=_workers,
        default=1,
        metavar="N",
        help="server processes on the one port (default 1); they share the audit database",
    )
    serve.add_argument(
        "--fhir-server",
        action="append",
        metavar="ISSUER=URL",
        help="a FHIR server base URL that the calls of the client with this issuer may have"
        " the service query (without a prefetch); repeatable. None: the service never fetches",
    )
    serve.add_argument(
        "--allowed-host",
        action="append",
        metavar="NAME",
        help="a host name the Host header may carry besides the --service-url host and"
        " loopback names (any other is refused: DNS rebinding); repeatable",
    )
    serve.add_argument(
        "--max-intake-age-days",
        type=_days,
        default=30,
        metavar="DAYS",
        help="an intake authored longer ago gets a stale-intake card, no level (default 30)",
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="the server's log level (default info)",
    )
    serve.set_defaults(run=_serve)
