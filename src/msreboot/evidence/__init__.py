"""Published AHSCT and MSC evidence and the meta-analysis that pools it.

Pooling follows R's metafor conventions (REML default, ``add = 1/2, to = "only0"``,
Hartung-Knapp without truncation, Q-profile tau^2 intervals) and is checked against it.
"""

from msreboot.evidence._bias import (
    EggerTest,
    RankCorrelationTest,
    TrimAndFill,
    egger_test,
    rank_correlation_test,
    trim_and_fill,
)
from msreboot.evidence._checks import EvidenceError, HeterogeneityWarning, TruncatedTau2Warning
from msreboot.evidence._compare import CohortEstimate, EvidenceComparison, compare_with_evidence
from msreboot.evidence._cumulative import CumulativeMetaAnalysis, cumulative_meta_analysis
from msreboot.evidence._effect_sizes import EffectSizes, binary_effect_sizes, mean_effect_sizes
from msreboot.evidence._forest import CohortRow, bubble_plot, forest_plot
from msreboot.evidence._funnel import funnel_plot
from msreboot.evidence._influence import InfluenceDiagnostics, baujat_plot, influence_diagnostics
from msreboot.evidence._mantel_haenszel import pool_mantel_haenszel, pool_peto
from msreboot.evidence._meta import PooledEstimate, pool, pool_proportions, pool_rates
from msreboot.evidence._multilevel import MultilevelEstimate, pool_multilevel
from msreboot.evidence._published import PublishedOutcome, endpoint_presets, published_outcome
from msreboot.evidence._regression import MetaRegression, meta_regression
from msreboot.evidence._sensitivity import (
    LeaveOneOut,
    SubgroupAnalysis,
    leave_one_out,
    subgroup_analysis,
)
from msreboot.evidence._studies import (
    DATASET_VERSION,
    STATUSES,
    effect_sizes,
    load_definitions,
    load_outcomes,
    load_studies,
    select_outcomes,
    study_label,
)

__all__ = [
    "DATASET_VERSION",
    "STATUSES",
    "CohortEstimate",
    "CohortRow",
    "CumulativeMetaAnalysis",
    "EffectSizes",
    "EggerTest",
    "EvidenceComparison",
    "EvidenceError",
    "HeterogeneityWarning",
    "InfluenceDiagnostics",
    "LeaveOneOut",
    "MetaRegression",
    "MultilevelEstimate",
    "PooledEstimate",
    "PublishedOutcome",
    "RankCorrelationTest",
    "SubgroupAnalysis",
    "TrimAndFill",
    "TruncatedTau2Warning",
    "baujat_plot",
    "binary_effect_sizes",
    "bubble_plot",
    "compare_with_evidence",
    "cumulative_meta_analysis",
    "effect_sizes",
    "egger_test",
    "endpoint_presets",
    "forest_plot",
    "funnel_plot",
    "influence_diagnostics",
    "leave_one_out",
    "load_definitions",
    "load_outcomes",
    "load_studies",
    "mean_effect_sizes",
    "meta_regression",
    "pool",
    "pool_mantel_haenszel",
    "pool_multilevel",
    "pool_peto",
    "pool_proportions",
    "pool_rates",
    "published_outcome",
    "rank_correlation_test",
    "select_outcomes",
    "study_label",
    "subgroup_analysis",
    "trim_and_fill",
]
