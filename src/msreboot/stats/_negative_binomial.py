"""Maximum-likelihood negative-binomial (NB2) regression with an offset, as R's glm.nb.

statsmodels fits the coefficients at a given dispersion (GLM, IRLS); what it lacks is a
dependable maximum over the dispersion and R's standard error of theta, written here.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from msreboot.stats._checks import FloatArray

#: IRLS stops when every coefficient changes by less than this (absolute and relative).
IRLS_TOL = 1e-12
MAX_IRLS = 200
#: Precision of log(alpha) at the root of the profile score.
LOG_ALPHA_TOL = 1e-13


@dataclass(frozen=True, eq=False)
class NegativeBinomialFit:
    """Coefficients (intercept first), their GLM standard errors, the log-likelihood, the
    fitted means and alpha = 1/theta (0 for the Poisson limit)."""

    params: FloatArray
    std_error: FloatArray
    loglik: float
    mu: FloatArray
    alpha: float


def _glm(y: FloatArray, x: FloatArray, offset: FloatArray, alpha: float, start: Any) -> Any:
    """The statsmodels GLM (Poisson at alpha = 0, else NB2 with that alpha) by IRLS."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    family = sm.families.Poisson() if alpha == 0 else sm.families.NegativeBinomial(alpha=alpha)
    model = sm.GLM(y, x, family=family, offset=offset)
    with warnings.catch_warnings():
        # non-convergence is read from .converged; means equal to the counts are harmless
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        with np.errstate(over="ignore", under="ignore"):
            return model.fit(
                start_params=start,
                maxiter=MAX_IRLS,
                tol_criterion="params",
                atol=IRLS_TOL,
                rtol=IRLS_TOL,
            )


def _cumulative(y: FloatArray, term: Callable[[FloatArray], FloatArray]) -> FloatArray:
    """``sum(term(k) for k in range(y_i))`` for each whole count y_i, without a Python loop."""
    top = int(y.max())
    sums = np.concatenate([[0.0], np.cumsum(term(np.arange(top, dtype=np.float64)))])
    return np.asarray(sums[y.astype(np.int64)], dtype=np.float64)


def alpha_score(y: FloatArray, mu: FloatArray, alpha: float) -> float:
    """The score d loglik / d alpha of the NB2 model at fixed means (alpha = 1/theta > 0).

    With l_i = sum_{k<y_i} log(1 + alpha k) - (1/alpha + y_i) log(1 + alpha mu_i) + ..., the
    derivative is sum_{k<y_i} k / (1 + alpha k) + mu_i^2 h(alpha mu_i) - y_i mu_i /
    (1 + alpha mu_i) with h(x) = (log(1 + x) - x / (1 + x)) / x^2, written so that it stays
    exact as alpha -> 0, where it tends to ((y_i - mu_i)^2 - y_i) / 2.
    """
    x = alpha * mu
    small = x < 1e-3
    xs = np.where(small, x, 0.0)
    series = 0.5 - 2 * xs / 3 + 3 * xs**2 / 4 - 4 * xs**3 / 5 + 5 * xs**4 / 6 - 6 * xs**5 / 7
    xl = np.where(small, 1.0, x)
    direct = (np.log1p(xl) - xl / (1 + xl)) / xl**2
    h = np.where(small, series, direct)
    counts = _cumulative(y, lambda k: k / (1 + alpha * k))
    return float(np.sum(counts + mu**2 * h - y * mu / (1 + x)))


def theta_information(y: FloatArray, mu: FloatArray, theta: float) -> float:
    """Observed information for theta at fixed means, as ``MASS::theta.ml`` computes it.

    R's sum(trigamma(theta) - trigamma(theta + y) - 1/theta + 2/(mu + theta) - (y + theta) /
    (mu + theta)^2), with the trigamma difference as the exact sum_{k<y} 1/(theta + k)^2
    and the rest as -(mu^2 + theta y) / (theta (mu + theta)^2).
    """
    counts = _cumulative(y, lambda k: 1 / (theta + k) ** 2)
    return float(np.sum(counts - (mu**2 + theta * y) / (theta * (mu + theta) ** 2)))


def fit_negative_binomial(
    y: FloatArray, x: FloatArray, offset: FloatArray
) -> tuple[NegativeBinomialFit, bool]:
    """Joint maximum likelihood in the coefficients and alpha, or the Poisson limit.

    The profile log-likelihood in alpha has slope sum((y - mu)^2 - y) / 2 at alpha = 0 (mu
    of the Poisson fit). When that is <= 0 the maximum is the Poisson model. Otherwise alpha
    is the root of the profile score (:func:`alpha_score` at the GLM means for that alpha),
    bracketed on log(alpha) and found by Brent's method. Returns the fit and whether the
    final IRLS converged.
    """
    from scipy.optimize import brentq

    poisson = _glm(y, x, offset, 0.0, None)
    mu0 = np.asarray(poisson.mu, dtype=np.float64)
    slope = float(np.sum((y - mu0) ** 2 - y)) / 2
    if not slope > 0:
        fit = NegativeBinomialFit(poisson.params, poisson.bse, float(poisson.llf), mu0, 0.0)
        return fit, bool(poisson.converged)
    start = [poisson.params]

    def score(log_alpha: float) -> float:
        alpha = float(np.exp(log_alpha))
        res = _glm(y, x, offset, alpha, start[0])
        start[0] = res.params
        return alpha_score(y, np.asarray(res.mu, dtype=np.float64), alpha)

    step = np.log(4.0)
    hi = float(np.log(max(2 * slope / float(np.sum(mu0**2)), 1e-8)))
    while score(hi) > 0:
        hi += step
        if hi > np.log(1e8):
            raise RuntimeError("negative-binomial dispersion: no maximum below alpha = 1e8.")
    lo = hi - step
    while score(lo) <= 0:
        lo -= step
        if lo < np.log(1e-300):
            raise RuntimeError("negative-binomial dispersion: no maximum above alpha = 0.")
    alpha = float(np.exp(brentq(score, lo, hi, xtol=LOG_ALPHA_TOL, rtol=4 * np.finfo(float).eps)))
    res = _glm(y, x, offset, alpha, start[0])
    mu = np.asarray(res.mu, dtype=np.float64)
    return NegativeBinomialFit(res.params, res.bse, float(res.llf), mu, alpha), bool(res.converged)
