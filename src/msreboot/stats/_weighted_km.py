"""Case-weighted Kaplan-Meier tables and variances (R ``survfit(weights=)``).

Two variances of log S(t), as R's ``survfit`` computes them for weighted data:

* ``"greenwood"``: sum d_j / (n_j (n_j - d_j)) with the weighted numbers at risk n_j and
  weighted events d_j (R's default for integer weights);
* ``"robust"``: the infinitesimal jackknife, sum_i (w_i dlog S(t) / dw_i)^2 (R's default
  for non-integer weights, ``robust = TRUE``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from msreboot.stats._checks import Column, FloatArray, _first_bad, _values

__all__ = ["as_weights", "ij_std_err_log", "weighted_table"]


def as_weights(column: Column, data: object = None, name: str = "weights") -> FloatArray:
    """Case weights as a 1-d float array of finite values > 0."""
    import pandas as pd

    frame = data if isinstance(data, pd.DataFrame) else None
    raw = _values(name, column, frame)
    if raw.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {raw.shape}.")
    try:
        values = np.asarray(pd.to_numeric(pd.Series(raw, dtype=object)), dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be numeric case weights; got values such as {raw[:3].tolist()!r}."
        ) from None
    _first_bad(
        name,
        values,
        ~np.isfinite(values) | (values <= 0),
        "finite and > 0",
        "Drop rows with zero or missing weight (trimmed weights stay positive).",
    )
    return values


def weighted_table(
    time: FloatArray, event: FloatArray, weight: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, npt.NDArray[np.int64]]:
    """Distinct times with weighted numbers at risk, events and censorings, and row index."""
    times, inverse = np.unique(time, return_inverse=True)
    m = times.size
    w_event = np.bincount(inverse, weights=weight * event, minlength=m)
    w_total = np.bincount(inverse, weights=weight, minlength=m)
    # Summed from the last time back, so that when everyone left has the event n = d exactly.
    at_risk = np.cumsum(w_total[::-1])[::-1]
    return (
        times,
        np.asarray(at_risk, dtype=np.float64),
        np.asarray(w_event, dtype=np.float64),
        np.asarray(w_total - w_event, dtype=np.float64),
        inverse.astype(np.int64),
    )


def ij_std_err_log(
    event: FloatArray,
    weight: FloatArray,
    inverse: npt.NDArray[np.int64],
    at_risk: FloatArray,
    events: FloatArray,
) -> FloatArray:
    """Infinitesimal-jackknife standard error of log S(t) at each distinct time.

    The derivative of log S(t) = sum log(1 - d_j / n_j) with respect to w_i is
    -sum_{t_j <= t} (n_j dN_i(t_j) - d_j Y_i(t_j)) / (n_j (n_j - d_j)). With
    c_j = d_j / (n_j (n_j - d_j)), C its running sum and k_i the time index of row i, it is
    -C(t) while row i is still at risk after t, and q_i = delta_i / (n_k - d_k) - C(k_i)
    from its own time on, so Var(t) = C(t)^2 sum_{k_i > t} w_i^2 + sum_{k_i <= t}
    w_i^2 q_i^2, O(n). ``inf`` once everyone at risk has had the event.
    """
    m = at_risk.size
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(events > 0, events / (at_risk * (at_risk - events)), 0.0)
        e = 1.0 / (at_risk - events)
    w2 = weight**2
    after = w2.sum() - np.cumsum(np.bincount(inverse, weights=w2, minlength=m))
    with np.errstate(invalid="ignore"):
        cum_c = np.cumsum(c)
        q = np.where(event == 1, e[inverse], 0.0) - cum_c[inverse]
        done = np.cumsum(np.bincount(inverse, weights=w2 * q**2, minlength=m))
        variance = cum_c**2 * after + done
    finished = np.cumsum(np.isinf(c) | ((events > 0) & (at_risk - events <= 0))) > 0
    out = np.sqrt(np.maximum(variance, 0.0))
    out[finished] = np.inf
    return np.asarray(out, dtype=np.float64)
