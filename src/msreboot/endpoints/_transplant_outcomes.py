"""Outcomes of the first AHSCT course: engraftment, hospital stay, adverse events, survival, TRM."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from msreboot.data import DAYS_PER_YEAR, Cohort, days_between
from msreboot.endpoints._transplant import (
    TransplantMortality,
    _last_contact,
    first_course_start,
    transplant_mortality,
)
from msreboot.endpoints._transplant_adverse_events import (
    PHASES,
    Phase,
    count_events,
    excluded_events,
    outcome_masks,
    phased_events,
)
from msreboot.stats import (
    LandmarkEstimates,
    SurvivalCurve,
    as_landmarks,
    check_conf_level,
    kaplan_meier,
)

__all__ = ["DaysSummary", "TransplantOutcomes", "transplant_outcomes"]

_COURSE_START_COLUMNS = ("mobilisation_date", "conditioning_start_date", "admission_date")


@dataclass(frozen=True)
class DaysSummary:
    """Whole days per patient, described: median, quartiles, range and how many are missing.

    Attributes
    ----------
    n
        Patients with a value.
    n_missing
        Patients without one (a date not recorded).
    median, q1, q3, minimum, maximum
        In days; quartiles as R's default ``quantile`` (type 7, linear). ``nan`` when
        ``n == 0``.
    """

    n: int
    n_missing: int
    median: float
    q1: float
    q3: float
    minimum: float
    maximum: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "n": self.n,
                    "n_missing": self.n_missing,
                    "median": self.median,
                    "q1": self.q1,
                    "q3": self.q3,
                    "min": self.minimum,
                    "max": self.maximum,
                }
            ]
        )

    def summary(self) -> str:
        if self.n == 0:
            return f"no values ({self.n_missing} missing)"
        return (
            f"median {self.median:g} (IQR {self.q1:g}-{self.q3:g}, range {self.minimum:g}-"
            f"{self.maximum:g}), {self.n} patients, {self.n_missing} missing"
        )

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(self.summary())}</p>"


def _describe_days(days: pd.Series[float], n_missing: int | None = None) -> DaysSummary:
    values = days.dropna().to_numpy(dtype=float)
    missing = int(days.isna().sum()) if n_missing is None else n_missing
    if values.size == 0:
        nan = float("nan")
        return DaysSummary(0, missing, nan, nan, nan, nan, nan)
    q1, med, q3 = (float(q) for q in np.percentile(values, [25, 50, 75]))
    return DaysSummary(
        int(values.size), missing, med, q1, q3, float(values.min()), float(values.max())
    )


@dataclass(frozen=True, eq=False)
class TransplantOutcomes:
    """Outcomes of each patient's first AHSCT course (day 0 = reinfusion).

    Attributes
    ----------
    n_transplanted
        Patients with an AHSCT course: the denominator of every proportion.
    early_days
        Last day of the early phase (day 0 to ``early_days``, inclusive) and the TRM window.
    conf_level
        Level of every interval.
    per_patient
        One row per patient: ``reinfusion_date`` (day 0), ``course_start_day`` (first of
        mobilisation, conditioning and admission, in days from day 0; usually negative),
        ``engraftment_days``, ``platelet_engraftment_days``, ``hospital_days``, adverse
        events per phase
        (``ae_pre_reinfusion``, ``ae_early``, ``ae_late``) and of grade >= 3
        (``ae_grade_3_plus_<phase>``), ``secondary_autoimmunity_onset_days`` (first onset on
        or after day 0), ``follow_up_days`` (to death or last contact) and ``died``.
    engraftment
        Days from reinfusion to neutrophil engraftment.
    platelet_engraftment
        Days from reinfusion to platelet engraftment (``platelet_engraftment_date``).
    hospital_stay
        Days in hospital, admission to discharge, both days counted.
    adverse_events
        Any adverse event, grade >= 3 and serious: one row per outcome and phase with
        ``events``, ``patients`` (with at least one), ``n`` (denominator), ``n_followed``
        (patients observed in the phase), ``proportion`` = patients / n with its exact
        interval ``ci_low``, ``ci_high``, and ``grade_3_plus_events`` /
        ``grade_3_plus_patients``.
    adverse_events_by_category
        The same per category: the four named ones (infection, febrile neutropenia, viral
        reactivation, secondary autoimmunity) always, others when they occur.
    adverse_events_by_grade
        The same per CTCAE grade 1-5 (and ``grade missing`` when some are).
    viral_reactivations
        Viral reactivations by pathogen (EBV, CMV, VZV always; others as recorded,
        upper-cased; ``unspecified`` when no pathogen is recorded).
    infections_by_grade
        Infections per grade and of grade >= 3.
    secondary_autoimmunity_onset
        Days from day 0 to the first secondary autoimmunity, among patients who had one
        (``n_missing`` is 0: patients without one are not missing).
    excluded_adverse_events
        Adverse events counted in no phase, with the reason and the number of events.
    overall_survival
        Kaplan-Meier curve of survival from day 0, in years.
    survival_at
        The curve read at ``times_years``, with intervals and numbers at risk.
    mortality
        Transplant-related mortality within ``early_days`` (see ``transplant_mortality``).
    """

    n_transplanted: int
    early_days: int
    conf_level: float
    per_patient: pd.DataFrame = field(repr=False)
    engraftment: DaysSummary
    platelet_engraftment: DaysSummary
    hospital_stay: DaysSummary
    adverse_events: pd.DataFrame = field(repr=False)
    adverse_events_by_category: pd.DataFrame = field(repr=False)
    adverse_events_by_grade: pd.DataFrame = field(repr=False)
    viral_reactivations: pd.DataFrame = field(repr=False)
    infections_by_grade: pd.DataFrame = field(repr=False)
    secondary_autoimmunity_onset: DaysSummary
    excluded_adverse_events: pd.DataFrame = field(repr=False)
    overall_survival: SurvivalCurve = field(repr=False)
    survival_at: LandmarkEstimates = field(repr=False)
    mortality: TransplantMortality

    def _ae_tables(self) -> list[tuple[pd.DataFrame, bool]]:
        """The adverse-event tables, each with whether its grade >= 3 counts are reported."""
        return [
            (self.adverse_events, True),
            (self.adverse_events_by_category, True),
            (self.adverse_events_by_grade, False),
            (self.viral_reactivations, False),
            (self.infections_by_grade, False),
        ]

    def to_frame(self) -> pd.DataFrame:
        """Every number as one tidy table: outcome, phase, statistic, value, ci_low, ci_high, n.

        ``n`` is what the statistic rests on: patients with a value (days), the
        denominator (adverse events, TRM) or the number at risk (survival at a landmark).
        Day statistics have phase ``course``; survival ``post_reinfusion``; TRM ``early``.
        """
        rows: list[dict[str, Any]] = []
        nan = float("nan")

        def add(
            outcome: str,
            phase: str,
            stat: str,
            value: float,
            n: int,
            lo: float = nan,
            hi: float = nan,
        ) -> None:
            rows.append(
                {
                    "outcome": outcome,
                    "phase": phase,
                    "statistic": stat,
                    "value": float(value),
                    "ci_low": lo,
                    "ci_high": hi,
                    "n": int(n),
                }
            )

        days = (
            ("neutrophil engraftment, days", "course", self.engraftment),
            ("platelet engraftment, days", "course", self.platelet_engraftment),
            ("days in hospital", "course", self.hospital_stay),
            (
                "secondary_autoimmunity onset, days",
                "post_reinfusion",
                self.secondary_autoimmunity_onset,
            ),
        )
        for outcome, phase, d in days:
            for stat, value in (
                ("median", d.median),
                ("q1", d.q1),
                ("q3", d.q3),
                ("min", d.minimum),
                ("max", d.maximum),
            ):
                add(outcome, phase, stat, value, d.n)
            add(outcome, phase, "missing", d.n_missing, d.n + d.n_missing)
        for table, with_grade3 in self._ae_tables():
            for row in table.to_dict("records"):
                out, ph, n = str(row["outcome"]), str(row["phase"]), int(row["n"])
                add(out, ph, "events", row["events"], n)
                add(out, ph, "patients", row["patients"], n)
                add(out, ph, "proportion", row["proportion"], n, row["ci_low"], row["ci_high"])
                if with_grade3:
                    add(out, ph, "grade_3_plus_events", row["grade_3_plus_events"], n)
                    add(out, ph, "grade_3_plus_patients", row["grade_3_plus_patients"], n)
        s = self.survival_at
        for t, e, lo, hi, n_risk in zip(
            s.times, s.estimate, s.ci_low, s.ci_high, s.n_at_risk, strict=True
        ):
            add("overall survival", "post_reinfusion", f"survival_{t:g}y", e, n_risk, lo, hi)
        med = self.overall_survival.median()
        add(
            "overall survival",
            "post_reinfusion",
            "median_years",
            med.estimate,
            self.n_transplanted,
            med.ci_low,
            med.ci_high,
        )
        m = self.mortality
        trm = "transplant-related mortality"
        add(trm, "early", "deaths", m.deaths_within_window, m.n_transplanted)
        add(trm, "early", "proportion", m.proportion, m.n_transplanted, m.ci_low, m.ci_high)
        add(
            trm, "early", "transplant_related_deaths", m.transplant_related_deaths, m.n_transplanted
        )
        return pd.DataFrame(rows)

    def _ae_text(self) -> str:
        """Patients (%) / events per outcome (rows) and phase (columns)."""
        frame = pd.concat([t for t, _ in self._ae_tables()], ignore_index=True)
        cell = (
            frame["patients"].astype(str)
            + " ("
            + (100 * frame["proportion"]).map("{:.1f}%".format)
            + ") / "
            + frame["events"].astype(str)
        )
        wide = (
            frame.assign(cell=cell)
            .pivot(index="outcome", columns="phase", values="cell")
            .reindex(index=pd.unique(frame["outcome"]), columns=list(PHASES))
        )
        wide.columns = pd.Index(
            [
                "before day 0",
                f"day 0-{self.early_days}",
                f"after day {self.early_days}",
                "day 0 on",
            ]
        )
        wide.index.name = None
        return wide.to_string()

    def summary(self) -> str:
        pct = f"{100 * self.conf_level:g}%"
        lines = [
            f"AHSCT outcomes of the first course: {self.n_transplanted} patients "
            "(day 0 = reinfusion)",
            f"Neutrophil engraftment, days after day 0: {self.engraftment.summary()}",
            "Platelet engraftment, days after day 0: "
            + (
                self.platelet_engraftment.summary()
                if self.platelet_engraftment.n
                else "not recorded for any patient"
            ),
            "Days in hospital (admission to discharge, both days counted): "
            + self.hospital_stay.summary(),
            f"Adverse events: patients with >= 1 (% of {self.n_transplanted}) / events "
            f"(exact {pct} CIs in to_frame())",
            self._ae_text(),
        ]
        onset = self.secondary_autoimmunity_onset
        if onset.n:
            lines.append(f"Secondary autoimmunity onset, days after day 0: {onset.summary()}")
        if len(self.excluded_adverse_events):
            parts = [
                f"{row.events} {row.reason}" for row in self.excluded_adverse_events.itertuples()
            ]
            lines.append("Adverse events not counted: " + "; ".join(parts))
        s = self.survival_at
        marks = [
            f"{t:g} y {_pct(e)} ({_pct(lo)}-{_pct(hi)}), {n} at risk"
            for t, e, lo, hi, n in zip(
                s.times, s.estimate, s.ci_low, s.ci_high, s.n_at_risk, strict=True
            )
        ]
        lines.append(
            f"Overall survival (Kaplan-Meier, {pct} CI {s.conf_type}; "
            f"{self.overall_survival.total_events} deaths): " + "; ".join(marks)
        )
        lines.append(self.mortality.summary())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def _pct(value: float) -> str:
    return "NA" if not np.isfinite(value) else f"{100 * value:.1f}%"


def _first_courses(cohort: Cohort) -> tuple[pd.Series[Any], pd.DataFrame]:
    """Day 0 of each patient's first AHSCT course and that course's row."""
    day0 = first_course_start(cohort, "ahsct")
    courses = cohort.treatments[cohort.treatments["kind"] == "ahsct"]
    first = (
        courses.sort_values(["patient_id", "start_date"], kind="stable")
        .drop_duplicates("patient_id")
        .set_index("patient_id")
        .reindex(day0.index)
    )
    return day0, first


def transplant_outcomes(
    cohort: Cohort,
    *,
    early_days: int = 100,
    conf_level: float = 0.95,
    times_years: Sequence[float] = (1, 2, 3, 4, 5),
) -> TransplantOutcomes:
    """Outcomes of each patient's first AHSCT course, counted from reinfusion (day 0).

    Parameters
    ----------
    cohort
        A validated cohort with AHSCT courses (``treatments.kind == "ahsct"``), calendar
        dates or day numbers.
    early_days
        Last day of the early phase (inclusive), in days after reinfusion; also the TRM
        window. 100 is the convention of the transplant literature.
    conf_level
        Level of the exact binomial intervals and the survival intervals.
    times_years
        Years after day 0 at which overall survival is read.

    Returns
    -------
    TransplantOutcomes

    Raises
    ------
    ValueError
        The cohort has no AHSCT course, or an argument is out of range.

    Notes
    -----
    Day 0 is the first AHSCT ``start_date`` of each patient; a second course is not a new
    origin (its events count from the first day 0), as in ``transplant_mortality``.

    *Engraftment*: ``engraftment_date - start_date`` in days (neutrophils), and
    ``platelet_engraftment_date - start_date`` (platelets). *Days in hospital*:
    ``discharge_date - admission_date + 1``: the admission and the discharge day both
    count (a stay of one night is 2 days; the usual length-of-stay count of nights is
    one less). A missing date (for example, death before engraftment or in hospital)
    makes the value missing; missing values are counted and left out of the median.

    *Adverse events* are placed by onset in one phase: ``pre_reinfusion`` from the start
    of the course (the first of mobilisation, conditioning and admission dates) to day -1,
    which captures mobilisation and conditioning toxicity; ``early`` day 0 to
    ``early_days``; ``late`` after ``early_days`` to the end of follow-up;
    ``post_reinfusion`` is early and late together. Events before the course began (for
    example under an earlier DMT), before day 0 when the course has no start date
    recorded, and of patients without an AHSCT course are counted in no phase and listed
    in ``excluded_adverse_events``. Every transplanted patient is in every denominator,
    with zero events if none were recorded, as published proportions are; ``n_followed``
    gives the patients observed in the phase (with a course start date; followed beyond
    ``early_days`` for ``late``), so late proportions are crude, not time-to-event
    estimates. A missing grade is not grade >= 3; a missing ``serious`` is not serious.
    Intervals are Clopper-Pearson (``exact_binomial_ci``).

    *Overall survival* runs from day 0 to death, censored at the last dated record of any
    kind; years are 365.25 days. Kaplan-Meier with log-log intervals
    (``kaplan_meier``); landmarks after the last follow-up time are ``nan``.

    In a day-based cohort (``time_unit == "day"``) every date is a day number and the
    same differences apply.

    Examples
    --------
    >>> from msreboot.datasets import load_example
    >>> result = transplant_outcomes(load_example())
    >>> print(result.summary())  # doctest: +ELLIPSIS
    AHSCT outcomes of the first course: ... patients (day 0 = reinfusion)
    Neutrophil engraftment, days after day 0: median ... (IQR ..., range ...), ... missing
    ...
    >>> result.adverse_events_by_category["outcome"].unique().tolist()  # doctest: +ELLIPSIS
    ['infection', 'febrile_neutropenia', 'viral_reactivation', 'secondary_autoimmunity'...]
    """
    if isinstance(early_days, bool) or not isinstance(early_days, int | np.integer):
        raise ValueError(f"early_days must be a whole number of days; got {early_days!r}.")
    if early_days < 0:
        raise ValueError(f"early_days must be >= 0; got {early_days}.")
    early_days = int(early_days)
    conf_level = check_conf_level(conf_level)
    landmarks = as_landmarks(times_years, name="times_years")

    day0, first = _first_courses(cohort)
    ids = day0.index
    n = len(ids)
    engraftment = days_between(first["engraftment_date"], day0)
    platelets = days_between(first["platelet_engraftment_date"], day0)
    hospital = days_between(first["discharge_date"], first["admission_date"]) + 1
    course_start = pd.concat(
        [days_between(first[c], day0) for c in _COURSE_START_COLUMNS], axis=1
    ).min(axis=1)

    last = days_between(_last_contact(cohort).reindex(ids), day0)
    death = days_between(cohort.deaths.set_index("patient_id")["date"].reindex(ids), day0)
    died = death.notna()
    follow_up = death.where(died, last)

    events = phased_events(cohort, day0, course_start, early_days)
    n_followed: dict[Phase, int] = {
        "pre_reinfusion": int(course_start.notna().sum()),
        "early": n,
        "late": int((follow_up > early_days).sum()),
        "post_reinfusion": n,
    }
    tables = {
        name: count_events(events, masks, n, n_followed, conf_level)
        for name, masks in outcome_masks(events).items()
    }

    counted = events[events["phase"].isin(PHASES)]
    per_phase = counted.groupby(["patient_id", "phase"]).size().unstack(fill_value=0)
    grade3 = counted[counted["grade"] >= 3].groupby(["patient_id", "phase"]).size()
    grade3_wide = grade3.unstack(fill_value=0) if len(grade3) else pd.DataFrame()
    autoimmune = (
        counted[(counted["category"] == "secondary_autoimmunity") & (counted["day"] >= 0)]
        .groupby("patient_id")["day"]
        .min()
    )

    per_patient = pd.DataFrame(
        {
            "patient_id": pd.array(ids.to_numpy(dtype=object), dtype="string"),
            "reinfusion_date": day0.to_numpy(),
            "course_start_day": course_start.to_numpy(dtype=float),
            "engraftment_days": engraftment.to_numpy(dtype=float),
            "platelet_engraftment_days": platelets.to_numpy(dtype=float),
            "hospital_days": hospital.to_numpy(dtype=float),
        }
    )
    key = ids.astype(object)
    for phase in PHASES[:3]:
        for prefix, wide in (("ae", per_phase), ("ae_grade_3_plus", grade3_wide)):
            col = wide[phase] if phase in wide.columns else pd.Series(dtype="int64")
            per_patient[f"{prefix}_{phase}"] = col.reindex(key).fillna(0).to_numpy(dtype=np.int64)
    per_patient["secondary_autoimmunity_onset_days"] = autoimmune.reindex(key).to_numpy(dtype=float)
    per_patient["follow_up_days"] = follow_up.to_numpy(dtype=float)
    per_patient["died"] = died.to_numpy(dtype=bool)

    curve = kaplan_meier(
        per_patient["follow_up_days"].to_numpy() / DAYS_PER_YEAR,
        per_patient["died"].to_numpy(),
        conf_level=conf_level,
    )
    excluded = excluded_events(events)
    return TransplantOutcomes(
        n_transplanted=n,
        early_days=early_days,
        conf_level=conf_level,
        per_patient=per_patient,
        engraftment=_describe_days(engraftment),
        platelet_engraftment=_describe_days(platelets),
        hospital_stay=_describe_days(hospital),
        adverse_events=tables["overall"],
        adverse_events_by_category=tables["category"],
        adverse_events_by_grade=tables["grade"],
        viral_reactivations=tables["viral"],
        infections_by_grade=tables["infection"],
        secondary_autoimmunity_onset=_describe_days(autoimmune, n_missing=0),
        excluded_adverse_events=excluded,
        overall_survival=curve,
        survival_at=curve.at(landmarks),
        mortality=transplant_mortality(cohort, window_days=early_days, conf_level=conf_level),
    )
