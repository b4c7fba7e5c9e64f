"""Hypothesis strategies for property-testing code that uses iop-placement.

Needs the optional dependency ``hypothesis`` (``pip install 'iop-placement[test]'``)::

    from hypothesis import given
    from iop_placement.testing import assessments

    @given(assessments(suicide_risk="imminent"))
    def test_my_intake_shows_the_crisis_banner(assessment): ...
"""

from __future__ import annotations

from typing import Any

try:
    from hypothesis import strategies as st
except ImportError as error:  # pragma: no cover - depends on the environment
    msg = "iop_placement.testing needs Hypothesis: pip install 'iop-placement[test]'"
    raise ImportError(msg) from error

from iop_placement._assessment import RISK_ORDERS, Assessment, single_step_worsenings
from iop_placement._fields import FieldSpec, field_specs

__all__ = ["RISK_ORDERS", "assessment_values", "assessments", "worsened"]


def _values(spec: FieldSpec) -> st.SearchStrategy[Any]:
    if spec.kind == "choice":
        return st.sampled_from(spec.values)
    if spec.kind == "boolean":
        return st.booleans()
    if spec.kind == "integer":
        return st.integers(min_value=spec.minimum, max_value=spec.maximum)
    return st.lists(st.sampled_from(spec.values), unique=True).map(tuple)


def assessment_values(**fixed: Any) -> st.SearchStrategy[dict[str, Any]]:  # noqa: ANN401
    """Valid assessments as JSON-like dicts (what a form sends).

    Any field can be fixed to a value or to a strategy: ``assessment_values(
    substance_use_severity="severe", available_hours_per_week=st.integers(0, 8))``.
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
        lambda data: {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}
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
