"""The tables of :class:`~msreboot.endpoints.DisabilityEvents`, built from the compact
outputs of the compiled scan (:func:`._disability_kernel.scan_cohort`) without a loop over
patients.

The events table is written straight into its column blocks: the float (and, for calendar
data, datetime) columns are rows of one preallocated array each, so no column is copied
when the frame is made. Patient ids are converted to a pandas string array once and taken
from; event labels are taken from small string arrays by type code; each patient's event
sequence is encoded as a number so that only the distinct sequences are written out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from msreboot.endpoints._disability_input import to_dates
from msreboot.endpoints._disability_layout import (
    EV_CDI,
    EV_CDW,
    EV_PIRA,
    EV_PIRA_RELAPSE,
    EV_RAW,
    N_OUT_FIXED,
    N_VAL_FIXED,
    OUT_BASELINE,
    OUT_CHANGE,
    OUT_LAST_DELTA,
    OUT_MERGED_TO,
    OUT_SUSTAINED_TO,
    OUT_TYPE,
    VAL_MERGED,
)
from msreboot.endpoints._disability_rules import DisabilityDefinition

__all__ = ["PIRA_RELAPSE", "events_table", "patient_table", "unconfirmed_table"]


def _names(by_code: dict[int, str | None]) -> np.ndarray:
    """Labels indexed by the scans' event type codes (missing codes: None)."""
    labels = np.full(max(by_code) + 1, None, dtype=object)
    for code, label in by_code.items():
        labels[code] = label
    return labels


PIRA_RELAPSE = "PIRA with relapse during confirmation"
"""The label of a worsening that is PIRA up to the event but has a relapse in its
confirmation span (reported with ``PIRARule(report_relapse_during_confirmation=True)``)."""

_TYPE_NAMES = _names(
    {EV_CDI: "CDI", EV_CDW: "CDW", EV_RAW: "CDW", EV_PIRA: "CDW", EV_PIRA_RELAPSE: "CDW"}
)
_CDW_TYPE_NAMES = _names(
    {
        EV_CDI: None,
        EV_CDW: "undefined",
        EV_RAW: "RAW",
        EV_PIRA: "PIRA",
        EV_PIRA_RELAPSE: PIRA_RELAPSE,
    }
)
_SEQUENCE_NAMES = _names(
    {EV_CDI: "CDI", EV_CDW: "CDW", EV_RAW: "RAW", EV_PIRA: "PIRA", EV_PIRA_RELAPSE: "PIRA-R"}
)
_TYPE_LABELS = pd.array(_TYPE_NAMES, dtype="string")
_CDW_TYPE_LABELS = pd.array(_CDW_TYPE_NAMES, dtype="string")


