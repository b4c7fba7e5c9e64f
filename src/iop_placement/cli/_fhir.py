"""``iop-placement fhir questionnaire|codesystems [--base URL]``: the FHIR resources to publish."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from iop_placement.fhir import CANONICAL_BASE, CanonicalBaseError, to_code_systems, to_questionnaire
from iop_placement.fhir._canonical import check_base

__all__ = ["add_fhir_command"]

EXIT_USAGE = 2


def _dump(resource: Any, out: TextIO) -> None:  # noqa: ANN401 - a JSON document
    json.dump(resource, out, indent=2, ensure_ascii=False)
    out.write("\n")


def _base(text: str) -> str:
    try:
        return check_base(text)
    except CanonicalBaseError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _questionnaire(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:  # noqa: ARG001
    _dump(to_questionnaire(base=args.base), out)
    return 0


def _code_systems(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:  # noqa: ARG001
    resources = to_code_systems(base=args.base)
    if args.out_dir is None:
        bundle = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"fullUrl": r["url"], "resource": r} for r in resources],
        }
        _dump(bundle, out)
        return 0
    folder = Path(args.out_dir)
    if not folder.is_dir():
        args.stderr.write(f"iop-placement fhir codesystems: error: {folder} is not a folder\n")
        return EXIT_USAGE
    for resource in resources:
        path = folder / f"CodeSystem-{resource['id']}.json"
        with path.open("w", encoding="utf-8") as file:
            _dump(resource, file)
        out.write(f"{path}\n")
    return 0


def add_fhir_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``fhir questionnaire`` and ``fhir codesystems``."""
    fhir = commands.add_parser(
        "fhir",
        help="print the FHIR R4 Questionnaire or the CodeSystems of its answers",
        description="The FHIR R4 resources to publish, under your canonical base URL.",
    )
    kinds = fhir.add_subparsers(dest="resource", required=True, metavar="RESOURCE")
    base_help = (
        "the canonical base URL the resources are published under, e.g."
        f" https://fhir.example.com/iop-placement (default: the placeholder {CANONICAL_BASE})"
    )
    questionnaire = kinds.add_parser("questionnaire", help="the intake Questionnaire as JSON")
    questionnaire.add_argument("--base", type=_base, default=CANONICAL_BASE, help=base_help)
    questionnaire.set_defaults(run=_questionnaire)
    code_systems = kinds.add_parser(
        "codesystems",
        help="a CodeSystem for every code system the Questionnaire and the cards use:"
        " a collection Bundle, or one file each with --out-dir",
    )
    code_systems.add_argument("--base", type=_base, default=CANONICAL_BASE, help=base_help)
    code_systems.add_argument(
        "--out-dir",
        metavar="DIR",
        help="write CodeSystem-<id>.json files into DIR (which must exist) and list them",
    )
    code_systems.set_defaults(run=_code_systems)
