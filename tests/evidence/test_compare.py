"""A cohort beside the evidence: matching subgroup, the difference test, the cohort's row."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from msreboot.evidence import (
    CohortEstimate,
    EvidenceError,
    TruncatedTau2Warning,
    compare_with_evidence,
    pool_proportions,
)


def _compare(events: int, n: int, intensity: str | None = None):  # type: ignore[no-untyped-def]
    mine = CohortEstimate.from_events(
        events,
        n,
        outcome="trm",
        label="Centre X",
        subgroups={"intensity": intensity} if intensity else None,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)  # the TRM studies are homogeneous
        # the sourced TRM rows use three definitions: a mixed pool, each row labelled
        return compare_with_evidence(mine, mixed_definitions=True)


def test_exact_interval_of_the_cohort() -> None:
    est = CohortEstimate.from_events(1, 24, outcome="trm")
    assert est.estimate == pytest.approx(1 / 24)
    assert (est.ci_low, est.ci_high) == pytest.approx((0.00105435244546975, 0.211201683456973))


def test_overall_pool_equals_pooling_the_published_rows() -> None:
    comparison = _compare(2, 180)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        direct = pool_proportions([8, 1, 0], [281, 24, 52])
    assert comparison.pooled.k == 3  # Burt 2015's TRM row is unsourced: left out
    assert comparison.pooled.estimate == pytest.approx(direct.estimate)
    assert set(comparison.studies["study_id"]) == {
        "muraro2017_ebmt",
        "atkins2016_canadian",
        "burt2019_mist",
    }
    assert set(comparison.studies["definition_id"]) == {"trm_100d", "trm_related", "deaths_any"}
    assert "Muraro 2017 [trm_100d]" in comparison.pooled.labels


def test_trm_is_pooled_within_one_definition_unless_asked() -> None:
    mine = CohortEstimate.from_events(2, 180, outcome="trm")
    with pytest.raises(EvidenceError, match="must share one definition"):
        compare_with_evidence(mine, by=None)
    same = CohortEstimate.from_events(2, 180, outcome="trm", definition_id="trm_100d")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        comparison = compare_with_evidence(same, by=None)
    assert comparison.pooled.k == 1
    assert list(comparison.studies["study_id"]) == ["muraro2017_ebmt"]
    assert comparison.pooled.labels == ("Muraro 2017",)


def test_matching_subgroup_is_pooled() -> None:
    comparison = _compare(2, 180, "intermediate_lymphoablative")
    assert comparison.subgroup is not None
    assert comparison.subgroup.k == 1  # MIST (cyclophosphamide + ATG); Burt 2015 unsourced
    assert "intensity = intermediate_lymphoablative (k = 1)" in comparison.summary()
    assert len(comparison.to_frame()) == 3


def test_no_published_study_in_the_subgroup() -> None:
    comparison = _compare(2, 180, "low")
    assert comparison.subgroup is None
    assert "no published study with intensity = low" in comparison.summary()
    assert len(comparison.to_frame()) == 2


def test_difference_is_the_hand_worked_z() -> None:
    comparison = _compare(10, 200)
    pool = comparison.pooled
    yi, vi = np.log(10 / 190), 1 / 10 + 1 / 190
    z = (yi - pool.estimate) / np.sqrt(vi + pool.se**2 + pool.tau2)
    got_z, got_p = comparison.difference()
    assert got_z == pytest.approx(z)
    assert got_p == pytest.approx(2 * stats.norm.sf(abs(z)))
    assert got_z > 0  # 5% is above the pooled ~2.5%


def test_a_cohort_like_the_pool_does_not_differ() -> None:
    z, p = _compare(7, 280).difference()
    assert abs(z) < 0.5
    assert p > 0.5


def test_forest_plot_has_the_cohort_row(tmp_path: Path) -> None:
    comparison = _compare(2, 180)
    path = tmp_path / "trm.svg"
    comparison.forest_plot(path)
    svg = path.read_text(encoding="utf-8")
    assert "Centre X" in svg
    assert "2/180" in svg
    assert "Muraro 2017" in svg


def test_outcome_without_counts_is_an_error() -> None:
    mine = CohortEstimate.from_events(5, 20, outcome="efs")
    with pytest.raises(EvidenceError):
        compare_with_evidence(mine)