def events_table(
    d: DisabilityDefinition,
    id_strings: pd.api.extensions.ExtensionArray,
    vstart: np.ndarray,
    t: np.ndarray,
    pat: np.ndarray,
    E: np.ndarray,
    V: np.ndarray,
    n_events: np.ndarray,
    sign: float,
    calendar: bool,
    anchor: np.ndarray | None,
) -> pd.DataFrame:
    """One row per event (patient then visit order), or one censored row (time = total
    follow-up) for a patient without events."""
    n_pat = len(n_events)
    per_patient = np.maximum(n_events, 1)
    row0 = np.zeros(n_pat, dtype=np.int64)
    np.cumsum(per_patient[:-1], out=row0[1:])
    first_event = np.zeros(n_pat, dtype=np.int64)
    np.cumsum(n_events[:-1], out=first_event[1:])
    number = np.arange(len(pat), dtype=np.int64) - first_event[pat] + 1
    at = row0[pat] + number - 1  # the table rows of the events
    n_rows = int(per_patient.sum())
    all_pat = np.repeat(np.arange(n_pat, dtype=np.int64), per_patient)
    first_day = t[vstart[:-1]]
    last_day = t[vstart[1:] - 1]
    follow = last_day - first_day

    nw = len(d.confirmation.days)
    windows = [f"{days:g}" for days in d.confirmation.days]
    value_cols: list[tuple[str, np.ndarray, str, int]] = [  # name, visit column, value column
        ("", E[:, OUT_CHANGE], "value", 1),
        ("baseline_", E[:, OUT_BASELINE], "baseline_value", 0),
        ("last_delta_", E[:, OUT_LAST_DELTA], "last_delta_value", 2),
    ]
    value_cols += [
        (f"confirmation_{w}_", E[:, N_OUT_FIXED + i], f"confirmation_{w}_value", N_VAL_FIXED + i)
        for i, w in enumerate(windows)
    ]
    if d.raw_pira:
        value_cols += [
            (
                f"pira_confirmation_{w}_",
                E[:, N_OUT_FIXED + nw + i],
                f"pira_confirmation_{w}_value",
                N_VAL_FIXED + nw + i,
            )
            for i, w in enumerate(windows)
        ]
    if d.merge is not None:  # the last visit merged into the event and the merged score
        value_cols.append(("merged_to_", E[:, OUT_MERGED_TO], "merged_to_value", VAL_MERGED))
    columns = ["patient_id", "event_number", "event", "event_type"]
    columns += ["cdw_type"] if d.raw_pira else []
    for prefix, _, value_name, _ in value_cols:
        columns += [f"{prefix}date", value_name]
    columns += ["total_follow_up_days", "time_days", "baseline_to_event_days"]
    columns += ["sustained_days", "sustained_to_last_visit"]
    columns += ["confirmed"] if d.unconfirmed_worsening else []
    columns += ["time_from_anchor_days"] if anchor is not None else []
    dates = [c for c in columns if c.endswith("_date") or c == "date"]
    floats = [
        c
        for c in columns
        if (c.endswith(("_value", "_days")) or c == "value" or (not calendar and c in dates))
    ]
    block = np.empty((len(floats), n_rows))
    col = {name: block[i] for i, name in enumerate(floats)}
    day = {name: col[name] if name in col else np.empty(n_rows) for name in dates}

    for prefix, idx, value_name, v in value_cols:
        out = day[f"{prefix}date"]
        out.fill(np.nan)
        ok = idx >= 0
        out[at[ok]] = t[idx[ok]]
        out = col[value_name]
        out.fill(np.nan)
        out[at] = V[:, v] if sign == 1.0 else sign * V[:, v]
    date = day["date"]
    np.take(follow, all_pat, out=col["total_follow_up_days"])
    time_days = col["time_days"]
    np.take(follow, all_pat, out=time_days)
    time_days[at] = date[at] - first_day[pat]
    np.subtract(date, day["baseline_date"], out=col["baseline_to_event_days"])
    sustained_days = col["sustained_days"]
    sustained_days.fill(np.nan)
    sust = E[:, OUT_SUSTAINED_TO]
    ok = sust >= 0
    sustained_days[at[ok]] = t[sust[ok]]
    sustained_days -= date
    event = np.zeros(n_rows, dtype=bool)
    event[at] = True
    if anchor is not None:
        end = np.where(event, date, last_day[all_pat])
        # a patient with no assessment after the anchor is censored at time zero
        np.maximum(end - anchor[vstart[:-1]][all_pat], 0.0, out=col["time_from_anchor_days"])

    frame = pd.DataFrame(block.T, columns=floats, copy=False)
    others: dict[str, Any] = {
        "patient_id": id_strings.take(all_pat),
        "event_number": _rows(number, at, n_rows, 0),
        "event": event,
    }
    type_rows = _rows(E[:, OUT_TYPE], at, n_rows, 0)
    others["event_type"] = _TYPE_LABELS.take(type_rows)
    if d.raw_pira:
        others["cdw_type"] = _CDW_TYPE_LABELS.take(type_rows)
    sustained = pd.array(np.zeros(n_rows, dtype=bool), dtype="boolean")
    sustained[~event] = pd.NA
    sustained[at] = sust == (vstart[pat + 1] - 1)
    others["sustained_to_last_visit"] = sustained
    if d.unconfirmed_worsening:
        confirmed = pd.array(np.zeros(n_rows, dtype=bool), dtype="boolean")
        confirmed[~event] = pd.NA
        confirmed[at] = (E[:, N_OUT_FIXED : N_OUT_FIXED + nw] >= 0).any(axis=1)
        others["confirmed"] = confirmed
    if calendar:
        for name in dates:
            others[name] = to_dates(day[name], calendar)
    for position, name in enumerate(columns):  # ascending: each lands at its place
        if name in others:
            frame.insert(position, name, others[name])
    return frame


def _rows(values: np.ndarray, at: np.ndarray, n_rows: int, fill: int) -> np.ndarray:
    out = np.full(n_rows, fill, dtype=values.dtype)
    out[at] = values
    return out


