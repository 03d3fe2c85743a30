"""Kaplan-Meier survival curves with Greenwood standard errors, checked against R survfit."""

from __future__ import annotations

import html
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, TypeVar, overload

import numpy as np
import numpy.typing as npt
import pandas as pd

from msreboot.stats._checks import (
    Column,
    ConfType,
    FloatArray,
    as_events,
    as_labels,
    as_times,
    check_conf_level,
    check_conf_type,
    check_same_length,
    frozen_array,
)
from msreboot.stats._landmarks import (
    LandmarkEstimates,
    MedianSurvival,
    _first_below_half,
    _repeat,
    pointwise_interval,
    read_landmarks,
)
from msreboot.stats._rmst import RestrictedMean, area_under_curve
from msreboot.stats._weighted_km import as_weights, ij_std_err_log, weighted_table

__all__ = [
    "LandmarkEstimates",
    "MedianSurvival",
    "SurvivalCurve",
    "SurvivalCurves",
    "kaplan_meier",
    "restricted_mean_survival_time",
]


@dataclass(frozen=True, eq=False)
class SurvivalCurve:
    """A Kaplan-Meier curve: one row per distinct observed time (events and censorings).

    Attributes
    ----------
    times
        Distinct follow-up times, increasing (R's ``survfit`` ``time``).
    n_at_risk, n_events, n_censored
        Patients at risk just before each time, events and censorings at it.
    survival
        Kaplan-Meier estimate, prod(1 - d_i / n_i) over times up to and including t.
    std_err
        Greenwood standard error of the survival, S(t) sqrt(sum d_i / (n_i (n_i - d_i)))
        (R ``summary(fit)``'s ``std.err``); ``nan`` once S = 0.
    std_err_log
        Standard error on the log scale, sqrt(sum d_i / (n_i (n_i - d_i))) (R ``fit$std.err``);
        ``inf`` once everyone remaining has had the event.
    ci_low, ci_high
        Pointwise interval at ``conf_level`` of type ``conf_type``.
    conf_level, conf_type
        ``conf_type`` is ``"log-log"`` (our default, lifelines' "exponential Greenwood", as
        used in the AHSCT literature), ``"log"`` (R's default) or ``"plain"``.
    n
        Patients in the curve.
    label
        The group, for curves computed by group.
    variance
        ``"greenwood"`` (Greenwood's formula, on weighted counts when weighted) or
        ``"robust"`` (infinitesimal jackknife, R's default for non-integer weights).
    weighted_at_risk, weighted_events, weighted_censored
        With case weights, the sums of weights at risk, of events and of censorings at each
        time (R's ``n.risk``, ``n.event``, ``n.censor``), from which the curve is computed;
        ``None`` without weights. ``n_at_risk`` and the other counts stay patient counts.
    """

    times: FloatArray = field(repr=False)
    n_at_risk: npt.NDArray[np.int64] = field(repr=False)
    n_events: npt.NDArray[np.int64] = field(repr=False)
    n_censored: npt.NDArray[np.int64] = field(repr=False)
    survival: FloatArray = field(repr=False)
    std_err: FloatArray = field(repr=False)
    std_err_log: FloatArray = field(repr=False)
    ci_low: FloatArray = field(repr=False)
    ci_high: FloatArray = field(repr=False)
    conf_level: float
    conf_type: str
    n: int
    label: Hashable | None = None
    variance: str = "greenwood"
    weighted_at_risk: FloatArray | None = field(default=None, repr=False)
    weighted_events: FloatArray | None = field(default=None, repr=False)
    weighted_censored: FloatArray | None = field(default=None, repr=False)

    @property
    def total_events(self) -> int:
        """Number of events in the curve."""
        return int(self.n_events.sum())

    def at(self, times: npt.ArrayLike, *, extend: bool = False) -> LandmarkEstimates:
        """The curve read at landmark ``times`` (R ``summary(fit, times=)``).

        Parameters
        ----------
        times
            One time or several, >= 0, in the curve's unit.
        extend
            Times after the last follow-up time give ``nan`` unless ``extend=True``, which
            carries the last value forward (R's ``extend=TRUE``) with 0 at risk.

        Returns
        -------
        LandmarkEstimates

        Examples
        --------
        >>> curve = kaplan_meier([2, 3, 3, 5, 8], [1, 1, 0, 1, 0])
        >>> curve.at([0, 3, 6]).estimate
        array([1. , 0.6, 0.3])
        """
        t, n_risk, (surv, se, lo, hi) = read_landmarks(
            self.times,
            self.n_at_risk,
            times,
            ((self.survival, 1.0), (self.std_err, 0.0), (self.ci_low, 1.0), (self.ci_high, 1.0)),
            extend=extend,
        )
        return LandmarkEstimates(
            times=frozen_array(t),
            n_at_risk=frozen_array(n_risk, np.int64),
            estimate=frozen_array(surv),
            std_err=frozen_array(se),
            ci_low=frozen_array(lo),
            ci_high=frozen_array(hi),
            conf_level=self.conf_level,
            conf_type=self.conf_type,
            measure="survival",
            label=self.label,
        )

    def number_at_risk(self, times: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Patients still followed at each of ``times`` (time >= t), as under a KM plot."""
        return self.at(times, extend=True).n_at_risk

    def median(self) -> MedianSurvival:
        """Median survival with its interval, computed as R's ``print(survfit)`` does.

        Examples
        --------
        >>> kaplan_meier([2, 3, 3, 5, 8], [1, 1, 0, 1, 0]).median().estimate
        5.0
        """
        return MedianSurvival(
            estimate=_first_below_half(self.survival, self.times),
            ci_low=_first_below_half(self.ci_low, self.times),
            ci_high=_first_below_half(self.ci_high, self.times),
            conf_level=self.conf_level,
            conf_type=self.conf_type,
        )

    def restricted_mean(self, tau: float) -> RestrictedMean:
        """Restricted mean survival time up to ``tau`` (see ``restricted_mean_survival_time``)."""
        return restricted_mean_survival_time(self, tau=tau)

    def to_frame(self) -> pd.DataFrame:
        """One row per distinct time, with the numbers at risk, estimate and interval."""
        frame = pd.DataFrame(
            {
                "time": self.times,
                "n_at_risk": self.n_at_risk,
                "n_events": self.n_events,
                "n_censored": self.n_censored,
                "survival": self.survival,
                "std_err": self.std_err,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
            }
        )
        if self.weighted_at_risk is not None:
            frame.insert(4, "weighted_at_risk", self.weighted_at_risk)
            frame.insert(5, "weighted_events", self.weighted_events)
            frame.insert(6, "weighted_censored", self.weighted_censored)
        if self.label is not None:
            frame.insert(0, "group", _repeat(self.label, len(frame)))
        return frame

    def summary(self) -> str:
        head = f"Kaplan-Meier: n = {self.n}, {self.total_events} events"
        if self.weighted_at_risk is not None:
            head += f" (weighted: {self.weighted_at_risk[0]:.4g} at risk, {self.variance} variance)"
        if self.label is not None:
            head = f"{self.label}: {head}"
        return f"{head}; {self.median().summary()}"

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(self.summary())}</p>"


class _Curve(Protocol):
    def at(self, times: npt.ArrayLike, *, extend: bool = False) -> LandmarkEstimates: ...
    def to_frame(self) -> pd.DataFrame: ...
    def summary(self) -> str: ...


C = TypeVar("C", bound=_Curve)


@dataclass(frozen=True, eq=False)
class CurvesByGroup(Mapping[Hashable, C]):
    """Curves by group: a read-only mapping from group label to curve.

    Attributes
    ----------
    curves
        The curves, by group label.
    group_name
        Name of the grouping column, when it was given by name.
    """

    curves: Mapping[Hashable, C] = field(repr=False)
    group_name: str | None = None
    _title: ClassVar[str] = "Curves"

    def __getitem__(self, label: Hashable) -> C:
        try:
            return self.curves[label]
        except KeyError:
            raise KeyError(f"group must be one of {list(self.curves)!r}; got {label!r}.") from None

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self.curves)

    def __len__(self) -> int:
        return len(self.curves)

    def at(self, times: npt.ArrayLike, *, extend: bool = False) -> pd.DataFrame:
        """Every group's curve at landmark ``times``, as one tidy table with a group column."""
        return pd.concat(
            [c.at(times, extend=extend).to_frame() for c in self.curves.values()],
            ignore_index=True,
        )

    def to_frame(self) -> pd.DataFrame:
        """All curves stacked, with a group column."""
        return pd.concat([c.to_frame() for c in self.curves.values()], ignore_index=True)

    def summary(self) -> str:
        head = f"{self._title} by " + (self.group_name or "group")
        return "\n".join([head, *("  " + c.summary() for c in self.curves.values())])

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{html.escape(c.summary())}</li>" for c in self.curves.values())
        head = html.escape(f"{self._title} by " + (self.group_name or "group"))
        return f"<p>{head}</p><ul>{items}</ul>"


@dataclass(frozen=True, eq=False)
class SurvivalCurves(CurvesByGroup[SurvivalCurve]):
    """Kaplan-Meier curves by group: a read-only mapping from group label to curve.

    Groups are ordered as R orders factor levels: the categories of a categorical column,
    otherwise sorted labels.

    Attributes
    ----------
    curves
        The curves, by group label.
    group_name
        Name of the grouping column, when it was given by name.
    """

    _title: ClassVar[str] = "Kaplan-Meier"

    def median(self) -> pd.DataFrame:
        """Median survival with its interval, one row per group."""
        rows = [c.median().to_frame().assign(group=_repeat(g, 1)) for g, c in self.curves.items()]
        frame = pd.concat(rows, ignore_index=True)
        return frame[["group", *[c for c in frame.columns if c != "group"]]]

    def restricted_mean(self, tau: float) -> pd.DataFrame:
        """Restricted mean survival time up to ``tau``, one row per group."""
        return pd.concat(
            [c.restricted_mean(tau).to_frame() for c in self.curves.values()], ignore_index=True
        )


def distinct_sorted(values: FloatArray) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """``np.unique(values, return_inverse=True)`` by hashing, then sorting only the distinct
    values: follow-up times repeat (whole days), so this is linear instead of a full sort."""
    codes, uniques = pd.factorize(values)
    order = np.argsort(uniques, kind="stable")
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    return np.asarray(uniques[order], dtype=np.float64), rank[codes]


def km_table(
    time: FloatArray, event: FloatArray
) -> tuple[FloatArray, npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Distinct times with numbers at risk, events and censorings at each."""
    times, inverse = distinct_sorted(time)
    n_events = np.bincount(inverse, weights=event, minlength=times.size).round().astype(np.int64)
    n_total = np.bincount(inverse, minlength=times.size).astype(np.int64)
    n_at_risk = time.size - np.concatenate(([0], np.cumsum(n_total)[:-1]))
    return times, n_at_risk.astype(np.int64), n_events, n_total - n_events


def _curve(
    time: FloatArray,
    event: FloatArray,
    conf_level: float,
    conf_type: str,
    label: Hashable | None,
    weight: FloatArray | None = None,
    robust: bool = False,
) -> SurvivalCurve:
    times, n_risk, n_event, n_cens = km_table(time, event)
    weighted: tuple[FloatArray, FloatArray, FloatArray] | None = None
    if weight is None:
        at_risk, events = n_risk.astype(np.float64), n_event.astype(np.float64)
    else:
        _, at_risk, events, censored, inverse = weighted_table(time, event, weight)
        weighted = (at_risk, events, censored)
    surv: FloatArray = np.cumprod(1.0 - events / at_risk, dtype=np.float64)
    if robust and weight is not None:
        sigma = ij_std_err_log(event, weight, inverse, at_risk, events)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            term = np.where(events > 0, events / (at_risk * (at_risk - events)), 0.0)
        sigma = np.sqrt(np.cumsum(term))
    finite = np.isfinite(sigma)
    std_err = np.full_like(surv, np.nan)
    std_err[finite] = surv[finite] * sigma[finite]
    if robust and weight is not None:
        std_err[surv == 0] = 0.0  # the jackknife derivative of S is exactly 0 there (as R)
    lo, hi = pointwise_interval(surv, sigma, conf_level, conf_type)
    if robust and weight is not None and conf_type == "plain":
        lo[surv == 0] = hi[surv == 0] = 0.0  # S = 0 with standard error 0 (as R)
    return SurvivalCurve(
        times=frozen_array(times),
        n_at_risk=frozen_array(n_risk, np.int64),
        n_events=frozen_array(n_event, np.int64),
        n_censored=frozen_array(n_cens, np.int64),
        survival=frozen_array(surv),
        std_err=frozen_array(std_err),
        std_err_log=frozen_array(sigma),
        ci_low=frozen_array(lo),
        ci_high=frozen_array(hi),
        conf_level=conf_level,
        conf_type=conf_type,
        n=int(time.size),
        label=label,
        variance="robust" if robust else "greenwood",
        weighted_at_risk=None if weighted is None else frozen_array(weighted[0]),
        weighted_events=None if weighted is None else frozen_array(weighted[1]),
        weighted_censored=None if weighted is None else frozen_array(weighted[2]),
    )


@overload
def kaplan_meier(
    time: Column,
    event: Column,
    *,
    group: None = None,
    data: pd.DataFrame | None = None,
    conf_level: float = 0.95,
    conf_type: ConfType = "log-log",
    weights: Column | None = None,
    robust: bool | None = None,
) -> SurvivalCurve: ...


@overload
def kaplan_meier(
    time: Column,
    event: Column,
    *,
    group: Column,
    data: pd.DataFrame | None = None,
    conf_level: float = 0.95,
    conf_type: ConfType = "log-log",
    weights: Column | None = None,
    robust: bool | None = None,
) -> SurvivalCurves: ...


def kaplan_meier(
    time: Column,
    event: Column,
    *,
    group: Column | None = None,
    data: pd.DataFrame | None = None,
    conf_level: float = 0.95,
    conf_type: ConfType = "log-log",
    weights: Column | None = None,
    robust: bool | None = None,
) -> SurvivalCurve | SurvivalCurves:
    """Kaplan-Meier estimate of survival with Greenwood standard errors.

    Parameters
    ----------
    time
        Follow-up from day 0 to the event or censoring, >= 0 (any unit: the curve keeps it).
        An array, or a column name of ``data``.
    event
        1 / ``True`` for the event, 0 / ``False`` for censoring; array or column name.
    group
        Optional group labels (array or column name): one curve per group is returned.
    data
        A data frame whose columns ``time``, ``event`` and ``group`` name. Its index is
        ignored, as is the index of any Series passed.
    conf_level
        Level of the pointwise intervals.
    conf_type
        ``"log-log"`` (default; lifelines' "exponential Greenwood", the usual choice in the
        AHSCT literature), ``"log"`` (R ``survfit``'s default) or ``"plain"``.
    weights
        Optional case weights > 0 (array or column name), e.g. inverse probability of
        treatment weights: the curve is computed from weighted numbers at risk and events,
        as R ``survfit(weights=)``.
    robust
        Variance of weighted curves: ``True`` for the infinitesimal jackknife, ``False``
        for Greenwood's formula on the weighted counts. ``None`` (default) follows R:
        robust exactly when some weight is not a whole number. Ignored without weights.

    Returns
    -------
    SurvivalCurve
        Without ``group``.
    SurvivalCurves
        With ``group``: a mapping from group label to :class:`SurvivalCurve`.

    Raises
    ------
    ValueError
        Empty input, times negative or not finite, events not 0/1, missing values,
        mismatched lengths, or an unknown ``conf_type`` / out-of-range ``conf_level``.

    Notes
    -----
    S(t) = prod over event times t_i <= t of (1 - d_i / n_i). At a time with both events
    and censorings the events come first (the censored are still at risk), as in R. Events
    at time 0 are allowed and lower S(0). Greenwood: Var(log S(t)) = sum d_i / (n_i
    (n_i - d_i)). Intervals are pointwise: ``plain`` S +/- z SE(S), ``log``
    exp(log S +/- z SE(log S)), ``log-log`` exp(-exp(log(-log S) -/+ z SE(log S) / log S));
    limits are cut to [0, 1]. Defined edge cases: before the first event S = 1 with the
    interval [1, 1] (R prints NA there for ``log-log``); after S reaches 0 the standard
    error and interval are ``nan`` (R: NA); if everyone is censored S = 1 throughout and
    the median is ``nan`` (not reached).

    With case weights w_i, n_i and d_i are sums of weights. Greenwood's formula then
    treats them as counts (right for frequency weights); for other weights R defaults to
    the infinitesimal jackknife, Var(log S(t)) = sum_i (w_i dlog S(t)/dw_i)^2 with
    dlog S(t)/dw_i = -sum_{t_j <= t} (n_j dN_i(t_j) - d_j Y_i(t_j)) / (n_j (n_j - d_j)),
    which is what ``robust`` chooses by default. Intervals are built from that standard
    error of log S as without weights. Weights of 1 give exactly the unweighted curve.

    Validated against R ``survival::survfit`` (3.5) for all three interval types at levels
    0.90 and 0.95 to 1e-6 relative: curves, ``summary(fit, times=)``, medians and their
    intervals (``tests/reference/survival``); weighted curves (integer and non-integer
    weights, both variances) likewise.

    References
    ----------
    Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. J Am Stat
    Assoc 1958;53:457-481. doi:10.1080/01621459.1958.10501452

    Examples
    --------
    >>> curve = kaplan_meier([6, 6, 6, 7, 10, 13, 16, 22, 23], [1, 1, 1, 1, 0, 1, 1, 0, 0])
    >>> curve.survival.round(4).tolist()
    [0.6667, 0.5556, 0.5556, 0.4167, 0.2778, 0.2778, 0.2778]
    >>> print(curve.summary())
    Kaplan-Meier: n = 9, 6 events; median 13 (95% CI 6 to NA, log-log)
    """
    conf_level = check_conf_level(conf_level)
    conf_type = check_conf_type(conf_type)
    t = as_times(time, data)
    e = as_events(event, data)
    w = None if weights is None else as_weights(weights, data)
    use_robust = False
    if w is not None:
        use_robust = bool(np.any(w != np.round(w))) if robust is None else bool(robust)
    if group is None:
        if w is None:
            check_same_length(time=t, event=e)
        else:
            check_same_length(time=t, event=e, weights=w)
        return _curve(t, e, conf_level, conf_type, None, w, use_robust)
    labels, levels = as_labels(group, data)
    if w is None:
        check_same_length(time=t, event=e, group=labels)
    else:
        check_same_length(time=t, event=e, group=labels, weights=w)
    curves = {
        level: _curve(
            t[labels == level],
            e[labels == level],
            conf_level,
            conf_type,
            level,
            None if w is None else w[labels == level],
            use_robust,
        )
        for level in levels
    }
    return SurvivalCurves(curves=curves, group_name=group if isinstance(group, str) else None)


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
    return area_under_curve(km, tau, level)
