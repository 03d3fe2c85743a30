"""The public API of msreboot.evidence is pinned: growing it is a deliberate change."""

from __future__ import annotations

import msreboot.evidence as evidence
from msreboot.cli import _evidence as _commands

EXPECTED = [
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


def test_all_is_pinned() -> None:
    assert evidence.__all__ == EXPECTED
    for name in EXPECTED:
        assert hasattr(evidence, name)


def test_cli_pieces_exist() -> None:
    assert _commands.__all__ == ["evidence_app", "meta_command"]


def test_evidence_error_is_msreboot_error() -> None:
    from msreboot.exceptions import MsrebootError

    assert issubclass(evidence.EvidenceError, MsrebootError)
    assert issubclass(evidence.EvidenceError, ValueError)
