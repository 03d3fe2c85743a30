"""The statistics a virtual trial's arm can be set beside a published figure with, computed
on one simulated replicate: one implementation shared by a spec's ``[[published]]`` values
and by the calibration targets (:mod:`msreboot.calibration`).

Time zero is the trial's (reinfusion or enrolment, :func:`msreboot.trials.time_zero`);
``T`` is ``time_years`` in days (365.25 per year).

``hazard_ratio``
    The Cox hazard ratio of an endpoint, arm against the reference arm.
``transplant_mortality``
    Deaths within ``window_days`` (100 by default) of AHSCT among the arm's transplanted
    patients, as :func:`msreboot.endpoints.transplant_mortality` counts them.
``relapse_proportion``
    Share of the arm's patients with a relapse onset in days ``(0, T]``.
``relapse_rate``
    Annualised relapse rate: relapse onsets in ``(0, min(T, end)]`` over the person-years
    from time zero to ``min(T, end)``, ``end`` being the patient's last EDSS assessment or
    death (the trial's follow-up); without ``time_years``, to ``end``.
``relapse_rate_ratio``
    ``relapse_rate`` of the arm over that of the reference arm.
``mean_edss``
    Mean EDSS at each patient's visit nearest ``T`` (within 60 days; of two visits as
    near, the earlier in the table's order).
``mean_edss_change``
    Mean of that EDSS minus the patient's baseline (the last EDSS on or before time zero).
``share_improved``, ``share_stable``, ``share_worse``
    Shares of patients whose EDSS at the visit nearest ``T`` (within 60 days; without
    ``time_years``, at the last visit after time zero) is lower, unchanged or higher than
    baseline by at least the usual clinically meaningful step: worse by 1.5 from a
    baseline of 0, 1.0 up to 5.5 and 0.5 above; better by 1.0 from a baseline up to 5.5
    and 0.5 above (the steps of :class:`msreboot.endpoints.ThresholdRule`'s defaults);
    the denominator is the patients with both scores.
``neda``
    NEDA-3 proportion over years ``(0, T]`` among the arm's evaluable patients
    (:func:`msreboot.endpoints.neda_status`).
``gd_rate_ratio``
    Gd+ lesions per patient on scans in days ``(0, T + 14]`` from time zero, arm over
    reference arm.

A statistic that cannot be formed (no patient, no person-time, a zero denominator of a
ratio) is ``nan``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Literal

import numpy as np
import pandas as pd

from msreboot.data import Cohort
from msreboot.endpoints import (
    EndpointDefinition,
    anchor_days,
    compare_endpoint,
    neda_status,
    transplant_mortality,
)

__all__ = [
    "ARM_STATISTICS",
    "RATIO_STATISTICS",
    "TIMED_STATISTICS",
    "ArmStatistic",
    "arm_statistic",
    "follow_up_and_relapses",
]

ArmStatistic = Literal[
    "hazard_ratio",
    "transplant_mortality",
    "relapse_proportion",
    "relapse_rate",
    "relapse_rate_ratio",
    "mean_edss",
    "mean_edss_change",
    "share_improved",
    "share_stable",
    "share_worse",
    "neda",
    "gd_rate_ratio",
]
ARM_STATISTICS: tuple[str, ...] = ArmStatistic.__args__  # type: ignore[attr-defined]
"""Every statistic :func:`arm_statistic` computes."""
RATIO_STATISTICS = frozenset({"hazard_ratio", "gd_rate_ratio", "relapse_rate_ratio"})
"""Statistics that are ratios (compared on the log scale, summarised by the median)."""
TIMED_STATISTICS = frozenset(
    {"relapse_proportion", "mean_edss", "mean_edss_change", "neda", "gd_rate_ratio"}
)
"""Statistics that need ``time_years``."""

_NEAREST_DAYS = 60  # a visit within this many days of T stands for the value at T


def arm_statistic(
    statistic: str,
    cohort: Cohort,
    arms: pd.Series,
    *,
    arm: str,
    reference: str,
    anchor: str | pd.DataFrame,
    time_years: float | None = None,
    endpoint: EndpointDefinition | None = None,
    ids: Iterable[str] | None = None,
    window_days: int | None = None,
) -> float:
    """One statistic of one arm of a simulated replicate (see the module documentation).

    Parameters
    ----------
    statistic
        One of :data:`ARM_STATISTICS`.
    cohort, arms
        The replicate's cohort and each patient's arm (indexed by ``patient_id``).
    arm, reference
        The arm, and the reference arm of ratios.
    anchor
        The replicate's time zero (:func:`msreboot.trials.time_zero`).
    time_years
        ``T``; required by :data:`TIMED_STATISTICS`.
    endpoint
        The endpoint of ``hazard_ratio``.
    ids
        The patients of the arm to use (a subgroup); default: all of the arm's.
    window_days
        The window of ``transplant_mortality`` (default 100).

    Returns
    -------
    float
        The statistic, ``nan`` when it cannot be formed.
    """
    if statistic not in ARM_STATISTICS:
        raise ValueError(
            f"statistic must be one of {', '.join(ARM_STATISTICS)}; got {statistic!r}."
        )
    if statistic in TIMED_STATISTICS and time_years is None:
        raise ValueError(f"time_years must be given for statistic {statistic!r}; got None.")
    members = list(arms.index[arms == arm]) if ids is None else list(ids)
    years = float(time_years) if time_years is not None else None
    if statistic == "hazard_ratio":
        if endpoint is None:
            raise ValueError("endpoint must be given for statistic 'hazard_ratio'; got None.")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an arm without events
            result = compare_endpoint(
                cohort, endpoint, arms, reference=reference, times_years=(1.0,), anchor=anchor
            )
        rows = result.hazard_ratios
        rows = rows[rows["group"] == arm]
        return float(rows["hazard_ratio"].iloc[0]) if len(rows) else float("nan")
    if statistic == "transplant_mortality":
        window = window_days or 100
        try:
            return transplant_mortality(cohort, window_days=window, patients=members).proportion
        except ValueError:  # no transplanted patient among them
            return float("nan")
    if statistic == "relapse_proportion":
        assert years is not None
        onsets = cohort.relapses[cohort.relapses["patient_id"].isin(members)]
        days = _from_time_zero(onsets, "onset_date", cohort, anchor)
        hit = onsets.loc[(days > 0) & (days <= years * 365.25), "patient_id"].nunique()
        return float(hit / len(members)) if members else float("nan")
    if statistic == "relapse_rate":
        return _relapse_rate(cohort, members, anchor, years)
    if statistic == "relapse_rate_ratio":
        base = _relapse_rate(cohort, list(arms.index[arms == reference]), anchor, years)
        rate = _relapse_rate(cohort, members, anchor, years)
        return rate / base if base > 0 else float("nan")
    if statistic == "neda":
        assert years is not None
        status = neda_status(cohort, window_years=(0.0, years), anchor=anchor).patients
        status = status[status["patient_id"].isin(members)]
        evaluable = status["status"] != "not evaluable"
        neda = int((status["status"] == "NEDA").sum())
        return neda / int(evaluable.sum()) if evaluable.any() else float("nan")
    if statistic == "gd_rate_ratio":
        assert years is not None
        base = _gd_per_patient(cohort, arms.index[arms == reference], anchor, years)
        value = _gd_per_patient(cohort, members, anchor, years)
        return value / base if base > 0 else float("nan")
    scores = _edss_at(cohort, members, anchor, years)
    if statistic == "mean_edss":
        return float(scores["edss"].mean()) if len(scores) else float("nan")
    change = (scores["edss"] - scores["baseline"]).dropna()
    if statistic == "mean_edss_change":
        return float(change.mean()) if len(change) else float("nan")
    if change.empty:
        return float("nan")
    base = scores.loc[change.index, "baseline"]
    worse = change >= np.where(base == 0, 1.5, np.where(base <= 5.5, 1.0, 0.5))
    better = -change >= np.where(base <= 5.5, 1.0, 0.5)
    share = {"share_worse": worse, "share_improved": better, "share_stable": ~(worse | better)}
    return float(share[statistic].mean())


def _from_time_zero(
    rows: pd.DataFrame, column: str, cohort: Cohort, anchor: str | pd.DataFrame
) -> pd.Series:
    """Days from each patient's time zero (simulated cohorts are day-based)."""
    zero = anchor_days(cohort, anchor).astype(float)
    return rows[column].astype(float) - rows["patient_id"].map(zero).to_numpy(dtype=float)


