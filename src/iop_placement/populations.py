"""Reference intake populations: seeded generators for impact reports ("per 1,000 intakes").

These are **assumptions, not data**. Each population is a table of answer shares for
the clinical fields, taken from the independent clinical review of rule set 1.0.0
(section 3.3, the reviewer's own assumptions for two intake mixes), with every field
drawn independently. Real risks cluster, so independent draws overstate mixed
profiles and slightly understate both very-low-risk and very-high-risk people. They
let anyone regenerate the figures in ``docs/impact-2.0.0.md`` and compare rule sets
on the same intakes (``iop-placement diff --population``); they are not a
description of any real programme's intake.

The feasibility fields are fixed (15 hours a week, no obligations, inpatient care
accessible) and the optional fields are left out, as in the review: feasibility never
changes the level, and rule set 1.0.0 knows no optional field.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["POPULATIONS", "Population", "population"]


@dataclass(frozen=True, slots=True)
class Population:
    """A named mix of intakes: for each clinical field, the share of each answer."""

    name: str
    title: str
    description: str
    shares: Mapping[str, Mapping[Any, float]]

    def sample(self, count: int, *, seed: int = 0) -> Iterator[dict[str, Any]]:
        """``count`` assessments drawn independently, field by field, reproducibly."""
        rng = random.Random(f"{self.name}:{seed}")  # noqa: S311 - a reproducible sample, not a secret
        fields = [(name, list(table), list(table.values())) for name, table in self.shares.items()]
        for _ in range(count):
            answers = {name: rng.choices(values, weights)[0] for name, values, weights in fields}
            yield {**answers, **_FIXED}


_FIXED: Final[Mapping[str, Any]] = {
    "available_hours_per_week": 15,
    "obligations": [],
    "inpatient_accessible": True,
}


def _yes(share: float) -> dict[bool, float]:
    return {False: round(1 - share, 6), True: share}


POPULATIONS: Final[Mapping[str, Population]] = {
    p.name: p
    for p in (
        Population(
            name="community_intake",
            title="Community specialty intake (adults)",
            description="Adults presenting to a community specialty addiction programme"
            " (clinical review of 1.0.0, section 3.3, population A).",
            shares={
                "substance_use_severity": {"mild": 0.25, "moderate": 0.35, "severe": 0.40},
                "detox_status": {
                    "not_needed": 0.75,
                    "needed": 0.12,
                    "in_progress": 0.03,
                    "completed": 0.10,
                },
                "co_occurring_mental_health": {"none": 0.50, "stable": 0.30, "significant": 0.20},
                "home_environment": {
                    "supportive": 0.30,
                    "stable": 0.40,
                    "unstable": 0.18,
                    "toxic": 0.06,
                    "homeless": 0.06,
                },
                "support_system": {"strong": 0.35, "limited": 0.50, "none": 0.15},
                "suicide_risk": {"none": 0.88, "ideation": 0.10, "imminent": 0.02},
                "functional_impairment": {
                    "none": 0.15,
                    "mild": 0.40,
                    "moderate": 0.35,
                    "severe": 0.10,
                },
                "relapse_history": {"none": 0.40, "occasional": 0.40, "frequent": 0.20},
                "prior_outpatient_failed": _yes(0.25),
                "motivation": {"high": 0.40, "ambivalent": 0.45, "low": 0.15},
                "medically_unstable": _yes(0.03),
                "completed_residential": _yes(0.10),
                "recovery_plan_established": _yes(0.20),
                "opioid_use_with_lost_tolerance": _yes(0.04),
            },
        ),
        Population(
            name="low_acuity_referrals",
            title="Low-acuity referrals",
            description="Referrals from primary care, employee assistance, DUI programmes and"
            " colleges (clinical review of 1.0.0, section 3.3, population B).",
            shares={
                "substance_use_severity": {"mild": 0.55, "moderate": 0.35, "severe": 0.10},
                "detox_status": {
                    "not_needed": 0.92,
                    "needed": 0.04,
                    "in_progress": 0.01,
                    "completed": 0.03,
                },
                "co_occurring_mental_health": {"none": 0.60, "stable": 0.32, "significant": 0.08},
                "home_environment": {
                    "supportive": 0.45,
                    "stable": 0.45,
                    "unstable": 0.07,
                    "toxic": 0.02,
                    "homeless": 0.01,
                },
                "support_system": {"strong": 0.50, "limited": 0.42, "none": 0.08},
                "suicide_risk": {"none": 0.95, "ideation": 0.045, "imminent": 0.005},
                "functional_impairment": {
                    "none": 0.30,
                    "mild": 0.50,
                    "moderate": 0.17,
                    "severe": 0.03,
                },
                "relapse_history": {"none": 0.60, "occasional": 0.32, "frequent": 0.08},
                "prior_outpatient_failed": _yes(0.10),
                "motivation": {"high": 0.40, "ambivalent": 0.45, "low": 0.15},
                "medically_unstable": _yes(0.01),
                "completed_residential": _yes(0.03),
                "recovery_plan_established": _yes(0.25),
                "opioid_use_with_lost_tolerance": _yes(0.01),
            },
        ),
    )
}


def population(name: str, count: int, *, seed: int = 0) -> Iterator[dict[str, Any]]:
    """``count`` seeded assessments from the named reference population.

    Raises:
        KeyError: when ``name`` is not one of :data:`POPULATIONS`.

    """
    return POPULATIONS[name].sample(count, seed=seed)
