"""Levels of care and flags: the vocabulary of a recommendation."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from iop_placement._model.labels import LabelledEnum, new_member

__all__ = ["Flag", "FlagKind", "LevelOfCare"]


class LevelOfCare(LabelledEnum):
    """Level of care, declared from least to most intensive.

    Compare levels with :attr:`rank`, never with ``<`` on the strings (their alphabetical
    order is not their intensity).
    """

    intensity: str

    def __new__(cls, value: str, label: str, description: str, intensity: str) -> Self:
        member = new_member(cls, value, label, description)
        member.intensity = intensity
        return member

    STANDARD_OUTPATIENT = (
        "standard_outpatient",
        "Standard outpatient",
        "Regular outpatient counselling while living at home.",
        "1-2 therapy sessions a week (ASAM level 1: fewer than 9 hours a week)",
    )
    INTENSIVE_OUTPATIENT = (
        "intensive_outpatient",
        "Intensive outpatient (IOP)",
        "Structured group and individual therapy several days a week while living at home;"
        " it does not include detox.",
        "9-20 hours a week over 3-5 days, for about 8-12 weeks",
    )
    INPATIENT = (
        "inpatient",
        "Inpatient / residential",
        "24-hour residential or hospital care, including medically supervised withdrawal.",
        "24-hour care; length set by the treating team",
    )

    @property
    def rank(self) -> int:
        """0 for the least intensive level; higher is more intensive."""
        return _RANKS[self]

    @classmethod
    def least_intensive(cls) -> LevelOfCare:
        """The level recommended when no rule supports a more intensive one."""
        return cls.STANDARD_OUTPATIENT


_RANKS: dict[LevelOfCare, int] = {level: index for index, level in enumerate(LevelOfCare)}


class FlagKind(StrEnum):
    """Why a flag is raised: a safety concern, or whether the level can be reached."""

    SAFETY = "safety"
    FEASIBILITY = "feasibility"


class Flag(LabelledEnum):
    """A concern the clinician must see beside the level."""

    kind: FlagKind

    def __new__(cls, value: str, label: str, description: str, kind: FlagKind) -> Self:
        member = new_member(cls, value, label, description)
        member.kind = kind
        return member

    CRISIS = (
        "crisis",
        "Crisis: imminent suicide risk",
        "Needs an immediate crisis evaluation by a clinician before any placement.",
        FlagKind.SAFETY,
    )
    WITHDRAWAL_MANAGEMENT = (
        "withdrawal_management",
        "Withdrawal management needed",
        "Detox is needed or in progress: medically supervised withdrawal comes first;"
        " IOP does not include detox.",
        FlagKind.SAFETY,
    )
    MEDICAL_INSTABILITY = (
        "medical_instability",
        "Medically unstable",
        "Needs medical evaluation and monitoring before or alongside addiction treatment.",
        FlagKind.SAFETY,
    )
    OVERDOSE_RISK = (
        "overdose_risk",
        "Overdose risk",
        "Opioid use after a loss of tolerance: a return to a former dose can be fatal;"
        " discuss naloxone and overdose prevention.",
        FlagKind.SAFETY,
    )
    INPATIENT_NOT_ACCESSIBLE = (
        "inpatient_not_accessible",
        "Inpatient care not accessible",
        "Inpatient care is indicated but the person cannot reach it now.",
        FlagKind.FEASIBILITY,
    )
    OBLIGATIONS_CONFLICT = (
        "obligations_conflict",
        "Conflicts with obligations",
        "Inpatient care is indicated but the person has work, school or care obligations.",
        FlagKind.FEASIBILITY,
    )
    SCHEDULE_CONFLICT = (
        "schedule_conflict",
        "Too few hours for IOP",
        "IOP is indicated but the person has fewer hours a week free than IOP needs.",
        FlagKind.FEASIBILITY,
    )
