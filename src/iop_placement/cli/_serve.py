"""The ``iop-placement serve`` command: the CDS Hooks service (and, on loopback, the intake page).

The hook and feedback endpoints need the CDS client's signed JWT (``--service-url`` and
one ``--trust ISSUER=JWKS`` or more); ``--insecure-dev-no-auth`` turns that off, says so
loudly on every start, and is refused on an address other than loopback. The intake page
and its JSON API have no authentication: they are served on a loopback address only.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
from typing import Any, Final, TextIO

from iop_placement._engine import PlacementEngine

__all__ = ["DEFAULT_AUDIT_DB", "DEFAULT_PORT", "HOST", "add_serve_command"]

HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8737
DEFAULT_AUDIT_DB: Final = "sqlite:///iop-placement-audit.db"
_INSTALL_HINT = "iop-placement serve needs the service extra: pip install 'iop-placement[service]'"
_INSECURE = (
    "WARNING: --insecure-dev-no-auth: the CDS Hooks endpoints accept calls WITHOUT"
    " authentication. For development on this machine only; never with patient data."
)
_LOG: Final = logging.getLogger("iop_placement.service")


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
        from iop_placement.audit import AuditError, AuditStore  # noqa: PLC0415
        from iop_placement.service import JwtVerifier, TrustedIssuer, create_app  # noqa: PLC0415
        from iop_placement.service._server import run_server  # noqa: PLC0415
    except ImportError:
        sys.stderr.write(_INSTALL_HINT + "\n")
        return 1
    loopback = _loopback(args.host)
    verifier = None
    if args.insecure_dev_no_auth:
        if not loopback:
            return _usage("--insecure-dev-no-auth is refused on an address other than loopback")
        if args.trust or args.service_url:
            return _usage("--insecure-dev-no-auth cannot be combined with --trust or --service-url")
        sys.stderr.write(_INSECURE + "\n")
        logging.basicConfig()
        _LOG.warning(_INSECURE)
    else:
        if not args.trust or not args.service_url:
            return _usage(
                "the CDS Hooks endpoints need authentication: give --service-url and"
                " --trust ISSUER=JWKS (or --insecure-dev-no-auth for local development)"
            )
        try:
            verifier = JwtVerifier([TrustedIssuer.parse(item) for item in args.trust])
        except ValueError as error:
            return _usage(f"--trust: {error}")
    try:
        audit = AuditStore.open(args.audit_db)
    except AuditError as error:
        return _usage(f"--audit-db: {error}")
    app = create_app(
        PlacementEngine.from_directory(args.rules) if args.rules else None,
        verifier=verifier,
        service_url=args.service_url,
        insecure_no_auth=args.insecure_dev_no_auth,
        audit=audit,
        cors_origins=args.cors_origin or (),
        intake_page=loopback,
    )
    where = f"http://{args.host}:{args.port}"
    page = f"intake page on {where}/ and " if loopback else ""
    out.write(
        f"iop-placement: {page}CDS Hooks discovery on {where}/cds-services (Ctrl+C stops it)\n"
    )
    out.flush()
    try:
        run_server(app, args.host, args.port, args.log_level)
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
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="the server's log level (default info)",
    )
    serve.set_defaults(run=_serve)
