"""Patients as integer positions, computed once per cohort.

Grouping a table of a million rows by its string ``patient_id`` hashes every id each time;
every endpoint of a cohort groups the same tables, so each table's rows get their patient's
position in the patients table once (:meth:`Cohort.derived`) and are grouped by that.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from msreboot.data import Cohort

__all__ = ["patient_codes", "patient_index"]


def patient_index(cohort: Cohort) -> pd.Index:
    """The patients table's ``patient_id`` as an index (unique in a validated cohort)."""
    patients = cohort.patients
    return cohort.derived(("patient_index",), lambda: pd.Index(patients.patient_id))


def patient_codes(cohort: Cohort, table: str) -> np.ndarray:
    """Each row's patient of a cohort table as a position in :func:`patient_index`."""
    ids = cohort.table(table)["patient_id"]
    return cohort.derived(
        ("patient_codes", table),
        lambda: np.asarray(patient_index(cohort).get_indexer(pd.Index(ids)), dtype=np.int64),
    )
