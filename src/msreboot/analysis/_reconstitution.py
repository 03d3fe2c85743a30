"""Immune reconstitution after AHSCT: lymphocyte-subset counts by months since reinfusion."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from msreboot.analysis._since_ahsct import (
    BASELINE_DAYS,
    DAYS_PER_MONTH,
    check_months,
    month_label,
    results_since_ahsct,
    summarise_by_month,
    transplant_origins,
)
from msreboot.data import Cohort

__all__ = [
    "BASELINE_DAYS",
    "DAYS_PER_MONTH",
    "RECONSTITUTION_ANALYTES",
    "RECONSTITUTION_MONTHS",
    "ImmuneReconstitution",
    "immune_reconstitution",
]

RECONSTITUTION_ANALYTES = ("lymphocytes", "cd4", "cd8", "cd19", "nk")
"""The analytes summarised, in the order shown (codes of :data:`msreboot.data.ANALYTES`)."""

RECONSTITUTION_MONTHS = (1.0, 3.0, 6.0, 12.0, 24.0, 36.0, 48.0, 60.0)
"""Months after reinfusion (day 0) summarised unless told otherwise."""


@dataclass(frozen=True, eq=False)
class ImmuneReconstitution:
    """Lymphocyte-subset counts of transplanted patients by months since AHSCT.

    Attributes
    ----------
    n_transplanted
        Patients with an AHSCT course (the first course's reinfusion is day 0).
    months
        The time points, in months after day 0; month 0 is the baseline.
    table
        One row per analyte and time point (every pair, in order, even without data):
        ``analyte``, ``month`` (0 = baseline), ``from_day`` and ``to_day`` (the window, in
        days from day 0, ``from_day <= day < to_day``; ``nan`` for the baseline, whose
        window is set by each course's start), ``n_patients`` (with a result in
        the window), ``median``, ``q1``, ``q3`` (cells/uL; ``nan`` without patients).
    n_results
        Laboratory results of these analytes of transplanted patients (all dates).
    """

    n_transplanted: int
    months: tuple[float, ...]
    table: pd.DataFrame = field(repr=False)
    n_results: int

    @property
    def available(self) -> bool:
        """Whether any time point has a patient."""
        return bool((self.table["n_patients"] > 0).any())

    def to_frame(self) -> pd.DataFrame:
        """The table (a copy)."""
        return self.table.copy()

    def summary(self) -> str:
        if not self.available:
            return (
                f"Immune reconstitution: no lymphocyte-subset results for the "
                f"{self.n_transplanted} transplanted patients"
            )
        lines = [
            f"Immune reconstitution of {self.n_transplanted} transplanted patients, "
            "cells/uL: median [Q1, Q3] (patients)"
        ]
        for analyte, part in self.table.groupby("analyte", sort=False):
            cells = [
                f"{month_label(float(m))} {med:.0f} [{lo:.0f}, {hi:.0f}] ({int(n)})"
                for m, med, lo, hi, n in zip(
                    part["month"],
                    part["median"],
                    part["q1"],
                    part["q3"],
                    part["n_patients"],
                    strict=True,
                )
                if n > 0
            ]
            lines.append(f"  {analyte}: " + ("; ".join(cells) or "no results"))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def immune_reconstitution(
    cohort: Cohort, *, months: Sequence[float] = RECONSTITUTION_MONTHS
) -> ImmuneReconstitution:
    r"""Median and quartiles of lymphocyte, CD4, CD8, CD19 and NK counts by months since AHSCT.

    Parameters
    ----------
    cohort
        A validated cohort; its ``labs`` table (counts in cells/uL) and AHSCT courses are
        used. A cohort without either gives a result with no patients (not an error).
    months
        Time points in months after reinfusion (increasing, > 0); the baseline is added.

    Returns
    -------
    ImmuneReconstitution

    Raises
    ------
    ValueError
        ``months`` is empty, not increasing or not positive.

    Notes
    -----
    Day 0 is each patient's first AHSCT reinfusion (``start_date``); later courses are
    not new origins. A month is 30.4375 days. Time point :math:`m_i` takes the results on
    days :math:`d` with :math:`(m_{i-1} + m_i) / 2 \le d / 30.4375 < (m_i + m_{i+1}) / 2`
    (:math:`m_0 = 0`; after the last point the window extends half the last gap), and of
    each patient's results in the window the one closest to :math:`m_i` (the earlier on a
    tie). The baseline is each patient's last result in the :data:`BASELINE_DAYS` days
    before the course began (the first of mobilisation, conditioning start, admission and
    reinfusion). Results during the first half-month (aplasia) belong to no time point.
    Quartiles are R's default ``quantile`` (type 7, linear interpolation); checked
    against an independent R implementation (``tests/reference/analysis/``).

    Examples
    --------
    >>> from msreboot.datasets import load_example
    >>> result = immune_reconstitution(load_example())
    >>> result.available  # the example's synthetic panels of its transplanted patients
    True
    >>> result.to_frame()[["analyte", "month", "n_patients"]].head(3)
           analyte  month  n_patients
    0  lymphocytes    0.0         158
    1  lymphocytes    1.0         136
    2  lymphocytes    3.0         125
    """
    points = check_months(months)
    origins = transplant_origins(cohort)
    labs = cohort.labs[
        cohort.labs["analyte"].isin(RECONSTITUTION_ANALYTES) & cohort.labs["value"].notna()
    ]
    results = results_since_ahsct(
        origins, labs["patient_id"], labs["date"], labs["analyte"], labs["value"]
    )
    table = summarise_by_month(results, RECONSTITUTION_ANALYTES, points)
    table = table.drop(columns="n_not_completed").rename(columns={"measure": "analyte"})
    return ImmuneReconstitution(
        n_transplanted=len(origins), months=(0.0, *points), table=table, n_results=len(results)
    )
