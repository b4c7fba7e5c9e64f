"""``iop-placement variance --db URL [--csv FILE] [--fhir FILE] [--json]``.

Counts the placement records in the audit store by reason code, level pair and deciding
rule; exports a de-identified CSV (one row per record, codes and the year only) and a FHIR
Bundle (a summary MeasureReport). Never a note, a record id, a subject or a full date.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TextIO

from iop_placement._model.variance import deidentified_csv, variance_report
from iop_placement.audit import AuditError, AuditStore
from iop_placement.fhir import to_variance_bundle

__all__ = ["add_variance_command"]


def _run(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:  # noqa: ARG001
    if not args.db.startswith(("postgresql://", "postgres://")):
        path = args.db.removeprefix("sqlite:///")
        if not Path(path).is_file():  # never create an empty store by mistake
            args.stderr.write("iop-placement variance: the audit database does not exist\n")
            return 2
    try:
        with AuditStore.open(args.db) as store:
            records = list(store.placement_records())
    except AuditError as error:
        args.stderr.write(f"iop-placement variance: {error}\n")
        return 2
    report = variance_report(records)
    if args.csv:
        Path(args.csv).write_text(deidentified_csv(records), encoding="utf-8")
    if args.fhir:
        bundle = to_variance_bundle(report)
        Path(args.fhir).write_text(json.dumps(bundle, indent=2) + "\n", encoding="utf-8")
    if args.json:
        json.dump(report.model_dump(mode="json"), out, indent=2)
        out.write("\n")
    else:
        out.write(report.to_text() + "\n")
    return 0


def add_variance_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``variance`` subcommand."""
    parser = commands.add_parser(
        "variance",
        help="count placement records by reason code, level pair and deciding rule;"
        " de-identified CSV and FHIR export",
    )
    parser.add_argument(
        "--db", required=True, metavar="URL", help="sqlite:///PATH or postgresql://..."
    )
    parser.add_argument("--csv", metavar="FILE", help="write one de-identified row per record")
    parser.add_argument("--fhir", metavar="FILE", help="write a FHIR Bundle (MeasureReport)")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    parser.set_defaults(run=_run)
