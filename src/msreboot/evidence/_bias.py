"""Small-study effects: Egger's regression test, the rank correlation test, trim-and-fill."""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from msreboot.evidence._checks import EvidenceError, FloatArray, TruncatedTau2Warning
from msreboot.evidence._meta import _fit
from msreboot.evidence._pooled import PooledEstimate
from msreboot.evidence._regression import inverse_variance_method, meta_regression
from msreboot.evidence._tau2 import estimate_tau2, wls

__all__ = [
    "EggerTest",
    "RankCorrelationTest",
    "TrimAndFill",
    "egger_test",
    "rank_correlation_test",
    "trim_and_fill",
]

EggerModel = Literal["rma", "lm"]
EggerPredictor = Literal["sei", "vi"]


@dataclass(frozen=True)
class EggerTest:
    """Regression test for funnel-plot asymmetry (Egger's test and its mixed-effects form).

    Attributes
    ----------
    model, predictor
        ``"rma"`` (meta-regression with the pool's tau^2 estimator and test) or ``"lm"``
        (weighted least squares with a multiplicative error, Egger's original); the
        moderator ``"sei"`` (standard error) or ``"vi"`` (variance).
    statistic, pvalue, df
        z (or t on ``df`` df) statistic and two-sided p-value for the predictor's slope.
    slope, slope_se
        The predictor's coefficient and its standard error.
    limit_estimate, limit_ci_low, limit_ci_high
        The intercept: the effect expected in a study of infinite size (SE 0), with its CI.
    k, method, conf_level
        Number of studies, tau^2 estimator of the model and confidence level.
    """

    model: str
    predictor: str
    statistic: float
    pvalue: float
    df: int | None
    slope: float
    slope_se: float
    limit_estimate: float
    limit_ci_low: float
    limit_ci_high: float
    k: int
    method: str
    conf_level: float

    def to_frame(self) -> pd.DataFrame:
        """One row with every field."""
        return pd.DataFrame([{f: getattr(self, f) for f in self.__dataclass_fields__}])

    def summary(self) -> str:
        """One paragraph, as metafor's ``regtest`` prints it."""
        dist = "z" if self.df is None else f"t({self.df})"
        pct = f"{100 * self.conf_level:g}%"
        return (
            f"Regression test for funnel plot asymmetry ({self.model}, predictor "
            f"{self.predictor}, {self.method}, k = {self.k}): {dist} = "
            f"{self.statistic:.4f}, p = {self.pvalue:.4f}\n"
            f"  limit estimate (as sei -> 0) {self.limit_estimate:.4f} ({pct} CI "
            f"{self.limit_ci_low:.4f} to {self.limit_ci_high:.4f})"
        )

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"


