"""Hypothesis strategies for property-testing code that uses iop-placement.

Needs the optional dependency ``hypothesis`` (``pip install 'iop-placement[strategies]'``)::

    from hypothesis import given
    from iop_placement.testing import assessments

    @given(assessments(suicide_risk="imminent"))
    def test_my_intake_shows_the_crisis_banner(assessment): ...
"""

from __future__ import annotations

from typing import Any

from iop_placement._i18n import LANGUAGES
from iop_placement._model.assessment import RISK_ORDERS, Assessment, single_step_worsenings
from iop_placement._model.fields import FieldSpec, field_specs


def register_strategies() -> None:
    """Make ``st.from_type(Assessment)`` draw valid assessments.

    Runs on import of this module, and from Hypothesis' plugin entry point, so it is
    enough to have iop-placement and Hypothesis installed. Defined before Hypothesis is
    imported: importing Hypothesis runs its entry points, which call this function while
    this module is still being imported; the strategy is therefore resolved lazily.
    """
    from hypothesis import strategies as hypothesis_strategies  # noqa: PLC0415

    hypothesis_strategies.register_type_strategy(Assessment, lambda _: assessments())


try:
    from hypothesis import strategies as st
except ImportError as error:  # pragma: no cover - depends on the environment
    msg = "iop_placement.testing needs Hypothesis: pip install 'iop-placement[strategies]'"
    raise ImportError(msg) from error

__all__ = [
    "RISK_ORDERS",
    "assessment_values",
    "assessments",
    "invalid_payloads",
    "languages",
    "register_strategies",
    "worsened",
]


_LEFT_OUT: Any = object()  # an optional field the form did not send


def _values(spec: FieldSpec) -> st.SearchStrategy[Any]:
    if spec.optional:
        return st.just(_LEFT_OUT) | _answered(spec)
    return _answered(spec)


def _answered(spec: FieldSpec) -> st.SearchStrategy[Any]:
    if spec.kind == "choice":
        return st.sampled_from(spec.values)
    if spec.kind == "boolean":
        return st.booleans()
    if spec.kind == "integer":
        return st.integers(min_value=spec.minimum, max_value=spec.maximum)
    return st.lists(st.sampled_from(spec.values), unique=True).map(tuple)


def languages() -> st.SearchStrategy[str]:
    """The supported output languages (``en``, ``es``)."""
    return st.sampled_from(LANGUAGES)


def assessment_values(**fixed: Any) -> st.SearchStrategy[dict[str, Any]]:  # noqa: ANN401
    """Valid assessments as JSON-like dicts (what a form sends).

    Optional fields are sometimes left out. Any field can be fixed to a value or to a
    strategy: ``assessment_values(substance_use_severity="severe",
    available_hours_per_week=st.integers(0, 8))``; fixing an optional field to None leaves
    it out.
    """
    specs = field_specs()
    if unknown := set(fixed) - set(specs):
        msg = f"not fields of the assessment: {', '.join(sorted(unknown))}"
        raise TypeError(msg)
    strategies = {
        name: (
            fixed[name]
            if isinstance(fixed.get(name), st.SearchStrategy)
            else st.just(fixed[name])
            if name in fixed
            else _values(spec)
        )
        for name, spec in specs.items()
    }
    return st.fixed_dictionaries(strategies).map(
        lambda data: {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in data.items()
            if v is not _LEFT_OUT and not (v is None and specs[k].optional)
        }
    )


def assessments(**fixed: Any) -> st.SearchStrategy[Assessment]:  # noqa: ANN401
    """Valid :class:`Assessment` objects; fix fields as in :func:`assessment_values`."""
    return assessment_values(**fixed).map(Assessment.model_validate)


def worsened(assessment: Assessment) -> st.SearchStrategy[Assessment]:
    """Assessments one step worse than ``assessment`` along one risk order.

    The contract says none of them gets a less intensive level. Fails the strategy (no
    example) when ``assessment`` is already worst on every order.
    """
    worse = [changed for _, changed in single_step_worsenings(assessment)]
    if not worse:
        return st.nothing()
    return st.sampled_from(worse)


_JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
)
_JSON = st.recursive(
    _JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def _wrong_value(spec: FieldSpec) -> st.SearchStrategy[Any]:
    """A value the field does not accept (right shape or not)."""
    if spec.kind == "integer":
        return (
            st.integers(max_value=(spec.minimum or 0) - 1)
            | st.integers(min_value=(spec.maximum or 0) + 1)
            | st.floats()
            | st.booleans()
            | st.text(max_size=5)
            | st.none()
        )
    # None (null) is a valid answer for an optional field: left out.
    null = st.nothing() if spec.optional else st.none()
    if spec.kind == "boolean":
        return (
            st.sampled_from(["true", "false", 0, 1, "yes"])
            | null
            | st.lists(st.booleans(), max_size=2)
        )
    if spec.kind == "choice":
        return (
            st.text(max_size=20).filter(lambda t: t not in spec.values)
            | st.integers()
            | null
            | st.lists(st.sampled_from(spec.values), max_size=2)
        )
    return (
        st.sampled_from(spec.values)
        | st.none()
        | st.integers()
        | st.lists(
            st.text(max_size=8).filter(lambda t: t not in spec.values), min_size=1, max_size=3
        )
    )


@st.composite
def _broken_assessment(draw: st.DrawFn) -> dict[str, Any]:
    data = dict(draw(assessment_values()))
    specs = field_specs()
    how = draw(st.sampled_from(["wrong", "missing", "unknown"]))
    required = [n for n, spec in specs.items() if not spec.optional]
    name = draw(st.sampled_from(required if how == "missing" else list(specs)))
    if how == "wrong":
        data[name] = draw(_wrong_value(specs[name]))
    elif how == "missing":
        del data[name]
    else:
        data[draw(st.text(min_size=1, max_size=30).filter(lambda k: k not in specs))] = draw(_JSON)
    return data


def invalid_payloads() -> st.SearchStrategy[Any]:
    """Input that is not a valid assessment, of every shape a form or client can send.

    Valid assessments with one field wrong, missing or unknown; documents that are not
    objects at all; arbitrary JSON. ``recommend()`` must raise ``InvalidAssessment`` on
    every one of them, and nothing else.
    """
    not_a_mapping = _JSON.filter(lambda value: not isinstance(value, dict))
    return (
        _broken_assessment()
        | not_a_mapping
        | st.dictionaries(st.text(max_size=12), _JSON, max_size=5)
    )


register_strategies()
