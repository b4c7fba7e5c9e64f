"""The assessment an intake form collects: fields, allowed values, labels and risk orders."""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Annotated, Any, Final

from pydantic import ConfigDict, Field, StrictBool, field_validator

from iop_placement._model.base import Frozen
from iop_placement._model.labels import LabelledEnum

__all__ = [
    "EXTENSIONS",
    "FEASIBILITY",
    "LEGACY_MODIFIABLE_TO",
    "MODIFIABLE_TO",
    "RISK_ORDERS",
    "AddictionMedication",
    "Assessment",
    "CoOccurringMentalHealth",
    "DetoxStatus",
    "FunctionalImpairment",
    "HomeEnvironment",
    "Motivation",
    "Obligation",
    "RecoveryResidence",
    "RelapseHistory",
    "SubstanceUseSeverity",
    "SuicideRisk",
    "SupportSystem",
    "UseStatus",
    "WithdrawalSeverity",
    "single_step_worsenings",
]


class SubstanceUseSeverity(LabelledEnum):
    """Severity of the substance use disorder."""

    MILD = "mild", "Mild", "Few criteria met; use has not taken over daily life."
    MODERATE = "moderate", "Moderate", "Several criteria met; clear harm from use."
    SEVERE = "severe", "Severe", "Many criteria met; use dominates daily life."


class DetoxStatus(LabelledEnum):
    """Whether medically supervised withdrawal (detox) is needed."""

    NOT_NEEDED = "not_needed", "Not needed", "No withdrawal risk that needs medical care."
    NEEDED = "needed", "Needed", "Withdrawal risk that needs medically supervised detox."
    IN_PROGRESS = "in_progress", "In progress", "Currently in medically supervised detox."
    COMPLETED = "completed", "Completed", "Has completed medically supervised detox."


class CoOccurringMentalHealth(LabelledEnum):
    """Mental health conditions alongside the substance use disorder."""

    NONE = "none", "None", "No co-occurring mental health condition."
    STABLE = "stable", "Stable", "A co-occurring condition that is currently stable."
    ACTIVE = (
        "active",
        "Active",
        "Symptomatic but manageable outside 24-hour care: no danger to self or others, not"
        " decompensated.",
    )
    SIGNIFICANT = (
        "significant",
        "Significant",
        "Unstable, decompensated or dangerous (for example unstable bipolar disorder, PTSD with"
        " dissociation, severe depression with suicidal thoughts).",
    )


class HomeEnvironment(LabelledEnum):
    """Where the person lives and what it is like for recovery."""

    SUPPORTIVE = "supportive", "Supportive", "Safe housing with people who support recovery."
    STABLE = "stable", "Stable", "Safe, steady housing, not actively involved in recovery."
    UNSTABLE = "unstable", "Unstable", "Insecure or chaotic housing, but not harmful."
    TOXIC = (
        "toxic",
        "Toxic",
        "Substance use, conflict or violence at home, or a neighbourhood with much substance use.",
    )
    HOMELESS = "homeless", "Homeless", "No stable place to live."


class SupportSystem(LabelledEnum):
    """People who actively support the person's recovery."""

    STRONG = "strong", "Strong", "Family or friends actively engaged in recovery."
    LIMITED = "limited", "Limited", "Some support, not reliable or not engaged."
    NONE = "none", "None", "No one to support recovery."


class SuicideRisk(LabelledEnum):
    """Current risk of suicide."""

    NONE = "none", "None", "No suicidal thoughts."
    IDEATION = "ideation", "Ideation", "Suicidal thoughts without imminent intent or plan."
    IMMINENT = "imminent", "Imminent", "Intent or plan: imminent danger."


class FunctionalImpairment(LabelledEnum):
    """How far daily functioning (work, school, home, health) is impaired."""

    NONE = "none", "None", "Daily life is managed."
    MILD = "mild", "Mild", "Some strain in daily life."
    MODERATE = "moderate", "Moderate", "Struggles to keep up with work, school or home."
    SEVERE = (
        "severe",
        "Severe",
        "Can barely hold daily life together: missing work, failing duties, health declining.",
    )


class RelapseHistory(LabelledEnum):
    """Returns to use after periods of abstinence."""

    NONE = "none", "None", "No relapse after a period of abstinence."
    OCCASIONAL = "occasional", "Occasional", "One or a few relapses."
    FREQUENT = "frequent", "Frequent", "Repeated relapses."


class Motivation(LabelledEnum):
    """The person's own motivation to recover."""

    HIGH = "high", "High", "Wants to recover and takes part actively."
    AMBIVALENT = "ambivalent", "Ambivalent", "Unsure about change."
    LOW = "low", "Low", "Does not want treatment now."


