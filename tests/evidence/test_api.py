"""The public API of msreboot.evidence is pinned: growing it is a deliberate change."""

from __future__ import annotations

import msreboot.evidence as evidence
from msreboot.cli import _evidence as _commands

EXPECTED = [
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
