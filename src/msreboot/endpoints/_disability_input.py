"""The border of the disability scans: EDSS visits, relapses and anchors, checked and
turned into sorted flat per-patient arrays.

Shared by :func:`~msreboot.endpoints.detect_disability_events` and
:func:`~msreboot.endpoints.time_to_milestone`; a cohort or any long table goes in, the
arrays of :class:`Layout` come out for the compiled scans.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from msreboot.data import Cohort, Problem
from msreboot.endpoints._disability_cache import ensure_fresh
from msreboot.endpoints._disability_measures import measure_frame
from msreboot.endpoints._disability_order import group_rows
from msreboot.endpoints._disability_rules import DisabilityDefinition
from msreboot.endpoints._transplant import first_course_start
from msreboot.exceptions import DataValidationError

__all__ = [
    "Layout",
    "Visits",
    "anchor_table",
    "as_days",
    "flat_layout",
    "prepare",
    "to_dates",
]

_EPOCH = np.datetime64("1970-01-01", "ns")
_DAY_NS = 86_400 * 10**9


def as_days(values: pd.Series, what: str) -> tuple[np.ndarray, bool]:
    """Float day numbers, and whether the input was calendar dates."""
    if pd.api.types.is_datetime64_any_dtype(values):
        ns = values.to_numpy(dtype="datetime64[ns]")
        days = np.floor((ns - _EPOCH).astype("timedelta64[ns]").astype(np.int64) / _DAY_NS)
        days[pd.isna(values).to_numpy()] = np.nan
        return days.astype(float), True
    if pd.api.types.is_numeric_dtype(values):
        if isinstance(values.dtype, np.dtype) and values.dtype.kind in "fiu":
            return values.to_numpy(dtype=float), False  # read directly (NaN stays NaN)
        return values.astype("Float64").to_numpy(dtype=float, na_value=np.nan), False
    parsed = pd.to_datetime(values, errors="coerce")
    if parsed.notna().sum() < values.notna().sum():
        bad = values[parsed.isna() & values.notna()]
        raise ValueError(
            f"{what} must hold dates or day numbers; got {bad.iloc[0]!r} "
            f"(row {int(bad.index[0]) + 1})."
        )
    return as_days(parsed, what)


def to_dates(days: np.ndarray, calendar: bool) -> np.ndarray | pd.Series:
    if not calendar:
        return days
    out = np.full(days.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = ~np.isnan(days)
    out[ok] = _EPOCH + (days[ok].astype(np.int64) * _DAY_NS).astype("timedelta64[ns]")
    return out


def column(frame: pd.DataFrame, name: str, table: str) -> pd.Series:
    if name not in frame.columns:
        raise ValueError(
            f"{table} table must have a column {name!r}; got columns {list(frame.columns)}. "
            f"Name the column with the matching *_col argument."
        )
    return frame[name]


@dataclass(frozen=True)
class Visits:
    """Assessments as arrays sorted by (patient code, day); ``ids[code]`` is the patient."""

    ids: np.ndarray
    code: np.ndarray
    day: np.ndarray
    value: np.ndarray
    valid: np.ndarray
    anchor: np.ndarray | None = None

    def subset(self, mask: np.ndarray, anchor: np.ndarray | None = None) -> Visits:
        return Visits(
            self.ids, self.code[mask], self.day[mask], self.value[mask], self.valid[mask], anchor
        )


def read_visits(
    edss: pd.DataFrame,
    patient_col: str,
    date_col: str,
    value_col: str,
    valid_col: str | None,
    edss_range: bool,
    relapse_ids: pd.Series | None = None,
) -> tuple[Visits, bool, list[str], np.ndarray | None]:
    """Validated visits, sorted by patient and day, same-day duplicates resolved; and
    the codes of ``relapse_ids`` in the same numbering (-1: missing id), when given.

    The codes number the ids of both tables, so that relapses are matched to patients
    without a second lookup; ``Visits.ids`` then also holds ids with relapses only.
    """
    notes: list[str] = []
    pid = column(edss, patient_col, "edss")
    day, calendar = as_days(column(edss, date_col, "edss"), date_col)
    raw = column(edss, value_col, "edss")
    if raw.dtype == np.float64:
        value = raw.to_numpy()  # read directly (NaN stays NaN)
    else:
        value = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    problems: list[Problem] = []
    rows = np.arange(1, len(edss) + 1)
    codes, rel_codes, ids = patient_codes(pid, relapse_ids)

    def report(mask: np.ndarray, column: str, what: str) -> None:
        for i in np.flatnonzero(mask)[:50]:
            pv = pid.iloc[i : i + 1].astype("string").iloc[0]
            problems.append(
                Problem(
                    "edss",
                    int(rows[i]),
                    None if pd.isna(pv) else str(pv),
                    column,
                    str(edss[column].iloc[i]),
                    what,
                )
            )

    report(codes < 0, patient_col, "patient_id is missing")
    report(raw.notna().to_numpy() & np.isnan(value), value_col, "value must be a number")
    finite = np.isfinite(value)
    if edss_range:
        report(
            finite & ((value < 0) | (value > 10)),
            value_col,
            "EDSS must be in [0, 10]",
        )
    report(np.isinf(value), value_col, "value must be finite")
    if problems:
        raise DataValidationError(problems)
    valid = np.ones(len(edss), dtype=bool)
    if valid_col is not None and valid_col in edss.columns:
        flag = edss[valid_col]
        if flag.dtype == object or pd.api.types.is_string_dtype(flag):
            flag = flag.map(
                {"True": True, "False": False, "1": True, "0": False, True: True, False: False}
            )
        valid = ~(flag.astype("boolean").fillna(True).to_numpy(dtype=bool) == False)  # noqa: E712
    keep = ~(np.isnan(value) | np.isnan(day))
    if not keep.all():
        notes.append(f"{int((~keep).sum())} assessment(s) without a date or value were ignored")
    # sort by (patient, day), stable in input order: rows grouped by patient code in linear
    # time (the codes are numbered in sorted id order), then by day within each patient
    ensure_fresh()
    order, _ = group_rows(codes, day, keep, len(ids))
    code, day, value, valid = codes[order], day[order], value[order], valid[order]
    last_of_day = np.ones(len(code), dtype=bool)
    last_of_day[:-1] = (code[1:] != code[:-1]) | (day[1:] != day[:-1])
    if not last_of_day.all():
        notes.append(
            f"{int((~last_of_day).sum())} same-day duplicate assessment(s) were dropped (the "
            "last row of each day is kept)"
        )
        code, day, value, valid = (a[last_of_day] for a in (code, day, value, valid))
    return Visits(ids, code, day, value, valid), calendar, notes, rel_codes


def patient_codes(
    pid: pd.Series, extra: pd.Series | None = None
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Integer codes of patient ids (-1: missing) numbered in sorted order of the ids as
    strings, the codes of ``extra`` ids in the same numbering, and the ids (object array
    of str; those of both).

    The same as ``pd.factorize(ids.astype("string"), sort=True)`` over both, without
    sorting or converting every row: the rows are hashed once (unsorted), the extra ids
    only against the distinct ones, and only the distinct ids are converted and sorted.
    Ids that are all strings, or integers, are hashed as they are; other ids (floats,
    mixed objects, whose distinct values may read alike or differ only as strings) are
    converted first.
    """
    n = len(pid)
    more: np.ndarray | None = None
    text: np.ndarray | None = None
    if pid.dtype.kind in "iu":
        codes, uniques = pd.factorize(pid.to_numpy(), sort=False)
        if extra is not None:
            more, uniques = pd.factorize(np.concatenate([uniques, extra.to_numpy()]), sort=False)
        text = np.asarray(pd.Series(uniques).astype("string").to_numpy(), dtype=object)
    elif pid.dtype == object or isinstance(pid.dtype, pd.StringDtype):
        values: Any = pid.to_numpy() if pid.dtype == object else pid.array
        codes, uniques = _factorize_runs(values)
        if isinstance(uniques.dtype, pd.StringDtype):  # distinct strings, without missing
            uniques = np.asarray(uniques.to_numpy(dtype=object), dtype=object)
        if extra is not None:
            both = np.concatenate([np.asarray(uniques, dtype=object), extra.to_numpy(object)])
            more, uniques = pd.factorize(both, sort=False)
        if isinstance(uniques, np.ndarray) and pd.api.types.infer_dtype(uniques) == "string":
            text = uniques
    if text is None:  # convert every row first
        ids = pid if extra is None else pd.concat([pid, extra], ignore_index=True)
        string_ids: Any = ids.astype("string").array
        codes, uniques = pd.factorize(string_ids, sort=False)
        text = np.asarray(uniques.to_numpy(dtype=object), dtype=object)
        more = None if extra is None else codes[n:]
        codes = codes[:n]
    elif more is not None:  # the extra rows, after the distinct ids of pid
        more = more[len(more) - len(extra) :]  # type: ignore[arg-type]
    order = _string_order(text)
    code_of_unique = np.empty(len(text) + 1, dtype=np.int64)  # the last: missing (-1)
    code_of_unique[order] = np.arange(len(text))
    code_of_unique[-1] = -1
    codes = np.take(code_of_unique, codes, out=np.asarray(codes, dtype=np.int64), mode="wrap")
    if more is not None:
        more = np.take(code_of_unique, more, mode="wrap")
    return codes, more, np.asarray(text[order], dtype=object)


