"""NEDA over a window: no evidence of disease activity, activity, or not evaluable.

A patient has NEDA over a window only when every component of the definition was
assessed up to the end of the window and none showed activity; a component not assessed
makes the patient "not evaluable", never silently NEDA.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd

from msreboot.data import DAYS_PER_YEAR, Cohort
from msreboot.endpoints._composite import (
    _COMPONENT_DAYS,
    Anchor,
    _Context,
    add_label,
    anchor_days,
    component_labels,
)
from msreboot.endpoints._definitions import EndpointDefinition
from msreboot.stats import check_conf_level, exact_binomial_ci

__all__ = ["NEDAStatus", "neda_status"]


@dataclass(frozen=True)
class NEDAStatus:
    """NEDA status of each patient over one window after time zero.

    Attributes
    ----------
    patients
        One row per patient with time zero: ``status`` (``"NEDA"``, ``"activity"`` or
        ``"not evaluable"``), ``reason`` (the active components, or why not evaluable),
        and per component ``<component>_active`` and ``<component>_assessed``.
    window_years
        (start, end) of the window in years from time zero.
    n_neda, n_activity, n_not_evaluable
        Counts of each status.
    proportion, ci_low, ci_high, conf_level
        NEDA among evaluable patients (NEDA + activity) with its exact interval.
    definition
        The components used (NEDA-3 by default).
    """

    patients: pd.DataFrame
    window_years: tuple[float, float]
    n_neda: int
    n_activity: int
    n_not_evaluable: int
    proportion: float
    ci_low: float
    ci_high: float
    conf_level: float
    definition: EndpointDefinition

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "endpoint": self.definition.name,
                    "window_start_years": self.window_years[0],
                    "window_end_years": self.window_years[1],
                    "neda": self.n_neda,
                    "activity": self.n_activity,
                    "not_evaluable": self.n_not_evaluable,
                    "proportion": self.proportion,
                    "ci_low": self.ci_low,
                    "ci_high": self.ci_high,
                    "conf_level": self.conf_level,
                }
            ]
        )

    def summary(self) -> str:
        a, b = self.window_years
        evaluable = self.n_neda + self.n_activity
        pct = f"{100 * self.conf_level:g}%"
        share = (
            f"{100 * self.proportion:.1f}% ({pct} CI {100 * self.ci_low:.1f}-"
            f"{100 * self.ci_high:.1f}%, exact)"
            if evaluable
            else "not estimable"
        )
        text = (
            f"{self.definition.name} from year {a:g} to {b:g}: {self.n_neda}/{evaluable} "
            f"evaluable patients with NEDA = {share}; {self.n_activity} with activity; "
            f"{self.n_not_evaluable} not evaluable"
        )
        reasons = self.patients.loc[self.patients["status"] == "not evaluable", "reason"]
        if len(reasons):
            text += " (" + ", ".join(f"{r}: {k}" for r, k in reasons.value_counts().items()) + ")"
        return text

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(self.summary())}</p>"


def neda_status(
    cohort: Cohort,
    *,
    window_years: tuple[float, float] = (0.0, 2.0),
    definition: EndpointDefinition | None = None,
    anchor: Anchor = "ahsct",
    assessment_tolerance_days: float = 90.0,
    conf_level: float = 0.95,
) -> NEDAStatus:
    """Whether each patient had no evidence of disease activity over a window.

    Parameters
    ----------
    cohort
        A validated cohort.
    window_years
        (start, end) in years from time zero; ``(0, 2)``: the first two years.
    definition
        The components (default :meth:`EndpointDefinition.neda_3`: relapse, confirmed
        disability worsening, MRI activity). Its ``death`` setting is not used: a death in
        the window without earlier activity makes the patient not evaluable.
    anchor
        Time zero: a treatment kind or a table of ``patient_id`` and ``anchor_date``.
    assessment_tolerance_days
        A component counts as assessed over the window when its last assessment (relapse:
        last contact; disability: last EDSS; MRI: last assessed scan) lies no earlier than
        this many days before the window's end (and not before its start).
    conf_level
        Level of the exact (Clopper-Pearson) interval of the NEDA proportion.

    Returns
    -------
    NEDAStatus

    Notes
    -----
    Activity: a component's first event after time zero lies in the window (from the
    later of the window start and the component's ``from_days``; for disability, EDSS
    visits between time zero and the window start are not used, so the reference stays
    the pre-treatment baseline). A patient with activity is "activity" even if another
    component was not assessed. Otherwise the patient is "not evaluable" when they died
    by the window's end, had no baseline EDSS, or any component was not assessed to the
    window's end; else "NEDA".

    Examples
    --------
    >>> from msreboot.datasets import load_example
    >>> print(neda_status(load_example()).summary())  # doctest: +ELLIPSIS
    neda_3 from year 0 to 2: ... evaluable patients with NEDA = ...
    """
    start, end = (float(w) for w in window_years)
    if not 0 <= start < end:
        raise ValueError(
            f"window_years must be (start, end) with 0 <= start < end; got {window_years}."
        )
    if not assessment_tolerance_days >= 0:
        raise ValueError(
            f"assessment_tolerance_days must be >= 0; got {assessment_tolerance_days}."
        )
    check_conf_level(conf_level)
    definition = definition or EndpointDefinition.neda_3()
    if not definition.components:
        raise ValueError(f"definition {definition.name!r} has no components to assess.")
    day0 = anchor_days(cohort, anchor)
    ids = day0.index
    ctx = _Context(cohort, day0)
    start_day, end_day = start * DAYS_PER_YEAR, end * DAYS_PER_YEAR
    columns: dict[str, np.ndarray] = {}
    active_any = np.zeros(len(ids), dtype=bool)
    assessed_all = np.ones(len(ids), dtype=bool)
    reasons = np.full(len(ids), "", dtype=object)
    no_baseline = np.zeros(len(ids), dtype=bool)
    for label, component in zip(component_labels(definition), definition.components, strict=True):
        shifted = component.model_copy(update={"from_days": max(component.from_days, start_day)})
        days = _COMPONENT_DAYS[component.kind](ctx, shifted)  # type: ignore[operator]
        first = days.first_event.reindex(ids)
        active = (first <= end_day).to_numpy(dtype=bool)
        assessed = (
            days.assessed_until.reindex(ids) >= max(start_day, end_day - assessment_tolerance_days)
        ).to_numpy(dtype=bool)
        no_baseline |= ids.isin(days.excluded["patient_id"])
        columns[f"{label}_active"] = active
        columns[f"{label}_assessed"] = assessed
        add_label(reasons, active, label)
        active_any |= active
        assessed_all &= assessed
    died = (ctx.death_days <= end_day).to_numpy(dtype=bool)
    status = np.where(active_any, "activity", "NEDA").astype(object)
    for mask, why in (
        (~assessed_all, "not assessed"),
        (no_baseline, "no baseline EDSS"),
        (died, "died"),
    ):
        hit = ~active_any & mask
        status[hit] = "not evaluable"
        reasons[hit] = why
    patients = pd.DataFrame(
        {
            "patient_id": pd.array(ids.to_numpy(dtype=object), dtype="string"),
            "status": status,
            "reason": reasons,
            **columns,
        }
    )
    n_neda = int((status == "NEDA").sum())
    n_activity = int((status == "activity").sum())
    evaluable = n_neda + n_activity
    lo, hi = exact_binomial_ci(n_neda, evaluable, conf_level) if evaluable else (np.nan, np.nan)
    return NEDAStatus(
        patients=patients,
        window_years=(start, end),
        n_neda=n_neda,
        n_activity=n_activity,
        n_not_evaluable=len(ids) - evaluable,
        proportion=n_neda / evaluable if evaluable else np.nan,
        ci_low=lo,
        ci_high=hi,
        conf_level=conf_level,
        definition=definition,
    )