class Obligation(LabelledEnum):
    """A responsibility that competes with time in treatment."""

    WORK = "work", "Work", "A job the person needs to keep."
    SCHOOL = "school", "School", "School or study."
    CHILDCARE = "childcare", "Childcare", "Looking after children."
    CAREGIVING = "caregiving", "Caregiving", "Caring for another adult."


class WithdrawalSeverity(LabelledEnum):
    """How severe withdrawal is, for example by CIWA-Ar or COWS score band."""

    MINIMAL = (
        "minimal",
        "Minimal",
        "Mild signs of withdrawal (for example CIWA-Ar under 10); no history of seizures or"
        " delirium tremens.",
    )
    MODERATE = (
        "moderate",
        "Moderate",
        "Moderate withdrawal (for example CIWA-Ar 10-18, COWS 13-24) without complications.",
    )
    SEVERE = (
        "severe",
        "Severe",
        "Severe withdrawal (for example CIWA-Ar 19 or more, COWS over 24), or a history of"
        " seizures or delirium tremens.",
    )


class UseStatus(LabelledEnum):
    """Whether the person uses now, or how long they have been in remission."""

    SUSTAINED_REMISSION = (
        "sustained_remission",
        "Sustained remission",
        "12 months or more without use (other than craving).",
    )
    EARLY_REMISSION = (
        "early_remission",
        "Early remission",
        "3 to 12 months without use (other than craving).",
    )
    ACTIVE = "active", "Active use", "Has used in the last 3 months."


class AddictionMedication(LabelledEnum):
    """Medication for opioid or alcohol use disorder (buprenorphine, methadone, naltrexone, ...)."""

    RECEIVING = (
        "receiving",
        "Receiving",
        "Takes medication for opioid or alcohol use disorder now.",
    )
    INDICATED_NOT_RECEIVING = (
        "indicated_not_receiving",
        "Indicated, not receiving",
        "Medication for opioid or alcohol use disorder is indicated but not taken.",
    )
    NOT_INDICATED = (
        "not_indicated",
        "Not indicated",
        "No medication for addiction treatment is indicated.",
    )


class RecoveryResidence(LabelledEnum):
    """A recovery residence (sober living, recovery house) to live in during treatment."""

    RESIDING = "residing", "Residing", "Lives in a recovery residence now."
    ARRANGED = "arranged", "Arranged", "A place in a recovery residence is arranged."
    NONE = "none", "None", "No recovery residence."


# Fields that say whether a level can be reached, not which level is needed. Rules may
# use them to raise flags and offer alternatives but never to set the level.
FEASIBILITY: Final = frozenset({"available_hours_per_week", "obligations", "inpatient_accessible"})

HOURS_MAX: Final = 168


def _field(title: str, description: str, **extra: Any) -> Any:  # noqa: ANN401 - Field() is Any
    return Field(title=title, description=description, **extra)


# Field metadata key: the answers treatment or a change of circumstances can bring a field
# to (treatment-planning goals). Fields without it (severity, history) are never modifiable.
# An ``x-`` extension (it was ``modifiable_to``, LEGACY_MODIFIABLE_TO, before 2.0.0's forms
# work); json_schema() leaves the extensions out so strict Ajv accepts it, and ui_schema()
# carries them.
MODIFIABLE_TO: Final = "x-modifiable-to"
LEGACY_MODIFIABLE_TO: Final = "modifiable_to"


def _modifiable(*goals: str | bool) -> dict[str, Any]:
    return {MODIFIABLE_TO: list(goals)}


# Field metadata keys of the optional fields (v2): what an absent answer means. A field
# whose absence means one of its values is read as that value by the rules; a field whose
# absence means "not rated" keeps absence as a value of its own (``null`` in rule files).
ABSENT_MEANS: Final = "x-absent-means"
ABSENT_LABEL: Final = "x-absent-label"
# Every extension keyword the model puts in a field's schema.
EXTENSIONS: Final = (ABSENT_MEANS, ABSENT_LABEL, MODIFIABLE_TO)


def _optional(label: str, means: str | bool | None = None, **extra: Any) -> dict[str, Any]:  # noqa: ANN401
    return {
        "default": None,
        "json_schema_extra": {ABSENT_MEANS: means, ABSENT_LABEL: label, **extra},
    }


