"""The reference populations: valid, reproducible, their stated marginals, and clustered."""

from __future__ import annotations

import statistics
from collections import Counter

import pytest

from iop_placement import Assessment
from iop_placement._model.assessment import RISK_ORDERS
from iop_placement.populations import POPULATIONS, population

SAMPLE = 20_000


@pytest.fixture(scope="module", params=sorted(POPULATIONS))
def drawn(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, object]]]:
    return request.param, list(population(request.param, SAMPLE, seed=11))


def test_every_intake_is_a_valid_assessment_with_every_field(
    drawn: tuple[str, list[dict[str, object]]],
) -> None:
    _, intakes = drawn
    for answers in intakes[:3000]:
        assert set(answers) == set(Assessment.model_fields)
        Assessment.model_validate(answers)


def test_the_same_seed_gives_the_same_intakes() -> None:
    for name in POPULATIONS:
        assert list(population(name, 200, seed=4)) == list(population(name, 200, seed=4))
        assert list(population(name, 200, seed=4)) != list(population(name, 200, seed=5))


def test_each_field_follows_its_stated_shares(drawn: tuple[str, list[dict[str, object]]]) -> None:
    name, intakes = drawn
    mix = POPULATIONS[name]
    for field, shares in mix.shares.items():
        if field == "withdrawal_severity":  # stated for intakes that need detox
            rows = [a for a in intakes if a["detox_status"] in ("needed", "in_progress")]
        else:
            rows = intakes
        counts = Counter(a[field] for a in rows)
        for answer, share in shares.items():
            observed = counts[answer] / len(rows)
            # Four standard errors of a share (many fields are checked), at least half a point.
            tolerance = max(0.005, 4 * (share * (1 - share) / len(rows)) ** 0.5)
            assert abs(observed - share) <= tolerance, (field, answer, observed, share)


def test_withdrawal_is_rated_only_where_detox_is_needed(
    drawn: tuple[str, list[dict[str, object]]],
) -> None:
    _, intakes = drawn
    for answers in intakes:
        if answers["detox_status"] not in ("needed", "in_progress"):
            assert answers["withdrawal_severity"] is None


def _rank(field: str, value: object) -> int:
    """A value's place along its field's risk order (lowest risk 0)."""
    order: list[object] = []
    frontier = [
        v for v in RISK_ORDERS[field] if not any(v in w for w in RISK_ORDERS[field].values())
    ]
    while frontier:
        order += [v for v in frontier if v not in order]
        frontier = [w for v in frontier for w in RISK_ORDERS[field].get(v, ())]
    return order.index(value)


def test_risks_cluster_through_the_latent_acuity() -> None:
    intakes = list(population("community_intake", SAMPLE, seed=2))
    severity = [_rank("substance_use_severity", a["substance_use_severity"]) for a in intakes]
    support = [_rank("support_system", a["support_system"]) for a in intakes]
    impairment = [_rank("functional_impairment", a["functional_impairment"]) for a in intakes]
    # Independent draws would give about 0; the latent acuity gives a clear positive link.
    assert statistics.correlation(severity, support) > 0.1
    assert statistics.correlation(severity, impairment) > 0.1
    hours = [int(a["available_hours_per_week"]) for a in intakes]
    assert abs(statistics.correlation(severity, hours)) < 0.05  # feasibility is not clustered
