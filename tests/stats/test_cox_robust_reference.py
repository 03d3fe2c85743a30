"""Weighted, stratified and robust Cox models against R survival 3.5 (reference JSON only).

tests/reference/survival/cox_robust_reference.R writes the JSON, datasets included, so these
tests use exactly the rows R used. Tolerance: 1e-6 relative, 1e-10 absolute near zero.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from msreboot.stats._cox import cox_regression
from msreboot.stats._cox_zph import proportional_hazards_test

HERE = Path(__file__).resolve().parents[1] / "reference" / "survival"
REF = json.loads((HERE / "cox_robust_reference.json").read_text(encoding="utf-8"))
RTOL = REF["tolerances"]["rtol"]
ATOL = REF["tolerances"]["atol"]


def _vec(values: Any) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values, dtype=object))
    return np.array([np.nan if v is None else float(v) for v in arr], dtype=float)


def assert_matches_r(ours: Any, theirs: Any, what: str) -> None:
    np.testing.assert_allclose(
        np.atleast_1d(np.asarray(ours, dtype=float)),
        _vec(theirs),
        rtol=RTOL,
        atol=ATOL,
        err_msg=what,
    )


def frame(name: str) -> pd.DataFrame:
    """A dataset of the reference JSON, with R's factor levels as categories."""
    out = pd.DataFrame(REF["datasets"][name])
    for col, levels in REF["factor_levels"].get(name, {}).items():
        out[col] = pd.Categorical(out[col], categories=levels)
    return out


def fit_args(case: dict[str, Any]) -> dict[str, Any]:
    """cox_regression keyword arguments for one reference case."""
    return {
        "ties": case["ties"],
        "weights_col": case.get("weights"),
        "strata": case.get("strata"),
        "robust": case.get("robust"),
        "cluster_col": case.get("cluster"),
    }


def _case_id(entry: dict[str, Any]) -> str:
    c = entry["case"]
    parts = [c["dataset"], "+".join(c["covariates"]), c["ties"]]
    for key in ("weights", "strata", "cluster"):
        if c.get(key):
            parts.append(f"{key}={c[key]}")
    if c.get("robust"):
        parts.append("robust")
    if c.get("transform"):
        parts.append(c["transform"])
    return "-".join(parts)


def test_reference_records_its_provenance() -> None:
    prov = REF["provenance"]
    assert prov["survival_version"].startswith("3.")
    assert RTOL == 1e-6


def test_synthetic_csv_is_the_json_dataset() -> None:
    stored = pd.read_csv(HERE / "cox_robust_data.csv")
    pd.testing.assert_frame_equal(stored, frame("pairs")[stored.columns], check_dtype=False)


@pytest.mark.parametrize("entry", REF["cox"], ids=_case_id)
def test_cox_matches_coxph(entry: dict[str, Any]) -> None:
    case = entry["case"]
    model = cox_regression(
        frame(case["dataset"]), "time", "event", case["covariates"], **fit_args(case)
    )
    assert [t.replace("[", "").replace("]", "") for t in model.terms] == list(
        np.atleast_1d(entry["terms"])
    )
    assert (model.n, model.n_events) == (entry["n"], entry["n_events"])
    robust = bool(case.get("robust")) or case.get("cluster") is not None
    assert model.variance == ("cluster" if case.get("cluster") else "robust" if robust else "model")
    for ours, theirs in [
        ("coef", "coef"),
        ("std_err", "se"),
        ("naive_std_err", "naive_se"),
        ("z", "z"),
        ("pvalue", "pvalue"),
        ("ci_low", "hr_lower_95"),
        ("ci_high", "hr_upper_95"),
        ("loglik", "loglik"),
        ("loglik_null", "loglik_null"),
        ("lr_chisq", "lr_chisq"),
        ("lr_df", "lr_df"),
        ("lr_pvalue", "lr_pvalue"),
        ("concordance", "concordance"),
    ]:
        assert_matches_r(getattr(model, ours), entry[theirs], ours)
    assert_matches_r(model.covariance.ravel(order="F"), entry["var"], "vcov")


# --- proportional hazards (cox.zph) -------------------------------------------------------


@pytest.mark.parametrize("entry", REF["zph"], ids=_case_id)
def test_proportional_hazards_matches_cox_zph(entry: dict[str, Any]) -> None:
    case = entry["case"]
    kwargs = {
        "transform": case["transform"],
        "ties": case["ties"],
        "weights_col": case.get("weights"),
        "strata": case.get("strata"),
    }
    data = frame(case["dataset"])
    by_covariate = proportional_hazards_test(data, "time", "event", case["covariates"], **kwargs)
    assert list(by_covariate.names) == entry["tests"]["names"]
    assert list(by_covariate.df) == entry["tests"]["df"]
    assert_matches_r(by_covariate.chisq, entry["tests"]["chisq"], "chisq (terms)")
    assert_matches_r(by_covariate.pvalue, entry["tests"]["p"], "p (terms)")
    by_term = proportional_hazards_test(
        data, "time", "event", case["covariates"], terms=False, **kwargs
    )
    assert [n.replace("[", "").replace("]", "") for n in by_term.names] == entry["coef_tests"][
        "names"
    ]
    assert_matches_r(by_term.chisq, entry["coef_tests"]["chisq"], "chisq (coefficients)")
    assert_matches_r(by_term.pvalue, entry["coef_tests"]["p"], "p (coefficients)")
    assert_matches_r(by_term.times, entry["time"], "event times")
    assert_matches_r(by_term.transformed_times, entry["x"], "g(t)")
    scaled = _vec(entry["y"]).reshape(-1, entry["y_ncol"], order="F")
    np.testing.assert_allclose(
        by_term.scaled_residuals, scaled, rtol=RTOL, atol=1e-9, err_msg="scaled residuals"
    )
