"""REDCap flat export reader: round trip of the example cohort, bad mappings, bad data."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import msreboot.data
from msreboot.data import Cohort, read_cohort, read_redcap, validate
from msreboot.data._schema import SCHEMA
from msreboot.datasets import load_example
from msreboot.exceptions import DataValidationError

EXAMPLE_MAPPING = Path(msreboot.data.__file__).parent / "redcap_mapping_example.toml"


# --- helpers --------------------------------------------------------------------------------


def _sources(mapping: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for table, entry in mapping["tables"].items():
        for source in entry if isinstance(entry, list) else [entry]:
            out.append((table, source))
    return out


def _code_text(value: object) -> str:
    if value is None or value is pd.NA or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _encode(table: str, frame: pd.DataFrame, source: Mapping[str, Any]) -> pd.DataFrame:
    """The REDCap fields of one source, coded as REDCap exports them (raw codes)."""
    fields: dict[str, list[str]] = {}
    for column, field in source.get("columns", {}).items():
        codes = source.get("values", {}).get(column)
        inverse = {
            _code_text(v) if isinstance(v, bool) else str(v): k for k, v in (codes or {}).items()
        }
        values = [_code_text(v) for v in frame[column]]
        if codes is not None:
            if SCHEMA[table][column].kind == "bool":
                values = [inverse["1" if v == "1" else "0"] if v else "" for v in values]
            else:
                values = [inverse[v] if v else "" for v in values]
        fields[field] = values
    for column, field in source.get("checkboxes", {}).items():
        fields[field] = ["1" if v is True else "0" for v in frame[column].astype(object)]
    return pd.DataFrame(fields, index=frame.index)


def cohort_to_redcap(cohort: Cohort, mapping: Mapping[str, Any]) -> pd.DataFrame:
    """A REDCap flat export of ``cohort`` under ``mapping``, coded values and all.

    One base row per record holds the non-repeating sources (patients, deaths); each row of
    a repeating source becomes a row with ``redcap_repeat_instrument`` and its instance.
    """
    id_field = mapping["id_field"]
    base = pd.DataFrame({id_field: cohort.patients["patient_id"].astype(str)})
    base["redcap_repeat_instrument"] = ""
    base["redcap_repeat_instance"] = ""
    base["_order"] = range(len(base))
    base["_sub"] = 0
    repeating = []
    order = dict(zip(base[id_field], base["_order"], strict=True))
    for table, source in _sources(mapping):
        frame = cohort.table(table)
        for column, value in source.get("constants", {}).items():
            frame = frame[frame[column] == value]
        coded = _encode(table, frame, source)
        ids = frame["patient_id"].astype(str)
        if "instrument" not in source:
            coded[id_field] = ids
            by_id = coded.set_index(id_field)
            for field in by_id.columns:
                base[field] = base[id_field].map(by_id[field]).fillna("")
            continue
        coded.insert(0, id_field, ids)
        coded["redcap_repeat_instrument"] = source["instrument"]
        coded["redcap_repeat_instance"] = (coded.groupby(id_field).cumcount() + 1).astype(str)
        coded["_order"] = ids.map(order)
        coded["_sub"] = 1
        repeating.append(coded)
    export = pd.concat([base, *repeating], ignore_index=True).fillna("")
    export = export.sort_values(["_order", "_sub"], kind="stable")
    return export.drop(columns=["_order", "_sub"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def example() -> Cohort:
    return load_example()


@pytest.fixture(scope="module")
def mapping_doc() -> dict[str, Any]:
    return tomllib.loads(EXAMPLE_MAPPING.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def export_csv(
    example: Cohort, mapping_doc: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("redcap") / "project_export.csv"
    cohort_to_redcap(example, mapping_doc).to_csv(path, index=False)
    return path


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


SMALL_EXPORT = (
    "record_id,redcap_repeat_instrument,redcap_repeat_instance,sex,ms_type,"
    "edss_date,edss_score,ae_date,ae_cat,ae_flags___1,ae_flags___2\n"
    "1,,,2,1,,,,,0,0\n"
    "1,edss_assessment,1,,,2020-01-10,3.5,,,0,0\n"
    "1,edss_assessment,2,,,2020-07-02,3.0,,,0,0\n"
    "1,adverse_event,1,,,,,2020-02-01,1,1,0\n"
    "2,,,1,2,,,,,0,0\n"
    "2,adverse_event,1,,,,,2020-03-01,2,0,1\n"
)

SMALL_MAPPING = """
id_field = "record_id"
[tables.patients]
columns = { sex = "sex", phenotype = "ms_type" }
[tables.patients.values.sex]
"1" = "F"
"2" = "M"
[tables.patients.values.phenotype]
"1" = "RRMS"
"2" = "SPMS"
[tables.edss]
instrument = "edss_assessment"
columns = { date = "edss_date", edss = "edss_score" }
[tables.adverse_events]
instrument = "adverse_event"
columns = { onset_date = "ae_date", category = "ae_cat" }
checkboxes = { serious = "ae_flags___1" }
[tables.adverse_events.values.category]
"1" = "infection"
"2" = "cardiac"
"""


@pytest.fixture
def small(tmp_path: Path) -> tuple[Path, Path]:
    return write(tmp_path / "export.csv", SMALL_EXPORT), write(tmp_path / "map.toml", SMALL_MAPPING)


# --- round trip -----------------------------------------------------------------------------


def test_example_cohort_round_trips_through_redcap_export(
    example: Cohort, export_csv: Path
) -> None:
    cohort = read_cohort(export_csv, redcap_mapping=EXAMPLE_MAPPING)
    for name in SCHEMA:
        pd.testing.assert_frame_equal(cohort.table(name), example.table(name), obj=name)
    assert cohort.equals(example)
    assert cohort.warnings == ()


def test_export_is_coded_and_flat(export_csv: Path) -> None:
    export = pd.read_csv(export_csv, dtype=str, keep_default_na=False)
    base = export[export["redcap_repeat_instrument"] == ""]
    assert set(base["dem_sex"]) <= {"1", "2", "3"}
    assert base["record_id"].is_unique
    instruments = set(export["redcap_repeat_instrument"]) - {""}
    assert instruments == {
        "transplant",
        "dmt",
        "edss_assessment",
        "relapse",
        "mri_scan",
        "adverse_event",
        "timed_25_foot_walk",
        "nine_hole_peg_test",
        "sdmt",
        "laboratory",
    }


def test_small_export_reads_every_table(small: tuple[Path, Path]) -> None:
    tables, problems = read_redcap(*small)
    assert problems == []
    assert tables["patients"].to_dict("list") == {
        "patient_id": ["1", "2"],
        "sex": ["M", "F"],
        "phenotype": ["RRMS", "SPMS"],
    }
    assert tables["edss"]["edss"].tolist() == ["3.5", "3.0"]
    assert tables["adverse_events"]["serious"].tolist() == ["true", "false"]
    cohort = read_cohort(small[0], redcap_mapping=small[1])
    assert cohort.adverse_events["category"].tolist() == ["infection", "cardiac"]


def test_one_instrument_feeds_two_tables_and_events_filter(tmp_path: Path) -> None:
    export = write(
        tmp_path / "e.csv",
        (
            "record_id,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance,ph,"
            "v_date,v_edss,v_relapse\n"
            "1,baseline_arm_1,,,RRMS,,,\n"
            "1,month_6_arm_1,,,,,,\n"
            "1,baseline_arm_1,visit,1,,2020-01-01,2.0,\n"
            "1,baseline_arm_1,visit,2,,2020-06-01,2.5,2020-05-20\n"
        ),
    )
    mapping = write(
        tmp_path / "m.toml",
        """