def egger_test(
    result: PooledEstimate,
    *,
    model: EggerModel = "rma",
    predictor: EggerPredictor = "sei",
) -> EggerTest:
    """Egger's regression test for funnel-plot asymmetry of a pooled analysis.

    Parameters
    ----------
    result
        A pool (its ``yi``, ``vi``, tau^2 estimator, test and confidence level are used).
    model
        ``"rma"`` (default, as metafor's ``regtest``): the meta-regression
        ``y_i = b0 + b1 x_i + u_i + e_i`` with the pool's tau^2 estimator and test;
        ``"lm"``: Egger's original weighted regression ``y_i = b0 + b1 x_i`` with weights
        ``1 / v_i`` and a multiplicative residual variance, t-tested on k - 2 df.
    predictor
        ``x_i``: ``"sei"`` (standard error, default) or ``"vi"`` (variance).

    Returns
    -------
    EggerTest

    Raises
    ------
    EvidenceError
        Fewer than 3 studies.

    Notes
    -----
    The test is of ``b1 = 0``; ``b0`` is the limit estimate. With ``model="lm"`` and
    ``predictor="sei"`` this is Egger's regression of ``y / se`` on ``1 / se``, whose
    intercept is ``b1`` here. Pools by Mantel-Haenszel or Peto use a common-effect model,
    GLMM pools the REML one. Matched to metafor's ``regtest`` (1e-6) on dat.hackshaw1998
    and dat.bcg. With fewer than 10 studies the test has little power (Sterne et al. 2011).

    References
    ----------
    Egger M, Davey Smith G, Schneider M, Minder C. Bias in meta-analysis detected by a
    simple, graphical test. BMJ 1997;315:629-34. doi:10.1136/bmj.315.7109.629.
    Sterne JAC, Sutton AJ, Ioannidis JPA, et al. Recommendations for examining and
    interpreting funnel plot asymmetry. BMJ 2011;343:d4002. doi:10.1136/bmj.d4002.

    Examples
    --------
    >>> from msreboot.evidence import pool
    >>> yi = [0.9, 0.7, 0.4, 0.3, 0.2, 0.25]
    >>> res = pool(yi, [0.20, 0.12, 0.05, 0.03, 0.01, 0.02], method="FE")
    >>> egger = egger_test(res)
    >>> egger.slope > 0
    True
    """
    if model not in ("rma", "lm"):
        raise EvidenceError(f"model must be 'rma' or 'lm'; got {model!r}.")
    if predictor not in ("sei", "vi"):
        raise EvidenceError(f"predictor must be 'sei' or 'vi'; got {predictor!r}.")
    if len(result.yi) < 3:
        raise EvidenceError(
            f"Egger's test needs at least 3 studies; got k={len(result.yi)}. "
            "It has little power below 10."
        )
    vi = np.asarray(result.vi)
    x = np.sqrt(vi) if predictor == "sei" else vi
    if model == "rma":
        method, test = inverse_variance_method(result), result.test
    else:
        method, test = "FE", "knha"
    reg = meta_regression(result, {predictor: x}, method=method, test=test)  # type: ignore[arg-type]
    return EggerTest(
        model=model,
        predictor=predictor,
        statistic=reg.statistic[1],
        pvalue=reg.pvalue[1],
        df=reg.k - 2 if test == "knha" else None,
        slope=reg.coef[1],
        slope_se=reg.se[1],
        limit_estimate=reg.coef[0],
        limit_ci_low=reg.ci_low[0],
        limit_ci_high=reg.ci_high[0],
        k=reg.k,
        method=method,
        conf_level=reg.conf_level,
    )


@dataclass(frozen=True)
class RankCorrelationTest:
    """Begg and Mazumdar's rank correlation test for funnel-plot asymmetry.

    Attributes
    ----------
    tau
        Kendall's tau (tau-b) between the standardised effects and their variances.
    pvalue
        Two-sided p-value (exact or normal approximation, see ``exact``).
    exact
        Whether the exact null distribution was used.
    k
        Number of studies.
    """

    tau: float
    pvalue: float
    exact: bool
    k: int

    def to_frame(self) -> pd.DataFrame:
        """One row with every field."""
        return pd.DataFrame([{f: getattr(self, f) for f in self.__dataclass_fields__}])

    def summary(self) -> str:
        """One line."""
        kind = "exact" if self.exact else "normal approximation"
        return (
            f"Rank correlation test (k = {self.k}): Kendall's tau = {self.tau:.4f}, "
            f"p = {self.pvalue:.4f} ({kind})"
        )

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"


