"""What the transplant courses, relapses and patients record, as tables of characteristics:
the mobilisation, graft, conditioning, ATG and G-CSF doses, CMV serostatus, weight and
performance status of each patient's first AHSCT course; the severity and steroid
treatment of relapses; the oligoclonal bands and conversions to SPMS of patients. Built
with tableone, as Table 1 is."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from msreboot.analysis._description import tableone_frame
from msreboot.data import Cohort

__all__ = [
    "COURSE_FIELDS",
    "PATIENT_FIELDS",
    "RELAPSE_FIELDS",
    "RecordedCharacteristics",
    "recorded_characteristics",
]

COURSE_FIELDS = {  # treatments column -> (label, categorical)
    "mobilisation_regimen": ("Mobilisation", True),
    "apheresis_cd34_yield_1e6_per_kg": ("Apheresis CD34+ yield, 10^6/kg", False),
    "cd34_dose_1e6_per_kg": ("CD34+ dose infused, 10^6/kg", False),
    "cd34_selected": ("CD34+ selected graft", True),
    "conditioning_regimen": ("Conditioning regimen", True),
    "conditioning_intensity": ("Conditioning intensity (EBMT)", True),
    "atg_type": ("ATG", True),
    "atg_dose_mg_per_kg": ("ATG dose, mg/kg", False),
    "g_csf_dose_ug_per_kg_per_day": ("G-CSF dose, ug/kg/day", False),
    "cmv_serostatus": ("CMV serostatus", True),
    "weight_kg": ("Weight, kg", False),
    "karnofsky": ("Karnofsky, %", False),
    "ecog": ("ECOG", False),
}
"""The characteristics of a first AHSCT course shown when recorded."""

RELAPSE_FIELDS = {  # relapses column -> (label, categorical)
    "severity": ("Severity", True),
    "steroid_treated": ("Treated with high-dose steroids", True),
}
"""The characteristics of a relapse shown when recorded."""

PATIENT_FIELDS = {  # patients column -> (label, categorical)
    "oligoclonal_bands": ("Oligoclonal bands at diagnosis", True),
    "spms_conversion": ("Conversion to SPMS dated", True),
}
"""The characteristics of a patient shown when recorded (``spms_conversion``: whether the
patient has a ``spms_conversion_date``)."""


@dataclass(frozen=True, eq=False)
class RecordedCharacteristics:
    """The characteristics the cohort records of its transplant courses and relapses.

    Attributes
    ----------
    courses
        Table of the first AHSCT course of each transplanted patient (tableone's layout:
        index ``(characteristic, level)``, columns ``Overall`` and ``Missing``), with only
        the :data:`COURSE_FIELDS` that hold a value for some course; ``None`` when there
        are no AHSCT courses or none of them records any.
    n_courses
        First AHSCT courses described.
    relapses
        The same for every relapse and :data:`RELAPSE_FIELDS` (``None`` when no relapse
        records them).
    n_relapses
        Relapses described.
    patients
        The same for every patient and :data:`PATIENT_FIELDS` (``None`` when no patient
        records them).
    n_patients
        Patients described.
    not_recorded
        Labels of the fields no course or relapse records.
    """

    courses: pd.DataFrame | None = field(repr=False)
    n_courses: int
    relapses: pd.DataFrame | None = field(repr=False)
    n_relapses: int
    not_recorded: tuple[str, ...]
    patients: pd.DataFrame | None = field(default=None, repr=False)
    n_patients: int = 0

    @property
    def available(self) -> bool:
        """Whether either table has a characteristic."""
        return any(t is not None for t in (self.courses, self.relapses, self.patients))

    def summary(self) -> str:
        parts = []
        for name, table, n in (
            ("First AHSCT courses", self.courses, self.n_courses),
            ("Relapses", self.relapses, self.n_relapses),
            ("Patients", self.patients, self.n_patients),
        ):
            if table is not None:
                parts.append(f"{name} (n = {n}):\n{table.to_string()}")
        if self.not_recorded:
            parts.append("Not recorded: " + ", ".join(self.not_recorded))
        return "\n".join(parts) or "No course, relapse or patient characteristics recorded"


def _describe(
    frame: pd.DataFrame, fields: dict[str, tuple[str, bool]]
) -> tuple[pd.DataFrame | None, list[str]]:
    """The tableone table of the ``fields`` of ``frame`` that hold a value, and the labels
    of those that hold none."""
    present = [c for c in fields if c in frame and frame[c].notna().any()]
    missing = [fields[c][0] for c in fields if c not in present]
    if not present or frame.empty:
        return None, missing
    data = pd.DataFrame(index=range(len(frame)))
    for column in present:
        values = frame[column].reset_index(drop=True)
        if fields[column][1]:
            text = values.astype(object).map(_level)
            data[column] = text.where(text.notna(), "not recorded")
        else:
            data[column] = pd.to_numeric(values, errors="coerce").astype(float)
    categorical = [c for c in present if fields[c][1]]
    out = tableone_frame(data, present, categorical, {c: fields[c][0] for c in present})
    out = out[[c for c in ("Overall", "Missing") if c in out.columns]]
    return out.drop(index="n", level=0, errors="ignore"), missing


def _level(value: object) -> object:
    """A category as shown: booleans as yes / no, codes as recorded."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def recorded_characteristics(cohort: Cohort) -> RecordedCharacteristics:
    """The recorded characteristics of each patient's first AHSCT course and of relapses.

    Parameters
    ----------
    cohort
        A validated cohort. Fields no row records are left out of the tables and listed
        in ``not_recorded``, so a table never shows a characteristic as 100% missing.

    Returns
    -------
    RecordedCharacteristics

    Notes
    -----
    Continuous fields: median [first quartile, third quartile] (tableone's ``nonnormal``);
    categorical fields: n (%) of all rows, those without a value as the level "not
    recorded" (as in Table 1; tableone would otherwise show them as a level "None"), so the
    ``Missing`` column counts only continuous fields' rows without a value. The first AHSCT
    course of a patient is the one with the earliest ``start_date``.

    Examples
    --------
    >>> from msreboot.datasets import load_example
    >>> result = recorded_characteristics(load_example())
    >>> result.n_courses, result.relapses is None
    (180, True)
    >>> "CMV serostatus" in result.not_recorded
    True
    """
    courses = cohort.treatments[cohort.treatments["kind"] == "ahsct"]
    first = courses.sort_values(["patient_id", "start_date"], kind="stable").drop_duplicates(
        "patient_id"
    )
    course_table, course_missing = _describe(first, COURSE_FIELDS)
    relapse_table, relapse_missing = _describe(cohort.relapses, RELAPSE_FIELDS)
    people = cohort.patients
    dated = people["spms_conversion_date"].notna() if "spms_conversion_date" in people else None
    people = people.assign(
        spms_conversion=None if dated is None or not dated.any() else dated.map(_level)
    )
    patient_table, patient_missing = _describe(people, PATIENT_FIELDS)
    return RecordedCharacteristics(
        courses=course_table,
        n_courses=len(first),
        relapses=relapse_table,
        n_relapses=len(cohort.relapses),
        not_recorded=(*course_missing, *relapse_missing, *patient_missing),
        patients=patient_table,
        n_patients=len(cohort.patients),
    )