def _factorize_runs(values: Any) -> tuple[np.ndarray, Any]:
    """``pd.factorize(values, sort=False)``; when the rows of one id mostly come together
    (as in a table sorted by patient), only the first row of each run is hashed."""
    n = len(values)
    raw = values.to_numpy(dtype=object) if not isinstance(values, np.ndarray) else values
    sample = raw[: min(n, 10_000)]
    try:
        grouped = n > 1 and (sample[1:] != sample[:-1]).sum() * 4 < len(sample)
        if grouped:
            head = np.empty(n, dtype=bool)
            head[0] = True
            np.not_equal(raw[1:], raw[:-1], out=head[1:])
    except (TypeError, ValueError):  # e.g. pd.NA compared with a value: hash every row
        grouped = False
    if not grouped:
        return pd.factorize(values, sort=False)
    starts = np.flatnonzero(head)
    run_codes, uniques = pd.factorize(raw[starts], sort=False)
    return np.repeat(run_codes, np.diff(starts, append=n)), uniques


def _string_order(text: np.ndarray) -> np.ndarray:
    """Stable argsort of an object array of str, in Python's order."""
    if len(text) == 0:
        return np.zeros(0, dtype=np.int64)
    try:  # numpy's variable-width strings (UTF-8) order as Python's str do
        return np.argsort(text.astype(np.dtypes.StringDType()), kind="stable")
    except (UnicodeEncodeError, TypeError, ValueError):  # e.g. lone surrogates
        return np.asarray(sorted(range(len(text)), key=text.__getitem__), dtype=np.int64)


