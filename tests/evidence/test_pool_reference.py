"""pool / pool_proportions / pool_rates against R metafor (reference JSON)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from msreboot.evidence import (
    HeterogeneityWarning,
    TruncatedTau2Warning,
    pool,
    pool_proportions,
    pool_rates,
)

REFERENCE = Path(__file__).parents[1] / "reference" / "evidence" / "metafor_reference.json"
_REF = json.loads(REFERENCE.read_text(encoding="utf-8"))
CLOSED = {"FE", "DL"}


def _tol(method: str) -> dict[str, float]:
    tol = _REF["tolerances"]
    if method in CLOSED:
        return {"rtol": tol["closed_form_rtol"], "atol": 1e-12}
    return {"rtol": tol["iterative_rtol"], "atol": tol["iterative_atol"]}


def _vec(x: Any) -> np.ndarray:
    return np.atleast_1d(np.asarray(x, dtype=float))


GENERIC_CASES = [
    pytest.param(name, key, id=f"{name}-{key}")
    for name, block in _REF["generic"].items()
    for key in block["fits"]
]


def _pool_quietly(**kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        warnings.simplefilter("ignore", HeterogeneityWarning)  # the two-study reference pair
        return pool(**kwargs)


@pytest.mark.parametrize(("name", "key"), GENERIC_CASES)
def test_generic_matches_metafor(name: str, key: str) -> None:
    block = _REF["generic"][name]
    ref = block["fits"][key]
    method, test = key.split("_")
    res = _pool_quietly(yi=_vec(block["yi"]), vi=_vec(block["vi"]), method=method, test=test)
    tol = _tol(method)
    for ours, theirs in [
        ("estimate", "estimate"),
        ("se", "se"),
        ("ci_low", "ci_low"),
        ("ci_high", "ci_high"),
        ("statistic", "zval"),
        ("pvalue", "pval"),
        ("pi_low", "pi_low"),
        ("pi_high", "pi_high"),
        ("tau2", "tau2"),
        ("i2", "i2"),
        ("h2", "h2"),
        ("q", "q"),
        ("q_df", "q_df"),
        ("q_pvalue", "q_pvalue"),
        ("k", "k"),
    ]:
        np.testing.assert_allclose(getattr(res, ours), ref[theirs], err_msg=ours, **tol)
    np.testing.assert_allclose(res.weights, _vec(ref["weights"]), **tol)
    if "tau2_ci" in ref:
        np.testing.assert_allclose(
            [res.tau2_ci_low, res.tau2_ci_high], ref["tau2_ci"], rtol=1e-4, atol=1e-6
        )
        np.testing.assert_allclose(
            [res.i2_ci_low, res.i2_ci_high], ref["i2_ci"], rtol=1e-4, atol=1e-6
        )


def test_bcg_reml_headline_numbers() -> None:
    """The numbers quoted in PITFALLS.md: tau^2 0.3132, mu -0.7145, SE 0.1798."""
    block = _REF["generic"]["bcg"]
    res = pool(block["yi"], block["vi"])
    assert res.method == "REML"
    assert round(res.tau2, 4) == 0.3132
    assert round(res.estimate, 4) == -0.7145
    assert round(res.se, 4) == 0.1798
    assert (round(res.ci_low, 4), round(res.ci_high, 4)) == (-1.0669, -0.3622)


@pytest.mark.parametrize("method", ["DL", "PM", "REML", "ML"])
def test_homogeneous_studies_truncate_with_warning(method: str) -> None:
    block = _REF["generic"]["homogeneous"]
    with pytest.warns(TruncatedTau2Warning, match="truncated at 0"):
        res = pool(block["yi"], block["vi"], method=method)
    assert res.tau2 == 0.0
    assert res.tau2_truncated
    assert res.i2 == 0.0
    fe = pool(block["yi"], block["vi"], method="FE")
    assert res.estimate == pytest.approx(fe.estimate, rel=1e-12)


def test_single_study_is_defined() -> None:
    res = pool([0.4], [0.09], test="knha")
    ref = _REF["generic"]["single"]["fits"]["REML_knha"]
    assert res.k == 1
    assert res.test == "z"
    assert res.estimate == pytest.approx(ref["estimate"])
    assert (res.ci_low, res.ci_high) == pytest.approx((ref["ci_low"], ref["ci_high"]))
    assert (res.tau2, res.q, res.q_df, res.i2, res.h2) == (0.0, 0.0, 0, 0.0, 1.0)
    assert np.isnan(res.tau2_ci_low)
    assert res.weights == (1.0,)


PROPORTION_CASES = [
    pytest.param(name, measure, method, id=f"{name}-{measure}-{method}")
    for name, block in _REF["proportions"].items()
    for measure in ("PLO", "PR", "PFT")
    for method in block[measure]["fits"]
]


@pytest.mark.parametrize(("name", "measure", "method"), PROPORTION_CASES)
def test_proportions_match_metafor(name: str, measure: str, method: str) -> None:
    block = _REF["proportions"][name]
    ref = block[measure]
    fit = ref["fits"][method]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        res = pool_proportions(block["xi"], block["ni"], measure=measure, method=method)  # type: ignore[arg-type]
    tol = _tol(method)
    np.testing.assert_allclose(res.yi, ref["yi"], rtol=1e-10)
    np.testing.assert_allclose(res.vi, ref["vi"], rtol=1e-10)
    for ours, theirs in [
        ("estimate", "estimate"),
        ("se", "se"),
        ("tau2", "tau2"),
        ("i2", "i2"),
        ("q", "q"),
        ("estimate_natural", "pred"),
        ("ci_low_natural", "pred_ci_low"),
        ("ci_high_natural", "pred_ci_high"),
        ("pi_low_natural", "pi_low"),
        ("pi_high_natural", "pi_high"),
    ]:
        np.testing.assert_allclose(getattr(res, ours), fit[theirs], err_msg=ours, **tol)


@pytest.mark.parametrize("method", ["FE", "DL", "REML"])
def test_rates_match_metafor(method: str) -> None:
    block = _REF["rates"]
    fit = block["fits"][method]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        res = pool_rates(block["xi"], block["ti"], method=method)  # type: ignore[arg-type]
    np.testing.assert_allclose(res.yi, block["yi"], rtol=1e-10)
    np.testing.assert_allclose(res.vi, block["vi"], rtol=1e-10)
    tol = _tol(method)
    np.testing.assert_allclose(res.estimate, fit["estimate"], **tol)
    np.testing.assert_allclose(res.estimate_natural, fit["pred"], **tol)
    np.testing.assert_allclose(
        [res.pi_low_natural, res.pi_high_natural], [fit["pi_low"], fit["pi_high"]], **tol
    )


def test_reference_provenance_is_recorded() -> None:
    prov = _REF["provenance"]
    assert prov["metafor_version"]
    assert prov["r_version"].startswith("R version")


@pytest.mark.parametrize("name", list(_REF["proportions"]))
def test_glmm_matches_metafor_rma_glmm(name: str) -> None:
    block = _REF["proportions"][name]
    if "GLMM" not in block:
        pytest.skip("the reference was generated without lme4")
    ref = block["GLMM"]
    res = pool_proportions(block["xi"], block["ni"], method="GLMM")
    rtol = _REF["tolerances"]["glmm_rtol"]
    assert res.method == "GLMM"
    for ours, theirs in [
        ("estimate", "estimate"),
        ("se", "se"),
        ("ci_low", "ci_low"),
        ("ci_high", "ci_high"),
        ("tau2", "tau2"),
        ("estimate_natural", "pred"),
        ("ci_low_natural", "pred_ci_low"),
        ("ci_high_natural", "pred_ci_high"),
        ("pi_low_natural", "pi_low"),
        ("pi_high_natural", "pi_high"),
    ]:
        np.testing.assert_allclose(getattr(res, ours), ref[theirs], rtol=rtol, err_msg=ours)
