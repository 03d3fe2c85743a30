"""A descriptive summary of a cohort: who, which treatments, how much follow-up."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from msreboot.data._cohort import Cohort


__all__ = ["CohortSummary", "days_between", "describe_cohort"]

DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class CohortSummary:
    """Descriptive figures of a cohort, as (section, item, value) rows.

    Attributes
    ----------
    rows
        ``(section, item, value)`` triples in display order; ``value`` is formatted text.
    """

    rows: tuple[tuple[str, str, str], ...]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.rows), columns=["section", "item", "value"])

    def summary(self) -> str:
        lines: list[str] = []
        section = None
        width = max((len(item) for _, item, _ in self.rows), default=0)
        for sec, item, value in self.rows:
            if sec != section:
                lines.append(sec)
                section = sec
            lines.append(f"  {item.ljust(width)}  {value}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><td>{html.escape(s)}</td><td>{html.escape(i)}</td><td>{html.escape(v)}</td></tr>"
            for s, i, v in self.rows
        )
        return f"<table><tr><th>section</th><th>item</th><th>value</th></tr>{body}</table>"


def days_between(later: pd.Series, earlier: pd.Series) -> pd.Series:
    """Whole days from ``earlier`` to ``later`` (calendar dates or day numbers), as float."""
    diff = later - earlier
    if pd.api.types.is_timedelta64_dtype(diff.dtype):
        return diff.dt.days.astype("float64")
    return diff.astype("float64")


def _median_iqr(values: pd.Series, digits: int = 1) -> str:
    values = values.dropna().astype("float64")
    if values.empty:
        return "n/a"
    q1, med, q3 = np.percentile(values, [25, 50, 75])
    return f"{med:.{digits}f} [{q1:.{digits}f}-{q3:.{digits}f}] (n={len(values)})"


def _counts(values: pd.Series, total: int) -> str:
    counts = values.fillna("missing").value_counts()
    if counts.empty:
        return "none"
    return ", ".join(f"{k} {v} ({100 * v / total:.0f}%)" for k, v in counts.items())


def birth_dates(cohort: Cohort) -> pd.Series:
    """Each patient's birth date (row order of the patients table); a birth year alone is
    taken as 1 July of that year."""
    p = cohort.patients
    birth = p["birth_date"]
    if cohort.time_unit == "date":
        from_year = pd.to_datetime(
            p["birth_year"]
            .astype("float64")
            .map(lambda y: f"{int(y)}-07-01" if pd.notna(y) else None)
        )
        birth = birth.fillna(from_year)
    return birth


def describe_cohort(cohort: Cohort) -> CohortSummary:
    """Describe a cohort: patients, treatments, EDSS follow-up, relapses, MRI, safety.

    Follow-up is measured from each patient's first to last EDSS visit; ages are at the
    first AHSCT when the patient had one, else at the first EDSS visit (needs birth dates;
    birth years are taken as 1 July).

    Examples
    --------
    >>> from msreboot.datasets import load_example
    >>> print(describe_cohort(load_example()).summary())  # doctest: +ELLIPSIS
    Patients
      patients...300
    ...
    """
    rows: list[tuple[str, str, str]] = []
    p, tr, edss = cohort.patients, cohort.treatments, cohort.edss
    n = len(p)
    add = rows.append
    add(("Patients", "patients", str(n)))
    add(("Patients", "phenotype", _counts(p["phenotype"], n)))
    add(("Patients", "sex", _counts(p["sex"], n)))
    ahsct = tr[tr["kind"] == "ahsct"]
    first_ahsct = ahsct.groupby("patient_id")["start_date"].min()
    first_edss = edss.groupby("patient_id")["date"].min()
    index_date = p["patient_id"].map(first_ahsct).fillna(p["patient_id"].map(first_edss))
    age = days_between(index_date, birth_dates(cohort)) / DAYS_PER_YEAR
    add(("Patients", "age at index, years", _median_iqr(age)))
    if p["onset_date"].notna().any():
        duration = days_between(index_date, p["onset_date"]) / DAYS_PER_YEAR
        add(("Patients", "disease duration at index, years", _median_iqr(duration)))
    for kind in ("ahsct", "msc", "dmt"):
        courses = tr[tr["kind"] == kind]
        if len(courses):
            add(
                (
                    "Treatments",
                    f"{kind} courses (patients)",
                    f"{len(courses)} ({courses['patient_id'].nunique()})",
                )
            )
    if len(ahsct):
        add(
            (
                "Treatments",
                "AHSCT conditioning intensity",
                _counts(ahsct["conditioning_intensity"], len(ahsct)),
            )
        )
        add(
            (
                "Treatments",
                "AHSCT CD34-selected graft",
                _counts(ahsct["cd34_selected"].astype("string"), len(ahsct)),
            )
        )
        add(
            (
                "Treatments",
                "days to neutrophil engraftment",
                _median_iqr(days_between(ahsct["engraftment_date"], ahsct["start_date"]), 0),
            )
        )
        add(
            (
                "Treatments",
                "days in hospital",
                _median_iqr(days_between(ahsct["discharge_date"], ahsct["admission_date"]), 0),
            )
        )
    per_patient = edss.groupby("patient_id")["date"]
    follow_up = days_between(per_patient.max(), per_patient.min()) / DAYS_PER_YEAR
    add(("Follow-up", "EDSS visits", str(len(edss))))
    add(("Follow-up", "visits per patient", _median_iqr(per_patient.size(), 0)))
    add(("Follow-up", "EDSS follow-up, years", _median_iqr(follow_up)))
    first_score = edss.groupby("patient_id")["edss"].first()
    add(("Follow-up", "first EDSS", _median_iqr(first_score)))
    person_years = float(follow_up.sum())
    n_rel = len(cohort.relapses)
    rate = f"{n_rel / person_years:.2f}" if person_years > 0 else "n/a"
    add(("Activity", "relapses (per person-year of EDSS follow-up)", f"{n_rel} ({rate})"))
    mri = cohort.mri
    active = (mri["gd_lesions"].fillna(0) > 0) | (mri["new_t2_lesions"].fillna(0) > 0)
    share = f"{100 * active.mean():.0f}%" if len(mri) else "n/a"
    add(("Activity", "MRI scans (with activity)", f"{len(mri)} ({share})"))
    ae = cohort.adverse_events
    add(("Safety", "adverse events", f"{len(ae)} in {ae['patient_id'].nunique()} patients"))
    if len(ae):
        add(("Safety", "by category", _counts(ae["category"], len(ae))))
    deaths = cohort.deaths
    trm = int(deaths["transplant_related"].fillna(False).sum())
    add(("Safety", "deaths (transplant-related)", f"{len(deaths)} ({trm})"))
    if len(first_ahsct):
        death_day = days_between(deaths["date"], deaths["patient_id"].map(first_ahsct))
        within = int(((death_day >= 0) & (death_day <= 100)).sum())
        add(
            (
                "Safety",
                "deaths within 100 days of AHSCT",
                f"{within} of {len(first_ahsct)} ({100 * within / len(first_ahsct):.1f}%)",
            )
        )
    add(("Dates", "time unit", _time_unit_text(cohort)))
    return CohortSummary(tuple(rows))


def _time_unit_text(cohort: Cohort) -> str:
    if cohort.time_unit == "day":
        return "whole days from each patient's origin"
    policy = {
        None: "partial dates refused",
        "first": "partial dates completed to the first day of the month or year",
        "mid": "partial dates completed to the 15th of the month or 1 July",
    }[cohort.partial_dates]
    return f"calendar dates; {policy}"
