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

__all__ = ["as_weights", "ij_incidence_std_err", "ij_std_err_log", "weighted_table"]


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


def ij_incidence_std_err(
    status: npt.NDArray[np.int64],
    cause: int,
    weight: FloatArray,
    inverse: npt.NDArray[np.int64],
    at_risk: FloatArray,
    cause_events: FloatArray,
    all_events: FloatArray,
    incidence: FloatArray,
    surv_before: FloatArray,
) -> FloatArray:
    """Infinitesimal-jackknife standard error of the Aalen-Johansen F(t) (R ``survfit``).

    With F(t) = sum_{s <= t} S(s-) d1(s) / n(s), the derivative with respect to w_i is
    H(t) = sum_{s <= t} [dF(s) C(s-) - S(s-) d1(s) / n(s)^2] while row i is still at risk
    after t (C the running sum of d / (n (n - d)), the Kaplan-Meier derivative), and
    P_i + l_i F(t) from its own time k_i on, with l_i = C(k_i) - delta_i / (n_k - d_k) and
    P_i = H(k_i) + delta1_i S(k_i-) / n_k - l_i F(k_i). The variance sum_i w_i^2 D_i(t)^2
    is accumulated in O(n) from those pieces.
    """
    m = at_risk.size
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(all_events > 0, all_events / (at_risk * (at_risk - all_events)), 0.0)
        df = surv_before * cause_events / at_risk
        cum_c = np.cumsum(c)
        c_before = np.concatenate(([0.0], cum_c[:-1]))  # C(s-), finite even where n = d
        h = np.cumsum(df * c_before) - np.cumsum(surv_before * cause_events / at_risk**2)
        k = inverse
        is_cause = (status == cause).astype(np.float64)
        is_event = (status > 0).astype(np.float64)
        ell = cum_c[k] - np.where(is_event > 0, 1.0 / (at_risk[k] - all_events[k]), 0.0)
        # Where everyone left has the event (n = d, the last time) l_i multiplies
        # F(t) - F(k_i) = 0: take it as 0 rather than inf - inf.
        ell = np.where(np.isfinite(ell), ell, 0.0)
        p = h[k] + is_cause * surv_before[k] / at_risk[k] - ell * incidence[k]
        w2 = weight**2
        after = w2.sum() - np.cumsum(np.bincount(k, weights=w2, minlength=m))
        c_pp = np.cumsum(np.bincount(k, weights=w2 * p**2, minlength=m))
        c_pl = np.cumsum(np.bincount(k, weights=w2 * p * ell, minlength=m))
        c_ll = np.cumsum(np.bincount(k, weights=w2 * ell**2, minlength=m))
        variance = h**2 * after + c_pp + 2.0 * incidence * c_pl + incidence**2 * c_ll
    return np.asarray(np.sqrt(np.maximum(variance, 0.0)), dtype=np.float64)
