"""The Cox partial likelihood in numpy: weights, strata, Efron or Breslow ties, residuals.

Everything is vectorised over rows sorted by (stratum, time): sums over a risk set
(time >= t in the stratum) are reverse cumulative sums over the groups of tied times, and
sums over the event times a row was at risk for are forward cumulative sums. The
information matrix is assembled as X' diag(c) X, never as one p x p matrix per time, so
memory is O(n p).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from msreboot.stats._checks import FloatArray, IntArray

__all__ = ["CoxData", "PartialLikelihood", "concordance", "newton"]


@dataclass(frozen=True)
class CoxData:
    """Rows sorted by (stratum, time) with their tied-time groups.

    ``order`` maps sorted position to input row. ``group`` is the tied-time group of each
    sorted row (groups never span strata); ``g_stratum`` the stratum of each group.
    """

    time: FloatArray
    event: FloatArray
    weight: FloatArray
    x: FloatArray
    stratum: IntArray
    order: IntArray
    group: IntArray
    g_first: IntArray
    g_stratum: IntArray
    g_time: FloatArray
    g_deaths: FloatArray
    g_dead_weight: FloatArray
    next_stratum_group: IntArray
    stratum_first_group: IntArray

    @classmethod
    def build(
        cls,
        time: FloatArray,
        event: FloatArray,
        x: FloatArray,
        weight: FloatArray,
        stratum: IntArray,
    ) -> CoxData:
        order = np.lexsort((time, stratum)).astype(np.int64)
        t, s = time[order], stratum[order]
        new = np.ones(t.size, dtype=bool)
        new[1:] = (t[1:] != t[:-1]) | (s[1:] != s[:-1])
        group = np.cumsum(new) - 1
        g_first = np.flatnonzero(new)
        g_stratum = s[g_first]
        n_groups = g_first.size
        e, w = event[order], weight[order]
        g_deaths = _bincount(group, e, n_groups)
        g_dead_weight = _bincount(group, e * w, n_groups)
        s_new = np.ones(n_groups, dtype=bool)
        s_new[1:] = g_stratum[1:] != g_stratum[:-1]
        starts = np.flatnonzero(s_new)
        ends = np.append(starts[1:], n_groups)
        lengths = ends - starts
        return cls(
            time=t,
            event=e,
            weight=w,
            x=x[order],
            stratum=s,
            order=order,
            group=group.astype(np.int64),
            g_first=g_first.astype(np.int64),
            g_stratum=g_stratum,
            g_time=t[g_first],
            g_deaths=g_deaths,
            g_dead_weight=g_dead_weight,
            next_stratum_group=np.repeat(ends, lengths).astype(np.int64),
            stratum_first_group=np.repeat(starts, lengths).astype(np.int64),
        )

    def risk_sum(self, values: FloatArray) -> FloatArray:
        """Per group, the sum of row ``values`` over its risk set (same stratum, time >= t)."""
        per_group = _group_sum(self.group, values, self.g_first.size)
        rev = np.cumsum(per_group[::-1], axis=0)[::-1]
        rev = np.concatenate([rev, np.zeros((1, *rev.shape[1:]))], axis=0)
        out: FloatArray = rev[:-1] - rev[self.next_stratum_group]
        return out

    def at_risk_cumsum(self, per_group: FloatArray) -> FloatArray:
        """Per row, the sum of ``per_group`` over the groups of its stratum up to its time."""
        cum = np.cumsum(per_group, axis=0)
        cum = np.concatenate([np.zeros((1, *cum.shape[1:])), cum], axis=0)
        g = self.group
        out: FloatArray = cum[g + 1] - cum[self.stratum_first_group[g]]
        return out


def _bincount(group: IntArray, weights: FloatArray, n_groups: int) -> FloatArray:
    """Per group, the sum of ``weights`` (as float)."""
    return np.asarray(np.bincount(group, weights=weights, minlength=n_groups), dtype=np.float64)


def _group_sum(group: IntArray, values: FloatArray, n_groups: int) -> FloatArray:
    if values.ndim == 1:
        return _bincount(group, values, n_groups)
    return np.column_stack([_bincount(group, col, n_groups) for col in values.T])


@dataclass(frozen=True)
class _Steps:
    """One row per (event group, Efron fraction): the terms of the likelihood."""

    group: IntArray
    frac: FloatArray
    weight: FloatArray  # meanwt (Efron) or the dead weight (Breslow)


class PartialLikelihood:
    """Weighted, stratified Cox log partial likelihood with Efron or Breslow ties.

    With case weights w, Efron's approximation at a time with d tied events is
    sum_deaths w_i eta_i - (sum_deaths w_i / d) sum_{k<d} log(S0 - (k/d) D0), S0 the
    weighted risk-set sum of exp(eta) and D0 the same over the tied deaths (as R's coxph);
    Breslow's is sum_deaths w_i eta_i - (sum_deaths w_i) log S0.
    """

    def __init__(self, data: CoxData, ties: str) -> None:
        self.data = data
        deaths = data.g_deaths.astype(np.int64)
        has = np.flatnonzero(deaths > 0)
        if ties == "efron":
            d = deaths[has]
            group = np.repeat(has, d)
            starts = np.repeat(np.cumsum(d) - d, d)
            k = np.arange(group.size) - starts
            frac = k / np.repeat(d, d).astype(np.float64)
            weight = np.repeat(data.g_dead_weight[has] / d, d)
        else:
            group, frac, weight = has, np.zeros(has.size), data.g_dead_weight[has]
        self.steps = _Steps(group=group.astype(np.int64), frac=frac, weight=weight)
        self.centre = np.average(data.x, axis=0)
        self.xc = data.x - self.centre

    def _sums(
        self, beta: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
        d = self.data
        eta = self.xc @ beta
        r = d.weight * np.exp(eta)
        s0 = d.risk_sum(r)
        s1 = d.risk_sum(r[:, None] * self.xc)
        rd = r * d.event
        n_groups = d.g_first.size
        d0 = _bincount(d.group, rd, n_groups)
        d1 = _group_sum(d.group, rd[:, None] * self.xc, n_groups)
        st = self.steps
        den = s0[st.group] - st.frac * d0[st.group]
        num = s1[st.group] - st.frac[:, None] * d1[st.group]
        return eta, r, den, num, d0

    def loglik(self, beta: FloatArray) -> float:
        """Log partial likelihood at ``beta``."""
        eta, _, den, _, _ = self._sums(beta)
        d = self.data
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.sum(d.weight * d.event * eta) - np.sum(self.steps.weight * np.log(den))
        return float(value)

    def derivatives(self, beta: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        """Log-likelihood, score and observed information at ``beta``."""
        d, st = self.data, self.steps
        eta, r, den, num, _ = self._sums(beta)
        loglik = float(np.sum(d.weight * d.event * eta) - np.sum(st.weight * np.log(den)))
        xbar = num / den[:, None]
        score = (d.weight * d.event) @ self.xc - st.weight @ xbar
        n_groups = d.g_first.size
        a = _bincount(st.group, st.weight / den, n_groups)
        b = _bincount(st.group, st.weight * st.frac / den, n_groups)
        c = r * (d.at_risk_cumsum(a) - d.event * b[d.group])
        info = (self.xc * c[:, None]).T @ self.xc - (xbar * st.weight[:, None]).T @ xbar
        return loglik, score, info

    def information(self, beta: FloatArray, multiplier: FloatArray) -> FloatArray:
        """Sum over steps k of m_k meanwt_k V_k, V_k the weighted covariance of x at step k.

        ``multiplier`` holds m per tied-time group (e.g. g(t) or g(t)^2 for the
        proportional-hazards test); all ones gives the observed information.
        """
        d, st = self.data, self.steps
        _, r, den, num, _ = self._sums(beta)
        xbar = num / den[:, None]
        m = multiplier[st.group]
        n_groups = d.g_first.size
        a = _bincount(st.group, m * st.weight / den, n_groups)
        b = _bincount(st.group, m * st.weight * st.frac / den, n_groups)
        c = r * (d.at_risk_cumsum(a) - d.event * b[d.group])
        info: FloatArray = (self.xc * c[:, None]).T @ self.xc - (
            xbar * (m * st.weight)[:, None]
        ).T @ xbar
        return info

    def _mean_xbar(self, xbar: FloatArray) -> FloatArray:
        """Per group, the mean of the steps' weighted means (Efron: over its d fractions)."""
        st = self.steps
        n_groups = self.data.g_first.size
        steps = _bincount(st.group, np.ones(st.group.size), n_groups)
        per_step = 1.0 / steps[st.group]
        return _group_sum(st.group, per_step[:, None] * xbar, n_groups)

    def score_residuals(self, beta: FloatArray) -> FloatArray:
        """Per row (input order, unweighted), its term of the score: sum_i w_i L_i = U.

        L_i = delta_i (x_i - mean_k xbar_k(t_i)) - r_i sum over event times t <= t_i and
        fractions k of h_k (x_i - xbar_k), where h_k = meanwt / den_k, r_i = exp(eta_i)
        and a death shares each fraction's term in proportion (1 - k/d) (Efron).
        """
        d, st = self.data, self.steps
        eta, _, den, num, _ = self._sums(beta)
        risk = np.exp(eta)
        xbar = num / den[:, None]
        h = st.weight / den
        n_groups = d.g_first.size
        h_g = _bincount(st.group, h, n_groups)
        hx_g = _group_sum(st.group, h[:, None] * xbar, n_groups)
        f_g = _bincount(st.group, h * st.frac, n_groups)
        fx_g = _group_sum(st.group, (h * st.frac)[:, None] * xbar, n_groups)
        mean_xbar = self._mean_xbar(xbar)
        xc = self.xc
        resid = -risk[:, None] * (xc * d.at_risk_cumsum(h_g)[:, None] - d.at_risk_cumsum(hx_g))
        ev = d.event[:, None]
        g = d.group
        resid += ev * risk[:, None] * (xc * f_g[g][:, None] - fx_g[g])
        resid += ev * (xc - mean_xbar[g])
        out = np.empty_like(resid)
        out[d.order] = resid
        return out

    def schoenfeld(self, beta: FloatArray) -> tuple[FloatArray, FloatArray, IntArray]:
        """Schoenfeld residuals, one row per event in time order (R ``residuals(type=)``).

        Returns the residual x_i - mean_k xbar_k(t_i) per event row, the event times and
        the strata of those rows (each sorted by stratum, then time, as R sorts them).
        """
        d = self.data
        _, _, den, num, _ = self._sums(beta)
        xbar = num / den[:, None]
        mean_xbar = self._mean_xbar(xbar)
        rows = np.flatnonzero(d.event == 1)
        resid = self.xc[rows] - mean_xbar[d.group[rows]]
        return resid, d.time[rows], d.stratum[rows]


def newton(
    model: PartialLikelihood, p: int, eps: float, max_iter: int, max_halvings: int
) -> tuple[FloatArray, float, FloatArray, FloatArray, bool]:
    """Maximise by Newton-Raphson with step halving from 0 (as R's coxph).

    Returns the estimate, its log-likelihood, score, information and whether it converged.
    """
    beta = np.zeros(p)
    loglik, score, info = model.derivatives(beta)
    converged = False
    for _ in range(max_iter):
        step = np.linalg.solve(info, score)
        for _ in range(max_halvings):
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                trial = model.loglik(beta + step)
            if np.isfinite(trial) and trial >= loglik - eps * abs(loglik):
                break
            step = step / 2.0
        beta = beta + step
        change = abs(trial - loglik)
        loglik, score, info = model.derivatives(beta)
        if change <= eps * max(abs(loglik), 1.0):
            converged = True
            break
    return beta, loglik, score, info, converged


def concordance(
    time: FloatArray,
    event: FloatArray,
    risk: FloatArray,
    weight: FloatArray,
    stratum: IntArray,
) -> tuple[float, float]:
    """Weighted Harrell's C of ``risk`` (higher = earlier event), within strata.

    A pair is comparable when the shorter time is an event; an event and a censoring at
    the same time are comparable (the censored one lived longer), two events at the same
    time are not. Each pair counts w_i w_j; ties in ``risk`` count 1/2 (R's
    ``concordance``). Returns (concordant + tied / 2, comparable pairs).
    """
    good = 0.0
    total = 0.0
    for s in np.unique(stratum):
        rows = stratum == s
        g, t = _concordance_one(time[rows], event[rows], risk[rows], weight[rows])
        good += g
        total += t
    return good, total


def _concordance_one(
    time: FloatArray, event: FloatArray, risk: FloatArray, weight: FloatArray
) -> tuple[float, float]:
    # Process times from the latest down (compiled: a Fenwick tree over the ranks of risk)
    from msreboot.stats._concordance_kernel import concordance_sorted

    levels, rank = np.unique(risk, return_inverse=True)
    order = np.lexsort((event, -time))  # latest first; at one time censored before events
    good, total = concordance_sorted(
        np.ascontiguousarray(time[order], dtype=np.float64),
        np.ascontiguousarray(event[order], dtype=np.float64),
        np.ascontiguousarray(rank[order], dtype=np.int64),
        np.ascontiguousarray(weight[order], dtype=np.float64),
        int(levels.size),
    )
    return float(good), float(total)
