"""The ``iop-placement serve`` command: the intake page and CDS Hooks service on localhost."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Final, TextIO

from iop_placement._engine import PlacementEngine

__all__ = ["DEFAULT_PORT", "HOST", "add_serve_command"]

HOST: Final = "127.0.0.1"  # localhost only: the service has no authentication of its own
DEFAULT_PORT: Final = 8737
_INSTALL_HINT = "iop-placement serve needs the service extra: pip install 'iop-placement[service]'"


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


def _serve(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:  # noqa: ARG001
    try:
        import uvicorn  # noqa: PLC0415 - optional dependency

        from iop_placement.service import create_app  # noqa: PLC0415 - optional dependency
    except ImportError:
        sys.stderr.write(_INSTALL_HINT + "\n")
        return 1
    app = create_app(PlacementEngine.from_directory(args.rules) if args.rules else None)
    out.write(
        f"iop-placement: intake page on http://{HOST}:{args.port}/ and CDS Hooks discovery"
        f" on http://{HOST}:{args.port}/cds-services (Ctrl+C stops it)\n"
    )
    out.flush()
    uvicorn.run(app, host=HOST, port=args.port, log_level=args.log_level)
    return 0


def add_serve_command(commands: Any) -> None:  # noqa: ANN401 - argparse's private subparsers type
    """Add ``serve`` to the CLI's subcommands."""
    serve = commands.add_parser(
        "serve", help="serve the intake page and the CDS Hooks service on localhost"
    )
    serve.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    serve.add_argument("--rules", metavar="DIR", help="a customised rule set directory")
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="the server's log level (default info)",
    )
    serve.set_defaults(run=_serve)
