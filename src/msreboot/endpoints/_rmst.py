"""Restricted mean survival time: the area under the Kaplan-Meier curve up to tau."""

from __future__ import annotations

import html
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from msreboot.endpoints._survival import SurvivalCurve, kaplan_meier
from msreboot.endpoints._survival_input import Column, check_conf_level, z_value

__all__ = ["RestrictedMean", "restricted_mean_survival_time"]


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


def restricted_mean_survival_time(
    curve: SurvivalCurve | Column,
    event: Column | None = None,
    *,
    tau: float,
    data: pd.DataFrame | None = None,
    conf_level: float | None = None,
) -> RestrictedMean:
    """Restricted mean survival time up to ``tau`` with R's standard error.

    Parameters
    ----------
    curve
        A :class:`SurvivalCurve`, or follow-up times (array or column name of ``data``)
        given together with ``event``.
    event
        Event indicators (bool or 0/1) when ``curve`` holds times; omit with a curve.
    tau
        Horizon, > 0, in the unit of the times. It must lie within follow-up (<= the last
        time) unless the curve has already reached 0.
    data
        Data frame whose columns ``curve`` and ``event`` name.
    conf_level
        Level of the Wald interval; defaults to the curve's level (0.95 for raw times).

    Returns
    -------
    RestrictedMean

    Raises
    ------
    ValueError
        ``tau`` not positive, not finite or beyond follow-up, or invalid times / events.

    Notes
    -----
    RMST(tau) = integral from 0 to tau of S(u) du, summed over the rectangles of the step
    function. Var = sum over event times t_i <= tau of A_i^2 d_i / (n_i (n_i - d_i)), with
    A_i the area under S from t_i to tau; a time where everyone at risk has the event adds
    nothing (R's convention). This is ``survival:::survmean``; checked against R's
    ``print(survfit(...), rmean = tau)`` to 1e-6 relative. R extends the last value of the
    curve beyond follow-up; here a ``tau`` past the last time is refused unless S is
    already 0 there, as the area would be an extrapolation.

    References
    ----------
    Royston P, Parmar MKB. Restricted mean survival time: an alternative to the hazard
    ratio for the design and analysis of randomized trials with a time-to-event outcome.
    BMC Med Res Methodol 2013;13:152. doi:10.1186/1471-2288-13-152

    Examples
    --------
    >>> times = [6, 6, 6, 7, 10, 13, 16, 22, 23]
    >>> events = [1, 1, 1, 1, 0, 1, 1, 0, 0]
    >>> rmst = restricted_mean_survival_time(times, events, tau=20)
    >>> round(rmst.estimate, 4), round(rmst.std_err, 4)
    (12.3611, 1.9998)
    """
    if isinstance(curve, SurvivalCurve):
        if event is not None:
            raise ValueError(
                "event must be omitted when a SurvivalCurve is given; got an event column. "
                "Pass either a curve or times and events."
            )
        km = curve
        level = km.conf_level if conf_level is None else check_conf_level(conf_level)
    else:
        if event is None:
            raise ValueError(
                "event must be given with follow-up times; got None. "
                "Pass restricted_mean_survival_time(time, event, tau=...) or a curve."
            )
        level = 0.95 if conf_level is None else check_conf_level(conf_level)
        km = kaplan_meier(curve, event, data=data, conf_level=level)
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
