"""Staggered entry and an analysis at a calendar time (administrative censoring).

With ``accrual_years = A`` in a spec, patients enter uniformly over ``[0, A]`` years from
the first patient's entry; the analysis is at ``analysis_years = T`` on the same calendar
(default ``A + follow_up_years``: every patient followed for ``follow_up_years``). Patient
``i``, entering at ``e_i``, is followed for ``min(follow_up_years, T - e_i)`` years: what
was recorded after that is not yet known at the analysis, and is removed from the
replicate's tables (rows that happen later are dropped, later dates of a kept row become
missing), as a database locked at ``T`` would show. Each patient's course does not
depend on when the analysis is (the course is simulated to ``follow_up_years``, then
cut), so a later analysis only reveals more of the same patients.

Entry times are drawn from ``SeedSequence(seed, spawn_key=(2**31 - 2, r, a, k[, j]))``
for sub-cohort ``(a, k[, j])`` of replicate ``r``: patient ``i`` of a sub-cohort enters
at the same time at every trial size (common random numbers for the power curve), and
without accrual nothing is drawn and nothing changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from msreboot.data import SCHEMA, Cohort

__all__ = ["ACCRUAL_SPAWN_KEY", "censor_administratively", "entry_years", "follow_up_days"]

ACCRUAL_SPAWN_KEY = 2**31 - 2
"""First spawn-key entry of the entry times (apart from every replicate's patients)."""
DAYS_PER_YEAR = 365.25


def entry_years(seed: int, key: Sequence[int], n: int, accrual_years: float) -> np.ndarray:
    """Entry times (years from the first entry) of ``n`` patients, uniform on
    ``[0, accrual_years]``; patient ``i`` gets the ``i``-th draw whatever ``n``."""
    sequence = np.random.SeedSequence(seed, spawn_key=(ACCRUAL_SPAWN_KEY, *key))
    return np.random.default_rng(sequence).random(n) * accrual_years


def follow_up_days(entry: np.ndarray, follow_up_years: float, analysis_years: float) -> np.ndarray:
    """Whole days of follow-up at the analysis: ``min(follow_up_years, analysis_years -
    entry)`` years, at least 0."""
    years = np.clip(np.minimum(follow_up_years, analysis_years - entry), 0.0, None)
    return np.floor(years * DAYS_PER_YEAR + 1e-9).astype(np.int64)


def censor_administratively(cohort: Cohort, days: pd.Series) -> Cohort:
    """The cohort as known at the analysis: each patient's records up to ``days`` (index
    ``patient_id``; day-based cohort, day 0 at entry).

    A row whose own date (the table's event date: a visit, a relapse onset, a treatment's
    start, a death) is after the patient's cut is dropped; a kept row's later dates (a
    relapse's end, a transplant's discharge) become missing.
    """
    if cohort.time_unit != "day":
        raise ValueError(f"the cohort must be day-based; got time_unit {cohort.time_unit!r}.")
    tables: dict[str, pd.DataFrame] = {}
    for name, table in cohort.tables.items():
        spec = SCHEMA[name]
        if not len(table) or name == "patients":
            tables[name] = table
            continue
        cut = table["patient_id"].map(days).to_numpy(dtype=float)
        if np.isnan(cut).any():
            bad = table["patient_id"][np.isnan(cut)].iloc[0]
            raise ValueError(f"{name}: patient_id {bad!r} has no follow-up at the analysis.")
        keep = np.ones(len(table), dtype=bool)
        if spec.event_date is not None:
            own = table[spec.event_date].to_numpy(dtype=float, na_value=np.nan)
            keep = ~(own > cut)
        out = table[keep].copy() if not keep.all() else table.copy()
        for column in spec.date_columns:
            if column == spec.event_date or column not in out:
                continue
            later = out[column].to_numpy(dtype=float, na_value=np.nan) > cut[keep]
            if later.any():
                out.loc[later, column] = pd.NA
        tables[name] = out.reset_index(drop=True)
    return Cohort.from_canonical(tables, "day")
