"""Cox proportional-hazards regression with Efron (or Breslow) ties, checked against R coxph."""

from __future__ import annotations

import html
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from msreboot.stats._checks import (
    FloatArray,
    IntArray,
    as_events,
    as_times,
    check_conf_level,
    z_value,
)
from msreboot.stats._cox_fit import CoxData, PartialLikelihood, concordance, newton
from msreboot.stats._design import design_matrix

__all__ = ["CoxFit", "CoxModel", "cox_regression", "fit_cox"]

Ties = Literal["efron", "breslow"]

#: Newton-Raphson stops when the log partial likelihood changes by less than this
#: (relative), as R's ``coxph.control(eps=)`` (R's default is 1e-9).
_EPS = 1e-12
_MAX_ITER = 100
_MAX_HALVINGS = 40


@dataclass(frozen=True, eq=False)
class CoxModel:
    """A fitted Cox proportional-hazards model.

    Attributes
    ----------
    terms
        One name per coefficient: the covariate, or ``"column[level]"`` for each non-reference
        level of a categorical covariate (treatment coding, as R's default contrasts).
    coef, std_err, z, pvalue
        Log hazard ratios, their model-based standard errors, Wald z and two-sided p.
    hazard_ratio, ci_low, ci_high
        exp(coef) and its Wald interval exp(coef -/+ z std_err) at ``conf_level``.
    covariance
        Covariance matrix of ``coef`` used for ``std_err``, z, p and the intervals: the
        inverse observed information, or the robust (sandwich) estimate when ``variance``
        is ``"robust"`` or ``"cluster"``.
    loglik, loglik_null
        Log partial likelihood at the estimate and at coef = 0.
    lr_chisq, lr_df, lr_pvalue
        Likelihood-ratio test of all coefficients = 0.
    concordance
        Harrell's C of the linear predictor (pairs tied in time are not comparable; ties in
        the predictor count 1/2), as R's ``coxph`` reports it.
    n, n_events
        Patients and events used.
    reference_levels
        For each categorical covariate, its reference level.
    ties, conf_level
        Tie handling (``"efron"`` as R's default) and interval level.
    variance
        ``"model"`` (inverse information), ``"robust"`` (sandwich, one cluster per row) or
        ``"cluster"`` (sandwich summed within clusters), as R ``coxph(robust=, cluster=)``.
    naive_std_err, naive_covariance
        The model-based standard errors and covariance (R's ``naive.var``); equal to
        ``std_err`` and ``covariance`` when ``variance == "model"``.
    n_clusters
        Number of clusters of the cluster-robust variance (rows for ``"robust"``).
    strata, n_strata
        The stratification columns (each stratum has its own baseline hazard) and the number
        of strata (1 when unstratified).
    weighted, sum_weights
        Whether case weights were given, and their sum.
    """

    terms: tuple[str, ...]
    coef: FloatArray = field(repr=False)
    std_err: FloatArray = field(repr=False)
    z: FloatArray = field(repr=False)
    pvalue: FloatArray = field(repr=False)
    hazard_ratio: FloatArray = field(repr=False)
    ci_low: FloatArray = field(repr=False)
    ci_high: FloatArray = field(repr=False)
    covariance: FloatArray = field(repr=False)
    loglik: float
    loglik_null: float
    lr_chisq: float
    lr_df: int
    lr_pvalue: float
    concordance: float
    n: int
    n_events: int
    reference_levels: Mapping[str, Hashable]
    ties: str
    conf_level: float
    variance: str = "model"
    naive_std_err: FloatArray = field(default_factory=lambda: np.empty(0), repr=False)
    naive_covariance: FloatArray = field(default_factory=lambda: np.empty((0, 0)), repr=False)
    n_clusters: int | None = None
    strata: tuple[str, ...] = ()
    n_strata: int = 1
    weighted: bool = False
    sum_weights: float | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per term: coef, std_err, z, pvalue, hazard_ratio, ci_low, ci_high."""
        return pd.DataFrame(
            {
                "term": list(self.terms),
                "coef": self.coef,
                "std_err": self.std_err,
                "z": self.z,
                "pvalue": self.pvalue,
                "hazard_ratio": self.hazard_ratio,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "conf_level": self.conf_level,
            }
        )

    def summary(self) -> str:
        pct = f"{100 * self.conf_level:g}%"
        extras = []
        if self.strata:
            extras.append(f"stratified by {', '.join(self.strata)} ({self.n_strata} strata)")
        if self.weighted:
            extras.append(f"case weights (sum {self.sum_weights:.4g})")
        if self.variance == "robust":
            extras.append("robust (sandwich) standard errors")
        elif self.variance == "cluster":
            extras.append(f"cluster-robust standard errors ({self.n_clusters} clusters)")
        lines = [
            f"Cox model ({self.ties} ties): n = {self.n}, {self.n_events} events; "
            f"concordance {self.concordance:.3f}",
            *(f"  {e}" for e in extras),
            f"  likelihood ratio test {self.lr_chisq:.2f} on {self.lr_df} df, "
            f"p = {_fmt_p(self.lr_pvalue)}",
        ]
        for i, term in enumerate(self.terms):
            lines.append(
                f"  {term}: HR {self.hazard_ratio[i]:.3g} ({pct} CI {self.ci_low[i]:.3g} to "
                f"{self.ci_high[i]:.3g}), p = {_fmt_p(self.pvalue[i])}"
            )
        if self.reference_levels:
            refs = ", ".join(f"{k} = {v}" for k, v in self.reference_levels.items())
            lines.append(f"  reference levels: {refs}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        lines = [x for x in self.summary().splitlines() if ": HR " not in x]
        head = "<br>".join(html.escape(x) for x in lines if "reference levels" not in x)
        return f"<p>{head}</p>" + self.to_frame().to_html(index=False)


def _fmt_p(p: float) -> str:
    return f"{p:.3g}" if p >= 1e-4 else f"{p:.2e}"


def _concordance(
    time: FloatArray, event: FloatArray, eta: FloatArray, weight: FloatArray, stratum: IntArray
) -> float:
    """Harrell's C (weighted, within strata), NaN with a warning when no pair is comparable."""
    good, total = concordance(time, event, eta, weight, stratum)
    if total == 0:
        warnings.warn(
            "concordance is undefined (NaN): no pair of patients is comparable (every "
            "event is at the latest follow-up time of its stratum, e.g. all at t = 0).",
            RuntimeWarning,
            stacklevel=3,
        )
        return float("nan")
    return good / total


