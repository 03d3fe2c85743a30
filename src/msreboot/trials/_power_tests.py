"""The test a trial's power counts, in one replicate: each non-reference arm against the
reference arm by the analysis method of the spec (``analysis.method``).

``log_rank``
    The log-rank test of the primary endpoint, the arm against the reference arm alone
    (the default; the hazard ratio gives the direction).
``cox``
    The likelihood-ratio test of the primary endpoint's Cox hazard ratio, the arm against
    the reference arm alone. Unlike the Wald test it stays valid when an arm has no events
    (the hazard ratio is then 0 or infinite and the Wald p-value near 1).
``rmst``
    The difference in restricted mean event-free time of the primary endpoint up to the
    last landmark (``analysis.times_years``), a Wald test with each arm's standard error
    as R's ``print(survfit, rmean=)`` gives it. Needs an event-free endpoint (no competing
    death).
``rate_ratio``
    The negative-binomial rate ratio of relapses after time zero
    (:func:`msreboot.stats.negative_binomial_rate_ratio`, Wald test), each patient's
    person-time running to their last EDSS assessment or death. When an arm has no
    relapse the ratio is 0 or infinite and the Wald test has no p-value; the exact
    conditional test of two Poisson rates (the arm's share of all relapses against its
    share of person-time, binomial) is used instead, which ignores over-dispersion.
``neda``
    The difference in NEDA-3 proportions from time zero to the last landmark among
    evaluable patients (:func:`msreboot.endpoints.neda_status`), a two-proportion z test
    with the pooled variance.

Each gives a two-sided p-value and whether the estimate favours the arm (hazard and rate
ratios below 1, RMST and NEDA differences above 0); a one-sided test (``analysis.sides =
1``) is significant when the estimate favours the arm and half the two-sided p-value is
below alpha. A replicate where a test cannot be computed (no events in either arm; an RMST
horizon past an arm's follow-up) has no p-value and counts as not significant.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from msreboot.data import Cohort
from msreboot.endpoints import EndpointComparison, neda_status
from msreboot.stats import negative_binomial_rate_ratio
from msreboot.trials._statistics import follow_up_and_relapses

__all__ = ["POWER_METHODS", "PowerMethod", "method_tests", "significant"]

PowerMethod = Literal["log_rank", "cox", "rmst", "rate_ratio", "neda"]
POWER_METHODS: tuple[str, ...] = PowerMethod.__args__  # type: ignore[attr-defined]
"""Every analysis method a trial's power can count."""


def method_tests(
    method: str,
    cohort: Cohort,
    arms: pd.Series,
    *,
    reference: str,
    anchor: str | pd.DataFrame,
    comparison: EndpointComparison | None,
    reliable: bool,
    tau_years: float,
) -> list[dict[str, Any]]:
    """One row per non-reference arm: ``arm``, ``effect`` (the method's estimate),
    ``p_value`` (two-sided) and ``favours_arm``.

    ``comparison`` is the primary endpoint's comparison (for the survival methods);
    ``reliable`` (whether its Cox fit is) is not needed by the likelihood-ratio test and
    is kept for the callers. ``tau_years`` is the horizon of ``rmst`` and ``neda``.
    """
    others = [a for a in dict.fromkeys(arms.to_numpy()) if a != reference]
    if method in ("log_rank", "cox", "rmst"):
        assert comparison is not None
        return [_survival_test(method, comparison, str(a), reference, tau_years) for a in others]
    if method == "rate_ratio":
        return _rate_ratio_tests(cohort, arms, reference, anchor, others)
    if method == "neda":
        table = neda_status(cohort, window_years=(0.0, tau_years), anchor=anchor).patients
        status = table.set_index("patient_id")["status"].reindex(arms.index)
        return [_neda_test(status, arms, str(a), reference) for a in others]
    raise ValueError(f"method must be one of {', '.join(POWER_METHODS)}; got {method!r}.")


def significant(tests: pd.DataFrame, alpha: float, sides: int) -> pd.Series:
    """Whether each test row is significant at ``alpha`` (two-sided, or one-sided in the
    arm's favour)."""
    p = tests["p_value"].astype(float)
    if sides == 2:
        return (p < alpha).fillna(False)
    return ((p / 2 < alpha) & tests["favours_arm"].astype(bool)).fillna(False)


