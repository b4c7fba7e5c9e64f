"""``iop-placement assess --jsonl IN [-o OUT] [--workers N]``: stream JSON lines."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

from iop_placement.batch import score_lines

__all__ = ["add_batch_options", "run_jsonl"]

_EVERY: int = 1000  # progress refresh, in lines


def add_batch_options(assess: argparse.ArgumentParser) -> None:
    """Add --jsonl, --output and --workers to the ``assess`` command."""
    assess.add_argument(
        "--jsonl",
        metavar="IN",
        help="score a file of JSON lines (- for standard input), one output line per input line",
    )
    assess.add_argument(
        "-o", "--output", metavar="OUT", help="with --jsonl: write here, not stdout"
    )
    assess.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="with --jsonl: score on N processes (default 1)",
    )


def run_jsonl(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    """Stream the input's lines through the engine; a bad line never stops the run."""
    with ExitStack() as stack:
        source: TextIO = (
            stdin
            if args.jsonl == "-"
            else stack.enter_context(Path(args.jsonl).open(encoding="utf-8"))
        )
        sink: TextIO = (
            stack.enter_context(Path(args.output).open("w", encoding="utf-8"))
            if args.output
            else out
        )
        show = sys.stderr.isatty()
        lines = (line.rstrip("\r\n") for line in source)
        count = 0
        for count, result in enumerate(
            score_lines(lines, workers=args.workers, rules=args.rules), 1
        ):
            sink.write(result + "\n")
            if show and count % _EVERY == 0:
                sys.stderr.write(f"\rscored {count:,} lines")
        if show:
            sys.stderr.write(f"\rscored {count:,} lines\n")
    return 0
