"""``iop-placement reassess OLD NEW --current-level L [--days N] [--json]``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any, TextIO

from iop_placement._model.levels import LevelOfCare
from iop_placement.reassessment import InvalidReassessment, reassess

__all__ = ["add_reassess_command"]

ReadJson = Callable[[str, TextIO], Any]


def add_reassess_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], *, read_json: ReadJson
) -> None:
    """Register the ``reassess`` subcommand; ``read_json`` reads a file (or ``-``) as JSON."""

    def run(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
        previous, current = read_json(args.old, stdin), read_json(args.new, stdin)
        try:
            result = reassess(
                previous, current, current_level=args.current_level, days_in_level=args.days
            )
        except InvalidReassessment as error:
            args.stderr.write(f"iop-placement reassess: {error}\n")
            return 1
        if args.json:
            json.dump(result.model_dump(mode="json"), out, indent=2, ensure_ascii=False)
            out.write("\n")
        else:
            out.write(result.to_text() + "\n")
        return 0

    parser = commands.add_parser(
        "reassess",
        help="compare a previous and a new assessment: continue, step down, step up or"
        " discharge to continuing care",
    )
    parser.add_argument("old", metavar="OLD", help="the previous assessment (JSON)")
    parser.add_argument("new", metavar="NEW", help="the new assessment (JSON)")
    parser.add_argument(
        "--current-level",
        required=True,
        choices=LevelOfCare.values(),
        help="the level the person is in now",
    )
    parser.add_argument(
        "--days", type=int, default=None, metavar="N", help="days in the current level"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(run=run)
