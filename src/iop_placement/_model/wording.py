"""What every rendering of a recommendation says the same way: the notice, answers in words.

Every text here is English, the gettext msgid, shown in the current language
(``iop_placement._i18n``); in English it is the text as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from iop_placement._i18n import N_, _, contextual, rating_label
from iop_placement._model.fields import (
    COUNT_PREFIX,
    RATING_PREFIX,
    FactValue,
    FieldSpec,
    field_specs,
)
from iop_placement._model.labels import in_sentence
from iop_placement._model.levels import Dimension, RiskRating

__all__ = [
    "NOTICE",
    "describe_facts",
    "field_title",
    "field_title_in_sentence",
    "option_context",
    "option_text",
    "value_label",
]

NOTICE: Final = N_(
    "Decision support for clinicians: review the reasons and sources above; the"
    " placement decision remains a clinical judgement."
)


# Built once: field_specs() copies its mappings on every call with these options.
_SPECS: Final = field_specs(with_decided_level=True, with_derived=True)
# The enums of the assessment's answers (not the decided level's).
_ANSWER_ENUMS: Final = frozenset(s.enum for s in field_specs().values() if s.enum is not None)


def option_context(enum: type | None) -> str | None:
    """The gettext context of an answer's label and description: its enum's name.

    The answers' enums share English words ("Moderate", "None") that other languages
    inflect by the question's noun, so each has its own context. (By identity: the public
    enums' ``__module__`` is the package's.)
    """
    return enum.__name__ if enum in _ANSWER_ENUMS else None


def option_text(enum: type | None, text: str) -> str:
    """An answer's label or description (of ``enum``) in the current language."""
    return contextual(option_context(enum), text)


def field_title(spec: FieldSpec) -> str:
    """A field's title in the current language (derived fields are composed, not listed)."""
    if spec.derived and spec.name.startswith(RATING_PREFIX):
        dimension = Dimension.of(spec.name.removeprefix(RATING_PREFIX))
        return _("Rating of {dimension}").format(dimension=_(dimension.label).lower())
    if spec.derived and spec.name.startswith(COUNT_PREFIX):
        return _("Dimensions rated {k} or higher").format(k=spec.name.removeprefix(COUNT_PREFIX))
    return _(spec.title)


def field_title_in_sentence(spec: FieldSpec) -> str:
    """:func:`field_title` as it reads inside a sentence ("prior IOP failed")."""
    return in_sentence(field_title(spec))


def _label(spec: FieldSpec, value: FactValue) -> str:
    """One value's label (``spec.label``) in the current language."""
    if value is None and spec.optional:
        return _(spec.absent_label or "not answered")
    if spec.derived and spec.name.startswith(RATING_PREFIX) and isinstance(value, int):
        return f"{value} ({rating_label(RiskRating.of(value).label).lower()})"
    if isinstance(value, bool) and spec.enum is None:
        return _("yes") if value else _("no")
    if spec.enum is not None and isinstance(value, str):
        return option_text(spec.enum, spec.label(value))
    return spec.label(value)


def value_label(spec: FieldSpec, value: FactValue) -> str:
    """One answer in words: a value's label, or a list's labels ('none' when empty)."""
    if isinstance(value, list):
        return ", ".join(_label(spec, item) for item in value) or _("none")
    return _label(spec, value)


def describe_facts(facts: Mapping[str, FactValue]) -> str:
    """Facts as '<field title> = <value label>' pairs, using the model's labels."""
    specs = _SPECS
    parts = []
    for name, value in facts.items():
        spec = specs.get(name)
        if spec is None:
            parts.append(f"{name} = {value}")
            continue
        parts.append(f"{field_title_in_sentence(spec)} = {value_label(spec, value)}")
    return "; ".join(parts)
