# ruff: noqa: SIM103  (explicit comparisons compile to the simplest code)
"""The checks of the compiled disability scan: thresholds, confirmation, sustained
changes, local extrema, relapse-free intervals (PIRA), and the recording of a detection.

Values are oriented so that larger is worse; ``dw`` / ``di`` are the per-visit worsening /
improvement thresholds. Every function is compiled (numba) and called from
:mod:`._disability_kernel` and :mod:`._milestone_kernel`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from msreboot.endpoints._disability_layout import (
    EXT_ALL,
    EXT_NONE,
    FINGERPRINT,
    FP_C0,
    FP_C1,
    FP_E0,
    FP_E1,
    FP_P0,
    FP_P1,
    N_OUT_FIXED,
    N_VAL_FIXED,
    OUT_CHANGE,
    OUT_LAST_DELTA,
    VAL_MERGED,
)


@njit(cache=True, inline="always")
def wors(xv: float, bv: float, delta: float, sub: bool) -> bool:
    if sub:
        return xv > bv
    return xv - bv >= delta


@njit(cache=True, inline="always")
def impr(xv: float, bv: float, delta: float, sub: bool) -> bool:
    if sub:
        return xv < bv
    return xv - bv <= -delta


@njit(cache=True)
def local_extremum(x: np.ndarray, dw: np.ndarray, di: np.ndarray, i: int, mode: int) -> bool:
    n = x.shape[0]
    prec = i - 1 if i > 0 else i
    subs = i + 1 if i < n - 1 else i
    sub = mode == EXT_ALL
    is_min = wors(x[prec], x[i], dw[i], sub) and wors(x[subs], x[i], dw[i], sub)
    is_max = impr(x[prec], x[i], di[i], sub) and impr(x[subs], x[i], di[i], sub)
    if not (is_min or is_max):
        return False
    if i >= 2 and x[i] == x[i - 2]:
        return False  # undulating course: not an extremum
    return True


@njit(cache=True)
def holds(
    x: np.ndarray, ref: float, delta: float, worse: bool, sub: bool, lo: int, hi: int, every: bool
) -> bool:
    """Whether the change from ``ref`` holds on visits lo..hi (all of them, or only ``hi``)."""
    if every:
        for k in range(lo, hi + 1):
            if worse:
                if not wors(x[k], ref, delta, sub):
                    return False
            elif not impr(x[k], ref, delta, sub):
                return False
        return True
    if hi < lo:
        return True
    if worse:
        return wors(x[hi], ref, delta, sub)
    return impr(x[hi], ref, delta, sub)


@njit(cache=True)
def monotone(x: np.ndarray, change: int, hi: int, worse: bool, every: bool) -> bool:
    """Whether visits change+1..hi (all of them, or only ``hi``) are at least as far from
    the reference as the event visit (monotonic confirmation)."""
    lo = change + 1 if every else hi
    for k in range(lo, hi + 1):
        if worse:
            if x[k] < x[change]:
                return False
        elif x[k] > x[change]:
            return False
    return True


@njit(cache=True)
def confirmed_minimum(t: np.ndarray, x: np.ndarray, i: int, bv: float, days: float) -> int:
    """The visit whose score a lower score at ``i`` confirms as the new running-minimum
    reference (the highest score from ``i`` up to the first visit ``days`` later, all below
    ``bv``), or -1 when it is not confirmed. ``days`` 0: ``i`` itself."""
    if days == 0:
        return i
    best = i
    for k in range(i + 1, t.shape[0]):
        if not x[k] < bv:
            return -1
        if x[k] > x[best]:
            best = k
        if t[k] - t[i] >= days:
            return best
    return -1


@njit(cache=True)
def least_change_reference(
    x: np.ndarray,
    dw: np.ndarray,
    di: np.ndarray,
    change: int,
    conf: int,
    worse: bool,
    every: bool,
) -> int:
    """Make the event visit the new reference with the least changed score of the span
    that confirmed it (the event, the confirmation visit and, with ``every``, the visits in
    between); returns the event visit. Its thresholds become those of that score."""
    best = change
    for k in range(change + 1 if every else conf, conf + 1):
        if (x[k] < x[best]) if worse else (x[k] > x[best]):
            best = k
    x[change] = x[best]
    dw[change] = dw[best]
    di[change] = di[best]
    return change


@njit(cache=True)
def last_delta(
    x: np.ndarray,
    dw: np.ndarray,
    di: np.ndarray,
    change: int,
    conf0: int,
    worse: bool,
    skip: int,
    every: bool,
) -> int:
    """Last visit before ``change`` from which the change is clinically meaningful (0 if none)."""
    iref = change
    while iref > 1:
        iref -= 1
        delta = dw[iref] if worse else di[iref]
        if skip != EXT_NONE and local_extremum(x, dw, di, iref, skip):
            continue
        if worse:
            ok = wors(x[change], x[iref], delta, False)
        else:
            ok = impr(x[change], x[iref], delta, False)
        if ok and holds(x, x[iref], delta, worse, False, change + 1, conf0, every):
            return iref
    return 0


@njit(cache=True)
def sustained(
    t: np.ndarray,
    x: np.ndarray,
    bv: float,
    delta: float,
    worse: bool,
    change: int,
    next_nonsust: int,
    sust_days: float,
    every: bool,
) -> bool:
    n = t.shape[0]
    if sust_days == 0:
        return True
    if every:
        return next_nonsust < 0 or t[next_nonsust] - t[change] >= sust_days
    vis = n - 1
    if t[n - 1] - t[change] >= sust_days:
        for k in range(change + 1, n):
            if t[k] - t[change] >= sust_days:
                vis = k
                break
    if worse:
        return wors(x[vis], bv, delta, False)
    return impr(x[vis], bv, delta, False)


@njit(cache=True)
def relapse_in(r: np.ndarray, rend: np.ndarray, lo: float, hi: float, use_end: bool) -> bool:
    for k in range(r.shape[0]):
        end = rend[k] if use_end else r[k]
        if r[k] <= hi and end >= lo:
            return True
    return False


@njit(cache=True)
def pira_free(
    r: np.ndarray,
    rend: np.ndarray,
    fp: np.ndarray,
    t_prec: float,
    t_event: float,
    t_conf: float,
    use_end: bool,
) -> bool:
    """No relapse in the relapse-free intervals around (preceding visit, event, confirmation).

    A missing left bound (NaN) continues the previous interval, a missing right bound opens
    one that the next checkpoint closes; an interval of zero length is ignored.
    """
    t0 = np.nan
    for point in range(3):
        if point == 0:
            tp, lo, hi = t_prec, fp[FP_P0], fp[FP_P1]
        elif point == 1:
            tp, lo, hi = t_event, fp[FP_E0], fp[FP_E1]
        else:
            tp, lo, hi = t_conf, fp[FP_C0], fp[FP_C1]
        if not np.isnan(lo):
            t0 = tp - lo
        if not np.isnan(hi):
            t1 = tp + hi
            if t1 > t0 and relapse_in(r, rend, t0, t1, use_end):
                return False
    return True


@njit(cache=True)
def free_before_event(
    r: np.ndarray,
    rend: np.ndarray,
    fp: np.ndarray,
    t_prec: float,
    t_event: float,
    use_end: bool,
) -> bool:
    """No relapse in the relapse-free intervals of the preceding visit and the event, each
    cut at the event day (a relapse after the event falls in the confirmation span)."""
    t0 = np.nan
    for point in range(2):
        if point == 0:
            tp, lo, hi = t_prec, fp[FP_P0], fp[FP_P1]
        else:
            tp, lo, hi = t_event, fp[FP_E0], fp[FP_E1]
        if not np.isnan(lo):
            t0 = tp - lo
        if not np.isnan(hi) or point == 1:
            t1 = t_event if np.isnan(hi) else min(tp + hi, t_event)
            if t1 > t0 and relapse_in(r, rend, t0, t1, use_end):
                return False
    return True


@njit(cache=True)
def record_values(out: np.ndarray, row: np.ndarray, x: np.ndarray, bv: float, nw: int) -> None:
    """Values at detection time: baseline, event, last-delta, merged score (NaN), then
    each confirmation column."""
    out[0] = bv
    out[1] = x[row[OUT_CHANGE]]
    out[2] = x[row[OUT_LAST_DELTA]]
    out[VAL_MERGED] = np.nan
    for c in range(2 * nw):
        idx = row[N_OUT_FIXED + c]
        out[N_VAL_FIXED + c] = x[idx] if idx >= 0 else np.nan


@njit(cache=True)
def first_of_window(cu: np.ndarray, bits: np.ndarray, nu: int, w: int) -> int:
    for k in range(nu):
        if bits[k] & (1 << w):
            return int(cu[k])
    return -1


@njit(cache=True)
def first_confirmation(cu: np.ndarray, bits: np.ndarray, nu: int, nw: int) -> int:
    """Earliest confirming visit of the first period (in the order given) that has one."""
    for w in range(nw):
        found = first_of_window(cu, bits, nu, w)
        if found >= 0:
            return found
    return -1


@njit(cache=True)
def change_lost(
    x: np.ndarray, bv: float, delta: float, worse: bool, cu: np.ndarray, nu: int
) -> tuple[int, int]:
    """First visit after the first confirmation where the change no longer holds (-1: none),
    and how many confirmation candidates come before it."""
    nxt = -1
    for k in range(cu[0] + 1, x.shape[0]):
        held = wors(x[k], bv, delta, False) if worse else impr(x[k], bv, delta, False)
        if not held:
            nxt = k
            break
    nf = nu
    if nxt >= 0:
        nf = 0
        while nf < nu and cu[nf] < nxt:
            nf += 1
    return nxt, nf


@njit(cache=True)
def note_unconfirmed(
    unc: np.ndarray,
    unc_d: np.ndarray,
    nunc: int,
    change: int,
    bl: int,
    dprev: np.ndarray,
    dnext: np.ndarray,
    x: np.ndarray,
    bv: float,
) -> bool:
    """Record an unconfirmed candidate in slot ``nunc``; False when the slots are full."""
    if nunc >= unc.shape[0]:
        return False
    unc[nunc, 0] = change
    unc[nunc, 1] = bl
    unc_d[nunc, 0] = dprev[change]
    unc_d[nunc, 1] = dnext[change]
    unc_d[nunc, 2] = x[change]
    unc_d[nunc, 3] = bv
    return True


@njit(cache=True)
def compiled_fingerprint() -> int:
    """The layout this module was compiled with (see ``_disability_cache.ensure_fresh``)."""
    return FINGERPRINT
