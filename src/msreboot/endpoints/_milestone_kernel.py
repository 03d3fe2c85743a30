"""Compiled per-patient scan for the first confirmed visit at an EDSS milestone.

Same flat per-patient arrays and relapse buffers as the disability scan
(:mod:`._disability_kernel`); used by :func:`msreboot.endpoints.time_to_milestone`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from msreboot.endpoints._disability_layout import (
    FINGERPRINT,
    FP_CF_LAST,
    FP_CF_NEXT,
    FP_EV_LAST,
    FP_EV_NEXT,
    FP_IMPUTE_MAX_FU,
    FP_SUST_DAYS,
)

__all__ = ["compiled_fingerprint", "scan_milestone"]


@njit(cache=True, parallel=True)
def scan_milestone(
    vstart: np.ndarray,
    t: np.ndarray,
    x: np.ndarray,
    valid: np.ndarray,
    rstart: np.ndarray,
    r: np.ndarray,
    milestone: float,
    fp: np.ndarray,
    win_lo: np.ndarray,
    win_hi: np.ndarray,
    every: bool,
    impute: bool,
    first: int,
) -> np.ndarray:
    """First confirmed visit at or beyond ``milestone`` per patient (local index, -1: none).

    The first visit reaching the milestone (outside the event buffer) is confirmed by the
    first eligible visit in the windows, every visit up to it also at the milestone (or
    only that visit); otherwise the scan moves to the next visit reaching it.
    """
    n_patients = vstart.shape[0] - 1
    out = np.full(n_patients, -1, dtype=np.int64)
    for p in prange(n_patients):
        a = vstart[p]
        n = vstart[p + 1] - a
        rel = r[rstart[p] : rstart[p + 1]]
        m = rel.shape[0]
        dprev = np.full(n, np.inf)
        dnext = np.full(n, np.inf)
        j = 0
        for i in range(n):
            while j < m and rel[j] <= t[a + i]:
                j += 1
            if j > 0:
                dprev[i] = t[a + i] - rel[j - 1]
            q = j - 1 if (j > 0 and rel[j - 1] == t[a + i]) else j
            if q < m:
                dnext[i] = rel[q] - t[a + i]
        for i in range(first, n):
            if x[a + i] < milestone or dprev[i] < fp[FP_EV_LAST] or dnext[i] < fp[FP_EV_NEXT]:
                continue
            conf = -1
            for c in range(i + 1, n):
                if not valid[a + c] or dprev[c] < fp[FP_CF_LAST] or dnext[c] < fp[FP_CF_NEXT]:
                    continue
                lag = t[a + c] - t[a + i]
                for w in range(win_lo.shape[0]):
                    if win_lo[w] <= lag <= win_hi[w]:
                        conf = c
                        break
                if conf >= 0:
                    break
            if conf < 0:
                if impute and i == n - 1 and t[a + i] - t[a] <= fp[FP_IMPUTE_MAX_FU]:
                    out[p] = i
                    break
                continue
            held = True
            lo = i + 1 if every else conf
            for c in range(lo, conf + 1):
                if x[a + c] < milestone:
                    held = False
                    break
            if held and fp[FP_SUST_DAYS] > 0:
                if every:
                    for c in range(conf + 1, n):
                        if x[a + c] < milestone:
                            held = t[a + c] - t[a + i] >= fp[FP_SUST_DAYS]
                            break
                else:
                    vis = n - 1
                    for c in range(i + 1, n):
                        if t[a + c] - t[a + i] >= fp[FP_SUST_DAYS]:
                            vis = c
                            break
                    held = x[a + vis] >= milestone
            if held:
                out[p] = i
                break
    return out


@njit(cache=True)
def compiled_fingerprint() -> int:
    """The layout this module was compiled with (see ``_disability_cache.ensure_fresh``)."""
    return FINGERPRINT