def _weights(rows: pd.DataFrame, weights_col: str | None) -> FloatArray:
    if weights_col is None:
        return np.ones(len(rows))
    w = pd.to_numeric(rows[weights_col], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(w) | (w <= 0))
    if bad.size:
        raise ValueError(
            f"{weights_col} must be finite case weights > 0; got "
            f"{w[bad[0]]:g} at position {int(bad[0])} ({bad.size} such "
            "row(s)). Drop rows with zero weight (R's coxph refuses them too)."
        )
    return w


def _codes(rows: pd.DataFrame, cols: Sequence[str]) -> tuple[IntArray, int]:
    if not cols:
        return np.zeros(len(rows), dtype=np.int64), 1
    codes = rows[list(cols)].astype(object).apply(tuple, axis=1)
    try:
        labels, uniques = pd.factorize(codes, sort=True)  # R orders strata as sorted levels
    except TypeError:
        labels, uniques = pd.factorize(codes, sort=False)
    return labels.astype(np.int64), len(uniques)


def _sandwich(
    model: PartialLikelihood,
    beta: FloatArray,
    covariance: FloatArray,
    cluster: IntArray | None,
) -> tuple[FloatArray, int]:
    """R's robust variance: D'D with D the weighted dfbeta residuals summed per cluster."""
    weight = np.empty_like(model.data.weight)
    weight[model.data.order] = model.data.weight
    dfbeta = (weight[:, None] * model.score_residuals(beta)) @ covariance
    if cluster is not None:
        n_clusters = int(cluster.max()) + 1
        dfbeta = np.column_stack(
            [np.bincount(cluster, weights=col, minlength=n_clusters) for col in dfbeta.T]
        )
    return dfbeta.T @ dfbeta, int(dfbeta.shape[0])


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def cox_regression(
    frame: pd.DataFrame,
    duration_col: str,
    event_col: str,
    covariates: Sequence[str],
    *,
    ties: Ties = "efron",
    conf_level: float = 0.95,
    reference: Mapping[str, Hashable] | None = None,
    weights_col: str | None = None,
    strata: str | Sequence[str] | None = None,
    robust: bool | None = None,
    cluster_col: str | None = None,
) -> CoxModel:
    """Fit a Cox proportional-hazards model, optionally weighted, stratified, robust.

    Parameters
    ----------
    frame
        One row per patient (or per patient and eligible time); its index is ignored.
    duration_col, event_col
        Columns with follow-up (>= 0) and the event indicator (bool or 0/1).
    covariates
        Columns to model. Numeric and bool columns enter as they are; text and categorical
        columns are treatment-coded against a reference level, as R does: the first
        category of a categorical column, else the first label in sorted order.
    ties
        ``"efron"`` (default, as R ``coxph``) or ``"breslow"``.
    conf_level
        Level of the hazard-ratio intervals.
    reference
        Reference level per categorical covariate, e.g. ``{"conditioning": "cy200_atg"}``.
    weights_col
        Column of case weights (> 0), e.g. inverse probability of treatment weights; as R's
        ``coxph(weights=)``. Weighted models should normally use a robust variance.
    strata
        Column(s) whose combinations are strata with their own baseline hazard (R's
        ``strata()``), e.g. matched sets or centres.
    robust
        Use the robust (sandwich) variance for standard errors, z, p and intervals (R's
        ``robust=TRUE``). Defaults to ``True`` when ``cluster_col`` is given, else ``False``.
    cluster_col
        Column of cluster ids (matched pairs, patients with several eligible times): the
        sandwich sums each cluster's dfbeta residuals first (R's ``cluster()``).

    Returns
    -------
    CoxModel

    Raises
    ------
    ValueError
        Unknown columns, missing values (R drops such rows silently; drop them explicitly
        first), no events, constant or collinear covariates, weights not > 0,
        ``robust=False`` with ``cluster_col``, or invalid arguments.

    Notes
    -----
    The weighted log partial likelihood with Efron ties is, per stratum and event time
    with d tied events, sum_deaths w_i eta_i - (sum_deaths w_i / d) sum_{k<d}
    log(S0 - (k/d) D0), S0 = sum over the risk set of w_j exp(eta_j) and D0 the same over
    the d deaths (Breslow: sum w_i eta_i - sum_deaths w_i log S0); this is R's
    ``coxph``. It is computed in numpy and maximised by Newton-Raphson with step halving
    from coef = 0 until the log-likelihood changes by less than 1e-12 (relative). The
    model-based covariance is the inverse observed information. The robust covariance is
    D'D, with D the dfbeta residuals w_i L_i I^-1 (L_i the score residual of row i, which
    sum to the score) summed within clusters, one cluster per row without
    ``cluster_col`` (Lin and Wei 1989); intervals and p-values are Wald on the chosen
    variance, the likelihood-ratio test uses the weighted log-likelihood as R does. A
    coefficient that keeps growing (monotone likelihood, e.g. a group without events)
    raises a ``RuntimeWarning``. Concordance is Harrell's C within strata, each pair
    weighted w_i w_j; it is NaN, with a ``RuntimeWarning``, when no pair is comparable.

    Checked against R ``survival::coxph`` (3.5; Efron and Breslow) to 1e-6 relative:
    coefficients, model-based and robust standard errors (with and without clusters,
    weights and strata), z, p, intervals, log-likelihoods, likelihood-ratio test and
    concordance (``tests/reference/survival``).

    References
    ----------
    Cox DR. Regression models and life-tables. J R Stat Soc B 1972;34:187-220.
    doi:10.1111/j.2517-6161.1972.tb00899.x
    Efron B. The efficiency of Cox's likelihood function for censored data. J Am Stat Assoc
    1977;72:557-565. doi:10.1080/01621459.1977.10480613
    Lin DY, Wei LJ. The robust inference for the Cox proportional hazards model. J Am Stat
    Assoc 1989;84:1074-1078. doi:10.1080/01621459.1989.10478874

    Examples
    --------
    Acute myelogenous leukaemia, maintenance chemotherapy or not (R's ``survival::aml``):

    >>> import pandas as pd
    >>> aml = pd.DataFrame(
    ...     {
    ...         "weeks": [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161,
    ...                   5, 5, 8, 8, 12, 16, 23, 27, 30, 33, 43, 45],
    ...         "relapse": [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0,
    ...                     1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1],
    ...         "arm": ["maintained"] * 11 + ["not maintained"] * 12,
    ...     }
    ... )
    >>> print(cox_regression(aml, "weeks", "relapse", ["arm"]).summary())
    Cox model (efron ties): n = 23, 18 events; concordance 0.619
      likelihood ratio test 3.38 on 1 df, p = 0.0658
      arm[not maintained]: HR 2.5 (95% CI 0.916 to 6.81), p = 0.0737
      reference levels: arm = maintained
    """
    return fit_cox(
        frame,
        duration_col,
        event_col,
        covariates,
        ties=ties,
        conf_level=conf_level,
        reference=reference,
        weights_col=weights_col,
        strata=strata,
        robust=robust,
        cluster_col=cluster_col,
    ).model


