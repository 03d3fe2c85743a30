"""The disease course around treatment: EDSS trajectories, relapse rates and MRI activity."""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd

from msreboot.data import DAYS_PER_YEAR, Cohort, days_between
from msreboot.endpoints import MRIActivity, RelapseRates, mri_activity, relapse_rates

__all__ = [
    "BIN_YEARS",
    "MIN_PATIENTS_PER_BIN",
    "DiseaseCourse",
    "EDSSTrajectories",
    "disease_course",
    "edss_trajectories",
]

BIN_YEARS = 0.5
"""Width of the bins of the mean EDSS trajectory, years."""
MIN_PATIENTS_PER_BIN = 5
"""Bins with fewer patients are not shown."""


@dataclass(frozen=True)
class EDSSTrajectories:
    """EDSS over time since each patient's first course of a treatment.

    Attributes
    ----------
    visits
        One row per EDSS assessment of a treated patient: ``patient_id``, ``years``
        (from day 0), ``edss``.
    bins
        One row per half-year bin with at least ``MIN_PATIENTS_PER_BIN`` patients:
        ``years`` (bin centre), ``patients``, ``mean``, ``ci_low``, ``ci_high`` (95%,
        t distribution), ``median``, ``q1``, ``q3``; each patient counts once per bin (the
        mean of their assessments in it).
    """

    visits: pd.DataFrame
    bins: pd.DataFrame


def edss_trajectories(
    cohort: Cohort, anchor: str, *, years_before: float, years_after: float
) -> EDSSTrajectories:
    """EDSS assessments in years from each patient's first ``anchor`` course, and the mean
    trajectory with its 95% interval by half-year bin."""
    from scipy import stats

    courses = cohort.treatments[cohort.treatments["kind"] == anchor]
    day0 = courses.groupby("patient_id")["start_date"].min()
    edss = cohort.edss[cohort.edss["patient_id"].isin(day0.index)]
    years = days_between(edss["date"], edss["patient_id"].map(day0)) / DAYS_PER_YEAR
    visits = pd.DataFrame(
        {
            "patient_id": edss["patient_id"].to_numpy(dtype=object),
            "years": years.to_numpy(dtype=float),
            "edss": edss["edss"].to_numpy(dtype=float),
        }
    )
    visits = visits[
        (visits["years"] >= -years_before)
        & (visits["years"] <= years_after)
        & visits["edss"].notna()
    ].reset_index(drop=True)
    centre = np.round(visits["years"] / BIN_YEARS) * BIN_YEARS
    per_patient = visits.assign(bin=centre).groupby(["bin", "patient_id"], sort=True)["edss"].mean()
    rows = []
    for centre_years, values in per_patient.groupby(level="bin"):
        v = values.to_numpy(dtype=float)
        n = len(v)
        if n < MIN_PATIENTS_PER_BIN:
            continue
        mean = float(v.mean())
        half = float(stats.t.ppf(0.975, n - 1) * v.std(ddof=1) / np.sqrt(n))
        q1, med, q3 = np.percentile(v, [25, 50, 75])
        rows.append(
            {
                "years": float(centre_years),  # type: ignore[arg-type]
                "patients": n,
                "mean": mean,
                "ci_low": mean - half,
                "ci_high": mean + half,
                "median": med,
                "q1": q1,
                "q3": q3,
            }
        )
    columns = ["years", "patients", "mean", "ci_low", "ci_high", "median", "q1", "q3"]
    return EDSSTrajectories(visits, pd.DataFrame(rows, columns=columns))


@dataclass(frozen=True, eq=False)
class DiseaseCourse:
    """Disability, relapses and MRI activity around each patient's first course of a
    treatment.

    Attributes
    ----------
    anchor
        The treatment kind whose first course is day 0 (``"ahsct"``).
    n_treated
        Courses of that kind in the cohort (0: nothing to show).
    trajectories
        EDSS in years from day 0 and the mean by half-year (``None`` without courses).
    relapses, mri
        Relapse rates and MRI activity before and after day 0, ``None`` when they could not
        be computed (the reason is in ``notes``).
    notes
        Why a part is missing.
    """

    anchor: str
    n_treated: int
    trajectories: EDSSTrajectories | None
    relapses: RelapseRates | None
    mri: MRIActivity | None
    notes: tuple[str, ...]

    def summary(self) -> str:
        """The relapse and MRI summaries, and what is missing."""
        lines = [f"Disease course around the first {self.anchor} course ({self.n_treated})"]
        if self.relapses is not None:
            lines.append(self.relapses.summary())
        if self.mri is not None:
            lines.append(self.mri.summary())
        lines += [f"  not available: {n}" for n in self.notes]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def disease_course(
    cohort: Cohort, *, anchor: str = "ahsct", years_before: float = 2.0, years_after: float = 5.0
) -> DiseaseCourse:
    """EDSS trajectories, relapse rates and MRI activity around the first ``anchor`` course.

    A part that cannot be computed (no assessments around treatment, no relapse follow-up,
    no scans) is ``None``, with the reason in :attr:`DiseaseCourse.notes`; nothing is
    silently left out.
    """
    treated = int((cohort.treatments["kind"] == anchor).sum())
    if treated == 0:
        return DiseaseCourse(anchor, 0, None, None, None, ())
    notes: list[str] = []
    traj = edss_trajectories(cohort, anchor, years_before=years_before, years_after=years_after)
    if not len(traj.bins):
        notes.append("EDSS trajectories: too few assessments around treatment.")
    rates: RelapseRates | None = None
    mri: MRIActivity | None = None
    try:
        rates = relapse_rates(cohort, anchor=anchor)
    except ValueError as exc:
        notes.append(f"Relapse rates: {exc}")
    try:
        mri = mri_activity(cohort, anchor=anchor)  # type: ignore[arg-type]
    except ValueError as exc:
        notes.append(f"MRI activity: {exc}")
    return DiseaseCourse(anchor, treated, traj, rates, mri, tuple(notes))
