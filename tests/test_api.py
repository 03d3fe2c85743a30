"""The public API is pinned: growing or shrinking it is a deliberate change to this file."""

from __future__ import annotations

import importlib

import pytest

#: The packages whose names are pinned here; msreboot.data below, msreboot.evidence in
#: tests/evidence/test_api.py (which also pins the order).
PUBLIC = {
    "msreboot": [
        "__version__",
    ],
    "msreboot.exceptions": [
        "DataValidationError",
        "MissingDependencyError",
        "MsrebootError",
        "PROBLEM_COLUMNS",
        "Problem",
        "Severity",
        "SpecFileError",
        "StoreError",
        "problems_to_frame",
    ],
    "msreboot.stats": [
        "ConfType",
        "CoxModel",
        "CumulativeIncidence",
        "CumulativeIncidenceCurves",
        "FloatArray",
        "LandmarkEstimates",
        "LogRankTest",
        "MedianSurvival",
        "RateRatio",
        "RestrictedMean",
        "SurvivalCurve",
        "SurvivalCurves",
        "Ties",
        "as_landmarks",
        "check_conf_level",
        "check_counts",
        "cox_regression",
        "cumulative_incidence",
        "exact_binomial_ci",
        "exact_poisson_ci",
        "kaplan_meier",
        "log_rank_test",
        "negative_binomial_rate_ratio",
        "restricted_mean_survival_time",
        "z_value",
    ],
    "msreboot.datasets": [
        "EXAMPLE_SEED",
        "example_path",
        "generate_example",
        "load_example",
        "write_example",
    ],
    "msreboot.protocols": [
        "AllOfRule",
        "AnyOfRule",
        "Assessment",
        "Citation",
        "Conditioning",
        "ConditioningIntensity",
        "ConditioningRegimen",
        "ConditioningShare",
        "CriteriaSet",
        "Criterion",
        "CriterionCheck",
        "DISCLAIMER",
        "DMT",
        "DMTDrug",
        "DMTShare",
        "EligibilityResult",
        "EqualsRule",
        "Graft",
        "InSetRule",
        "MSCRegimen",
        "MSCRoute",
        "MSCSource",
        "Mobilisation",
        "MobilisationRegimen",
        "PatientProfile",
        "Protocol",
        "ProtocolCatalogue",
        "RangeRule",
        "RelapsesInWindowRule",
        "Sourced",
        "check_eligibility",
        "criteria_set",
        "load_protocols",
    ],
    "msreboot.endpoints": [
        "BaselineKind",
        "BaselineRule",
        "ConfirmationRule",
        "DaysSummary",
        "DisabilityComponent",
        "DisabilityDefinition",
        "DisabilityEvents",
        "EndpointComparison",
        "EndpointDefinition",
        "EndpointEstimate",
        "EndpointResults",
        "EndpointTimes",
        "EventMode",
        "MRIActivity",
        "MRIComponent",
        "MilestoneResult",
        "NEDAStatus",
        "PIRARule",
        "RelapseBuffer",
        "RelapseComponent",
        "RelapseRates",
        "ThresholdRule",
        "TransplantMortality",
        "TransplantOutcomes",
        "anchor_days",
        "baseline_covariates",
        "compare_endpoint",
        "detect_disability_events",
        "endpoint_cox",
        "endpoint_times",
        "estimate_endpoint",
        "estimate_endpoints",
        "estimates_by_group",
        "load_endpoint_definitions",
        "mri_activity",
        "neda_status",
        "relapse_rate_ratio",
        "relapse_rates",
        "time_to_milestone",
        "transplant_mortality",
        "transplant_outcomes",
    ],
    "msreboot.simulate": [
        "AHSCTCourse",
        "ConditioningIntensity",
        "ConditioningRegimen",
        "DEFAULT_SET",
        "DMTCourse",
        "DMTDrug",
        "MSCCourse",
        "ParameterBasis",
        "Phenotype",
        "PopulationSpec",
        "SimulatedCohort",
        "SimulationParameters",
        "Treatment",
        "VisitSchedule",
        "simulate_cohort",
    ],
    "msreboot.trials": [
        "ArmSpec",
        "TrialResult",
        "TrialSpec",
        "load_trial_spec",
        "run_trial",
        "sample_size",
        "simulate_replicate",
        "time_zero",
    ],
    "msreboot.calibration": [
        "CalibrationResult",
        "CalibrationSettings",
        "CalibrationTarget",
        "LocalExecutor",
        "Prior",
        "SerialExecutor",
        "SparkExecutor",
        "calibrate",
        "load_priors",
        "load_targets",
        "make_executor",
        "resume_calibration",
        "write_calibration_report",
    ],
    "msreboot.analysis": [
        "BIN_YEARS",
        "CohortAnalysis",
        "CohortDescription",
        "DEFAULT_ENDPOINTS",
        "DiseaseCourse",
        "EDSSTrajectories",
        "EvidenceBeside",
        "GROUP_ORDER",
        "MAX_AXIS_YEARS",
        "MIN_PATIENTS_PER_BIN",
        "PublishedLandmark",
        "TABLE_ONE_ROWS",
        "analyse_cohort",
        "describe_groups",
        "disease_course",
        "edss_trajectories",
        "evidence_citations",
        "index_dates",
        "last_contact",
        "published_landmarks",
        "set_beside_evidence",
        "time_axis_years",
        "treatment_groups",
    ],
    "msreboot.report": [
        "Report",
        "ReportSection",
        "build_report",
    ],
    "msreboot.cli": [
        "app",
        "main",
    ],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names_are_pinned(module: str) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(PUBLIC[module])
    for name in mod.__all__:
        assert hasattr(mod, name), name


def test_data_api_is_pinned() -> None:
    import msreboot.data as data

    expected = [
        "AE_CATEGORIES",
        "DAYS_PER_YEAR",
        "DEATH_CAUSES",
        "MAX_CELL_CHARS",
        "MAX_DAY_OFFSET",
        "MAX_TOML_BYTES",
        "MAX_TOML_DEPTH",
        "SCHEMA",
        "TABLE_NAMES",
        "TABLE_SUFFIXES",
        "Cohort",
        "CohortSource",
        "CohortSummary",
        "ColumnSpec",
        "DeidentificationAudit",
        "Deidentified",
        "ImportResult",
        "PartialDates",
        "Problem",
        "SpecFileError",
        "TableSpec",
        "TimeUnit",
        "TreatmentKind",
        "ValidationReport",
        "atomic_write_bytes",
        "atomic_write_text",
        "birth_dates",
        "canonical_order",
        "check_deidentified",
        "cohort_checksum",
        "days_between",
        "deidentify",
        "describe_cohort",
        "describe_validation_errors",
        "import_cohort",
        "load_or_create_key",
        "load_vocabulary",
        "parse_toml",
        "read_cohort",
        "read_redcap",
        "read_store",
        "read_toml",
        "replace_directory",
        "schema_frame",
        "validate",
        "write_cohort",
        "write_frame",
        "write_mapping",
        "write_tables",
    ]
    assert sorted(data.__all__) == sorted(expected)


def test_exceptions_are_builtin_compatible() -> None:
    from msreboot.exceptions import (
        DataValidationError,
        MissingDependencyError,
        MsrebootError,
        StoreError,
    )

    assert issubclass(DataValidationError, ValueError)
    assert issubclass(StoreError, OSError)
    assert issubclass(MissingDependencyError, ImportError)
    for exc in (DataValidationError, StoreError, MissingDependencyError):
        assert issubclass(exc, MsrebootError)


def test_import_has_no_heavy_side_effects() -> None:
    import subprocess
    import sys

    code = (
        "import sys, msreboot, msreboot.data; "
        "print(any(m.startswith('matplotlib') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