class Assessment(Frozen):
    """One person's assessment, as an intake form collects it.

    The fields of version 1 are required; the optional fields added since may be left out,
    and each says what its absence means (``x-absent-means``).
    """

    model_config = ConfigDict(hide_input_in_errors=True, title="Assessment", use_enum_values=False)

    substance_use_severity: SubstanceUseSeverity = _field(
        "Substance use severity", "How severe the substance use disorder is now."
    )
    detox_status: DetoxStatus = _field(
        "Detox status",
        "Whether medically supervised withdrawal (detox) is needed.",
        json_schema_extra=_modifiable(DetoxStatus.COMPLETED.value),
    )
    co_occurring_mental_health: CoOccurringMentalHealth = _field(
        "Co-occurring mental health",
        "Any mental health condition alongside the substance use.",
        json_schema_extra=_modifiable(CoOccurringMentalHealth.STABLE.value),
    )
    home_environment: HomeEnvironment = _field(
        "Home environment",
        "Where the person lives and how it affects recovery.",
        json_schema_extra=_modifiable(
            HomeEnvironment.SUPPORTIVE.value, HomeEnvironment.STABLE.value
        ),
    )
    support_system: SupportSystem = _field(
        "Support system",
        "Family or friends who actively support recovery.",
        json_schema_extra=_modifiable(SupportSystem.STRONG.value, SupportSystem.LIMITED.value),
    )
    suicide_risk: SuicideRisk = _field(
        "Suicide risk",
        "Current risk of suicide.",
        json_schema_extra=_modifiable(SuicideRisk.NONE.value, SuicideRisk.IDEATION.value),
    )
    functional_impairment: FunctionalImpairment = _field(
        "Functional impairment", "How far daily life (work, school, home, health) is impaired."
    )
    relapse_history: RelapseHistory = _field(
        "Relapse history", "Returns to use after periods of abstinence."
    )
    prior_outpatient_failed: StrictBool = _field(
        "Prior outpatient treatment failed",
        "Has tried outpatient treatment before and could not stay abstinent.",
    )
    motivation: Motivation = _field(
        "Motivation",
        "The person's own motivation to recover.",
        json_schema_extra=_modifiable(Motivation.HIGH.value, Motivation.AMBIVALENT.value),
    )
    medically_unstable: StrictBool = _field(
        "Medically unstable",
        "Has a medical condition that needs monitoring or urgent care.",
        json_schema_extra=_modifiable(False),
    )
    completed_residential: StrictBool = _field(
        "Completed residential treatment",
        "Has just completed a residential or inpatient treatment programme.",
    )
    recovery_plan_established: StrictBool = _field(
        "Recovery plan established",
        "Has a solid, written recovery and relapse prevention plan.",
        json_schema_extra=_modifiable(True),
    )
    opioid_use_with_lost_tolerance: StrictBool = _field(
        "Opioid use after lost tolerance",
        "Uses or may return to opioids after a period of abstinence that lowered tolerance.",
    )
    available_hours_per_week: Annotated[int, Field(strict=True, ge=0, le=HOURS_MAX)] = _field(
        "Hours available for treatment per week",
        "Hours a week the person can spend in treatment, a whole number from 0 to 168.",
    )
    obligations: tuple[Obligation, ...] = _field(
        "Obligations",
        "Responsibilities that compete with treatment time; choose any that apply, or none.",
    )
    inpatient_accessible: StrictBool = _field(
        "Inpatient care accessible",
        "Whether the person can reach inpatient care now (place, cost, insurance, travel).",
    )
    withdrawal_severity: WithdrawalSeverity | None = _field(
        "Withdrawal severity",
        "How severe withdrawal is, when detox is needed or in progress (CIWA-Ar or COWS"
        " band). Leave out when not rated: unrated withdrawal is treated as severe.",
        **_optional("Not rated (treated as severe when detox is needed or in progress)"),
    )
    recovery_residence: RecoveryResidence | None = _field(
        "Recovery residence",
        "Whether the person lives in, or has a place arranged in, a recovery residence"
        " (sober living). Leaving it out means none.",
        **_optional(
            "Not asked (counts as none)",
            RecoveryResidence.NONE.value,
            **_modifiable(RecoveryResidence.RESIDING.value, RecoveryResidence.ARRANGED.value),
        ),
    )
    prior_iop_failed: StrictBool | None = _field(
        "Prior IOP failed",
        "Has tried intensive outpatient treatment before and could not stay abstinent."
        " Leaving it out means no.",
        **_optional("Not asked (counts as no)", False),
    )
    recent_overdose: StrictBool | None = _field(
        "Overdose in the last 12 months",
        "Has had an overdose in the last 12 months. Leaving it out means no.",
        **_optional("Not asked (counts as no)", False),
    )
    use_status: UseStatus | None = _field(
        "Current use",
        "Whether the person uses now (last 3 months) or is in early (3-12 months) or sustained"
        " (12 months or more) remission. Leaving it out means active use.",
        **_optional("Not asked (counts as active use)", UseStatus.ACTIVE.value),
    )
    addiction_medication: AddictionMedication | None = _field(
        "Medication for addiction treatment",
        "Whether medication for opioid or alcohol use disorder is taken, or indicated and not"
        " taken. Leaving it out means not assessed; it never raises the level by itself.",
        **_optional(
            "Not assessed",
            **_modifiable(AddictionMedication.RECEIVING.value),
        ),
    )
    complicated_withdrawal_history: StrictBool | None = _field(
        "Withdrawal seizures or delirium in the past",
        "Has had withdrawal seizures or delirium (delirium tremens) in a past withdrawal."
        " Leaving it out means no.",
        **_optional("Not asked (counts as no)", False),
    )

    @field_validator("obligations", mode="after")
    @classmethod
    def _canonical_obligations(cls, value: tuple[Obligation, ...]) -> tuple[Obligation, ...]:
        # Same answers, same assessment: drop repeats and keep the declared order.
        chosen = set(value)
        return tuple(item for item in Obligation if item in chosen)

    def values(self) -> dict[str, Any]:
        """The answers as JSON-safe codes (enum members become their string values)."""
        # The same as model_dump(mode="json"), in a third of the time (every call of the
        # engine needs it); anything unexpected in the fields takes Pydantic's way.
        out = dict(self.__dict__)
        for name, value in out.items():
            kind = type(value)
            if kind in _ENUMS:
                out[name] = value._value_
            elif kind is tuple and all(type(item) in _ENUMS for item in value):
                out[name] = [item._value_ for item in value]
            elif kind not in _PLAIN:
                return self.model_dump(mode="json")
        return out


