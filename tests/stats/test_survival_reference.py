"""Survival statistics against R survival 3.5 and cmprsk 2.2 (reference JSON, no R needed).

tests/reference/survival/survival_reference.R writes the JSON, datasets included, so these
tests use exactly the rows R used. Tolerance: 1e-6 relative, 1e-10 absolute near zero.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from msreboot.stats import restricted_mean_survival_time
from msreboot.stats._competing import cumulative_incidence
from msreboot.stats._cox import cox_regression
from msreboot.stats._logrank import log_rank_test
from msreboot.stats._survival import SurvivalCurve, kaplan_meier
from tests.stats.survival_checks import check_incidence_curve, check_survival_curve

HERE = Path(__file__).resolve().parents[1] / "reference" / "survival"
REF = json.loads((HERE / "survival_reference.json").read_text(encoding="utf-8"))
RTOL = REF["tolerances"]["rtol"]
ATOL = REF["tolerances"]["atol"]


def _vec(values: Any) -> np.ndarray:
    """R's numbers as a float array: scalars become length 1, null (NA) becomes nan."""
    arr = np.atleast_1d(np.asarray(values, dtype=object))
    return np.array([np.nan if v is None else float(v) for v in arr], dtype=float)


def _ours(values: Any) -> np.ndarray:
    """Our numbers as a float array, with inf as nan (R's reference turned Inf into NA)."""
    arr = np.atleast_1d(np.asarray(values, dtype=float)).copy()
    arr[np.isinf(arr)] = np.nan
    return arr


def assert_matches_r(ours: Any, theirs: Any, what: str) -> None:
    np.testing.assert_allclose(
        _ours(ours), _vec(theirs), rtol=RTOL, atol=ATOL, equal_nan=True, err_msg=what
    )


def _frame(name: str) -> pd.DataFrame:
    frame = pd.DataFrame(REF["datasets"][name])
    for col, levels in REF["factor_levels"].get(name, {}).items():
        frame[col] = pd.Categorical(frame[col], categories=levels)
    return frame


def test_reference_records_its_provenance() -> None:
    prov = REF["provenance"]
    assert prov["survival_version"].startswith("3.")
    assert prov["cmprsk_version"].startswith("2.")
    assert RTOL == 1e-6


def test_example_cohort_csv_matches_its_derivation() -> None:
    spec = importlib.util.spec_from_file_location(
        "example_cohort_survival", HERE / "example_cohort_survival.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    derived = module.example_cohort_survival()
    stored = pd.read_csv(HERE / "example_cohort_survival.csv")
    pd.testing.assert_frame_equal(derived, stored, check_dtype=False)
    assert len(REF["datasets"]["example"]) == len(stored)


# --- Kaplan-Meier ---------------------------------------------------------------------


def _km_curves() -> list[Any]:
    out = []
    for case in REF["kaplan_meier"]:
        for curve in case["curves"]:
            label = curve.get("label")
            name = f"{case['dataset']}-{case['group'] or 'all'}-{label or 'all'}"
            out.append(pytest.param(case, curve, id=name))
    return out


def _fit(
    case: dict[str, Any], curve: dict[str, Any], conf_type: str, level: float
) -> SurvivalCurve:
    frame = _frame(case["dataset"])
    if case["group"] is None:
        return kaplan_meier("time", "event", data=frame, conf_type=conf_type, conf_level=level)
    curves = kaplan_meier(
        "time", "event", group=case["group"], data=frame, conf_type=conf_type, conf_level=level
    )
    return curves[curve["label"]]


def _assert_interval(ours: Any, theirs: Any, survival: Any, conf_type: str, what: str) -> None:
    """Compare an interval limit; R's NA where S = 1 (log-log) is [1, 1] here by design."""
    ref = _vec(theirs)
    surv = _ours(survival)
    if conf_type == "log-log":
        one = np.isnan(ref) & (surv == 1.0)
        ref[one] = 1.0
    np.testing.assert_allclose(_ours(ours), ref, rtol=RTOL, atol=ATOL, equal_nan=True, err_msg=what)


@pytest.mark.parametrize(("case", "ref"), _km_curves())
def test_kaplan_meier_matches_survfit(case: dict[str, Any], ref: dict[str, Any]) -> None:
    for interval in ref["intervals"]:
        conf_type, level = interval["conf_type"], interval["conf_level"]
        tag = f"{conf_type} {level}"
        curve = _fit(case, ref, conf_type, level)
        check_survival_curve(curve)
        assert curve.n == ref["n"]
        assert_matches_r(curve.times, ref["time"], "time")
        assert_matches_r(curve.n_at_risk, ref["n_risk"], "n.risk")
        assert_matches_r(curve.n_events, ref["n_event"], "n.event")
        assert_matches_r(curve.n_censored, ref["n_censor"], "n.censor")
        assert_matches_r(curve.survival, ref["surv"], "surv")
        assert_matches_r(curve.std_err_log, ref["std_err_log"], "std.err (log scale)")
        assert_matches_r(curve.std_err, _vec(ref["surv"]) * _vec(ref["std_err_log"]), "std.err")
        _assert_interval(curve.ci_low, interval["lower"], curve.survival, conf_type, f"lower {tag}")
        _assert_interval(
            curve.ci_high, interval["upper"], curve.survival, conf_type, f"upper {tag}"
        )

        marks = ref["landmarks"]
        at = curve.at(case["landmarks"], extend=True)
        assert_matches_r(at.times, marks["time"], "landmark time")
        assert_matches_r(at.n_at_risk, marks["n_risk"], "landmark n.risk")
        assert_matches_r(at.estimate, marks["surv"], "landmark surv")
        assert_matches_r(at.std_err, marks["std_err"], "landmark std.err")
        _assert_interval(at.ci_low, interval["landmark_lower"], at.estimate, conf_type, "lm lower")
        _assert_interval(at.ci_high, interval["landmark_upper"], at.estimate, conf_type, "lm upper")
        np.testing.assert_array_equal(curve.number_at_risk(case["landmarks"]), at.n_at_risk)

        median = curve.median()
        assert_matches_r(median.estimate, ref["median"], "median")
        assert_matches_r(median.ci_low, interval["median_lower"], f"median LCL {tag}")
        assert_matches_r(median.ci_high, interval["median_upper"], f"median UCL {tag}")


@pytest.mark.parametrize(("case", "ref"), _km_curves())
def test_restricted_mean_matches_survmean(case: dict[str, Any], ref: dict[str, Any]) -> None:
    curve = _fit(case, ref, "log-log", 0.95)
    rmst = restricted_mean_survival_time(curve, tau=ref["tau"])
    assert_matches_r(rmst.estimate, ref["rmean"], "rmean")
    assert_matches_r(rmst.std_err, ref["rmean_se"], "se(rmean)")
    assert rmst.ci_low <= rmst.estimate <= rmst.ci_high


# --- log-rank -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    REF["log_rank"],
    ids=lambda c: f"{c['dataset']}-{c['group']}-{c['strata'] or 'unstratified'}",
)
def test_log_rank_matches_survdiff(case: dict[str, Any]) -> None:
    frame = _frame(case["dataset"])
    test = log_rank_test("time", "event", case["group"], strata=case["strata"], data=frame)
    ref_groups = [str(g) for g in case["groups"]]
    order = [ref_groups.index(str(g)) for g in test.groups]
    k = len(order)
    assert_matches_r(test.n, _vec(case["n"])[order], "n")
    assert_matches_r(test.observed, _vec(case["observed"])[order], "observed")
    assert_matches_r(test.expected, _vec(case["expected"])[order], "expected")
    variance = _vec(case["variance"]).reshape(k, k)[np.ix_(order, order)]
    np.testing.assert_allclose(test.variance, variance, rtol=RTOL, atol=1e-9, err_msg="var")
    assert_matches_r(test.chisq, case["chisq"], "chisq")
    assert test.df == case["df"]
    assert_matches_r(test.pvalue, case["pvalue"], "p")
    assert (test.strata is None) == (case["strata"] is None)


