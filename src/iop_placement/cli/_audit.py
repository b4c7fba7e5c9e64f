"""The ``iop-placement audit verify`` command: check the audit trail's hash chain.

Read-only: the database is opened read-only and nothing is created or repaired (a
mistyped path is an error, never a new empty database). Exit codes: 0 the chain is
whole, 1 it is broken (each problem is printed), 2 it cannot be checked (no such
database, no audit trail in it, a malformed ``--expect-head``).

Each run prints the head as ``SEQ:HASH``. A chain cut short, rewritten with recomputed
hashes, or extended by a forger is still a whole chain; only a head kept elsewhere (a
ticket, a log shipped off the machine) finds that: pass it back with ``--expect-head``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from iop_placement.audit import AuditError, parse_head, verify

__all__ = ["add_audit_command"]

EXIT_OK = 0
EXIT_BROKEN = 1
EXIT_CANNOT_CHECK = 2
_NO_HEAD = (
    "note: without --expect-head, entries removed at the end, a chain rewritten with"
    " recomputed hashes or a forged append cannot be found; keep the head printed below"
    " and pass it next time"
)


def _verify(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:  # noqa: ARG001
    if args.expect_head is not None:
        try:
            parse_head(args.expect_head)
        except ValueError as error:
            sys.stderr.write(f"iop-placement audit verify: --expect-head: {error}\n")
            return EXIT_CANNOT_CHECK
    try:
        report = verify(args.db, expected_head=args.expect_head)
    except AuditError as error:
        sys.stderr.write(f"iop-placement audit verify: {error}\n")
        return EXIT_CANNOT_CHECK
    if args.expect_head is None:
        sys.stderr.write(_NO_HEAD + "\n")
    for problem in report.problems:
        out.write(f"problem: {problem}\n")
    verdict = "intact" if report.ok else "BROKEN"
    out.write(f"{report.entries} entries, chain {verdict}; head {report.head_text}\n")
    return EXIT_OK if report.ok else EXIT_BROKEN


def add_audit_command(commands: Any) -> None:  # noqa: ANN401 - argparse's private subparsers type
    """Add ``audit verify`` to the CLI's subcommands."""
    audit = commands.add_parser("audit", help="check the audit trail of cards and feedback")
    actions = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    check = actions.add_parser(
        "verify", help="find edited or deleted audit entries (read-only; exit 2: cannot check)"
    )
    check.add_argument(
        "--db", required=True, metavar="URL", help="sqlite:///PATH or postgresql://..."
    )
    check.add_argument(
        "--expect-head",
        metavar="[SEQ:]HASH",
        help="a head printed by an earlier run, kept elsewhere: SEQ:HASH must still be entry"
        " SEQ; a bare HASH must be the newest entry",
    )
    check.set_defaults(run=_verify)
