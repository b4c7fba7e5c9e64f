"""The ``iop-placement`` command line: assess an assessment, list the rules, print the schema."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from iop_placement._backends.selection import describe
from iop_placement._engine import PlacementEngine, default_engine
from iop_placement._model.errors import InvalidAssessment, PlacementError, RuleSetError
from iop_placement._model.schema import json_schema
from iop_placement._rules.catalogue import render_catalogue
from iop_placement._version import __version__
from iop_placement.batch import compact_catalogue
from iop_placement.cli._audit import add_audit_command
from iop_placement.cli._batch import (
    BatchUsageError,
    add_batch_options,
    check_batch_usage,
    run_jsonl,
)
from iop_placement.cli._diff import add_diff_commands
from iop_placement.cli._explain import (
    add_explain_options,
    add_markdown_option,
    write_explanation,
    write_rules_markdown,
)
from iop_placement.cli._fhir import add_fhir_command
from iop_placement.cli._reassess import add_reassess_command
from iop_placement.cli._serve import add_serve_command
from iop_placement.cli._variance import add_variance_command
from iop_placement.cli._verify import add_verify_command

__all__ = ["main"]

EXIT_OK = 0
EXIT_INVALID = 1  # the input or a rule set is not valid; the message says why
EXIT_USAGE = 2  # argparse's own code for a command line it cannot read


class _InputError(Exception):
    """The assessment file cannot be read as JSON."""


def _engine(rules: str | None) -> PlacementEngine:
    return PlacementEngine.from_directory(rules) if rules else default_engine()


def _read_json(source: str, stdin: TextIO) -> Any:  # noqa: ANN401 - any JSON document
    try:
        text = stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as error:
        msg = f"cannot read {source}: {error.strerror or error}"
        raise _InputError(msg) from None
    except UnicodeDecodeError:
        msg = f"{source} is not UTF-8 text"
        raise _InputError(msg) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        # The position only: the document may hold patient data.
        where = f"line {error.lineno}, column {error.colno}"
        msg = f"{source} is not valid JSON ({error.msg} at {where})"
        raise _InputError(msg) from None
    except RecursionError:
        msg = f"{source} cannot be read: its JSON is nested too deeply"
        raise _InputError(msg) from None
    except ValueError:  # an integer longer than Python converts (4,300 digits by default)
        msg = f"{source} cannot be read: it holds a number with too many digits"
        raise _InputError(msg) from None


def _write_pdf(
    engine: PlacementEngine,
    data: Any,  # noqa: ANN401 - any JSON; validated
    path: str,
    out: TextIO,
    language: str = "en",
) -> None:
    """The printable summary (PDF) of one assessment, to ``path``; one line on ``out``."""
    from iop_placement._model.printable import printable_summary  # noqa: PLC0415 - lazily

    pdf = printable_summary(engine.explain(data), language=language)
    try:
        Path(path).write_bytes(pdf)
    except OSError as error:
        msg = f"--pdf: cannot write {path}: {error.strerror}"
        raise _InputError(msg) from None
    out.write(f"wrote the printable summary to {path}\n")


def _assess(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    check_batch_usage(args)
    if args.jsonl is not None:
        return run_jsonl(args, out, stdin, args.stderr)
    if args.file is None:  # a usage error, as argparse reports one (exit 2)
        msg = "assess needs FILE (or - for standard input), or --jsonl IN"
        raise BatchUsageError(msg)
    data = _read_json(args.file, stdin)
    engine = _engine(args.rules)
    if args.provisional:
        result = engine.provisional(data)
        if args.json:
            json.dump(result.model_dump(mode="json"), out, indent=2, ensure_ascii=False)
            out.write("\n")
        else:
            fmt = getattr(args, "format", None) or "text"
            rendered = {"markdown": result.to_markdown, "html": result.to_html}
            out.write(rendered.get(fmt, lambda: result.to_text() + "\n")())
        return EXIT_OK
    if args.pdf is not None:
        _write_pdf(engine, data, args.pdf, out, getattr(args, "language", "en"))
        return EXIT_OK
    if args.json:
        recommendation = engine.recommend(data)
        json.dump(recommendation.model_dump(mode="json"), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        write_explanation(engine, data, args, out)
    return EXIT_OK


def _rules(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:  # noqa: ARG001
    rule_set = _engine(args.rules).rule_set
    if args.json:
        payload = {
            "name": rule_set.name,
            "version": rule_set.version,
            "sha256": rule_set.sha256,
            "families": [
                f.model_dump(mode="json", by_alias=True, exclude_none=True) for f in rule_set.files
            ],
        }
        json.dump(payload, out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif args.compact_catalogue:
        json.dump(compact_catalogue(args.rules), out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif args.markdown:
        from iop_placement.reassessment import (  # noqa: PLC0415 - only for the catalogue
            TRANSITIONS_FILE,
            load_transition_rules,
        )

        # A customised rule set's own transition rules when it has them, else the bundled.
        own = args.rules is not None and (Path(args.rules) / TRANSITIONS_FILE).is_file()
        transitions = load_transition_rules(args.rules if own else None)
        write_rules_markdown(rule_set, out, transitions)
    else:
        out.write(render_catalogue(rule_set))
    return EXIT_OK


def _schema(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:  # noqa: ARG001
    json.dump(json_schema(), out, indent=2, ensure_ascii=False)
    out.write("\n")
    return EXIT_OK


class _VersionAction(argparse.Action):
    """``--version``: the package, the Python and the backend a default engine uses.

    The backend is resolved only when asked (it looks for durable-rules' C core).
    """

    def __init__(self, option_strings: Sequence[str], dest: str, help: str) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,  # noqa: ARG002
        values: object,  # noqa: ARG002
        option_string: str | None = None,  # noqa: ARG002
    ) -> None:
        python = ".".join(map(str, sys.version_info[:3]))
        sys.stdout.write(f"{parser.prog} {__version__} on Python {python}, {describe()}\n")
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iop-placement",
        description="Level-of-care decision support for substance use disorders"
        " (for clinicians; the reasons cite their sources).",
    )
    parser.add_argument(
        "--version",
        action=_VersionAction,
        help="show the version, the Python and which rule backend runs, and exit",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    assess = commands.add_parser("assess", help="recommend a level of care for one assessment")
    assess.add_argument(
        "file", nargs="?", metavar="FILE", help="a JSON assessment, or - for standard input"
    )
    assess.add_argument("--json", action="store_true", help="print the recommendation as JSON")
    assess.add_argument("--rules", metavar="DIR", help="a customised rule set directory")
    assess.add_argument(
        "--provisional",
        action="store_true",
        help="FILE may leave questions out: print the exact range of levels over every way"
        " of answering them, the flags, and what to ask next (with --json or --format)",
    )
    assess.add_argument(
        "--pdf",
        metavar="OUT.pdf",
        help="write the printable summary (level, flags, dimension table, why not a lower"
        " level, rule set) as a one- or two-page PDF (needs the pdf extra)",
    )
    add_batch_options(assess)
    add_explain_options(assess)
    assess.set_defaults(run=_assess)

    rules = commands.add_parser("rules", help="list the rules with their sources")
    rules.add_argument("--rules", metavar="DIR", help="a customised rule set directory")
    rules.add_argument("--json", action="store_true", help="print the rule files as JSON")
    add_markdown_option(rules)
    rules.add_argument(
        "--compact-catalogue",
        action="store_true",
        help="print what the codes and rule ids of assess --jsonl --compact lines mean, as JSON",
    )
    rules.set_defaults(run=_rules)

    schema = commands.add_parser("schema", help="print the assessment's JSON Schema")
    schema.set_defaults(run=_schema)

    add_verify_command(commands)
    add_diff_commands(commands)
    add_serve_command(commands)
    add_audit_command(commands)
    add_fhir_command(commands)
    add_reassess_command(commands, read_json=_read_json)
    add_variance_command(commands)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
) -> int:
    """Run the command line; returns the exit code."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    parser = _parser()
    args = parser.parse_args(argv)
    args.stderr = err
    try:
        code: int = args.run(args, out, stdin or sys.stdin)
    except BatchUsageError as error:
        err.write(f"{parser.prog} {args.command}: error: {error}\n")
        return EXIT_USAGE
    except (InvalidAssessment, RuleSetError, _InputError) as error:
        err.write(f"iop-placement: {error}\n")
        return EXIT_INVALID
    except PlacementError as error:
        err.write(f"iop-placement: internal error: {error}\n")
        return EXIT_INVALID
    return code
