"""Binomial-normal random-effects model for single proportions (logit GLMM)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
from scipy import optimize, stats

from msreboot.evidence._checks import (
    EvidenceError,
    FloatArray,
    TruncatedTau2Warning,
    check_conf_level,
    labels_or_default,
)
from msreboot.evidence._effects import back_transform, proportion_effects
from msreboot.evidence._pooled import PooledEstimate
from msreboot.evidence._tau2 import typical_variance, wls

__all__ = ["glmm_log_likelihood", "pool_proportions_glmm"]

N_NODES = 7  # lme4's nAGQ = 7, metafor's rma.glmm default


def _modes(x: FloatArray, n: FloatArray, mu: float, tau: float) -> tuple[FloatArray, FloatArray]:
    """Conditional modes of the random effects and the curvature there (Newton's method)."""
    u = np.zeros_like(x)
    inv_var = 1.0 / tau**2
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(mu + u)))
        grad = x - n * p - u * inv_var
        hess = -n * p * (1 - p) - inv_var
        step = grad / hess
        u = u - step
        if np.max(np.abs(step)) < 1e-13:
            break
    p = 1.0 / (1.0 + np.exp(-(mu + u)))
    return u, n * p * (1 - p) + inv_var


def glmm_log_likelihood(
    x: FloatArray, n: FloatArray, mu: float, tau: float, nodes: int = N_NODES
) -> float:
    """Marginal log-likelihood by adaptive Gauss-Hermite quadrature (up to a constant).

    Each study contributes ``log int Bin(x | n, expit(mu + u)) N(u; 0, tau^2) du``; the
    integral is centred at the conditional mode of ``u`` and scaled by the curvature there
    (Liu & Pierce 1994), with ``nodes`` points (lme4's ``nAGQ``).
    """
    if tau <= 1e-8:
        eta = np.full_like(x, mu)
        return float(np.sum(x * eta - n * np.logaddexp(0.0, eta)))
    z, w = np.polynomial.hermite.hermgauss(nodes)
    u_hat, curv = _modes(x, n, mu, tau)
    scale = np.sqrt(2.0 / curv)
    u = u_hat[:, None] + scale[:, None] * z[None, :]
    eta = mu + u
    log_f = (
        x[:, None] * eta
        - n[:, None] * np.logaddexp(0.0, eta)
        - 0.5 * u**2 / tau**2
        - np.log(tau)
        - 0.5 * np.log(2 * np.pi)
        + z[None, :] ** 2
    )
    peak = np.max(log_f, axis=1, keepdims=True)
    total = np.log(np.sum(w[None, :] * np.exp(log_f - peak), axis=1)) + peak[:, 0]
    return float(np.sum(total + np.log(scale)))


def _hessian(fn: Callable[[FloatArray], float], theta: FloatArray, step: FloatArray) -> FloatArray:
    """Central-difference Hessian of ``fn`` at ``theta``."""
    k = theta.size
    out = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            ei = np.zeros(k)
            ej = np.zeros(k)
            ei[i] = step[i]
            ej[j] = step[j]
            out[i, j] = (
                fn(theta + ei + ej)
                - fn(theta + ei - ej)
                - fn(theta - ei + ej)
                + fn(theta - ei - ej)
            ) / (4 * step[i] * step[j])
    return out


