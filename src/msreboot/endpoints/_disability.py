"""Confirmed disability worsening (CDW), improvement (CDI), RAW and PIRA from EDSS visits.

The border (:mod:`._disability_input`) turns a cohort or any long table into sorted flat
arrays; this module runs the compiled per-patient scan over the cohort
(:mod:`._disability_chunks` and :mod:`._disability_kernel`, with the options of
:mod:`._disability_layout`); :mod:`._disability_tables` assembles the tidy tables.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from msreboot.data import Cohort
from msreboot.endpoints._disability_cache import ensure_fresh
from msreboot.endpoints._disability_chunks import scan_cohort
from msreboot.endpoints._disability_input import Visits, flat_layout, prepare
from msreboot.endpoints._disability_layout import (
    N_OUT_FIXED,
    OUT_TYPE,
    STATUS_OVERFLOW,
    STATUS_UNCONFIRMED_TRUNCATED,
    kernel_options,
)
from msreboot.endpoints._disability_order import step_thresholds
from msreboot.endpoints._disability_rules import DisabilityDefinition, ThresholdRule
from msreboot.endpoints._disability_tables import (
    PIRA_RELAPSE,
    events_table,
    patient_table,
    unconfirmed_table,
)

__all__ = ["DisabilityEvents", "detect_disability_events"]


@dataclass(frozen=True)
class DisabilityEvents:
    """Confirmed disability events of a cohort under one :class:`DisabilityDefinition`.

    Attributes
    ----------
    events
        One row per event, plus one censored row (``event`` False, time = total follow-up)
        for each patient without events. Columns: ``patient_id``, ``event_number``,
        ``event`` (bool), ``event_type`` (CDW / CDI), ``cdw_type`` (PIRA / RAW / undefined
        when classified, and "PIRA with relapse during confirmation" when
        :class:`PIRARule` reports it), ``date``, ``value``, ``baseline_date``, ``baseline_value``,
        ``last_delta_date`` / ``_value`` (last visit from which the change is meaningful),
        ``confirmation_<days>_date`` / ``_value`` per confirmation period (and
        ``pira_confirmation_<days>_*`` when classified), ``total_follow_up_days``,
        ``time_days`` (first visit to event), ``baseline_to_event_days``,
        ``time_from_anchor_days`` (anchored analyses), ``sustained_days``,
        ``sustained_to_last_visit``. Dates are timestamps, or day numbers for day-unit data.
    patients
        One row per patient: visits, first and last visit, follow-up, counts of CDW, CDI,
        RAW, PIRA and undefined worsening (and ``pira_relapse_during_confirmation`` when
        reported), and the event sequence (``PIRA-R``: PIRA with relapse during
        confirmation).
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
        """Number of events of a type: ``CDW``, ``CDI``, ``PIRA``, ``RAW``, ``undefined``
        or ``PIRA with relapse during confirmation``."""
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
            if d.pira.report_relapse_during_confirmation:
                lines.append(f"  PIRA with relapse during confirmation: {self.count(PIRA_RELAPSE)}")
        with_event = int((self.patients["n_events"] > 0).sum())
        lines.append(f"  patients with at least one event: {with_event}")
        if d.unconfirmed_worsening:
            unconfirmed = int((self.patients["cdw_unconfirmed"]).sum())
            lines.append(f"  of which unconfirmed worsening (sensitivity mode): {unconfirmed}")
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
    cluster: str | None = None,
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
    cluster
        A Spark master (``"local[2]"``, ``"spark://host:7077"``, ``"yarn"``): the scan runs
        per patient partition as Spark tasks (``applyInPandas``), with the same result as
        ``None`` (the default: this machine). Needs ``msreboot[spark]`` and Java.

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
    columns = (patient_col, date_col, value_col, valid_col, relapse_date_col, relapse_end_col)
    if cluster:
        from msreboot.endpoints._partitions import partitioned_disability_events

        names = "patient_col date_col value_col valid_col relapse_date_col relapse_end_col"
        options = dict(zip(names.split(), columns, strict=True))
        return partitioned_disability_events(
            data,
            relapses,
            definition,
            anchor=anchor,
            cluster=cluster,
            options=options,
            detect=detect_disability_events,
        )
    visits, rel, calendar, excluded, notes = prepare(
        data,
        relapses,
        definition,
        anchor,
        columns,
    )
    return run_detection(visits, rel, definition, calendar, excluded, tuple(notes))


def run_detection(
    visits: Visits,
    rel: pd.DataFrame,
    definition: DisabilityDefinition,
    calendar: bool,
    excluded: pd.DataFrame,
    notes: tuple[str, ...],
) -> DisabilityEvents:
    """Scan prepared visits under ``definition`` (read only: one prepared input can be
    scanned under several definitions with the same ``input_key``)."""
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
    rstart, r, rend = lay.rstart, lay.r, lay.rend
    sign = 1.0 if d.direction == "increase" else -1.0
    x = value if sign == 1.0 else np.ascontiguousarray(sign * value)  # the scan only reads x
    dw = _thresholds(d.threshold, value)
    improvement = d.improvement_threshold or d.threshold
    di = dw if improvement == d.threshold else _thresholds(improvement, value)

    ip, fp, lo, hi = kernel_options(d)
    ensure_fresh()
    pat, E, V, n_events, unc_pat, unc, unc_d, _, status = scan_cohort(
        vstart, t, x, dw, di, valid, rstart, r, rend, ip, fp, lo, hi
    )
    del x, dw, di  # the thresholds are not needed for the tables
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

    id_strings = _strings(ids)
    events = events_table(
        d, id_strings, vstart, t, pat, E, V, n_events, sign, calendar, visits.anchor
    )
    types = E[:, OUT_TYPE]
    patients = patient_table(
        id_strings,
        counts,
        t,
        vstart,
        pat,
        n_events,
        types,
        calendar,
        d.raw_pira,
        d.raw_pira and d.pira.report_relapse_during_confirmation,
        _confirmed(E, len(d.confirmation.days)) if d.unconfirmed_worsening else None,
    )
    unconfirmed = unconfirmed_table(id_strings, t, unc_pat, unc, unc_d, sign, calendar)
    return DisabilityEvents(
        events=events,
        patients=patients,
        unconfirmed=unconfirmed,
        excluded=excluded,
        definition=d,
        anchored=visits.anchor is not None,
        warnings=notes,
    )


def _confirmed(E: np.ndarray, n_periods: int) -> np.ndarray:
    """Whether each event has a confirmation visit (False: unconfirmed or imputed)."""
    return np.asarray(np.any(E[:, N_OUT_FIXED : N_OUT_FIXED + n_periods] >= 0, axis=1))


def _thresholds(rule: ThresholdRule, value: np.ndarray) -> np.ndarray:
    """``rule.delta(value)``, compiled for a table of steps."""
    if rule.function is None and rule.relative == 0:
        bounds = np.array([b for b, _ in rule.steps], dtype=float)
        if bool(np.all(np.diff(bounds) > 0)) and bounds[-1] == np.inf:
            deltas = np.array([delta for _, delta in rule.steps], dtype=float)
            return step_thresholds(value, bounds, deltas)
    return rule.delta(value)


def _strings(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Patient ids as a pandas string array (taken from, never converted again)."""
    return pd.array(values, dtype="string")