[tables.patients]
events = ["baseline_arm_1"]
columns = { phenotype = "ph" }
[tables.edss]
instrument = "visit"
columns = { date = "v_date", edss = "v_edss" }
[tables.relapses]
instrument = "visit"
columns = { onset_date = "v_relapse" }
""",
    )
    cohort = read_cohort(export, redcap_mapping=mapping)
    assert cohort.n_patients == 1
    assert len(cohort.edss) == 2
    assert cohort.relapses["onset_date"].tolist() == [pd.Timestamp("2020-05-20")]


# --- problems in the export -----------------------------------------------------------------


def test_unknown_code_is_reported_with_row_patient_and_field(tmp_path: Path) -> None:
    export = write(tmp_path / "export.csv", SMALL_EXPORT.replace("2,,,1,2,", "2,,,7,2,"))
    tables, problems = read_redcap(export, write(tmp_path / "m.toml", SMALL_MAPPING))
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.table, problem.row, problem.patient_id, problem.column, problem.value) == (
        "patients",
        5,
        "2",
        "sex",
        "7",
    )
    assert "field sex" in problem.problem
    assert "[tables.patients.values.sex]" in problem.problem
    assert pd.isna(tables["patients"]["sex"].iloc[1])
    with pytest.raises(DataValidationError) as err:
        read_cohort(export, redcap_mapping=tmp_path / "m.toml")
    assert err.value.problems[0] == problem


def test_missing_field_suggests_the_closest(tmp_path: Path) -> None:
    mapping = write(
        tmp_path / "m.toml", SMALL_MAPPING.replace('edss = "edss_score"', 'edss = "edss_scor"')
    )
    _, problems = read_redcap(write(tmp_path / "e.csv", SMALL_EXPORT), mapping)
    assert len(problems) == 1
    assert (problems[0].table, problems[0].column) == ("edss", "edss")
    assert "tables.edss.columns.edss" in problems[0].problem
    assert "'edss_scor'" in problems[0].problem
    assert "Did you mean 'edss_score'?" in problems[0].problem
    report = validate(tmp_path / "e.csv", redcap_mapping=mapping)
    assert not report.ok


def test_missing_id_field(tmp_path: Path) -> None:
    mapping = write(
        tmp_path / "m.toml",
        'id_field = "recordid"\n' + SMALL_MAPPING.replace('id_field = "record_id"', ""),
    )
    tables, problems = read_redcap(write(tmp_path / "e.csv", SMALL_EXPORT), mapping)
    assert tables == {}
    assert "Did you mean 'record_id'?" in problems[0].problem


def test_instrument_typo_is_an_error_and_absent_instrument_a_warning(tmp_path: Path) -> None:
    export = write(tmp_path / "e.csv", SMALL_EXPORT)
    typo = write(
        tmp_path / "typo.toml", SMALL_MAPPING.replace('"edss_assessment"', '"edss_asessment"')
    )
    _, problems = read_redcap(export, typo)
    assert [(p.severity, p.value) for p in problems] == [("error", "edss_asessment")]
    assert "Did you mean 'edss_assessment'?" in problems[0].problem
    absent = write(
        tmp_path / "absent.toml",
        SMALL_MAPPING
        + """
