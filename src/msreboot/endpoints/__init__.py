"""Outcomes computed from a cohort with named, published definitions.

Disability events (confirmed worsening / improvement, RAW, PIRA) under published rule
sets, EDSS milestones, transplant-related mortality, and the survival statistics
(Kaplan-Meier, log-rank, Cox, Aalen-Johansen cumulative incidence, RMST) checked against R.
Annualised relapse rates. MRI, NEDA and the trial composites join this package.
"""

from msreboot.endpoints._competing import (
    CumulativeIncidence,
    CumulativeIncidenceCurves,
    cumulative_incidence,
)
from msreboot.endpoints._cox import CoxModel, cox_regression
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
from msreboot.endpoints._logrank import LogRankTest, log_rank_test
from msreboot.endpoints._milestone import MilestoneResult, time_to_milestone
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

__all__ = [
    "BaselineRule",
    "ConfirmationRule",
    "CoxModel",
    "CumulativeIncidence",
    "CumulativeIncidenceCurves",
    "DisabilityDefinition",
    "DisabilityEvents",
    "EventMode",
    "LandmarkEstimates",
    "LogRankTest",
    "MedianSurvival",
    "MilestoneResult",
    "PIRARule",
    "RelapseBuffer",
    "RelapseRates",
    "RestrictedMean",
    "SurvivalCurve",
    "SurvivalCurves",
    "ThresholdRule",
    "TransplantMortality",
    "cox_regression",
    "cumulative_incidence",
    "detect_disability_events",
    "exact_binomial_ci",
    "exact_poisson_ci",
    "kaplan_meier",
    "log_rank_test",
    "relapse_rates",
    "restricted_mean_survival_time",
    "time_to_milestone",
    "transplant_mortality",
]
