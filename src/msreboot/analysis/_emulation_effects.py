"""Effect measures of an emulated trial that msreboot.stats does not provide: the E-value
of a hazard ratio and a weighted Poisson relapse-rate ratio with cluster-robust variance."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats as sps

__all__ = ["EValue", "RelapseRateComparison", "e_value", "weighted_rate_ratio"]


@dataclass(frozen=True)
class EValue:
    """The E-value of a ratio estimate and of its confidence limit nearer the null.

    Attributes
    ----------
    estimate, ci_low, ci_high
        The hazard (or risk) ratio and its interval.
    risk_ratio
        The ratio the E-value was computed from: the hazard ratio itself for a rare
        outcome, else its risk-ratio approximation.
    point
        E-value of the estimate: the minimum strength of association, on the risk-ratio
        scale, an unmeasured confounder would need with both treatment and outcome to
        explain the estimate away.
    limit
        E-value of the confidence limit nearer 1 (1 when the interval includes 1).
    rare
        Whether the outcome was taken as rare (< 15% with the event by the end).
    """

    estimate: float
    ci_low: float
    ci_high: float
    risk_ratio: float
    point: float
    limit: float
    rare: bool

    def summary(self) -> str:
        scale = "rare outcome" if self.rare else "common outcome, HR converted"
        return f"E-value {self.point:.2f} (confidence limit {self.limit:.2f}; {scale})"

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(self.summary())}</p>"


def _e(rr: float) -> float:
    if not math.isfinite(rr) or rr <= 0:
        return float("nan")
    rr = rr if rr >= 1 else 1 / rr
    return rr + math.sqrt(rr * (rr - 1))


def _as_rr(hr: float, rare: bool) -> float:
    if rare or not math.isfinite(hr) or hr <= 0:
        return hr
    return float((1 - 0.5 ** math.sqrt(hr)) / (1 - 0.5 ** math.sqrt(1 / hr)))


def e_value(estimate: float, ci_low: float, ci_high: float, *, rare: bool = True) -> EValue:
    """E-value of a hazard ratio (VanderWeele & Ding 2017).

    Parameters
    ----------
    estimate, ci_low, ci_high
        The hazard ratio and its confidence interval (> 0).
    rare
        Whether the outcome is rare (under 15% by the end of follow-up): the hazard ratio
        is then used as a risk ratio; otherwise it is converted first.

    Returns
    -------
    EValue

    Notes
    -----
    For a risk ratio RR >= 1, E = RR + sqrt(RR (RR - 1)); for RR < 1 the formula is applied
    to 1 / RR. A common outcome's hazard ratio is converted to
    RR = (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1 / HR)), the square-root approximation
    VanderWeele and Ding give for a common outcome (the 15% threshold for "rare" is theirs
    too; the formula here is written from their text, not checked against the EValue R
    package, which Debian does not ship). The E-value of the interval is that of the limit
    nearer 1, or 1 when it includes 1.

    References
    ----------
    VanderWeele TJ, Ding P (2017). Sensitivity analysis in observational research:
    introducing the E-value. Ann Intern Med 167:268-274. doi:10.7326/M16-2607

    Examples
    --------
    >>> round(e_value(0.5, 0.3, 0.8).point, 3)
    3.414
    """
    values = (estimate, ci_low, ci_high)
    if any(not (math.isfinite(v) and v > 0) for v in values) or not ci_low <= estimate <= ci_high:
        raise ValueError(
            "estimate, ci_low and ci_high must be ratios > 0 with ci_low <= estimate <= "
            f"ci_high; got {values}."
        )
    rr = _as_rr(estimate, rare)
    low, high = _as_rr(ci_low, rare), _as_rr(ci_high, rare)
    limit = 1.0 if low <= 1 <= high else _e(high if rr < 1 else low)
    return EValue(estimate, ci_low, ci_high, rr, _e(rr), limit, rare)


@dataclass(frozen=True, eq=False)
class RelapseRateComparison:
    """Relapse rates per arm and their ratio, crude and adjusted.

    Attributes
    ----------
    table
        One row per analysis (``crude``, ``adjusted``): ``rate_ratio``, ``ci_low``,
        ``ci_high``, ``p_value``, ``rate_treated``, ``rate_control`` (relapses per
        patient-year, weighted in the adjusted row), ``relapses_treated``,
        ``relapses_control``, ``years_treated``, ``years_control``.
    conf_level
        Level of the intervals.
    variance
        How the standard errors were computed.
    """

    table: pd.DataFrame
    conf_level: float
    variance: str

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def summary(self) -> str:
        pct = f"{100 * self.conf_level:g}%"
        lines = []
        for row in self.table.to_dict("records"):
            lines.append(
                f"relapse rate ratio ({row['analysis']}): {row['rate_ratio']:.3g} "
                f"({pct} CI {row['ci_low']:.3g} to {row['ci_high']:.3g}), p = {row['p_value']:.3g}"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


FloatArray = npt.NDArray[np.float64]


def weighted_rate_ratio(
    count: FloatArray,
    years: FloatArray,
    treated: npt.NDArray[np.bool_],
    weights: FloatArray,
    cluster: npt.NDArray[np.int64],
    *,
    conf_level: float = 0.95,
) -> tuple[float, float, float, float]:
    """Rate ratio of a weighted Poisson model ``count ~ treated + offset(log(years))`` with
    a cluster-robust sandwich variance (as R ``glm(weights=)`` with
    ``sandwich::vcovCL(type = "HC0")``, including its G / (G - 1) adjustment).

    Returns the rate ratio, its interval and the Wald p-value. With one binary covariate the
    maximum-likelihood fit is closed-form: each group's rate is its weighted relapses over
    its weighted years.
    """
    w = np.asarray(weights, dtype=float)
    t = np.asarray(treated, dtype=bool)
    y = np.asarray(count, dtype=float)
    e = np.asarray(years, dtype=float)
    rate1 = float(np.sum(w[t] * y[t]) / np.sum(w[t] * e[t]))
    rate0 = float(np.sum(w[~t] * y[~t]) / np.sum(w[~t] * e[~t]))
    if not (rate1 > 0 and rate0 > 0):
        return float("nan"), float("nan"), float("nan"), float("nan")
    x = np.column_stack([np.ones_like(y), t.astype(float)])
    mu = e * np.where(t, rate1, rate0)
    bread = np.linalg.inv((x * (w * mu)[:, None]).T @ x)
    scores = x * (w * (y - mu))[:, None]
    _, codes = np.unique(cluster, return_inverse=True)
    n_clusters = int(codes.max()) + 1
    summed = np.zeros((n_clusters, 2))
    np.add.at(summed, codes, scores)
    meat = summed.T @ summed * (n_clusters / (n_clusters - 1) if n_clusters > 1 else 1.0)
    var = bread @ meat @ bread
    beta = math.log(rate1 / rate0)
    se = math.sqrt(var[1, 1])
    z = float(sps.norm.ppf(0.5 + conf_level / 2))
    p = float(2 * sps.norm.sf(abs(beta / se))) if se > 0 else float("nan")
    return math.exp(beta), math.exp(beta - z * se), math.exp(beta + z * se), p
