"""What a survival curve is read as: landmark estimates, medians and pointwise intervals."""

from __future__ import annotations

import html
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from msreboot.stats._checks import FloatArray, as_landmarks, z_value

__all__ = [
    "LandmarkEstimates",
    "MedianSurvival",
    "pointwise_interval",
    "read_landmarks",
]

#: R's tolerance for "the curve equals 1/2" when reading off a median (all.equal's).
_HALF_TOLERANCE = float(np.finfo(np.float64).eps) ** 0.5


def _repeat(label: Hashable, n: int) -> list[Any]:
    return [label] * n


def _fmt(value: float, digits: int = 3) -> str:
    return "NA" if not np.isfinite(value) else f"{value:.{digits}g}"


@dataclass(frozen=True, eq=False)
class LandmarkEstimates:
    """A curve read at chosen times (landmarks), with confidence intervals.

    Attributes
    ----------
    times
        The landmark times, in the order asked for.
    n_at_risk
        Patients still followed at each time (time >= landmark).
    estimate
        Survival (Kaplan-Meier) or cumulative incidence at each time; the curves are step
        functions, continuous from the right: an event at exactly the landmark counts.
    std_err, ci_low, ci_high
        Standard error of the estimate and its pointwise interval (``conf_type``).
    measure
        ``"survival"`` or ``"cumulative_incidence"``.
    label
        The group, for curves computed by group.
    """

    times: FloatArray = field(repr=False)
    n_at_risk: npt.NDArray[np.int64] = field(repr=False)
    estimate: FloatArray = field(repr=False)
    std_err: FloatArray = field(repr=False)
    ci_low: FloatArray = field(repr=False)
    ci_high: FloatArray = field(repr=False)
    conf_level: float
    conf_type: str
    measure: str
    label: Hashable | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per landmark: time, n_at_risk, estimate, std_err, ci_low, ci_high."""
        frame = pd.DataFrame(
            {
                "time": self.times,
                "n_at_risk": self.n_at_risk,
                self.measure: self.estimate,
                "std_err": self.std_err,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
            }
        )
        if self.label is not None:
            frame.insert(0, "group", _repeat(self.label, len(frame)))
        return frame

    def summary(self) -> str:
        pct = f"{100 * self.conf_level:g}%"
        head = f"{self.measure.replace('_', ' ')} at landmark times ({pct} CI, {self.conf_type})"
        if self.label is not None:
            head = f"{self.label}: {head}"
        lines = [head]
        for t, n, e, lo, hi in zip(
            self.times, self.n_at_risk, self.estimate, self.ci_low, self.ci_high, strict=True
        ):
            lines.append(f"  t={t:g}: {_fmt(e, 4)} ({_fmt(lo, 4)} to {_fmt(hi, 4)}), {n} at risk")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(self.summary().splitlines()[0])}</p>" + self.to_frame().to_html(
            index=False, na_rep="NA"
        )


@dataclass(frozen=True)
class MedianSurvival:
    """Median survival time with its confidence interval, as R's ``print(survfit)``.

    Attributes
    ----------
    estimate
        First time the curve falls to 1/2 or below (the midpoint of the flat stretch when it
        lands exactly on 1/2). ``nan`` when the curve stays above 1/2: not reached.
    ci_low, ci_high
        First times the lower and the upper pointwise confidence limits fall to 1/2 or
        below (Brookmeyer-Crowley, by inverting the pointwise band). ``nan`` when not
        reached, which is common for ``ci_high``.
    conf_level, conf_type
        Level and type of the pointwise band that was inverted.
    """

    estimate: float
    ci_low: float
    ci_high: float
    conf_level: float
    conf_type: str

    @property
    def reached(self) -> bool:
        """Whether the curve falls to 1/2 within follow-up."""
        return bool(np.isfinite(self.estimate))

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "median": self.estimate,
                    "ci_low": self.ci_low,
                    "ci_high": self.ci_high,
                    "conf_level": self.conf_level,
                    "conf_type": self.conf_type,
                }
            ]
        )

    def summary(self) -> str:
        if not self.reached:
            return "median not reached"
        pct = f"{100 * self.conf_level:g}%"
        return (
            f"median {_fmt(self.estimate, 4)} ({pct} CI {_fmt(self.ci_low, 4)} to "
            f"{_fmt(self.ci_high, 4)}, {self.conf_type})"
        )

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(self.summary())}</p>"


def _first_below_half(values: FloatArray, times: FloatArray) -> float:
    """R's ``minmin``: first time ``values`` <= 1/2 (midpoint if it sits exactly on 1/2)."""
    keep = ~np.isnan(values) & (values < 0.5 + _HALF_TOLERANCE)
    if not keep.any():
        return float("nan")
    x, y = times[keep], values[keep]
    if abs(y[0] - 0.5) < _HALF_TOLERANCE:
        lower = np.flatnonzero(y < y[0])
        if lower.size:
            return float((x[0] + x[lower[0]]) / 2.0)
    return float(x[0])


def pointwise_interval(
    estimate: FloatArray, std_err_log: FloatArray, conf_level: float, conf_type: str
) -> tuple[FloatArray, FloatArray]:
    """Pointwise survival interval from the standard error of log S (R's ``survfit``).

    ``plain``: S -/+ z S sigma, cut to [0, 1]; ``log``: S exp(-/+ z sigma), upper cut at 1;
    ``log-log``: S ** exp(-/+ z sigma / log S). Where S = 1 (no event yet, sigma = 0) the
    interval is [1, 1] for every type; where S = 0 it is undefined (``nan``), as in R.
    """
    z = z_value(conf_level)
    s, sigma = estimate, std_err_log
    lo = np.full_like(s, np.nan)
    hi = np.full_like(s, np.nan)
    inside = (s > 0) & np.isfinite(sigma)
    si, gi = s[inside], sigma[inside]
    if conf_type == "plain":
        lo[inside] = np.maximum(si - z * gi * si, 0.0)
        hi[inside] = np.minimum(si + z * gi * si, 1.0)
    elif conf_type == "log":
        lo[inside] = si * np.exp(-z * gi)
        hi[inside] = np.minimum(si * np.exp(z * gi), 1.0)
    else:
        below = inside & (s < 1)
        sb, gb = s[below], sigma[below]
        log_s = np.log(sb)
        lo[below] = np.exp(log_s * np.exp(-z * gb / log_s))
        hi[below] = np.exp(log_s * np.exp(z * gb / log_s))
        one = inside & (s >= 1)
        lo[one] = hi[one] = 1.0
    return lo, hi


def read_landmarks(
    grid: FloatArray,
    n_at_risk: npt.NDArray[np.int64],
    times: npt.ArrayLike,
    columns: tuple[tuple[FloatArray, float], ...],
    *,
    extend: bool,
) -> tuple[FloatArray, npt.NDArray[np.int64], list[FloatArray]]:
    """Read right-continuous step functions on ``grid`` at landmark ``times``.

    Each column comes with its value before the first grid time. The number at risk at
    ``t`` is that of the first grid time >= t (0 beyond the grid). Times after the last grid
    time give ``nan`` unless ``extend`` carries the last value forward.
    """
    t = as_landmarks(times)
    idx = np.searchsorted(grid, t, side="right") - 1
    before = np.searchsorted(grid, t, side="left")
    n_risk = np.where(before < grid.size, n_at_risk[np.minimum(before, grid.size - 1)], 0)
    safe = np.maximum(idx, 0)
    values = [np.where(idx >= 0, column[safe], start) for column, start in columns]
    if not extend:
        for arr in values:
            arr[t > grid[-1]] = np.nan
    return t, n_risk, values
