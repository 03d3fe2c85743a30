"""Confirmed disability worsening (CDW), improvement (CDI), RAW and PIRA from EDSS visits.

The border (:mod:`._disability_input`) turns a cohort or any long table into sorted flat
arrays; this module runs the compiled per-patient scan (:mod:`._disability_kernel`, with
the options of :mod:`._disability_layout`) and assembles the tidy tables.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from msreboot.data import Cohort
from msreboot.endpoints import _disability_kernel as k
from msreboot.endpoints._disability_cache import ensure_fresh
from msreboot.endpoints._disability_input import Visits, flat_layout, prepare, to_dates
from msreboot.endpoints._disability_layout import (
    EV_CDI,
    EV_CDW,
    EV_PIRA,
    EV_RAW,
    N_OUT_FIXED,
    OUT_BASELINE,
    OUT_CHANGE,
    OUT_LAST_DELTA,
    OUT_SUSTAINED_TO,
    OUT_TYPE,
    STATUS_OVERFLOW,
    STATUS_UNCONFIRMED_TRUNCATED,
    kernel_options,
)
from msreboot.endpoints._disability_rules import DisabilityDefinition

__all__ = ["DisabilityEvents", "detect_disability_events"]


def _names(by_code: dict[int, str | None]) -> np.ndarray:
    """Labels indexed by the scans' event type codes (missing codes: None)."""
    labels = np.full(max(by_code) + 1, None, dtype=object)
    for code, label in by_code.items():
        labels[code] = label
    return labels


_TYPE_NAMES = _names({EV_CDI: "CDI", EV_CDW: "CDW", EV_RAW: "CDW", EV_PIRA: "CDW"})
_CDW_TYPE_NAMES = _names({EV_CDI: None, EV_CDW: "undefined", EV_RAW: "RAW", EV_PIRA: "PIRA"})
_SEQUENCE_NAMES = _names({EV_CDI: "CDI", EV_CDW: "CDW", EV_RAW: "RAW", EV_PIRA: "PIRA"})


