"""Annualised relapse rates (ARR): pooled and per patient, before and after a treatment."""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd

from msreboot.data import DAYS_PER_YEAR, Cohort, days_between
from msreboot.endpoints._transplant import _contacts, _last_contact, first_course_start
from msreboot.stats import exact_poisson_ci

__all__ = ["RelapseRates", "relapse_rates"]


@dataclass(frozen=True)
class RelapseRates:
    """Relapse rates per period (``before`` / ``after`` an anchor, or ``all``).

    Attributes
    ----------
    table
        One row per period: patients, relapses, person_years, ``arr`` (pooled: relapses /
        person-years) with its exact interval, and the mean and SD of the individual rates
        (patients with follow-up in the period). The two differ: the pooled rate weights
        patients by follow-up, the mean of individual rates weights them equally.
    per_patient
        One row per patient and period: relapses, years, individual ARR.
    conf_level
        Level of the exact Poisson intervals.
    """

    table: pd.DataFrame
    per_patient: pd.DataFrame
    conf_level: float

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        lines = ["Annualised relapse rate (pooled, exact CI; mean of individual rates)"]
        for row in self.table.itertuples():
            lines.append(
                f"  {row.period}: {row.relapses} relapses / {row.person_years:.1f} person-years "
                f"= {row.arr:.3f} ({row.ci_low:.3f}-{row.ci_high:.3f}); "
                f"mean of individual rates {row.mean_individual_arr:.3f} ({row.patients} patients)"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>" + self.table.to_html(index=False)


def relapse_rates(
    cohort: Cohort,
    *,
    anchor: str | None = "ahsct",
    years_before: float | None = None,
    conf_level: float = 0.95,
) -> RelapseRates:
    """Annualised relapse rates, pooled and per patient, before and after a treatment.

    Parameters
    ----------
    cohort
        A validated cohort.
    anchor
        A treatment kind: each patient's first course of that kind splits follow-up into
        ``before`` (relapse onset before the start date) and ``after`` (on or after it).
        ``None``: one period, ``all``. Patients without such a course are left out.
    years_before
        Length of the period before the anchor; ``None`` starts it at MS onset (or at the
        patient's first record when onset is unknown).
    conf_level
        Level of the exact Poisson interval of the pooled rate.

    Notes
    -----
    Follow-up ends at the patient's last record of any kind (or death). Person-years use
    365.25 days. A period of zero length contributes no patient.

    Examples
    --------
    >>> from msreboot.datasets import load_example
    >>> rates = relapse_rates(load_example())
    >>> rates.table["period"].tolist()
    ['before', 'after']
    """
    if years_before is not None and not years_before > 0:
        raise ValueError(f"years_before must be > 0 or None; got {years_before}.")
    end = _last_contact(cohort)
    patients = cohort.patients.set_index("patient_id")
    first = _contacts(cohort).groupby("patient_id")["when"].min()
    onset = patients["onset_date"].reindex(end.index)
    start = onset.where(onset.notna(), first.reindex(end.index))
    rel = cohort.relapses[["patient_id", "onset_date"]]
    if anchor is None:
        windows = [("all", start, end)]
    else:
        day0 = first_course_start(cohort, anchor)
        before_start = start.reindex(day0.index)
        if years_before is not None:
            span = round(years_before * DAYS_PER_YEAR)  # whole days
            limit = day0 - (pd.to_timedelta(span, unit="D") if cohort.time_unit == "date" else span)
            before_start = before_start.where(before_start > limit, limit)
        windows = [
            ("before", before_start, day0),
            ("after", day0, end.reindex(day0.index)),
        ]
    per_patient = []
    for period, lo, hi in windows:
        years = days_between(hi, lo) / DAYS_PER_YEAR
        frame = pd.DataFrame({"patient_id": lo.index, "lo": lo.to_numpy(), "hi": hi.to_numpy()})
        joined = rel.merge(frame, on="patient_id")
        if period == "after":
            inside = (joined["onset_date"] >= joined["lo"]) & (joined["onset_date"] <= joined["hi"])
        else:
            inside = (joined["onset_date"] >= joined["lo"]) & (joined["onset_date"] < joined["hi"])
        counts = joined[inside.to_numpy(dtype=bool)].groupby("patient_id").size()
        part = pd.DataFrame(
            {
                "patient_id": pd.array(lo.index.to_numpy(dtype=object), dtype="string"),
                "period": period,
                "relapses": counts.reindex(lo.index).fillna(0).astype(int).to_numpy(),
                "years": years.to_numpy(dtype=float),
            }
        )
        part = part[part["years"] > 0]
        part["arr"] = part["relapses"] / part["years"]
        per_patient.append(part)
    pp = pd.concat(per_patient, ignore_index=True)
    rows = []
    for label, part in pp.groupby("period", sort=False):
        k, t = int(part["relapses"].sum()), float(part["years"].sum())
        lo_ci, hi_ci = exact_poisson_ci(k, t, conf_level) if t > 0 else (np.nan, np.nan)
        rows.append(
            {
                "period": label,
                "patients": len(part),
                "relapses": k,
                "person_years": t,
                "arr": k / t if t > 0 else np.nan,
                "ci_low": lo_ci,
                "ci_high": hi_ci,
                "mean_individual_arr": float(part["arr"].mean()),
                "sd_individual_arr": float(part["arr"].std(ddof=1)) if len(part) > 1 else np.nan,
            }
        )
    return RelapseRates(pd.DataFrame(rows), pp.reset_index(drop=True), conf_level)
