"""From the kernel's per-patient slots to the seven canonical tables (day-based).

The tables are built in canonical form (every column, canonical dtypes, rows sorted by
patient and date) so that they can be wrapped without validation; the tests check that
validating them gives the same cohort.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from msreboot.data import AE_CATEGORIES, DEATH_CAUSES, SCHEMA
from msreboot.simulate._kernel_common import (
    AE_CATEGORY,
    AE_DAY,
    AE_DETAIL,
    AE_END,
    AE_GRADE,
    AE_PATHOGEN,
    AE_SERIOUS,
    B_AGE,
    B_DIAGNOSIS_DELAY,
    B_DURATION,
    B_FEMALE,
    B_HCT_CI,
    B_PHENOTYPE,
    B_PRIOR_DMTS,
    DAYS_PER_YEAR,
    DETAILS,
    N_AE_COLS,
    NA_DAY,
    PATHOGENS,
    T_CD34,
    T_DEATH_CAUSE,
    T_DEATH_DAY,
    T_OBS_END,
    T_TRM,
)
from msreboot.simulate._kernel_switch import (
    TX_ADMIT,
    TX_COND,
    TX_DISCHARGE,
    TX_END,
    TX_ENGRAFT,
    TX_MOB,
    TX_PRESENT,
    TX_START,
)
from msreboot.simulate._population import PHENOTYPE_CODES
from msreboot.simulate._treatment import AHSCTCourse, DMTCourse, MSCCourse, Treatment

__all__ = ["ChunkOutput", "build_tables", "patient_ids"]


@dataclass(frozen=True)
class ChunkOutput:
    """The kernel's output for a block of patients, compacted to the rows written."""

    first: int
    base: np.ndarray
    truth: np.ndarray
    edss: tuple[np.ndarray, np.ndarray, np.ndarray]  # patient, day, value
    mri: tuple[np.ndarray, np.ndarray, np.ndarray]  # patient, day, values (gd, new, total)
    relapses: tuple[np.ndarray, np.ndarray, np.ndarray]  # patient, onset, end
    events: tuple[np.ndarray, np.ndarray]  # patient, columns
    tx: np.ndarray
    lab: np.ndarray  # patient, draw after the reinfusion, (total, naive) CD4
    tx2: np.ndarray  # the course a switch rule started on failure (TX_PRESENT 0 without)


def compact(first: int, raw: tuple[np.ndarray, ...]) -> ChunkOutput:
    """Keep only the written slots of each patient (row order: patient, then slot)."""
    (
        base,
        truth,
        counts,
        _status,
        edss_day,
        edss_val,
        mri_day,
        mri_val,
        rel_day,
        rel_end,
        ae,
        tx,
    ) = raw[:12]
    n = base.shape[0]
    local = np.arange(n)

    def take(count: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
        mask = np.arange(width)[None, :] < count[:, None]
        patient = np.broadcast_to(local[:, None], mask.shape)[mask]
        return patient, mask

    p, mask = take(counts[:, 0], edss_day.shape[1])
    edss = (p + first, edss_day[mask], edss_val[mask])
    p, mask = take(counts[:, 1], mri_day.shape[1])
    mri = (p + first, mri_day[mask], mri_val[mask])
    p, mask = take(counts[:, 2], rel_day.shape[1])
    relapses = (p + first, rel_day[mask], rel_end[mask])
    p, mask = take(counts[:, 3], ae.shape[1])
    events = (p + first, ae[mask])
    return ChunkOutput(first, base, truth, edss, mri, relapses, events, tx, raw[12], raw[13])


def patient_ids(prefix: str, n: int) -> np.ndarray:
    """Zero-padded identifiers (``V000001``...), so text order is patient order."""
    width = max(6, len(str(n)))
    return np.array([f"{prefix}{i + 1:0{width}d}" for i in range(n)], dtype=object)


def _text(values: Sequence[object] | np.ndarray) -> pd.api.extensions.ExtensionArray:
    return pd.array(np.asarray(values, dtype=object), dtype="string")


def _days(values: np.ndarray) -> pd.arrays.IntegerArray:
    values = np.asarray(values, dtype=np.int64)
    return pd.arrays.IntegerArray(values, values == NA_DAY)


def _frame(table: str, columns: Mapping[str, object], n: int) -> pd.DataFrame:
    """A canonical table: given columns, every other column missing, canonical dtypes."""
    spec = SCHEMA[table]
    data = {}
    for col in spec.columns:
        dtype = col.dtype("day")
        if col.name in columns:
            data[col.name] = pd.Series(columns[col.name], dtype=dtype)
        else:
            data[col.name] = pd.Series(_missing(dtype, n), dtype=dtype)
    return pd.DataFrame(data, copy=False)


def _missing(dtype: str, n: int) -> object:
    """A column of ``n`` missing values of a canonical dtype, built without a Python loop."""
    if dtype == "float64":
        return np.full(n, np.nan)
    if dtype == "Int64":
        return pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))
    if dtype == "boolean":
        return pd.arrays.BooleanArray(np.zeros(n, dtype=bool), np.ones(n, dtype=bool))
    return pd.array(np.full(n, None, dtype=object), dtype="string")


