"""meta_regression, subgroup_analysis and leave_one_out against R metafor."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from msreboot.evidence import (
    EvidenceError,
    TruncatedTau2Warning,
    leave_one_out,
    meta_regression,
    pool,
    pool_proportions,
    subgroup_analysis,
)

REFERENCE = Path(__file__).parents[1] / "reference" / "evidence" / "metafor_reference.json"
_REF = json.loads(REFERENCE.read_text(encoding="utf-8"))
RTOL = _REF["tolerances"]["iterative_rtol"]
ATOL = _REF["tolerances"]["iterative_atol"]
BCG = _REF["generic"]["bcg"]
REG = _REF["meta_regression"]


def _bcg_pool(test: str = "z"):  # type: ignore[no-untyped-def]
    return pool(BCG["yi"], BCG["vi"], test=test, measure="RR")  # type: ignore[arg-type]


@pytest.mark.parametrize("key", list(REG["fits"]))
def test_meta_regression_matches_metafor(key: str) -> None:
    spec, test = key.split("_")
    mods = {name: REG[name] for name in spec.split("+")}
    ref = REG["fits"][key]
    res = meta_regression(_bcg_pool(test), mods)
    assert res.terms == ("intercept", *spec.split("+"))
    for ours, theirs in [
        ("coef", "coef"),
        ("se", "se"),
        ("statistic", "stat"),
        ("pvalue", "pval"),
        ("ci_low", "ci_low"),
        ("ci_high", "ci_high"),
    ]:
        np.testing.assert_allclose(getattr(res, ours), ref[theirs], rtol=RTOL, atol=ATOL)
    for ours, theirs in [
        ("tau2", "tau2"),
        ("i2", "i2"),
        ("h2", "h2"),
        ("qm", "qm"),
        ("qm_pvalue", "qm_pvalue"),
        ("qe", "qe"),
        ("qe_df", "qe_df"),
        ("qe_pvalue", "qe_pvalue"),
        ("r2", "r2"),
    ]:
        np.testing.assert_allclose(getattr(res, ours), ref[theirs], rtol=RTOL, atol=ATOL)
    qm_df = np.atleast_1d(ref["qm_df"])
    assert res.qm_df == qm_df[0]
    if test == "knha":
        assert res.qm_df_resid == qm_df[1]


def test_meta_regression_on_latitude_is_the_textbook_result() -> None:
    """dat.bcg: absolute latitude explains most of the heterogeneity."""
    res = meta_regression(_bcg_pool(), {"ablat": REG["ablat"]})
    assert round(res.coef[1], 4) == -0.0291
    assert res.r2 > 0.7


def test_categorical_moderator_matches_common_tau2_subgroup_model() -> None:
    sub = _REF["subgroups"]
    res = meta_regression(_bcg_pool(), pd.DataFrame({"alloc": sub["groups"]}))
    assert res.terms == ("intercept", "alloc[random]", "alloc[systematic]")
    np.testing.assert_allclose(res.tau2, sub["common_tau2"]["tau2"], rtol=RTOL)
    np.testing.assert_allclose(res.qm, sub["common_tau2"]["qm"], rtol=RTOL)
    np.testing.assert_allclose(res.qm_pvalue, sub["common_tau2"]["qm_pvalue"], rtol=RTOL)


def test_subgroups_match_separate_metafor_fits() -> None:
    sub = _REF["subgroups"]
    res = subgroup_analysis(_bcg_pool(), sub["groups"])
    assert res.groups == tuple(sorted(sub["pools"]))
    for name in res.groups:
        ours, ref = res.pool_for(name), sub["pools"][name]
        np.testing.assert_allclose(
            [ours.estimate, ours.se, ours.tau2, ours.q, ours.pi_low, ours.pi_high],
            [ref["estimate"], ref["se"], ref["tau2"], ref["q"], ref["pi_low"], ref["pi_high"]],
            rtol=RTOL,
            atol=ATOL,
        )
    np.testing.assert_allclose(res.q_between, sub["q_between"], rtol=RTOL)
    assert res.q_between_df == sub["q_between_df"]
    np.testing.assert_allclose(res.q_between_pvalue, sub["q_between_pvalue"], rtol=RTOL)
    frame = res.to_frame()
    assert list(frame["group"]) == [*res.groups, "overall"]
    assert "test for subgroup differences" in res.summary()
    with pytest.raises(EvidenceError, match="group must be one of"):
        res.pool_for("quasi")


def test_leave_one_out_matches_metafor() -> None:
    ref = _REF["leave_one_out"]
    res = leave_one_out(_bcg_pool())
    for name in ["estimate", "se", "ci_low", "ci_high", "q", "q_pvalue", "tau2", "i2", "h2"]:
        np.testing.assert_allclose(getattr(res, name), ref[name], rtol=RTOL, atol=ATOL)
    frame = res.to_frame()
    assert frame.shape[0] == 13
    assert "Leave-one-out over 13 studies" in res.summary()


def test_leave_one_out_of_proportions_keeps_measure() -> None:
    res = pool_proportions([0, 1, 2, 8, 3], [24, 151, 281, 110, 90], measure="PFT")
    loo = leave_one_out(res)
    assert all(0 <= p <= 1 for p in loo.estimate_natural)


def test_leave_one_out_needs_two_studies() -> None:
    with pytest.raises(EvidenceError, match="at least 2 studies"):
        leave_one_out(pool([0.1], [0.1]))


@pytest.mark.parametrize(
    ("mods", "match"),
    [
        pytest.param({"x": [1.0, 2.0]}, "one row per study", id="rows"),
        pytest.param(
            {"x": [1.0, 2.0, 3.0, 4.0], "y": [2.0, 4.0, 6.0, 8.0]}, "collinear", id="collinear"
        ),
        pytest.param({"x": [1.0, None, 3.0, 4.0]}, "no missing values", id="missing"),
        pytest.param(
            {"x": [1, 2, 3, 4], "y": [1, 0, 0, 1], "z": [5, 1, 2, 2]}, "more studies", id="too-many"
        ),
    ],
)
def test_meta_regression_rejects_bad_moderators(mods: dict[str, list[float]], match: str) -> None:
    res = pool([0.1, 0.4, 0.3, 0.9], [0.02, 0.03, 0.02, 0.04])
    with pytest.raises(EvidenceError, match=match):
        meta_regression(res, mods)


def test_meta_regression_result_api() -> None:
    res = meta_regression(_bcg_pool(), {"ablat": REG["ablat"]})
    assert list(res.to_frame()["term"]) == ["intercept", "ablat"]
    pred = res.predict([[1.0, 10.0], [1.0, 50.0]])
    assert pred["fit"].iloc[0] > pred["fit"].iloc[1]
    assert (pred["ci_low"] <= pred["fit"]).all()
    assert "Meta-regression (REML" in res.summary()
    with pytest.raises(EvidenceError, match="design must have 2 columns"):
        res.predict([[1.0, 2.0, 3.0]])


def test_meta_regression_warns_when_moderators_explain_everything() -> None:
    yi = [0.1, 0.2, 0.3, 0.4, 0.5]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        base = pool(yi, [0.01] * 5)
    with pytest.warns(TruncatedTau2Warning):
        res = meta_regression(base, {"x": [1, 2, 3, 4, 5]})
    assert res.tau2 == 0.0
    assert res.r2 == pytest.approx(1.0)
