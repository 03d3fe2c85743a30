"""Time to the first event of a composite endpoint, per patient, from a cohort.

Each component of an :class:`EndpointDefinition` gives, per patient, the day of its first
event after time zero and the last day it was assessed; the endpoint combines them with
the patient's death and follow-up. Days count from each patient's time zero (by default
the first AHSCT reinfusion).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from msreboot.data import DAYS_PER_YEAR, Cohort, days_between
from msreboot.endpoints._definitions import (
    DisabilityComponent,
    EndpointDefinition,
    MRIComponent,
    RelapseComponent,
)
from msreboot.endpoints._disability import run_detection
from msreboot.endpoints._disability_input import Visits, anchor_table, input_key, prepare
from msreboot.endpoints._disability_measures import measure_frame
from msreboot.endpoints._mri_scans import scan_activity
from msreboot.endpoints._patients import patient_codes, patient_index
from msreboot.endpoints._transplant import _last_contact, first_course_start

__all__ = ["EndpointTimes", "endpoint_times"]

Anchor = str | pd.DataFrame
T = TypeVar("T")
_EDSS_COLUMNS = ("patient_id", "date", "edss", "valid_for_confirmation", "onset_date", "end_date")


@dataclass(frozen=True)
class ComponentDays:
    """One component, per patient (index ``patient_id``): first event day and last
    assessed day after time zero (``nan``: none)."""

    first_event: pd.Series
    assessed_until: pd.Series
    excluded: pd.DataFrame


@dataclass(frozen=True)
class _Context:
    cohort: Cohort
    day0: pd.Series  # patient_id -> time zero (date or day number)
    anchor_key: Hashable | None = None  # a treatment kind; None: a table (nothing shared)

    def shared(self, key: tuple[Hashable, ...], compute: Callable[[], T]) -> T:
        """``compute()`` once per cohort, time zero and ``key`` (every endpoint of a cohort
        with the same component rules reuses it); computed afresh for an anchor table."""
        if self.anchor_key is None:
            return compute()
        return self.cohort.derived(("endpoint_component", self.anchor_key, *key), compute)

    def days(self, frame: pd.DataFrame, column: str) -> pd.Series:
        """Days from each row's patient's time zero to ``column`` (NaN without one)."""
        zero = self.day0.reindex(frame["patient_id"].to_numpy())
        return days_between(
            pd.Series(frame[column].to_numpy(), dtype=frame[column].dtype),
            pd.Series(zero.to_numpy(), dtype=zero.dtype),
        ).set_axis(frame.index)

    def per_patient(self, values: pd.Series, how: str) -> pd.Series:
        return values.groupby(level=0).agg(how).reindex(self.day0.index).astype(float)

    @cached_property
    def _id_codes(self) -> np.ndarray:
        return np.asarray(patient_index(self.cohort).get_indexer(self.day0.index), dtype=np.int64)

    @cached_property
    def _zero_by_code(self) -> pd.Series:
        """Time zero by position in the patients table (missing: no time zero)."""
        return self.day0.reindex(patient_index(self.cohort)).reset_index(drop=True)

    def table_days(self, name: str, column: str) -> pd.Series:
        """Days from each row's patient's time zero to ``column`` of a cohort table."""
        frame = self.cohort.table(name)
        zero = self._zero_by_code.iloc[patient_codes(self.cohort, name)]
        return days_between(
            pd.Series(frame[column].to_numpy(), dtype=frame[column].dtype),
            pd.Series(zero.to_numpy(), dtype=zero.dtype),
        ).set_axis(frame.index)

    def per_patient_rows(
        self, name: str, values: pd.Series, keep: np.ndarray, how: str
    ) -> pd.Series:
        """``how`` (min, max) of ``values`` of a cohort table's rows where ``keep``, per
        patient with time zero (NaN: none)."""
        codes = patient_codes(self.cohort, name)[keep]
        agg = pd.Series(values.to_numpy(dtype=float)[keep]).groupby(codes).agg(how)
        return pd.Series(agg.reindex(self._id_codes).to_numpy(dtype=float), index=self.day0.index)

    @cached_property
    def contact_days(self) -> pd.Series:
        """Days from time zero to each patient's last record of any kind."""
        return self.shared(
            ("contact_days",),
            lambda: days_between(_last_contact(self.cohort).reindex(self.day0.index), self.day0),
        )

    @cached_property
    def death_days(self) -> pd.Series:
        """Days from time zero to death (NaN: alive)."""
        deaths = self.cohort.deaths.set_index("patient_id")["date"]
        return self.shared(
            ("death_days",),
            lambda: days_between(deaths.reindex(self.day0.index), self.day0).astype(float),
        )


