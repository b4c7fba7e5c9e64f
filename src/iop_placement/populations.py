"""Reference intake populations: seeded generators for impact reports ("per 1,000 intakes").

These are **assumptions, not data**. Each population states, for every assessment field,
the share of each answer (its marginals), and draws the clinical fields together through
one latent acuity per person, because real risks cluster: a person with severe use is
more often homeless, in withdrawal and without support than independent draws would say.
They let anyone regenerate ``docs/impact-2.1.0.md`` and compare rule sets on the same
intakes (``iop-placement diff --population``); they describe no real programme's intake.

**The latent-acuity model.** Each person gets one acuity ``z`` from a standard normal
distribution. A clinical field with answers ``a_1 < ... < a_n`` along its risk order
(lowest risk first) takes the answer whose band holds ``rho * z + sqrt(1 - rho**2) * e``,
with ``e`` an independent standard normal draw and the bands cut at the normal quantiles
of the field's cumulative shares. The sum is standard normal again, so every marginal is
exactly the stated share, and any two clustered fields correlate through ``z`` (latent
correlation ``rho**2``). ``rho`` is 0.5 (latent correlation 0.25): an assumption, chosen
so that clustering is visible without making every high-risk answer come together.
Feasibility fields and medication are drawn independently.

**Where the community marginals come from** (the low-acuity mix shifts them toward lower
risk, after the first clinical review's population B):

- 24-hour detox is 20.4 % of admissions (TEDS 2009, 1.96 M admissions): detox needed or in
  progress 20 %. Withdrawal is rated whenever detox is needed or in progress (90 %; 10 %
  left unrated, as an intake filled in a hurry is); fewer than 5 % of alcohol withdrawals
  progress to delirium tremens (Am Fam Physician 1996, PMID 8701843), so severe is 10 % of
  rated withdrawal and a past seizure or delirium 4 % of everyone.
- A psychiatric problem at admission: 32.5 % (TEDS 2012): stable 12 %, active 15 %,
  significant (decompensated) 5.5 %.
- Homeless at admission: 13-16 % (TEDS): 14 %.
- Suicidal thoughts in the last year: 1 in 11 people using illicit drugs (SAMHSA, quoted in
  seed 000): ideation 9 %, imminent 1.5 %.
- Severity, functioning, relapse, motivation, support and treatment history: the first
  clinical review's population A, with severe use at 45 % (most specialty admissions meet
  severe criteria).
- Current use, medication, overdose and recovery residences: assumptions, stated below.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Final

__all__ = ["POPULATIONS", "Population", "population"]

# Latent loading of the clustered fields: latent correlation RHO**2 between any two.
RHO: Final = 0.5
_NOISE: Final = math.sqrt(1 - RHO**2)
_UNIT: Final = NormalDist()

Shares = Mapping[Any, float]


@dataclass(frozen=True, slots=True)
class Population:
    """A named mix of intakes: each field's answer shares, lowest risk first.

    ``clustered`` fields share the person's latent acuity; ``independent`` ones do not.
    ``withdrawal`` holds the shares of withdrawal severity when detox is needed or in
    progress (``None`` is "not rated"); otherwise it is left out.
    """

    name: str
    title: str
    description: str
    clustered: Mapping[str, Shares]
    independent: Mapping[str, Shares]
    withdrawal: Shares
    obligations: Mapping[str, float]
    hours: Shares
    _cuts: dict[str, tuple[list[Any], list[float]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for name, shares in self.clustered.items():
            answers = list(shares)
            cuts, total = [], 0.0
            for share in list(shares.values())[:-1]:
                total += share
                cuts.append(_UNIT.inv_cdf(min(max(total, 1e-12), 1 - 1e-12)))
            self._cuts[name] = (answers, cuts)

    @property
    def shares(self) -> Mapping[str, Shares]:
        """Every drawn field's marginal shares (withdrawal severity conditional on detox)."""
        return {
            **self.clustered,
            **self.independent,
            "withdrawal_severity": self.withdrawal,
            "available_hours_per_week": self.hours,
        }

    def sample(self, count: int, *, seed: int = 0) -> Iterator[dict[str, Any]]:
        """``count`` assessments, reproducibly for the same ``seed``."""
        rng = random.Random(f"{self.name}:{seed}")  # noqa: S311 - a reproducible sample, not a secret
        independent = [(n, list(t), list(t.values())) for n, t in self.independent.items()]
        withdrawal = (list(self.withdrawal), list(self.withdrawal.values()))
        hours = (list(self.hours), list(self.hours.values()))
        for _ in range(count):
            acuity = rng.gauss(0.0, 1.0)
            answers: dict[str, Any] = {}
            for name, (values, cuts) in self._cuts.items():
                answers[name] = values[_band(RHO * acuity + _NOISE * rng.gauss(0.0, 1.0), cuts)]
            for name, values, weights in independent:
                answers[name] = rng.choices(values, weights)[0]
            if answers["detox_status"] in ("needed", "in_progress"):
                answers["withdrawal_severity"] = rng.choices(*withdrawal)[0]
            else:
                answers["withdrawal_severity"] = None
            answers["obligations"] = [o for o, p in self.obligations.items() if rng.random() < p]
            answers["available_hours_per_week"] = rng.choices(*hours)[0]
            yield answers


