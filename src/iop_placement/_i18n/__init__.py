"""Languages: the English texts of the model and rules, translated through gettext catalogues.

English is the source: every text is written once, in English, where it is defined (the
enums' labels, the fields' titles, the rules' JSON, the renderers' headings), and that
English text is the gettext ``msgid``. Other languages are compiled catalogues
(``locale/<lang>/LC_MESSAGES/iop_placement.mo``, made from the ``.po`` beside them by
``python -m iop_placement._i18n_build``) read with the standard library's :mod:`gettext`.

The language is chosen where text is produced (``render(language=...)``,
``json_schema(language=...)``...), which sets it for the duration of the call with
:func:`use_language`; the functions that build text read it with :func:`_` and
:func:`rule_text`. Nothing that decides reads it: the decision cannot depend on it.
"""

from __future__ import annotations

import functools
import gettext as _gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from importlib import resources
from typing import Final

__all__ = [
    "DEFAULT_LANGUAGE",
    "DOMAIN",
    "LANGUAGES",
    "N_",
    "RATING_CONTEXT",
    "UnsupportedLanguage",
    "_",
    "check_language",
    "contextual",
    "current_language",
    "rating_label",
    "rule_text",
    "use_language",
]

DOMAIN: Final = "iop_placement"
DEFAULT_LANGUAGE: Final = "en"
# English (the source) first; each other language has a catalogue under locale/.
LANGUAGES: Final = ("en", "es")

_CURRENT: ContextVar[str] = ContextVar("iop_placement_language", default=DEFAULT_LANGUAGE)


class UnsupportedLanguage(ValueError):  # noqa: N818 - the project's error names say what is wrong
    """A language code this package has no catalogue for."""

    def __init__(self, language: object) -> None:
        super().__init__(f"language {language!r} is not supported; allowed: {', '.join(LANGUAGES)}")


def check_language(language: str) -> str:
    """``language`` if supported (``en``, ``es``); a region (``es-MX``) maps to its language.

    Raises:
        UnsupportedLanguage: for any other code (the message lists the allowed ones).

    """
    if not isinstance(language, str):
        raise UnsupportedLanguage(language)
    base = language.replace("_", "-").split("-", 1)[0].lower()
    if base not in LANGUAGES:
        raise UnsupportedLanguage(language if len(language) <= 20 else language[:20] + "...")
    return base


@functools.cache
def _translations(language: str) -> _gettext.NullTranslations:
    if language == DEFAULT_LANGUAGE:
        return _gettext.NullTranslations()
    path = resources.files(__name__) / "locale" / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    with path.open("rb") as catalogue:
        return _gettext.GNUTranslations(catalogue)


def current_language() -> str:
    """The language text is produced in now (``en`` unless inside :func:`use_language`)."""
    return _CURRENT.get()


@contextmanager
def use_language(language: str) -> Iterator[str]:
    """Produce text in ``language`` inside the ``with`` block (checked, then restored).

    Raises:
        UnsupportedLanguage: when ``language`` is not one of :data:`LANGUAGES`.

    """
    token = _CURRENT.set(check_language(language))
    try:
        yield _CURRENT.get()
    finally:
        _CURRENT.reset(token)


def _(message: str) -> str:
    """``message`` (English, the msgid) in the current language."""
    if not message:
        return message
    return _translations(_CURRENT.get()).gettext(message)


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark, translate later"
    """``message`` unchanged: marks an English constant for the catalogue; show it with `_`."""
    return message


RATING_CONTEXT: Final = "rating"
"""The gettext context of the risk ratings' labels (they agree with 'calificación')."""


def rating_label(label: str) -> str:
    """A risk rating's label (``RiskRating.label``) in the current language."""
    return _translations(_CURRENT.get()).pgettext(RATING_CONTEXT, label)


def contextual(context: str | None, message: str) -> str:
    """``message`` in the current language, within gettext ``context`` (None: none)."""
    if not message:
        return message
    if context is None:
        return _(message)
    return _translations(_CURRENT.get()).pgettext(context, message)


def rule_text(rule_id: str, message: str) -> str:
    """A rule's text (title, criterion, condition) in the current language.

    The rule id is the gettext context, so the same English in two rules can be translated
    apart, and a rule whose English changes needs a new translation.
    """
    if not message:
        return message
    return _translations(_CURRENT.get()).pgettext(rule_id, message)