def _relapse_days_uncached(ctx: _Context, component: RelapseComponent) -> ComponentDays:
    rel = ctx.cohort.relapses
    day = ctx.table_days("relapses", "onset_date")
    keep = day >= component.from_days
    if component.min_duration_days:
        length = days_between(rel["end_date"], rel["onset_date"])
        keep &= ~(length < component.min_duration_days)
    first = ctx.per_patient_rows("relapses", day, keep.to_numpy(dtype=bool), "min")
    return ComponentDays(first, ctx.contact_days, _no_exclusions())


def _disability_days_uncached(ctx: _Context, component: DisabilityComponent) -> ComponentDays:
    definition = component.engine_definition()
    if definition.measure == "edss":
        edss = ctx.cohort.edss
        day = ctx.table_days("edss", "date")
    else:  # T25FW, 9HPT, SDMT: the measure's series, shaped as the edss table
        edss = measure_frame(ctx.cohort, definition.measure, definition.hand)
        day = ctx.days(edss, "date")

    def inputs() -> tuple[Visits, pd.DataFrame, bool, pd.DataFrame, list[str]]:
        used = edss[~((day > 0) & (day < component.from_days))]
        anchor = pd.DataFrame({"patient_id": ctx.day0.index, "anchor_date": ctx.day0.to_numpy()})
        return prepare(used, ctx.cohort.relapses, definition, anchor, _EDSS_COLUMNS)

    # the visits are read once per window and check, then scanned under each rule set
    key = ("disability_input", component.from_days, *input_key(definition))
    visits, relapses, calendar, excluded, notes = ctx.shared(key, inputs)
    result = run_detection(visits, relapses, definition, calendar, excluded, tuple(notes))
    events = result.events[result.events["event"].astype(bool)]
    first = ctx.per_patient(
        events["time_from_anchor_days"].astype(float).set_axis(events["patient_id"]), "min"
    )
    if definition.measure == "edss":
        until = ctx.per_patient_rows("edss", day, (day >= 0).to_numpy(dtype=bool), "max")
    else:
        after = day[(day >= 0).to_numpy(dtype=bool)]
        until = ctx.per_patient(after.set_axis(edss["patient_id"][after.index].to_numpy()), "max")
    excluded = result.excluded[result.excluded["patient_id"].isin(ctx.day0.index)]
    return ComponentDays(first, until, excluded.reset_index(drop=True))


def _mri_days_uncached(ctx: _Context, component: MRIComponent) -> ComponentDays:
    scans = scan_activity(
        ctx.cohort,
        ctx.day0,
        regions=component.regions,
        rebaseline_days=math.ceil(component.from_days),
        min_gd=component.min_gd,
        min_new_t2=component.min_new_t2,
    )
    after = scans["assessed"].to_numpy(dtype=bool) & (scans["day"] >= 0).to_numpy(dtype=bool)
    hits = after & scans["active"].fillna(False).to_numpy(dtype=bool)
    day = scans["day"].astype(float).set_axis(scans["patient_id"])
    return ComponentDays(
        ctx.per_patient(day[hits], "min"), ctx.per_patient(day[after], "max"), _no_exclusions()
    )


def _no_exclusions() -> pd.DataFrame:
    return pd.DataFrame({"patient_id": pd.Series(dtype="string"), "reason": pd.Series(dtype=str)})


def _relapse_days(ctx: _Context, component: RelapseComponent) -> ComponentDays:
    return ctx.shared(("relapse", component), lambda: _relapse_days_uncached(ctx, component))


