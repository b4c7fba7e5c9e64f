"""Levels of care, flags, dimensions and risk ratings: the vocabulary of a recommendation."""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Self

from iop_placement._model.labels import LabelledEnum, new_member

__all__ = ["Dimension", "Flag", "FlagKind", "LevelOfCare", "RiskRating"]


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
    NEED = "need"
    """Something to arrange together with the placement (housing, for example)."""
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
        "Detox is needed or in progress: withdrawal must be managed, in a 24-hour setting"
        " when it is severe or not rated, as an outpatient with monitoring when it is minimal"
        " or moderate; IOP does not include detox.",
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
        "Opioid use after a loss of tolerance, or an overdose in the last 12 months: a return"
        " to a former dose can be fatal; discuss naloxone, medication for opioid use disorder"
        " and overdose prevention.",
        FlagKind.SAFETY,
    )
    INCOMPLETE_SAFETY_SCREEN = (
        "incomplete_safety_screen",
        "Safety screen incomplete",
        "Provisional only: suicide risk, medical stability or detox status is not answered"
        " yet. Ask these first: any of them can call for 24-hour care.",
        FlagKind.SAFETY,
    )
    HOUSING_NEEDED = (
        "housing_needed",
        "Housing needed",
        "Homeless or living in a toxic home, with no recovery residence: arrange housing"
        " (a recovery residence, shelter or refuge) together with the placement.",
        FlagKind.NEED,
    )
    INPATIENT_NOT_ACCESSIBLE = (
        "inpatient_not_accessible",
        "Inpatient care not accessible",
        "Inpatient care is indicated but the person cannot reach it now. With a danger to life"
        " (crisis, medical instability, withdrawal that needs 24-hour care): arrange emergency"
        " transfer or a crisis service.",
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
        "Too few hours for the level",
        "The person has fewer hours a week free than the indicated level needs (9 for IOP,"
        " about 1 for standard outpatient): look for evening or flexible sessions.",
        FlagKind.FEASIBILITY,
    )
    MEDICATION_FOR_ADDICTION = (
        "medication_for_addiction",
        "Offer medication for addiction treatment",
        "Medication for opioid or alcohol use disorder is indicated and not taken, or opioid"
        " tolerance is lost or an overdose happened in the last 12 months: offer medication"
        " (and naloxone) at the recommended level; it belongs at every level of care.",
        FlagKind.NEED,
    )
    HIGH_INTENSITY_OUTPATIENT = (
        "high_intensity_outpatient",
        "High-intensity outpatient care",
        "Several moderate risks together without a 24-hour reason: IOP at its most intensive"
        " schedule (up to 20 hours a week) or partial hospitalisation (ASAM 2.5, high-intensity"
        " outpatient in the 4th edition).",
        FlagKind.NEED,
    )
    CO_OCCURRING_ENHANCED = (
        "co_occurring_enhanced",
        "Co-occurring-enhanced services",
        "A co-occurring mental health condition that is active or unstable: choose a programme"
        " with co-occurring-enhanced services (psychiatric care within the programme).",
        FlagKind.NEED,
    )


class Dimension(LabelledEnum):
    """The six dimensions of the ASAM Criteria (3rd-edition names), in their order.

    Each assessment gets a risk rating in every dimension; ``asam_4th`` says where the
    dimension's content sits in the 4th edition (2023), which regrouped them.
    """

    asam_4th: str

    def __new__(cls, value: str, label: str, description: str, asam_4th: str) -> Self:
        member = new_member(cls, value, label, description)
        member.asam_4th = asam_4th
        return member

    ACUTE_INTOXICATION_WITHDRAWAL = (
        "acute_intoxication_withdrawal",
        "Intoxication and withdrawal",
        "Dimension 1: acute intoxication and withdrawal potential.",
        "Dimension 1, intoxication, withdrawal and addiction medications.",
    )
    BIOMEDICAL = (
        "biomedical",
        "Biomedical conditions",
        "Dimension 2: biomedical conditions and complications.",
        "Dimension 2, biomedical conditions.",
    )
    EMOTIONAL_BEHAVIORAL_COGNITIVE = (
        "emotional_behavioral_cognitive",
        "Emotional, behavioural and cognitive",
        "Dimension 3: emotional, behavioural or cognitive conditions and complications,"
        " including suicide risk, co-occurring conditions and daily functioning.",
        "Dimension 3, psychiatric and cognitive conditions.",
    )
    READINESS_TO_CHANGE = (
        "readiness_to_change",
        "Readiness to change",
        "Dimension 4: readiness to change.",
        "Assessed across the dimensions; dimension 6, person-centred considerations.",
    )
    RELAPSE_POTENTIAL = (
        "relapse_potential",
        "Relapse and continued use",
        "Dimension 5: relapse, continued use or continued problem potential, including"
        " severity of use, treatment history and overdose risk.",
        "Dimension 4, substance use-related risks.",
    )
    RECOVERY_ENVIRONMENT = (
        "recovery_environment",
        "Recovery environment",
        "Dimension 6: recovery and living environment, including support.",
        "Dimension 5, recovery environment interactions.",
    )


class RiskRating(IntEnum):
    """A dimension's risk rating, 0 (none) to 4 (severe), as in the ASAM Criteria."""

    label: str
    description: str

    def __new__(cls, value: int, label: str, description: str) -> Self:
        member = int.__new__(cls, value)
        member._value_ = value
        member.label = label
        member.description = description
        return member

    @classmethod
    def of(cls, value: int) -> RiskRating:
        """The rating whose number is ``value`` (0-4)."""
        return cls._value2member_map_[value]  # type: ignore[return-value]

    NONE = 0, "None", "No problem or risk in this dimension."
    MILD = 1, "Mild", "A mild problem or risk; standard outpatient care can hold it."
    MODERATE = 2, "Moderate", "A moderate risk: more structure than standard outpatient care."
    SIGNIFICANT = 3, "Significant", "A significant risk: 24-hour care is indicated."
    SEVERE = 4, "Severe", "A severe risk or danger to life: immediate 24-hour care."
