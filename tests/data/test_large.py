"""A 100,000-row EDSS file with 50 scattered errors: exactly those 50 are reported, located."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from msreboot.data import import_cohort, read_cohort, validate
from msreboot.exceptions import DataValidationError

ROWS, VISITS = 100_000, 50
BAD = {  # column -> values that are each wrong in exactly one way
    "edss": ["10.5", "3.25", "-1", "abc", "4,5"],
    "date": ["2013-02-29", "31/12/2012", "someday"],
    "patient_id": ["NOPE1", "P99999"],
}


def _write(folder: Path, rng: np.random.Generator) -> dict[tuple[int, str], str]:
    n_patients = ROWS // VISITS
    ids = np.array([f"P{i:05d}" for i in range(n_patients)])
    start = np.datetime64("2005-01-01") + rng.integers(0, 3000, n_patients)
    pd.DataFrame(
        {
            "patient_id": ids,
            "birth_date": (start - 9000).astype(str),
            "phenotype": "RRMS",
        }
    ).to_csv(folder / "patients.csv", index=False)
    dates = start[:, None] + np.cumsum(rng.integers(60, 120, (n_patients, VISITS)), axis=1)
    edss = pd.DataFrame(
        {
            "patient_id": np.repeat(ids, VISITS),
            "date": dates.ravel().astype(str),
            "edss": (np.round(rng.uniform(0, 9.5, ROWS) * 2) / 2).astype(str),
        }
    )
    injected: dict[tuple[int, str], str] = {}
    rows = rng.choice(ROWS, size=50, replace=False)
    for i, row in enumerate(sorted(rows)):
        column = list(BAD)[i % len(BAD)]
        value = BAD[column][i % len(BAD[column])]
        edss.loc[row, column] = value
        injected[(int(row) + 1, column)] = value
    edss.to_csv(folder / "edss.csv", index=False)
    return injected


def test_fifty_scattered_errors_in_100k_rows(tmp_path: Path) -> None:
    folder = tmp_path / "cohort"
    folder.mkdir()
    injected = _write(folder, np.random.default_rng(2026))
    report = validate(folder)
    assert report.rows["edss"] == ROWS
    located = {(p.row, p.column): p.value for p in report.errors}
    assert len(report.errors) == 50, report.summary(60)
    assert located == injected
    assert all(p.table == "edss" for p in report.errors)
    db = tmp_path / "store.duckdb"
    with pytest.raises(DataValidationError) as excinfo:
        import_cohort(read_cohort(folder), db)
    assert len(excinfo.value.errors) == 50
    assert not db.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cohort"]