def pool_proportions_glmm(
    events: FloatArray,
    n: FloatArray,
    *,
    conf_level: float = 0.95,
    labels: Sequence[str] | None = None,
    nodes: int = N_NODES,
) -> PooledEstimate:
    """Pool proportions with the binomial-normal (logit) GLMM by maximum likelihood.

    Use through ``pool_proportions(..., method="GLMM")``.

    Notes
    -----
    ``x_i ~ Bin(n_i, expit(mu + u_i))``, ``u_i ~ N(0, tau^2)``; ``mu`` and ``tau`` maximise
    the adaptive Gauss-Hermite approximation of the marginal likelihood with ``nodes``
    points (7, as lme4's ``glmer(nAGQ = 7)`` used by metafor's ``rma.glmm``). The SE of
    ``mu`` comes from the inverse of the numerical Hessian in ``(mu, tau)``. No continuity
    correction is needed. Q, I^2 and the display weights use the logit effect sizes with
    the usual continuity correction (inverse-variance weights ``1 / (v_i + tau^2)``), as
    metafor reports them. Intervals are Wald (z).

    References
    ----------
    Stijnen T, Hamza TH, Ozdemir P. Random effects meta-analysis of event outcome in the
    framework of the generalized linear mixed model with applications in sparse data.
    Stat Med 2010;29:3046-67. doi:10.1002/sim.4040.
    """
    conf_level = check_conf_level(conf_level)
    k = events.size
    if np.sum(events) == 0 or np.sum(n - events) == 0:
        raise EvidenceError(
            "GLMM needs at least one event and one non-event across the studies; got "
            f"{np.sum(events):g} events in {np.sum(n):g} patients (no finite maximum "
            "likelihood estimate). Use measure='PLO' with a REML pool instead."
        )
    yi, vi = proportion_effects(events, n, "PLO")
    x1 = np.ones((k, 1))

    def negll(theta: FloatArray) -> float:
        return -glmm_log_likelihood(events, n, float(theta[0]), abs(float(theta[1])), nodes)

    start_fit = wls(yi, vi, x1, 0.0)
    start = np.array([float(start_fit.beta[0]), max(float(np.std(yi)), 0.3)])
    best = optimize.minimize(
        negll,
        start,
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 20000},
    )
    theta = np.array([best.x[0], abs(best.x[1])])
    polished = optimize.minimize(negll, theta, method="BFGS", options={"gtol": 1e-9})
    if polished.fun <= best.fun:
        theta = np.array([polished.x[0], abs(polished.x[1])])
    mu, tau = float(theta[0]), float(theta[1])
    var = float("nan")
    if k > 1 and tau > 1e-6:
        hess = _hessian(negll, theta, np.array([1e-4, 1e-4]) * np.maximum(1.0, np.abs(theta)))
        if np.all(np.linalg.eigvalsh(hess) > 0):
            var = float(np.linalg.inv(hess)[0, 0])
    if not np.isfinite(var):
        # boundary (tau = 0) or a flat likelihood in tau: information about mu alone
        step = np.array([1e-4 * max(1.0, abs(mu)), 0.0])
        curv = (negll(theta + step) - 2 * negll(theta) + negll(theta - step)) / step[0] ** 2
        var = float(1.0 / curv)
    if tau <= 1e-6:
        tau = 0.0
        if k > 1:
            warnings.warn(
                "tau^2 (GLMM) truncated at 0: the maximum likelihood lies on the boundary.",
                TruncatedTau2Warning,
                stacklevel=3,
            )
    tau2 = tau**2
    se = float(np.sqrt(var))
    crit = float(stats.norm.ppf(0.5 + conf_level / 2))
    ci = (mu - crit * se, mu + crit * se)
    half = crit * float(np.sqrt(tau2 + var))
    pi = (mu - half, mu + half)
    q = wls(yi, vi, x1, 0.0).q if k > 1 else 0.0
    q_df = k - 1
    if k > 1:
        vt = typical_variance(vi, x1)
        i2, h2 = tau2 / (tau2 + vt), (tau2 + vt) / vt
    else:
        i2, h2 = 0.0, 1.0
    w = 1.0 / (vi + tau2)
    nat = back_transform("PLO")(np.array([mu, ci[0], ci[1], pi[0], pi[1]]))
    statistic = mu / se
    return PooledEstimate(
        estimate=mu,
        se=se,
        ci_low=ci[0],
        ci_high=ci[1],
        conf_level=conf_level,
        statistic=statistic,
        pvalue=float(2 * stats.norm.sf(abs(statistic))),
        pi_low=pi[0],
        pi_high=pi[1],
        tau2=tau2,
        tau2_ci_low=float("nan"),
        tau2_ci_high=float("nan"),
        tau2_truncated=tau == 0.0 and k > 1,
        i2=i2,
        i2_ci_low=float("nan"),
        i2_ci_high=float("nan"),
        h2=h2,
        q=q,
        q_df=q_df,
        q_pvalue=float(stats.chi2.sf(q, q_df)) if q_df > 0 else 1.0,
        k=k,
        method="GLMM",
        test="z",
        measure="PLO",
        estimate_natural=float(nat[0]),
        ci_low_natural=float(nat[1]),
        ci_high_natural=float(nat[2]),
        pi_low_natural=float(nat[3]),
        pi_high_natural=float(nat[4]),
        labels=labels_or_default(labels, k),
        yi=tuple(float(v) for v in yi),
        vi=tuple(float(v) for v in vi),
        weights=tuple(float(v) for v in w / np.sum(w)),
        events=tuple(float(e) for e in events),
        totals=tuple(float(t) for t in n),
    )
