"""The compiled disability scan over a whole cohort, in parallel chunks of patients.

The cohort arrives as flat arrays sorted by patient then day, with per-patient offsets
(``vstart``, ``rstart``); each patient is scanned independently by
:func:`._disability_kernel.scan_patient`, so the scan runs unchanged on any partition of
patients. Outputs are sized by what is found, not by visits: each chunk of patients
writes its events and unconfirmed changes one after another into its own share of
compact output arrays (room for a share of its visits) and reuses one set of scratch
arrays for all its patients. A chunk whose share fills up stops at the patient that does
not fit, and :func:`scan_cohort` scans the rest again with room for every visit (a patient
has at most one event and one unconfirmed change per visit).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from msreboot.endpoints._disability_kernel import scan_patient
from msreboot.endpoints._disability_layout import (
    FINGERPRINT,
    IP_SEPARATE,
    N_OUT_FIXED,
    N_VAL_FIXED,
    OUT_TYPE,
)
from msreboot.endpoints._disability_references import scan_patient_separate

__all__ = ["compiled_fingerprint", "scan_cohort"]


@njit(cache=True, parallel=True)
def _scan_chunks(
    vstart: np.ndarray,
    t: np.ndarray,
    x: np.ndarray,
    dw: np.ndarray,
    di: np.ndarray,
    valid: np.ndarray,
    rstart: np.ndarray,
    r: np.ndarray,
    rend: np.ndarray,
    ip: np.ndarray,
    fp: np.ndarray,
    win_lo: np.ndarray,
    win_hi: np.ndarray,
    chunk: np.ndarray,
    out_pat: np.ndarray,
    out_int: np.ndarray,
    out_val: np.ndarray,
    out_unc_pat: np.ndarray,
    out_unc: np.ndarray,
    out_unc_d: np.ndarray,
    n_events: np.ndarray,
    n_unc: np.ndarray,
    status: np.ndarray,
) -> None:
    """Scan the patients of each chunk into its share of the compact outputs.

    ``chunk`` rows are (first patient, end patient, first event row, end event row, first
    unconfirmed row, end unconfirmed row); on return the rows written replace the ends of
    the shares and the end patient is the first patient that did not fit (the chunk's end
    when all did). Visit indices in the outputs are global (-1: none).
    """
    nw = win_lo.shape[0]
    n_int = N_OUT_FIXED + 2 * nw
    n_val = N_VAL_FIXED + 2 * nw
    separate = ip[IP_SEPARATE] == 1
    for c in prange(chunk.shape[0]):
        p_lo = chunk[c, 0]
        p_hi = chunk[c, 1]
        nmax = 1
        for p in range(p_lo, p_hi):
            nmax = max(nmax, vstart[p + 1] - vstart[p])
        cap = 4 * nmax + 4
        s_int = np.empty((nmax, n_int), dtype=np.int32)
        s_val = np.empty((nmax, n_val))
        s_unc = np.empty((nmax, 2), dtype=np.int32)
        s_unc_d = np.empty((nmax, 4))
        s_x = np.empty(nmax)
        s_dw = np.empty(nmax)
        s_di = np.empty(nmax)
        s_dprev = np.empty(nmax)
        s_dnext = np.empty(nmax)
        s_det_int = np.empty((cap, n_int), dtype=np.int32)
        s_det_val = np.empty((cap, n_val))
        s_cu = np.empty(nmax, dtype=np.int64)
        s_bits = np.empty(nmax, dtype=np.int64)
        s_order = np.empty(cap, dtype=np.int64)
        e = chunk[c, 2]
        e_end = chunk[c, 3]
        u = chunk[c, 4]
        u_end = chunk[c, 5]
        stop = p_hi
        for p in range(p_lo, p_hi):
            a = vstart[p]
            b = vstart[p + 1]
            n = b - a
            if n <= 0:
                continue
            if separate:
                ne, nu, st = scan_patient_separate(
                    t[a:b],
                    x[a:b],
                    dw[a:b],
                    di[a:b],
                    valid[a:b],
                    r[rstart[p] : rstart[p + 1]],
                    rend[rstart[p] : rstart[p + 1]],
                    ip,
                    fp,
                    win_lo,
                    win_hi,
                    s_int[:n],
                    s_val[:n],
                    s_unc[:n],
                    s_unc_d[:n],
                    s_x[:n],
                    s_dw[:n],
                    s_di[:n],
                    s_dprev[:n],
                    s_dnext[:n],
                    s_det_int[: 4 * n + 4],
                    s_det_val[: 4 * n + 4],
                    s_cu[:n],
                    s_bits[:n],
                    s_order[: 4 * n + 4],
                )
            else:
                ne, nu, st = scan_patient(
                    t[a:b],
                    x[a:b],
                    dw[a:b],
                    di[a:b],
                    valid[a:b],
                    r[rstart[p] : rstart[p + 1]],
                    rend[rstart[p] : rstart[p + 1]],
                    ip,
                    fp,
                    win_lo,
                    win_hi,
                    s_int[:n],
                    s_val[:n],
                    s_unc[:n],
                    s_unc_d[:n],
                    s_x[:n],
                    s_dw[:n],
                    s_di[:n],
                    s_dprev[:n],
                    s_dnext[:n],
                    s_det_int[: 4 * n + 4],
                    s_det_val[: 4 * n + 4],
                    s_cu[:n],
                    s_bits[:n],
                    s_order[: 4 * n + 4],
                )
            if e + ne > e_end or u + nu > u_end:
                stop = p
                break
            for q in range(ne):
                out_pat[e] = p
                out_int[e, OUT_TYPE] = s_int[q, OUT_TYPE]
                for col in range(1, n_int):
                    loc = s_int[q, col]
                    out_int[e, col] = a + loc if loc >= 0 else -1
                for col in range(n_val):
                    out_val[e, col] = s_val[q, col]
                e += 1
            for q in range(nu):
                out_unc_pat[u] = p
                out_unc[u, 0] = a + s_unc[q, 0]
                out_unc[u, 1] = a + s_unc[q, 1]
                for col in range(4):
                    out_unc_d[u, col] = s_unc_d[q, col]
                u += 1
            n_events[p] = ne
            n_unc[p] = nu
            status[p] = st
        chunk[c, 1] = stop
        chunk[c, 3] = e
        chunk[c, 5] = u


def _compact(
    out: tuple[np.ndarray, ...],
    chunk: np.ndarray,
    n_events: np.ndarray,
    n_unc: np.ndarray,
    status: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Move each chunk's rows down to follow the previous chunk's (no new arrays)."""
    e = u = 0
    for e0, e1, u0, u1 in chunk[:, 2:].tolist():
        for arr in out[:3]:
            arr[e : e + e1 - e0] = arr[e0:e1]
        for arr in out[3:]:
            arr[u : u + u1 - u0] = arr[u0:u1]
        e += e1 - e0
        u += u1 - u0
    ev_pat, ev_int, ev_val, unc_pat, unc, unc_d = out
    return (
        ev_pat[:e],
        ev_int[:e],
        ev_val[:e],
        n_events,
        unc_pat[:u],
        unc[:u],
        unc_d[:u],
        n_unc,
        status,
    )


