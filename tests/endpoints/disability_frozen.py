"""Frozen outputs of the disability engine on seeded random cohorts (a regression fixture).

``disability_frozen.pkl.gz`` holds every frame of :func:`detect_disability_events` (and of
:func:`time_to_milestone`, which shares the border) on the cases below, as computed by the
engine before its registry-scale rewrite. ``test_disability_frozen.py`` recomputes them
and requires identical frames (values, dtypes, column order). Regenerate only when a
change of results is intended::

    .venv/bin/python tests/endpoints/disability_frozen.py
"""

from __future__ import annotations

import gzip
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from msreboot.endpoints import (
    BaselineRule,
    ConfirmationRule,
    DisabilityDefinition,
    PIRARule,
    RelapseBuffer,
    ThresholdRule,
    detect_disability_events,
    time_to_milestone,
)

FROZEN = Path(__file__).with_name("disability_frozen.pkl.gz")


def cohort(
    seed: int, n_patients: int = 200, ids: str = "object", dates: str = "float"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """EDSS walks in shuffled row order with the awkward parts of real data: same-day
    duplicates, missing dates and values, visits not valid for confirmation, relapses on
    visit days, before the first visit and for patients without visits."""
    rng = np.random.default_rng(seed)
    n_visits = rng.integers(1, 22, n_patients)
    pid = np.repeat(np.arange(n_patients), n_visits)
    total = len(pid)
    gaps = rng.choice([0, 1, 30, 60, 77, 84, 90, 91, 120, 180, 365], total)
    day = np.zeros(total)
    for p in range(n_patients):
        rows = pid == p
        day[rows] = np.cumsum(gaps[rows]) + rng.integers(-400, 400)
    if dates == "float":
        day = day + rng.choice([0.0, 0.0, 0.0, 0.5], total)
    steps = rng.choice([-1.5, -1.0, -0.5, 0.0, 0.0, 0.5, 1.0, 1.5], total)
    edss = np.zeros(total)
    for p in range(n_patients):
        rows = pid == p
        edss[rows] = np.clip(rng.integers(0, 7) + np.cumsum(steps[rows]), 0, 10)
    value = pd.Series(edss, dtype=float)
    value[rng.random(total) < 0.02] = np.nan
    valid = rng.random(total) > 0.1
    names = np.array([f"{'XABQ'[i % 4]}{i * 7919 % 1000:03d}" for i in range(n_patients + 5)])
    if ids == "int":
        patient: Any = pd.Series(np.arange(n_patients + 5) * 37 % 1009)[pid].to_numpy()
        rel_names: Any = np.arange(n_patients + 5) * 37 % 1009
    else:
        patient, rel_names = names[pid], names
    visits = pd.DataFrame({"patient_id": patient, "date": day, "edss": value, "valid": valid})
    missing_date = rng.random(total) < 0.01
    visits.loc[missing_date, "date"] = np.nan
    n_rel = rng.poisson(1.2, n_patients + 5)
    rpid = np.repeat(np.arange(n_patients + 5), n_rel)
    first = np.array([day[pid == p].min() if (pid == p).any() else 0.0 for p in rpid])
    onset = np.floor(first + rng.uniform(-120, 2500, len(rpid)))
    on_visit = rng.random(len(rpid)) < 0.2
    for i in np.flatnonzero(on_visit):
        rows = np.flatnonzero(pid == rpid[i])
        if len(rows):
            onset[i] = np.floor(day[rng.choice(rows)])
    end = onset + rng.choice([np.nan, 10.0, 45.0, 120.0], len(rpid))
    relapses = pd.DataFrame({"patient_id": rel_names[rpid], "onset_date": onset, "end_date": end})
    if ids == "string":
        visits["patient_id"] = visits["patient_id"].astype("string")
        relapses["patient_id"] = relapses["patient_id"].astype("string")
    order = rng.permutation(total)
    visits = visits.iloc[order].reset_index(drop=True)
    if dates == "calendar":
        base = np.datetime64("2010-01-01")
        for frame, cols in ((visits, ["date"]), (relapses, ["onset_date", "end_date"])):
            for col in cols:
                frame[col] = pd.to_datetime(
                    base + frame[col].to_numpy().astype("timedelta64[D]"), errors="coerce"
                )
                frame.loc[frame[col].dt.year < 1980, col] = pd.NaT
    return visits, relapses


DEFINITIONS: dict[str, DisabilityDefinition] = {
    "default": DisabilityDefinition(),
    "all_roving_pira": DisabilityDefinition(
        "b", event="all", classify_raw_pira=True, baseline=BaselineRule(kind="roving")
    ),
    "all_two_periods": DisabilityDefinition(
        "c",
        event="all",
        classify_raw_pira=True,
        confirmation=ConfirmationRule((84, 168), tolerance_days=(7, 90), check_intermediate=False),
        baseline=BaselineRule(kind="roving_improvement", sub_threshold="event"),
        pira=PIRARule.kappos_2020(),
    ),
    "first_pira_rebaseline": DisabilityDefinition(
        "d",
        event="first_pira",
        classify_raw_pira=True,
        baseline=BaselineRule(kind="fixed", after_relapse=True, not_lower=True),
        impute_last_visit=True,
        threshold=ThresholdRule.kalincik_2015(),
    ),
    "first_sustained": DisabilityDefinition(
        "e",
        event="first",
        baseline=BaselineRule(kind="roving_worsening", skip_local_extrema="strict"),
        confirmation=ConfirmationRule(84, sustained_days=365),
        relapse_buffer=RelapseBuffer(baseline=(30, 10), event=(15, 15), confirmation=(30, 30)),
        pira=PIRARule.mueller_2025(),
        classify_raw_pira=True,
    ),
    "all_decrease": DisabilityDefinition(
        "f",
        event="all",
        direction="decrease",
        threshold=ThresholdRule.custom(lambda v: 1.0 + 0.1 * v, name="custom"),
        baseline=BaselineRule(kind="roving", proceed_from="event"),
    ),
}

CASES: dict[str, tuple[int, str, str, str, str]] = {
    # name: (seed, ids, dates, definition, anchor)
    "object_float_default": (1, "object", "float", "default", "none"),
    "object_float_all": (2, "object", "float", "all_roving_pira", "none"),
    "int_float_two": (3, "int", "int", "all_two_periods", "none"),
    "string_int_first_pira": (4, "string", "int", "first_pira_rebaseline", "none"),
    "calendar_sustained": (5, "object", "calendar", "first_sustained", "none"),
    "object_decrease": (6, "object", "float", "all_decrease", "none"),
    "anchored_all": (7, "object", "float", "all_roving_pira", "table"),
    "calendar_anchored": (8, "string", "calendar", "default", "table"),
}


def _anchor(visits: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed + 1000)
    ids = pd.unique(visits["patient_id"].dropna())
    ids = ids[rng.random(len(ids)) < 0.8]
    dates = visits.groupby("patient_id", sort=True)["date"].median()
    return pd.DataFrame({"patient_id": ids, "anchor_date": dates.reindex(ids).to_numpy()})


def run_case(name: str) -> dict[str, Any]:
    """Every output of the engine (and the milestone scan) for one case."""
    seed, ids, dates, definition, anchor = CASES[name]
    visits, relapses = cohort(seed, ids=ids, dates=dates)
    kwargs: dict[str, Any] = {"valid_col": "valid"}
    if anchor == "table":
        kwargs["anchor"] = _anchor(visits, seed)
    d = DEFINITIONS[definition]
    result = detect_disability_events(visits, relapses, d, **kwargs)
    milestone = time_to_milestone(visits, 4.0, relapses, d, **kwargs)
    return {
        "events": result.events,
        "patients": result.patients,
        "unconfirmed": result.unconfirmed,
        "excluded": result.excluded,
        "warnings": result.warnings,
        "milestone": milestone.table,
        "milestone_excluded": milestone.excluded,
    }


def frozen() -> dict[str, dict[str, Any]]:
    with gzip.open(FROZEN, "rb") as fh:
        data: dict[str, dict[str, Any]] = pickle.load(fh)  # our own fixture
    return data


def main(run: Callable[[str], dict[str, Any]] = run_case) -> None:
    data = {name: run(name) for name in CASES}
    with FROZEN.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fh:
        pickle.dump(data, fh, protocol=5)
    print(f"written {FROZEN} ({FROZEN.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
