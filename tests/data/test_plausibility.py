"""Plausibility warnings: located, reported, and never stopping a valid cohort from loading."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from msreboot.data import Cohort, validate
from msreboot.datasets import load_example
from tests.conftest import tiny_tables

Tables = dict[str, pd.DataFrame]


def _edss_jump(t: Tables) -> None:
    t["edss"].loc[2, ["date", "edss"]] = ["2015-12-20", "7.0"]  # 3.5 up in 19 days


def _edss_gap(t: Tables) -> None:
    t["edss"].loc[2, "date"] = "2018-06-01"  # 2.5 years after the visit before


def _fatal_without_death(t: Tables) -> None:
    t["adverse_events"].loc[0, "grade"] = "5"  # A1 has no death row


def _relapse_at_reinfusion(t: Tables) -> None:
    t["relapses"].loc[0, ["onset_date", "end_date"]] = ["2015-06-10", ""]  # A1's day 0


def _late_engraftment(t: Tables) -> None:
    t["treatments"].loc[1, ["engraftment_date", "discharge_date"]] = ["2015-08-20", "2015-08-28"]


@pytest.mark.parametrize(
    ("change", "table", "row", "patient", "column", "words"),
    [
        (_edss_jump, "edss", 3, "A1", "edss", "EDSS changed by 3.5 points within 19 days"),
        (_edss_gap, "edss", 3, "A1", "date", "no EDSS assessment of this patient in the 2.5"),
        (_fatal_without_death, "adverse_events", 1, "A1", "grade", "no row in the deaths"),
        (_relapse_at_reinfusion, "relapses", 1, "A1", "onset_date", "day of an AHSCT"),
        (_late_engraftment, "treatments", 2, "A1", "engraftment_date", "engraftment 71 days"),
    ],
    ids=["edss-jump", "follow-up-gap", "fatal-ae", "relapse-day-0", "late-engraftment"],
)
def test_each_warning_is_located(
    change: Callable[[Tables], None],
    table: str,
    row: int,
    patient: str,
    column: str,
    words: str,
) -> None:
    tables = tiny_tables()
    change(tables)
    report = validate(tables)
    assert report.ok, report.summary()
    warnings = [p for p in report.problems if p.severity == "warning"]
    assert len(warnings) == 1, [w.describe() for w in warnings]
    found = warnings[0]
    assert (found.table, found.row, found.patient_id, found.column) == (
        table,
        row,
        patient,
        column,
    )
    assert words in found.problem
    assert Cohort.from_frames(tables).warnings == (found,)


def test_the_valid_tiny_cohort_and_the_example_have_none() -> None:
    assert validate(tiny_tables()).problems == ()
    assert load_example().warnings == ()


def test_day_based_cohorts_are_checked_too() -> None:
    tables = tiny_tables()
    for name, frame in tables.items():
        for col in frame.columns:
            if col.endswith("_date") or col == "date":
                parsed = pd.to_datetime(frame[col], errors="coerce")
                days = (parsed - pd.Timestamp("2000-01-01")).dt.days
                frame[col] = days.map(lambda d: "" if pd.isna(d) else str(int(d)))
        tables[name] = frame
    _late_engraftment_days(tables)
    report = validate(tables, time_unit="day")
    assert report.ok, report.summary()
    assert any("engraftment 71 days" in p.problem for p in report.problems)


def _late_engraftment_days(t: Tables) -> None:
    start = int(t["treatments"].loc[1, "start_date"])
    t["treatments"].loc[1, ["engraftment_date", "discharge_date"]] = [
        str(start + 71),
        str(start + 79),
    ]
