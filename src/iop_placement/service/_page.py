"""The intake page's own sentences, English being the gettext msgid, served per language.

The page (``_static/intake.js``) writes no sentence of its own: it asks
``GET /api/page-text?lang=`` for these, in the language chosen, together with the
languages there are (:data:`iop_placement._i18n.LANGUAGES`, each named in itself). Being
``N_`` literals they are in the catalogue, so ``tests/test_i18n.py`` fails on any one left
untranslated. ``{name}`` fields are filled in by the page.
"""

from __future__ import annotations

from typing import Any, Final

from iop_placement._i18n import LANGUAGES, N_, _, use_language

__all__ = ["LANGUAGE_NAME", "PAGE_TEXT", "page_text"]

# Each language's name in itself: the msgid is English's, each catalogue gives its own.
LANGUAGE_NAME: Final = N_("English")

PAGE_TEXT: Final = {
    "title": N_("Level-of-care intake"),
    "pageNotice": N_(
        "Decision support for clinicians. The suggested level comes with its reasons and"
        " sources; the placement decision remains a clinical judgement."
    ),
    "language": N_("Language"),
    "loading": N_("Loading the questions…"),
    "loadFailed": N_("The questions could not be loaded."),
    "showAll": N_("Show all questions"),
    "adaptiveHelp": N_(
        "The most decisive question is asked next, the safety screen first; the others"
        " appear once the level is settled."
    ),
    "submit": N_("Suggest a level of care"),
    "print": N_("Print summary (PDF)"),
    "printFailed": N_("The summary could not be made."),
    "noneOfThese": N_("None of these"),
    "provisionalPanel": N_("Provisional result"),
    "provisional": N_("Provisional (intake incomplete)"),
    "settled": N_(
        "The level is settled: the other questions cannot change it. Answer them for the"
        " full record."
    ),
    "nextQuestion": N_("Next question"),
    "allAnswered": N_("Every question is answered: the recommendation is below."),
    "safetyIncomplete": N_("Safety screen incomplete: "),
    "safetyAsk": N_("ask about suicide risk, medical stability and detox first."),
    "safetyScreen": N_(" (safety screen)"),
    "askNext": N_("Ask next (most decisive first)"),
    "more": N_("Details"),
    "flags": N_("Flags"),
    "flagCertain": N_("whatever the open answers"),
    "flagPossible": N_("possible"),
    "alsoOpen": N_("Also still open (cannot change the range)"),
    "safetyFirst": N_("Safety first"),
    "suggested": N_("Suggested level of care"),
    "flagsOnly": N_("flags only"),
    "facts": N_("Facts"),
    "source": N_("Source"),
    "whyDeciding": N_("Why (deciding reasons)"),
    "why": N_("Why"),
    "noRule": N_("No rule calls for more than standard outpatient care."),
    "dimensionRatings": N_("Dimension ratings"),
    "dimension": N_("Dimension"),
    "rating": N_("Rating"),
    "ratingGives": N_("{title} ({rule_id}) gives {rating}: {facts}"),
    "noRatingRule": N_("No rating rule holds."),
    "alsoConsidered": N_("Also considered"),
    "alternative": N_("Alternative the clinician may weigh"),
    "onlyIf": N_("Only if:"),
    "asam": N_("Approximate ASAM Criteria levels"),
    "asamLevel": N_("{edition} edition {code}: {label}"),
    "ruleset": N_("Rule set: {name} {version} (sha256 {sha256})"),
    "invalid": N_("The answers are not a valid assessment."),
    "unreachable": N_("The service could not be reached."),
}


def page_text(language: str) -> dict[str, Any]:
    """The page's sentences in ``language`` and the languages there are, each named in itself.

    Raises:
        UnsupportedLanguage: when ``language`` is not one of :data:`LANGUAGES`.

    """
    languages = []
    for code in LANGUAGES:
        with use_language(code):
            languages.append({"code": code, "name": _(LANGUAGE_NAME)})
    with use_language(language) as chosen:
        text = {key: _(english) for key, english in PAGE_TEXT.items()}
    return {"lang": chosen, "languages": languages, "text": text}
