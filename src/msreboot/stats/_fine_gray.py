"""Fine-Gray proportional subdistribution hazards regression (R ``cmprsk::crr``)."""

from __future__ import annotations

import html
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from msreboot.stats._checks import FloatArray, as_status, as_times, check_conf_level, z_value
from msreboot.stats._design import design_matrix

__all__ = ["FineGrayModel", "fine_gray"]

_EPS = 1e-12
_MAX_ITER = 100


@dataclass(frozen=True, eq=False)
class FineGrayModel:
    """A fitted Fine-Gray model for the cumulative incidence of one cause.

    Attributes
    ----------
    terms
        One name per coefficient (covariates coded as in :func:`cox_regression`).
    coef, std_err, z, pvalue
        Log subdistribution hazard ratios, their robust (sandwich) standard errors as
        ``crr`` reports them, Wald z and two-sided p.
    hazard_ratio, ci_low, ci_high
        Subdistribution hazard ratios exp(coef) and their Wald interval at ``conf_level``.
    covariance, naive_covariance
        The sandwich covariance (crr's ``var``) and the inverse information (``invinf``).
    naive_std_err
        Square roots of the diagonal of ``naive_covariance``.
    loglik, loglik_null
        Log pseudo-likelihood at the estimate and at coef = 0.
    baseline_times, baseline_jumps
        The distinct event times of ``cause`` and the baseline subdistribution hazard
        jumps there (at covariates 0; crr's ``uftime`` and ``bfitj``).
    n, n_events, n_competing, n_censored
        Patients, events of ``cause``, competing events and censorings.
    cause, conf_level
        The status code modelled and the interval level.
    reference_levels
        For each categorical covariate, its reference level.
    covariates
        The covariate columns (needed to predict for new rows).
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
    naive_covariance: FloatArray = field(repr=False)
    naive_std_err: FloatArray = field(repr=False)
    loglik: float
    loglik_null: float
    baseline_times: FloatArray = field(repr=False)
    baseline_jumps: FloatArray = field(repr=False)
    n: int
    n_events: int
    n_competing: int
    n_censored: int
    cause: int
    conf_level: float
    reference_levels: Mapping[str, Hashable]
    covariates: tuple[str, ...]

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

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Predicted cumulative incidence of ``cause`` for each row of ``frame`` (``predict.crr``).

        F(t | z) = 1 - exp(-exp(z' coef) sum over event times u <= t of the baseline
        jumps). ``frame`` holds the covariate columns; categorical values must be levels
        seen in the fit.

        Returns
        -------
        pandas.DataFrame
            Tidy: ``profile`` (position of the row in ``frame``), ``time`` (each distinct
            event time of the cause) and ``cumulative_incidence``.
        """
        x = _profiles(frame, self.covariates, self.terms, self.reference_levels)
        cum = np.cumsum(self.baseline_jumps)
        risk = np.exp(x @ self.coef)
        ci = 1.0 - np.exp(-np.outer(risk, cum))
        k, m = ci.shape
        return pd.DataFrame(
            {
                "profile": np.repeat(np.arange(k), m),
                "time": np.tile(self.baseline_times, k),
                "cumulative_incidence": ci.ravel(),
            }
        )

    def summary(self) -> str:
        pct = f"{100 * self.conf_level:g}%"
        lines = [
            f"Fine-Gray model for cause {self.cause}: n = {self.n}, {self.n_events} events, "
            f"{self.n_competing} competing, {self.n_censored} censored; robust standard errors"
        ]
        for i, term in enumerate(self.terms):
            lines.append(
                f"  {term}: subdistribution HR {self.hazard_ratio[i]:.3g} ({pct} CI "
                f"{self.ci_low[i]:.3g} to {self.ci_high[i]:.3g}), p = {_fmt_p(self.pvalue[i])}"
            )
        if self.reference_levels:
            refs = ", ".join(f"{k} = {v}" for k, v in self.reference_levels.items())
            lines.append(f"  reference levels: {refs}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = html.escape(self.summary().splitlines()[0])
        return f"<p>{head}</p>" + self.to_frame().to_html(index=False)


def _fmt_p(p: float) -> str:
    return f"{p:.3g}" if p >= 1e-4 else f"{p:.2e}"


def _profiles(
    frame: pd.DataFrame,
    covariates: Sequence[str],
    terms: Sequence[str],
    reference: Mapping[str, Hashable],
) -> FloatArray:
    absent = [c for c in covariates if c not in frame.columns]
    if absent:
        raise ValueError(
            f"frame must hold the model's covariates; got no column(s) {absent!r}. "
            f"Covariates: {list(covariates)!r}."
        )
    columns = []
    for term in terms:
        if term in covariates:
            columns.append(frame[term].to_numpy(dtype=np.float64))
            continue
        col = next(c for c in covariates if term.startswith(f"{c}["))
        level = term[len(col) + 1 : -1]
        values = frame[col].astype(object).to_numpy()
        known = {str(v) for v in [reference.get(col)]} | {
            t[len(col) + 1 : -1] for t in terms if t.startswith(f"{col}[")
        }
        unknown = sorted({str(v) for v in values} - known)
        if unknown:
            raise ValueError(
                f"{col} must hold levels seen in the fit; got {unknown!r}. "
                f"Levels: {sorted(known)!r}."
            )
        columns.append(np.array([str(v) == level for v in values], dtype=np.float64))
    return np.column_stack(columns)


class _Data:
    """Rows sorted by time with the censoring distribution and the cause-1 event times."""

    def __init__(self, time: FloatArray, status: FloatArray, cause: int, x: FloatArray) -> None:
        order = np.argsort(time, kind="stable")
        self.time, self.x = time[order], x[order]
        st = status[order]
        self.order = order
        self.fail = st == cause
        self.compete = (st > 0) & ~self.fail
        self.censor = st == 0
        times, inverse = np.unique(self.time, return_inverse=True)
        n = self.time.size
        counts = np.bincount(inverse, minlength=times.size)
        at_risk = n - np.concatenate(([0], np.cumsum(counts)[:-1]))
        cens = np.bincount(inverse, weights=self.censor, minlength=times.size)
        g = np.cumprod(1.0 - cens / at_risk)
        self.g_before_row = np.concatenate(([1.0], g[:-1]))[inverse]  # G(t_i-)
        self.u, self.d = np.unique(self.time[self.fail], return_counts=True)
        self.g_before_u = np.concatenate(([1.0], g[:-1]))[np.searchsorted(times, self.u)]
        self.first_at = np.searchsorted(self.time, self.u, side="left")  # rows t >= u
        # Cause-2 rows with t < u: those before first_at.
        self.dc = cens / at_risk  # censoring hazard jumps at each distinct time
        self.times, self.inverse, self.at_risk = times, inverse, at_risk


def _sums(data: _Data, xc: FloatArray, beta: FloatArray) -> tuple[FloatArray, ...]:
    r = np.exp(xc @ beta)
    a0 = np.concatenate((np.cumsum(r[::-1])[::-1], [0.0]))
    a1 = np.vstack((np.cumsum((r[:, None] * xc)[::-1], axis=0)[::-1], np.zeros(xc.shape[1])))
    rc = np.where(data.compete, r / data.g_before_row, 0.0)
    b0 = np.concatenate(([0.0], np.cumsum(rc)))
    b1 = np.vstack((np.zeros(xc.shape[1]), np.cumsum(rc[:, None] * xc, axis=0)))
    k = data.first_at
    s0 = a0[k] + data.g_before_u * b0[k]
    s1 = a1[k] + data.g_before_u[:, None] * b1[k]
    return r, s0, s1


def _derivatives(
    data: _Data, xc: FloatArray, beta: FloatArray
) -> tuple[float, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    r, s0, s1 = _sums(data, xc, beta)
    e = s1 / s0[:, None]
    loglik = float(xc[data.fail].sum(axis=0) @ beta - data.d @ np.log(s0))
    score = xc[data.fail].sum(axis=0) - data.d @ e
    jump = data.d / s0
    # sum_k jump_k S2_k = sum_j r_j x_j x_j' c_j, c_j = sum_k jump_k w_j(u_k).
    cum = np.concatenate(([0.0], np.cumsum(jump)))
    rev = np.concatenate((np.cumsum((jump * data.g_before_u)[::-1])[::-1], [0.0]))
    n_before = np.searchsorted(data.u, data.time, side="right")  # u_k <= t_j
    c = cum[n_before] + np.where(data.compete, rev[n_before] / data.g_before_row, 0.0)
    info = (xc * (r * c)[:, None]).T @ xc - (e * data.d[:, None]).T @ e
    return loglik, score, info, r, jump, e


def _sandwich(
    data: _Data, xc: FloatArray, r: FloatArray, jump: FloatArray, e: FloatArray
) -> FloatArray:
    """Sum over patients of (eta_i + psi_i)(eta_i + psi_i)' (Fine and Gray 1999)."""
    n_before = np.searchsorted(data.u, data.time, side="right")
    k_of_fail = np.searchsorted(data.u, data.time)
    # eta_i = delta_i (x_i - E(t_i)) - sum_k (x_i - E_k) w_i(u_k) r_i jump_k
    h1 = np.concatenate(([0.0], np.cumsum(jump)))
    he1 = np.vstack((np.zeros(xc.shape[1]), np.cumsum(jump[:, None] * e, axis=0)))
    gj = jump * data.g_before_u
    h2 = np.concatenate((np.cumsum(gj[::-1])[::-1], [0.0]))
    he2 = np.vstack((np.cumsum((gj[:, None] * e)[::-1], axis=0)[::-1], np.zeros(xc.shape[1])))
    comp = np.where(data.compete, 1.0 / data.g_before_row, 0.0)
    h = h1[n_before] + comp * h2[n_before]
    he = he1[n_before] + comp[:, None] * he2[n_before]
    eta = -r[:, None] * (xc * h[:, None] - he)
    fail_rows = np.flatnonzero(data.fail)
    eta[fail_rows] += xc[fail_rows] - e[k_of_fail[fail_rows]]
    # psi_i = sum over censoring times v of dM_i^c(v) Q(v) / pi(v), with
    # Q(v) = sum over competing rows t_i < v of r_i / G(t_i-) sum_{u_k >= v} G(u_k-) jump_k
    # (x_i - E_k) and pi(v) the number at risk at v.
    v = data.times
    first_v = np.searchsorted(data.time, v, side="left")  # rows with t < v: before it
    rc = np.where(data.compete, r / data.g_before_row, 0.0)
    b0 = np.concatenate(([0.0], np.cumsum(rc)))[first_v]
    b1 = np.vstack((np.zeros(xc.shape[1]), np.cumsum(rc[:, None] * xc, axis=0)))[first_v]
    k_from = np.searchsorted(data.u, v, side="left")  # u_k >= v
    q = b1 * h2[k_from][:, None] - b0[:, None] * he2[k_from]
    ratio = q / data.at_risk[:, None]
    cum_ratio = np.cumsum(data.dc[:, None] * ratio, axis=0)
    psi = np.where(data.censor[:, None], ratio[data.inverse], 0.0) - cum_ratio[data.inverse]
    omega = eta + psi
    out: FloatArray = omega.T @ omega
    return out


def fine_gray(
    frame: pd.DataFrame,
    duration_col: str,
    status_col: str,
    covariates: Sequence[str],
    *,
    cause: int = 1,
    conf_level: float = 0.95,
    reference: Mapping[str, Hashable] | None = None,
) -> FineGrayModel:
    """Fit the Fine-Gray proportional subdistribution hazards model (as R ``cmprsk::crr``).

    Parameters
    ----------
    frame
        One row per patient; its index is ignored.
    duration_col
        Follow-up to the first event of any cause or censoring (>= 0).
    status_col
        0 = censored, 1..k = cause of the event.
    covariates
        Columns to model, coded as in :func:`cox_regression` (numeric and bool as they are,
        categorical columns treatment-coded against a reference level).
    cause
        The status code whose cumulative incidence is modelled (crr's ``failcode``).
    conf_level
        Level of the intervals.
    reference
        Reference level per categorical covariate.

    Returns
    -------
    FineGrayModel

    Raises
    ------
    ValueError
        Unknown columns, missing values, a ``cause`` that never occurs, constant or
        collinear covariates, or invalid arguments.

    Notes
    -----
    Patients who had a competing event stay in the risk set after it with weight
    G(t-) / G(T_i-), G the Kaplan-Meier estimate of the censoring distribution (censoring
    as the event, computed on all patients). The weighted partial likelihood with
    Breslow ties is maximised by Newton-Raphson from 0 (as crr). The covariance is crr's
    sandwich I^-1 (sum_i (eta_i + psi_i)^2) I^-1: eta_i the score residual in the
    weighted risk sets, psi_i the term for the estimated censoring distribution (Fine and
    Gray 1999, section 3). The baseline subdistribution hazard has jumps d_k / S0(u_k) at
    covariates 0 and gives the predicted cumulative incidence
    1 - exp(-exp(z' beta) Lambda_0(t)). Without competing events the model is the Cox
    model with Breslow ties. Checked against R ``cmprsk::crr`` (2.2) to 1e-6:
    coefficients, sandwich and naive variances, log pseudo-likelihoods and predictions.

    References
    ----------
    Fine JP, Gray RJ. A proportional hazards model for the subdistribution of a competing
    risk. J Am Stat Assoc 1999;94:496-509. doi:10.1080/01621459.1999.10474144

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame(
    ...     {
    ...         "days": [5, 8, 12, 12, 20, 25, 30, 33, 41, 50, 52, 60],
    ...         "status": [1, 2, 1, 0, 1, 2, 0, 1, 2, 1, 0, 0],
    ...         "arm": ["a", "b", "a", "b", "a", "b", "b", "a", "a", "b", "a", "b"],
    ...     }
    ... )
    >>> model = fine_gray(data, "days", "status", ["arm"])
    >>> model.terms
    ('arm[b]',)
    """
    from scipy import stats

    conf_level = check_conf_level(conf_level)
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    if not covariates:
        raise ValueError("covariates must name at least one column; got none.")
    needed = list(dict.fromkeys([duration_col, status_col, *covariates]))
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
        raise ValueError(
            f"model columns must have no missing values; got {where.size} row(s) with missing "
            f"values (first at position {int(where[0])}). Drop them first, e.g. "
            f"frame.dropna(subset={needed!r}) (crr drops them silently)."
        )
    time = as_times(rows[duration_col], name=duration_col)
    status = as_status(rows[status_col], name=status_col).astype(np.float64)
    observed = sorted({int(s) for s in status[status > 0]})
    if cause not in observed:
        raise ValueError(
            f"cause must be one of the observed causes {observed!r}; got {cause!r}. "
            "status codes 0 = censored, 1..k = causes."
        )
    x, terms, refs = design_matrix(rows, covariates, dict(reference or {}), intercept=False)
    centre = x.mean(axis=0)
    data = _Data(time, status, int(cause), x)
    xc = data.x - centre
    p = x.shape[1]
    beta = np.zeros(p)
    loglik, score, info, r, jump, e = _derivatives(data, xc, beta)
    loglik_null = loglik
    for _ in range(_MAX_ITER):
        step = np.linalg.solve(info, score)
        for _ in range(40):
            with np.errstate(over="ignore", invalid="ignore"):
                trial = _derivatives(data, xc, beta + step)
            if np.isfinite(trial[0]) and trial[0] >= loglik - _EPS * abs(loglik):
                break
            step = step / 2.0
        beta = beta + step
        change = abs(trial[0] - loglik)
        loglik, score, info, r, jump, e = trial
        if change <= _EPS * max(abs(loglik), 1.0):
            break
    else:
        warnings.warn(
            f"Fine-Gray model did not converge in {_MAX_ITER} Newton steps; the estimates "
            "may be unreliable.",
            RuntimeWarning,
            stacklevel=2,
        )
    naive = np.asarray(np.linalg.inv(info), dtype=np.float64)
    covariance = naive @ _sandwich(data, xc, r, jump, e) @ naive
    std_err = np.sqrt(np.diag(covariance))
    z = beta / std_err
    crit = z_value(conf_level)
    with np.errstate(over="ignore"):
        hazard_ratio = np.exp(beta)
        ci_low = np.exp(beta - crit * std_err)
        ci_high = np.exp(beta + crit * std_err)
    return FineGrayModel(
        terms=terms,
        coef=beta,
        std_err=std_err,
        z=z,
        pvalue=2.0 * stats.norm.sf(np.abs(z)),
        hazard_ratio=hazard_ratio,
        ci_low=ci_low,
        ci_high=ci_high,
        covariance=covariance,
        naive_covariance=naive,
        naive_std_err=np.sqrt(np.diag(naive)),
        loglik=loglik,  # centring x leaves the log-likelihood unchanged
        loglik_null=loglik_null,
        baseline_times=data.u.astype(np.float64),
        baseline_jumps=jump * np.exp(-(centre @ beta)),
        n=int(time.size),
        n_events=int(data.fail.sum()),
        n_competing=int(data.compete.sum()),
        n_censored=int(data.censor.sum()),
        cause=int(cause),
        conf_level=conf_level,
        reference_levels=refs,
        covariates=tuple(covariates),
    )