def follow_up_and_relapses(
    cohort: Cohort,
    members: list[str],
    anchor: str | pd.DataFrame,
    years: float | None = None,
) -> pd.DataFrame:
    """Per patient of ``members`` (the index): ``years`` of follow-up from time zero to the
    last EDSS assessment or death (or to ``years``, when given and earlier; 0 without any)
    and ``relapses``, the onsets after time zero up to that end."""
    edss = cohort.edss[cohort.edss["patient_id"].isin(members)]
    deaths = cohort.deaths[cohort.deaths["patient_id"].isin(members)]
    ends = pd.concat(
        [
            _from_time_zero(edss, "date", cohort, anchor).groupby(edss["patient_id"]).max(),
            _from_time_zero(deaths, "date", cohort, anchor).groupby(deaths["patient_id"]).max(),
        ]
    )
    end = ends.groupby(level=0).max().reindex(members)
    if years is not None:
        end = end.clip(upper=years * 365.25)
    end = end.where(end > 0).fillna(0.0)
    rel = cohort.relapses[cohort.relapses["patient_id"].isin(members)]
    days = _from_time_zero(rel, "onset_date", cohort, anchor).to_numpy(dtype=float)
    limit = rel["patient_id"].map(end).to_numpy(dtype=float)
    inside = (days > 0) & (days <= limit)
    counts = rel["patient_id"][inside].value_counts().reindex(members, fill_value=0)
    return pd.DataFrame(
        {"years": end.to_numpy(dtype=float) / 365.25, "relapses": counts.to_numpy(dtype=int)},
        index=pd.Index(members, name="patient_id"),
    )