def _row(arm: str, effect: float, p: float, favours: bool) -> dict[str, Any]:
    return {"arm": arm, "effect": effect, "p_value": p, "favours_arm": bool(favours)}


def _survival_test(
    method: str, comparison: EndpointComparison, arm: str, reference: str, tau: float
) -> dict[str, Any]:
    rows = comparison.hazard_ratios
    rows = rows[rows["group"] == arm]
    hr = float(rows["hazard_ratio"].iloc[0]) if len(rows) else math.nan
    if method == "log_rank":
        return _row(arm, hr, comparison.log_rank_against(arm), hr < 1)
    if method == "cox":
        return _row(arm, hr, comparison.likelihood_ratio_against(arm), hr < 1)
    mine, base = comparison.estimates[arm], comparison.estimates[reference]
    if mine.measure != "event_free":
        raise ValueError(
            "analysis.method 'rmst' needs an event-free endpoint (Kaplan-Meier); got one "
            "with death as a competing event. Use log_rank or cox."
        )
    try:
        a = mine.curve.restricted_mean(tau)  # type: ignore[union-attr]
        b = base.curve.restricted_mean(tau)  # type: ignore[union-attr]
    except ValueError:  # the horizon is past an arm's last follow-up (e.g. an early analysis)
        return _row(arm, math.nan, math.nan, False)
    difference = a.estimate - b.estimate
    se = math.hypot(a.std_err, b.std_err)
    p = 2 * stats.norm.sf(abs(difference) / se) if se > 0 else math.nan
    return _row(arm, difference, p, difference > 0)


def _rate_ratio_tests(
    cohort: Cohort, arms: pd.Series, reference: str, anchor: str | pd.DataFrame, others: list[Any]
) -> list[dict[str, Any]]:
    frame = follow_up_and_relapses(cohort, list(arms.index), anchor)
    frame["group"] = arms.reindex(frame.index).to_numpy()
    frame = frame[frame["years"] > 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an arm without relapses
        try:
            fit = negative_binomial_rate_ratio(frame, reference=reference)
        except ValueError:  # e.g. a reference arm without relapses: no ratio to test
            return [_row(str(a), math.nan, math.nan, False) for a in others]
    out = []
    for arm in others:
        rows = fit.table[fit.table["term"] == f"group[{arm}]"]
        if rows.empty:
            rows = fit.table[fit.table["term"] == str(arm)]
        ratio = float(rows["rate_ratio"].iloc[0]) if len(rows) else math.nan
        p = float(rows["p_value"].iloc[0]) if len(rows) else math.nan
        if not (np.isfinite(ratio) and ratio > 0 and np.isfinite(p)):
            ratio, p = _exact_poisson(frame, str(arm), reference)
        out.append(_row(str(arm), ratio, p, ratio < 1))
    return out


def _exact_poisson(frame: pd.DataFrame, arm: str, reference: str) -> tuple[float, float]:
    """The rate ratio and the exact conditional two-sided p-value of two Poisson rates:
    given all relapses of the two arms, the arm's count is binomial with the arm's share of
    their person-time (``nan`` without any relapse)."""
    mine = frame[frame["group"] == arm]
    base = frame[frame["group"] == reference]
    x1, x0 = int(mine["relapses"].sum()), int(base["relapses"].sum())
    t1, t0 = float(mine["years"].sum()), float(base["years"].sum())
    if x1 + x0 == 0 or t1 <= 0 or t0 <= 0:
        return math.nan, math.nan
    ratio = (x1 / t1) / (x0 / t0) if x0 else math.inf
    return ratio, float(stats.binomtest(x1, x1 + x0, t1 / (t1 + t0)).pvalue)


def _neda_test(status: pd.Series, arms: pd.Series, arm: str, reference: str) -> dict[str, Any]:
    def counts(name: str) -> tuple[int, int]:
        mine = status[arms == name]
        evaluable = mine.isin(["NEDA", "activity"])
        return int((mine == "NEDA").sum()), int(evaluable.sum())

    x1, n1 = counts(arm)
    x0, n0 = counts(reference)
    if not (n1 and n0):
        return _row(arm, math.nan, math.nan, False)
    p1, p0 = x1 / n1, x0 / n0
    pooled = (x1 + x0) / (n1 + n0)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    p = 2 * stats.norm.sf(abs(p1 - p0) / se) if se > 0 else math.nan
    return _row(arm, p1 - p0, p, p1 > p0)
