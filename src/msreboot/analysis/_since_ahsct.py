"""Repeated measurements summarised by months since AHSCT: the time points, their windows,
each patient's result per window and the median and quartiles of those results.

One mechanism for every measure the report follows after a transplant: lymphocyte subsets
(:func:`~msreboot.analysis.immune_reconstitution`) and the functional tests, MRI volumes,
serum neurofilament light and patient-reported outcomes
(:func:`~msreboot.analysis.measures_after_ahsct`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from msreboot.data import Cohort, days_between

__all__ = [
    "BASELINE_DAYS",
    "DAYS_PER_MONTH",
    "check_months",
    "month_label",
    "results_since_ahsct",
    "summarise_by_month",
    "transplant_origins",
]

DAYS_PER_MONTH = 365.25 / 12
"""A month of 30.4375 days."""

BASELINE_DAYS = 365
"""The baseline is the last result in this many days before the course began."""

_COURSE_START = ("mobilisation_date", "conditioning_start_date", "admission_date", "start_date")


def check_months(months: Sequence[float]) -> tuple[float, ...]:
    """The time points as floats, or ``ValueError`` unless increasing and > 0."""
    values = tuple(float(m) for m in months)
    ok = values and all(np.isfinite(m) and m > 0 for m in values)
    if not ok or list(values) != sorted(set(values)):
        raise ValueError(
            f"months must be increasing months > 0 after reinfusion; got {list(months)}. "
            "The baseline (month 0) is always included."
        )
    return values


def month_label(month: float) -> str:
    """``"baseline"`` for month 0, else ``"month 6"``."""
    return "baseline" if month == 0 else f"month {month:g}"


def windows(months: tuple[float, ...]) -> list[tuple[float, float]]:
    """``[from_day, to_day)`` of each time point: half-way to its neighbours; the first
    starts half-way from day 0, the last ends as far after it as half the last gap."""
    points = (0.0, *months)
    out = []
    for i in range(1, len(points)):
        low = (points[i - 1] + points[i]) / 2
        gap = points[i + 1] - points[i] if i + 1 < len(points) else points[i] - points[i - 1]
        out.append((low * DAYS_PER_MONTH, (points[i] + gap / 2) * DAYS_PER_MONTH))
    return out


def transplant_origins(cohort: Cohort) -> pd.DataFrame:
    """Per transplanted patient (index ``patient_id``): ``day0`` (the first AHSCT course's
    reinfusion, ``start_date``) and ``course_start`` (days from day 0 to the first of
    mobilisation, conditioning start, admission and reinfusion; <= 0). Computed once per
    cohort (read-only): immune reconstitution and the other measures share it."""

    def compute() -> pd.DataFrame:
        courses = cohort.treatments[cohort.treatments["kind"] == "ahsct"]
        first = (
            courses.sort_values(["patient_id", "start_date"], kind="stable")
            .drop_duplicates("patient_id")
            .set_index("patient_id")
        )
        day0 = first["start_date"]
        start = pd.concat([days_between(first[c], day0) for c in _COURSE_START], axis=1)
        return pd.DataFrame({"day0": day0, "course_start": start.min(axis=1)})

    return cohort.derived(("transplant_origins",), compute)


def results_since_ahsct(
    origins: pd.DataFrame,
    patient_id: pd.Series,
    date: pd.Series,
    measure: pd.Series | str,
    value: pd.Series,
) -> pd.DataFrame:
    """Results of transplanted patients as ``patient_id``, ``measure``, ``day`` (from day
    0), ``value`` (``nan`` for a test not completed) and ``course_start``; rows of other
    patients are left out."""
    keep = patient_id.isin(origins.index).to_numpy(dtype=bool)
    pid = patient_id[keep].astype(object).reset_index(drop=True)
    day = days_between(
        date[keep].reset_index(drop=True), origins["day0"].reindex(pid).reset_index(drop=True)
    )
    names = measure if isinstance(measure, str) else measure[keep].astype(object).to_numpy()
    return pd.DataFrame(
        {
            "patient_id": pid.to_numpy(),
            "measure": names,
            "day": day.to_numpy(dtype=float),
            "value": value[keep].to_numpy(dtype=float, na_value=np.nan),
            "course_start": origins["course_start"].reindex(pid).to_numpy(dtype=float),
        }
    )


def summarise_by_month(
    results: pd.DataFrame, measures: Sequence[str], points: tuple[float, ...]
) -> pd.DataFrame:
    """One row per measure and time point (every pair, baseline first): ``measure``,
    ``month``, ``from_day``, ``to_day``, ``n_patients`` (with a result in the window),
    ``n_not_completed`` (of them, whose chosen result is a test not completed: no value),
    ``median``, ``q1`` and ``q3`` of the values (R's type 7; ``nan`` without values).

    The baseline is each patient's last result in the :data:`BASELINE_DAYS` days before
    the course began; month ``m`` takes each patient's result closest to ``m`` months
    within its window (the earlier on a tie)."""
    rows = []
    for name in measures:
        mine = results[results["measure"] == name]
        base = mine[
            (mine["day"] < mine["course_start"])
            & (mine["day"] >= mine["course_start"] - BASELINE_DAYS)
        ]
        picked = (
            base.sort_values(["patient_id", "day"], kind="stable").groupby("patient_id").tail(1)
        )
        rows.append(_row(name, 0.0, float("nan"), float("nan"), picked["value"]))
        for m, (low, high) in zip(points, windows(points), strict=True):
            inside = mine[(mine["day"] >= low) & (mine["day"] < high)].copy()
            inside["distance"] = (inside["day"] - m * DAYS_PER_MONTH).abs()
            picked = inside.sort_values(["patient_id", "distance", "day"], kind="stable")
            rows.append(_row(name, m, low, high, picked.groupby("patient_id").head(1)["value"]))
    return pd.DataFrame(rows)


def _row(name: str, month: float, low: float, high: float, values: pd.Series) -> dict[str, object]:
    every = values.to_numpy(dtype=float)
    x = every[~np.isnan(every)]
    nan = float("nan")
    q1, med, q3 = (float(q) for q in np.quantile(x, [0.25, 0.5, 0.75])) if x.size else (nan,) * 3
    return {
        "measure": name,
        "month": month,
        "from_day": low,
        "to_day": high,
        "n_patients": int(every.size),
        "n_not_completed": int(every.size - x.size),
        "median": med,
        "q1": q1,
        "q3": q3,
    }
