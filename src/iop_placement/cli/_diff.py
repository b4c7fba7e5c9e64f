"""``iop-placement diff OLD NEW`` and ``iop-placement population NAME``: rule-change review."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import ExitStack
from typing import TextIO

from iop_placement._model.errors import RuleSetError
from iop_placement._rules.ruleset import load_rule_set
from iop_placement.comparison import FAIL_ON, FORMATS, compare_rules, render_comparison
from iop_placement.populations import POPULATIONS, population

__all__ = ["add_diff_commands"]

_INSTALL = "iop-placement diff needs rich: pip install 'iop-placement[verify]'"
EXIT_REFUSED = 1  # a --fail-on policy refused the change


def _diff(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:  # noqa: ARG001
    try:
        from rich.progress import Progress  # noqa: PLC0415 - optional dependency
    except ImportError:
        sys.stderr.write(f"{_INSTALL}\n")
        return 1
    with ExitStack() as stack:
        progress = None
        if args.population and sys.stderr.isatty():
            bar = stack.enter_context(Progress(transient=True))
            task = bar.add_task("scoring the population", total=None)

            def progress(line: int) -> None:
                if line % 1000 == 0:
                    bar.update(task, completed=line)

        rule_sets = []
        for name, directory in (("OLD_RULES", args.old), ("NEW_RULES", args.new)):
            try:
                rule_sets.append(load_rule_set(directory))
            except RuleSetError as error:  # blame the argument given, not --fixed
                args.stderr.write(f"iop-placement diff: {name}: {error}\n")
                return 1
        old, new = rule_sets
        try:
            comparison = compare_rules(
                old, new, population=args.population, fixed=args.fixed, progress=progress
            )
        except ValueError as error:  # a --fixed field or answer the model does not have
            sys.stderr.write(f"iop-placement: --fixed: {error}\n")
            return 2
        except OSError as error:
            sys.stderr.write(
                f"iop-placement: cannot read {args.population}: {error.strerror or error}\n"
            )
            return 1
    out.write(render_comparison(comparison, args.format))
    refused = comparison.failures(args.fail_on or ())
    for line in refused:
        out.write(f"refused {line}\n")
    return EXIT_REFUSED if refused else 0


def _population(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:  # noqa: ARG001
    for answers in population(args.name, args.count, seed=args.seed):
        out.write(json.dumps(answers) + "\n")
    return 0


def _fixed(text: str) -> dict[str, object]:
    try:
        fixed = json.loads(text)
    except json.JSONDecodeError:
        fixed = None
    if not isinstance(fixed, dict):
        msg = "must be a JSON object of field names and answers"
        raise argparse.ArgumentTypeError(msg)
    return fixed


def _count(text: str) -> int:
    number = int(text)
    if number < 1:
        msg = f"must be at least 1, not {number}"
        raise argparse.ArgumentTypeError(msg)
    return number


def add_diff_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``diff`` and ``population`` subcommands."""
    diff = commands.add_parser(
        "diff",
        help="whom a rule change moves: level, flag and rating changes over every assessment",
        description="Compare two rule sets over the whole assessment space (exact counts)"
        " and, with --population, over a file of assessments (one JSON object per line).",
    )
    diff.add_argument("old", metavar="OLD_RULES", help="the rule set directory before")
    diff.add_argument("new", metavar="NEW_RULES", help="the rule set directory after")
    diff.add_argument(
        "--population",
        metavar="FILE.jsonl",
        help="also count the changes over these assessments; bad lines are reported",
    )
    diff.add_argument(
        "--fixed",
        type=_fixed,
        metavar="JSON",
        help='hold fields of the space at one answer each, e.g. \'{"obligations": [],'
        ' "withdrawal_severity": null}\' (null: left out)',
    )
    diff.add_argument("--format", choices=tuple(FORMATS), default="text")
    diff.add_argument(
        "--fail-on",
        action="append",
        choices=tuple(FAIL_ON),
        metavar="POLICY",
        help="exit 1 when the change does this (repeatable): " + ", ".join(tuple(FAIL_ON)),
    )
    diff.set_defaults(run=_diff)

    generate = commands.add_parser(
        "population",
        help="print seeded assessments of a reference intake population (assumptions, not data)",
    )
    generate.add_argument("name", choices=tuple(POPULATIONS), help="the population")
    generate.add_argument("-n", "--count", type=_count, default=1000, help="how many")
    generate.add_argument("--seed", type=int, default=0, help="the seed (default 0)")
    generate.set_defaults(run=_population)