def _relapse_rate(
    cohort: Cohort, members: list[str], anchor: str | pd.DataFrame, years: float | None
) -> float:
    frame = follow_up_and_relapses(cohort, members, anchor, years)
    person_years = float(frame["years"].sum())
    if not person_years > 0:
        return float("nan")
    return int(frame["relapses"].sum()) / person_years


def _edss_at(
    cohort: Cohort, members: list[str], anchor: str | pd.DataFrame, years: float | None
) -> pd.DataFrame:
    """Per patient: ``edss`` at the visit nearest ``years`` (within 60 days; ``None``: the
    last visit after time zero) and ``baseline``, the last EDSS on or before time zero."""
    edss = cohort.edss[cohort.edss["patient_id"].isin(members)].copy()
    edss["day"] = _from_time_zero(edss, "date", cohort, anchor).to_numpy(dtype=float)
    edss["edss"] = edss["edss"].astype(float)
    before = edss[edss["day"] <= 0].sort_values(["patient_id", "day"], kind="stable")
    baseline = before.groupby("patient_id")["edss"].last()
    if years is None:
        after = edss[edss["day"] > 0].sort_values(["patient_id", "day"], kind="stable")
        value = after.groupby("patient_id")["edss"].last()
    else:
        edss["gap"] = (edss["day"] - years * 365.25).abs()
        nearest = edss[edss["gap"] <= _NEAREST_DAYS].sort_values(
            ["patient_id", "gap"], kind="stable"
        )
        value = nearest.groupby("patient_id")["edss"].first()
    return pd.DataFrame({"edss": value, "baseline": baseline.reindex(value.index)})


def _gd_per_patient(
    cohort: Cohort, ids: Iterable[str], anchor: str | pd.DataFrame, years: float
) -> float:
    ids = list(ids)
    scans = cohort.mri[cohort.mri["patient_id"].isin(ids)]
    days = _from_time_zero(scans, "date", cohort, anchor)
    window = scans[(days > 0) & (days <= years * 365.25 + 14)]
    total = float(window["gd_lesions"].astype(float).sum())
    return total / len(ids) if ids else float("nan")
