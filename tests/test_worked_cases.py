"""Worked clinical cases, each following a passage of the seed documents.

Every row is one realistic assessment: the low-risk baseline below with only the answers
that differ. A row states the level a clinician reading the seed documents would expect,
the exact set of flags, the alternative (or None), rules that must appear among the
reasons, and ``cite``: the seed file and a short verbatim quote of the sentence the case
follows. Expected values come from the seeds and the rules' clinical reading, not from
the engine's output.

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
    unknown = set(changes) - set(BASELINE)
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


def worked(
    case_id: str,
    assessment: dict[str, Any],
    *,
    level: LevelOfCare,
    cite: str,
    flags: Iterable[Flag] = (),
    alternative: LevelOfCare | None = None,
    rules: Iterable[str] = (),
) -> WorkedCase:
    return WorkedCase(
        case_id, assessment, level, frozenset(flags), alternative, frozenset(rules), cite
    )


WORKED_CASES: list[WorkedCase] = [
    # --- Standard outpatient: mild use, withdrawal behind, a solid plan, a supportive home.
    worked(
        "001-low-risk-mild-use",
        case(),
        level=STANDARD,
        rules={"step_down.ready_for_standard_outpatient"},
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
        rules={"step_down.ready_for_standard_outpatient"},
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
        rules={"step_down.ready_for_standard_outpatient"},
        cite=cite(SEED_004, "One or two therapy sessions per week"),
    ),
    # --- Withdrawal: detox first, IOP as the follow-up.
    worked(
        "004-completed-detox-no-recovery-plan",
        case(detox_status="completed", recovery_plan_established=False),
        level=IOP,
        rules={"withdrawal.completed_without_recovery_plan", "step_down.no_recovery_plan"},
        cite=cite(
            SEED_003,
            "IOP’s are great follow up programs for those who complete a detox program.",
        ),
    ),
    worked(
        "005-no-recovery-plan-yet",
        case(recovery_plan_established=False),
        level=IOP,
        rules={"step_down.no_recovery_plan"},
        cite=cite(SEED_001, "have established a solid recovery plan."),
    ),
    worked(
        "006-detox-needed",
        case(substance_use_severity="moderate", detox_status="needed"),
        level=INPATIENT,
        flags={WITHDRAWAL},
        rules={"withdrawal.detox_needed_or_in_progress"},
        cite=cite(SEED_003, "Intensive outpatient programs do not include detox"),
    ),
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
        rules={"withdrawal.detox_needed_or_in_progress", "feasibility.inpatient_not_accessible"},
        cite=cite(SEED_002, "Do not require medical detoxification or 24-hour supervision."),
    ),
    worked(
        "008-detox-needed-with-work-no-alternative",
        case(substance_use_severity="moderate", detox_status="needed", obligations=["work"]),
        level=INPATIENT,
        flags={WITHDRAWAL, OBLIGATIONS},
        alternative=None,
        rules={
            "withdrawal.detox_needed_or_in_progress",
            "feasibility.inpatient_conflicts_with_obligations",
        },
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
        flags={WITHDRAWAL, OVERDOSE},
        rules={"withdrawal.detox_needed_or_in_progress", "relapse.opioid_lost_tolerance"},
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
        rules={"safety.imminent_suicide_risk"},
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
        flags={CRISIS, NO_ACCESS, OBLIGATIONS},
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
        rules={"safety.suicidal_ideation"},
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
        rules={"safety.medically_unstable"},
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
        flags={MEDICAL, NO_ACCESS, OBLIGATIONS},
        alternative=None,
        rules={"safety.medically_unstable"},
        cite=cite(SEED_002, "Do not require medical detoxification or 24-hour supervision."),
    ),
    # --- Severity: residential first for severe use; IOP can be weighed when out of reach.
    worked(
        "015-severe-use-no-residential-yet",
        case(**SEVERE_USE),
        level=INPATIENT,
        rules={"severity.severe_before_residential"},
        cite=cite(
            SEED_001,
            "Those with severe addiction problems or significant co-occurring mental health"
            " conditions must pursue residential treatment before enrolling in an intensive"
            " outpatient program.",
        ),
    ),
    worked(
        "016-severe-use-inpatient-not-accessible-iop-alternative",
        case(**SEVERE_USE, inpatient_accessible=False),
        level=INPATIENT,
        flags={NO_ACCESS},
        alternative=IOP,
        rules={"severity.severe_before_residential", "feasibility.inpatient_not_accessible"},
        cite=cite(
            SEED_001,
            "If residential or inpatient treatment is not feasible due to financial"
            " constraints, work or family obligations, or personal preferences, an IOP can be"
            " a viable alternative",
        ),
    ),
    worked(
        "017-severe-use-work-and-childcare-iop-alternative",
        case(**SEVERE_USE, obligations=["work", "childcare"]),
        level=INPATIENT,
        flags={OBLIGATIONS},
        alternative=IOP,
        rules={
            "severity.severe_before_residential",
            "feasibility.inpatient_conflicts_with_obligations",
        },
        cite=cite(
            SEED_000,
            "For some individuals, it may not be feasible or appropriate to take time off from"
            " work or to leave school during the middle of a semester.",
        ),
    ),
    # --- Step-down after completed residential treatment.
    worked(
        "018-step-down-after-residential-with-support",
        case(**AFTER_RESIDENTIAL),
        level=IOP,
        rules={"step_down.after_residential_with_support"},
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
        rules={"step_down.after_residential_with_support"},
        cite=cite(
            SEED_002,
            "These programs are particularly beneficial for those transitioning from inpatient"
            " care",
        ),
    ),
    worked(
        "020-after-residential-no-support",
        case(**AFTER_RESIDENTIAL, support_system="none", home_environment="stable"),
        level=INPATIENT,
        rules={"step_down.after_residential_without_support"},
        cite=cite(
            SEED_001, "Are surrounded by loved ones actively engaged in their recovery journey"
        ),
    ),
    # --- Home environment.
    worked(
        "021-toxic-home",
        case(substance_use_severity="moderate", home_environment="toxic"),
        level=INPATIENT,
        rules={"environment.toxic_or_homeless"},
        cite=cite(
            SEED_001,
            "While an IOP offers comprehensive therapy, it does not protect a toxic and"
            " stressful environment that may increase the risk of relapse.",
        ),
    ),
    worked(
        "022-homeless",
        case(
            substance_use_severity="moderate",
            home_environment="homeless",
            support_system="limited",
        ),
        level=INPATIENT,
        rules={"environment.toxic_or_homeless"},
        cite=cite(SEED_002, "Have a stable living environment and supportive social network."),
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
        flags={NO_ACCESS, OBLIGATIONS},
        alternative=IOP,
        rules={
            "environment.toxic_or_homeless",
            "feasibility.inpatient_not_accessible",
            "feasibility.inpatient_conflicts_with_obligations",
        },
        cite=cite(
            SEED_001,
            "Individuals living in toxic home environments, such as those experiencing issues"
            " with a partner or domestic violence",
        ),
    ),
    worked(
        "024-unstable-housing-no-support",
        case(substance_use_severity="moderate", home_environment="unstable", support_system="none"),
        level=INPATIENT,
        rules={"environment.unstable_without_support"},
        cite=cite(SEED_002, "Have a stable living environment and supportive social network."),
    ),
    # --- Relapse and failed outpatient treatment.
    worked(
        "025-frequent-relapses-failed-outpatient",
        case(
            substance_use_severity="moderate",
            relapse_history="frequent",
            prior_outpatient_failed=True,
        ),
        level=IOP,
        rules={"relapse.any_relapse", "relapse.prior_outpatient_failed"},
        cite=cite(
            SEED_001,
            "Frequent relapses: If an individual cannot recover from substance abuse despite"
            " previous outpatient treatment attempts, an IOP can provide the additional support"
            " needed to prevent relapses.",
        ),
    ),
    worked(
        "026-relapse-first-line-of-defence",
        case(relapse_history="occasional"),
        level=IOP,
        rules={"relapse.any_relapse"},
        cite=cite(
            SEED_004,
            "In the event of a relapse, which commonly indicates the need for new or changed"
            " treatment techniques, this sort of program can also be employed as the first line"
            " of defense.",
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
        flags={OVERDOSE},
        rules={"relapse.opioid_lost_tolerance", "relapse.any_relapse"},
        cite=cite(SEED_004, "Overdosing might happen more frequently if you relapse."),
    ),
    # --- Functioning.
    worked(
        "029-severe-impairment-severe-use",
        case(**SEVERE_USE, functional_impairment="severe"),
        level=INPATIENT,
        rules={"functioning.cannot_hold_life_together", "severity.severe_before_residential"},
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
    worked(
        "031-severe-impairment-moderate-use",
        case(substance_use_severity="moderate", functional_impairment="severe"),
        level=IOP,
        rules={"functioning.impaired"},
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
        rules={"co_occurring.significant"},
        cite=cite(
            SEED_003,
            "Those addicts with more severe addictions or co-occurring disorders are more"
            " likely to be advised to enter an inpatient treatment program.",
        ),
    ),
    worked(
        "033-stable-co-occurring-on-medication",
        case(co_occurring_mental_health="stable"),
        level=IOP,
        rules={"co_occurring.stable"},
        cite=cite(
            SEED_001,
            "In cases where individuals require medication for managing their mental health or"
            " substance abuse disorder, an IOP may include services for medication management.",
        ),
    ),
    # --- Support and motivation.
    worked(
        "034-no-support-low-motivation",
        case(home_environment="stable", support_system="none", motivation="low"),
        level=INPATIENT,
        rules={"support.no_support_and_low_motivation"},
        cite=cite(
            SEED_001,
            "This option is particularly suitable for individuals who possess self-motivation"
            " to recover, have a strong support system",
        ),
    ),
    worked(
        "035-low-motivation-strong-support",
        case(motivation="low"),
        level=IOP,
        rules={"support.no_support_or_low_motivation"},
        cite=cite(
            SEED_002, "Motivational Interviewing (MI): Encourages self-motivation and commitment"
        ),
    ),
    # --- Feasibility: hours and obligations shape flags, never the level.
    worked(
        "036-iop-too-few-hours-flagged-not-lowered",
        case(substance_use_severity="moderate", available_hours_per_week=6, obligations=["work"]),
        level=IOP,
        flags={SCHEDULE},
        rules={"severity.moderate_or_severe", "feasibility.too_few_hours_for_iop"},
        cite=cite(
            SEED_003,
            "The services that are offered in these programs are similar but limited as a"
            " result of the patient only committing to 9 to 20 hours per week.",
        ),
    ),
    worked(
        "037-iop-nine-hours-is-enough",
        case(substance_use_severity="moderate", available_hours_per_week=9),
        level=IOP,
        rules={"severity.moderate_or_severe"},
        cite=cite(
            SEED_004,
            "Some intensive outpatient programs provide at least nine hours of therapy per week"
            " over a period of three to five days",
        ),
    ),
    worked(
        "038-moderate-use-working-parent-iop",
        case(substance_use_severity="moderate", obligations=["work", "childcare"]),
        level=IOP,
        rules={"severity.moderate_or_severe"},
        cite=cite(
            SEED_001,
            "Require intensive treatment but also a flexible schedule for work or childcare"
            " responsibilities",
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
    assert raised == set(Flag)


def test_table_covers_alternative_offered_and_withheld() -> None:
    offered = [c for c in WORKED_CASES if c.alternative is not None]
    # Inpatient out of reach, but crisis, withdrawal or medical instability: no alternative.
    withheld = [
        c
        for c in WORKED_CASES
        if NO_ACCESS in c.flags
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
