"""Generic statistics on any DataFrame or array, knowing nothing of a cohort.

Kaplan-Meier with Greenwood variance (log-log, log and plain intervals), log-rank tests
(stratified), Cox regression (Efron or Breslow ties), exact Aalen-Johansen cumulative
incidence, restricted mean survival time, negative-binomial and Poisson rate ratios, and
exact binomial and Poisson intervals, each checked against R (``survival``, ``cmprsk``,
``MASS``). Like lifelines, every function takes arrays or the columns of a DataFrame; the
pandas index is ignored.
"""

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
from msreboot.stats._intervals import exact_binomial_ci, exact_poisson_ci
from msreboot.stats._logrank import LogRankTest, log_rank_test
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

__all__ = [
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
]
