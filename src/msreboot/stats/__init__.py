"""Generic statistics on any DataFrame or array, knowing nothing of a cohort.

Kaplan-Meier with Greenwood variance (log-log, log and plain intervals), log-rank tests
(stratified), Cox regression (Efron or Breslow ties, case weights, strata, robust and
cluster-robust variance) with its proportional-hazards test (scaled Schoenfeld residuals),
weighted Kaplan-Meier, exact Aalen-Johansen cumulative incidence, Gray's test of equal
cumulative incidence, the Fine-Gray subdistribution hazards model, restricted mean
survival time, negative-binomial and Poisson rate ratios, and exact binomial and Poisson
intervals, each checked against R (``survival``, ``cmprsk``, ``MASS``). Like lifelines,
every function takes arrays or the columns of a DataFrame; the pandas index is ignored.

Propensity-score methods: a logistic propensity model, greedy nearest-neighbour matching
(1:k, with or without replacement, caliper, exact variables; as R ``MatchIt``), inverse
probability and overlap weights, and balance diagnostics (standardised mean differences,
variance ratios, effective sample sizes, love and overlap plots).
"""

from msreboot.stats._balance import (
    Balance,
    BalanceRule,
    BalanceWarning,
    Overlap,
    balance_table,
    propensity_overlap,
)
from msreboot.stats._balance_plots import love_plot, overlap_plot
from msreboot.stats._checks import (
    ConfType,
    FloatArray,
    as_landmarks,
    check_conf_level,
    check_counts,
    z_value,
)
from msreboot.stats._competing import (
    CumulativeIncidence,
    CumulativeIncidenceCurves,
    cumulative_incidence,
)
from msreboot.stats._cox import CoxModel, Ties, cox_regression
from msreboot.stats._cox_zph import ProportionalHazardsTest, ZphTransform, proportional_hazards_test
from msreboot.stats._fine_gray import FineGrayModel, fine_gray
from msreboot.stats._gray import GrayTest, gray_test
from msreboot.stats._intervals import exact_binomial_ci, exact_poisson_ci
from msreboot.stats._logrank import LogRankTest, log_rank_test
from msreboot.stats._matching import MatchedSample, MatchingWarning, MatchOrder, match_nearest
from msreboot.stats._propensity import PropensityScore, SeparationWarning, propensity_score
from msreboot.stats._rate_ratio import RateRatio, negative_binomial_rate_ratio
from msreboot.stats._rmst import RestrictedMean
from msreboot.stats._survival import (
    LandmarkEstimates,
    MedianSurvival,
    SurvivalCurve,
    SurvivalCurves,
    kaplan_meier,
    restricted_mean_survival_time,
)
from msreboot.stats._weighting import (
    Estimand,
    PropensityWeights,
    effective_sample_size,
    propensity_weights,
)

__all__ = [
    "Balance",
    "BalanceRule",
    "BalanceWarning",
    "ConfType",
    "CoxModel",
    "CumulativeIncidence",
    "CumulativeIncidenceCurves",
    "Estimand",
    "FineGrayModel",
    "FloatArray",
    "GrayTest",
    "LandmarkEstimates",
    "LogRankTest",
    "MatchOrder",
    "MatchedSample",
    "MatchingWarning",
    "MedianSurvival",
    "Overlap",
    "PropensityScore",
    "PropensityWeights",
    "ProportionalHazardsTest",
    "RateRatio",
    "RestrictedMean",
    "SeparationWarning",
    "SurvivalCurve",
    "SurvivalCurves",
    "Ties",
    "ZphTransform",
    "as_landmarks",
    "balance_table",
    "check_conf_level",
    "check_counts",
    "cox_regression",
    "cumulative_incidence",
    "effective_sample_size",
    "exact_binomial_ci",
    "exact_poisson_ci",
    "fine_gray",
    "gray_test",
    "kaplan_meier",
    "log_rank_test",
    "love_plot",
    "match_nearest",
    "negative_binomial_rate_ratio",
    "overlap_plot",
    "propensity_overlap",
    "propensity_score",
    "propensity_weights",
    "proportional_hazards_test",
    "restricted_mean_survival_time",
    "z_value",
]