def rank_correlation_test(
    result: PooledEstimate, *, exact: bool | None = None
) -> RankCorrelationTest:
    """Begg and Mazumdar's rank correlation test of a pooled analysis.

    Parameters
    ----------
    result
        A pool (its ``yi`` and ``vi`` are used).
    exact
        Exact p-value from the permutation distribution of Kendall's statistic; by default
        exact when k < 50 and there are no ties (as R's ``cor.test``), otherwise the normal
        approximation with the tie-corrected variance (no continuity correction).

    Returns
    -------
    RankCorrelationTest

    Notes
    -----
    With the common-effect estimate ``mu`` and its variance ``v_mu = 1 / sum(1 / v_i)``,
    the standardised effects are ``(y_i - mu) / sqrt(v_i - v_mu)``; the test is Kendall's
    tau between them and ``v_i``. Matched to metafor's ``ranktest`` (1e-6).

    References
    ----------
    Begg CB, Mazumdar M. Operating characteristics of a rank correlation test for
    publication bias. Biometrics 1994;50:1088-101. doi:10.2307/2533446.

    Examples
    --------
    >>> from msreboot.evidence import pool
    >>> yi = [0.9, 0.7, 0.4, 0.3, 0.2, 0.25]
    >>> res = pool(yi, [0.20, 0.12, 0.05, 0.03, 0.01, 0.02], method="FE")
    >>> round(rank_correlation_test(res).tau, 3)
    1.0
    """
    y = np.asarray(result.yi)
    v = np.asarray(result.vi)
    k = y.size
    if k < 3:
        raise EvidenceError(f"the rank correlation test needs at least 3 studies; got k={k}.")
    w = 1.0 / v
    mu = float(np.sum(w * y) / np.sum(w))
    y_star = (y - mu) / np.sqrt(v - 1.0 / np.sum(w))
    ties = len(np.unique(y_star)) < k or len(np.unique(v)) < k
    use_exact = (k < 50 and not ties) if exact is None else bool(exact) and not ties
    res = stats.kendalltau(y_star, v, method="exact" if use_exact else "asymptotic")
    return RankCorrelationTest(
        tau=float(res.statistic), pvalue=float(res.pvalue), exact=use_exact, k=k
    )