def _disability_days(ctx: _Context, component: DisabilityComponent) -> ComponentDays:
    return ctx.shared(("disability", component), lambda: _disability_days_uncached(ctx, component))


def _mri_days(ctx: _Context, component: MRIComponent) -> ComponentDays:
    return ctx.shared(("mri", component), lambda: _mri_days_uncached(ctx, component))


_COMPONENT_DAYS = {
    "relapse": _relapse_days,
    "disability": _disability_days,
    "mri": _mri_days,
}


def component_labels(definition: EndpointDefinition) -> list[str]:
    """Column labels of the components: the kind, numbered when a kind repeats."""
    kinds = [c.kind for c in definition.components]
    return [k if kinds.count(k) == 1 else f"{k}_{i + 1}" for i, k in enumerate(kinds)]


def add_label(labels: npt.NDArray[np.object_], mask: npt.NDArray[np.bool_], label: str) -> None:
    """Append ``label`` to the ``+``-joined labels where ``mask`` holds (in place)."""
    labels[mask] = [f"{c}+{label}" if c else label for c in labels[mask]]


def anchor_days(cohort: Cohort, anchor: Anchor) -> pd.Series:
    """Each patient's time zero: the first course of a treatment kind, or a table of
    ``patient_id`` and ``anchor_date``."""
    if isinstance(anchor, str):
        return first_course_start(cohort, anchor)
    return anchor_table(anchor)


@dataclass(frozen=True)
class EndpointTimes:
    """Per-patient time to the first event of an endpoint.

    Attributes
    ----------
    definition
        The endpoint definition used.
    patients
        One row per evaluated patient: ``patient_id``, ``time_days`` and ``time_years``
        from time zero, ``status`` (0 censored, 1 event, 2 death as a competing risk),
        ``event`` (status == 1), ``cause`` (the component(s) or ``death``; ties joined by
        ``+``), ``censored_at`` (why follow-up ended when censored) and, per component,
        the day of its first event and the last day it was assessed.
    excluded
        Patients with time zero who could not be evaluated, with the reason (no EDSS on or
        before time zero for a disability component; death before time zero).
    anchor
        What time zero was (a treatment kind, or ``"table"``).
    """

    definition: EndpointDefinition
    patients: pd.DataFrame
    excluded: pd.DataFrame
    anchor: str

    @property
    def n(self) -> int:
        return len(self.patients)

    @property
    def n_events(self) -> int:
        return int((self.patients["status"] == 1).sum())

    def to_frame(self) -> pd.DataFrame:
        return self.patients.copy()

    def summary(self) -> str:
        causes = self.patients.loc[self.patients["status"] > 0, "cause"].value_counts()
        text = (
            f"{self.definition.title or self.definition.name}: {self.n} patients, "
            f"{self.n_events} events"
        )
        if len(causes):
            text += " (" + ", ".join(f"{c} {k}" for c, k in causes.items()) + ")"
        if len(self.excluded):
            text += f"; {len(self.excluded)} not evaluable"
        return text

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(self.summary())}</p>" + self.patients.head(20).to_html(
            index=False, na_rep=""
        )


