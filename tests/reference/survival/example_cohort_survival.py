"""Survival after AHSCT in the bundled example cohort, as a time/event table for R.

Run from the repository root (it writes ``example_cohort_survival.csv`` beside itself):
    .venv/bin/python tests/reference/survival/example_cohort_survival.py

Day 0 is each patient's first AHSCT ``start_date``. ``time_days`` runs to the death date or,
for patients alive, to their last record of any kind. ``event`` is 1 for death from any
cause; ``status`` separates transplant-related deaths (1) from other deaths (2) for the
competing-risks reference (0 = alive). ``sex`` is carried along for grouped analyses.
tests/stats/test_survival_reference.py checks that the CSV still matches this
derivation, so the R reference cannot drift from the bundled data.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from msreboot.data import Cohort
from msreboot.datasets import load_example

OUTPUT = Path(__file__).with_name("example_cohort_survival.csv")


def _last_record(cohort: Cohort) -> pd.Series:
    dates = []
    for name, frame in cohort.tables.items():
        if name == "patients" or frame.empty:
            continue
        for col in frame.columns:
            if col.endswith("_date") or col == "date":
                dates.append(frame[["patient_id", col]].rename(columns={col: "when"}))
    stacked = pd.concat(dates, ignore_index=True).dropna(subset=["when"])
    return stacked.groupby("patient_id")["when"].max()


def example_cohort_survival(cohort: Cohort | None = None) -> pd.DataFrame:
    """One row per transplanted patient: patient_id, sex, time_days, event, status."""
    cohort = load_example() if cohort is None else cohort
    treatments = cohort.treatments
    day0 = treatments[treatments["kind"] == "ahsct"].groupby("patient_id")["start_date"].min()
    deaths = cohort.deaths.set_index("patient_id").reindex(day0.index)
    last = _last_record(cohort).reindex(day0.index)
    died = deaths["date"].notna()
    end = deaths["date"].where(died, last)
    related = deaths["transplant_related"].fillna(False).astype(bool)
    sex = cohort.patients.set_index("patient_id")["sex"].reindex(day0.index)
    out = pd.DataFrame(
        {
            "patient_id": day0.index.astype(str),
            "sex": sex.astype(str).to_numpy(),
            "time_days": (end - day0).dt.days.astype("int64").to_numpy(),
            "event": died.astype("int64").to_numpy(),
            "status": (died.astype("int64") * (2 - related.astype("int64"))).to_numpy(),
        }
    )
    return out.sort_values("patient_id", ignore_index=True)


if __name__ == "__main__":
    example_cohort_survival().to_csv(OUTPUT, index=False)