@dataclass(frozen=True, eq=False)
class CoxFit:
    """A fitted model with what residual-based checks need (private to msreboot.stats)."""

    model: CoxModel
    likelihood: PartialLikelihood
    covariates: tuple[str, ...]
    time: FloatArray
    event: FloatArray


def fit_cox(
    frame: pd.DataFrame,
    duration_col: str,
    event_col: str,
    covariates: Sequence[str],
    *,
    ties: Ties = "efron",
    conf_level: float = 0.95,
    reference: Mapping[str, Hashable] | None = None,
    weights_col: str | None = None,
    strata: str | Sequence[str] | None = None,
    robust: bool | None = None,
    cluster_col: str | None = None,
) -> CoxFit:
    """:func:`cox_regression`, keeping the likelihood and the data for residuals."""
    from scipy import stats

    conf_level = check_conf_level(conf_level)
    if ties not in ("efron", "breslow"):
        raise ValueError(f"ties must be 'efron' or 'breslow'; got {ties!r}.")
    if robust is False and cluster_col is not None:
        raise ValueError(
            f"robust must be True (or None) with cluster_col; got robust=False and "
            f"cluster_col={cluster_col!r}. A cluster only changes the robust variance."
        )
    use_robust = bool(robust) or cluster_col is not None
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    if not covariates:
        raise ValueError("covariates must name at least one column; got none.")
    strata_cols = _as_list(strata)
    extra = [c for c in (weights_col, cluster_col) if c is not None]
    needed = list(dict.fromkeys([duration_col, event_col, *covariates, *strata_cols, *extra]))
    absent = [c for c in needed if c not in frame.columns]
    if absent:
        raise ValueError(
            f"columns must exist in frame; got unknown {absent!r}. "
            f"Columns are: {', '.join(map(str, frame.columns))}."
        )
    rows = frame[needed].reset_index(drop=True)
    missing = rows.isna().any(axis=1).to_numpy()
    if missing.any():
        where = np.flatnonzero(missing)
        cols = [c for c in needed if rows[c].isna().any()]
        raise ValueError(
            f"model columns must have no missing values; got {where.size} row(s) with missing "
            f"{cols!r} (first at position {int(where[0])}). Drop them first, e.g. "
            f"frame.dropna(subset={needed!r}) (R's coxph drops them silently)."
        )
    time = as_times(rows[duration_col], name=duration_col)
    event = as_events(rows[event_col], name=event_col)
    n_events = int(event.sum())
    if n_events == 0:
        raise ValueError(
            f"{event_col} must hold at least one event; got none. A Cox model needs events."
        )
    weight = _weights(rows, weights_col)
    stratum, n_strata = _codes(rows, strata_cols)
    x, terms, refs = design_matrix(rows, covariates, dict(reference or {}), intercept=False)
    data = CoxData.build(time, event, x, weight, stratum)
    model = PartialLikelihood(data, ties)
    p = x.shape[1]
    beta, loglik, score, information, converged = newton(model, p, _EPS, _MAX_ITER, _MAX_HALVINGS)
    if not converged:
        warnings.warn(
            f"Cox model did not converge in {_MAX_ITER} Newton steps; the estimates may be "
            "unreliable.",
            RuntimeWarning,
            stacklevel=2,
        )
    naive = np.asarray(np.linalg.inv(information), dtype=np.float64)
    step = naive @ score
    unstable = (np.abs(step) > 1e-9) & (np.abs(step) > np.sqrt(1e-9) * np.abs(beta))
    if unstable.any():
        warnings.warn(
            "coefficient(s) "
            f"{[t for t, u in zip(terms, unstable, strict=True) if u]!r} may be infinite "
            "(monotone likelihood, e.g. no events in a group); their estimates, standard "
            "errors and p-values are unreliable.",
            RuntimeWarning,
            stacklevel=2,
        )
    variance = "model"
    covariance = naive
    n_clusters: int | None = None
    if use_robust:
        cluster = None
        if cluster_col is not None:
            cluster = _codes(rows, [cluster_col])[0]
            variance = "cluster"
        else:
            variance = "robust"
        covariance, n_clusters = _sandwich(model, beta, naive, cluster)
    std_err = np.sqrt(np.diag(covariance))
    z = beta / std_err
    crit = z_value(conf_level)
    with np.errstate(over="ignore"):  # an infinite coefficient's upper limit is inf
        hazard_ratio = np.exp(beta)
        ci_low = np.exp(beta - crit * std_err)
        ci_high = np.exp(beta + crit * std_err)
    loglik_null = model.loglik(np.zeros(p))
    lr = max(2.0 * (loglik - loglik_null), 0.0)
    fitted = CoxModel(
        terms=terms,
        coef=beta,
        std_err=std_err,
        z=z,
        pvalue=2.0 * stats.norm.sf(np.abs(z)),
        hazard_ratio=hazard_ratio,
        ci_low=ci_low,
        ci_high=ci_high,
        covariance=covariance,
        loglik=loglik,
        loglik_null=loglik_null,
        lr_chisq=lr,
        lr_df=len(terms),
        lr_pvalue=float(stats.chi2.sf(lr, len(terms))),
        concordance=_concordance(time, event, x @ beta, weight, stratum),
        n=int(time.size),
        n_events=n_events,
        reference_levels=refs,
        ties=ties,
        conf_level=conf_level,
        variance=variance,
        naive_std_err=np.sqrt(np.diag(naive)),
        naive_covariance=naive,
        n_clusters=n_clusters,
        strata=tuple(strata_cols),
        n_strata=n_strata,
        weighted=weights_col is not None,
        sum_weights=float(weight.sum()) if weights_col is not None else None,
    )
    return CoxFit(
        model=fitted,
        likelihood=model,
        covariates=tuple(covariates),
        time=time,
        event=event,
    )