# --- Cox ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    REF["cox"],
    ids=lambda c: f"{c['dataset']}-{'+'.join(c['covariates'])}-{c['ties']}",
)
def test_cox_matches_coxph(case: dict[str, Any]) -> None:
    frame = _frame(case["dataset"]).dropna(subset=["time", "event", *case["covariates"]])
    model = cox_regression(frame, "time", "event", case["covariates"], ties=case["ties"])
    assert [t.replace("[", "").replace("]", "") for t in model.terms] == case["terms"]
    assert (model.n, model.n_events) == (case["n"], case["n_events"])
    for ours, theirs in [
        ("coef", "coef"),
        ("std_err", "se"),
        ("z", "z"),
        ("pvalue", "pvalue"),
        ("hazard_ratio", "hr"),
        ("ci_low", "hr_lower_95"),
        ("ci_high", "hr_upper_95"),
        ("loglik", "loglik"),
        ("loglik_null", "loglik_null"),
        ("lr_chisq", "lr_chisq"),
        ("lr_df", "lr_df"),
        ("lr_pvalue", "lr_pvalue"),
        ("concordance", "concordance"),
    ]:
        assert_matches_r(getattr(model, ours), case[theirs], ours)
    at90 = cox_regression(
        frame, "time", "event", case["covariates"], ties=case["ties"], conf_level=0.90
    )
    assert_matches_r(at90.ci_low, case["hr_lower_90"], "HR lower 90%")
    assert_matches_r(at90.ci_high, case["hr_upper_90"], "HR upper 90%")


# --- cumulative incidence -----------------------------------------------------------------


def _cif_curves() -> list[Any]:
    out = []
    for case in REF["cumulative_incidence"]:
        for curve in case["curves"]:
            label = curve.get("label")
            name = f"{case['dataset']}-{label or 'all'}-cause{curve['cause']}"
            out.append(pytest.param(case, curve, id=name))
    return out


@pytest.mark.parametrize(("case", "ref"), _cif_curves())
def test_cumulative_incidence_matches_cuminc(case: dict[str, Any], ref: dict[str, Any]) -> None:
    frame = _frame(case["dataset"])
    if case["group"] is None:
        curve = cumulative_incidence("time", "status", cause=ref["cause"], data=frame)
    else:
        curves = cumulative_incidence(
            "time", "status", cause=ref["cause"], group=case["group"], data=frame
        )
        curve = curves[ref["label"]]
    check_incidence_curve(curve)
    at = curve.at(ref["time"])
    assert_matches_r(at.estimate, ref["est"], "est")
    assert_matches_r(at.std_err**2, ref["var"], "var")
    np.testing.assert_allclose(curve.std_err**2, curve.variance, rtol=1e-12)