CHUNK_PATIENTS = 1024
"""Patients per chunk of the parallel scan."""
SHARE = 0.125
"""Output rows a chunk first gets per visit (events and unconfirmed changes alike)."""


def scan_cohort(
    vstart: np.ndarray,
    t: np.ndarray,
    x: np.ndarray,
    dw: np.ndarray,
    di: np.ndarray,
    valid: np.ndarray,
    rstart: np.ndarray,
    r: np.ndarray,
    rend: np.ndarray,
    ip: np.ndarray,
    fp: np.ndarray,
    win_lo: np.ndarray,
    win_hi: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Scan every patient; events and unconfirmed changes come out compact.

    Returns ``(ev_pat, ev_int, ev_val, n_events, unc_pat, unc, unc_d, n_unconfirmed,
    status)``: one row per event (``ev_pat``: patient number; ``ev_int``: type code and
    global visit indices, -1 for none; ``ev_val``: values at detection) and per unconfirmed
    change (``unc``: change and baseline visit; ``unc_d``: distances to the relapses
    before / after, value, baseline value), in patient then visit order. Each chunk first
    gets room for :data:`SHARE` rows per visit (plus one patient's worth); the patients of a
    chunk that did not fit are scanned again with room for every visit (a patient has at
    most one event and one unconfirmed change per visit).
    """
    n_patients = vstart.shape[0] - 1
    nw = win_lo.shape[0]
    n_events = np.zeros(n_patients, dtype=np.int64)
    n_unc = np.zeros(n_patients, dtype=np.int64)
    status = np.zeros(n_patients, dtype=np.int64)

    def buffers(rows: int) -> tuple[np.ndarray, ...]:
        return (
            np.empty(rows, dtype=np.int64),
            np.empty((rows, N_OUT_FIXED + 2 * nw), dtype=np.int64),
            np.empty((rows, N_VAL_FIXED + 2 * nw)),
            np.empty(rows, dtype=np.int64),
            np.empty((rows, 2), dtype=np.int64),
            np.empty((rows, 4)),
        )

    pieces: list[tuple[int, int, tuple[np.ndarray, ...]]] = []  # (chunk, pass, rows)
    lo = np.arange(0, n_patients, CHUNK_PATIENTS, dtype=np.int64)
    hi = np.minimum(lo + CHUNK_PATIENTS, n_patients)
    order = np.arange(len(lo))
    step = 0
    while len(lo):
        visits = vstart[hi] - vstart[lo]
        if step == 0:  # contiguous chunks: room for a share of visits plus the longest patient
            longest = np.maximum.reduceat(np.diff(vstart), lo)
            room = np.minimum(np.ceil(visits * SHARE).astype(np.int64) + longest, visits)
        else:  # the rest of the chunks that filled up: room for every visit
            room = visits
        ends = np.cumsum(room)
        chunk = np.stack([lo, hi, ends - room, ends, ends - room, ends], axis=1)
        out = buffers(int(ends[-1]))
        o_pat, o_int, o_val, o_unc_pat, o_unc, o_unc_d = out
        _scan_chunks(
            vstart, t, x, dw, di, valid, rstart, r, rend, ip, fp, win_lo, win_hi, chunk,
            o_pat, o_int, o_val, o_unc_pat, o_unc, o_unc_d, n_events, n_unc, status,
        )  # fmt: skip
        for c in range(len(lo)):
            e0, e1, u0, u1 = chunk[c, 2:]
            rows = tuple(a[e0:e1] for a in out[:3]) + tuple(a[u0:u1] for a in out[3:])
            pieces.append((int(order[c]), step, rows))
        left = chunk[:, 1] < hi
        if step == 0 and not left.any():  # everything fitted: close the gaps in place
            return _compact(out, chunk, n_events, n_unc, status)
        lo, hi, order = chunk[left, 1], hi[left], order[left]
        step += 1
    pieces.sort(key=lambda piece: (piece[0], piece[1]))
    empty = buffers(0)
    result = [np.concatenate([empty[k]] + [piece[2][k] for piece in pieces]) for k in range(6)]
    ev_pat, ev_int, ev_val, unc_pat, unc, unc_d = result
    return ev_pat, ev_int, ev_val, n_events, unc_pat, unc, unc_d, n_unc, status


@njit(cache=True)
def compiled_fingerprint() -> int:
    """The layout this module was compiled with (see ``_disability_cache.ensure_fresh``)."""
    return FINGERPRINT
