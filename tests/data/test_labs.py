"""The labs and proms tables: controlled analytes with exact unit conversion, instruments."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from msreboot.data import (
    ANALYTES,
    Cohort,
    deidentify,
    import_cohort,
    read_cohort,
    read_store,
    validate,
    write_cohort,
)
from msreboot.data._labs import unit_key
from msreboot.data._schema import SCHEMA
from tests.conftest import tiny_tables


def with_labs() -> dict[str, pd.DataFrame]:
    tables = tiny_tables()
    tables["labs"] = pd.DataFrame(
        {
            "patient_id": ["A1", "A1", "A1", "A2", "A2", "A3"],
            "date": [
                "2015-09-10",
                "2015-09-10",
                "2016-06-10",
                "2014-06-01",
                "2014-06-01",
                "2019-01-02",
            ],
            "analyte": ["cd4", "lymphocytes", "cd4", "platelets", "nfl_serum", "CD19"],
            "value": ["0.21", "0.9", "415", "150000", "12.5", "0.12"],
            "unit": ["x10^9/L", "10^9/l", "cells/µL", "cells/uL", "ng/L", "G/L"],
        }
    )
    tables["proms"] = pd.DataFrame(
        {
            "patient_id": ["A1", "A1", "A2"],
            "date": ["2016-01-01", "2016-01-01", "2014-08-01"],
            "instrument": ["eq_5d_5l", "eq_5d_5l", "msis_29"],
            "item": ["index", "vas", "physical"],
            "value": ["0.81", "75", "42"],
        }
    )
    return tables


def test_values_are_converted_exactly_to_the_canonical_unit() -> None:
    labs = Cohort.from_frames(with_labs()).labs
    got = {
        (r.patient_id, r.analyte, str(r.date.date())): (r.value, r.unit) for r in labs.itertuples()
    }
    assert got[("A1", "cd4", "2015-09-10")] == (210.0, "cells/uL")  # 0.21 x 10^9/L
    assert got[("A1", "lymphocytes", "2015-09-10")] == (900.0, "cells/uL")
    assert got[("A1", "cd4", "2016-06-10")] == (415.0, "cells/uL")
    assert got[("A2", "platelets", "2014-06-01")] == (150.0, "10^9/L")  # 150000 /uL
    assert got[("A2", "nfl_serum", "2014-06-01")] == (12.5, "pg/mL")  # ng/L = pg/mL
    assert got[("A3", "cd19", "2019-01-02")] == (120.0, "cells/uL")  # G/L is 10^9/L


@pytest.mark.parametrize("unit", ["%", "mg/dL", "cells/L", "10^6/uL"])
def test_a_unit_without_an_exact_conversion_is_a_located_error(unit: str) -> None:
    tables = with_labs()
    tables["labs"].loc[2, "unit"] = unit
    report = validate(tables)
    errors = [p for p in report.errors if p.table == "labs"]
    assert [(p.row, p.patient_id, p.column, p.value) for p in errors] == [(3, "A1", "unit", unit)]
    assert "cells/uL" in errors[0].problem


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("analyte", "cd5", "must be one of cd4"),
        ("value", "-3", "must be >= 0"),
        ("value", "", "required"),
        ("unit", "", "required"),
        ("date", "2015-13-01", "calendar date"),
    ],
)
def test_bad_lab_rows_are_located(column: str, value: str, words: str) -> None:
    tables = with_labs()
    tables["labs"].loc[1, column] = value
    errors = [p for p in validate(tables).errors if p.table == "labs"]
    assert [(p.row, p.column) for p in errors] == [(2, column)], [p.describe() for p in errors]
    assert words in errors[0].problem


def test_proms_validate_and_unknown_instrument_is_located() -> None:
    cohort = Cohort.from_frames(with_labs())
    assert cohort.proms["value"].tolist() == [0.81, 75.0, 42.0]
    tables = with_labs()
    tables["proms"].loc[2, "instrument"] = "sf_36"
    errors = [p for p in validate(tables).errors if p.table == "proms"]
    assert [(p.row, p.patient_id, p.column) for p in errors] == [(3, "A2", "instrument")]


def test_absent_tables_are_empty_and_the_old_seven_still_read() -> None:
    cohort = Cohort.from_frames(tiny_tables())
    assert cohort.labs.empty
    assert cohort.proms.empty
    assert list(cohort.labs.columns) == list(SCHEMA["labs"].column_names)


def test_store_export_and_deidentification(tmp_path: Path) -> None:
    cohort = Cohort.from_frames(with_labs())
    import_cohort(cohort, tmp_path / "c.duckdb")
    assert read_store(tmp_path / "c.duckdb").equals(cohort)
    write_cohort(cohort, tmp_path / "out", "csv")
    assert (tmp_path / "out" / "labs.csv").is_file()
    assert read_cohort(tmp_path / "out").equals(cohort)
    deid = deidentify(cohort, b"test key: sixteen bytes or more").cohort
    assert sorted(deid.labs["value"]) == sorted(cohort.labs["value"])
    assert sorted(deid.labs["unit"]) == sorted(cohort.labs["unit"])
    assert sorted(deid.proms["item"]) == sorted(cohort.proms["item"])
    assert set(deid.labs["date"]) != set(cohort.labs["date"])  # dates shifted


def test_vocabulary_units_and_loinc_codes() -> None:
    assert set(ANALYTES) == set(SCHEMA["labs"]["analyte"].allowed or ())
    for analyte in ANALYTES.values():
        assert analyte.unit in (SCHEMA["labs"]["unit"].allowed or ())
        assert unit_key(analyte.unit) in analyte.units
        assert analyte.units[unit_key(analyte.unit)] == 1.0
    assert ANALYTES["cd4"].loinc == "24467-3"
    assert ANALYTES["cd4_naive"].loinc is None  # none checked: left empty, not invented
    assert unit_key(" x 10^9 / L ") == "10^9/l"
    assert unit_key("10*9/L") == "10^9/l"
