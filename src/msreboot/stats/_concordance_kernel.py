"""Compiled weighted Harrell's C over rows sorted latest time first.

A Fenwick tree over the ranks of the risk score holds the weight of everyone seen so far
(later, or censored at the same time); each event adds the weight of those with a lower
risk, and half of those with an equal one. One pass, O(n log n).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from msreboot.stats._checks import FloatArray, IntArray

__all__ = ["concordance_sorted"]


@njit(cache=True)
def _add(tree: FloatArray, pos: int, value: float) -> None:
    size = tree.shape[0]
    while pos < size:
        tree[pos] += value
        pos += pos & -pos


@njit(cache=True)
def _prefix(tree: FloatArray, pos: int) -> float:
    out = 0.0
    while pos > 0:
        out += tree[pos]
        pos -= pos & -pos
    return out


@njit(cache=True)
def concordance_sorted(
    time: FloatArray, event: FloatArray, rank: IntArray, weight: FloatArray, levels: int
) -> tuple[float, float]:
    """(concordant + tied / 2, comparable) weights of rows sorted by time descending, with
    censored rows before events at one time; ``rank`` is 0-based among ``levels``."""
    tree = np.zeros(levels + 1)
    good, total, inserted = 0.0, 0.0, 0.0
    n = time.shape[0]
    i = 0
    while i < n:
        j = i
        while j < n and time[j] == time[i]:
            j += 1
        for k in range(i, j):
            if event[k] == 0:
                _add(tree, rank[k] + 1, weight[k])
                inserted += weight[k]
        for k in range(i, j):
            if event[k] == 1:
                below = _prefix(tree, rank[k])
                equal = _prefix(tree, rank[k] + 1) - below
                good += weight[k] * (below + equal / 2.0)
                total += weight[k] * inserted
        for k in range(i, j):
            if event[k] == 1:
                _add(tree, rank[k] + 1, weight[k])
                inserted += weight[k]
        i = j
    return good, total
