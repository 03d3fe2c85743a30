"""Plausibility warnings: values that are valid but that a data manager will want to look at.

None of these stops loading (every one is a ``"warning"`` :class:`~msreboot.exceptions.Problem`,
located by table, row, patient and column): a real course can do each of them, but each is
more often a typing or linkage error.

- an EDSS change of 3 points or more within 30 days;
- more than 2 years between two consecutive EDSS assessments of a patient;
- a grade-5 (fatal) adverse event without a row in the deaths table;
- a relapse starting on the day of an AHSCT reinfusion;
- neutrophil engraftment more than 60 days after reinfusion.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from msreboot.data._order import in_order
from msreboot.data._schema import TimeUnit
from msreboot.exceptions import Problem

__all__ = [
    "EDSS_JUMP_DAYS",
    "EDSS_JUMP_POINTS",
    "ENGRAFTMENT_LATE_DAYS",
    "FOLLOW_UP_GAP_DAYS",
    "plausibility_warnings",
]

EDSS_JUMP_POINTS = 3.0
EDSS_JUMP_DAYS = 30
FOLLOW_UP_GAP_DAYS = 2 * 365.25
ENGRAFTMENT_LATE_DAYS = 60


def _days(later: pd.Series, earlier: pd.Series, unit: TimeUnit) -> pd.Series:
    if unit == "date":
        return (later - earlier).dt.days.astype("Float64")
    return (later.astype("Float64") - earlier.astype("Float64")).astype("Float64")


def _warnings(
    table: str, frame: pd.DataFrame, mask: pd.Series, column: str, message: pd.Series | str
) -> list[Problem]:
    hit = mask.fillna(False).astype(bool).to_numpy()
    out = []
    for row in frame.index[hit]:
        text = message if isinstance(message, str) else str(message.loc[row])
        value = frame.at[row, column]
        shown = value.date().isoformat() if isinstance(value, pd.Timestamp) else str(value)
        patient = frame.at[row, "patient_id"]
        out.append(
            replace(Problem(table, int(row), str(patient), column, shown, text), severity="warning")
        )
    return out


def _by_patient_and_date(visits: pd.DataFrame) -> pd.DataFrame:
    """Visits sorted by patient and date (stable); no sort when they already are."""
    if in_order(visits, ["patient_id", "date"]):
        return visits
    return visits.sort_values(["patient_id", "date"], kind="stable")


def _edss_jumps(edss: pd.DataFrame, unit: TimeUnit) -> list[Problem]:
    visits = _by_patient_and_date(edss.dropna(subset=["patient_id", "date", "edss"]))
    same = visits["patient_id"].eq(visits["patient_id"].shift())
    change = visits["edss"].astype(float).diff()
    gap = _days(visits["date"], visits["date"].shift(), unit)
    jump = (same & (change.abs() >= EDSS_JUMP_POINTS) & (gap <= EDSS_JUMP_DAYS)).fillna(False)
    if not jump.any():
        return []
    hit = jump.to_numpy(dtype=bool)  # messages for the rows warned about only
    message = (
        "EDSS changed by "
        + change[hit].abs().map("{:g}".format)
        + " points within "
        + gap[hit].map(lambda d: f"{d:g}" if pd.notna(d) else "")
        + f" days (>= {EDSS_JUMP_POINTS:g} points within {EDSS_JUMP_DAYS} days): please check"
    )
    return _warnings("edss", visits, jump, "edss", message)


def _follow_up_gaps(edss: pd.DataFrame, unit: TimeUnit) -> list[Problem]:
    visits = _by_patient_and_date(edss.dropna(subset=["patient_id", "date"]))
    same = visits["patient_id"].eq(visits["patient_id"].shift())
    gap = _days(visits["date"], visits["date"].shift(), unit)
    long = (same & (gap > FOLLOW_UP_GAP_DAYS)).fillna(False)
    if not long.any():
        return []
    hit = long.to_numpy(dtype=bool)  # messages for the rows warned about only
    message = (
        "no EDSS assessment of this patient in the "
        + (gap[hit] / 365.25).map(lambda y: f"{y:.1f}" if pd.notna(y) else "")
        + " years before (a follow-up gap of more than 2 years): please check for missing "
        "visits"
    )
    return _warnings("edss", visits, long, "date", message)


def _fatal_events_without_death(tables: dict[str, pd.DataFrame]) -> list[Problem]:
    events = tables["adverse_events"]
    if events.empty or "grade" not in events:
        return []
    dead = set(tables["deaths"]["patient_id"].dropna())
    fatal = (events["grade"] == 5) & ~events["patient_id"].isin(dead)
    return _warnings(
        "adverse_events",
        events,
        fatal,
        "grade",
        "a grade-5 (fatal) adverse event, but the patient has no row in the deaths table",
    )


def _ahsct_courses(treatments: pd.DataFrame) -> pd.DataFrame:
    return treatments[(treatments["kind"] == "ahsct") & treatments["start_date"].notna()]


def _relapses_at_reinfusion(tables: dict[str, pd.DataFrame]) -> list[Problem]:
    relapses = tables["relapses"]
    courses = _ahsct_courses(tables["treatments"])
    if relapses.empty or courses.empty:
        return []
    days0 = pd.MultiIndex.from_arrays([courses["patient_id"], courses["start_date"]])
    pairs = pd.MultiIndex.from_arrays([relapses["patient_id"], relapses["onset_date"]])
    hit = pd.Series(pairs.isin(days0), index=relapses.index)
    return _warnings(
        "relapses",
        relapses,
        hit,
        "onset_date",
        "a relapse starting on the day of an AHSCT reinfusion: please check the date",
    )


def _late_engraftment(tables: dict[str, pd.DataFrame], unit: TimeUnit) -> list[Problem]:
    courses = _ahsct_courses(tables["treatments"])
    if courses.empty or "engraftment_date" not in courses:
        return []
    days = _days(courses["engraftment_date"], courses["start_date"], unit)
    late = (days > ENGRAFTMENT_LATE_DAYS).fillna(False)
    if not late.any():
        return []
    message = (
        "neutrophil engraftment "
        + days.map(lambda d: f"{d:g}" if pd.notna(d) else "")
        + f" days after reinfusion (more than {ENGRAFTMENT_LATE_DAYS}): please check"
    )
    return _warnings("treatments", courses, late, "engraftment_date", message)


def plausibility_warnings(tables: dict[str, pd.DataFrame], unit: TimeUnit) -> list[Problem]:
    """Every plausibility warning of valid tables (see the module docstring for the rules).

    ``tables`` are the prepared canonical tables (dates parsed, rows indexed by their row
    number in the input).
    """
    return [
        *_edss_jumps(tables["edss"], unit),
        *_follow_up_gaps(tables["edss"], unit),
        *_fatal_events_without_death(tables),
        *_relapses_at_reinfusion(tables),
        *_late_engraftment(tables, unit),
    ]
