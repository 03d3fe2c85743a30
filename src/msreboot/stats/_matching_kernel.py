"""Compiled greedy nearest-neighbour matching over units sorted by distance.

Units are sorted by (exact stratum, distance), stably, so that ties keep row order. Each
treated unit looks for the nearest available control on its left (smaller distance) and
on its right within its stratum; the nearer one wins, the left one on a tie. Used
controls are skipped in near-constant time by two path-compressed "next available"
pointer arrays, so matching n units costs O(n log n) for the sort and about O(n k) after.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from msreboot.stats._checks import FloatArray, IntArray

__all__ = ["greedy_match"]


@njit(cache=True)
def _find_left(left: IntArray, i: int) -> int:
    """The largest available position <= i (or -1), compressing the path."""
    root = i
    while root >= 0 and left[root] != root:
        root = left[root]
    while i >= 0 and left[i] != i:
        nxt = left[i]
        left[i] = root
        i = nxt
    return root


@njit(cache=True)
def _find_right(right: IntArray, i: int) -> int:
    """The smallest available position >= i (or n), compressing the path."""
    n = right.shape[0]
    root = i
    while root < n and right[root] != root:
        root = right[root]
    while i < n and right[i] != i:
        nxt = right[i]
        right[i] = root
        i = nxt
    return root


@njit(cache=True)
def greedy_match(
    distance: FloatArray,
    treated: npt.NDArray[np.bool_],
    lo: IntArray,
    hi: IntArray,
    order: IntArray,
    ratio: int,
    caliper: float,
    replace: bool,
) -> IntArray:
    """Match every treated unit to up to ``ratio`` controls; positions are sorted ones.

    Parameters
    ----------
    distance, treated
        Distance and treatment of every unit, in sorted order.
    lo, hi
        For each sorted position, the first and one-past-last position of its stratum.
    order
        Sorted positions of the treated units, in the order they are matched.
    ratio, caliper, replace
        Controls per treated unit, the largest allowed |distance difference| (``inf`` for
        none), and whether controls may be reused.

    Returns
    -------
    numpy.ndarray
        ``(len(order), ratio)`` sorted positions of the controls matched to each treated
        unit of ``order`` (in that order), -1 where none was found. Matching goes in rounds,
        as MatchIt: every treated unit gets its first control before any gets its second.
    """
    n = distance.shape[0]
    m = order.shape[0]
    out = np.full((m, ratio), -1, dtype=np.int64)
    left = np.empty(n, dtype=np.int64)
    right = np.empty(n, dtype=np.int64)
    for i in range(n):
        # a treated position is never available: point past it
        left[i] = i if not treated[i] else i - 1
        right[i] = i if not treated[i] else i + 1
    if replace:
        # nothing is consumed: each treated unit merges its two sides, nearest first
        for j in range(m):
            ii = order[j]
            d = distance[ii]
            kl = _find_left(left, ii - 1) if ii > 0 else -1
            kr = _find_right(right, ii + 1) if ii + 1 < n else n
            for r in range(ratio):
                okl = kl >= lo[ii] and abs(d - distance[kl]) <= caliper if kl >= 0 else False
                okr = kr < hi[ii] and abs(distance[kr] - d) <= caliper if kr < n else False
                if okl and okr:
                    if abs(distance[kl] - d) <= abs(distance[kr] - d):
                        out[j, r] = kl
                        kl = _find_left(left, kl - 1) if kl > 0 else -1
                    else:
                        out[j, r] = kr
                        kr = _find_right(right, kr + 1) if kr + 1 < n else n
                elif okl:
                    out[j, r] = kl
                    kl = _find_left(left, kl - 1) if kl > 0 else -1
                elif okr:
                    out[j, r] = kr
                    kr = _find_right(right, kr + 1) if kr + 1 < n else n
                else:
                    break
        return out
    available = n - int(treated.sum())
    for r in range(ratio):
        for j in range(m):
            if available == 0:
                return out
            ii = order[j]
            d = distance[ii]
            kl = _find_left(left, ii - 1) if ii > 0 else -1
            kr = _find_right(right, ii + 1) if ii + 1 < n else n
            okl = kl >= lo[ii] and abs(d - distance[kl]) <= caliper if kl >= 0 else False
            okr = kr < hi[ii] and abs(distance[kr] - d) <= caliper if kr < n else False
            if okl and okr:
                k = kl if abs(distance[kl] - d) <= abs(distance[kr] - d) else kr
            elif okl:
                k = kl
            elif okr:
                k = kr
            else:
                continue
            out[j, r] = k
            available -= 1
            left[k] = k - 1
            right[k] = k + 1
    return out
