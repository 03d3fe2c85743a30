"""Outcomes computed from a cohort with named, published definitions.

Disability events (confirmed worsening / improvement, RAW, PIRA) under published rule
sets, EDSS milestones, transplant-related mortality (the generic statistics behind them,
Kaplan-Meier, log-rank, Cox, Aalen-Johansen, RMST and rate models, are :mod:`msreboot.stats`).
Annualised relapse rates and negative-binomial rate ratios, MRI activity, NEDA over a
window, composite time-to-event endpoints as declarative definitions with the published
trial presets (HALT-MS, Atkins 2016, Muraro 2017, MIST, Burt 2015, NEDA-3) and their
landmark estimates, and the transplant outcomes (engraftment, hospital days, adverse
events, overall survival).
"""

from msreboot.endpoints._comparison import EndpointComparison, compare_endpoint
from msreboot.endpoints._composite import EndpointTimes, anchor_days, endpoint_times
from msreboot.endpoints._covariates import baseline_covariates, endpoint_cox
from msreboot.endpoints._definitions import (
    DisabilityComponent,
    EndpointDefinition,
    MRIComponent,
    RelapseComponent,
    load_endpoint_definitions,
)
from msreboot.endpoints._disability import DisabilityEvents, detect_disability_events
from msreboot.endpoints._disability_rules import (
    BaselineKind,
    BaselineRule,
    ConfirmationRule,
    DisabilityDefinition,
    EventMode,
    MergeRule,
    PIRARule,
    RelapseBuffer,
    ThresholdRule,
)
from msreboot.endpoints._estimates import (
    EndpointEstimate,
    EndpointResults,
    estimate_endpoint,
    estimate_endpoints,
    estimates_by_group,
)
from msreboot.endpoints._milestone import MilestoneResult, time_to_milestone
from msreboot.endpoints._mri import MRIActivity, mri_activity
from msreboot.endpoints._neda import NEDAStatus, neda_status
from msreboot.endpoints._rate_ratio import relapse_rate_ratio
from msreboot.endpoints._relapses import RelapseRates, relapse_rates
from msreboot.endpoints._transplant import TransplantMortality, last_contact, transplant_mortality
from msreboot.endpoints._transplant_outcomes import (
    DaysSummary,
    TransplantOutcomes,
    transplant_outcomes,
)

__all__ = [
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
    "MergeRule",
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
    "last_contact",
    "load_endpoint_definitions",
    "mri_activity",
    "neda_status",
    "relapse_rate_ratio",
    "relapse_rates",
    "time_to_milestone",
    "transplant_mortality",
    "transplant_outcomes",
]


_MOVED_TO_STATS = frozenset(
    {
        "CoxModel",
        "CumulativeIncidence",
        "CumulativeIncidenceCurves",
        "LandmarkEstimates",
        "LogRankTest",
        "MedianSurvival",
        "RateRatio",
        "RestrictedMean",
        "SurvivalCurve",
        "SurvivalCurves",
        "cox_regression",
        "cumulative_incidence",
        "exact_binomial_ci",
        "exact_poisson_ci",
        "kaplan_meier",
        "log_rank_test",
        "negative_binomial_rate_ratio",
        "restricted_mean_survival_time",
    }
)


def __getattr__(name: str) -> object:
    """The generic statistics moved to :mod:`msreboot.stats`; their old names still work."""
    if name in _MOVED_TO_STATS:
        import warnings

        import msreboot.stats

        warnings.warn(
            f"msreboot.endpoints.{name} moved to msreboot.stats.{name}; import it from there.",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(msreboot.stats, name)
    raise AttributeError(f"module 'msreboot.endpoints' has no attribute {name!r}")
