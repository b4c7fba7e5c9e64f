"""The public names of the contract (shared DESIGN) and the exported members."""

from __future__ import annotations

import iop_placement
from iop_placement import Assessment, Flag, LevelOfCare

CONTRACT_FIELDS = {
    "substance_use_severity": {"mild", "moderate", "severe"},
    "detox_status": {"not_needed", "needed", "in_progress", "completed"},
    "co_occurring_mental_health": {"none", "stable", "active", "significant"},
    "home_environment": {"supportive", "stable", "unstable", "toxic", "homeless"},
    "support_system": {"strong", "limited", "none"},
    "suicide_risk": {"none", "ideation", "imminent"},
    "functional_impairment": {"none", "mild", "moderate", "severe"},
    "relapse_history": {"none", "occasional", "frequent"},
    "prior_outpatient_failed": bool,
    "motivation": {"high", "ambivalent", "low"},
    "medically_unstable": bool,
    "completed_residential": bool,
    "recovery_plan_established": bool,
    "opioid_use_with_lost_tolerance": bool,
    "available_hours_per_week": int,
    "obligations": {"work", "school", "childcare", "caregiving"},
    "inpatient_accessible": bool,
    # v2: optional, each with its absent meaning
    "withdrawal_severity": {"minimal", "moderate", "severe"},
    "recovery_residence": {"residing", "arranged", "none"},
    "prior_iop_failed": bool,
    "recent_overdose": bool,
    # v3: optional, each with its absent meaning
    "use_status": {"sustained_remission", "early_remission", "active"},
    "addiction_medication": {"receiving", "indicated_not_receiving", "not_indicated"},
    "complicated_withdrawal_history": bool,
}


def test_all_is_complete_without_duplicates() -> None:
    names = iop_placement.__all__
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(iop_placement, name), name
    for name in (
        "Assessment",
        "Recommendation",
        "LevelOfCare",
        "recommend",
        "PlacementEngine",
        "DEFAULT_RULES",
        "InvalidAssessment",
        "Flag",
        "RuleSetError",
    ):
        assert name in names


def test_exported_classes_belong_to_the_package() -> None:
    for name in iop_placement.__all__:
        obj = getattr(iop_placement, name)
        if isinstance(obj, type):
            assert obj.__module__ == "iop_placement", name


def test_levels_are_the_contract_levels_in_order() -> None:
    assert [level.value for level in LevelOfCare] == [
        "standard_outpatient",
        "intensive_outpatient",
        "inpatient",
    ]
    assert [level.rank for level in LevelOfCare] == [0, 1, 2]


def test_contract_flags_exist() -> None:
    assert {"crisis", "withdrawal_management", "overdose_risk"} <= {flag.value for flag in Flag}


def test_fields_and_values_are_the_contract() -> None:
    assert list(Assessment.model_fields) == list(CONTRACT_FIELDS)
    specs = iop_placement._model.fields.field_specs()
    for name, expected in CONTRACT_FIELDS.items():
        spec = specs[name]
        if isinstance(expected, set):
            assert set(spec.values) == expected, name
        else:
            assert spec.kind == ("boolean" if expected is bool else "integer"), name


def test_every_field_and_value_is_labelled_for_forms() -> None:
    for name, info in Assessment.model_fields.items():
        assert info.title, name
        assert info.description, name
        spec = iop_placement._model.fields.field_specs()[name]
        if spec.enum is not None:
            for member in spec.enum:
                assert member.label, (name, member)
                assert member.description, (name, member)
    for enum in (LevelOfCare, Flag):
        for member in enum:
            assert member.label, member
            assert member.description, member
    for level in LevelOfCare:
        assert level.intensity


def test_importing_the_package_loads_no_optional_or_heavy_module() -> None:
    import subprocess
    import sys

    heavy = [
        "hypothesis",
        "durable.lang",
        "numpy",
        "starlette",
        "fhir",
        "dask",
        "rich",
        "iop_placement.audit",
        "iop_placement.cds_hooks",
        "iop_placement.fhir",
        "iop_placement.service",
        "jwt",
        "psycopg",
        "iop_placement.verification",
    ]
    code = f"import sys, iop_placement; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_lazy_submodules_load_on_use() -> None:
    assert iop_placement.cds_hooks.to_cds_card is not None
    assert iop_placement.fhir.to_questionnaire is not None
    assert iop_placement.audit.verify is not None
