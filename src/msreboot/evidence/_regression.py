"""Mixed-effects meta-regression (random-effects model with moderators)."""

from __future__ import annotations

import html
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from msreboot.evidence._checks import (
    TAU2_METHODS,
    EvidenceError,
    FloatArray,
    Tau2Method,
    TestKind,
    TruncatedTau2Warning,
    check_conf_level,
    check_method,
    check_test,
)
from msreboot.evidence._meta import PooledEstimate
from msreboot.evidence._tau2 import estimate_tau2, hartung_knapp_factor, typical_variance, wls

__all__ = ["MetaRegression", "inverse_variance_method", "meta_regression"]


def inverse_variance_method(result: PooledEstimate) -> str:
    """The tau^2 estimator that refits ``result``'s studies by inverse variance.

    The pool's own estimator (REML, ML, DL, PM, FE); the common-effect model (FE) for a
    Mantel-Haenszel or Peto pool; REML for a GLMM pool (whose logit effects are refitted).
    """
    if result.method in TAU2_METHODS:
        return result.method
    return "FE" if result.method in ("MH", "PETO") else "REML"


@dataclass(frozen=True)
class MetaRegression:
    """A fitted meta-regression ``y_i = x_i' beta + u_i + e_i``.

    Attributes
    ----------
    terms
        Coefficient names: ``"intercept"``, numeric moderators by name, and
        ``"name[level]"`` dummies for categorical ones (first sorted level is the reference).
    coef, se, statistic, pvalue, ci_low, ci_high
        Per coefficient: estimate, standard error, z (or t for Hartung-Knapp), p-value, CI.
    vcov
        Covariance matrix of the coefficients (row-major tuples).
    tau2, tau2_truncated, i2, h2
        Residual between-study variance (truncated at 0 with a warning), residual I^2
        (fraction) and H^2.
    qm, qm_df, qm_df_resid, qm_pvalue
        Omnibus test of the moderators: chi-square on ``qm_df`` df (``test="z"``) or
        F(``qm_df``, ``qm_df_resid``) (``test="knha"``).
    qe, qe_df, qe_pvalue
        Test for residual heterogeneity.
    r2
        Pseudo R^2, the share of tau^2 explained: ``max(0, (tau2_0 - tau2) / tau2_0)`` with
        ``tau2_0`` from the model without moderators (NaN when ``tau2_0 = 0``).
    """

    terms: tuple[str, ...]
    coef: tuple[float, ...]
    se: tuple[float, ...]
    statistic: tuple[float, ...]
    pvalue: tuple[float, ...]
    ci_low: tuple[float, ...]
    ci_high: tuple[float, ...]
    vcov: tuple[tuple[float, ...], ...] = field(repr=False)
    tau2: float
    tau2_truncated: bool
    i2: float
    h2: float
    qm: float
    qm_df: int
    qm_df_resid: int | None
    qm_pvalue: float
    qe: float
    qe_df: int
    qe_pvalue: float
    r2: float
    k: int
    method: str
    test: str
    measure: str
    conf_level: float
    labels: tuple[str, ...] = field(repr=False)
    yi: tuple[float, ...] = field(repr=False)
    vi: tuple[float, ...] = field(repr=False)
    design: tuple[tuple[float, ...], ...] = field(repr=False)
    moderators: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per coefficient."""
        return pd.DataFrame(
            {
                "term": list(self.terms),
                "coef": list(self.coef),
                "se": list(self.se),
                "statistic": list(self.statistic),
                "pvalue": list(self.pvalue),
                "ci_low": list(self.ci_low),
                "ci_high": list(self.ci_high),
            }
        )

    def predict(self, design: npt.ArrayLike) -> pd.DataFrame:
        """Fitted mean and its CI for rows of a design matrix (columns as ``terms``)."""
        x = np.atleast_2d(np.asarray(design, dtype=np.float64))
        if x.shape[1] != len(self.terms):
            raise EvidenceError(
                f"design must have {len(self.terms)} columns ({', '.join(self.terms)}); "
                f"got {x.shape[1]}."
            )
        beta = np.asarray(self.coef)
        vcov = np.asarray(self.vcov)
        fit = x @ beta
        se = np.sqrt(np.einsum("ij,jk,ik->i", x, vcov, x))
        crit = _critical(self.test, self.conf_level, self.k - len(self.terms))
        return pd.DataFrame(
            {"fit": fit, "se": se, "ci_low": fit - crit * se, "ci_high": fit + crit * se}
        )

    def summary(self) -> str:
        """Human-readable coefficient table and tests."""
        pct = f"{100 * self.conf_level:g}%"
        lines = [
            f"Meta-regression ({self.method}, test={self.test}) of {self.k} studies",
            f"  tau^2 (residual) {self.tau2:.4g}; I^2 {100 * self.i2:.1f}%; "
            f"R^2 {100 * self.r2:.1f}%",
            f"  QE = {self.qe:.3f} on {self.qe_df} df, p = {self.qe_pvalue:.4g}",
            f"  QM = {self.qm:.3f} on {self.qm_df}"
            + (f" and {self.qm_df_resid}" if self.qm_df_resid is not None else "")
            + f" df, p = {self.qm_pvalue:.4g}",
            f"  {'term':<24}{'coef':>10}{'se':>10}{'p':>10}  {pct} CI",
        ]
        for i, term in enumerate(self.terms):
            lines.append(
                f"  {term:<24}{self.coef[i]:>10.4f}{self.se[i]:>10.4f}{self.pvalue[i]:>10.4g}"
                f"  {self.ci_low[i]:.4f} to {self.ci_high[i]:.4f}"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"


def _critical(test: str, conf_level: float, df: int) -> float:
    q = 0.5 + conf_level / 2
    return float(stats.t.ppf(q, df) if test == "knha" else stats.norm.ppf(q))


def design_matrix(
    moderators: Mapping[str, Sequence[object] | npt.ArrayLike] | pd.DataFrame, k: int
) -> tuple[FloatArray, tuple[str, ...]]:
    """Intercept plus numeric columns as they are and categorical ones as dummies."""
    frame = pd.DataFrame(moderators).reset_index(drop=True)
    if frame.shape[0] != k:
        raise EvidenceError(
            f"moderators must have one row per study; got {frame.shape[0]} rows for k={k}."
        )
    if frame.shape[1] == 0:
        raise EvidenceError("moderators must name at least one column; got none.")
    columns: list[FloatArray] = [np.ones(k)]
    terms = ["intercept"]
    for name in frame.columns:
        col = frame[name]
        if col.isna().any():
            row = int(np.flatnonzero(col.isna().to_numpy())[0])
            raise EvidenceError(
                f"moderator {name!r} must have no missing values; got one at row {row}. "
                "Drop those studies first."
            )
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            columns.append(col.to_numpy(dtype=np.float64))
            terms.append(str(name))
        else:
            levels = sorted(str(v) for v in col.unique())
            values = col.astype(str).to_numpy()
            for level in levels[1:]:
                columns.append((values == level).astype(np.float64))
                terms.append(f"{name}[{level}]")
    x = np.column_stack(columns)
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise EvidenceError(
            f"moderators must not be collinear; got a rank-deficient design for "
            f"{', '.join(terms)}. Drop a redundant moderator."
        )
    if x.shape[1] >= k:
        raise EvidenceError(
            f"meta-regression needs more studies than coefficients; got k={k} studies for "
            f"{x.shape[1]} coefficients. Use fewer moderators."
        )
    return x, tuple(terms)


def meta_regression(
    result: PooledEstimate,
    moderators: Mapping[str, Sequence[object] | npt.ArrayLike] | pd.DataFrame,
    *,
    method: Tau2Method | None = None,
    test: TestKind | None = None,
    conf_level: float | None = None,
) -> MetaRegression:
    """Regress the study effects of a pooled analysis on study-level moderators.

    Parameters
    ----------
    result
        A :class:`PooledEstimate` (its ``yi``, ``vi``, labels and measure are used).
    moderators
        One column per moderator, one row per study in the order of ``result.labels``
        (the index is ignored). Numeric columns enter as they are; text, categorical and
        bool columns as dummies against their first sorted level.
    method
        tau^2 estimator for the residual heterogeneity. Defaults to the pool's own
        (``result.method``), so a DerSimonian-Laird pool is regressed with DL; a
        Mantel-Haenszel or Peto pool with the common-effect model (FE), a GLMM pool with
        REML.
    test
        ``"z"`` (Wald; QM chi-square) or ``"knha"`` (Hartung-Knapp; t and F tests).
        Defaults to ``result.test``.
    conf_level
        Defaults to ``result.conf_level``.

    Returns
    -------
    MetaRegression

    Notes
    -----
    Weighted least squares with ``W = diag(1 / (v_i + tau^2))``:
    ``beta = (X'WX)^-1 X'Wy``, ``Var(beta) = (X'WX)^-1`` (times
    ``sum w e^2 / (k - p)`` for Hartung-Knapp). ``QM = b' V^-1 b`` over the non-intercept
    coefficients; ``QE = sum e0^2 / v_i`` with common-effect residuals. Checked against
    metafor's ``rma(yi, vi, mods = ~ ablat + year)`` on dat.bcg.

    References
    ----------
    Thompson SG, Higgins JPT. How should meta-regression analyses be undertaken and
    interpreted? Stat Med 2002;21:1559-73. doi:10.1002/sim.1187.
    Knapp G, Hartung J. Improved tests for a random effects meta-regression with a single
    covariate. Stat Med 2003;22:2693-710. doi:10.1002/sim.1482.

    Examples
    --------
    >>> from msreboot.evidence import pool
    >>> res = pool([0.1, 0.6, 0.2, 0.9, 0.5, 1.2], [0.02, 0.03, 0.02, 0.04, 0.03, 0.02])
    >>> reg = meta_regression(res, {"year": [1990, 1995, 2000, 2005, 2010, 2015]})
    >>> reg.terms
    ('intercept', 'year')
    >>> reg.coef[1] > 0
    True
    """
    method = check_method(method if method is not None else inverse_variance_method(result))
    test = check_test(test if test is not None else result.test)
    conf_level = check_conf_level(conf_level if conf_level is not None else result.conf_level)
    y = np.asarray(result.yi)
    v = np.asarray(result.vi)
    k = y.size
    x, terms = design_matrix(moderators, k)
    p = x.shape[1]
    tau2, truncated = estimate_tau2(y, v, x, method)
    fit = wls(y, v, x, tau2)
    vcov = fit.vcov
    if test == "knha":
        vcov = vcov * hartung_knapp_factor(fit.q, k - p, stacklevel=3)
    se = np.sqrt(np.diag(vcov))
    stat = fit.beta / se
    crit = _critical(test, conf_level, k - p)
    dist = stats.t(k - p) if test == "knha" else stats.norm()
    pvalue = 2 * dist.sf(np.abs(stat))
    sub = fit.beta[1:]
    qm = float(sub @ np.linalg.solve(vcov[1:, 1:], sub))
    m = p - 1
    if test == "knha":
        qm /= m
        qm_pvalue = float(stats.f.sf(qm, m, k - p))
        qm_df_resid: int | None = k - p
    else:
        qm_pvalue = float(stats.chi2.sf(qm, m))
        qm_df_resid = None
    qe = wls(y, v, x, 0.0).q
    vt = typical_variance(v, x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        tau2_0, _ = estimate_tau2(y, v, np.ones((k, 1)), method, warn=False)
    r2 = max(0.0, (tau2_0 - tau2) / tau2_0) if tau2_0 > 0 else float("nan")
    frame = pd.DataFrame(moderators)
    return MetaRegression(
        terms=terms,
        coef=tuple(float(b) for b in fit.beta),
        se=tuple(float(s) for s in se),
        statistic=tuple(float(s) for s in stat),
        pvalue=tuple(float(s) for s in pvalue),
        ci_low=tuple(float(b - crit * s) for b, s in zip(fit.beta, se, strict=True)),
        ci_high=tuple(float(b + crit * s) for b, s in zip(fit.beta, se, strict=True)),
        vcov=tuple(tuple(float(c) for c in row) for row in vcov),
        tau2=tau2,
        tau2_truncated=truncated,
        i2=tau2 / (tau2 + vt),
        h2=(tau2 + vt) / vt,
        qm=qm,
        qm_df=m,
        qm_df_resid=qm_df_resid,
        qm_pvalue=qm_pvalue,
        qe=qe,
        qe_df=k - p,
        qe_pvalue=float(stats.chi2.sf(qe, k - p)),
        r2=r2,
        k=k,
        method=method,
        test=test,
        measure=result.measure,
        conf_level=conf_level,
        labels=result.labels,
        yi=result.yi,
        vi=result.vi,
        design=tuple(tuple(float(c) for c in row) for row in x),
        moderators=tuple(str(c) for c in frame.columns),
    )