def relapse_days(
    relapses: pd.DataFrame | None,
    patient_col: str,
    date_col: str,
    end_col: str | None,
    calendar: bool,
    codes: np.ndarray | None = None,
) -> pd.DataFrame:
    """Relapse onsets and ends as day numbers, with the patient id (and, when ``codes``
    from :func:`read_visits` are given, the patient code)."""
    if relapses is None or len(relapses) == 0:
        return pd.DataFrame({"patient_id": pd.Series([], dtype="string"), "onset": [], "end": []})
    raw = column(relapses, patient_col, "relapses")
    onset, rel_calendar = as_days(column(relapses, date_col, "relapses"), date_col)
    if len(relapses) and rel_calendar != calendar:
        raise ValueError(
            "relapses and EDSS visits must use the same time unit (both dates or both day "
            f"numbers); got {'dates' if rel_calendar else 'day numbers'} for relapses."
        )
    missing = np.isnan(onset) | (
        raw.astype("string").isna().to_numpy() if codes is None else codes < 0
    )
    if missing.any():
        pid = raw.astype("string")
        i = int(np.flatnonzero(missing)[0])
        raise DataValidationError(
            [
                Problem(
                    "relapses",
                    i + 1,
                    None if pd.isna(pid.iloc[i]) else str(pid.iloc[i]),
                    date_col if np.isnan(onset[i]) else patient_col,
                    None,
                    "relapse onset date and patient are required "
                    f"({int(missing.sum())} row(s) lack one)",
                )
            ]
        )
    end = onset.copy()
    if end_col is not None and end_col in relapses.columns:
        e, _ = as_days(relapses[end_col], end_col)
        end = np.where(np.isnan(e), onset, np.maximum(e, onset))
    if codes is not None:
        return pd.DataFrame({"code": codes, "onset": onset, "end": end})
    return pd.DataFrame({"patient_id": raw.astype("string").to_numpy(), "onset": onset, "end": end})


