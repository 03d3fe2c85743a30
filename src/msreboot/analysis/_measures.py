"""Measures followed after AHSCT besides EDSS and blood counts: the timed 25-foot walk, the
nine-hole peg test, the SDMT, serum neurofilament light, brain and lesion volumes on MRI,
and patient-reported outcomes, each by months since reinfusion."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from msreboot.analysis._since_ahsct import (
    check_months,
    month_label,
    results_since_ahsct,
    summarise_by_month,
    transplant_origins,
)
from msreboot.data import ANALYTES, Cohort

__all__ = ["MEASURE_MONTHS", "MeasuresAfterAHSCT", "measures_after_ahsct"]

MEASURE_MONTHS = (6.0, 12.0, 24.0, 36.0, 48.0, 60.0)
"""Months after reinfusion summarised unless told otherwise (the functional tests, MRI and
questionnaires are yearly or half-yearly in most protocols)."""

_TABLE_COLUMNS: dict[str, Any] = {
    "measure": object,
    "month": float,
    "from_day": float,
    "to_day": float,
    "n_patients": "int64",
    "n_not_completed": "int64",
    "median": float,
    "q1": float,
    "q3": float,
}

_INSTRUMENTS = {
    "eq_5d_5l": "EQ-5D-5L",
    "eq_5d_3l": "EQ-5D-3L",
    "msis_29": "MSIS-29",
    "msqol_54": "MSQOL-54",
    "mfis": "MFIS",
    "other": "Other questionnaire",
}


@dataclass(frozen=True, eq=False)
class MeasuresAfterAHSCT:
    """Other measures of transplanted patients by months since AHSCT.

    Attributes
    ----------
    n_transplanted
        Patients with an AHSCT course (the first course's reinfusion is day 0).
    months
        The time points, in months after day 0; month 0 is the baseline.
    measures
        One row per measure with any result of a transplanted patient, in the order shown:
        ``measure`` (code), ``label``, ``unit``, ``better`` (``"lower"`` or ``"higher"``,
        empty when the direction depends on the item), ``table`` (the cohort table read).
    table
        One row per measure and time point: ``measure``, ``month`` (0 = baseline),
        ``from_day``, ``to_day``, ``n_patients`` (with an assessment in the window),
        ``n_not_completed`` (of them, whose assessment was a timed test not completed: it
        has no time and is not in the quartiles), ``median``, ``q1``, ``q3``.
    """

    n_transplanted: int
    months: tuple[float, ...]
    measures: pd.DataFrame = field(repr=False)
    table: pd.DataFrame = field(repr=False)

    @property
    def available(self) -> bool:
        """Whether any measure has a patient at any time point."""
        return bool((self.table["n_patients"] > 0).any())

    def to_frame(self) -> pd.DataFrame:
        """The table with each measure's label and unit (a copy)."""
        return self.table.merge(
            self.measures[["measure", "label", "unit"]], on="measure", how="left"
        )

    def summary(self) -> str:
        if not self.available:
            return (
                "Other measures after AHSCT: no functional test, MRI volume, neurofilament or "
                f"questionnaire results for the {self.n_transplanted} transplanted patients"
            )
        lines = [
            f"Other measures of {self.n_transplanted} transplanted patients: "
            "median [Q1, Q3] (patients)"
        ]
        for row in self.measures.itertuples():
            part = self.table[self.table["measure"] == row.measure]
            cells = [
                f"{month_label(float(m))} {med:.3g} [{lo:.3g}, {hi:.3g}] "
                f"({int(n)}{f', {int(u)} not completed' if u else ''})"
                for m, med, lo, hi, n, u in zip(
                    part["month"],
                    part["median"],
                    part["q1"],
                    part["q3"],
                    part["n_patients"],
                    part["n_not_completed"],
                    strict=True,
                )
                if n > 0
            ]
            lines.append(f"  {row.label} ({row.unit}): " + "; ".join(cells))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def _sources(cohort: Cohort) -> list[tuple[dict[str, str], pd.DataFrame]]:
    """Each measure's description and its results (``patient_id``, ``date``, ``value``:
    ``nan`` for a timed test not completed)."""
    out: list[tuple[dict[str, str], pd.DataFrame]] = []

    def add(meta: dict[str, str], frame: pd.DataFrame, value: pd.Series) -> None:
        rows = pd.DataFrame(
            {
                "patient_id": frame["patient_id"],
                "date": frame["date"],
                "value": value.astype("Float64"),
            }
        )
        out.append((meta, rows))

    def assessed(frame: pd.DataFrame) -> pd.DataFrame:
        """Rows with a time or a test not completed (whose time is missing)."""
        unable = frame["unable_to_complete"].fillna(False).astype(bool)
        return frame[frame["seconds"].notna() | unable]

    walk = assessed(cohort.timed_walk)
    meta = {"measure": "t25fw", "label": "Timed 25-foot walk", "unit": "s", "better": "lower"}
    add({**meta, "table": "timed_walk"}, walk, walk["seconds"])
    peg = assessed(cohort.peg_test)
    for hand, label in (("dominant", "dominant"), ("non_dominant", "non-dominant")):
        mine = peg[peg["hand"] == hand]
        meta = {"measure": f"9hpt_{hand}", "label": f"Nine-hole peg test, {label} hand"}
        add({**meta, "unit": "s", "better": "lower", "table": "peg_test"}, mine, mine["seconds"])
    sdmt = cohort.sdmt[cohort.sdmt["score"].notna()]
    meta = {"measure": "sdmt", "label": "SDMT", "unit": "correct", "better": "higher"}
    add({**meta, "table": "sdmt"}, sdmt, sdmt["score"])
    nfl = cohort.labs[(cohort.labs["analyte"] == "nfl_serum") & cohort.labs["value"].notna()]
    meta = {"measure": "nfl_serum", "label": "Serum neurofilament light"}
    add(
        {**meta, "unit": ANALYTES["nfl_serum"].unit, "better": "lower", "table": "labs"},
        nfl,
        nfl["value"],
    )
    mri = cohort.mri[cohort.mri["region"].fillna("brain").isin(["brain", "brain_and_spine"])]
    for column, label, unit, better in (
        ("brain_volume_ml", "Brain volume", "mL", "higher"),
        ("t2_lesion_volume_ml", "T2 lesion volume", "mL", "lower"),
        ("t1_hypointense_lesions", "T1 hypointense lesions", "lesions", "lower"),
    ):
        mine = mri[mri[column].notna()]
        meta = {"measure": column, "label": label, "unit": unit, "better": better}
        add({**meta, "table": "mri"}, mine, mine[column])
    proms = cohort.proms[cohort.proms["value"].notna()]
    pairs = proms[["instrument", "item"]].astype(object).drop_duplicates()
    for instrument, item in sorted(pairs.itertuples(index=False, name=None)):
        mine = proms[(proms["instrument"] == instrument) & (proms["item"] == item)]
        label = f"{_INSTRUMENTS.get(str(instrument), str(instrument))} {item}"
        meta = {"measure": f"{instrument}:{item}", "label": label, "unit": "score"}
        add({**meta, "better": "", "table": "proms"}, mine, mine["value"])
    return out


def measures_after_ahsct(
    cohort: Cohort, *, months: Sequence[float] = MEASURE_MONTHS
) -> MeasuresAfterAHSCT:
    """Median and quartiles of the timed 25-foot walk, the nine-hole peg test (each hand),
    the SDMT, serum NfL, brain volume, T2 lesion volume, T1 hypointense lesions and each
    questionnaire item or score, by months since AHSCT.

    Parameters
    ----------
    cohort
        A validated cohort. A measure without results of transplanted patients is left
        out; a cohort without any gives a result that is not :attr:`available` (not an
        error).
    months
        Time points in months after reinfusion (increasing, > 0); the baseline is added.

    Returns
    -------
    MeasuresAfterAHSCT

    Raises
    ------
    ValueError
        ``months`` is empty, not increasing or not positive.

    Notes
    -----
    The same windows and choice of result as :func:`immune_reconstitution`: day 0 is the
    first AHSCT reinfusion; month :math:`m_i` takes each patient's assessment closest to
    :math:`m_i` within half-way to the neighbouring time points; the baseline is the last
    assessment in the year before the course began. A timed test the patient could not
    complete (``unable_to_complete``) is counted in ``n_patients`` and
    ``n_not_completed`` and left out of the quartiles, so a reader sees how many of the
    worst outcomes the medians omit. MRI volumes are read from brain scans (``region``
    brain, brain and spine, or missing). Quartiles are R's type 7.

    Examples
    --------
    >>> from msreboot.datasets import load_example
    >>> result = measures_after_ahsct(load_example())
    >>> list(result.measures["measure"])
    ['t25fw', '9hpt_dominant', '9hpt_non_dominant', 'sdmt']
    """
    points = check_months(months)
    origins = transplant_origins(cohort)
    described = []
    parts = []
    for meta, rows in _sources(cohort):
        results = results_since_ahsct(
            origins, rows["patient_id"], rows["date"], meta["measure"], rows["value"]
        )
        if results.empty:
            continue
        described.append(meta)
        parts.append(results)
    measures = pd.DataFrame(
        described, columns=["measure", "label", "unit", "better", "table"]
    ).astype(object)
    if parts:
        results = pd.concat(parts, ignore_index=True)
        table = summarise_by_month(results, list(measures["measure"]), points)
    else:
        table = pd.DataFrame({c: pd.Series(dtype=_TABLE_COLUMNS[c]) for c in _TABLE_COLUMNS})
    return MeasuresAfterAHSCT(
        n_transplanted=len(origins), months=(0.0, *points), measures=measures, table=table
    )
