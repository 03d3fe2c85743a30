"""The audit of a de-identified copy, on the example cohort in every date form, and the CLI."""

from __future__ import annotations

import stat
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from msreboot.cli import app
from msreboot.data import (
    Cohort,
    check_deidentified,
    deidentify,
    read_cohort,
    write_cohort,
    write_tables,
)
from msreboot.data._schema import SCHEMA
from msreboot.datasets import example_path, load_example

KEY = b"test key: sixteen bytes or more"
runner = CliRunner()


def _variant(tmp_path: Path, form: str) -> Path:
    """The example cohort written with its dates as ISO, day numbers, YYYYMMDD or serials."""
    folder = tmp_path / f"original-{form}"
    cohort = load_example()
    origin = cohort.patients.set_index("patient_id")["diagnosis_date"]
    tables = {}
    for name, table in cohort.tables.items():
        table = table.copy()
        for col in SCHEMA[name].date_columns:
            if form == "day":
                base = table["patient_id"].map(origin)
                table[col] = (table[col] - base).dt.days.astype("Int64")
            elif form == "yyyymmdd":
                table[col] = table[col].dt.strftime("%Y%m%d")
            elif form == "serial":
                table[col] = (table[col] - pd.Timestamp("1899-12-30")).dt.days.astype("Int64")
        tables[name] = table
    write_tables(tables, folder)
    return folder


@pytest.mark.parametrize("form", ["iso", "day", "yyyymmdd", "serial"])
def test_check_passes_on_the_copy_and_fails_on_the_original(tmp_path: Path, form: str) -> None:
    original = _variant(tmp_path, form)
    key = tmp_path / "secret.key"
    shared = tmp_path / "shared"
    args = ["--no-progress", "deidentify", str(original), "--out", str(shared)]
    args += ["--key-file", str(key)]
    if form == "yyyymmdd":
        args += ["--date-format", "%Y%m%d"]
    if form in ("day", "serial"):
        args += ["--time-unit", "day"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    check = runner.invoke(
        app, ["--no-progress", "deidentify", str(original), "--check", str(shared)]
    )
    assert check.exit_code == 0, check.output
    assert "no original id, original date, free text or label found" in check.output
    exact = check_deidentified(shared, original, key=key.read_text().strip().encode())
    assert exact.ok or form == "never"
    again = runner.invoke(
        app, ["--no-progress", "deidentify", str(original), "--check", str(original)]
    )
    assert again.exit_code == 1, again.output
    assert "original id" in again.output


def test_dates_left_unshifted_are_found(tmp_path: Path) -> None:
    original = load_example()
    deid = deidentify(original, KEY)
    pseudonym = dict(zip(deid.mapping["patient_id"], deid.mapping["pseudonym"], strict=True))
    tables = {}
    for name, table in original.tables.items():
        table = table.assign(patient_id=table["patient_id"].map(pseudonym))
        for col in SCHEMA[name].columns:
            if col.kind in ("text", "label"):
                table[col.name] = pd.NA
        tables[name] = table
    leak = tmp_path / "leak"
    write_tables(tables, leak)
    audit = check_deidentified(leak, original=example_path())
    assert not audit.ok
    assert set(audit.findings["kind"]) == {"original date"}


def test_stray_files_and_free_text_are_found(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    write_cohort(deidentify(load_example(), KEY).cohort, shared)
    (shared / "mapping.csv").write_text("patient_id,pseudonym\n")
    audit = check_deidentified(shared)
    assert list(audit.findings["kind"]) == ["unexpected file"]


def _deid_args(src: Path, out: Path, key: Path) -> list[str]:
    return ["--no-progress", "deidentify", str(src), "--out", str(out), "--key-file", str(key)]


def test_out_and_key_placement_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_cohort(load_example(), src)
    key = tmp_path / "k.key"
    cases = [
        (_deid_args(src, src, key), "--out must be outside the source"),
        (_deid_args(src, src / "sub", key), "--out must be outside the source"),
        (
            _deid_args(src, tmp_path / "o", tmp_path / "o" / "k.key"),
            "--key-file must be outside --out",
        ),
        (_deid_args(src, tmp_path / "o", tmp_path), "--key-file must be a file"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert message in result.output
    assert not (tmp_path / "o").exists()


def test_stale_files_removed_and_readable_key_warned(tmp_path: Path) -> None:
    out = tmp_path / "shared"
    out.mkdir()
    (out / "old-identifiable.csv").write_text("name\nJohn Roe\n")
    key = tmp_path / "k.key"
    result = runner.invoke(app, _deid_args(example_path(), out, key))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not (out / "old-identifiable.csv").exists()
    key.chmod(0o644)
    result = runner.invoke(app, _deid_args(example_path(), out, key))
    assert result.exit_code == 0, result.output
    assert "can be read by other users" in result.output


def test_formula_cells_are_neutralised_and_cr_quoted(tmp_path: Path) -> None:
    cohort = load_example()
    patients = cohort.patients.head(20).copy()
    ids = set(patients["patient_id"])
    tables = {n: t[t["patient_id"].isin(ids)] for n, t in cohort.tables.items()}
    patients["notes"] = '=HYPERLINK("http://x")'
    patients.loc[patients.index[0], "notes"] = "line\rbreak"
    patients.loc[patients.index[1], "notes"] = "\t=1+1"
    small = Cohort.from_frames({**tables, "patients": patients})
    out = tmp_path / "export"
    write_cohort(small, out)
    back = read_cohort(out)
    assert back.n_patients == 20
    notes = set(back.patients["notes"].dropna())
    assert '\'=HYPERLINK("http://x")' in notes
    assert "'=1+1" in notes  # the reader strips the tab; the formula stays neutralised
    assert "=1+1" not in notes
    raw = tmp_path / "raw"
    write_tables({"patients": patients}, raw, escape_formulas=False)
    text = (raw / "patients.csv").read_text()
    assert "=HYPERLINK" in text
    assert "'=" not in text


def test_export_escapes_formulas_unless_told_not_to(tmp_path: Path) -> None:
    cohort = load_example()
    ids = set(cohort.patients["patient_id"].head(5))
    tables = {n: t[t["patient_id"].isin(ids)].copy() for n, t in cohort.tables.items()}
    tables["patients"]["notes"] = "=1+1"
    source = tmp_path / "source"
    write_cohort(Cohort.from_frames(tables), source, escape_formulas=False)
    for flag, expected in (("--escape-formulas", "'=1+1"), ("--no-escape-formulas", "=1+1")):
        out = tmp_path / flag
        result = runner.invoke(
            app, ["export", str(source), "--out", str(out), flag, "--no-progress"]
        )
        assert result.exit_code == 0, result.output
        cells = (out / "patients.csv").read_text().splitlines()[1].split(",")
        assert expected in cells
        assert (expected == "=1+1") == ("'=1+1" not in cells)