def anchor_table(anchor: pd.DataFrame, patient_col: str = "patient_id") -> pd.Series:
    """``anchor_date`` by patient (index ``patient_id`` as strings), after checking that
    both columns are present and that each patient has one row."""
    if "anchor_date" not in anchor.columns:
        raise ValueError(
            f"anchor table must have columns {patient_col!r} and 'anchor_date'; got "
            f"{list(anchor.columns)}."
        )
    ids = column(anchor, patient_col, "anchor").astype("string")
    if ids.duplicated().any():
        repeated = ids[ids.duplicated()].iloc[0]
        raise ValueError(f"anchor table must have one row per patient; {repeated!r} repeats.")
    return pd.Series(anchor["anchor_date"].to_numpy(), index=pd.Index(ids, name="patient_id"))


def anchor_days_by_patient(
    anchor: str | pd.DataFrame | None,
    data: Cohort | pd.DataFrame,
    patient_col: str,
    calendar: bool,
) -> pd.Series | None:
    """Anchor day per patient (index patient_id), or None."""
    if anchor is None:
        return None
    if isinstance(anchor, str):
        if not isinstance(data, Cohort):
            raise ValueError(
                f"anchor={anchor!r} (a treatment kind) needs a Cohort; for a plain table pass "
                "a DataFrame with patient_id and anchor_date columns."
            )
        first = first_course_start(data, anchor)
        days, _ = as_days(first.reset_index(drop=True), "start_date")
        return pd.Series(days, index=first.index.astype("string"))
    if isinstance(anchor, pd.DataFrame):
        table = anchor_table(anchor, patient_col)
        days, anchor_calendar = as_days(anchor["anchor_date"], "anchor_date")
        if anchor_calendar != calendar:
            raise ValueError("anchor dates and EDSS visits must use the same time unit.")
        return pd.Series(days, index=table.index.to_numpy()).dropna()
    raise TypeError(
        f"anchor must be a treatment kind, a DataFrame or None; got {type(anchor).__name__}."
    )


def prepare(
    data: Cohort | pd.DataFrame,
    relapses: pd.DataFrame | None,
    definition: DisabilityDefinition,
    anchor: str | pd.DataFrame | None,
    columns: tuple[str, str, str, str | None, str, str | None],
) -> tuple[Visits, pd.DataFrame, bool, pd.DataFrame, list[str]]:
    """Validate and convert the inputs once (shared by every disability endpoint).

    Of the definition only :func:`input_key` is read, so one prepared input serves every
    definition with the same key.
    """
    patient_col, date_col, value_col, valid_col, relapse_date_col, relapse_end_col = columns
    if isinstance(data, Cohort):
        edss_frame = measure_frame(data, definition.measure, definition.hand)
        relapse_frame: pd.DataFrame | None = data.relapses
        patient_col, date_col, value_col = "patient_id", "date", "edss"
        valid_col = "valid_for_confirmation"
        relapse_patient_col, relapse_date_col, relapse_end_col = (
            "patient_id",
            "onset_date",
            "end_date",
        )
    elif isinstance(data, pd.DataFrame):
        edss_frame = data
        relapse_frame = relapses
        relapse_patient_col = patient_col
    else:
        raise TypeError(f"data must be a Cohort or a DataFrame; got {type(data).__name__}.")
    edss_range = input_key(definition)[0]
    relapse_ids = None  # ids of both tables numbered together when they are alike
    if relapse_frame is not None and len(relapse_frame) and relapse_patient_col in relapse_frame:
        ids_v = column(edss_frame, patient_col, "edss")
        ids_r = relapse_frame[relapse_patient_col]
        texts = (ids_v.dtype == object or isinstance(ids_v.dtype, pd.StringDtype)) and (
            ids_r.dtype == object or isinstance(ids_r.dtype, pd.StringDtype)
        )
        if texts or (ids_v.dtype == ids_r.dtype and ids_v.dtype.kind in "iu"):
            relapse_ids = ids_r
    visits, calendar, notes, rel_codes = read_visits(
        edss_frame, patient_col, date_col, value_col, valid_col, edss_range, relapse_ids
    )
    rel = relapse_days(
        relapse_frame, relapse_patient_col, relapse_date_col, relapse_end_col, calendar, rel_codes
    )
    anchors = anchor_days_by_patient(anchor, data, patient_col, calendar)
    excluded = pd.DataFrame(
        {"patient_id": pd.Series([], dtype="string"), "reason": pd.Series([], dtype="string")}
    )
    if anchors is not None:
        visits, excluded = apply_anchor(visits, anchors)
    return visits, rel, calendar, excluded, notes


