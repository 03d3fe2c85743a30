"""Compiled draw of one patient's baseline (observable and latent), with eligibility.

The whole patient is redrawn until every eligibility condition holds (age at onset,
prior relapses, Gd+ lesions on the baseline scan), so selection on relapses or scans
selects on the latent inflammatory propensity as real eligibility does.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from msreboot.simulate._kernel_common import (
    B_AGE,
    B_ATTEMPTS,
    B_DIAGNOSIS_DELAY,
    B_DURATION,
    B_EDSS_LATENT,
    B_EDSS_REVERSIBLE,
    B_FEMALE,
    B_GAMMA,
    B_GD,
    B_GD_LAG,
    B_HCT_CI,
    B_NEURO,
    B_PHENOTYPE,
    B_PRIOR_DMTS,
    B_PRIOR_RELAPSES,
    B_RECENT,
    B_REMYELINATION,
    B_SP_CLASS,
    B_T2,
    B_THYMIC,
    CLASS_CORR,
    DAYS_PER_YEAR,
    GAMMA_CV,
    GD_AR1,
    GD_AR2,
    GD_OVERDISP,
    LAYOUT_FINGERPRINT,
    NEURO_CV,
    PH_PP,
    PH_RR,
    PH_SP,
    R_GAP,
    RECENT_CV,
    REMY_AGE,
    REMY_CV,
    REMY_DUR,
    REV_PP,
    REV_RR,
    REV_SP,
    SP_MEDIUM_SHARE,
    SP_SLOW_SHARE,
    T2_ACCRUAL,
    T2_ONSET,
    THYMIC_CV,
    THYMIC_DECLINE,
    gd_baseline_rate,
    untreated_rate,
)
from msreboot.simulate._population import (
    POP_ACTIVITY,
    POP_AGE_HIGH,
    POP_AGE_LOW,
    POP_AGE_MEAN,
    POP_AGE_SD,
    POP_DMT_MEAN,
    POP_DMT_MIN,
    POP_DUR_HIGH,
    POP_DUR_LOGMEDIAN,
    POP_DUR_LOW,
    POP_DUR_SDLOG,
    POP_EDSS_HIGH,
    POP_EDSS_LOW,
    POP_EDSS_MEAN,
    POP_EDSS_SD,
    POP_FEMALE,
    POP_GD_MIN,
    POP_HCTCI_MEAN,
    POP_ONSET_AGE_MIN,
    POP_PRIOR_MAX,
    POP_PRIOR_MIN,
    POP_PRIOR_RATE_RATIO,
    POP_PRIOR_WINDOW,
    POP_SHARE_RR,
    POP_SHARE_SP,
)
from msreboot.simulate._rng import (
    gamma,
    negative_binomial,
    normal,
    poisson,
    truncated_normal,
    uniform,
)

MAX_ATTEMPTS = 100_000
GD_BURN_IN_MONTHS = 12


@njit(cache=True)
def lognormal_mean_one(st: np.ndarray, cv: float) -> float:
    """Log-normal with mean 1 and the given coefficient of variation."""
    if cv <= 0.0:
        return 1.0
    s2 = math.log(1.0 + cv * cv)
    return math.exp(math.sqrt(s2) * normal(st) - 0.5 * s2)


@njit(cache=True)
def _duration(st: np.ndarray, pv: np.ndarray) -> float:
    lo = pv[POP_DUR_LOW]
    hi = pv[POP_DUR_HIGH]
    if hi <= 0.0 or pv[POP_DUR_LOGMEDIAN] == -np.inf:
        return float(lo)
    llo = math.log(lo) if lo > 0.0 else -1e300
    x = truncated_normal(st, pv[POP_DUR_LOGMEDIAN], pv[POP_DUR_SDLOG], llo, math.log(hi))
    return math.exp(x)


@njit(cache=True)
def draw_patient(
    pv: np.ndarray, fp: np.ndarray, st: np.ndarray, base: np.ndarray, prior_days: np.ndarray
) -> int:
    """Fill ``base`` (baseline columns) and ``prior_days`` (relapse days before day 0).

    Returns the number of prior relapses, or -1 when no eligible patient was drawn in
    ``MAX_ATTEMPTS`` attempts.
    """
    # the published between-patient CV is that of the activity at a time (propensity
    # times recent activity); the persistent propensity carries the rest of it
    recent_cv = min(fp[RECENT_CV], fp[GAMMA_CV])
    recent_shape = 1.0 / (recent_cv * recent_cv) if recent_cv > 0.0 else 0.0
    persistent = (1.0 + fp[GAMMA_CV] * fp[GAMMA_CV]) / (1.0 + recent_cv * recent_cv) - 1.0
    shape = 1.0 / max(persistent, 1e-12)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        female = uniform(st) < pv[POP_FEMALE]
        u = uniform(st)
        if u < pv[POP_SHARE_RR]:
            phen = PH_RR
        elif u < pv[POP_SHARE_RR] + pv[POP_SHARE_SP]:
            phen = PH_SP
        else:
            phen = PH_PP
        age = truncated_normal(
            st, pv[POP_AGE_MEAN], pv[POP_AGE_SD], pv[POP_AGE_LOW], pv[POP_AGE_HIGH]
        )
        duration = _duration(st, pv)
        if age - duration < pv[POP_ONSET_AGE_MIN]:
            continue
        z = truncated_normal(
            st, pv[POP_EDSS_MEAN], pv[POP_EDSS_SD], pv[POP_EDSS_LOW], pv[POP_EDSS_HIGH]
        )
        g = gamma(st, shape) / shape * pv[POP_ACTIVITY]
        # recent activity around the propensity: selection on recent relapses or lesions
        # picks high values, which regress to 1 after enrolment
        recent = gamma(st, recent_shape) / recent_shape if recent_cv > 0.0 else 1.0
        zn = normal(st)
        s2 = math.log(1.0 + fp[NEURO_CV] * fp[NEURO_CV])
        neuro = math.exp(math.sqrt(s2) * zn - 0.5 * s2)
        rho = fp[CLASS_CORR]
        zc = rho * zn + math.sqrt(max(1.0 - rho * rho, 0.0)) * normal(st)
        u_class = 0.5 * (1.0 + math.erf(zc / math.sqrt(2.0)))
        remy = math.exp(
            -fp[REMY_AGE] * (age - 30.0) - fp[REMY_DUR] * duration
        ) * lognormal_mean_one(st, fp[REMY_CV])
        remy = min(remy, 1.0)
        thymic = math.exp(-fp[THYMIC_DECLINE] * (age - 25.0)) * lognormal_mean_one(
            st, fp[THYMIC_CV]
        )
        sp_class = 2
        if u_class < fp[SP_SLOW_SHARE]:
            sp_class = 0
        elif u_class < fp[SP_SLOW_SHARE] + fp[SP_MEDIUM_SHARE]:
            sp_class = 1
        # relapses in the window before enrolment, at the rate of the window's midpoint
        window = min(pv[POP_PRIOR_WINDOW], duration)
        n_prior = 0
        if window > 0.0:
            mid_age = age - 0.5 * window
            mid_dur = duration - 0.5 * window
            rate = untreated_rate(fp, g * recent, mid_age, mid_dur, phen) * pv[POP_PRIOR_RATE_RATIO]
            n_prior = poisson(st, rate * window)
        if n_prior < pv[POP_PRIOR_MIN] or n_prior > pv[POP_PRIOR_MAX]:
            continue
        if n_prior > 0 and not _prior_days(st, fp, n_prior, window, prior_days):
            continue
        # Gd+ process run in before enrolment; the last month is the baseline scan
        lam0 = gd_baseline_rate(fp, untreated_rate(fp, g * recent, age, duration, phen))
        n1 = 0.0
        n2 = 0.0
        for _ in range(GD_BURN_IN_MONTHS):
            lam = lam0 + fp[GD_AR1] * n1 + fp[GD_AR2] * n2
            n2 = n1
            n1 = float(negative_binomial(st, lam, fp[GD_OVERDISP]))
        if n1 < pv[POP_GD_MIN]:
            continue
        if phen == PH_RR:
            share = fp[REV_RR]
        elif phen == PH_SP:
            share = fp[REV_SP]
        else:
            share = fp[REV_PP]
        t2_mean = fp[T2_ONSET] + fp[T2_ACCRUAL] * duration
        base[B_AGE] = age
        base[B_FEMALE] = 1.0 if female else 0.0
        base[B_PHENOTYPE] = phen
        base[B_DURATION] = duration
        base[B_DIAGNOSIS_DELAY] = min(-math.log(uniform(st)), duration)
        base[B_EDSS_LATENT] = z
        base[B_EDSS_REVERSIBLE] = z * share * remy
        base[B_GAMMA] = g
        base[B_NEURO] = neuro
        base[B_REMYELINATION] = remy
        base[B_THYMIC] = thymic
        base[B_SP_CLASS] = sp_class
        base[B_PRIOR_RELAPSES] = n_prior
        base[B_GD] = n1
        base[B_GD_LAG] = n2
        base[B_T2] = negative_binomial(st, t2_mean, 0.3)
        base[B_PRIOR_DMTS] = pv[POP_DMT_MIN] + poisson(st, pv[POP_DMT_MEAN])
        base[B_HCT_CI] = min(poisson(st, pv[POP_HCTCI_MEAN]), 10)
        base[B_ATTEMPTS] = attempt
        base[B_RECENT] = recent
        return n_prior
    return -1


@njit(cache=True)
def _prior_days(
    st: np.ndarray, fp: np.ndarray, n: int, window_years: float, out: np.ndarray
) -> bool:
    """Distinct relapse days in the window (at least the minimum gap apart), sorted."""
    span = window_years * DAYS_PER_YEAR
    gap = fp[R_GAP]
    for _ in range(200):
        for k in range(n):
            out[k] = -(1.0 + math.floor(uniform(st) * (span - 1.0)))
        out[:n].sort()
        ok = True
        for k in range(1, n):
            if out[k] - out[k - 1] <= gap:
                ok = False
                break
        if ok:
            return True
    return False


@njit(cache=True)
def compiled_fingerprint() -> int:
    """The layout this module was compiled with (see ``_cache.ensure_fresh``)."""
    return LAYOUT_FINGERPRINT