@dataclass(frozen=True)
class TrimAndFill:
    """Duval and Tweedie's trim-and-fill analysis.

    Attributes
    ----------
    k0, side, estimator
        Number of studies imputed, the side they were imputed on (``"left"`` or
        ``"right"``) and the estimator of k0 (``"L0"`` or ``"R0"``).
    pooled
        The pool of the observed and the filled studies (filled studies labelled
        ``"filled 1"`` ...), with the original tau^2 estimator and test.
    original
        The pool of the observed studies.
    filled_yi, filled_vi
        Effects and variances of the imputed studies.
    """

    k0: int
    side: str
    estimator: str
    pooled: PooledEstimate
    original: PooledEstimate = field(repr=False)
    filled_yi: tuple[float, ...] = field(repr=False)
    filled_vi: tuple[float, ...] = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The studies of ``pooled`` with a ``filled`` flag, then the pooled row."""
        frame = self.pooled.to_frame()
        k = len(self.original.yi)
        flags = [False] * k + [True] * self.k0 + [False]
        frame.insert(1, "filled", flags)
        return frame

    def summary(self) -> str:
        """The number of filled studies and the adjusted pool."""
        return (
            f"Trim-and-fill ({self.estimator}): {self.k0} studies imputed on the "
            f"{self.side} side\n" + self.pooled.summary()
        )

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"


def _centre(y: FloatArray, v: FloatArray, method: str) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        x = np.ones((y.size, 1))
        tau2, _ = estimate_tau2(y, v, x, method, warn=False)  # type: ignore[arg-type]
    return float(wls(y, v, x, tau2).beta[0])


def _k0(dev: FloatArray, estimator: str) -> int:
    k = dev.size
    ranks = stats.rankdata(np.abs(dev), method="average")
    if estimator == "L0":
        sr = float(np.sum(ranks[dev > 0]))
        return max(0, round((4 * sr - k * (k + 1)) / (2 * k - 1)))
    neg = ranks[dev < 0]
    top = float(np.max(neg)) if neg.size else 0.0
    return max(0, int(k - top) - 1)


def trim_and_fill(
    result: PooledEstimate,
    *,
    estimator: Literal["L0", "R0"] = "L0",
    side: Literal["left", "right"] | None = None,
    max_iter: int = 100,
) -> TrimAndFill:
    """Trim-and-fill: impute the studies a funnel plot's asymmetry suggests are missing.

    Parameters
    ----------
    result
        A pool (its ``yi``, ``vi``, tau^2 estimator and test are used).
    estimator
        ``"L0"`` (default) or ``"R0"`` estimator of the number of missing studies.
    side
        Where studies are missing; by default chosen by the sign of the slope of Egger's
        test (``model="rma"``): a positive slope (small studies show larger effects) puts
        them on the left, otherwise on the right (as metafor).
    max_iter
        Maximum number of trim iterations.

    Returns
    -------
    TrimAndFill

    Notes
    -----
    With the studies sorted by effect (mirrored first when ``side="right"``), start with
    ``k0 = 0`` and repeat: pool the ``k - k0`` smallest effects, centre all effects on that
    estimate, rank the absolute deviations and set
    ``L0 = round((4 S_r - k (k + 1)) / (2k - 1))`` (``S_r`` the rank sum of the positive
    deviations) or ``R0 = gamma - 1`` (``gamma`` the run of largest deviations that are
    positive), floored at 0, until k0 repeats. The k0 largest effects are then mirrored
    about the trimmed estimate (``2 mu - y_i``, same variance) and all studies pooled with
    the pool's tau^2 estimator and test. (metafor 3.8.1's ``trimfill`` refits the filled
    data with Wald intervals even after a Hartung-Knapp pool; here the pool's test is
    kept, so only those intervals differ from metafor's.)
    Matched to metafor's ``trimfill`` (1e-6) on dat.hackshaw1998 and dat.bcg. The method
    assumes asymmetry is due to missing studies; it is a sensitivity analysis, not a
    correction.

    References
    ----------
    Duval S, Tweedie R. Trim and fill: a simple funnel-plot-based method of testing and
    adjusting for publication bias in meta-analysis. Biometrics 2000;56:455-63.
    doi:10.1111/j.0006-341X.2000.00455.x.

    Examples
    --------
    >>> from msreboot.evidence import pool
    >>> res = pool([0.9, 0.7, 0.4, 0.3, 0.2, 0.25], [0.20, 0.12, 0.05, 0.03, 0.01, 0.02],
    ...            method="FE")
    >>> tf = trim_and_fill(res)
    >>> tf.side, tf.k0 > 0
    ('left', True)
    """
    if estimator not in ("L0", "R0"):
        raise EvidenceError(f"estimator must be 'L0' or 'R0'; got {estimator!r}.")
    y0 = np.asarray(result.yi)
    v0 = np.asarray(result.vi)
    k = y0.size
    if k < 3:
        raise EvidenceError(f"trim-and-fill needs at least 3 studies; got k={k}.")
    if result.measure == "PFT":
        raise EvidenceError(
            "measure must not be 'PFT' for trim-and-fill; got a Freeman-Tukey pool, whose "
            "back-transformation needs each study's n. Pool with measure='PLO'."
        )
    method = inverse_variance_method(result)
    if side is None:
        side = "left" if egger_test(result).slope > 0 else "right"
    if side not in ("left", "right"):
        raise EvidenceError(f"side must be 'left' or 'right'; got {side!r}.")
    sign = -1.0 if side == "right" else 1.0
    order = np.argsort(sign * y0, kind="stable")
    y, v = sign * y0[order], v0[order]
    k0, previous, mu = 0, -1, 0.0
    for _ in range(max_iter):
        if k0 == previous:
            break
        previous = k0
        mu = _centre(y[: k - k0], v[: k - k0], method)
        k0 = min(_k0(y - mu, estimator), k - 1)
    filled_y = sign * (2 * mu - y[k - k0 :])
    filled_v = v[k - k0 :]
    labels = result.labels + tuple(f"filled {j + 1}" for j in range(k0))
    pooled = _fit(
        np.concatenate([y0, filled_y]),
        np.concatenate([v0, filled_v]),
        method=method,  # type: ignore[arg-type]
        test=result.test,  # type: ignore[arg-type]
        conf_level=result.conf_level,
        measure=result.measure,
        labels=labels,
        warn=False,
    )
    return TrimAndFill(
        k0=k0,
        side=side,
        estimator=estimator,
        pooled=pooled,
        original=result,
        filled_yi=tuple(float(t) for t in filled_y),
        filled_vi=tuple(float(t) for t in filled_v),
    )
