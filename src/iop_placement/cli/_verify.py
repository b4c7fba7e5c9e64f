"""``iop-placement verify [RULES_DIR]``: exhaustive verification with a progress bar."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

from iop_placement._model.errors import RuleSetError
from iop_placement._rules.bundled import bundled_rules
from iop_placement._rules.ruleset import load_rule_set
from iop_placement.reassessment import (
    TRANSITIONS_FILE,
    load_transition_rules,
    verify_transitions,
)

__all__ = ["add_verify_command"]

_INSTALL = "iop-placement verify needs z3-solver and rich: pip install 'iop-placement[verify]'"
_METHODS = {"symbolic": ("symbolic",), "diagrams": ("diagrams",), "both": ("symbolic", "diagrams")}
_DEPRECATED = {"enumeration": "diagrams"}  # accepted, with a warning, until 0.5.0 at the earliest


def _run(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:  # noqa: ARG001
    try:
        from rich.progress import Progress  # noqa: PLC0415 - optional dependency

        from iop_placement.verification import verify_rules  # noqa: PLC0415 - needs z3
    except ImportError:
        sys.stderr.write(f"{_INSTALL}\n")
        return 1
    method = args.method
    if method in _DEPRECATED:
        method = _DEPRECATED[method]
        args.stderr.write(
            f"iop-placement verify: --method {args.method} is deprecated (the NumPy enumeration"
            f" is retired) and runs --method {method}; it will be removed no earlier than 0.5.0\n"
        )
    directory = args.rules_dir or bundled_rules()
    try:
        load_rule_set(directory)
    except RuleSetError as error:  # nothing to verify: not "proved over all 0 assessments"
        args.stderr.write(f"iop-placement verify: {error}; nothing was verified\n")
        return 1
    with ExitStack() as stack:
        progress_bar = None
        if sys.stderr.isatty():
            progress_bar = stack.enter_context(Progress(transient=True))
            task = progress_bar.add_task("verifying", total=None)

        def progress(step: str, done: int, total: int) -> None:
            if progress_bar is not None:
                progress_bar.update(task, description=step, completed=done, total=total)

        methods = _METHODS[method]
        reports = [verify_rules(directory, method=m, progress=progress) for m in methods]
    for report in reports:
        for finding in [*report.violations, *report.lint]:
            out.write(f"{finding}\n\n")
        out.write(f"{report.summary()}\n")
    # A customised rule set without its own transitions.json is checked with the bundled one.
    own = args.rules_dir and (Path(args.rules_dir) / TRANSITIONS_FILE).is_file()
    transitions = verify_transitions(load_transition_rules(args.rules_dir if own else None))
    for violation in transitions.violations:
        out.write(f"{violation}\n\n")
    out.write(f"{transitions.summary()}\n")
    ok = all(report.ok for report in reports) and transitions.ok
    out.write("OK: every invariant holds.\n" if ok else "FAILED: see the findings above.\n")
    return 0 if ok else 1


def add_verify_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``verify`` subcommand."""
    verify = commands.add_parser(
        "verify",
        help="check every invariant over the whole assessment space and lint the rules",
    )
    verify.add_argument(
        "rules_dir",
        nargs="?",
        metavar="RULES_DIR",
        help="a rule set directory (default: the bundled rules)",
    )
    verify.add_argument(
        "--method",
        choices=(*_METHODS, *_DEPRECATED),
        default="symbolic",
        help="symbolic: prove over every assessment with Z3 over the rule files as the"
        " reference reads them (default); diagrams: check them on the decision diagrams of"
        " the policy the engine ships; both: the two independent encodings, one after the"
        " other (enumeration: deprecated, runs diagrams)",
    )
    verify.set_defaults(run=_run)
