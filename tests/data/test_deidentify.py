"""De-identification: pseudonyms, per-patient date shifts, no free text, the key file."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msreboot.data import (
    Cohort,
    Deidentified,
    deidentify,
    load_or_create_key,
    load_vocabulary,
    write_mapping,
)
from msreboot.data._schema import SCHEMA
from msreboot.datasets import load_example

KEY = b"test key: sixteen bytes or more"
OTHER_KEY = b"another test key, also long enough"


@pytest.fixture(scope="module")
def example() -> Cohort:
    return load_example()


@pytest.fixture(scope="module")
def deid(example: Cohort) -> Deidentified:
    return deidentify(example, KEY)


def subset(cohort: Cohort, n: int) -> Cohort:
    ids = set(cohort.patients["patient_id"].iloc[:n])
    return Cohort.from_frames(
        {name: t[t["patient_id"].isin(ids)] for name, t in cohort.tables.items()},
        time_unit=cohort.time_unit,
    )


def patient_dates(cohort: Cohort) -> pd.DataFrame:
    """Every date of every table: patient_id, where (table.column#row-rank) and date."""
    parts = []
    for name, spec in SCHEMA.items():
        table = cohort.table(name)
        for col in spec.date_columns:
            part = table[["patient_id", col]].dropna().set_axis(["patient_id", "date"], axis=1)
            part["where"] = f"{name}.{col}"
            parts.append(part)
    return pd.concat(parts, ignore_index=True)


def intervals(cohort: Cohort, rename: dict[str, str] | None = None) -> dict[str, list[int]]:
    """Per patient: the sorted days of every date from the patient's first date."""
    dates = patient_dates(cohort)
    if rename is not None:
        dates["patient_id"] = dates["patient_id"].map(rename)
    out = {}
    for pid, group in dates.groupby("patient_id"):
        days = sorted(group["date"])
        gaps = [d - days[0] for d in days]
        out[str(pid)] = [g.days if isinstance(g, pd.Timedelta) else int(g) for g in gaps]
    return out


def shifted_original(cohort: Cohort, mapping: pd.DataFrame, name: str) -> pd.DataFrame:
    """The original table transformed by the mapping: the expected de-identified table."""
    pseudonym = dict(zip(mapping["patient_id"], mapping["pseudonym"], strict=True))
    shift = dict(zip(mapping["patient_id"], mapping["shift_days"], strict=True))
    table = cohort.table(name).copy()
    delta = pd.to_timedelta(table["patient_id"].map(shift).astype("int64"), unit="D")
    days = table["patient_id"].map(shift).astype("Int64")
    for col in SCHEMA[name].date_columns:
        table[col] = table[col] + (delta if cohort.time_unit == "date" else days)
    for col in SCHEMA[name].columns:
        if col.kind in ("text", "label"):
            table[col.name] = pd.Series(pd.NA, index=table.index, dtype="string")
    table["patient_id"] = table["patient_id"].map(pseudonym).astype("string")
    return table


def same_rows(left: pd.DataFrame, right: pd.DataFrame) -> None:
    columns = list(left.columns)
    pd.testing.assert_frame_equal(
        left.sort_values(columns).reset_index(drop=True),
        right.sort_values(columns).reset_index(drop=True),
    )


# --- dates ------------------------------------------------------------------------------------


def test_intervals_within_each_patient_are_preserved_exactly(
    example: Cohort, deid: Deidentified
) -> None:
    rename = dict(zip(deid.mapping["patient_id"], deid.mapping["pseudonym"], strict=True))
    assert intervals(deid.cohort) == intervals(example, rename)


@pytest.mark.parametrize("name", list(SCHEMA))
def test_every_row_moves_by_its_patient_shift(
    example: Cohort, deid: Deidentified, name: str
) -> None:
    expected = shifted_original(example, deid.mapping, name)
    if name == "patients":
        expected = expected.drop(columns="birth_year")
        actual = deid.cohort.patients.drop(columns="birth_year")
    else:
        actual = deid.cohort.table(name)
    same_rows(actual, expected)


def test_shifts_are_nonzero_both_ways_and_within_bounds(deid: Deidentified) -> None:
    shifts = deid.mapping["shift_days"]
    assert shifts.abs().between(1, 365).all()
    assert (shifts > 0).sum() > 60  # not always backwards
    assert (shifts < 0).sum() > 60
    assert shifts.nunique() > 100  # one draw per patient, not one for everyone


def test_no_date_is_after_today_or_before_1900(deid: Deidentified) -> None:
    dates = patient_dates(deid.cohort)["date"]
    assert dates.max() <= pd.Timestamp(dt.date.today())
    assert dates.min() >= pd.Timestamp("1900-01-01")


def test_result_validates_again(deid: Deidentified) -> None:
    again = Cohort.from_frames(deid.cohort.tables)
    assert again.equals(deid.cohort)


def day_based(example: Cohort, n: int = 15) -> Cohort:
    small = subset(example, n)
    origin = small.patients.set_index("patient_id")["diagnosis_date"]
    tables = {}
    for name, table in small.tables.items():
        table = table.copy()
        base = table["patient_id"].map(origin)
        for col in SCHEMA[name].date_columns:
            table[col] = (table[col] - base).dt.days.astype("Int64")
        tables[name] = table
    return Cohort.from_frames(tables, time_unit="day")


def test_day_based_cohort_is_shifted_with_intervals_kept(example: Cohort) -> None:
    days = day_based(example)
    out = deidentify(days, KEY)
    assert out.cohort.time_unit == "day"
    assert out.mapping["shift_days"].abs().between(1, 365).all()
    for name in SCHEMA:
        same_rows(out.cohort.table(name), shifted_original(days, out.mapping, name))
    rename = dict(zip(out.mapping["patient_id"], out.mapping["pseudonym"], strict=True))
    assert intervals(out.cohort) == intervals(days, rename)
    kept = deidentify(days, KEY, shift_day_numbers=False)
    assert (kept.mapping["shift_days"] == 0).all()
    assert "day numbers kept" in kept.summary()


def test_yyyymmdd_day_numbers_are_refused(example: Cohort) -> None:
    small = subset(example, 5)
    tables = {}
    for name, table in small.tables.items():
        table = table.copy()
        for col in SCHEMA[name].date_columns:
            table[col] = table[col].dt.strftime("%Y%m%d").astype("Int64")
        tables[name] = table
    cohort = Cohort.from_canonical(tables, "day")  # the readers refuse these; the API may not
    with pytest.raises(ValueError, match=r"look like YYYYMMDD dates.*%Y%m%d"):
        deidentify(cohort, KEY)


def test_excel_serials_are_shifted_or_refused(example: Cohort) -> None:
    small = subset(example, 8)
    tables = {}
    for name, table in small.tables.items():
        table = table.copy()
        for col in SCHEMA[name].date_columns:
            table[col] = (table[col] - pd.Timestamp("1899-12-30")).dt.days.astype("Int64")
        tables[name] = table
    serials = Cohort.from_frames(tables, time_unit="day")
    out = deidentify(serials, KEY)
    for name in SCHEMA:
        same_rows(out.cohort.table(name), shifted_original(serials, out.mapping, name))
    with pytest.raises(ValueError, match="Excel serial"):
        deidentify(serials, KEY, shift_day_numbers=False)


def test_labels_are_emptied_or_mapped_by_a_vocabulary(example: Cohort, tmp_path: Path) -> None:
    patients = example.patients.copy()
    patients.loc[0, "centre"] = "CMV (patient John Roe)"
    cohort = Cohort.from_frames({**example.tables, "patients": patients})
    out = deidentify(cohort, KEY)
    for table, col in (("patients", "centre"), ("treatments", "protocol")):
        assert out.cohort.table(table)[col].isna().all()
    assert out.cohort.adverse_events["pathogen"].isna().all()
    vocab = tmp_path / "vocab.toml"
    vocab.write_text('centre = ["C01"]\n[pathogen]\ncmv = "CMV"\n')
    mapped = deidentify(cohort, KEY, vocabulary=load_vocabulary(vocab))
    assert set(mapped.cohort.patients["centre"].dropna()) == {"C01"}
    assert mapped.cohort.patients["centre"].iloc[0] is pd.NA
    assert set(mapped.cohort.adverse_events["pathogen"].dropna()) <= {"CMV"}
    assert mapped.cohort.treatments["protocol"].isna().all()
    vocab.write_text('notes = ["x"]\n')
    with pytest.raises(ValueError, match="vocabulary columns must be label columns"):
        load_vocabulary(vocab)


def test_birth_year_is_shifted_from_1_july(example: Cohort) -> None:
    small = subset(example, 40)
    patients = small.patients.copy()
    patients["birth_year"] = patients["birth_date"].dt.year.astype("Int64")
    patients["birth_date"] = pd.NaT
    tables = {**small.tables, "patients": patients}
    cohort = Cohort.from_frames(tables)
    out = deidentify(cohort, KEY)
    shift = dict(zip(out.mapping["pseudonym"], out.mapping["shift_days"], strict=True))
    original = dict(zip(cohort.patients["patient_id"], cohort.patients["birth_year"], strict=True))
    pseudonym = dict(zip(out.mapping["patient_id"], out.mapping["pseudonym"], strict=True))
    for pid, year in original.items():
        p = pseudonym[pid]
        got = out.cohort.patients.set_index("patient_id").at[p, "birth_year"]
        assert got == (dt.date(int(year), 7, 1) + dt.timedelta(days=int(shift[p]))).year


def test_birth_year_never_follows_the_first_event() -> None:
    cohort = Cohort.from_frames(
        {
            "patients": pd.DataFrame(
                {"patient_id": ["A"], "phenotype": ["RRMS"], "birth_year": [1980]}
            ),
            "edss": pd.DataFrame({"patient_id": ["A"], "date": ["1980-01-01"], "edss": [0.0]}),
        }
    )
    out = deidentify(cohort, KEY)
    first = out.cohort.edss["date"].iloc[0]
    assert out.cohort.patients["birth_year"].iloc[0] <= first.year


def test_dates_near_1900_are_shifted_forward(example: Cohort) -> None:
    small = subset(example, 1)
    patients = small.patients.copy()
    patients["birth_date"] = pd.Timestamp("1900-01-01")
    cohort = Cohort.from_frames({**small.tables, "patients": patients})
    out = deidentify(cohort, KEY)
    assert 1 <= abs(out.mapping["shift_days"].iloc[0]) <= 365
    assert out.cohort.patients["birth_date"].iloc[0] > pd.Timestamp("1900-01-01")


# --- identifiers and text ---------------------------------------------------------------------


def test_ids_replaced_everywhere_and_consistently(example: Cohort, deid: Deidentified) -> None:
    originals = set(example.patients["patient_id"])
    pseudonyms = set(deid.mapping["pseudonym"])
    assert len(pseudonyms) == example.n_patients
    assert all(p.startswith("P") and len(p) == 17 for p in pseudonyms)
    for name in SCHEMA:
        ids = set(deid.cohort.table(name)["patient_id"])
        assert not ids & originals, name
        assert ids <= pseudonyms, name
    rename = dict(zip(deid.mapping["patient_id"], deid.mapping["pseudonym"], strict=True))
    for name in SCHEMA:
        counts = example.table(name)["patient_id"].map(rename).value_counts().sort_index()
        got = deid.cohort.table(name)["patient_id"].value_counts().sort_index()
        pd.testing.assert_series_equal(
            got, counts.astype(got.dtype), check_names=False, check_index_type=False
        )


@pytest.mark.parametrize(
    ("table", "column"),
    [(t.name, c.name) for t in SCHEMA.values() for c in t.columns if c.kind == "text"],
)
def test_no_text_column_keeps_any_value(
    example: Cohort, deid: Deidentified, table: str, column: str
) -> None:
    assert deid.cohort.table(table)[column].isna().all()


def test_example_has_text_to_remove(example: Cohort) -> None:
    assert example.patients["notes"].notna().any()
    assert example.adverse_events["detail"].notna().any()


def test_same_key_same_output(example: Cohort, deid: Deidentified) -> None:
    again = deidentify(example, KEY)
    assert again.cohort.equals(deid.cohort)
    pd.testing.assert_frame_equal(again.mapping, deid.mapping)


def test_different_key_different_pseudonyms_and_shifts(example: Cohort, deid: Deidentified) -> None:
    other = deidentify(example, OTHER_KEY)
    assert not set(other.mapping["pseudonym"]) & set(deid.mapping["pseudonym"])
    same_shift = (other.mapping["shift_days"] == deid.mapping["shift_days"]).mean()
    assert same_shift < 0.05


def test_mapping_and_summary(example: Cohort, deid: Deidentified) -> None:
    frame = deid.to_frame()
    assert list(frame.columns) == ["patient_id", "pseudonym", "shift_days"]
    assert frame["patient_id"].tolist() == example.patients["patient_id"].tolist()
    text = deid.summary()
    assert "300 patients" in text
    assert "notes" in text
    assert not any(pid in text for pid in frame["patient_id"])
    assert "<pre>" in deid._repr_html_()


def test_pseudonym_collision_raises(example: Cohort, monkeypatch: pytest.MonkeyPatch) -> None:
    import msreboot.data._deidentify as module

    monkeypatch.setattr(module, "_pseudonym", lambda key, pid: "PSAME")
    with pytest.raises(ValueError, match="pseudonyms must be unique; got PSAME"):
        deidentify(subset(example, 3), KEY)


@pytest.mark.parametrize(
    ("key", "max_shift", "error", "match"),
    [
        pytest.param(b"short", 365, ValueError, "at least 16 bytes", id="short-key"),
        pytest.param("a text key, not bytes", 365, TypeError, "key must be bytes", id="str"),
        pytest.param(KEY, 0, ValueError, "max_shift_days must be", id="zero-shift"),
        pytest.param(KEY, 1.5, ValueError, "max_shift_days must be", id="float-shift"),
    ],
)
def test_bad_arguments(
    example: Cohort, key: object, max_shift: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        deidentify(example, key, max_shift_days=max_shift)  # type: ignore[arg-type]


# --- key and mapping files --------------------------------------------------------------------


def test_key_file_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "msreboot.key"
    key = load_or_create_key(path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == key.hex()
    assert load_or_create_key(path) == key
    assert load_or_create_key(tmp_path / "other.key") != key
    assert list((tmp_path / "secrets").iterdir()) == [path]  # no temporary file left


@pytest.mark.parametrize(
    ("content", "match"),
    [
        pytest.param("00ff" * 8 + "\n", None, id="16-bytes-ok"),
        pytest.param("00ff" * 3, "at least 16 bytes long; got 6", id="too-short"),
        pytest.param("not hex at all", "hexadecimal", id="not-hex"),
    ],
)
def test_key_file_contents(tmp_path: Path, content: str, match: str | None) -> None:
    path = tmp_path / "k.key"
    path.write_text(content)
    if match is None:
        assert load_or_create_key(path) == bytes.fromhex(content)
    else:
        with pytest.raises(ValueError, match=match):
            load_or_create_key(path)


def test_write_mapping(tmp_path: Path, deid: Deidentified) -> None:
    path = write_mapping(deid, tmp_path / "out" / "mapping.csv")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    back = pd.read_csv(path, dtype={"patient_id": str, "pseudonym": str})
    assert back["pseudonym"].tolist() == deid.mapping["pseudonym"].tolist()
    assert back["shift_days"].tolist() == deid.mapping["shift_days"].tolist()
    assert write_mapping(deid.mapping, tmp_path / "again.csv").read_text() == path.read_text()
    with pytest.raises(ValueError, match="mapping must have the columns"):
        write_mapping(deid.mapping.drop(columns="shift_days"), tmp_path / "bad.csv")


def test_nothing_written_unless_asked(
    tmp_path: Path, example: Cohort, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    deidentify(subset(example, 5), KEY)
    assert list(tmp_path.iterdir()) == []


# --- property ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_example(example: Cohort) -> Cohort:
    return subset(example, 12)


@pytest.mark.slow
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(key=st.binary(min_size=16, max_size=64), max_shift=st.integers(1, 3650))
def test_any_key_preserves_intervals_and_validates(
    small_example: Cohort, key: bytes, max_shift: int
) -> None:
    out = deidentify(small_example, key, max_shift_days=max_shift)
    shifts = out.mapping["shift_days"]
    assert shifts.abs().between(1, max_shift).all()
    assert out.mapping["pseudonym"].is_unique
    rename = dict(zip(out.mapping["patient_id"], out.mapping["pseudonym"], strict=True))
    assert intervals(out.cohort) == intervals(small_example, rename)
    for name in SCHEMA:
        expected = shifted_original(small_example, out.mapping, name)
        same_rows(out.cohort.table(name), expected)
    assert Cohort.from_frames(out.cohort.tables).equals(out.cohort)
