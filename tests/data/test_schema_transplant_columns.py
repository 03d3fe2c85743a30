"""The transplant, MRI, relapse and patient columns added to the schema: validated with located
errors, stored, exported and de-identified like the rest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from msreboot.data import (
    Cohort,
    deidentify,
    import_cohort,
    read_cohort,
    read_store,
    validate,
    write_cohort,
)
from msreboot.data._schema import SCHEMA
from msreboot.data._store import META_TABLE, STORE_FORMAT
from msreboot.exceptions import StoreError
from tests.conftest import tiny_tables

Tables = dict[str, pd.DataFrame]
NEW = {
    "patients": ["spms_conversion_date", "oligoclonal_bands"],
    "treatments": [
        "platelet_engraftment_date",
        "apheresis_cd34_yield_1e6_per_kg",
        "atg_type",
        "atg_dose_mg_per_kg",
        "g_csf_dose_ug_per_kg_per_day",
        "cmv_serostatus",
        "weight_kg",
        "karnofsky",
        "ecog",
    ],
    "relapses": ["severity", "steroid_treated"],
    "mri": ["brain_volume_ml", "t2_lesion_volume_ml", "t1_hypointense_lesions"],
}


def filled() -> Tables:
    """The tiny cohort with every added column filled (A1 and A2 have AHSCT courses)."""
    tables = tiny_tables()
    p = tables["patients"]
    p["spms_conversion_date"] = ["", "2009-06-01", ""]
    p["oligoclonal_bands"] = ["positive", "negative", ""]
    t = tables["treatments"]
    ahsct = t["kind"] == "ahsct"
    t["platelet_engraftment_date"] = ""
    t.loc[ahsct, "platelet_engraftment_date"] = (
        pd.to_datetime(t.loc[ahsct, "start_date"]) + pd.Timedelta(days=12)
    ).dt.strftime("%Y-%m-%d")
    for column, value in [
        ("apheresis_cd34_yield_1e6_per_kg", "8.4"),
        ("atg_type", "thymoglobulin"),
        ("atg_dose_mg_per_kg", "7.5"),
        ("g_csf_dose_ug_per_kg_per_day", "10"),
        ("cmv_serostatus", "positive"),
    ]:
        t[column] = ""
        t.loc[ahsct, column] = value
    t["weight_kg"] = ["70.5", "68", "82", "59"]
    t["karnofsky"] = ["90", "80", "", "100"]
    t["ecog"] = ["0", "1", "1", ""]
    r = tables["relapses"]
    r["severity"] = ["moderate", "severe"][: len(r)]
    r["steroid_treated"] = ["true", "false"][: len(r)]
    m = tables["mri"]
    m["brain_volume_ml"] = ["1480.5", "1462", ""][: len(m)]
    m["t2_lesion_volume_ml"] = ["4.2", "", "5.0"][: len(m)]
    m["t1_hypointense_lesions"] = ["3", "4", ""][: len(m)]
    return tables


def test_added_columns_are_in_the_schema() -> None:
    for table, columns in NEW.items():
        for column in columns:
            assert column in SCHEMA[table], (table, column)


def test_filled_columns_validate_and_keep_their_values() -> None:
    cohort = Cohort.from_frames(filled())
    t = cohort.treatments.set_index(["patient_id", "kind"])
    assert t.loc[("A2", "ahsct"), "atg_dose_mg_per_kg"] == 7.5
    assert t.loc[("A2", "ahsct"), "platelet_engraftment_date"] == pd.Timestamp("2014-03-15")
    assert cohort.patients["oligoclonal_bands"].tolist()[:2] == ["positive", "negative"]
    assert cohort.relapses["steroid_treated"].dtype == "boolean"
    assert cohort.mri["t1_hypointense_lesions"].dtype == "Int64"


def _set(table: str, row: int, column: str, value: str) -> Callable[[Tables], None]:
    def edit(tables: Tables) -> None:
        tables[table].loc[row - 1, column] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "where", "words"),
    [
        (
            _set("treatments", 2, "karnofsky", "85"),
            ("treatments", 2, "karnofsky"),
            "multiple of 10",
        ),
        (_set("treatments", 2, "ecog", "6"), ("treatments", 2, "ecog"), "0 to 5"),
        (
            _set("treatments", 2, "cmv_serostatus", "pos"),
            ("treatments", 2, "cmv_serostatus"),
            "one of",
        ),
        (
            _set("treatments", 1, "atg_dose_mg_per_kg", "5"),
            ("treatments", 1, "atg_dose_mg_per_kg"),
            "dmt",
        ),
        (
            _set("treatments", 2, "platelet_engraftment_date", "2015-06-01"),
            ("treatments", 2, "platelet_engraftment_date"),
            "platelet engraftment follows reinfusion",
        ),
        (_set("treatments", 3, "weight_kg", "700"), ("treatments", 3, "weight_kg"), "20 to 300"),
        (_set("mri", 1, "brain_volume_ml", "15000"), ("mri", 1, "brain_volume_ml"), "300 to 2500"),
        (_set("relapses", 1, "severity", "awful"), ("relapses", 1, "severity"), "mild"),
        (
            _set("patients", 2, "spms_conversion_date", "1999-01-01"),
            ("patients", 2, "spms_conversion_date"),
            "conversion to SPMS follows",
        ),
        (
            _set("patients", 1, "oligoclonal_bands", "yes"),
            ("patients", 1, "oligoclonal_bands"),
            "positive",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_values_give_located_errors(
    edit: Callable[[Tables], None], where: tuple[str, int, str], words: str
) -> None:
    tables = filled()
    edit(tables)
    report = validate(tables)
    located = [p for p in report.errors if (p.table, p.row) == where[:2]]
    assert located, report.summary()
    assert any(where[2] in (p.column or "") + p.problem and words in p.problem for p in located), [
        p.describe() for p in located
    ]


def test_store_round_trip_and_old_stores_are_refused(tmp_path: Path) -> None:
    cohort = Cohort.from_frames(filled())
    path = tmp_path / "cohort.duckdb"
    import_cohort(cohort, path)
    assert read_store(path).equals(cohort)
    con = duckdb.connect(str(path))
    con.execute(f"UPDATE {META_TABLE} SET value = '1' WHERE key = 'store_format'")
    con.close()
    assert STORE_FORMAT != "1"
    with pytest.raises(StoreError, match=r"store format must be .*Re-import"):
        read_store(path)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_round_trip(tmp_path: Path, fmt: str) -> None:
    cohort = Cohort.from_frames(filled())
    write_cohort(cohort, tmp_path / "out", fmt)
    assert read_cohort(tmp_path / "out").equals(cohort)


def test_deidentification_shifts_the_added_dates_with_the_others() -> None:
    cohort = Cohort.from_frames(filled())
    deid = deidentify(cohort, b"test key: sixteen bytes or more").cohort
    before = cohort.treatments
    after = deid.treatments
    for frame in (before, after):
        frame["gap"] = frame["platelet_engraftment_date"] - frame["start_date"]
    assert after["gap"].dropna().tolist() == before["gap"].dropna().tolist()
    assert (
        not after["platelet_engraftment_date"]
        .dropna()
        .isin(before["platelet_engraftment_date"].dropna())
        .all()
    )
    p_before, p_after = cohort.patients, deid.patients
    gap_before = (p_before["spms_conversion_date"] - p_before["onset_date"]).dropna()
    gap_after = (p_after["spms_conversion_date"] - p_after["onset_date"]).dropna()
    assert gap_after.tolist() == gap_before.tolist()
