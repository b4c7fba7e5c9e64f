"""The translation catalogues, made from the one English source (developers only; needs Babel).

``python -m iop_placement._i18n_build`` extracts every English text the package shows --
the labelled enums (labels, descriptions, intensities), the assessment's field titles,
descriptions and absent-labels, the rules' titles, texts and conditions (with the rule
id as gettext context), and every ``_("...")`` literal in the source -- into
``_i18n/iop_placement.pot``, merges it into each language's ``.po`` (new texts arrive
untranslated, changed ones fuzzy: both fail ``tests/test_i18n.py``) and compiles the
``.mo`` files the package reads at run time. The ``.mo`` files are committed, so a plain
``pip install`` needs neither Babel nor a build step; the test checks they are current.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Final

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from iop_placement._i18n import DOMAIN, LANGUAGES, RATING_CONTEXT
from iop_placement._model import (  # every module defining a labelled enum
    assessment,
    levels,
    placement_record,  # noqa: F401 - defines labelled enums: imported to be found
    reassessment,  # noqa: F401 - defines labelled enums: imported to be found
    record,
)
from iop_placement._model.fields import field_specs
from iop_placement._model.labels import LabelledEnum
from iop_placement._model.wording import option_context
from iop_placement._rules.bundled import bundled_rules

__all__ = ["compile_mo", "main", "messages", "po_path", "template"]

PACKAGE: Final = Path(__file__).resolve().parent
I18N: Final = PACKAGE / "_i18n"
POT: Final = I18N / f"{DOMAIN}.pot"
# gettext's keywords as Babel spells them: _(msgid), N_(msgid); rule_text(context, msgid).
KEYWORDS: Final = {"_": None, "N_": None, "rule_text": ((1, "c"), 2)}
_MODEL_MODULES: Final = (assessment, levels, record)  # where the labelled enums live


def po_path(language: str) -> Path:
    """The ``.po`` file of ``language``."""
    return I18N / "locale" / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def _enums() -> Iterator[type[LabelledEnum] | type[levels.RiskRating]]:
    yield levels.RiskRating
    seen: list[type[LabelledEnum]] = []
    todo = list(LabelledEnum.__subclasses__())
    while todo:
        cls = todo.pop(0)
        if cls not in seen:
            seen.append(cls)
            todo += cls.__subclasses__()
    # By name, which is also the gettext context (option_context): the public enums'
    # __module__ says "iop_placement" only once the package face has handed them out.
    yield from sorted(seen, key=lambda c: c.__qualname__)


def messages(rules: Traversable | None = None) -> Iterator[tuple[str, str | None, str]]:
    """Every (msgid, context, where) the package may show, English being the msgid.

    ``rules`` is the rule set directory (the bundled one unless given).
    """
    assert _MODEL_MODULES  # imported for their enums
    for cls in _enums():
        context = RATING_CONTEXT if cls is levels.RiskRating else option_context(cls)
        for member in cls:
            where = f"{cls.__qualname__}.{member.name}"
            for attribute in ("label", "description", "intensity"):
                text = getattr(member, attribute, "")
                if isinstance(text, str) and text:
                    yield text, context, where
    model = assessment.Assessment
    schema = model.model_json_schema()
    yield str(schema.get("title", "")), None, "Assessment"
    yield str(schema.get("description", "")), None, "Assessment"
    for name, info in model.model_fields.items():
        yield info.title or name, None, f"Assessment.{name}"
        yield info.description or "", None, f"Assessment.{name}"
    for spec in field_specs(with_decided_level=True).values():
        yield spec.title, None, f"field {spec.name}"
        yield spec.absent_label, None, f"field {spec.name}"
    rule_dir = bundled_rules() if rules is None else rules
    rule_files = [f for f in rule_dir.iterdir() if f.name.endswith(".json")]
    for path in sorted(rule_files, key=lambda f: f.name):
        family = json.loads(path.read_text(encoding="utf-8"))
        for rule in family.get("rules", ()) if isinstance(family, dict) else ():
            if not isinstance(rule, dict) or "when" not in rule:
                continue
            rule_id = str(rule["id"])
            where = f"rules/{path.name} {rule_id}"
            yield str(rule.get("title", "")), rule_id, where
            yield str(rule.get("text", "")), rule_id, where
            alternative = rule.get("then", {}).get("alternative") or {}
            for condition in alternative.get("conditions", ()):
                yield str(condition), rule_id, where
    # The ASAM crosswalk's note to the reader (its level names are ASAM's: not translated).
    asam = rule_dir / "asam.json"
    if asam.is_file():
        note = json.loads(asam.read_text(encoding="utf-8")).get("note")
        if isinstance(note, str):
            yield note, None, "rules/asam.json note"
    # Babel's extract_from_dir skips folders whose names start with "_": walk them here.
    for source in sorted(PACKAGE.rglob("*.py")):
        where = f"src/{source.relative_to(PACKAGE.parent).as_posix()}"
        for _line, message, _comments, context in extract_from_file(
            "python", source, keywords=KEYWORDS, comment_tags=()
        ):
            if isinstance(message, str):
                yield message, context, where


def template(rules: Traversable | None = None) -> Catalog:
    """The ``.pot``: every English text once (per context), with where it comes from."""
    catalog = Catalog(project="iop-placement", domain=DOMAIN, fuzzy=False)
    for msgid, context, where in messages(rules):
        if msgid:
            existing = catalog.get(msgid, context)
            if existing is None:
                catalog.add(msgid, locations=[(where, 0)], context=context)
            else:
                existing.locations.append((where, 0))
    return catalog


def _pot_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=88, omit_header=True, sort_output=False)
    return out.getvalue()


def compile_mo(po: Catalog) -> bytes:
    """``po`` compiled to ``.mo`` bytes (fuzzy entries left out, as msgfmt does)."""
    out = io.BytesIO()
    write_mo(out, po, use_fuzzy=False)
    return out.getvalue()


def read_catalog(language: str) -> Catalog:
    """The ``.po`` catalogue of ``language``."""
    with po_path(language).open("rb") as handle:
        return read_po(handle, locale=language, domain=DOMAIN)


def main() -> None:
    """Write the ``.pot``, merge it into each ``.po``, compile each ``.mo``."""
    pot = template()
    POT.write_bytes(_pot_bytes(pot))
    for language in LANGUAGES[1:]:
        path = po_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            po = read_catalog(language)
            # Dates only change with the texts: rebuilding unchanged sources changes no file.
            pot.creation_date = po.creation_date
            po.update(pot, no_fuzzy_matching=False, update_header_comment=False)
            po.obsolete.clear()
        else:
            po = Catalog(locale=language, domain=DOMAIN, project="iop-placement")
            po.update(pot)
        po.fuzzy = False
        po.version = ""
        po.header_comment = (
            f"# {language} catalogue of iop-placement: msgid = the English source text.\n"
            "# Drafted by an engineer; review status and glossary in docs/i18n.md."
        )
        po.msgid_bugs_address = ""
        po.last_translator = "iop-placement engineers (draft; bilingual clinician review pending)"
        po.language_team = f"{language} (docs/i18n.md)"
        out = io.BytesIO()
        write_po(out, po, width=88, sort_output=False)
        path.write_bytes(out.getvalue())
        path.with_suffix(".mo").write_bytes(compile_mo(read_catalog(language)))


if __name__ == "__main__":
    main()