def unconfirmed_table(
    id_strings: pd.api.extensions.ExtensionArray,
    t: np.ndarray,
    unc_pat: np.ndarray,
    unc: np.ndarray,
    unc_d: np.ndarray,
    sign: float,
    calendar: bool,
) -> pd.DataFrame:
    """Candidate changes that were not confirmed, with baseline and relapse distances."""
    return pd.DataFrame(
        {
            "patient_id": id_strings.take(unc_pat),
            "date": to_dates(t[unc[:, 0]], calendar),
            "value": sign * unc_d[:, 2],
            "baseline_date": to_dates(t[unc[:, 1]], calendar),
            "baseline_value": sign * unc_d[:, 3],
            "days_since_relapse": unc_d[:, 0],
            "days_to_next_relapse": unc_d[:, 1],
        }
    )


def _strings(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Patient ids as a pandas string array (taken from, never converted again)."""
    return pd.array(values, dtype="string")


_SEQUENCE_BASE = 6  # event type codes are 1..5: a sequence is a number in base 6
_SEQUENCE_DIGITS = 24  # 6**24 < 2**63


def _sequences(pat: np.ndarray, n_events: np.ndarray, types: np.ndarray) -> np.ndarray:
    """Each patient's event sequence (``"CDW, PIRA"``), as object strings.

    A sequence of up to 24 events is encoded as an integer in base 6, so that only the
    distinct sequences are written out; longer ones are joined one by one.
    """
    n = len(n_events)
    first = np.zeros(n, dtype=np.int64)
    np.cumsum(n_events[:-1], out=first[1:])
    long = n_events > _SEQUENCE_DIGITS
    short_event = ~long[pat]
    place = (first + n_events)[pat] - 1 - np.arange(len(pat))  # digits after this event
    weight = np.power(np.int64(_SEQUENCE_BASE), np.where(short_event, place, 0), dtype=np.int64)
    key = np.zeros(n, dtype=np.int64)
    np.add.at(key, pat[short_event], (types * weight)[short_event])
    uniq, inverse = np.unique(key, return_inverse=True)
    words = []
    for code in uniq.tolist():
        digits = []
        while code:
            code, digit = divmod(code, _SEQUENCE_BASE)
            digits.append(_SEQUENCE_NAMES[digit])
        words.append(", ".join(reversed(digits)))
    sequence = np.asarray(words, dtype=object)[inverse]
    for who in np.flatnonzero(long):
        chunk = types[first[who] : first[who] + n_events[who]]
        sequence[who] = ", ".join(_SEQUENCE_NAMES[chunk])
    return sequence


def patient_table(
    ids: pd.api.extensions.ExtensionArray,
    counts: np.ndarray,
    t: np.ndarray,
    vstart: np.ndarray,
    pat: np.ndarray,
    n_events: np.ndarray,
    types: np.ndarray,
    calendar: bool,
    classified: bool,
    relapse_during_confirmation: bool = False,
    confirmed: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per patient: visits, follow-up, counts by event type, the event sequence.

    With ``relapse_during_confirmation`` the count of "PIRA with relapse during
    confirmation" follows the undefined count (``pira_relapse_during_confirmation``).
    ``confirmed`` (one flag per event, in the unconfirmed-worsening mode) adds
    ``cdw_unconfirmed`` after ``cdw``.
    """
    n = len(ids)
    first_day = t[vstart[:-1]]
    last_day = t[vstart[1:] - 1]
    follow = last_day - first_day
    table = pd.DataFrame(
        {
            "patient_id": ids,
            "n_visits": counts,
            "first_visit": to_dates(first_day, calendar),
            "last_visit": to_dates(last_day, calendar),
            "total_follow_up_days": follow,
            "n_events": n_events,
            "cdw": np.bincount(pat[types != EV_CDI], minlength=n),
            "cdi": np.bincount(pat[types == EV_CDI], minlength=n),
        }
    )
    if confirmed is not None:
        table.insert(
            list(table.columns).index("cdw") + 1,
            "cdw_unconfirmed",
            np.bincount(pat[(types != EV_CDI) & ~confirmed], minlength=n),
        )
    if classified:
        for name, code in (("pira", EV_PIRA), ("raw", EV_RAW), ("undefined", EV_CDW)):
            table[name] = np.bincount(pat[types == code], minlength=n)
        if relapse_during_confirmation:
            table["pira_relapse_during_confirmation"] = np.bincount(
                pat[types == EV_PIRA_RELAPSE], minlength=n
            )
    table["event_sequence"] = pd.array(_sequences(pat, n_events, types), dtype="string")
    return table
