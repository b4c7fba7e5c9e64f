"""iop-placement: level-of-care decision support for substance use disorders.

Recommends inpatient, intensive outpatient (IOP) or standard outpatient care for one
assessment, with the rules that fired, the facts that triggered them and their sources::

    from iop_placement import recommend
    rec = recommend({...})            # a mapping of the assessment's fields, or an Assessment
    rec.level, rec.flags, rec.reasons, rec.alternative
    print(rec.render())
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # loaded on first use by __getattr__ below; the type checker sees them here
    from collections.abc import Mapping
    from importlib.resources.abc import Traversable

    from iop_placement import adaptive, audit, cds_hooks, fhir, reassessment
    from iop_placement._engine import PlacementEngine, default_engine
    from iop_placement._i18n import LANGUAGES, UnsupportedLanguage
    from iop_placement._model.asam import AsamCorrespondence, AsamLevel
    from iop_placement._model.assessment import (
        RISK_ORDERS,
        Assessment,
        CoOccurringMentalHealth,
        DetoxStatus,
        FunctionalImpairment,
        HomeEnvironment,
        Motivation,
        Obligation,
        RelapseHistory,
        SubstanceUseSeverity,
        SuicideRisk,
        SupportSystem,
    )
    from iop_placement._model.errors import (
        FieldProblem,
        InvalidAssessment,
        IopPlacementError,
        PlacementError,
        RuleSetError,
    )
    from iop_placement._model.explanation import Counterfactual, Explanation, NearMiss
    from iop_placement._model.levels import Flag, FlagKind, LevelOfCare
    from iop_placement._model.printable import printable_summary
    from iop_placement._model.provisional import (
        AnswerOutcome,
        DimensionRange,
        OpenQuestion,
        Provisional,
    )
    from iop_placement._model.recommendation import Alternative, Reason, Recommendation
    from iop_placement._model.record import (
        InvalidOverride,
        OverrideReason,
        PlacementRecord,
        RulesetInfo,
    )
    from iop_placement._model.schema import json_schema, ui_schema
    from iop_placement._model.validation import parse_assessment
    from iop_placement.batch import recommend_many
    from iop_placement.reassessment import Reassessment, Transition, reassess

    DEFAULT_RULES: Traversable
    """The bundled rule set directory (an importlib.resources Traversable)."""
    __version__: str

__all__ = [
    "DEFAULT_RULES",
    "LANGUAGES",
    "RISK_ORDERS",
    "Alternative",
    "AnswerOutcome",
    "AsamCorrespondence",
    "AsamLevel",
    "Assessment",
    "CoOccurringMentalHealth",
    "Counterfactual",
    "DetoxStatus",
    "DimensionRange",
    "Explanation",
    "FieldProblem",
    "Flag",
    "FlagKind",
    "FunctionalImpairment",
    "HomeEnvironment",
    "InvalidAssessment",
    "InvalidOverride",
    "IopPlacementError",
    "LevelOfCare",
    "Motivation",
    "NearMiss",
    "Obligation",
    "OpenQuestion",
    "OverrideReason",
    "PlacementEngine",
    "PlacementError",
    "PlacementRecord",
    "Provisional",
    "Reason",
    "Reassessment",
    "Recommendation",
    "RelapseHistory",
    "RuleSetError",
    "RulesetInfo",
    "SubstanceUseSeverity",
    "SuicideRisk",
    "SupportSystem",
    "Transition",
    "UnsupportedLanguage",
    "__version__",
    "adaptive",
    "audit",
    "cds_hooks",
    "default_engine",
    "explain",
    "fhir",
    "json_schema",
    "parse_assessment",
    "printable_summary",
    "provisional",
    "reassess",
    "reassessment",
    "recommend",
    "recommend_many",
    "ui_schema",
]


def recommend(assessment: Assessment | Mapping[str, Any]) -> Recommendation:
    """Recommend a level of care with the bundled rule set.

    Raises:
        InvalidAssessment: listing every bad field; no other input error escapes.

    """
    return _default_engine().recommend(assessment)


def provisional(answers: Assessment | Mapping[str, Any]) -> Provisional:
    """A provisional recommendation for a partial intake, with the bundled rule set.

    Fields left out are unanswered: ``lowest``/``highest`` are exact over every way of
    answering them, ``decisive`` says what to ask next (see docs/decision-model.md).

    Raises:
        InvalidAssessment: naming every bad or unknown field.

    """
    return _default_engine().provisional(answers)


def explain(assessment: Assessment | Mapping[str, Any]) -> Explanation:
    """Recommend with the bundled rule set and explain it: why, why not, what would change it.

    Use ``PlacementEngine.explain`` for a customised rule set.

    Raises:
        InvalidAssessment: listing every bad field; no other input error escapes.

    """
    return _default_engine().explain(assessment)


def _default_engine() -> PlacementEngine:
    """The bundled rule set's engine, the engine module loaded on the first call.

    The first call puts the engine module's ``default_engine`` in this function's place, so
    later calls cost one global lookup (an import statement per call would cost ~0.8 µs).
    """
    from iop_placement._engine import default_engine  # noqa: PLC0415

    globals()["_default_engine"] = default_engine
    return default_engine()


# Every public name but the three functions above loads on first use (PEP 562), so that
# `import iop_placement` loads neither Pydantic nor any module of the package: a program
# pays for the models when it first touches one (iop_placement.Assessment, a first
# recommend()), for the engine, rule set and backends on the first recommend(), and for the
# integrations, explanation, provisional search, batch API (multiprocessing) and version
# (importlib.metadata) only if it uses them. Nothing stays eager: even the languages
# (_i18n) would bring gettext and importlib.resources (~13 ms in a bare interpreter), and
# the errors live in the _model package. tests/test_lazy_import.py checks what the import
# and each first use load; benchmarks/run.py times the import and the first uses.
#
# Module -> the public names it defines; a name equal to the module's last component is
# the module itself. The imports under TYPE_CHECKING above say the same for the type
# checker (tests/test_lazy_import.py checks that the two agree, and cover __all__).
_SOURCES: dict[str, tuple[str, ...]] = {
    "iop_placement._i18n": ("LANGUAGES", "UnsupportedLanguage"),
    "iop_placement._model.asam": ("AsamCorrespondence", "AsamLevel"),
    "iop_placement._model.assessment": (
        "RISK_ORDERS",
        "Assessment",
        "CoOccurringMentalHealth",
        "DetoxStatus",
        "FunctionalImpairment",
        "HomeEnvironment",
        "Motivation",
        "Obligation",
        "RelapseHistory",
        "SubstanceUseSeverity",
        "SuicideRisk",
        "SupportSystem",
    ),
    "iop_placement._model.errors": (
        "FieldProblem",
        "InvalidAssessment",
        "IopPlacementError",
        "PlacementError",
        "RuleSetError",
    ),
    "iop_placement._model.explanation": ("Counterfactual", "Explanation", "NearMiss"),
    "iop_placement._model.levels": ("Flag", "FlagKind", "LevelOfCare"),
    "iop_placement._model.printable": ("printable_summary",),
    "iop_placement._model.provisional": (
        "AnswerOutcome",
        "DimensionRange",
        "OpenQuestion",
        "Provisional",
    ),
    "iop_placement._model.recommendation": ("Alternative", "Reason", "Recommendation"),
    "iop_placement._model.record": (
        "InvalidOverride",
        "OverrideReason",
        "PlacementRecord",
        "RulesetInfo",
    ),
    "iop_placement._model.schema": ("json_schema", "ui_schema"),
    "iop_placement._model.validation": ("parse_assessment",),
    "iop_placement._engine": ("PlacementEngine", "default_engine"),
    "iop_placement._rules.bundled": ("DEFAULT_RULES",),  # bundled_rules(), see __getattr__
    "iop_placement._version": ("__version__",),
    "iop_placement.adaptive": ("adaptive",),
    "iop_placement.audit": ("audit",),
    "iop_placement.batch": ("recommend_many",),
    "iop_placement.cds_hooks": ("cds_hooks",),
    "iop_placement.fhir": ("fhir",),
    "iop_placement.reassessment": ("reassessment", "reassess", "Reassessment", "Transition"),
}
# Public name -> the module that defines it.
_LAZY: dict[str, str] = {name: module for module, names in _SOURCES.items() for name in names}


# Public classes say they come from the package, not from its private modules.
def _public(obj: object) -> object:
    if isinstance(obj, type) and obj.__module__.startswith("iop_placement._"):
        obj.__module__ = __name__
    return obj


def __getattr__(name: str) -> Any:  # noqa: ANN401 - a submodule, class, function or constant
    module_name = _LAZY.get(name)
    if module_name is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    # The import statement's machinery (thread-safe under the import system's locks), not
    # importlib.import_module: `python -X importtime` times only the former, and would not
    # list the modules loaded here.
    __import__(module_name)
    module = sys.modules[module_name]
    if name == "DEFAULT_RULES":  # the bundled rule set directory, an importlib Traversable
        value = module.bundled_rules()
    elif module_name == f"{__name__}.{name}":
        value = module
    else:
        value = getattr(module, name)
    # Stored once: later lookups find it without __getattr__. setdefault is atomic, so
    # threads racing on a first use all return the value the first of them stored.
    return globals().setdefault(name, _public(value))


def __dir__() -> list[str]:
    # The public names, the lazy ones among them, for dir() and completion.
    return sorted(__all__)
