"""The compiled course of a chunk of patients, in parallel.

Each patient is independent (``prange``) and draws only from its own streams, seeded from
its index in the cohort (see :mod:`msreboot.simulate._rng`), so the result does not depend
on the chunking or the thread count. Output slots are preallocated per patient; a patient
whose relapses or adverse events overflow its slots is reported in ``status``
(:mod:`msreboot.simulate._kernel` has the codes) and the caller reruns the chunk with more
room (the result does not change: the streams are per patient).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from msreboot.simulate._kernel import simulate_patient
from msreboot.simulate._kernel_common import LAYOUT_FINGERPRINT, N_AE_COLS, N_BASE, N_TRUTH
from msreboot.simulate._kernel_switch import N_TX, N_TX_SWITCH
from msreboot.simulate._rng import N_STREAMS, seed_stream


@njit(cache=True, parallel=True)
def simulate_chunk(
    first: int,
    n: int,
    pool: np.ndarray,
    hc: np.uint64,
    pv: np.ndarray,
    fp: np.ndarray,
    tv: np.ndarray,
    tv2: np.ndarray,
    sw: np.ndarray,
    edss_sched: np.ndarray,
    mri_sched: np.ndarray,
    jitter: int,
    ltfu_per_year: float,
    fu_days: float,
    cap_rel: int,
    cap_ae: int,
    lab_days: np.ndarray,
) -> tuple[
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
]:
    """Simulate patients ``first .. first + n - 1`` (their indices key their streams).

    Returns ``(base, truth, counts, status, edss_day, edss_val, mri_day, mri_val,
    rel_day, rel_end, ae, tx, lab, tx2)``; ``counts`` holds per patient the numbers of EDSS
    visits, scans, relapses and adverse events written to the slots; ``lab`` the total and
    naive CD4 counts ``lab_days`` after a reinfusion (NaN without one); ``tx2`` the course
    a switch rule ``sw`` started on failure (``tv2``; not present without one).
    """
    nv = edss_sched.shape[0]
    ns = mri_sched.shape[0]
    base = np.zeros((n, N_BASE))
    truth = np.zeros((n, N_TRUTH))
    counts = np.zeros((n, 4), dtype=np.int64)
    status = np.zeros(n, dtype=np.int64)
    edss_day = np.zeros((n, max(nv, 1)), dtype=np.int64)
    edss_val = np.zeros((n, max(nv, 1)))
    mri_day = np.zeros((n, max(ns, 1)), dtype=np.int64)
    mri_val = np.zeros((n, max(ns, 1), 3), dtype=np.int64)
    rel_day = np.zeros((n, cap_rel), dtype=np.int64)
    rel_end = np.zeros((n, cap_rel), dtype=np.int64)
    ae = np.zeros((n, cap_ae, N_AE_COLS), dtype=np.int64)
    tx = np.zeros((n, N_TX), dtype=np.int64)
    tx2 = np.zeros((n, N_TX_SWITCH), dtype=np.int64)
    lab = np.full((n, lab_days.shape[0], 2), np.nan)
    for i in prange(n):
        st = np.empty((N_STREAMS, 4), dtype=np.uint64)
        for s in range(N_STREAMS):
            seed_stream(pool, hc, first + i, s, st[s])
        ne, nm, nr, na, code = simulate_patient(
            pv,
            fp,
            tv,
            tv2,
            sw,
            edss_sched,
            mri_sched,
            jitter,
            ltfu_per_year,
            fu_days,
            st,
            base[i],
            truth[i],
            edss_day[i],
            edss_val[i],
            mri_day[i],
            mri_val[i],
            rel_day[i],
            rel_end[i],
            ae[i],
            tx[i],
            tx2[i],
            lab_days,
            lab[i],
        )
        counts[i, 0] = ne
        counts[i, 1] = nm
        counts[i, 2] = nr
        counts[i, 3] = na
        status[i] = code
    return (
        base,
        truth,
        counts,
        status,
        edss_day,
        edss_val,
        mri_day,
        mri_val,
        rel_day,
        rel_end,
        ae,
        tx,
        lab,
        tx2,
    )


@njit(cache=True)
def compiled_fingerprint() -> int:
    """The layout this module was compiled with (see ``_cache.ensure_fresh``)."""
    return LAYOUT_FINGERPRINT