@dataclass(frozen=True)
class DisabilityEvents:
    """Confirmed disability events of a cohort under one :class:`DisabilityDefinition`.

    Attributes
    ----------
    events
        One row per event, plus one censored row (``event`` False, time = total follow-up)
        for each patient without events. Columns: ``patient_id``, ``event_number``,
        ``event`` (bool), ``event_type`` (CDW / CDI), ``cdw_type`` (PIRA / RAW / undefined
        when classified), ``date``, ``value``, ``baseline_date``, ``baseline_value``,
        ``last_delta_date`` / ``_value`` (last visit from which the change is meaningful),
        ``confirmation_<days>_date`` / ``_value`` per confirmation period (and
        ``pira_confirmation_<days>_*`` when classified), ``total_follow_up_days``,
        ``time_days`` (first visit to event), ``baseline_to_event_days``,
        ``time_from_anchor_days`` (anchored analyses), ``sustained_days``,
        ``sustained_to_last_visit``. Dates are timestamps, or day numbers for day-unit data.
    patients
        One row per patient: visits, first and last visit, follow-up, counts of CDW, CDI,
        RAW, PIRA and undefined worsening, and the event sequence.
    unconfirmed
        Candidate changes that were not confirmed (or not sustained), with the baseline and
        the distance to the closest relapse before / after. In first-event modes the scan
        stops at the first event, so only candidates before it are listed.
    excluded
        Patients left out, with the reason (no assessment on or before the anchor date).
    definition
        The rules used; :meth:`methods` writes them out as a methods paragraph.
    warnings
        What was dropped or changed at the border (missing values, same-day duplicates).
    """

    events: pd.DataFrame
    patients: pd.DataFrame
    unconfirmed: pd.DataFrame
    excluded: pd.DataFrame
    definition: DisabilityDefinition
    anchored: bool = False
    warnings: tuple[str, ...] = field(default=())

    def to_frame(self) -> pd.DataFrame:
        """The events table (one row per event; censored rows for patients without)."""
        return self.events.copy()

    @property
    def n_patients(self) -> int:
        return len(self.patients)

    def count(self, event_type: str = "CDW") -> int:
        """Number of events of a type: ``CDW``, ``CDI``, ``PIRA``, ``RAW`` or ``undefined``."""
        ev = self.events[self.events["event"]]
        if event_type in ("CDW", "CDI"):
            return int((ev["event_type"] == event_type).sum())
        if "cdw_type" not in ev:
            raise ValueError(
                f"event_type {event_type!r} needs RAW/PIRA classification; this analysis did "
                "not classify worsening (classify_raw_pira=False)."
            )
        return int((ev["cdw_type"] == event_type).sum())

    def methods(self) -> str:
        """A methods paragraph stating the exact criteria used."""
        text = self.definition.methods_text()
        if self.anchored:
            text += (
                " Follow-up started at the anchor date (time zero); the baseline was the last"
                " assessment on or before it and only later changes could be events."
            )
        return text

    def summary(self) -> str:
        d = self.definition
        lines = [
            f"Disability events ({d.name}, {d.event}): {self.n_patients} patients, "
            f"{int(self.events['event'].sum())} events",
            f"  CDW: {self.count('CDW')}  CDI: {self.count('CDI')}",
        ]
        if "cdw_type" in self.events:
            lines.append(
                f"  PIRA: {self.count('PIRA')}  RAW: {self.count('RAW')}  "
                f"undefined: {self.count('undefined')}"
            )
        with_event = int((self.patients["n_events"] > 0).sum())
        lines.append(f"  patients with at least one event: {with_event}")
        lines.append(f"  unconfirmed candidate changes: {len(self.unconfirmed)}")
        if len(self.excluded):
            reasons = self.excluded["reason"].value_counts()
            why = "; ".join(f"{reason}: {count}" for reason, count in reasons.items())
            lines.append(f"  excluded patients: {len(self.excluded)} ({why})")
        lines += [f"  note: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"DisabilityEvents(definition={self.definition.name!r}, patients={self.n_patients}, "
            f"events={int(self.events['event'].sum())})"
        )

    def _repr_html_(self) -> str:
        head = html.escape(self.summary()).replace("\n", "<br>")
        table = self.events[self.events["event"]].head(20).to_html(index=False, na_rep="")
        return f"<div><p>{head}</p>{table}</div>"


def detect_disability_events(
    data: Cohort | pd.DataFrame,
    relapses: pd.DataFrame | None = None,
    definition: DisabilityDefinition | None = None,
    *,
    anchor: str | pd.DataFrame | None = None,
    patient_col: str = "patient_id",
    date_col: str = "date",
    value_col: str = "edss",
    valid_col: str | None = "valid_for_confirmation",
    relapse_date_col: str = "onset_date",
    relapse_end_col: str | None = "end_date",
) -> DisabilityEvents:
    """Confirmed disability worsening / improvement events, classified as RAW or PIRA.

    Parameters
    ----------
    data
        A validated :class:`~msreboot.data.Cohort` (its ``edss`` and ``relapses`` tables are
        used), or a long table of assessments with the named columns (any order, any
        index). Dates are calendar dates or day numbers (both tables alike).
    relapses
        Relapse onsets (and optional end dates) for a plain table; ignored with a Cohort.
    definition
        The rules (:class:`DisabilityDefinition`); default msprog's first-CDW analysis.
    anchor
        Start follow-up at a treatment: a treatment kind (``"ahsct"``: each patient's first
        AHSCT reinfusion) or a table of ``patient_id`` and ``anchor_date``. The baseline is
        the last assessment on or before the anchor, time zero is the anchor, and only
        later changes can be events. Patients without an assessment on or before their
        anchor, or without an anchor, are listed in ``excluded``; patients with no
        assessment after it are censored at time zero.
    patient_col, date_col, value_col, valid_col
        Column names of the assessments. ``valid_col`` (optional) flags visits that may
        confirm a change (False: unscheduled visit, never a confirmation).
    relapse_date_col, relapse_end_col
        Column names of the relapse table.

    Returns
    -------
    DisabilityEvents

    Raises
    ------
    DataValidationError
        Missing patient ids, non-numeric values, EDSS outside [0, 10] (every such row is
        named with table, row, patient and column).
    ValueError
        Missing columns, mixed time units, an invalid anchor.

    Notes
    -----
    Conventions (the same as msprog): visits are sorted by date; of several assessments on
    the same day the last row is kept; assessments without a date or value are dropped
    (both noted in ``warnings``); relapses before the first visit minus the baseline buffer
    are ignored; a relapse on a visit's day is at distance 0 from it. The scan for each
    patient: the baseline is the first visit outside the relapse buffer; the first later
    visit that differs from it by the threshold (outside the event buffer) is a
    candidate; it is confirmed when the first eligible visit in the confirmation windows
    (and every visit in between) still shows the change; the baseline then moves (roving)
    and the search continues after the confirmation (or event) visit. An unconfirmed last
    visit is an event only with ``impute_last_visit`` (deterministic).

    Checked against pymsprog 1.0.7 (the Python port of msprog) on 96 configurations, its
    toy data and three seeded cohorts: every event, censored row, count and unconfirmed
    candidate agrees (``tests/reference/disability/``). Deliberate differences: where no
    visit of a confirmation period confirms (e.g. an imputed last-visit RAW event in a
    first-PIRA search with a fixed baseline) pymsprog raises ``ValueError`` and the engine
    skips that period; in first-event modes the engine takes the first event of the
    requested kind in visit order (pymsprog indexes its visit-ordered list by detection
    order, which differs only when post-relapse re-baselining detects a change twice).
    MSBase improvement thresholds, relapse end dates and anchoring are not in pymsprog.

    References
    ----------
    Montobbio N, Carmisciano L, Signori A, et al. Creating an automated tool for a
    consistent and repeatable evaluation of disability progression in clinical studies
    for multiple sclerosis. Mult Scler 2024. doi:10.1177/13524585241243157

    Examples
    --------
    >>> from msreboot.datasets import load_example
    >>> result = detect_disability_events(load_example(), anchor="ahsct")
    >>> result.n_patients > 100
    True
    >>> sorted(result.events["event_type"].dropna().unique())
    ['CDW']
    """
    definition = definition or DisabilityDefinition()
    visits, rel, calendar, excluded, notes = prepare(
        data,
        relapses,
        definition,
        anchor,
        (patient_col, date_col, value_col, valid_col, relapse_date_col, relapse_end_col),
    )
    return _run(visits, rel, definition, calendar, excluded, tuple(notes))


def _run(
    visits: Visits,
    rel: pd.DataFrame,
    definition: DisabilityDefinition,
    calendar: bool,
    excluded: pd.DataFrame,
    notes: tuple[str, ...],
) -> DisabilityEvents:
    d = definition
    lay = flat_layout(visits, rel)
    ids, counts, vstart, t, value, valid = (
        lay.ids,
        lay.counts,
        lay.vstart,
        lay.t,
        lay.value,
        lay.valid,
    )
    rstart, r, rend, n_pat = lay.rstart, lay.r, lay.rend, len(lay.ids)
    sign = 1.0 if d.direction == "increase" else -1.0
    x = np.ascontiguousarray(sign * value)
    dw = d.threshold.delta(value)
    di = (d.improvement_threshold or d.threshold).delta(value)

    ip, fp, lo, hi = kernel_options(d)
    ensure_fresh()
    ev_int, ev_val, n_events, unc, unc_d, n_unc, status = k.scan_cohort(
        vstart, t, x, dw, di, valid, rstart, r, rend, ip, fp, lo, hi
    )
    if (status == STATUS_UNCONFIRMED_TRUNCATED).any():
        notes = (
            *notes,
            f"unconfirmed changes were listed up to one per visit for "
            f"{int((status == STATUS_UNCONFIRMED_TRUNCATED).sum())} patient(s)",
        )
    if (status == STATUS_OVERFLOW).any():
        bad = ids[np.flatnonzero(status == STATUS_OVERFLOW)[0]]
        raise RuntimeError(
            f"the disability scan did not terminate for patient {bad!r}; please report it."
        )

    # events: slot rows -> global visit indices
    slot = np.arange(len(t)) - np.repeat(vstart[:-1], counts)
    used = slot < np.repeat(n_events, counts)
    E = ev_int[used]
    V = ev_val[used]  # values at detection time (the "not lower" rule may carry them)
    pat = np.repeat(np.arange(n_pat), counts)[used]
    base = vstart[pat]

    def gi(col: int) -> np.ndarray:
        loc = E[:, col]
        return np.where(loc >= 0, base + loc, -1)

    def take(arr: np.ndarray, idx: np.ndarray) -> np.ndarray:
        out = np.full(idx.shape, np.nan)
        ok = idx >= 0
        out[ok] = arr[idx[ok]]
        return out

    change = gi(OUT_CHANGE)
    bl = gi(OUT_BASELINE)
    first_day = t[vstart[:-1]]
    last_day = t[vstart[1:] - 1]
    follow = last_day - first_day
    nw = len(d.confirmation.days)
    types = E[:, OUT_TYPE]
    first_row = np.concatenate([[0], np.cumsum(n_events)[:-1]])
    ev: dict[str, np.ndarray] = {
        "_pat": pat,
        "event_number": np.arange(len(pat)) - first_row[pat] + 1,
        "event": np.ones(len(pat), dtype=bool),
        "event_type": _TYPE_NAMES[types],
        "cdw_type": _CDW_TYPE_NAMES[types],
        "date": take(t, change),
        "value": sign * V[:, 1],
        "baseline_date": take(t, bl),
        "baseline_value": sign * V[:, 0],
        "last_delta_date": take(t, gi(OUT_LAST_DELTA)),
        "last_delta_value": sign * V[:, 2],
    }
    for w, days in enumerate(d.confirmation.days):
        idx = gi(N_OUT_FIXED + w)
        ev[f"confirmation_{days:g}_date"] = take(t, idx)
        ev[f"confirmation_{days:g}_value"] = sign * V[:, 3 + w]
    if d.raw_pira:
        for w, days in enumerate(d.confirmation.days):
            idx = gi(N_OUT_FIXED + nw + w)
            ev[f"pira_confirmation_{days:g}_date"] = take(t, idx)
            ev[f"pira_confirmation_{days:g}_value"] = sign * V[:, 3 + nw + w]
    sust = gi(OUT_SUSTAINED_TO)
    ev["total_follow_up_days"] = follow[pat]
    ev["time_days"] = ev["date"] - first_day[pat]
    ev["baseline_to_event_days"] = ev["date"] - ev["baseline_date"]
    ev["sustained_days"] = take(t, sust) - ev["date"]
    ev["sustained_to_last_visit"] = sust == (vstart[pat + 1] - 1)

    # one censored row per patient without events (time = total follow-up)
    stable = np.flatnonzero(n_events == 0)
    rows = {name: _blank(col, len(stable)) for name, col in ev.items()}
    rows.update(
        _pat=stable,
        event_number=np.zeros(len(stable), dtype=np.int64),
        event=np.zeros(len(stable), dtype=bool),
        total_follow_up_days=follow[stable],
        time_days=follow[stable],
    )
    table = {name: np.concatenate([ev[name], rows[name]]) for name in ev}
    order = np.lexsort((table["event_number"], table["_pat"]))
    table = {name: col[order] for name, col in table.items()}
    all_pat = table.pop("_pat")
    if visits.anchor is not None:
        anchor_day = visits.anchor[vstart[:-1]][all_pat]
        end = np.where(table["event"], table["date"], last_day[all_pat])
        # a patient with no assessment after the anchor is censored at time zero
        table["time_from_anchor_days"] = np.maximum(end - anchor_day, 0.0)
    events = pd.DataFrame({"patient_id": pd.array(ids[all_pat], dtype="string"), **table})
    for col in [c for c in events.columns if c.endswith("_date") or c == "date"]:
        events[col] = to_dates(events[col].to_numpy(dtype=float), calendar)
    events["event_type"] = events["event_type"].astype("string")
    if d.raw_pira:
        events["cdw_type"] = events["cdw_type"].astype("string")
    else:
        events = events.drop(columns="cdw_type")
    sustained = pd.array(events["sustained_to_last_visit"].to_numpy(dtype=bool), dtype="boolean")
    sustained[~events["event"].to_numpy()] = pd.NA
    events["sustained_to_last_visit"] = sustained

    patients = _patient_table(
        ids, counts, first_day, last_day, follow, pat, types, calendar, d.raw_pira
    )
    unconfirmed = _unconfirmed_table(ids, vstart, counts, n_unc, unc, unc_d, t, sign, calendar)
    return DisabilityEvents(
        events=events,
        patients=patients,
        unconfirmed=unconfirmed,
        excluded=excluded,
        definition=d,
        anchored=visits.anchor is not None,
        warnings=notes,
    )


def _blank(column: np.ndarray, n: int) -> np.ndarray:
    """Missing values shaped like ``column`` (NaN, None or False)."""
    if column.dtype == object:
        return np.full(n, None, dtype=object)
    if column.dtype == bool:
        return np.zeros(n, dtype=bool)
    return np.full(n, np.nan)


def _patient_table(
    ids: np.ndarray,
    counts: np.ndarray,
    first_day: np.ndarray,
    last_day: np.ndarray,
    follow: np.ndarray,
    pat: np.ndarray,
    types: np.ndarray,
    calendar: bool,
    classified: bool,
) -> pd.DataFrame:
    n = len(ids)
    table = pd.DataFrame(
        {
            "patient_id": pd.array(ids, dtype="string"),
            "n_visits": counts,
            "first_visit": to_dates(first_day, calendar),
            "last_visit": to_dates(last_day, calendar),
            "total_follow_up_days": follow,
            "n_events": np.bincount(pat, minlength=n),
            "cdw": np.bincount(pat[types != EV_CDI], minlength=n),
            "cdi": np.bincount(pat[types == EV_CDI], minlength=n),
        }
    )
    if classified:
        for name, code in (("pira", EV_PIRA), ("raw", EV_RAW), ("undefined", EV_CDW)):
            table[name] = np.bincount(pat[types == code], minlength=n)
    labels = _SEQUENCE_NAMES[types]
    sequence = np.full(n, "", dtype=object)
    bounds = np.flatnonzero(np.diff(pat)) + 1
    if len(pat):
        for who, chunk in zip(pat[np.r_[0, bounds]], np.split(labels, bounds), strict=True):
            sequence[who] = ", ".join(chunk)
    table["event_sequence"] = pd.array(sequence, dtype="string")
    return table


def _unconfirmed_table(
    ids: np.ndarray,
    vstart: np.ndarray,
    counts: np.ndarray,
    n_unc: np.ndarray,
    unc: np.ndarray,
    unc_d: np.ndarray,
    t: np.ndarray,
    sign: float,
    calendar: bool,
) -> pd.DataFrame:
    n_pat = len(ids)
    rep = np.repeat(np.arange(n_pat), counts)
    slot = np.arange(len(t)) - np.repeat(vstart[:-1], counts)
    used = slot < n_unc[rep]
    pat = rep[used]
    change = vstart[pat] + unc[used, 0]
    bl = vstart[pat] + unc[used, 1]
    return pd.DataFrame(
        {
            "patient_id": pd.array(ids[pat], dtype="string"),
            "date": to_dates(t[change], calendar),
            "value": sign * unc_d[used, 2],
            "baseline_date": to_dates(t[bl], calendar),
            "baseline_value": sign * unc_d[used, 3],
            "days_since_relapse": unc_d[used, 0],
            "days_to_next_relapse": unc_d[used, 1],
        }
    )
