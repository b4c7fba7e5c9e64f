"""iop-placement: level-of-care decision support for substance use disorders.

Recommends inpatient, intensive outpatient (IOP) or standard outpatient care for one
assessment, with the rules that fired, the facts that triggered them and their sources::

    from iop_placement import recommend
    rec = recommend({...})            # a mapping of the assessment's fields, or an Assessment
    rec.level, rec.flags, rec.reasons, rec.alternative
    print(rec.render())
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

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
from iop_placement._model.levels import Flag, FlagKind, LevelOfCare
from iop_placement._model.recommendation import Alternative, Reason, Recommendation
from iop_placement._model.record import (
    InvalidOverride,
    OverrideReason,
    PlacementRecord,
    RulesetInfo,
)
from iop_placement._model.schema import json_schema, ui_schema
from iop_placement._model.validation import parse_assessment

if TYPE_CHECKING:  # loaded on first use by __getattr__ below; the type checker sees them here
    from importlib.resources.abc import Traversable

    from iop_placement import adaptive, audit, cds_hooks, fhir, reassessment
    from iop_placement._engine import PlacementEngine, default_engine
    from iop_placement._model.explanation import Counterfactual, Explanation, NearMiss
    from iop_placement._model.printable import printable_summary
    from iop_placement._model.provisional import (
        AnswerOutcome,
        DimensionRange,
        OpenQuestion,
        Provisional,
    )
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


# Public objects say they come from the package, not from its private modules.
def _public(obj: object) -> object:
    if isinstance(obj, type) and obj.__module__.startswith("iop_placement._"):
        obj.__module__ = __name__
    return obj


for _name in __all__:
    _public(globals().get(_name))  # the lazy names are not there yet

# What most programs never use loads on first use (PEP 562), measured with -X importtime:
# the integrations (cds_hooks alone would add about 100 ms to every `import iop_placement`),
# the explanation (its models and the counterfactual search), the batch API
# (multiprocessing), and the engine itself: the rule set, its backends and the provisional
# search load on the first recommend() (or the first use of these names), the version on
# first read (importlib.metadata). tests/test_lazy_import.py checks that importing the
# package loads none of them; benchmarks/run.py times the import and the first recommend().
_LAZY: dict[str, str] = {
    "adaptive": "iop_placement.adaptive",
    "audit": "iop_placement.audit",
    "cds_hooks": "iop_placement.cds_hooks",
    "fhir": "iop_placement.fhir",
    "AnswerOutcome": "iop_placement._model.provisional",
    "Counterfactual": "iop_placement._model.explanation",
    "DEFAULT_RULES": "iop_placement._rules.bundled",
    "DimensionRange": "iop_placement._model.provisional",
    "Explanation": "iop_placement._model.explanation",
    "NearMiss": "iop_placement._model.explanation",
    "OpenQuestion": "iop_placement._model.provisional",
    "PlacementEngine": "iop_placement._engine",
    "Provisional": "iop_placement._model.provisional",
    "__version__": "iop_placement._version",
    "default_engine": "iop_placement._engine",
    "printable_summary": "iop_placement._model.printable",
    "recommend_many": "iop_placement.batch",
    "reassessment": "iop_placement.reassessment",
    "reassess": "iop_placement.reassessment",
    "Reassessment": "iop_placement.reassessment",
    "Transition": "iop_placement.reassessment",
}


def __getattr__(name: str) -> Any:  # noqa: ANN401 - a submodule, class or function
    module_name = _LAZY.get(name)
    if module_name is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    import importlib  # noqa: PLC0415

    module = importlib.import_module(module_name)
    if name == "DEFAULT_RULES":  # the bundled rule set directory, an importlib Traversable
        value = module.bundled_rules()
    elif module_name == f"{__name__}.{name}":
        value = module
    else:
        value = getattr(module, name)
    globals()[name] = _public(value)  # once: later lookups find it without __getattr__
    return value


def __dir__() -> list[str]:
    # The public names, the lazy ones among them, for dir() and completion.
    return sorted(__all__)
