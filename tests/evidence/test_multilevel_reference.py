"""Multilevel pool (study / arm random effects) against R metafor's rma.mv (JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msreboot.evidence import EvidenceError, MultilevelEstimate, pool, pool_multilevel

REFERENCE = Path(__file__).parents[1] / "reference" / "evidence" / "metafor_bias_influence.json"
_REF = json.loads(REFERENCE.read_text(encoding="utf-8"))
TOL = _REF["tolerances"]

CASES = [
    pytest.param(name, method, id=f"{name}-{method}")
    for name in _REF["multilevel"]
    for method in ("REML", "ML")
]


def _fit(name: str, method: str) -> MultilevelEstimate:
    b = _REF["multilevel"][name]
    return pool_multilevel(b["yi"], b["vi"], b["study"], b["arm"], method=method)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "method"), CASES)
def test_matches_rma_mv_with_tight_control(name: str, method: str) -> None:
    ref = _REF["multilevel"][name][f"{method}_tight"]
    res = _fit(name, method)
    kw = {"rtol": TOL["iterative_rtol"], "atol": TOL["iterative_atol"]}
    np.testing.assert_allclose([res.sigma2_study, res.sigma2_arm], ref["sigma2"], **kw)  # type: ignore[arg-type]
    for ours, theirs in [
        ("estimate", "estimate"),
        ("se", "se"),
        ("ci_low", "ci_low"),
        ("ci_high", "ci_high"),
        ("statistic", "zval"),
        ("pvalue", "pval"),
        ("pi_low", "pi_low"),
        ("pi_high", "pi_high"),
        ("loglik", "loglik"),
        ("q", "q"),
        ("q_pvalue", "q_pvalue"),
    ]:
        np.testing.assert_allclose(getattr(res, ours), ref[theirs], **kw)  # type: ignore[arg-type]
    assert res.k == ref["k"]


@pytest.mark.parametrize(("name", "method"), CASES)
def test_likelihood_at_least_metafor_default(name: str, method: str) -> None:
    """metafor's default convergence stops no higher on the likelihood than we do."""
    ref = _REF["multilevel"][name][f"{method}_default"]
    assert _fit(name, method).loglik >= ref["loglik"] - 1e-9


def test_no_within_study_replication_reduces_to_two_level() -> None:
    # one row per study: sigma2_study and sigma2_arm are not separately identified, but
    # their sum is the two-level REML tau^2 and the pooled estimate is the same
    yi = [0.1, 0.5, 0.3, 0.9, 0.4, 0.2]
    vi = [0.02, 0.03, 0.02, 0.05, 0.04, 0.03]
    ml = pool_multilevel(yi, vi, study=list("abcdef"))
    two = pool(yi, vi, method="REML")
    assert ml.sigma2_study + ml.sigma2_arm == pytest.approx(two.tau2, rel=1e-6)
    assert ml.estimate == pytest.approx(two.estimate, rel=1e-6)


def test_homogeneous_rows_put_both_components_at_zero() -> None:
    res = pool_multilevel(
        [0.30, 0.31, 0.29, 0.30, 0.31], [0.05] * 5, study=["a", "a", "b", "b", "c"]
    )
    assert res.sigma2_study == 0.0
    assert res.sigma2_arm == 0.0
    w = 1 / 0.05
    assert res.se == pytest.approx(np.sqrt(1 / (5 * w)), rel=1e-12)


def test_refuses_a_single_study() -> None:
    with pytest.raises(EvidenceError, match="at least 2 studies"):
        pool_multilevel([0.1, 0.2, 0.3], [0.1, 0.1, 0.1], study=["a", "a", "a"])


@settings(max_examples=20, deadline=None)
@given(st.permutations(list(range(11))))
def test_row_order_does_not_change_the_pool(perm: list[int]) -> None:
    b = _REF["multilevel"]["ahsct_like"]
    idx = np.asarray(perm)
    base = _fit("ahsct_like", "REML")
    res = pool_multilevel(
        np.asarray(b["yi"])[idx],
        np.asarray(b["vi"])[idx],
        np.asarray(b["study"])[idx],
        np.asarray(b["arm"])[idx],
    )
    assert res.estimate == pytest.approx(base.estimate, rel=1e-7)
    assert res.sigma2_arm == pytest.approx(base.sigma2_arm, rel=1e-5)
