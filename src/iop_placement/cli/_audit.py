"""The ``iop-placement audit verify`` command: check the audit trail's hash chain."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from iop_placement.audit import AuditError, verify

__all__ = ["add_audit_command"]


def _verify(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:  # noqa: ARG001
    try:
        report = verify(args.db, expected_head=args.expect_head)
    except AuditError as error:
        sys.stderr.write(f"iop-placement audit verify: {error}\n")
        return 1
    for problem in report.problems:
        out.write(f"problem: {problem}\n")
    verdict = "intact" if report.ok else "BROKEN"
    out.write(f"{report.entries} entries, chain {verdict}; head {report.head}\n")
    return 0 if report.ok else 1


def add_audit_command(commands: Any) -> None:  # noqa: ANN401 - argparse's private subparsers type
    """Add ``audit verify`` to the CLI's subcommands."""
    audit = commands.add_parser("audit", help="check the audit trail of cards and feedback")
    actions = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    check = actions.add_parser("verify", help="find edited or deleted audit entries")
    check.add_argument(
        "--db", required=True, metavar="URL", help="sqlite:///PATH or postgresql://..."
    )
    check.add_argument(
        "--expect-head",
        metavar="HASH",
        help="the newest entry's hash as kept elsewhere (finds entries removed at the end)",
    )
    check.set_defaults(run=_verify)