def endpoint_times(
    cohort: Cohort, definition: EndpointDefinition, *, anchor: Anchor = "ahsct"
) -> EndpointTimes:
    """Time from time zero to the first event of ``definition``, for every patient.

    Parameters
    ----------
    cohort
        A validated cohort.
    definition
        The endpoint (``EndpointDefinition.halt_ms_efs()``, or one read from a file).
    anchor
        Time zero: each patient's first course of a treatment kind (``"ahsct"``: the
        reinfusion, day 0), or a table of ``patient_id`` and ``anchor_date`` (e.g. the
        randomisation date). Patients without one are not in the result.

    Returns
    -------
    EndpointTimes

    Notes
    -----
    A component's first event is the first relapse onset, confirmed disability event (its
    event date, not the confirmation) or active scan on or after its ``from_days``. A
    patient who died is followed to death: an earlier component event is the event, else
    the death is an event, a censoring or a competing event as the definition says. A
    patient alive is censored, under ``censor="all_components"``, at the earliest of the
    components' last assessments (a component that cannot fire before its ``from_days``
    counts as assessed up to that day, or to the last contact if earlier); events after
    that day are not counted, since an earlier event of another component could have been
    missed. Under ``censor="last_contact"`` the censoring day is the last record of any
    kind. Times are whole days; years are days / 365.25.

    Examples
    --------
    >>> from msreboot.datasets import load_example
    >>> times = endpoint_times(load_example(), EndpointDefinition.halt_ms_efs())
    >>> print(times.summary())  # doctest: +ELLIPSIS
    HALT-MS event-free survival: 180 patients, ... events (...)...
    """
    day0 = anchor_days(cohort, anchor)
    ctx = _Context(cohort, day0, anchor if isinstance(anchor, str) else None)
    ids = day0.index
    # every per-patient value as a numpy array in the order of ids (aligning pandas objects
    # on string ids costs more than the arithmetic)
    contact = ctx.contact_days.to_numpy(dtype=float, na_value=np.nan)
    contact = np.where(np.isnan(contact), 0.0, contact)
    death = ctx.death_days.to_numpy(dtype=float, na_value=np.nan)
    columns: dict[str, np.ndarray] = {}
    firsts: list[np.ndarray] = []
    untils: list[np.ndarray] = []
    excluded = []
    labels = component_labels(definition)
    for label, component in zip(labels, definition.components, strict=True):
        result = _COMPONENT_DAYS[component.kind](ctx, component)  # type: ignore[operator]
        first_event = result.first_event.to_numpy(dtype=float, na_value=np.nan)
        assessed = result.assessed_until.to_numpy(dtype=float, na_value=np.nan)
        until = np.maximum(np.where(np.isnan(assessed), 0.0, assessed), 0.0)
        until = np.maximum(until, np.minimum(component.from_days, contact))
        columns[f"{label}_day"] = first_event
        columns[f"{label}_assessed_until_day"] = until
        firsts.append(first_event)
        untils.append(until)
        excluded.append(result.excluded)
    dead_early = death < 0
    excluded.append(
        pd.DataFrame({"patient_id": ids[dead_early], "reason": "died before time zero"})
    )
    nothing = np.full(len(ids), np.nan)
    event_day = np.fmin.reduce(np.vstack(firsts), axis=0) if firsts else nothing
    cause = np.full(len(ids), "", dtype=object)
    for label, first_event in zip(labels, firsts, strict=True):
        add_label(cause, first_event == event_day, label)
    if definition.censor == "all_components" and untils:
        censor_day = np.vstack(untils).min(axis=0)
    else:
        censor_day = contact
    died = ~np.isnan(death)
    limit = np.where(died, death, censor_day)
    has_event = ~np.isnan(event_day) & (event_day <= limit)
    status = np.where(has_event, 1, 0).astype(np.int64)
    time = np.where(has_event, event_day, limit)
    death_first = died & ~has_event
    if definition.death == "event":
        status[death_first] = 1
    elif definition.death == "competing":
        status[death_first] = 2
    reason = np.full(len(ids), "", dtype=object)
    reason[~has_event & ~died] = "follow-up"
    if definition.death == "censor":
        reason[death_first] = "death"
    out_cause = np.where(has_event, cause, "").astype(object)
    out_cause[death_first & (status > 0)] = "death"
    patients = pd.DataFrame(
        {
            "patient_id": pd.array(ids.to_numpy(dtype=object), dtype="string"),
            "time_days": time,
            "time_years": time / DAYS_PER_YEAR,
            "status": status,
            "event": status == 1,
            "cause": out_cause,
            "censored_at": reason,
            "death_day": death,
            **columns,
        }
    )
    parts = [e for e in excluded if len(e)]
    gone = pd.concat(parts, ignore_index=True) if parts else _no_exclusions()
    gone = gone.drop_duplicates("patient_id")
    patients = patients[~patients["patient_id"].isin(gone["patient_id"])].reset_index(drop=True)
    label = anchor if isinstance(anchor, str) else "table"
    return EndpointTimes(definition, patients, gone.reset_index(drop=True), label)
