"""Transplant-related mortality: deaths within a window of the first AHSCT reinfusion."""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from msreboot.data import Cohort, days_between
from msreboot.endpoints._patients import patient_codes, patient_index
from msreboot.stats import exact_binomial_ci

__all__ = ["TransplantMortality", "last_contact", "transplant_mortality"]


@dataclass(frozen=True)
class TransplantMortality:
    """Deaths after AHSCT, counted from each patient's first reinfusion (day 0).

    Attributes
    ----------
    n_transplanted
        Patients with at least one AHSCT course.
    deaths_within_window
        Deaths from any cause on day 0 to ``window_days`` (the usual TRM definition).
    transplant_related_deaths
        Deaths flagged ``transplant_related`` in the deaths table, at any time.
    window_days
        The window (100 days by default).
    proportion, ci_low, ci_high, conf_level
        ``deaths_within_window / n_transplanted`` with its exact (Clopper-Pearson) interval.
    short_follow_up
        Patients alive with less than ``window_days`` of follow-up after day 0 (last record
        of any kind): kept in the denominator, as published TRM figures do, so the
        proportion can be too low when there are many.
    """

    n_transplanted: int
    deaths_within_window: int
    transplant_related_deaths: int
    window_days: int
    proportion: float
    ci_low: float
    ci_high: float
    conf_level: float
    short_follow_up: int

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "n_transplanted": self.n_transplanted,
                    "deaths_within_window": self.deaths_within_window,
                    "window_days": self.window_days,
                    "proportion": self.proportion,
                    "ci_low": self.ci_low,
                    "ci_high": self.ci_high,
                    "conf_level": self.conf_level,
                    "transplant_related_deaths": self.transplant_related_deaths,
                    "short_follow_up": self.short_follow_up,
                }
            ]
        )

    def summary(self) -> str:
        pct = f"{100 * self.conf_level:g}%"
        text = (
            f"TRM (death from any cause within {self.window_days} days of AHSCT): "
            f"{self.deaths_within_window}/{self.n_transplanted} = {100 * self.proportion:.1f}% "
            f"({pct} CI {100 * self.ci_low:.1f}-{100 * self.ci_high:.1f}%, exact); "
            f"deaths classified transplant-related: {self.transplant_related_deaths}"
        )
        if self.short_follow_up:
            text += (
                f"; {self.short_follow_up} patient(s) alive with under "
                f"{self.window_days} days of follow-up"
            )
        return text

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(self.summary())}</p>"


def _contacts(cohort: Cohort) -> pd.DataFrame:
    """Every dated record of every patient: ``patient_id`` and ``when``."""
    dates = []
    for name, frame in cohort.tables.items():
        if name == "patients" or frame.empty:
            continue
        for col in frame.columns:
            if col.endswith("_date") or col == "date":
                dates.append(frame[["patient_id", col]].rename(columns={col: "when"}))
    return pd.concat(dates, ignore_index=True).dropna(subset=["when"])


def first_course_start(cohort: Cohort, kind: str) -> pd.Series:
    """Start date of each patient's first course of ``kind`` (AHSCT: reinfusion, day 0)."""
    courses = cohort.treatments[cohort.treatments["kind"] == kind]
    if courses.empty:
        raise ValueError(
            f"cohort must hold {kind.upper()} courses (treatments.kind == {kind!r}); "
            f"the cohort has no {kind} courses"
        )
    return cohort.derived(
        ("first_course_start", kind),
        lambda: courses.groupby("patient_id", observed=True)["start_date"].min(),
    ).copy()


