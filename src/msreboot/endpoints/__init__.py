"""Outcomes computed from a cohort with named, published definitions.

Disability events (confirmed worsening / improvement, RAW, PIRA) under published rule
sets, EDSS milestones, transplant-related mortality, and the survival statistics
(Kaplan-Meier, log-rank, Cox, Aalen-Johansen cumulative incidence, RMST) checked against R.
Annualised relapse rates and negative-binomial rate ratios, MRI activity, NEDA over a
window, composite time-to-event endpoints as declarative definitions with the published
trial presets (HALT-MS, Atkins 2016, Muraro 2017, MIST, Burt 2015, NEDA-3) and their
landmark estimates, and the transplant outcomes (engraftment, hospital days, adverse
events, overall survival).
"""

from msreboot.endpoints._comparison import EndpointComparison, compare_endpoint
from msreboot.endpoints._competing import (
    CumulativeIncidence,
    CumulativeIncidenceCurves,
    cumulative_incidence,
)
from msreboot.endpoints._composite import EndpointTimes, endpoint_times
from msreboot.endpoints._covariates import baseline_covariates, endpoint_cox
from msreboot.endpoints._cox import CoxModel, cox_regression
from msreboot.endpoints._definitions import (
    DisabilityComponent,
    EndpointDefinition,
    MRIComponent,
    RelapseComponent,
    load_endpoint_definitions,
)
from msreboot.endpoints._disability import DisabilityEvents, detect_disability_events
from msreboot.endpoints._disability_rules import (
    BaselineRule,
    ConfirmationRule,
    DisabilityDefinition,
    EventMode,
    PIRARule,
    RelapseBuffer,
    ThresholdRule,
)
from msreboot.endpoints._estimates import (
    EndpointEstimate,
    EndpointResults,
    estimate_endpoint,
    estimate_endpoints,
)
from msreboot.endpoints._logrank import LogRankTest, log_rank_test
from msreboot.endpoints._milestone import MilestoneResult, time_to_milestone
from msreboot.endpoints._mri import MRIActivity, mri_activity
from msreboot.endpoints._neda import NEDAStatus, neda_status
from msreboot.endpoints._rate_ratio import (
    RateRatio,
    negative_binomial_rate_ratio,
    relapse_rate_ratio,
)
from msreboot.endpoints._relapses import RelapseRates, exact_poisson_ci, relapse_rates
from msreboot.endpoints._rmst import RestrictedMean, restricted_mean_survival_time
from msreboot.endpoints._survival import (
    LandmarkEstimates,
    MedianSurvival,
    SurvivalCurve,
    SurvivalCurves,
    kaplan_meier,
)
from msreboot.endpoints._transplant import (
    TransplantMortality,
    exact_binomial_ci,
    transplant_mortality,
)
from msreboot.endpoints._transplant_outcomes import (
    DaysSummary,
    TransplantOutcomes,
    transplant_outcomes,
)

__all__ = [
    "BaselineRule",
    "ConfirmationRule",
    "CoxModel",
    "CumulativeIncidence",
    "CumulativeIncidenceCurves",
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
    "LandmarkEstimates",
    "LogRankTest",
    "MRIActivity",
    "MRIComponent",
    "MedianSurvival",
    "MilestoneResult",
    "NEDAStatus",
    "PIRARule",
    "RateRatio",
    "RelapseBuffer",
    "RelapseComponent",
    "RelapseRates",
    "RestrictedMean",
    "SurvivalCurve",
    "SurvivalCurves",
    "ThresholdRule",
    "TransplantMortality",
    "TransplantOutcomes",
    "baseline_covariates",
    "compare_endpoint",
    "cox_regression",
    "cumulative_incidence",
    "detect_disability_events",
    "endpoint_cox",
    "endpoint_times",
    "estimate_endpoint",
    "estimate_endpoints",
    "exact_binomial_ci",
    "exact_poisson_ci",
    "kaplan_meier",
    "load_endpoint_definitions",
    "log_rank_test",
    "mri_activity",
    "neda_status",
    "negative_binomial_rate_ratio",
    "relapse_rate_ratio",
    "relapse_rates",
    "restricted_mean_survival_time",
    "time_to_milestone",
    "transplant_mortality",
    "transplant_outcomes",
]
