"""Outcomes of an emulated trial per endpoint: crude and adjusted Cox models, weighted
Kaplan-Meier curves and cumulative incidences, RMST difference, relapse-rate ratio."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from msreboot.analysis._emulation_effects import RelapseRateComparison, weighted_rate_ratio
from msreboot.analysis._emulation_spec import EmulationSpec
from msreboot.data import DAYS_PER_YEAR, Cohort, days_between
from msreboot.endpoints import EndpointDefinition, endpoint_times
from msreboot.stats import (
    CoxModel,
    CumulativeIncidenceCurves,
    FineGrayModel,
    GrayTest,
    ProportionalHazardsTest,
    SurvivalCurves,
    cox_regression,
    cumulative_incidence,
    fine_gray,
    gray_test,
    kaplan_meier,
    proportional_hazards_test,
)

__all__ = [
    "EndpointContrast",
    "contrast_endpoint",
    "entry_times",
    "hazard_ratio_row",
    "relapse_rate_comparison",
]


@dataclass(frozen=True, eq=False)
class EndpointContrast:
    """One endpoint compared between the arms of an emulated trial.

    Attributes
    ----------
    definition
        The endpoint.
    data
        One row per entry analysed: ``entry_id``, ``patient_id``, ``arm``, ``treated``,
        ``time_years``, ``status`` (0 censored, 1 event, 2 competing death), ``event``,
        ``weight``, ``cluster``.
    crude, adjusted
        Cox models of the treated arm against the control, unweighted and weighted (robust
        or cluster-robust variance); ``None`` without events.
    curves, curves_crude
        Kaplan-Meier curves per arm, weighted and unweighted.
    incidence
        Cumulative incidence of the event and of competing death per arm (weighted), when
        some deaths compete (``None`` otherwise).
    rmst
        One row per arm (weighted curves): ``arm``, ``estimate``, ``std_err``, and the
        difference row ``treated - control`` with its interval; ``tau`` in years.
    notes
        Warnings of the model fits (a monotone likelihood when an arm has no events).
    proportional_hazards
        Test of proportional hazards of the adjusted model (scaled Schoenfeld residuals,
        weighted; R ``cox.zph``); ``None`` without a model.
    gray, fine_gray
        With competing deaths: Gray's test of equal cumulative incidence of the event
        between the arms and the Fine-Gray subdistribution hazard ratio, both crude (every
        eligible entry, unweighted: neither takes weights); ``None`` otherwise.
    """

    definition: EndpointDefinition
    data: pd.DataFrame = field(repr=False)
    crude: CoxModel | None = field(repr=False)
    adjusted: CoxModel | None = field(repr=False)
    curves: SurvivalCurves = field(repr=False)
    curves_crude: SurvivalCurves = field(repr=False)
    incidence: Mapping[str, CumulativeIncidenceCurves] | None = field(repr=False)
    rmst: pd.DataFrame = field(repr=False)
    notes: tuple[str, ...] = ()
    proportional_hazards: ProportionalHazardsTest | None = field(default=None, repr=False)
    gray: GrayTest | None = field(default=None, repr=False)
    fine_gray: FineGrayModel | None = field(default=None, repr=False)


def entry_times(
    cohort: Cohort, spec: EmulationSpec, definition: EndpointDefinition, data: pd.DataFrame
) -> pd.DataFrame:
    """Per entry of ``data`` (every one, weight 0 too): the endpoint's ``time_years`` and
    ``status`` from the entry's time zero, censored by the follow-up rules, with ``arm``,
    ``treated``, ``event``, ``weight``, ``cluster`` and ``arm_treated``."""
    parts = []
    for _, group in data.groupby("entry_group"):
        anchor = group[["patient_id", "anchor_date"]]
        times = endpoint_times(cohort, definition, anchor=anchor).patients
        times = times.assign(patient_id=times["patient_id"].astype(object))
        merged = group.reset_index().merge(
            times[["patient_id", "time_days", "status"]], on="patient_id"
        )
        parts.append(merged)
    rows = pd.concat(parts, ignore_index=True).sort_values("entry_id", kind="stable")
    days = rows["time_days"].to_numpy(dtype=float)
    status = rows["status"].to_numpy(dtype=int)
    limits = []
    if spec.follow_up.analysis == "per_protocol":
        limits.append(rows["switch_days"].to_numpy(dtype=float))
    if spec.follow_up.max_years is not None:
        limits.append(np.full(len(rows), spec.follow_up.max_years * DAYS_PER_YEAR))
    for limit in limits:
        cut = np.isfinite(limit) & (limit < days)
        days = np.where(cut, np.maximum(limit, 0), days)
        status = np.where(cut, 0, status)
    frame = pd.DataFrame(
        {
            "entry_id": rows["entry_id"].to_numpy(),
            "patient_id": rows["patient_id"].to_numpy(),
            "arm": rows["arm"].to_numpy(),
            "treated": rows["treated"].to_numpy(dtype=bool),
            "time_years": days / DAYS_PER_YEAR,
            "status": status,
            "event": (status == 1).astype(int),
            "weight": rows["weight"].to_numpy(dtype=float),
            "cluster": rows["cluster"].to_numpy(),
        }
    )
    frame["arm_treated"] = frame["treated"].astype(int)
    return frame


def contrast_endpoint(
    cohort: Cohort, spec: EmulationSpec, definition: EndpointDefinition, data: pd.DataFrame
) -> EndpointContrast:
    every = frame = entry_times(cohort, spec, definition, data)
    frame = frame[frame["weight"] > 0].reset_index(drop=True)
    level = spec.conf_level
    crude = adjusted = None
    ph: ProportionalHazardsTest | None = None
    repeated = spec.time_zero == "all"
    caught: list[warnings.WarningMessage] = []
    if frame["event"].any() and frame["treated"].any() and (~frame["treated"]).any():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            crude, adjusted = _cox_models(every, frame, level, repeated)
            try:
                ph = proportional_hazards_test(
                    frame, "time_years", "event", ["arm_treated"], weights_col="weight"
                )
            except (np.linalg.LinAlgError, ValueError) as exc:
                warnings.warn(f"no proportional-hazards test ({exc})", stacklevel=1)
    gray = shr = None
    competing = every["status"] == 2
    if competing.any() and every["event"].any():
        with warnings.catch_warnings(record=True) as more:
            warnings.simplefilter("always")
            gray = gray_test(every["time_years"], every["status"], every["arm_treated"], cause=1)
            shr = fine_gray(every, "time_years", "status", ["arm_treated"], conf_level=level)
        caught = [*caught, *more]
    notes = tuple(dict.fromkeys(f"{definition.name}: {w.message}" for w in caught))
    levels = [spec.treated.name, spec.control.name]
    frame["arm"] = arm = pd.Categorical(frame["arm"], categories=levels)
    curves = kaplan_meier(
        frame["time_years"], frame["event"], group=arm, weights=frame["weight"], conf_level=level
    )
    every_arm = pd.Categorical(every["arm"], categories=levels)
    curves_crude = kaplan_meier(
        every["time_years"], every["event"], group=every_arm, conf_level=level
    )
    incidence = None
    if (frame["status"] == 2).any():
        incidence = {
            cause: cumulative_incidence(
                frame["time_years"],
                frame["status"],
                cause=code,
                group=arm,
                weights=frame["weight"],
                conf_level=level,
            )
            for cause, code in (("event", 1), ("death", 2))
        }
    return EndpointContrast(
        definition,
        frame,
        crude,
        adjusted,
        curves,
        curves_crude,
        incidence,
        _rmst(curves, spec),
        notes,
        ph,
        gray,
        shr,
    )


def _cox_models(
    every: pd.DataFrame, frame: pd.DataFrame, level: float, repeated: bool
) -> tuple[CoxModel, CoxModel]:
    """The crude model (every entry; clustered by patient when patients repeat) and the
    adjusted one (weighted, cluster-robust)."""
    crude = cox_regression(
        every,
        "time_years",
        "event",
        ["arm_treated"],
        conf_level=level,
        robust=repeated,
        cluster_col="cluster" if repeated else None,
    )
    adjusted = cox_regression(
        frame,
        "time_years",
        "event",
        ["arm_treated"],
        conf_level=level,
        weights_col="weight",
        robust=True,
        cluster_col="cluster",
    )
    return crude, adjusted


def _rmst(curves: SurvivalCurves, spec: EmulationSpec) -> pd.DataFrame:
    last = min(float(np.max(c.times)) if len(c.times) else 0.0 for c in curves.curves.values())
    tau = min(spec.outcomes.rmst_years, last)
    cols = ["arm", "tau_years", "estimate", "std_err", "ci_low", "ci_high"]
    if not tau > 0:
        return pd.DataFrame(columns=cols)
    rows: list[list[object]] = []
    means = [curve.restricted_mean(tau) for curve in curves.curves.values()]
    for arm, r in zip(curves.curves, means, strict=True):
        rows.append([str(arm), tau, r.estimate, r.std_err, r.ci_low, r.ci_high])
    (e1, s1), (e0, s0) = ((r.estimate, r.std_err) for r in means)
    z = _z(spec.conf_level)
    se = math.sqrt(s1**2 + s0**2)
    rows.append(["difference", tau, e1 - e0, se, e1 - e0 - z * se, e1 - e0 + z * se])
    return pd.DataFrame(rows, columns=cols)


def _z(conf_level: float) -> float:
    from scipy import stats as sps

    return float(sps.norm.ppf(0.5 + conf_level / 2))


def hazard_ratio_row(model: CoxModel | None, prefix: str) -> dict[str, float]:
    if model is None:
        return {prefix: np.nan, f"{prefix}_ci_low": np.nan} | {
            f"{prefix}_ci_high": np.nan,
            f"{prefix}_p": np.nan,
        }
    return {
        prefix: float(model.hazard_ratio[0]),
        f"{prefix}_ci_low": float(model.ci_low[0]),
        f"{prefix}_ci_high": float(model.ci_high[0]),
        f"{prefix}_p": float(model.pvalue[0]),
    }


def relapse_rate_comparison(
    cohort: Cohort, spec: EmulationSpec, data: pd.DataFrame
) -> RelapseRateComparison | None:
    end = data["end_days"].to_numpy(dtype=float)
    if spec.follow_up.analysis == "per_protocol":
        end = np.fmin(end, data["switch_days"].to_numpy(dtype=float))
    if spec.follow_up.max_years is not None:
        end = np.fmin(end, spec.follow_up.max_years * DAYS_PER_YEAR)
    merged = (
        data[["patient_id", "anchor_date"]]
        .reset_index()
        .merge(cohort.relapses[["patient_id", "onset_date"]], on="patient_id")
    )
    lag = days_between(merged["onset_date"], merged["anchor_date"]).to_numpy(dtype=float)
    limit = pd.Series(end, index=data.index).reindex(merged["entry_id"]).to_numpy()
    hits = merged[(lag > 0) & (lag <= limit)].groupby("entry_id").size()
    count = np.asarray(hits.reindex(data.index, fill_value=0), dtype=np.float64)
    years = end / DAYS_PER_YEAR
    followed = years > 0
    use = followed & (data["weight"].to_numpy(dtype=float) > 0)
    treated = data["treated"].to_numpy(dtype=bool)
    if not (use & treated).any() or not (use & ~treated).any():
        return None
    codes = pd.factorize(data["cluster"])[0]
    rows = []
    for analysis, weight in (
        ("crude", np.ones(len(data))),
        ("adjusted", data["weight"].to_numpy(dtype=float)),
    ):
        use = followed & (weight > 0)
        cluster = (
            codes if (analysis == "adjusted" or spec.time_zero == "all") else np.arange(len(data))
        )
        rr, lo, hi, p = weighted_rate_ratio(
            count[use],
            years[use],
            treated[use],
            weight[use],
            cluster[use],
            conf_level=spec.conf_level,
        )
        w, t, y, e = weight[use], treated[use], count[use], years[use]
        rows.append(
            {
                "analysis": analysis,
                "rate_ratio": rr,
                "ci_low": lo,
                "ci_high": hi,
                "p_value": p,
                "rate_treated": float(np.sum(w[t] * y[t]) / np.sum(w[t] * e[t])),
                "rate_control": float(np.sum(w[~t] * y[~t]) / np.sum(w[~t] * e[~t])),
                "relapses_treated": int(y[t].sum()),
                "relapses_control": int(y[~t].sum()),
                "years_treated": float(e[t].sum()),
                "years_control": float(e[~t].sum()),
            }
        )
    return RelapseRateComparison(
        pd.DataFrame(rows),
        spec.conf_level,
        "Poisson model with cluster-robust sandwich variance (clusters: matched sets or patients)",
    )
