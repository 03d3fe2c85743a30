"""Checks across tables (unknown patients, events before birth or onset, follow-up after
death) and the canonical row order of valid tables."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from msreboot.data._column_checks import PatientCodes, _row_problems, _value_text
from msreboot.data._order import in_order
from msreboot.data._schema import SCHEMA, TimeUnit
from msreboot.exceptions import Problem

__all__ = ["canonical_order"]


def _locate(index: pd.Index, codes: PatientCodes | None, pid: pd.Series) -> np.ndarray:
    """Each row's position in ``index`` (unique patient ids; -1 where absent or missing):
    ``index.get_indexer(pid)``, from the few distinct ids when their codes are known."""
    if codes is None:
        return np.asarray(index.get_indexer(pd.Index(pid)))
    where = np.append(index.get_indexer(codes.ids), -1)
    return np.asarray(where[codes.codes])


def _check_cross_table(
    tables: Mapping[str, pd.DataFrame],
    unit: TimeUnit,
    found: list[Problem],
    patients_of: Mapping[str, PatientCodes] | None = None,
) -> None:
    """Unknown patients, dates before birth or onset and after death, years before the
    birth year. ``patients_of``: each table's :class:`PatientCodes`, when known."""
    patients = tables["patients"]
    known = pd.Index(patients["patient_id"].dropna().unique())
    patients_once = patients.dropna(subset=["patient_id"]).drop_duplicates("patient_id")
    by_patient = patients_once.set_index("patient_id")
    birth = by_patient["birth_date"]
    onset = by_patient["onset_date"]
    deaths = tables["deaths"].dropna(subset=["patient_id"]).drop_duplicates("patient_id")
    death = deaths.set_index("patient_id")["date"]
    for name, spec in SCHEMA.items():
        table = tables[name]
        if table.empty:
            continue
        pid = table["patient_id"]
        codes = None if patients_of is None else patients_of.get(name)
        # each row's patient located once, shared by every comparison below
        where = _locate(by_patient.index, codes, pid)
        dead = _locate(death.index, codes, pid)
        if name != "patients":
            if codes is not None:  # the known ids are by_patient's index
                unknown = pd.Series((codes.codes >= 0) & (where < 0), index=pid.index)
            else:
                unknown = pid.notna() & ~pid.isin(known)
            found.extend(
                _row_problems(
                    name,
                    table.index[unknown.to_numpy()],
                    pid,
                    "patient_id",
                    pid,
                    "unknown patient_id: not in the patients table",
                )
            )
        for col in spec.date_columns:
            if not (name == "patients" and col == "birth_date"):
                _compare_to_patient(
                    name,
                    table,
                    col,
                    (birth, where),
                    "before",
                    "birth_date",
                    "the patient's birth",
                    found,
                )
            if name in {"edss", "relapses", "treatments"} and col == spec.event_date:
                _compare_to_patient(
                    name, table, col, (onset, where), "before", "onset_date", "MS onset", found
                )
            if name != "deaths":
                _compare_to_patient(
                    name,
                    table,
                    col,
                    (death, dead),
                    "after",
                    "deaths.date",
                    "the patient's death",
                    found,
                )
        if unit == "date" and name != "patients" and by_patient["birth_year"].notna().any():
            year = _per_row(by_patient["birth_year"], where, pid)
            for col in spec.date_columns:
                early = (table[col].dt.year < year).fillna(False).astype(bool)
                found.extend(
                    _row_problems(
                        name,
                        table.index[early.to_numpy()],
                        pid,
                        col,
                        table[col],
                        f"{col} is before the patient's birth_year",
                    )
                )


def _compare_to_patient(
    name: str,
    table: pd.DataFrame,
    col: str,
    located: tuple[pd.Series, np.ndarray],
    direction: str,
    reference_name: str,
    what: str,
    found: list[Problem],
) -> None:
    reference, where = located
    if reference.notna().sum() == 0:
        return
    pid = table["patient_id"]
    ref = _per_row(reference, where, pid)
    values = table[col]
    compared = (values < ref) if direction == "before" else (values > ref)
    wrong = compared.fillna(False).astype(bool).to_numpy()
    if not wrong.any():
        return
    rows = table.index[wrong]
    found.extend(
        _row_problems(
            name,
            rows,
            pid,
            col,
            values,
            f"{col} is {direction} {what} ({reference_name} " + ref[rows].map(_value_text) + ")",
        )
    )


def _per_row(reference: pd.Series, where: np.ndarray, pid: pd.Series) -> pd.Series:
    """``pid.map(reference)`` from ``where = reference.index.get_indexer(pid)`` (computed
    once per table): each row's value of its patient, missing where the patient has none."""
    rows = pd.Series(where, index=pid.index, name=pid.name)
    return rows.map(reference.reset_index(drop=True))  # the same take as pid.map(reference)


def canonical_order(
    tables: Mapping[str, pd.DataFrame], patients_of: Mapping[str, PatientCodes] | None = None
) -> dict[str, pd.DataFrame]:
    """Rows sorted by patient and key (stable), fresh 0-based index: order-free results.

    ``patients_of`` (each table's :class:`PatientCodes`) sorts the patients by the ranks of
    their few distinct ids instead of the id text of every row: the same stable order as
    ``sort_values(..., kind="stable", na_position="last")``, which sorts each key by its
    ordered codes, missing values last.
    """
    out: dict[str, pd.DataFrame] = {}
    for name, spec in SCHEMA.items():
        table = tables[name]
        sort_by = ["patient_id", *[c for c in spec.key if c != "patient_id"]]
        if spec.event_date is not None and spec.event_date not in sort_by:
            sort_by.append(spec.event_date)
        codes = None if patients_of is None else patients_of.get(name)
        if codes is not None and len(table) > 1:
            order = _stable_order(table, sort_by, codes)
            if not bool((order == np.arange(len(order))).all()):
                table = table.take(order)
        elif not in_order(table, sort_by):
            table = table.sort_values(sort_by, kind="stable", na_position="last")
        out[name] = table.reset_index(drop=True)
    return out


def _stable_order(table: pd.DataFrame, sort_by: list[str], codes: PatientCodes) -> np.ndarray:
    """The row order of a stable sort by ``sort_by`` (missing values last in each key), the
    patient key ranked from the distinct ids of ``codes``."""
    keys = []
    for name in sort_by:
        if name == "patient_id":
            rank = np.empty(len(codes.ids), dtype=np.intp)
            rank[np.argsort(codes.ids.to_numpy(dtype=object), kind="stable")] = np.arange(
                len(codes.ids)
            )
            key, n = np.append(rank, -1)[codes.codes], len(codes.ids)
        else:
            key, uniques = pd.factorize(table[name], sort=True)
            n = len(uniques)
        keys.append(np.where(key < 0, n, key))  # missing values last
    return np.asarray(np.lexsort(keys[::-1]))