def _last_contact(cohort: Cohort) -> pd.Series:
    """Each patient's last dated record of any kind, by ``patient_id`` (sorted), computed
    once per cohort and grouped by patient position rather than by id."""

    def compute() -> pd.Series:
        parts = []
        for name, frame in cohort.tables.items():
            if name == "patients" or frame.empty:
                continue
            codes = patient_codes(cohort, name)
            for col in frame.columns:
                if col.endswith("_date") or col == "date":
                    keep = frame[col].notna().to_numpy(dtype=bool)
                    parts.append(pd.Series(frame[col].array[keep], index=codes[keep]))
        if not parts:
            return _contacts(cohort).groupby("patient_id")["when"].max()
        last = pd.concat(parts).groupby(level=0).max()
        last.index = patient_index(cohort)[last.index.to_numpy()].rename("patient_id")
        return last.rename("when").sort_index()

    return cohort.derived(("last_contact",), compute)


def last_contact(cohort: Cohort) -> pd.Series:
    """Each patient's last dated record of any kind (every date column of every table:
    visits, relapses, scans, treatment starts, ends and discharges, adverse events, labs,
    tests, questionnaires, deaths), by ``patient_id`` (sorted; patients without any dated
    record are absent).

    One definition for the follow-up of every section: the endpoints' ``censor =
    "last_contact"``, transplant follow-up, Table 1 and the emulated trial's follow-up.
    Computed once per cohort.

    Examples
    --------
    >>> from msreboot.datasets import load_example
    >>> last_contact(load_example()).head(2)
    patient_id
    P001   2019-03-16
    P002   2018-04-01
    Name: when, dtype: datetime64[ns]
    """
    return _last_contact(cohort).copy()


def transplant_mortality(
    cohort: Cohort,
    *,
    window_days: int = 100,
    conf_level: float = 0.95,
    patients: Iterable[str] | None = None,
) -> TransplantMortality:
    """Transplant-related mortality of a cohort: deaths within ``window_days`` of AHSCT.

    Parameters
    ----------
    cohort
        A validated cohort with AHSCT courses (``treatments.kind == "ahsct"``).
    window_days
        Days after the first reinfusion (day 0, inclusive at both ends) in which a death
        counts; 100 is the convention of the AHSCT literature (e.g. Muraro 2017: 8/281).
    conf_level
        Level of the exact binomial interval.
    patients
        Count only these patients (e.g. one arm of a trial); default: every patient.

    Returns
    -------
    TransplantMortality

    Raises
    ------
    ValueError
        The cohort has no AHSCT course, or the arguments are out of range.

    Notes
    -----
    Day 0 is each patient's first AHSCT ``start_date`` (reinfusion); later transplants are
    not new origins. Every transplanted patient is in the denominator whatever their
    follow-up (the number with less than the window is reported). The interval is
    Clopper-Pearson, as R's ``binom.test``; tests check it against R.

    Examples
    --------
    >>> from msreboot.datasets import load_example
    >>> print(transplant_mortality(load_example()).summary())  # doctest: +ELLIPSIS
    TRM (death from any cause within 100 days of AHSCT): 8/180 = 4.4% (95% CI 1.9-8.6%, exact)...
    """
    if window_days < 0:
        raise ValueError(f"window_days must be >= 0; got {window_days}")
    day0 = first_course_start(cohort, "ahsct")
    if patients is not None:
        day0 = day0[day0.index.isin(list(patients))]
        if day0.empty:
            raise ValueError(
                "patients must include at least one patient with an AHSCT course; got none."
            )
    deaths = cohort.deaths.set_index("patient_id")
    death_day = days_between(deaths["date"].reindex(day0.index), day0)
    within = int(((death_day >= 0) & (death_day <= window_days)).sum())
    related = int(deaths["transplant_related"].reindex(day0.index).fillna(False).astype(bool).sum())
    followed = days_between(_last_contact(cohort).reindex(day0.index), day0)
    short = int((death_day.isna() & ~(followed >= window_days)).sum())
    n = len(day0)
    lo, hi = exact_binomial_ci(within, n, conf_level)
    return TransplantMortality(
        n_transplanted=n,
        deaths_within_window=within,
        transplant_related_deaths=related,
        window_days=window_days,
        proportion=within / n,
        ci_low=lo,
        ci_high=hi,
        conf_level=conf_level,
        short_follow_up=short,
    )