def input_key(definition: DisabilityDefinition) -> tuple[bool, str, str]:
    """What :func:`prepare` reads of a definition: whether values are checked as EDSS
    scores in [0, 10] (EDSS, an increase with a step threshold, not a custom function or
    a relative threshold), and, with a Cohort, the measure (and the 9HPT hand) read."""
    threshold = definition.threshold
    edss_range = (
        definition.measure == "edss"
        and threshold.function is None
        and threshold.relative == 0
        and definition.direction == "increase"
    )
    return (edss_range, definition.measure, definition.hand)


def apply_anchor(visits: Visits, anchors: pd.Series) -> tuple[Visits, pd.DataFrame]:
    """Keep each patient's last visit on or before the anchor and every later visit."""
    a = anchors.reindex(pd.Index(visits.ids, dtype=object)).to_numpy(dtype=float)
    a_v = a[visits.code]
    idx = np.arange(len(visits.code))
    before = visits.day <= a_v
    pre = np.full(len(visits.ids), -1, dtype=np.int64)
    np.maximum.at(pre, visits.code[before], idx[before])
    pre_v = pre[visits.code]
    keep = (pre_v >= 0) & (idx >= pre_v)
    seen = np.zeros(len(visits.ids), dtype=bool)
    seen[visits.code] = True
    no_anchor = seen & np.isnan(a)
    no_base = seen & ~np.isnan(a) & (pre < 0)
    excluded = pd.DataFrame(
        {
            "patient_id": pd.array(
                np.concatenate([visits.ids[no_anchor], visits.ids[no_base]]), dtype="string"
            ),
            "reason": pd.array(
                ["no anchor date"] * int(no_anchor.sum())
                + ["no assessment on or before the anchor date"] * int(no_base.sum()),
                dtype="string",
            ),
        }
    )
    return visits.subset(keep, a_v[keep]), excluded


@dataclass(frozen=True)
class Layout:
    """Flat per-patient arrays for the compiled scans (patients numbered 0..n-1)."""

    ids: np.ndarray
    counts: np.ndarray
    vstart: np.ndarray
    t: np.ndarray
    value: np.ndarray
    valid: np.ndarray
    rstart: np.ndarray
    r: np.ndarray
    rend: np.ndarray


def flat_layout(visits: Visits, rel: pd.DataFrame) -> Layout:
    starts = np.ones(len(visits.code), dtype=bool)
    starts[1:] = visits.code[1:] != visits.code[:-1]
    ids: np.ndarray = np.asarray(visits.ids[visits.code[starts]], dtype=object)
    n_pat = len(ids)
    counts = np.diff(np.append(np.flatnonzero(starts), len(visits.code))).astype(np.int64)
    vstart = np.zeros(n_pat + 1, dtype=np.int64)
    np.cumsum(counts, out=vstart[1:])
    if "code" in rel:  # codes of visits.ids: to the patients numbered here
        number = np.full(len(visits.ids) + 1, -1, dtype=np.int64)  # last: missing (-1)
        number[visits.code[starts]] = np.arange(n_pat)
        rcode = number[rel["code"].to_numpy()]
    else:
        rcode = pd.Index(ids, dtype=object).get_indexer(pd.Index(rel["patient_id"], dtype=object))
    known = rcode >= 0
    rcode = rcode[known]
    onset = rel["onset"].to_numpy(float)[known]
    end = rel["end"].to_numpy(float)[known]
    rorder, rstart = group_rows(rcode, onset, np.ones(len(rcode), dtype=bool), n_pat)
    return Layout(
        ids=ids,
        counts=counts,
        vstart=vstart,
        t=np.ascontiguousarray(visits.day, dtype=float),
        value=np.ascontiguousarray(visits.value, dtype=float),
        valid=np.ascontiguousarray(visits.valid, dtype=np.bool_),
        rstart=rstart,
        r=np.ascontiguousarray(onset[rorder]),
        rend=np.ascontiguousarray(end[rorder]),
    )
