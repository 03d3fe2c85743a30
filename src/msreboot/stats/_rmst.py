"""Restricted mean survival time: the area under the Kaplan-Meier curve up to tau."""

from __future__ import annotations

import html
from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from msreboot.stats._checks import z_value

if TYPE_CHECKING:
    from msreboot.stats._survival import SurvivalCurve

__all__ = ["RestrictedMean", "area_under_curve"]


@dataclass(frozen=True)
class RestrictedMean:
    """Restricted mean survival time (RMST) up to ``tau``, with its standard error.

    Attributes
    ----------
    estimate
        Area under the Kaplan-Meier curve from 0 to ``tau``: the mean time alive (or
        event-free) during the first ``tau`` units of follow-up.
    std_err
        Standard error as R's ``print(survfit, rmean=tau)`` reports ``se(rmean)``.
    ci_low, ci_high
        Wald interval ``estimate +/- z std_err`` at ``conf_level`` (not cut to [0, tau]).
    tau
        The horizon, in the unit of the follow-up times.
    n, events
        Patients and events in the curve.
    label
        The group, for a curve computed by group.
    """

    estimate: float
    std_err: float
    ci_low: float
    ci_high: float
    conf_level: float
    tau: float
    n: int
    events: int
    label: Hashable | None = None

    def to_frame(self) -> pd.DataFrame:
        row: dict[str, Any] = {
            "tau": self.tau,
            "rmst": self.estimate,
            "std_err": self.std_err,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "conf_level": self.conf_level,
            "n": self.n,
            "events": self.events,
        }
        if self.label is not None:
            row = {"group": self.label, **row}
        return pd.DataFrame([row])

    def summary(self) -> str:
        pct = f"{100 * self.conf_level:g}%"
        head = f"{self.label}: " if self.label is not None else ""
        return (
            f"{head}RMST up to {self.tau:g}: {self.estimate:.4g} (SE {self.std_err:.4g}; "
            f"{pct} CI {self.ci_low:.4g} to {self.ci_high:.4g}); n = {self.n}, "
            f"{self.events} events"
        )

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(self.summary())}</p>"


def area_under_curve(km: SurvivalCurve, tau: float, level: float) -> RestrictedMean:
    """The restricted mean of a Kaplan-Meier curve up to ``tau`` with R's standard error
    (the computation behind :func:`~msreboot.stats.restricted_mean_survival_time`)."""
    horizon = float(tau)
    if not np.isfinite(horizon) or horizon <= 0:
        raise ValueError(
            f"tau must be finite and > 0; got {tau!r}. Choose a horizon such as 5 years."
        )
    last = float(km.times[-1])
    if horizon > last and km.survival[-1] > 0:
        raise ValueError(
            f"tau must be <= the last follow-up time ({last:g}) while the curve is above 0; "
            f"got {horizon:g}. Choose a horizon within follow-up (for groups: within every "
            "group's follow-up)."
        )
    keep = km.times <= horizon
    times = np.append(km.times[keep], horizon)
    surv = km.survival[keep]
    steps = np.concatenate(([1.0], surv))
    rectangles = np.diff(np.concatenate(([0.0], times))) * steps
    estimate = float(rectangles.sum())
    n_risk = km.n_at_risk[keep].astype(float)
    d = km.n_events[keep].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard_var = np.where(n_risk > d, d / (n_risk * (n_risk - d)), 0.0)
    area_after = np.cumsum(rectangles[::-1])[::-1][1:]
    std_err = float(np.sqrt(np.sum(area_after**2 * hazard_var)))
    z = z_value(level)
    return RestrictedMean(
        estimate=estimate,
        std_err=std_err,
        ci_low=estimate - z * std_err,
        ci_high=estimate + z * std_err,
        conf_level=level,
        tau=horizon,
        n=km.n,
        events=km.total_events,
        label=km.label,
    )
