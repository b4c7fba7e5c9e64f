"""Every code block in README.md and docs/*.md runs under ``python -m pytest`` (Sybil).

- ``python`` blocks run in order, one namespace per page, from the repository root.
- ``json`` blocks must parse as JSON: one value, or several in a row.
- ``console`` blocks: every ``$ iop-placement ...`` line must be a command line the CLI
  accepts (its output is a record of a run, with timings, and is not compared).

A block that is deliberately not runnable is preceded by ``<!-- skip: next "why" -->``
(rare: tests/test_docs.py counts them and wants the reason). New pages under docs/ and
its folders are picked up without an edit here.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from sybil import Example, Sybil
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser, SkipParser


def _check_json(example: Example) -> None:
    """One JSON value, or several in a row (the examples of conditions, JSON Lines)."""
    text, decoder, at = str(example.parsed), json.JSONDecoder(), 0
    while text[at:].strip():
        at += len(text[at:]) - len(text[at:].lstrip())
        _, at = decoder.raw_decode(text, at)


def _check_console(example: Example) -> None:
    # The parser `iop-placement` itself uses; imported here, not at start-up, so that tests
    # of what importing the package loads see no CLI.
    from iop_placement.cli import _parser  # noqa: PLC0415

    for line in str(example.parsed).splitlines():
        if not line.startswith("$ iop-placement "):
            continue
        words = shlex.split(line[2:], comments=True)
        if ">" in words:  # a shell redirection, not an argument
            words = words[: words.index(">")]
        try:
            _parser().parse_args(words[1:])
        except SystemExit as exit_:
            message = f"not a valid command line: {line}"
            raise AssertionError(message) from exit_


def _setup(namespace: dict[str, Any]) -> None:
    namespace["__name__"] = "docs_example"


SYBIL = Sybil(
    parsers=[
        SkipParser(),
        PythonCodeBlockParser(),
        CodeBlockParser(language="json", evaluator=_check_json),
        CodeBlockParser(language="console", evaluator=_check_console),
    ],
    patterns=["README.md", "docs/*.md", "docs/*/*.md"],
    setup=_setup,
)
pytest_collect_file = SYBIL.pytest()
