"""Worked clinical cases for rule set 2.1.0, each following a passage of the seed documents.

Every row is one realistic assessment: the low-risk baseline below with only the answers
that differ. A row states the level a clinician reading the seed documents would expect,
the exact set of flags, the alternative (or None), rules that must appear among the
reasons, and ``cite``: the seed file and a short verbatim quote of the sentence the case
follows. Expected values come from the seeds and the rules' clinical reading, not from
the engine's output.

Cases that encoded readings of rule set 1.0.0 which the clinical review rejected are
rewritten here and say so in a comment ("1.0.0: ..."): a missing recovery plan, a stable
home, a stable co-occurring condition, low motivation or no support, and one occasional
relapse no longer floor at IOP (they say when IOP fits, not that outpatient care is
insufficient); homelessness and unstable housing without support no longer mean
residential care; severe impairment with moderate use now does.

Cases that encoded readings of rule set 2.0.0 which the second clinical review rejected
say so the same way ("2.0.0: ..."): severe use alone, three moderate risks with support,
and low motivation counted among the risks no longer mean residential care; moderate
withdrawal with no safe place to manage it now does; a crisis with no reachable bed shows
that the bed cannot be reached.

Seed files (kept in the project's shared seeds directory, not read by this test):
000 What is IOP; 001 What is an IOP, all you need to know; 002 IOP for substance use
disorders; 003 Intensive outpatient program; 004 Benefits of an IOP for rehabilitation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pytest

import iop_placement
from helpers import BASELINE
from iop_placement import Flag, LevelOfCare

STANDARD = LevelOfCare.STANDARD_OUTPATIENT
IOP = LevelOfCare.INTENSIVE_OUTPATIENT
INPATIENT = LevelOfCare.INPATIENT

CRISIS = Flag.CRISIS
WITHDRAWAL = Flag.WITHDRAWAL_MANAGEMENT
MEDICAL = Flag.MEDICAL_INSTABILITY
OVERDOSE = Flag.OVERDOSE_RISK
NO_ACCESS = Flag.INPATIENT_NOT_ACCESSIBLE
OBLIGATIONS = Flag.OBLIGATIONS_CONFLICT
SCHEDULE = Flag.SCHEDULE_CONFLICT
HOUSING = Flag.HOUSING_NEEDED
MEDICATION = Flag.MEDICATION_FOR_ADDICTION
HIGH_INTENSITY = Flag.HIGH_INTENSITY_OUTPATIENT
ENHANCED = Flag.CO_OCCURRING_ENHANCED

SEED_000 = "000_5b589651295dc063.txt"
SEED_001 = "001_8721388d5a1adc78.txt"
SEED_002 = "002_ba39981cf7a9f177.txt"
SEED_003 = "003_e681c03bfc278f89.txt"
SEED_004 = "004_b3c0bdbb90512357.txt"
SEEDS = (SEED_000, SEED_001, SEED_002, SEED_003, SEED_004)

# BASELINE (conftest): a low-risk person: mild use, no withdrawal to manage, a solid
# recovery plan, a supportive home and strong support, motivated, 12 free hours a week.

# Answers that recur across rows.
SEVERE_USE = {"substance_use_severity": "severe"}
AFTER_RESIDENTIAL = {"substance_use_severity": "severe", "completed_residential": True}


def case(**changes: Any) -> dict[str, Any]:
    """The baseline assessment with only ``changes`` different."""
    unknown = set(changes) - set(iop_placement.Assessment.model_fields)
    assert not unknown, f"not assessment fields: {sorted(unknown)}"
    return {**BASELINE, **changes}


def cite(seed: str, quote: str) -> str:
    """The seed file a case follows and a short verbatim quote of its sentence."""
    return f'{seed}: "{quote}"'


@dataclass(frozen=True)
class WorkedCase:
    """One row of the table: an assessment and what the seeds say it should get."""

    case_id: str
    assessment: dict[str, Any]
    level: LevelOfCare
    flags: frozenset[Flag]
    alternative: LevelOfCare | None
    rules: frozenset[str]
    cite: str
    ratings: dict[str, int]


def worked(
    case_id: str,
    assessment: dict[str, Any],
    *,
    level: LevelOfCare,
    cite: str,
    flags: Iterable[Flag] = (),
    alternative: LevelOfCare | None = None,
    rules: Iterable[str] = (),
    ratings: dict[str, int] | None = None,
) -> WorkedCase:
    return WorkedCase(
        case_id,
        assessment,
        level,
        frozenset(flags),
        alternative,
        frozenset(rules),
        cite,
        ratings or {},
    )


WORKED_CASES: list[WorkedCase] = [
    # --- Standard outpatient: the least intensive level when no dimension calls for more.
    worked(
        "001-low-risk-mild-use",
        case(),
        level=STANDARD,
        rules={"placement.standard_outpatient"},
        ratings={"relapse_potential": 0, "recovery_environment": 0},
        cite=cite(
            SEED_004,
            "One or two therapy sessions per week or scheduled visits as needed would be"
            " considered more typical outpatient choices.",
        ),
    ),
    worked(
        "002-mild-completed-withdrawal-plan-supportive-home",
        case(detox_status="completed"),
        level=STANDARD,
        rules={"placement.standard_outpatient"},
        cite=cite(
            SEED_001,
            "some individuals may not require the intensive treatment provided by an IOP,"
            " especially those who have completed the withdrawal process successfully and"
            " have established a solid recovery plan.",
        ),
    ),
    worked(
        "003-standard-outpatient-busy-schedule-not-lowered-or-flagged",
        case(detox_status="completed", available_hours_per_week=2, obligations=["work", "school"]),
        level=STANDARD,
        rules={"placement.standard_outpatient"},
        cite=cite(SEED_004, "One or two therapy sessions per week"),
    ),
    worked(
        "003b-standard-outpatient-no-hours-flagged-not-lowered",
        case(available_hours_per_week=0, obligations=["work", "childcare"]),
        level=STANDARD,
        flags={SCHEDULE},
        rules={"feasibility.too_few_hours_for_outpatient"},
        cite=cite(SEED_000, "IOP care facilities typically offer day and evening programs."),
    ),
    # 1.0.0: IOP ("only people with completed withdrawal and a solid plan skip it"). The
    # seed's "especially those who" gives an example, not a necessary condition.
    worked(
        "004-completed-detox-no-recovery-plan",
        case(detox_status="completed", recovery_plan_established=False),
        level=STANDARD,
        rules={"placement.standard_outpatient"},
        cite=cite(
            SEED_001,
            "Conversely, some individuals may not require the intensive treatment provided by"
            " an IOP, especially those who have completed the withdrawal process successfully",
        ),
    ),
    # 1.0.0: IOP. A plan is written in treatment, at any level.
    worked(
        "005-no-recovery-plan-yet",
        case(recovery_plan_established=False),
        level=STANDARD,
        rules={"placement.standard_outpatient"},
        cite=cite(
            SEED_000,
            "Writing down goals and coming up with a plan to meet them will provide a measure"
            " of accountability for people suffering from addiction.",
        ),
    ),
    # A mild, first-visit intake: stable home, limited support, ambivalent, no plan yet.
    worked(
        "005b-mild-first-visit-nothing-else-elevated",
        case(
            home_environment="stable",
            support_system="limited",
            motivation="ambivalent",
            recovery_plan_established=False,
            functional_impairment="mild",
        ),
        level=STANDARD,
        rules={"placement.standard_outpatient"},
        ratings={"readiness_to_change": 1, "recovery_environment": 0},
        cite=cite(
            SEED_004,
            "Like IOPs, outpatient therapy for drug addiction recovery is likely to contain"
            " some mix of individual counseling, psychoeducation, and relapse prevention.",
        ),
    ),
    # --- Withdrawal: 24-hour care when severe or unrated; ambulatory when minimal/moderate.
    worked(
        "006-detox-needed-withdrawal-not-rated",
        case(substance_use_severity="moderate", detox_status="needed"),
        level=INPATIENT,
        flags={WITHDRAWAL},
        rules={"withdrawal.severe_or_unrated", "placement.withdrawal_needs_24_hour_care"},
        ratings={"acute_intoxication_withdrawal": 3},
        cite=cite(SEED_003, "Intensive outpatient programs do not include detox"),
    ),
    worked(
        "006b-moderate-withdrawal-managed-alongside-iop",
        case(detox_status="needed", withdrawal_severity="moderate"),
        level=IOP,
        flags={WITHDRAWAL},
        rules={"withdrawal.moderate_ambulatory", "placement.withdrawal_ambulatory"},
        ratings={"acute_intoxication_withdrawal": 2},
        cite=cite(
            SEED_003,
            "IOP’s are great follow up programs for those who complete a detox program.",
        ),
    ),
    # 2.0.0: IOP with ambulatory withdrawal management, nobody to monitor it.
    worked(
        "006e-moderate-withdrawal-homeless-no-support",
        case(
            detox_status="needed",
            withdrawal_severity="moderate",
            home_environment="homeless",
            support_system="none",
        ),
        level=INPATIENT,
        flags={WITHDRAWAL, HOUSING},
        alternative=None,
        rules={"placement.withdrawal_without_safe_setting", "withdrawal.moderate_ambulatory"},
        cite=cite(
            SEED_002,
            "Managing triggers and high-risk situations without round-the-clock support.",
        ),
    ),
    worked(
        "006f-minimal-withdrawal-after-withdrawal-seizures",
        case(
            detox_status="needed",
            withdrawal_severity="minimal",
            complicated_withdrawal_history=True,
            inpatient_accessible=False,
        ),
        level=INPATIENT,
        flags={WITHDRAWAL, NO_ACCESS},
        alternative=None,
        rules={"withdrawal.complicated_history", "placement.withdrawal_needs_24_hour_care"},
        ratings={"acute_intoxication_withdrawal": 3},
        cite=cite(SEED_003, "Intensive outpatient programs do not include detox"),
    ),
    worked(
        "006c-minimal-withdrawal-outpatient",
        case(detox_status="in_progress", withdrawal_severity="minimal"),
        level=STANDARD,
        flags={WITHDRAWAL},
        rules={"withdrawal.minimal_ambulatory"},
        ratings={"acute_intoxication_withdrawal": 1},
        cite=cite(
            SEED_003,
            "Intensive outpatient programs do not include detox, which makes them ideal for"
            " those without the need of medically assisted detox",
        ),
    ),
    worked(
        "006d-severe-withdrawal",
        case(detox_status="needed", withdrawal_severity="severe"),
        level=INPATIENT,
        flags={WITHDRAWAL},
        rules={"withdrawal.severe_or_unrated"},
        cite=cite(SEED_002, "Do not require medical detoxification or 24-hour supervision."),
    ),
    # Under the safety override no alternative is shown, and of the feasibility flags only
    # the unreachable bed (2.0.0: hidden too): arrange emergency transfer or a crisis service.
    worked(
        "007-detox-in-progress-inpatient-not-accessible-no-alternative",
        case(
            substance_use_severity="moderate",
            detox_status="in_progress",
            inpatient_accessible=False,
        ),
        level=INPATIENT,
        flags={WITHDRAWAL, NO_ACCESS},
        alternative=None,
        rules={"withdrawal.severe_or_unrated", "feasibility.inpatient_not_accessible"},
        cite=cite(SEED_002, "Do not require medical detoxification or 24-hour supervision."),
    ),
    worked(
        "008-detox-needed-with-work-no-alternative",
        case(substance_use_severity="moderate", detox_status="needed", obligations=["work"]),
        level=INPATIENT,
        flags={WITHDRAWAL},
        alternative=None,
        rules={"withdrawal.severe_or_unrated"},
        cite=cite(
            SEED_003,
            "Intensive outpatient programs do not include detox, which makes them ideal for"
            " those without the need of medically assisted detox",
        ),
    ),
    worked(
        "009-opioid-withdrawal-after-lost-tolerance",
        case(
            substance_use_severity="moderate",
            detox_status="needed",
            relapse_history="occasional",
            opioid_use_with_lost_tolerance=True,
        ),
        level=INPATIENT,
        flags={WITHDRAWAL, OVERDOSE, MEDICATION},
        rules={"withdrawal.severe_or_unrated", "relapse.opioid_lost_tolerance"},
        cite=cite(
            SEED_004,
            "someone who has stopped using opioids like heroin or painkillers for a"
            " significant period of time may be more likely to overdose after starting back"
            " up due of the consequent drop in tolerance.",
        ),
    ),
    # --- Safety: suicide risk and medical instability.
    worked(
        "010-imminent-suicide-risk",
        case(substance_use_severity="moderate", suicide_risk="imminent"),
        level=INPATIENT,
        flags={CRISIS},
        rules={"safety.imminent_suicide_risk", "placement.emotional_needs_24_hour_care"},
        ratings={"emotional_behavioral_cognitive": 4},
        cite=cite(
            SEED_002,
            "An IOP is a structured, therapeutic program designed for individuals struggling"
            " with substance use disorders who do not require 24-hour supervision.",
        ),
    ),
    worked(
        "011-crisis-inpatient-not-accessible-no-alternative",
        case(
            substance_use_severity="moderate",
            suicide_risk="imminent",
            inpatient_accessible=False,
            obligations=["childcare"],
        ),
        level=INPATIENT,
        flags={CRISIS, NO_ACCESS},
        alternative=None,
        rules={"safety.imminent_suicide_risk", "feasibility.inpatient_not_accessible"},
        cite=cite(
            SEED_000,
            "Of particular concern for individuals involved in drug abuse is the issue of"
            " self-harm.",
        ),
    ),
    worked(
        "012-suicidal-ideation-without-intent",
        case(suicide_risk="ideation"),
        level=IOP,
        rules={"safety.suicidal_ideation", "placement.emotional_needs_iop"},
        cite=cite(
            SEED_000,
            "One out of 11 people using illicit drugs during the past year has had serious"
            " thoughts of suicide",
        ),
    ),
    worked(
        "013-medically-unstable",
        case(substance_use_severity="moderate", medically_unstable=True),
        level=INPATIENT,
        flags={MEDICAL},
        rules={"safety.medically_unstable", "placement.biomedical_needs_24_hour_care"},
        ratings={"biomedical": 4},
        cite=cite(
            SEED_003,
            "have deteriorating health and in general decrepit, then inpatient treatment is"
            " necessary.",
        ),
    ),
    worked(
        "014-medically-unstable-not-accessible-caregiver-no-alternative",
        case(
            substance_use_severity="moderate",
            medically_unstable=True,
            inpatient_accessible=False,
            obligations=["caregiving"],
        ),
        level=INPATIENT,
        flags={MEDICAL, NO_ACCESS},
        alternative=None,
        rules={"safety.medically_unstable"},
        cite=cite(SEED_002, "Do not require medical detoxification or 24-hour supervision."),
    ),
    # --- Severity: severe use alone is at least IOP; residential first with a 24-hour reason.
    # 2.0.0: inpatient (a diagnostic label read as a 24-hour reason).
    worked(
        "015-severe-use-no-residential-yet",
        case(**SEVERE_USE),
        level=IOP,
        rules={"severity.severe_active_use", "placement.relapse_needs_iop"},
        ratings={"relapse_potential": 2},
        cite=cite(
            SEED_003,
            "Those addicts with more severe addictions or co-occurring disorders are more"
            " likely to be advised to enter an inpatient treatment program.",
        ),
    ),
    worked(
        "015b-severe-use-unstable-housing-residential-first",
        case(**SEVERE_USE, home_environment="unstable", support_system="limited"),
        level=INPATIENT,
        rules={"severity.severe_active_use", "placement.severe_use_with_further_risk"},
        cite=cite(
            SEED_001,
            "Those with severe addiction problems or significant co-occurring mental health"
            " conditions must pursue residential treatment before enrolling in an intensive"
            " outpatient program.",
        ),
    ),
    worked(
        "015c-severe-use-iop-already-failed",
        case(**SEVERE_USE, prior_iop_failed=True),
        level=INPATIENT,
        rules={"relapse.prior_iop_failed", "placement.severe_use_with_further_risk"},
        cite=cite(
            SEED_001,
            "Such individuals may require stricter monitoring and structure offered by a"
            " residential unit.",
        ),
    ),
    worked(
        "016-severe-use-inpatient-not-accessible-iop-alternative",
        case(**SEVERE_USE, home_environment="homeless", inpatient_accessible=False),
        level=INPATIENT,
        flags={NO_ACCESS, HOUSING},
        alternative=IOP,
        rules={
            "placement.severe_use_with_further_risk",
            "feasibility.inpatient_not_accessible",
            "feasibility.iop_while_inpatient_unreachable",
        },
        cite=cite(
            SEED_001,
            "If residential or inpatient treatment is not feasible due to financial"
            " constraints, work or family obligations, or personal preferences, an IOP can be"
            " a viable alternative",
        ),
    ),
    worked(
        "017-severe-use-work-and-childcare-iop-alternative",
        case(**SEVERE_USE, prior_iop_failed=True, obligations=["work", "childcare"]),
        level=INPATIENT,
        flags={OBLIGATIONS},
        alternative=IOP,
        rules={
            "placement.severe_use_with_further_risk",
            "feasibility.inpatient_conflicts_with_obligations",
        },
        cite=cite(
            SEED_000,
            "For some individuals, it may not be feasible or appropriate to take time off from"
            " work or to leave school during the middle of a semester.",
        ),
    ),
    # A clinical alternative, not a feasibility one: IOP after completed detox.
    worked(
        "017b-severe-use-after-detox-iop-clinical-alternative",
        case(**SEVERE_USE, detox_status="completed", home_environment="unstable"),
        level=INPATIENT,
        alternative=IOP,
        rules={
            "placement.severe_use_with_further_risk",
            "placement.iop_after_detox_for_severe_use",
        },
        cite=cite(
            SEED_001,
            "Have completed medical detox and/or residential treatment in cases of severe"
            " addiction",
        ),
    ),
    # 2.0.0: inpatient ("relapse potential 3 for anyone with severe use who never had
    # residential care", whatever the time since the last use).
    worked(
        "017c-severe-use-sustained-remission",
        case(**SEVERE_USE, use_status="sustained_remission", relapse_history="occasional"),
        level=STANDARD,
        rules={"relapse.occasional", "placement.standard_outpatient"},
        ratings={"relapse_potential": 1},
        cite=cite(
            SEED_004,
            "Those who have transitioned from IOP therapy to a lower level of care might"
            " benefit from a thorough relapse prevention strategy.",
        ),
    ),
    # 2.0.0: inpatient. Five months abstinent after IOP, in aftercare, a supportive spouse.
    worked(
        "017d-severe-use-early-remission-after-iop-in-aftercare",
        case(**SEVERE_USE, use_status="early_remission", relapse_history="occasional"),
        level=STANDARD,
        rules={"severity.severe_in_early_remission", "placement.standard_outpatient"},
        ratings={"relapse_potential": 1},
        cite=cite(
            SEED_001,
            "some individuals may not require the intensive treatment provided by an IOP,"
            " especially those who have completed the withdrawal process successfully and have"
            " established a solid recovery plan.",
        ),
    ),
    # --- Step-down after completed residential treatment.
    worked(
        "018-step-down-after-residential-with-support",
        case(**AFTER_RESIDENTIAL),
        level=IOP,
        rules={"step_down.after_residential", "placement.relapse_needs_iop"},
        ratings={"relapse_potential": 2},
        cite=cite(
            SEED_001,
            "Have completed medical detox and/or residential treatment in cases of severe"
            " addiction",
        ),
    ),
    worked(
        "019-step-down-limited-support-back-at-work",
        case(
            **AFTER_RESIDENTIAL,
            support_system="limited",
            obligations=["work"],
            available_hours_per_week=15,
        ),
        level=IOP,
        rules={"step_down.after_residential"},
        cite=cite(
            SEED_002,
            "These programs are particularly beneficial for those transitioning from inpatient"
            " care",
        ),
    ),
    # 2.0.0: inpatient (severe use and no support rated 3): absent support is a fit
    # condition missing, not a 24-hour reason.
    worked(
        "020-after-residential-no-support",
        case(**AFTER_RESIDENTIAL, support_system="none", home_environment="stable"),
        level=IOP,
        rules={"step_down.after_residential", "support.none"},
        cite=cite(
            SEED_002, "Managing triggers and high-risk situations without round-the-clock support."
        ),
    ),
    # 2.0.0: IOP for ever after residential care.
    worked(
        "020b-two-years-abstinent-after-residential",
        case(**AFTER_RESIDENTIAL, use_status="sustained_remission"),
        level=STANDARD,
        rules={"placement.standard_outpatient"},
        ratings={"relapse_potential": 0},
        cite=cite(
            SEED_004,
            "Those who have transitioned from IOP therapy to a lower level of care might"
            " benefit from a thorough relapse prevention strategy.",
        ),
    ),
    # --- Home environment.
    worked(
        "021-toxic-home-moderate-use-no-safe-housing",
        case(substance_use_severity="moderate", home_environment="toxic"),
        level=INPATIENT,
        flags={HOUSING},
        alternative=IOP,
        rules={
            "environment.toxic_without_safe_housing",
            "environment.housing_needed",
            "placement.iop_with_recovery_residence",
        },
        ratings={"recovery_environment": 3},
        cite=cite(
            SEED_001,
            "While an IOP offers comprehensive therapy, it does not protect a toxic and"
            " stressful environment that may increase the risk of relapse.",
        ),
    ),
    # 1.0.0: inpatient at any severity.
    worked(
        "021b-toxic-home-mild-use",
        case(home_environment="toxic"),
        level=IOP,
        flags={HOUSING},
        rules={"environment.toxic", "placement.environment_needs_iop"},
        cite=cite(
            SEED_001,
            "Many individuals must change their environment to focus on recovery and remove"
            " themselves from stressful situations.",
        ),
    ),
    worked(
        "021c-toxic-home-recovery-residence-arranged",
        case(
            substance_use_severity="moderate",
            home_environment="toxic",
            recovery_residence="arranged",
        ),
        level=IOP,
        rules={"environment.toxic"},
        ratings={"recovery_environment": 2},
        cite=cite(
            SEED_001,
            "Individuals with mental disorders, addictions, or other challenges can enroll in"
            " these programs at home or in sober living facilities.",
        ),
    ),
    # 1.0.0: inpatient. Residential treatment is not housing.
    worked(
        "022-homeless",
        case(
            substance_use_severity="moderate",
            home_environment="homeless",
            support_system="limited",
        ),
        level=IOP,
        flags={HOUSING},
        rules={"environment.homeless", "environment.housing_needed"},
        cite=cite(
            SEED_003,
            "Patients, with the help of trained professionals, learn and address the issues of"
            " housing, employment, education and community support.",
        ),
    ),
    worked(
        "022b-homeless-living-in-recovery-residence",
        case(home_environment="homeless", recovery_residence="residing"),
        level=STANDARD,
        rules={"environment.in_recovery_residence", "placement.standard_outpatient"},
        ratings={"recovery_environment": 1},
        cite=cite(
            SEED_001,
            "Individuals with mental disorders, addictions, or other challenges can enroll in"
            " these programs at home or in sober living facilities.",
        ),
    ),
    worked(
        "023-toxic-home-childcare-inpatient-not-accessible",
        case(
            substance_use_severity="moderate",
            home_environment="toxic",
            obligations=["childcare"],
            inpatient_accessible=False,
        ),
        level=INPATIENT,
        flags={NO_ACCESS, OBLIGATIONS, HOUSING},
        alternative=IOP,
        rules={
            "environment.toxic_without_safe_housing",
            "feasibility.inpatient_not_accessible",
            "feasibility.iop_while_inpatient_unreachable",
            "feasibility.inpatient_conflicts_with_obligations",
        },
        cite=cite(
            SEED_001,
            "Individuals living in toxic home environments, such as those experiencing issues"
            " with a partner or domestic violence",
        ),
    ),
    # 1.0.0: inpatient ("neither condition IOP relies on"): a fit statement inverted.
    worked(
        "024-unstable-housing-no-support",
        case(substance_use_severity="moderate", home_environment="unstable", support_system="none"),
        level=IOP,
        rules={"environment.unstable", "support.none", "placement.environment_needs_iop"},
        ratings={"recovery_environment": 2},
        cite=cite(SEED_002, "Have a stable living environment and supportive social network."),
    ),
    # --- Relapse, treatment history and overdose.
    worked(
        "025-frequent-relapses-failed-outpatient",
        case(
            substance_use_severity="moderate",
            relapse_history="frequent",
            prior_outpatient_failed=True,
        ),
        level=IOP,
        rules={"relapse.frequent", "relapse.prior_outpatient_failed"},
        cite=cite(
            SEED_001,
            "Frequent relapses: If an individual cannot recover from substance abuse despite"
            " previous outpatient treatment attempts, an IOP can provide the additional support"
            " needed to prevent relapses.",
        ),
    ),
    # 1.0.0: IOP for any relapse. The seed is permissive, and relapse is common.
    worked(
        "026-one-occasional-relapse",
        case(relapse_history="occasional"),
        level=STANDARD,
        rules={"relapse.occasional", "placement.standard_outpatient"},
        ratings={"relapse_potential": 1},
        cite=cite(
            SEED_004, "Regrettably, 40–60% of addicts who are in recovery relapse at some time."
        ),
    ),
    worked(
        "027-failed-outpatient-only",
        case(prior_outpatient_failed=True),
        level=IOP,
        rules={"relapse.prior_outpatient_failed"},
        cite=cite(
            SEED_004,
            "For people who could benefit from more assistance than what is provided by more"
            " traditional outpatient therapy",
        ),
    ),
    worked(
        "028-opioid-relapse-after-lost-tolerance",
        case(relapse_history="occasional", opioid_use_with_lost_tolerance=True),
        level=IOP,
        flags={OVERDOSE, MEDICATION},
        rules={
            "relapse.opioid_lost_tolerance",
            "relapse.occasional",
            "medication.overdose_risk_without_medication",
        },
        cite=cite(SEED_004, "Overdosing might happen more frequently if you relapse."),
    ),
    worked(
        "028b-overdose-in-the-last-year",
        case(recent_overdose=True),
        level=IOP,
        flags={OVERDOSE, MEDICATION},
        rules={"relapse.recent_overdose"},
        cite=cite(
            SEED_000,
            "The threat of overdosing on drugs is a constant possibility, with patients"
            " potentially becoming injured or dying.",
        ),
    ),
    worked(
        "028e-buprenorphine-stable-iop",
        case(
            substance_use_severity="moderate",
            relapse_history="frequent",
            opioid_use_with_lost_tolerance=True,
            addiction_medication="receiving",
        ),
        level=IOP,
        flags={OVERDOSE},
        rules={"relapse.frequent", "relapse.opioid_lost_tolerance"},
        cite=cite(
            SEED_001,
            "IOPs generally involve a combination of group and individual therapy sessions,"
            " family therapy, Medically Assisted Treatment (MAT), and peer support.",
        ),
    ),
    worked(
        "028f-medication-indicated-not-received",
        case(addiction_medication="indicated_not_receiving"),
        level=STANDARD,
        flags={MEDICATION},
        rules={"medication.indicated_not_receiving", "placement.standard_outpatient"},
        cite=cite(
            SEED_001,
            "In cases where individuals require medication for managing their mental health or"
            " substance abuse disorder, an IOP may include services for medication management.",
        ),
    ),
    worked(
        "028c-chronic-history-after-iop",
        case(substance_use_severity="moderate", relapse_history="frequent", prior_iop_failed=True),
        level=INPATIENT,
        rules={"relapse.chronic_history", "placement.relapse_needs_24_hour_care"},
        cite=cite(
            SEED_000,
            "outpatient care may not be suitable for individuals who have a chronic history of"
            " drug abuse and who need a higher level of supervision.",
        ),
    ),
    worked(
        "028d-one-iop-that-did-not-hold",
        case(prior_iop_failed=True),
        level=IOP,
        rules={"relapse.prior_iop_failed"},
        cite=cite(
            SEED_004,
            "In the event of a relapse, which commonly indicates the need for new or changed"
            " treatment techniques",
        ),
    ),
    # --- Functioning.
    worked(
        "029-severe-impairment-severe-use",
        case(**SEVERE_USE, functional_impairment="severe"),
        level=INPATIENT,
        rules={"functioning.cannot_hold_life_together", "severity.severe_active_use"},
        cite=cite(
            SEED_003,
            "If they can barely hold onto their lives; missing work, assignments, stealing,"
            " lying, cheating, have deteriorating health and in general decrepit, then"
            " inpatient treatment is necessary.",
        ),
    ),
    worked(
        "030-severe-impairment-severe-use-after-residential",
        case(**AFTER_RESIDENTIAL, functional_impairment="severe"),
        level=INPATIENT,
        rules={"functioning.cannot_hold_life_together"},
        cite=cite(SEED_003, "If they can barely hold onto their lives"),
    ),
    # 1.0.0: IOP (the rule needed severe use). The seed has no severity condition.
    worked(
        "031-severe-impairment-moderate-use",
        case(substance_use_severity="moderate", functional_impairment="severe"),
        level=INPATIENT,
        rules={"functioning.cannot_hold_life_together"},
        ratings={"emotional_behavioral_cognitive": 3},
        cite=cite(
            SEED_003,
            "If they can barely hold onto their lives; missing work, assignments, stealing,"
            " lying, cheating, have deteriorating health and in general decrepit, then"
            " inpatient treatment is necessary.",
        ),
    ),
    worked(
        "031b-severe-impairment-mild-use",
        case(functional_impairment="severe"),
        level=IOP,
        rules={"functioning.severe_with_mild_use"},
        cite=cite(
            SEED_001,
            "When an individual’s mental health symptoms significantly impair their daily"
            " functioning, an IOP can offer comprehensive treatment and support to help them"
            " regain stability.",
        ),
    ),
    # --- Co-occurring mental health.
    worked(
        "032-significant-co-occurring",
        case(substance_use_severity="moderate", co_occurring_mental_health="significant"),
        level=INPATIENT,
        flags={ENHANCED},
        rules={"co_occurring.significant"},
        cite=cite(
            SEED_003,
            "Those addicts with more severe addictions or co-occurring disorders are more"
            " likely to be advised to enter an inpatient treatment program.",
        ),
    ),
    # 1.0.0: still inpatient after residential treatment.
    worked(
        "032b-significant-co-occurring-after-residential",
        case(co_occurring_mental_health="significant", completed_residential=True),
        level=IOP,
        flags={ENHANCED},
        rules={"co_occurring.significant_after_residential"},
        cite=cite(
            SEED_001,
            "must pursue residential treatment before enrolling in an intensive outpatient"
            " program.",
        ),
    ),
    worked(
        "032c-active-co-occurring-enhanced-iop",
        case(substance_use_severity="moderate", co_occurring_mental_health="active"),
        level=IOP,
        flags={ENHANCED},
        rules={"co_occurring.active", "placement.emotional_needs_iop"},
        ratings={"emotional_behavioral_cognitive": 2},
        cite=cite(
            SEED_003,
            "IOP drug rehab is designed for those with addiction, substance use, and abuse"
            " disorders, as well as co-occurring disorders.",
        ),
    ),
    # 1.0.0: IOP. IOP can serve co-occurring conditions; that does not make outpatient
    # care insufficient for a stable one.
    worked(
        "033-stable-co-occurring-on-medication",
        case(co_occurring_mental_health="stable"),
        level=STANDARD,
        rules={"co_occurring.stable", "placement.standard_outpatient"},
        ratings={"emotional_behavioral_cognitive": 1},
        cite=cite(
            SEED_003,
            "IOP drug rehab is designed for those with addiction, substance use, and abuse"
            " disorders, as well as co-occurring disorders.",
        ),
    ),
    # --- Support and motivation: fit conditions, not floors.
    # 1.0.0: inpatient.
    worked(
        "034-no-support-low-motivation",
        case(home_environment="stable", support_system="none", motivation="low"),
        level=STANDARD,
        rules={"support.none", "readiness.low_motivation", "placement.standard_outpatient"},
        ratings={"readiness_to_change": 2, "recovery_environment": 1},
        cite=cite(
            SEED_004, "It is essential to participate in self-help groups both before and after"
        ),
    ),
    # 1.0.0: IOP.
    worked(
        "035-low-motivation-strong-support",
        case(motivation="low"),
        level=STANDARD,
        rules={"readiness.low_motivation"},
        cite=cite(
            SEED_002, "Motivational Interviewing (MI): Encourages self-motivation and commitment"
        ),
    ),
    # --- Risks accumulate.
    # 2.0.0: inpatient (three dimensions at 2+ meant residential care).
    worked(
        "039-three-moderate-dimensions",
        case(
            substance_use_severity="moderate",
            suicide_risk="ideation",
            relapse_history="frequent",
            home_environment="unstable",
        ),
        level=IOP,
        flags={HIGH_INTENSITY},
        rules={"placement.high_intensity_outpatient", "placement.environment_needs_iop"},
        ratings={
            "emotional_behavioral_cognitive": 2,
            "relapse_potential": 2,
            "recovery_environment": 2,
        },
        cite=cite(
            SEED_001,
            "Participants attend individual and group treatment for approximately two to three"
            " hours daily, typically three to five days each week.",
        ),
    ),
    worked(
        "039b-three-moderate-dimensions-no-support",
        case(
            substance_use_severity="moderate",
            suicide_risk="ideation",
            relapse_history="frequent",
            home_environment="unstable",
            support_system="none",
        ),
        level=INPATIENT,
        rules={"placement.risks_interact_without_support"},
        cite=cite(
            SEED_002,
            "Managing triggers and high-risk situations without round-the-clock support.",
        ),
    ),
    worked(
        "039c-four-moderate-dimensions",
        case(
            substance_use_severity="moderate",
            suicide_risk="ideation",
            relapse_history="frequent",
            home_environment="unstable",
            detox_status="needed",
            withdrawal_severity="moderate",
            recovery_residence="arranged",
        ),
        level=INPATIENT,
        flags={WITHDRAWAL},
        rules={"placement.many_risks_interact"},
        cite=cite(
            SEED_000,
            "It’s important to recognize that outpatient care may not be suitable for"
            " individuals who have a chronic history of drug abuse and who need a higher level"
            " of supervision.",
        ),
    ),
    # 2.0.0: inpatient (low motivation counted as the third risk).
    worked(
        "039d-two-moderate-risks-and-low-motivation",
        case(
            substance_use_severity="moderate",
            suicide_risk="ideation",
            relapse_history="frequent",
            motivation="low",
        ),
        level=IOP,
        rules={"placement.emotional_needs_iop", "placement.relapse_needs_iop"},
        ratings={"readiness_to_change": 2},
        cite=cite(
            SEED_002, "Motivational Interviewing (MI): Encourages self-motivation and commitment"
        ),
    ),
    worked(
        "040-two-moderate-dimensions",
        case(
            substance_use_severity="moderate", suicide_risk="ideation", relapse_history="frequent"
        ),
        level=IOP,
        rules={"placement.emotional_needs_iop", "placement.relapse_needs_iop"},
        cite=cite(
            SEED_001,
            "Individuals needing more intensive support than traditional outpatient treatment"
            " but not requiring round-the-clock supervision should consider IOP treatment.",
        ),
    ),
    # --- Feasibility: hours and obligations shape flags, never the level.
    worked(
        "036-iop-too-few-hours-flagged-not-lowered",
        case(relapse_history="frequent", available_hours_per_week=6, obligations=["work"]),
        level=IOP,
        flags={SCHEDULE},
        rules={"relapse.frequent", "feasibility.too_few_hours_for_iop"},
        cite=cite(
            SEED_003,
            "The services that are offered in these programs are similar but limited as a"
            " result of the patient only committing to 9 to 20 hours per week.",
        ),
    ),
    worked(
        "037-iop-nine-hours-is-enough",
        case(relapse_history="frequent", available_hours_per_week=9),
        level=IOP,
        rules={"relapse.frequent"},
        cite=cite(
            SEED_004,
            "Some intensive outpatient programs provide at least nine hours of therapy per week"
            " over a period of three to five days",
        ),
    ),
    # 1.0.0: IOP (contested; program policy in severity.moderate_use).
    worked(
        "038-moderate-use-working-parent",
        case(substance_use_severity="moderate", obligations=["work", "childcare"]),
        level=STANDARD,
        rules={"severity.moderate_use", "placement.standard_outpatient"},
        cite=cite(
            SEED_001,
            "Are you struggling with mild to moderate substance use or other mental disorders",
        ),
    ),
]

PARAMS = [pytest.param(worked_case, id=worked_case.case_id) for worked_case in WORKED_CASES]


@pytest.mark.parametrize("worked_case", PARAMS)
def test_worked_case(worked_case: WorkedCase) -> None:
    rec = iop_placement.recommend(worked_case.assessment)

    assert rec.level is worked_case.level, worked_case.cite
    assert set(rec.flags) == worked_case.flags, worked_case.cite
    alternative = rec.alternative.level if rec.alternative is not None else None
    assert alternative is worked_case.alternative, worked_case.cite
    fired = {reason.rule_id for reason in rec.reasons}
    assert worked_case.rules <= fired, worked_case.cite
    rated = {d.dimension.value: d.rating for d in rec.dimensions}
    for dimension, rating in worked_case.ratings.items():
        assert rated[dimension] == rating, (dimension, worked_case.cite)


@pytest.mark.parametrize("worked_case", PARAMS)
def test_feasibility_never_changes_the_level(worked_case: WorkedCase) -> None:
    # No free hours, every obligation, inpatient care out of reach: same clinical level.
    hardest = {
        **worked_case.assessment,
        "available_hours_per_week": 0,
        "obligations": ["work", "school", "childcare", "caregiving"],
        "inpatient_accessible": False,
    }
    assert iop_placement.recommend(hardest).level is worked_case.level


def test_table_covers_every_level_and_flag() -> None:
    assert {worked_case.level for worked_case in WORKED_CASES} == set(LevelOfCare)
    raised = set().union(*(worked_case.flags for worked_case in WORKED_CASES))
    # incomplete_safety_screen is raised only on provisional results (tests/test_provisional.py).
    assert raised == set(Flag) - {Flag.INCOMPLETE_SAFETY_SCREEN}


def test_table_covers_alternative_offered_and_withheld() -> None:
    offered = [c for c in WORKED_CASES if c.alternative is not None]
    # Inpatient out of reach, but crisis, withdrawal or medical instability: no alternative.
    withheld = [
        c
        for c in WORKED_CASES
        if c.assessment["inpatient_accessible"] is False
        and c.alternative is None
        and c.flags & {CRISIS, WITHDRAWAL, MEDICAL}
    ]
    assert offered
    assert {CRISIS, WITHDRAWAL, MEDICAL} <= set().union(*(c.flags for c in withheld))


def test_table_is_well_formed() -> None:
    ids = [worked_case.case_id for worked_case in WORKED_CASES]
    assert len(ids) == len(set(ids))
    assert len(WORKED_CASES) >= 26
    for worked_case in WORKED_CASES:
        seed, _, quote = worked_case.cite.partition(": ")
        assert seed in SEEDS, worked_case.case_id
        assert len(quote) > 2, worked_case.case_id
        assert quote.startswith('"'), worked_case.case_id
        assert quote.endswith('"'), worked_case.case_id
        iop_placement.Assessment.model_validate(worked_case.assessment)
