"""Between-study variance (tau^2) estimators and the weighted least-squares core.

Everything here works on a design matrix ``x`` (k x p) so that the same code serves the
intercept-only pool and meta-regression. Formulas follow the published sources cited in
:func:`estimate_tau2`; nothing is copied from other implementations.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from msreboot.evidence._checks import FloatArray, Tau2Method, TruncatedTau2Warning

__all__ = [
    "WLSFit",
    "estimate_tau2",
    "hartung_knapp_factor",
    "log_likelihood",
    "q_profile_ci",
    "typical_variance",
    "wls",
]


@dataclass(frozen=True)
class WLSFit:
    """Weighted least-squares fit for a given tau^2 (internal)."""

    beta: FloatArray
    vcov: FloatArray
    weights: FloatArray
    resid: FloatArray
    q: float  # sum of w * resid^2 with the weights used


def wls(y: FloatArray, v: FloatArray, x: FloatArray, tau2: float) -> WLSFit:
    """Fit ``y = x beta + e`` with weights ``1 / (v + tau2)``."""
    w = 1.0 / (v + tau2)
    scale = float(np.max(w))  # solved with w / max(w): no overflow, exact for equal weights
    xtw = x.T * (w / scale)
    info_inv = np.linalg.inv(xtw @ x)
    beta = np.asarray(info_inv @ (xtw @ y), dtype=np.float64)
    vcov = np.asarray(info_inv / scale, dtype=np.float64)
    resid = np.asarray(y - x @ beta, dtype=np.float64)
    return WLSFit(beta, vcov, w, resid, float(np.sum(w * resid**2)))


def _scaled_p_trace(w: FloatArray, x: FloatArray) -> tuple[float, float]:
    """Trace of P for weights ``w`` as ``(scale, t)`` with ``tr(P) = scale * t``.

    ``P(c W) = c P(W)``, so the trace is computed with the weights divided by their
    maximum: squaring weights of 1e300 (variances of 1e-300) would overflow otherwise.
    """
    scale = float(np.max(w))
    ws = w / scale
    xtw = x.T * ws
    info_inv = np.linalg.inv(xtw @ x)
    # tr(W X (X'WX)^-1 X'W) = tr((X'WX)^-1 X'W^2 X)
    return scale, float(np.sum(ws) - np.trace(info_inv @ ((x.T * ws**2) @ x)))


#: Below this Hartung-Knapp factor the residuals are rounding error of identical effects.
_HK_ZERO = 1e-16


def hartung_knapp_factor(q: float, df: int, *, warn: bool = True, stacklevel: int = 4) -> float:
    """The Hartung-Knapp variance factor ``q / df`` (``df = k - p``), warning when it is 0.

    Studies with identical effects (``q = 0``, or rounding error of it) give a standard
    error of 0, a zero-width interval and p = 0, as metafor reports them (no truncation at
    1); a ``RuntimeWarning`` says so, since that certainty is an artefact of the method.
    """
    factor = q / df
    if warn and factor < _HK_ZERO:
        warnings.warn(
            f"Hartung-Knapp variance factor is {factor:.3g}: the studies' effects equal "
            "their fitted values (Q = 0, e.g. identical studies), so the "
            "Hartung-Knapp standard error is 0, the interval has zero width and p = 0 (as in "
            "metafor). Use test='z' for an interval from the within-study variances.",
            RuntimeWarning,
            stacklevel=stacklevel,
        )
    return factor


def _p_trace(v: FloatArray, x: FloatArray, tau2: float) -> float:
    """Trace of P = W - W X (X'WX)^-1 X'W."""
    scale, t = _scaled_p_trace(1.0 / (v + tau2), x)
    return scale * t


def typical_variance(v: FloatArray, x: FloatArray) -> float:
    """Typical within-study variance ``(k - p) / tr(P)`` with common-effect weights.

    For the intercept-only model this is Higgins & Thompson's (2002)
    ``(k - 1) sum(w) / ((sum w)^2 - sum(w^2))``; it defines I^2 and H^2 for every tau^2
    estimator: ``I^2 = tau^2 / (tau^2 + s^2)``, ``H^2 = (tau^2 + s^2) / s^2``.
    """
    k, p = x.shape
    return float((k - p) / _p_trace(v, x, 0.0))


def _score(y: FloatArray, v: FloatArray, x: FloatArray, tau2: float, restricted: bool) -> float:
    """Derivative of the (restricted) log-likelihood with respect to tau^2, divided by the
    squared largest weight (the same sign and roots, without overflow for tiny variances)."""
    fit = wls(y, v, x, tau2)
    scale = float(np.max(fit.weights))
    ws = fit.weights / scale
    quad = float(np.sum(ws**2 * fit.resid**2))  # y' P P y / scale^2
    trace = (_scaled_p_trace(fit.weights, x)[1] if restricted else float(np.sum(ws))) / scale
    return 0.5 * (quad - trace)


def _upper_bracket(f: Callable[[float], float], start: float) -> float:
    """Double ``start`` until ``f`` turns negative (for a decreasing criterion)."""
    hi = max(start, 1e-4)
    for _ in range(200):
        if f(hi) < 0:
            return hi
        hi *= 2.0
    raise RuntimeError("could not bracket the tau^2 estimate")  # pragma: no cover


def _root(f: Callable[[float], float], start: float, guess: float | None = None) -> float:
    """Root of a decreasing ``f`` with ``f(0) > 0``; ``guess`` (if any) narrows the bracket."""
    lo = 0.0
    if guess is not None and guess > 0 and f(2.0 * guess) < 0:
        hi = 2.0 * guess
        if f(0.5 * guess) > 0:
            lo = 0.5 * guess
    else:
        hi = _upper_bracket(f, start)
    return float(optimize.brentq(f, lo, hi, xtol=1e-14, rtol=1e-13, maxiter=500))


def _warn_truncated(method: str, raw: float | None) -> None:
    detail = f" (untruncated estimate {raw:.4g})" if raw is not None else ""
    warnings.warn(
        f"tau^2 ({method}) truncated at 0{detail}: the studies are no more variable than "
        "their within-study variances imply; the pool equals the common-effect estimate.",
        TruncatedTau2Warning,
        stacklevel=5,
    )


def estimate_tau2(
    y: FloatArray,
    v: FloatArray,
    x: FloatArray,
    method: Tau2Method,
    *,
    warn: bool = True,
    start: float | None = None,
) -> tuple[float, bool]:
    """Estimate tau^2; return the estimate and whether it was truncated at zero.

    ``start`` is a first guess for the iterative estimators (PM, ML, REML), e.g. the
    tau^2 of the full data when refitting a subset; the estimate solves the same equation
    to machine precision whatever the guess.

    Notes
    -----
    With ``w_i = 1 / (v_i + tau^2)``, residuals ``e`` from the weighted least-squares fit and
    ``P = W - W X (X'WX)^{-1} X'W``:

    * DL (DerSimonian & Laird 1986): ``(Q - (k - p)) / tr(P_0)`` with ``Q`` and ``P_0`` at
      tau^2 = 0.
    * PM (Paule & Mandel 1982): the root of ``sum w e^2 = k - p`` (Brent's method).
    * ML: the root of ``sum w^2 e^2 = sum w``.
    * REML (Viechtbauer 2005): the root of ``sum w^2 e^2 = tr(P)``.

    ML and REML are 0 when the score at 0 is not positive (as in metafor); otherwise
    Fisher scoring with step halving comes near the root and Brent's method solves the
    score equation to machine precision.
    * FE: zero by definition (no warning).

    Negative solutions are truncated at 0 with :class:`TruncatedTau2Warning`.

    References
    ----------
    DerSimonian R, Laird N. Meta-analysis in clinical trials. Control Clin Trials
    1986;7:177-88. doi:10.1016/0197-2456(86)90046-2.
    Paule RC, Mandel J. Consensus values and weighting factors. J Res Natl Bur Stand
    1982;87:377-85. doi:10.6028/jres.087.022.
    Viechtbauer W. Bias and efficiency of meta-analytic variance estimators in the
    random-effects model. J Educ Behav Stat 2005;30:261-93. doi:10.3102/10769986030003261.
    """
    k, p = x.shape
    if method == "FE" or k - p < 1:
        return 0.0, False
    if method == "DL":
        q0 = wls(y, v, x, 0.0).q
        raw = (q0 - (k - p)) / _p_trace(v, x, 0.0)
        if raw < 0:
            if warn:
                _warn_truncated(method, raw)
            return 0.0, True
        return float(raw), False
    if method == "PM":

        def crit(t: float) -> float:
            return float(wls(y, v, x, t).q - (k - p))

        if crit(0.0) <= 0:
            if warn:
                _warn_truncated(method, None)
            return 0.0, True
        return _root(crit, float(np.var(y)), start), False
    restricted = method == "REML"
    tau2 = _maximise_likelihood(y, v, x, restricted, start)
    if tau2 == 0.0:
        if warn:
            _warn_truncated(method, None)
        return 0.0, True
    return tau2, False


def log_likelihood(
    y: FloatArray, v: FloatArray, x: FloatArray, tau2: float, *, restricted: bool
) -> float:
    """(Restricted) log-likelihood of the random-effects model, up to a constant."""
    fit = wls(y, v, x, tau2)
    ll = -0.5 * (float(np.sum(np.log(v + tau2))) + fit.q)
    if restricted:
        ll -= 0.5 * float(np.linalg.slogdet(np.linalg.inv(fit.vcov))[1])
    return ll


def _fisher_terms(
    y: FloatArray, v: FloatArray, x: FloatArray, tau2: float, restricted: bool
) -> tuple[float, float, float]:
    """Log-likelihood, score and expected information at ``tau2`` from one fit.

    The score and the information are both divided by the squared largest weight (as in
    :func:`_score`), so their ratio, the Fisher scoring step, is unchanged and nothing
    overflows for tiny variances. With ``P_s = P / max(w)``: the REML score is
    ``(e'W^2 e - tr P) / 2`` and its information ``tr(P P) / 2``; the ML ones are
    ``(e'W^2 e - sum w) / 2`` and ``sum w^2 / 2`` (Viechtbauer 2005).
    """
    w = 1.0 / (v + tau2)
    scale = float(np.max(w))
    ws = w / scale
    xtw = x.T * ws
    a = np.linalg.inv(xtw @ x)  # (X'W_s X)^-1
    beta = a @ (xtw @ y)
    resid = y - x @ beta
    q = float(np.sum(w * resid**2))
    quad = float(np.sum(ws**2 * resid**2))
    ll = -0.5 * (float(np.sum(np.log(v + tau2))) + q)
    if restricted:
        b = a @ ((x.T * ws**2) @ x)  # (X'W_s X)^-1 X'W_s^2 X
        trace = float(np.sum(ws) - np.trace(b))
        info = float(np.sum(ws**2) - 2.0 * np.trace(a @ ((x.T * ws**3) @ x)) + np.sum(b * b.T))
        ll -= 0.5 * (float(np.linalg.slogdet(xtw @ x)[1]) + x.shape[1] * np.log(scale))
    else:
        trace = float(np.sum(ws))
        info = float(np.sum(ws**2))
    return ll, 0.5 * (quad - trace / scale), 0.5 * info


def _fisher_scoring(
    y: FloatArray, v: FloatArray, x: FloatArray, restricted: bool, start: float
) -> tuple[float, float]:
    """Fisher scoring on tau^2 >= 0 from ``start``; return ``(tau2, log-likelihood)``.

    A step is cut at 0 (as metafor does) and halved while it lowers the likelihood. Stops
    near the root (relative step 1e-8) or at 0; :func:`_maximise_likelihood` polishes it.
    """
    tau2 = max(start, 0.0)
    ll, score, info = _fisher_terms(y, v, x, tau2, restricted)
    for _ in range(200):
        step = score / info
        for _ in range(60):
            new = max(tau2 + step, 0.0)
            new_ll, new_score, new_info = _fisher_terms(y, v, x, new, restricted)
            if new_ll >= ll - 1e-12 * (1.0 + abs(ll)):
                break
            step /= 2.0
        else:  # pragma: no cover - a direction of ascent always has an improving step
            break
        converged = abs(new - tau2) <= 1e-8 * max(new, tau2)
        tau2, ll, score, info = new, new_ll, new_score, new_info
        if converged or score == 0.0:
            break
    return tau2, ll


def _hedges(y: FloatArray, v: FloatArray, x: FloatArray) -> float:
    """Hedges' (1983) unweighted moment estimate, truncated at 0 (metafor's start value)."""
    k, p = x.shape
    hat_inv = np.linalg.pinv(x)  # (X'X)^-1 X'
    resid = y - x @ (hat_inv @ y)
    leverage = np.sum(x * hat_inv.T, axis=1)
    moment = float(np.sum(resid**2)) - float(np.sum((1.0 - leverage) * v))
    return max(0.0, moment / float(k - p))


def _maximise_likelihood(
    y: FloatArray, v: FloatArray, x: FloatArray, restricted: bool, start: float | None = None
) -> float:
    """Maximiser of the (restricted) likelihood over tau^2 >= 0 by root-finding on its score.

    Fisher scoring with step halving, from ``start`` (default Hedges' estimate, metafor's
    start value; leave-one-out passes the full fit's tau^2), comes near a root of the score
    or stops at 0; Brent's method on a bracket around the root then solves the score
    equation to machine precision. The estimate is 0 when the score at 0 is not positive
    and either scoring ends at 0 or the likelihood at 0 is the higher (metafor's boundary).
    A warm start that ends at 0 is checked from the cold start, so the boundary is decided
    as in a fresh fit. A likelihood with several local maxima (rare: e.g. raw proportions
    with very unequal variances) gives the maximum scoring reaches from its start, as in
    metafor; when scoring from Hedges' start is cut at 0 and the score there is negative,
    the estimate is 0 even if a higher interior maximum exists further out.
    """

    def score(t: float) -> float:
        return _score(y, v, x, t, restricted)

    def at_boundary(near: float, near_ll: float) -> bool:
        return score0 <= 0.0 and (
            near == 0.0 or log_likelihood(y, v, x, 0.0, restricted=restricted) >= near_ll
        )

    score0 = score(0.0)
    near, near_ll = _fisher_scoring(
        y, v, x, restricted, _hedges(y, v, x) if start is None else start
    )
    if at_boundary(near, near_ll):
        if start is None:
            return 0.0
        # a warm start may sit in the boundary's basin (e.g. 0 from the full fit) where the
        # cold start reaches a higher interior maximum: decide the boundary from the cold one
        near, near_ll = _fisher_scoring(y, v, x, restricted, _hedges(y, v, x))
        if at_boundary(near, near_ll):
            return 0.0
    tiny = float(np.finfo(np.float64).tiny)
    width = max(1e-9 * near, tiny)
    hi = near + width
    for _ in range(2000):
        if score(hi) < 0.0:
            break
        width *= 16.0
        hi = near + width
    else:  # pragma: no cover - the score is negative for a large enough tau^2
        raise RuntimeError("could not bracket the tau^2 estimate")
    width = max(1e-9 * near, tiny)
    lo = max(near - width, 0.0)
    while score(lo) <= 0.0:
        if lo == 0.0:  # pragma: no cover - scoring stopped short of a root it had passed
            return near
        width *= 16.0
        lo = max(near - width, 0.0)
    eps = float(np.finfo(np.float64).eps)
    return float(optimize.brentq(score, lo, hi, xtol=tiny, rtol=4 * eps, maxiter=500))


def q_profile_ci(
    y: FloatArray, v: FloatArray, x: FloatArray, conf_level: float
) -> tuple[float, float]:
    """Q-profile confidence interval for tau^2 (Viechtbauer 2007).

    The bounds solve ``Q(tau^2) = chi2_{k-p}(1 - alpha/2)`` (lower) and
    ``Q(tau^2) = chi2_{k-p}(alpha/2)`` (upper), where ``Q(tau^2) = sum w (y - x beta)^2``
    decreases in tau^2; a bound is 0 when ``Q(0)`` is already below its target.

    References
    ----------
    Viechtbauer W. Confidence intervals for the amount of heterogeneity in meta-analysis.
    Stat Med 2007;26:37-52. doi:10.1002/sim.2514.
    """
    k, p = x.shape
    df = k - p
    if df < 1:
        return float("nan"), float("nan")
    alpha = 1.0 - conf_level
    targets = (stats.chi2.ppf(1 - alpha / 2, df), stats.chi2.ppf(alpha / 2, df))
    q0 = wls(y, v, x, 0.0).q
    bounds: list[float] = []
    for target in targets:
        if q0 <= target:
            bounds.append(0.0)
            continue

        def crit(t: float, target: float = float(target)) -> float:
            return wls(y, v, x, t).q - target

        bounds.append(_root(crit, float(np.var(y))))
    return bounds[0], bounds[1]
