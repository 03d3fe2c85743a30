"""Egger's test, rank correlation, trim-and-fill, influence and cumulative pools vs metafor."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from msreboot.evidence import (
    EvidenceError,
    PooledEstimate,
    TruncatedTau2Warning,
    cumulative_meta_analysis,
    egger_test,
    influence_diagnostics,
    pool,
    rank_correlation_test,
    trim_and_fill,
)

REFERENCE = Path(__file__).parents[1] / "reference" / "evidence" / "metafor_bias_influence.json"
_REF = json.loads(REFERENCE.read_text(encoding="utf-8"))
TOL = _REF["tolerances"]

CASES = [
    pytest.param(name, method, id=f"{name}-{method}")
    for name, block in _REF["bias"].items()
    for method in block["fits"]
]


def _arr(x: Any) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in np.atleast_1d(x)], dtype=float)


def _close(actual: Any, expected: Any, method: str) -> None:
    if method.startswith("REML"):
        kw = {"rtol": TOL["iterative_rtol"], "atol": TOL["iterative_atol"]}
    else:
        kw = {"rtol": TOL["closed_form_rtol"], "atol": 1e-10}
    np.testing.assert_allclose(_arr(actual), _arr(expected), **kw)  # type: ignore[arg-type]


def _fit(name: str, key: str) -> PooledEstimate:
    """The pool of a reference block: ``key`` is a method, or ``<method>_knha``."""
    block = _REF["bias"][name]
    method, _, test = key.partition("_")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        return pool(block["yi"], block["vi"], method=method, test=test or "z")  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "method"), CASES)
def test_pool_matches_metafor(name: str, method: str) -> None:
    ref = _REF["bias"][name]["fits"][method]["fit"]
    res = _fit(name, method)
    for key in ("estimate", "se", "ci_low", "ci_high", "tau2"):
        _close(getattr(res, key), ref[key], method)


@pytest.mark.parametrize(("name", "method"), CASES)
@pytest.mark.parametrize("variant", ["rma_sei", "lm_sei", "rma_vi", "lm_vi"])
def test_egger_matches_regtest(name: str, method: str, variant: str) -> None:
    ref = _REF["bias"][name]["fits"][method]["regtest"][variant]
    model, predictor = variant.split("_")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        eg = egger_test(_fit(name, method), model=model, predictor=predictor)  # type: ignore[arg-type]
    _close(eg.statistic, ref["statistic"], method)
    _close(eg.pvalue, ref["pvalue"], method)
    _close(eg.slope, ref["slope"], method)
    _close(eg.slope_se, ref["slope_se"], method)
    _close(eg.limit_estimate, ref["limit"], method)
    _close([eg.limit_ci_low, eg.limit_ci_high], [ref["limit_ci_low"], ref["limit_ci_high"]], method)
    assert eg.df == ref["df"]


@pytest.mark.parametrize(("name", "method"), CASES)
@pytest.mark.parametrize("exact", [True, False])
def test_rank_correlation_matches_ranktest(name: str, method: str, exact: bool) -> None:
    ref = _REF["bias"][name]["fits"][method]["ranktest"]["exact" if exact else "normal"]
    rk = rank_correlation_test(_fit(name, method), exact=exact)
    _close([rk.tau, rk.pvalue], [ref["tau"], ref["pvalue"]], "FE")


@pytest.mark.parametrize(("name", "method"), CASES)
@pytest.mark.parametrize(
    "variant", ["L0_auto", "L0_left", "L0_right", "R0_auto", "R0_left", "R0_right"]
)
def test_trim_and_fill_matches_trimfill(name: str, method: str, variant: str) -> None:
    ref = _REF["bias"][name]["fits"][method]["trimfill"][variant]
    estimator, side = variant.split("_")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        tf = trim_and_fill(
            _fit(name, method),
            estimator=estimator,  # type: ignore[arg-type]
            side=None if side == "auto" else side,  # type: ignore[arg-type]
        )
    assert tf.k0 == ref["k0"]
    assert tf.side == ref["side"]
    _close(tf.pooled.yi, ref["yi"], method)
    _close(tf.pooled.vi, ref["vi"], method)
    for key in ("estimate", "se", "ci_low", "ci_high", "tau2"):
        if method.endswith("knha") and tf.k0 > 0 and key != "estimate" and key != "tau2":
            # metafor 3.8.1 refits the filled data with Wald intervals; we keep the test
            same = pool(tf.pooled.yi, tf.pooled.vi, method="REML", test="knha")
            assert getattr(tf.pooled, key) == pytest.approx(getattr(same, key), rel=1e-12)
            continue
        _close(getattr(tf.pooled, key), ref[key], method)
    assert list(tf.to_frame()["filled"][:-1]) == ref["fill"]


@pytest.mark.parametrize(("name", "method"), CASES)
def test_influence_matches_influence_rma_uni(name: str, method: str) -> None:
    ref = _REF["bias"][name]["fits"][method]["influence"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        inf = influence_diagnostics(_fit(name, method))
    for ours, theirs in [
        ("rstudent", "rstudent"),
        ("dffits", "dffits"),
        ("cook_d", "cook_d"),
        ("cov_r", "cov_r"),
        ("tau2_deleted", "tau2_del"),
        ("qe_deleted", "qe_del"),
        ("hat", "hat"),
        ("weight", "weight"),
        ("dfbetas", "dfbetas"),
    ]:
        _close(getattr(inf, ours), ref[theirs], method)
    assert list(inf.influential) == ref["influential"]


@pytest.mark.parametrize(("name", "method"), CASES)
def test_baujat_matches_metafor(name: str, method: str) -> None:
    ref = _REF["bias"][name]["fits"][method]["baujat"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        inf = influence_diagnostics(_fit(name, method))
    _close(inf.baujat_x, ref["x"], method)
    _close(inf.baujat_y, ref["y"], method)


@pytest.mark.parametrize(("name", "method"), CASES)
def test_cumulative_matches_cumul(name: str, method: str) -> None:
    block = _REF["bias"][name]
    ref = block["fits"][method]["cumul"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        cm = cumulative_meta_analysis(_fit(name, method), order=block["year"])
    assert list(cm.order) == ref["order"]
    for ours, theirs in [
        ("estimate", "estimate"),
        ("se", "se"),
        ("ci_low", "ci_low"),
        ("ci_high", "ci_high"),
        ("pvalue", "pvalue"),
        ("q", "q"),
        ("tau2", "tau2"),
        ("i2", "i2"),
        ("h2", "h2"),
    ]:
        if ours == "tau2" and method == "FE":  # metafor's cumul gives none for FE
            assert set(cm.tau2) == {0.0}
            continue
        _close(getattr(cm, ours), ref[theirs], method)


def test_egger_needs_three_studies() -> None:
    res = pool([0.1, 0.4], [0.04, 0.05], method="FE")
    with pytest.raises(EvidenceError, match="at least 3 studies"):
        egger_test(res)
    with pytest.raises(EvidenceError, match="at least 3 studies"):
        trim_and_fill(res)


def test_symmetric_funnel_fills_nothing() -> None:
    # mirror-image studies about 0.3: no asymmetry, k0 = 0, the pool is unchanged
    yi = [0.3 - 0.4, 0.3 + 0.4, 0.3 - 0.2, 0.3 + 0.2, 0.3]
    vi = [0.2, 0.2, 0.05, 0.05, 0.01]
    res = pool(yi, vi, method="FE")
    tf = trim_and_fill(res, side="left")
    assert tf.k0 == 0
    assert tf.pooled.estimate == pytest.approx(res.estimate, rel=1e-12)
    assert egger_test(res).slope == pytest.approx(0.0, abs=1e-12)


def test_cumulative_last_row_is_the_pool() -> None:
    res = _fit("bcg_rr", "DL")
    cm = cumulative_meta_analysis(res)
    assert cm.estimate[-1] == pytest.approx(res.estimate, rel=1e-12)
    assert cm.k == tuple(range(1, 14))
    assert cm.to_frame().shape[0] == 13


@pytest.mark.parametrize("name", list(_REF["bias"]))
def test_reml_solves_tighter_than_metafor_default(name: str) -> None:
    """metafor's default REML stops ~1e-5 from the root; ours matches its tight fit."""
    fits = _REF["bias"][name]["fits"]["REML"]
    ours = _fit(name, "REML").tau2
    tight, default = fits["fit"]["tau2"], fits["fit_default_control"]["tau2"]
    assert abs(ours - tight) <= abs(ours - default) + 1e-12
    assert ours == pytest.approx(default, rel=1e-4)
