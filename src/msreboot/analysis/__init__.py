"""A cohort analysed once, for every front end.

:func:`analyse_cohort` computes everything the report, the CLI and the dashboard show about
a cohort (:class:`CohortAnalysis`): the description by treatment group with Table 1, the
endpoint estimates, the disease course around treatment (EDSS trajectories, relapses, MRI),
the transplant outcomes and the cohort beside the published evidence, with a virtual trial
beside it when one is given. The front ends only render these results.

:func:`emulate_trial` emulates a target trial of AHSCT against a DMT in observational data
(:class:`EmulationSpec`, read from TOML by :func:`load_emulation_spec`): eligibility and
covariates at time zero, propensity-score matching or weighting, balance, and every endpoint
compared crude and adjusted (:class:`EmulatedTrial`).
"""

from msreboot.analysis._analysis import (
    DEFAULT_EMULATION,
    DEFAULT_ENDPOINTS,
    MAX_AXIS_YEARS,
    CohortAnalysis,
    analyse_cohort,
    time_axis_years,
)
from msreboot.analysis._course import (
    BIN_YEARS,
    MIN_PATIENTS_PER_BIN,
    DiseaseCourse,
    EDSSTrajectories,
    disease_course,
    edss_trajectories,
)
from msreboot.analysis._description import (
    GROUP_ORDER,
    TABLE_ONE_ROWS,
    CohortDescription,
    describe_groups,
    index_dates,
    last_contact,
    treatment_groups,
)
from msreboot.analysis._emulation import EmulatedTrial, EmulationWarning, emulate_trial
from msreboot.analysis._emulation_cohort import TrialPopulation, trial_population
from msreboot.analysis._emulation_effects import EValue, RelapseRateComparison, e_value
from msreboot.analysis._emulation_outcomes import EndpointContrast
from msreboot.analysis._emulation_proportions import ProportionComparison
from msreboot.analysis._emulation_spec import (
    DMT_CLASSES,
    EMULATION_COVARIATES,
    AdjustmentSpec,
    EligibilitySpec,
    EmulationSpec,
    FollowUpSpec,
    OutcomeSpec,
    StrategySpec,
    load_emulation_spec,
)
from msreboot.analysis._evidence import (
    EvidenceBeside,
    PublishedLandmark,
    evidence_citations,
    published_landmarks,
    set_beside_evidence,
)
from msreboot.analysis._explorer import EXPLORER_GROUPS, PATIENT_TABLES, CohortExplorer
from msreboot.analysis._measures import MEASURE_MONTHS, MeasuresAfterAHSCT, measures_after_ahsct
from msreboot.analysis._patient_options import TreatmentOption, treatment_options
from msreboot.analysis._patient_profile import PatientProfile
from msreboot.analysis._patient_projection import (
    PROJECTION_DISCLAIMER,
    PatientProjection,
    project_patient,
)
from msreboot.analysis._patient_trm import TRMPrediction, predict_trm, trm_studies
from msreboot.analysis._reconstitution import (
    RECONSTITUTION_ANALYTES,
    RECONSTITUTION_MONTHS,
    ImmuneReconstitution,
    immune_reconstitution,
)
from msreboot.analysis._records import (
    COURSE_FIELDS,
    PATIENT_FIELDS,
    RELAPSE_FIELDS,
    RecordedCharacteristics,
    recorded_characteristics,
)

__all__ = [
    "BIN_YEARS",
    "COURSE_FIELDS",
    "DEFAULT_EMULATION",
    "DEFAULT_ENDPOINTS",
    "DMT_CLASSES",
    "EMULATION_COVARIATES",
    "EXPLORER_GROUPS",
    "GROUP_ORDER",
    "MAX_AXIS_YEARS",
    "MEASURE_MONTHS",
    "MIN_PATIENTS_PER_BIN",
    "PATIENT_FIELDS",
    "PATIENT_TABLES",
    "PROJECTION_DISCLAIMER",
    "RECONSTITUTION_ANALYTES",
    "RECONSTITUTION_MONTHS",
    "RELAPSE_FIELDS",
    "TABLE_ONE_ROWS",
    "AdjustmentSpec",
    "CohortAnalysis",
    "CohortDescription",
    "CohortExplorer",
    "DiseaseCourse",
    "EDSSTrajectories",
    "EValue",
    "EligibilitySpec",
    "EmulatedTrial",
    "EmulationSpec",
    "EmulationWarning",
    "EndpointContrast",
    "EvidenceBeside",
    "FollowUpSpec",
    "ImmuneReconstitution",
    "MeasuresAfterAHSCT",
    "OutcomeSpec",
    "PatientProfile",
    "PatientProjection",
    "ProportionComparison",
    "PublishedLandmark",
    "RecordedCharacteristics",
    "RelapseRateComparison",
    "StrategySpec",
    "TRMPrediction",
    "TreatmentOption",
    "TrialPopulation",
    "analyse_cohort",
    "describe_groups",
    "disease_course",
    "e_value",
    "edss_trajectories",
    "emulate_trial",
    "evidence_citations",
    "immune_reconstitution",
    "index_dates",
    "last_contact",
    "load_emulation_spec",
    "measures_after_ahsct",
    "predict_trm",
    "project_patient",
    "published_landmarks",
    "recorded_characteristics",
    "set_beside_evidence",
    "time_axis_years",
    "treatment_groups",
    "treatment_options",
    "trial_population",
    "trm_studies",
]