[tables.relapses]
instrument = "relapse"
columns = { onset_date = "edss_date" }
""",
    )
    tables, problems = read_redcap(export, absent)
    assert [p.severity for p in problems] == ["warning"]
    assert tables["relapses"].empty


def test_rows_without_record_id(tmp_path: Path) -> None:
    export = write(tmp_path / "e.csv", SMALL_EXPORT + ",edss_assessment,3,,,2021-01-01,4.0,,,0,0\n")
    tables, problems = read_redcap(export, write(tmp_path / "m.toml", SMALL_MAPPING))
    assert [(p.table, p.row, p.column) for p in problems] == [("edss", 7, "patient_id")]
    assert "record_id must be filled" in problems[0].problem
    assert len(tables["edss"]) == 2


def test_bad_checkbox_value(tmp_path: Path) -> None:
    export = write(tmp_path / "e.csv", SMALL_EXPORT.replace(",1,1,0\n", ",1,maybe,0\n"))
    _, problems = read_redcap(export, write(tmp_path / "m.toml", SMALL_MAPPING))
    assert [(p.row, p.column, p.value) for p in problems] == [(4, "serious", "maybe")]


def test_checked_unchecked_labels_are_read(tmp_path: Path) -> None:
    export = write(
        tmp_path / "e.csv",
        SMALL_EXPORT.replace(",1,1,0\n", ",1,Checked,0\n").replace(",2,0,1\n", ",2,Unchecked,1\n"),
    )
    tables, problems = read_redcap(export, write(tmp_path / "m.toml", SMALL_MAPPING))
    assert problems == []
    assert tables["adverse_events"]["serious"].tolist() == ["true", "false"]


# --- bad mapping files ----------------------------------------------------------------------


BAD_MAPPINGS = [
    pytest.param("[tables.patients\n", "(file)", "valid TOML", id="not-toml"),
    pytest.param(
        '[tables.patients]\ncolums = { sex = "sex" }\n',
        "tables.patients.colums",
        "Did you mean columns?",
        id="unknown-key",
    ),
    pytest.param(
        '[tables.patient]\ncolumns = { sex = "sex" }\n',
        "tables.patient",
        "Did you mean patients?",
        id="unknown-table",
    ),
    pytest.param(
        '[tables.patients]\ncolumns = { sexx = "sex" }\n',
        "tables.patients.columns.sexx",
        "Did you mean sex?",
        id="unknown-column",
    ),
    pytest.param(
        "[tables.patients]\ncolumns = { sex = 3 }\n",
        "tables.patients.columns.sex",
        "must be a valid string; got 3",
        id="field-not-text",
    ),
    pytest.param(
        '[tables.patients]\ncolumns = { patient_id = "pid" }\n',
        "tables.patients.columns.patient_id",
        "id_field",
        id="patient-id-mapped",
    ),
    pytest.param(
        '[tables.patients]\ncolumns = { sex = "s" }\nconstants = { sex = "F" }\n',
        "tables.patients.constants.sex",
        "set once",
        id="column-twice",
    ),
    pytest.param(
        '[tables.patients]\ncheckboxes = { sex = "s___1" }\n',
        "tables.patients.checkboxes.sex",
        "true/false column",
        id="checkbox-not-bool",
    ),
    pytest.param(
        '[tables.patients.values.sex]\n"1" = "F"\n',
        "tables.patients.values.sex",
        "mapped in tables.patients.columns",
        id="values-without-column",
    ),
    pytest.param(
        '[[tables.treatments]]\ninstrument = "tx"\ncolumns = { knd = "k" }\n',
        "tables.treatments[0].columns.knd",
        "Did you mean kind?",
        id="array-entry",
    ),
    pytest.param('id_field = "record_id"\n', "tables", "must be given", id="no-tables"),
]


@pytest.mark.parametrize(("text", "key", "message"), BAD_MAPPINGS)
def test_bad_mapping_names_the_key(tmp_path: Path, text: str, key: str, message: str) -> None:
    mapping = write(tmp_path / "mapping.toml", text)
    with pytest.raises(DataValidationError) as err:
        read_redcap(write(tmp_path / "e.csv", SMALL_EXPORT), mapping)
    problems = err.value.problems
    assert len(problems) == 1, [p.describe() for p in problems]
    assert problems[0].table == "mapping.toml"
    assert problems[0].column == key
    assert message in problems[0].problem


def test_bad_mapping_lists_every_bad_key(tmp_path: Path) -> None:
    mapping = write(
        tmp_path / "m.toml", '[tables.patients]\ncolumns = { sexx = "s", phenotyp = "p" }\n'
    )
    with pytest.raises(DataValidationError) as err:
        read_cohort(write(tmp_path / "e.csv", SMALL_EXPORT), redcap_mapping=mapping)
    assert [p.column for p in err.value.problems] == [
        "tables.patients.columns.sexx",
        "tables.patients.columns.phenotyp",
    ]


def test_missing_mapping_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="REDCap mapping must be an existing TOML"):
        read_redcap(write(tmp_path / "e.csv", SMALL_EXPORT), tmp_path / "nope.toml")


def test_example_mapping_names_every_instrument(mapping_doc: dict[str, Any]) -> None:
    instruments = {s.get("instrument") for _, s in _sources(mapping_doc)}
    assert instruments == {
        None,
        "transplant",
        "dmt",
        "edss_assessment",
        "relapse",
        "mri_scan",
        "adverse_event",
        "timed_25_foot_walk",
        "nine_hole_peg_test",
        "sdmt",
        "laboratory",
    }
    for table, source in _sources(mapping_doc):
        mapped = {
            *source.get("columns", {}),
            *source.get("constants", {}),
            *source.get("checkboxes", {}),
        }
        required = {c.name for c in SCHEMA[table].columns if c.required} - {"patient_id"}
        assert required <= mapped, table


def test_validation_problems_point_at_export_rows(small: tuple[Path, Path]) -> None:
    export, mapping = small
    text = export.read_text(encoding="utf-8").replace("2020-07-02,3.0", "2020-07-02,12")
    export.write_text(text, encoding="utf-8")
    report = validate(export, redcap_mapping=mapping)
    [problem] = report.errors
    # the third data row of the export is edss_assessment instance 2 of record 1
    assert (problem.table, problem.row, problem.patient_id, problem.column, problem.value) == (
        "edss",
        3,
        "1",
        "edss",
        "12",
    )