def _cat(n: int, value: str | None) -> pd.api.extensions.ExtensionArray:
    return _text(np.full(n, value if value is not None else pd.NA, dtype=object))


def build_tables(
    chunks: Sequence[ChunkOutput],
    ids: np.ndarray,
    treatment: Treatment,
    switched_to: Treatment = None,
) -> dict[str, pd.DataFrame]:
    """The seven canonical tables of the simulated cohort (``switched_to``: the course a
    switch rule started on failure, a second treatments row)."""
    base = np.concatenate([c.base for c in chunks])
    truth = np.concatenate([c.truth for c in chunks])
    tx = np.concatenate([c.tx for c in chunks])
    n = base.shape[0]
    birth = -np.round(base[:, B_AGE] * DAYS_PER_YEAR).astype(np.int64)
    onset = -np.round(base[:, B_DURATION] * DAYS_PER_YEAR).astype(np.int64)
    onset = np.maximum(onset, birth)
    diagnosis = np.minimum(
        onset + np.round(base[:, B_DIAGNOSIS_DELAY] * DAYS_PER_YEAR).astype(np.int64), 0
    )
    diagnosis = np.maximum(diagnosis, onset)
    phenotype = np.array(PHENOTYPE_CODES, dtype=object)[base[:, B_PHENOTYPE].astype(int)]
    patients = _frame(
        "patients",
        {
            "patient_id": _text(ids),
            "sex": _text(np.where(base[:, B_FEMALE] > 0.5, "F", "M").astype(object)),
            "birth_date": _days(birth),
            "onset_date": _days(onset),
            "diagnosis_date": _days(diagnosis),
            "phenotype": _text(phenotype),
            "prior_dmt_count": pd.array(base[:, B_PRIOR_DMTS].astype(np.int64), dtype="Int64"),
            "hct_ci": pd.array(base[:, B_HCT_CI].astype(np.int64), dtype="Int64"),
        },
        n,
    )
    tables = {
        "patients": patients,
        "treatments": _treatments(tx, truth, ids, treatment),
        "edss": _edss(chunks, ids),
        "relapses": _relapses(chunks, ids),
        "mri": _mri(chunks, ids),
        "adverse_events": _events(chunks, ids),
        "deaths": _deaths(truth, ids),
    }
    if switched_to is not None:
        tx2 = np.concatenate([c.tx2 for c in chunks])
        second = _treatments(tx2, truth, ids, switched_to)
        if len(second):
            both = pd.concat([tables["treatments"], second], ignore_index=True)
            key = list(SCHEMA["treatments"].key)  # the canonical row order
            tables["treatments"] = both.sort_values(key, kind="stable").reset_index(drop=True)
    return tables


def _edss(chunks: Sequence[ChunkOutput], ids: np.ndarray) -> pd.DataFrame:
    p = np.concatenate([c.edss[0] for c in chunks])
    return _frame(
        "edss",
        {
            "patient_id": _text(ids[p]),
            "date": _days(np.concatenate([c.edss[1] for c in chunks])),
            "edss": np.concatenate([c.edss[2] for c in chunks]),
        },
        len(p),
    )


def _relapses(chunks: Sequence[ChunkOutput], ids: np.ndarray) -> pd.DataFrame:
    p = np.concatenate([c.relapses[0] for c in chunks])
    return _frame(
        "relapses",
        {
            "patient_id": _text(ids[p]),
            "onset_date": _days(np.concatenate([c.relapses[1] for c in chunks])),
            "end_date": _days(np.concatenate([c.relapses[2] for c in chunks])),
        },
        len(p),
    )


