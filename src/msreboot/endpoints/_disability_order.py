"""Compiled helpers of the disability border: rows grouped by patient and sorted by day,
and step thresholds looked up per visit.

The visits arrive in any order with an integer patient code per row (codes numbered in
sorted patient-id order). :func:`group_rows` gives the row order of
``np.lexsort((day, code))`` restricted to the kept rows in linear time: a stable counting
sort by code, then a stable insertion sort by day within each patient (visits of one
patient are few, and usually already in order, so this is a single pass). Used by
:mod:`._disability_input` for the visits and the relapses. :func:`step_thresholds` is
``ThresholdRule.delta`` for a table of steps, without temporaries.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from msreboot.endpoints._disability_layout import FINGERPRINT

__all__ = ["compiled_fingerprint", "group_rows", "step_thresholds"]


@njit(cache=True)
def _count_sort(code: np.ndarray, keep: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Kept rows grouped by code, in input order within a code; and the group offsets."""
    start = np.zeros(n_groups + 1, dtype=np.int64)
    for i in range(code.shape[0]):
        if keep[i]:
            start[code[i] + 1] += 1
    for g in range(n_groups):
        start[g + 1] += start[g]
    fill = start[:-1].copy()
    order = np.empty(start[n_groups], dtype=np.int64)
    for i in range(code.shape[0]):
        if keep[i]:
            c = code[i]
            order[fill[c]] = i
            fill[c] += 1
    return order, start


@njit(cache=True, parallel=True)
def _sort_groups(order: np.ndarray, start: np.ndarray, key: np.ndarray) -> None:
    """Stable insertion sort of each group of ``order`` by ``key`` (in place)."""
    n_groups = start.shape[0] - 1
    for g in prange(n_groups):
        a = start[g]
        b = start[g + 1]
        if b - a > 64:  # a long record: merge sort (stable) rather than quadratic
            rows = order[a:b].copy()
            order[a:b] = rows[np.argsort(key[rows], kind="mergesort")]
            continue
        for i in range(a + 1, b):
            row = order[i]
            k = key[row]
            j = i - 1
            while j >= a and key[order[j]] > k:
                order[j + 1] = order[j]
                j -= 1
            order[j + 1] = row


def group_rows(
    code: np.ndarray, key: np.ndarray, keep: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Kept rows ordered by (code, key), ties in input order; and each code's offsets.

    ``code`` must be in ``[0, n_groups)`` on kept rows and ``key`` free of NaN there.
    The order equals ``np.lexsort((key, code))`` with the dropped rows left out.
    """
    code = np.ascontiguousarray(code, dtype=np.int64)
    keep = np.ascontiguousarray(keep, dtype=np.bool_)
    order, start = _count_sort(code, keep, n_groups)
    _sort_groups(order, start, np.ascontiguousarray(key, dtype=np.float64))
    return order, start


@njit(cache=True, parallel=True)
def _steps(ref: np.ndarray, bounds: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    out = np.empty(ref.shape[0])
    last = bounds.shape[0] - 1
    for i in prange(ref.shape[0]):
        k = 0
        while k < last and bounds[k] < ref[i]:
            k += 1
        out[i] = deltas[k]
    return out


def step_thresholds(ref: np.ndarray, bounds: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    """``deltas[np.searchsorted(bounds, ref, side="left")]`` for increasing ``bounds`` whose
    last entry covers every ``ref`` (finite values, last bound ``inf``)."""
    return _steps(np.ascontiguousarray(ref, dtype=np.float64), bounds, deltas)


@njit(cache=True)
def compiled_fingerprint() -> int:
    """The layout this module was compiled with (see ``_disability_cache.ensure_fresh``)."""
    return FINGERPRINT