def _band(value: float, cuts: Sequence[float]) -> int:
    for i, cut in enumerate(cuts):
        if value < cut:
            return i
    return len(cuts)


def _yes(share: float) -> dict[bool, float]:
    return {False: round(1 - share, 6), True: share}


def _no_first(share: float) -> dict[bool, float]:
    """A true/false field where true is the lower risk (completed, established)."""
    return {True: share, False: round(1 - share, 6)}


# Obligations (any that apply) and free hours: assumptions for adults in specialty care
# (about half employed); inpatient care reachable for 80 %.
_OBLIGATIONS: Final = {"work": 0.45, "school": 0.08, "childcare": 0.25, "caregiving": 0.07}
_HOURS: Final = {3: 0.10, 6: 0.15, 9: 0.20, 12: 0.25, 15: 0.15, 20: 0.10, 30: 0.05}

POPULATIONS: Final[Mapping[str, Population]] = {
    p.name: p
    for p in (
        Population(
            name="community_intake",
            title="Community specialty intake (adults)",
            description="Adults presenting to a community specialty addiction programme:"
            " marginals from TEDS and the clinical reviews, risks clustered through one"
            " latent acuity (assumptions; see iop_placement.populations).",
            clustered={
                "substance_use_severity": {"mild": 0.20, "moderate": 0.35, "severe": 0.45},
                "use_status": {
                    "sustained_remission": 0.04,
                    "early_remission": 0.11,
                    "active": 0.85,
                },
                # Risk order: not needed / completed, then in progress, then needed.
                "detox_status": {
                    "not_needed": 0.70,
                    "completed": 0.10,
                    "in_progress": 0.04,
                    "needed": 0.16,
                },
                "complicated_withdrawal_history": _yes(0.04),
                "medically_unstable": _yes(0.03),
                "suicide_risk": {"none": 0.895, "ideation": 0.09, "imminent": 0.015},
                "co_occurring_mental_health": {
                    "none": 0.675,
                    "stable": 0.12,
                    "active": 0.15,
                    "significant": 0.055,
                },
                "functional_impairment": {
                    "none": 0.15,
                    "mild": 0.40,
                    "moderate": 0.35,
                    "severe": 0.10,
                },
                "relapse_history": {"none": 0.40, "occasional": 0.40, "frequent": 0.20},
                "prior_outpatient_failed": _yes(0.25),
                "prior_iop_failed": _yes(0.08),
                "motivation": {"high": 0.40, "ambivalent": 0.45, "low": 0.15},
                "completed_residential": _no_first(0.10),
                "recovery_plan_established": _no_first(0.20),
                "opioid_use_with_lost_tolerance": _yes(0.05),
                "recent_overdose": _yes(0.06),
                "home_environment": {
                    "supportive": 0.28,
                    "stable": 0.40,
                    "unstable": 0.13,
                    "toxic": 0.05,
                    "homeless": 0.14,
                },
                "support_system": {"strong": 0.35, "limited": 0.50, "none": 0.15},
            },
            independent={
                "recovery_residence": {"residing": 0.05, "arranged": 0.03, "none": 0.92},
                "addiction_medication": {
                    "receiving": 0.15,
                    "indicated_not_receiving": 0.20,
                    "not_indicated": 0.45,
                    None: 0.20,
                },
                "inpatient_accessible": _yes(0.80),
            },
            withdrawal={"minimal": 0.405, "moderate": 0.405, "severe": 0.09, None: 0.10},
            obligations=_OBLIGATIONS,
            hours=_HOURS,
        ),
        Population(
            name="low_acuity_referrals",
            title="Low-acuity referrals",
            description="Referrals from primary care, employee assistance, DUI programmes"
            " and colleges (after the first clinical review's population B), risks"
            " clustered through one latent acuity (assumptions).",
            clustered={
                "substance_use_severity": {"mild": 0.55, "moderate": 0.35, "severe": 0.10},
                "use_status": {
                    "sustained_remission": 0.05,
                    "early_remission": 0.10,
                    "active": 0.85,
                },
                "detox_status": {
                    "not_needed": 0.92,
                    "completed": 0.03,
                    "in_progress": 0.01,
                    "needed": 0.04,
                },
                "complicated_withdrawal_history": _yes(0.01),
                "medically_unstable": _yes(0.01),
                "suicide_risk": {"none": 0.95, "ideation": 0.045, "imminent": 0.005},
                "co_occurring_mental_health": {
                    "none": 0.70,
                    "stable": 0.17,
                    "active": 0.10,
                    "significant": 0.03,
                },
                "functional_impairment": {
                    "none": 0.30,
                    "mild": 0.50,
                    "moderate": 0.17,
                    "severe": 0.03,
                },
                "relapse_history": {"none": 0.60, "occasional": 0.32, "frequent": 0.08},
                "prior_outpatient_failed": _yes(0.10),
                "prior_iop_failed": _yes(0.02),
                "motivation": {"high": 0.40, "ambivalent": 0.45, "low": 0.15},
                "completed_residential": _no_first(0.03),
                "recovery_plan_established": _no_first(0.25),
                "opioid_use_with_lost_tolerance": _yes(0.01),
                "recent_overdose": _yes(0.01),
                "home_environment": {
                    "supportive": 0.45,
                    "stable": 0.45,
                    "unstable": 0.06,
                    "toxic": 0.02,
                    "homeless": 0.02,
                },
                "support_system": {"strong": 0.50, "limited": 0.42, "none": 0.08},
            },
            independent={
                "recovery_residence": {"residing": 0.02, "arranged": 0.01, "none": 0.97},
                "addiction_medication": {
                    "receiving": 0.05,
                    "indicated_not_receiving": 0.05,
                    "not_indicated": 0.70,
                    None: 0.20,
                },
                "inpatient_accessible": _yes(0.85),
            },
            withdrawal={"minimal": 0.55, "moderate": 0.32, "severe": 0.03, None: 0.10},
            obligations={"work": 0.65, "school": 0.15, "childcare": 0.25, "caregiving": 0.05},
            hours=_HOURS,
        ),
    )
}


def population(name: str, count: int, *, seed: int = 0) -> Iterator[dict[str, Any]]:
    """``count`` seeded assessments from the named reference population.

    Raises:
        KeyError: when ``name`` is not one of :data:`POPULATIONS`.

    """
    return POPULATIONS[name].sample(count, seed=seed)
