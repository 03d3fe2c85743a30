"""Time to a confirmed EDSS milestone (e.g. first confirmed EDSS >= 6.0)."""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd

from msreboot.data import Cohort
from msreboot.endpoints._disability_cache import ensure_fresh
from msreboot.endpoints._disability_input import flat_layout, prepare, to_dates
from msreboot.endpoints._disability_layout import kernel_options
from msreboot.endpoints._disability_rules import DisabilityDefinition
from msreboot.endpoints._milestone_kernel import scan_milestone

__all__ = ["MilestoneResult", "time_to_milestone"]


@dataclass(frozen=True)
class MilestoneResult:
    """Time to a confirmed milestone, one row per patient.

    Attributes
    ----------
    table
        ``patient_id``, ``event`` (milestone reached and confirmed), ``date`` and ``value``
        of the first visit reaching it (the last visit when censored), ``time_days`` from
        the first visit, and ``time_from_anchor_days`` in anchored analyses.
    milestone
        The EDSS value to reach (inclusive).
    definition
        The confirmation, relapse-buffer and imputation rules used.
    excluded
        Patients left out of an anchored analysis, with the reason.
    warnings
        What was dropped at the border.
    """

    table: pd.DataFrame
    milestone: float
    definition: DisabilityDefinition
    excluded: pd.DataFrame
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        reached = int(self.table["event"].sum())
        return (
            f"Confirmed EDSS >= {self.milestone:g}: {reached} of {len(self.table)} patients "
            f"({self.definition.confirmation.days[0]:g}-day confirmation)"
        )

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(self.summary())}</p>" + self.table.head(20).to_html(index=False)


def time_to_milestone(
    data: Cohort | pd.DataFrame,
    milestone: float = 6.0,
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
) -> MilestoneResult:
    """First confirmed assessment at or above an EDSS milestone, per patient.

    The first visit reaching ``milestone`` (outside the event relapse buffer) counts when
    the first eligible visit in the confirmation windows, and every visit in between
    (unless ``check_intermediate`` is off), is also at or above it, and it is sustained as
    required; otherwise the scan moves on to the next visit reaching it. Confirmation,
    relapse buffers and last-visit imputation come from ``definition`` (thresholds and
    baselines play no part). With an anchor only visits after the anchor can reach it.

    Examples
    --------
    >>> from msreboot.datasets import load_example
    >>> result = time_to_milestone(load_example(), 6.0)
    >>> int(result.table["event"].sum()) > 0
    True
    """
    definition = definition or DisabilityDefinition()
    if not 0 <= milestone <= 10 and definition.threshold.function is None:
        raise ValueError(f"milestone must be an EDSS value in [0, 10]; got {milestone}.")
    visits, rel, calendar, excluded, notes = prepare(
        data,
        relapses,
        definition,
        anchor,
        (patient_col, date_col, value_col, valid_col, relapse_date_col, relapse_end_col),
    )
    lay = flat_layout(visits, rel)
    sign = 1.0 if definition.direction == "increase" else -1.0
    _, fp, lo, hi = kernel_options(definition)
    ensure_fresh()
    hit = scan_milestone(
        lay.vstart,
        lay.t,
        np.ascontiguousarray(sign * lay.value),
        lay.valid,
        lay.rstart,
        lay.r,
        sign * float(milestone),
        fp,
        lo,
        hi,
        definition.confirmation.check_intermediate,
        definition.impute_last_visit,
        1 if visits.anchor is not None else 0,
    )
    event = hit >= 0
    index = np.where(event, lay.vstart[:-1] + hit, lay.vstart[1:] - 1)
    first_day = lay.t[lay.vstart[:-1]]
    table = pd.DataFrame(
        {
            "patient_id": pd.array(lay.ids, dtype="string"),
            "event": event,
            "date": to_dates(lay.t[index], calendar),
            "value": lay.value[index],
            "time_days": lay.t[index] - first_day,
        }
    )
    if visits.anchor is not None:
        anchor_day = visits.anchor[lay.vstart[:-1]]
        table["time_from_anchor_days"] = np.maximum(lay.t[index] - anchor_day, 0.0)
    return MilestoneResult(table, float(milestone), definition, excluded, tuple(notes))
