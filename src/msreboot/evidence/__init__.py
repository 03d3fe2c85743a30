"""Published AHSCT and MSC evidence and the meta-analysis that pools it.

Pooling follows R's metafor conventions (REML default, ``add = 1/2, to = "only0"``,
Hartung-Knapp without truncation, Q-profile tau^2 intervals) and is checked against it.
"""

from msreboot.evidence._checks import EvidenceError, TruncatedTau2Warning
from msreboot.evidence._compare import CohortEstimate, EvidenceComparison, compare_with_evidence
from msreboot.evidence._forest import CohortRow, bubble_plot, forest_plot
from msreboot.evidence._meta import PooledEstimate, pool, pool_proportions, pool_rates
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
    effect_sizes,
    load_outcomes,
    load_studies,
    select_outcomes,
    study_label,
)

__all__ = [
    "DATASET_VERSION",
    "CohortEstimate",
    "CohortRow",
    "EvidenceComparison",
    "EvidenceError",
    "LeaveOneOut",
    "MetaRegression",
    "PooledEstimate",
    "PublishedOutcome",
    "SubgroupAnalysis",
    "TruncatedTau2Warning",
    "bubble_plot",
    "compare_with_evidence",
    "effect_sizes",
    "endpoint_presets",
    "forest_plot",
    "leave_one_out",
    "load_outcomes",
    "load_studies",
    "meta_regression",
    "pool",
    "pool_proportions",
    "pool_rates",
    "published_outcome",
    "select_outcomes",
    "study_label",
    "subgroup_analysis",
]