def _mri(chunks: Sequence[ChunkOutput], ids: np.ndarray) -> pd.DataFrame:
    p = np.concatenate([c.mri[0] for c in chunks])
    values = np.concatenate([c.mri[2] for c in chunks]).reshape(-1, 3)
    return _frame(
        "mri",
        {
            "patient_id": _text(ids[p]),
            "date": _days(np.concatenate([c.mri[1] for c in chunks])),
            "region": _cat(len(p), "brain"),
            "gd_lesions": pd.array(values[:, 0], dtype="Int64"),
            "new_t2_lesions": pd.arrays.IntegerArray(values[:, 1].copy(), values[:, 1] < 0),
            "t2_lesions_total": pd.array(values[:, 2], dtype="Int64"),
        },
        len(p),
    )


def _events(chunks: Sequence[ChunkOutput], ids: np.ndarray) -> pd.DataFrame:
    p = np.concatenate([c.events[0] for c in chunks])
    cols = np.concatenate([c.events[1] for c in chunks]).reshape(len(p), N_AE_COLS)
    order = np.lexsort((cols[:, AE_DAY], p))  # stable: patient, then onset
    p, cols = p[order], cols[order]
    pathogen = np.array([v or pd.NA for v in PATHOGENS], dtype=object)[cols[:, AE_PATHOGEN]]
    detail = np.array([v or pd.NA for v in DETAILS], dtype=object)[cols[:, AE_DETAIL]]
    return _frame(
        "adverse_events",
        {
            "patient_id": _text(ids[p]),
            "onset_date": _days(cols[:, AE_DAY]),
            "end_date": _days(cols[:, AE_END]),
            "category": _text(np.array(AE_CATEGORIES, dtype=object)[cols[:, AE_CATEGORY]]),
            "grade": pd.array(cols[:, AE_GRADE], dtype="Int64"),
            "pathogen": _text(pathogen),
            "serious": pd.array(cols[:, AE_SERIOUS] == 1, dtype="boolean"),
            "detail": _text(detail),
        },
        len(p),
    )


def _deaths(truth: np.ndarray, ids: np.ndarray) -> pd.DataFrame:
    day = truth[:, T_DEATH_DAY]
    recorded = ~np.isnan(day) & (day <= truth[:, T_OBS_END])
    rows = np.flatnonzero(recorded)
    causes = np.array(DEATH_CAUSES, dtype=object)[truth[rows, T_DEATH_CAUSE].astype(int)]
    return _frame(
        "deaths",
        {
            "patient_id": _text(ids[rows]),
            "date": _days(day[rows].astype(np.int64)),
            "cause": _text(causes),
            "transplant_related": pd.array(truth[rows, T_TRM] > 0.5, dtype="boolean"),
        },
        len(rows),
    )


def _treatments(
    tx: np.ndarray, truth: np.ndarray, ids: np.ndarray, treatment: Treatment
) -> pd.DataFrame:
    rows = np.flatnonzero(tx[:, TX_PRESENT] == 1)
    k = len(rows)
    if treatment is None or k == 0:
        return _frame("treatments", {}, 0)
    t = tx[rows]
    columns: dict[str, object] = {
        "patient_id": _text(ids[rows]),
        "kind": _cat(k, treatment.kind),
        "start_date": _days(t[:, TX_START]),
        "protocol": _cat(k, treatment.protocol),
    }
    if isinstance(treatment, DMTCourse):
        columns["end_date"] = _days(t[:, TX_END])
        columns["drug"] = _cat(k, treatment.drug)
    elif isinstance(treatment, AHSCTCourse):
        columns.update(
            {
                "mobilisation_regimen": _cat(k, treatment.mobilisation_regimen),
                "mobilisation_date": _days(t[:, TX_MOB]),
                "cd34_dose_1e6_per_kg": truth[rows, T_CD34],
                "cd34_selected": pd.array(np.full(k, treatment.cd34_selected), dtype="boolean"),
                "conditioning_regimen": _cat(k, treatment.conditioning_regimen),
                "conditioning_intensity": _cat(k, treatment.conditioning_intensity),
                "conditioning_start_date": _days(t[:, TX_COND]),
                "admission_date": _days(t[:, TX_ADMIT]),
                "engraftment_date": _days(t[:, TX_ENGRAFT]),
                "discharge_date": _days(t[:, TX_DISCHARGE]),
            }
        )
    elif isinstance(treatment, MSCCourse):
        columns.update(
            {
                "end_date": _days(t[:, TX_END]),
                "msc_source": _cat(k, treatment.source),
                "msc_route": _cat(k, treatment.route),
                "msc_dose_1e6_per_kg": np.full(k, treatment.dose_1e6_per_kg),
                "msc_infusions": pd.array(np.full(k, treatment.infusions), dtype="Int64"),
                "msc_pretreated": pd.array(np.full(k, treatment.pretreated), dtype="boolean"),
            }
        )
    return _frame("treatments", columns, k)