def _enums_in(annotation: Any) -> set[type[LabelledEnum]]:  # noqa: ANN401 - a type expression
    found = (
        {annotation}
        if isinstance(annotation, type) and issubclass(annotation, LabelledEnum)
        else set()
    )
    for argument in typing.get_args(annotation):
        found |= _enums_in(argument)
    return found


_ENUMS: Final = frozenset(
    kind for info in Assessment.model_fields.values() for kind in _enums_in(info.annotation)
)
ENUM_TYPES: Final = _ENUMS
"""The enum classes of the assessment's fields (the types its validated answers hold)."""
_PLAIN: Final = frozenset({bool, int, str, type(None)})


# Single-step worsening along each risk order of the contract: value -> worse neighbours.
RISK_ORDERS: Final[Mapping[str, Mapping[Any, tuple[Any, ...]]]] = {
    "substance_use_severity": {"mild": ("moderate",), "moderate": ("severe",)},
    "detox_status": {
        "not_needed": ("in_progress",),
        "completed": ("in_progress",),
        "in_progress": ("needed",),
    },
    "co_occurring_mental_health": {
        "none": ("stable",),
        "stable": ("active",),
        "active": ("significant",),
    },
    "home_environment": {
        "supportive": ("stable",),
        "stable": ("unstable",),
        "unstable": ("toxic", "homeless"),
    },
    "support_system": {"strong": ("limited",), "limited": ("none",)},
    "suicide_risk": {"none": ("ideation",), "ideation": ("imminent",)},
    "functional_impairment": {"none": ("mild",), "mild": ("moderate",), "moderate": ("severe",)},
    "relapse_history": {"none": ("occasional",), "occasional": ("frequent",)},
    "prior_outpatient_failed": {False: (True,)},
    "motivation": {"high": ("ambivalent",), "ambivalent": ("low",)},
    "medically_unstable": {False: (True,)},
    "completed_residential": {True: (False,)},
    "recovery_plan_established": {True: (False,)},
    "opioid_use_with_lost_tolerance": {False: (True,)},
    # Optional fields: absent (None) sits where its meaning puts it.
    "withdrawal_severity": {"minimal": ("moderate",), "moderate": ("severe", None)},
    "recovery_residence": {"residing": ("arranged",), "arranged": ("none", None)},
    "prior_iop_failed": {False: (True,), None: (True,)},
    "recent_overdose": {False: (True,), None: (True,)},
    "use_status": {
        "sustained_remission": ("early_remission",),
        "early_remission": ("active", None),
    },
    # Not assessed (None) is no step on this order: it may mean either.
    "addiction_medication": {"receiving": ("indicated_not_receiving",)},
    "complicated_withdrawal_history": {False: (True,), None: (True,)},
}


def single_step_worsenings(assessment: Assessment) -> list[tuple[str, Assessment]]:
    """Every assessment one step worse than ``assessment`` along one risk order.

    Returns (field name, worsened assessment) pairs; the contract says none of them may
    get a less intensive level.
    """
    values = assessment.values()
    worse = []
    for name, steps in RISK_ORDERS.items():
        for value in steps.get(values[name], ()):
            worse.append((name, assessment.model_copy(update={name: _typed(name, value)})))
    return worse


def _typed(name: str, value: Any) -> Any:  # noqa: ANN401 - a field's code
    """A code as the field's own type (model_copy does not validate)."""
    annotation = Assessment.model_fields[name].annotation
    if value is None:
        return None
    members = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    annotation = members[0]
    if isinstance(annotation, type) and issubclass(annotation, LabelledEnum):
        return next(member for member in annotation if member.value == value)
    return value
