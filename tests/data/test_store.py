"""The DuckDB store: exact round trips, idempotent re-import, all-or-nothing import."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from msreboot.data import Cohort, cohort_checksum, import_cohort, read_store
from msreboot.datasets import load_example
from msreboot.exceptions import StoreError
from tests.conftest import tiny_tables


@pytest.fixture(scope="module")
def example() -> Cohort:
    return load_example()


@pytest.fixture
def tiny() -> Cohort:
    return Cohort.from_frames(tiny_tables())


def test_round_trip_is_exact(tmp_path: Path, example: Cohort) -> None:
    db = tmp_path / "cohort.duckdb"
    result = import_cohort(example, db, source="example")
    assert result.changed
    assert result.rows == {name: len(t) for name, t in example.tables.items()}
    back = read_store(db)
    for name, frame in example.tables.items():
        pd.testing.assert_frame_equal(back.table(name), frame, check_exact=True, obj=name)
    assert back.time_unit == "date"


def test_day_based_round_trip(tmp_path: Path) -> None:
    cohort = Cohort.from_frames(
        {
            "patients": pd.DataFrame({"patient_id": ["V1"], "phenotype": ["RRMS"]}),
            "treatments": pd.DataFrame(
                {
                    "patient_id": ["V1"],
                    "kind": ["ahsct"],
                    "start_date": [0],
                    "engraftment_date": [10],
                }
            ),
            "edss": pd.DataFrame({"patient_id": ["V1"], "date": [-5], "edss": [3.5]}),
        }
    )
    import_cohort(cohort, tmp_path / "v.duckdb")
    back = read_store(tmp_path / "v.duckdb")
    assert back.time_unit == "day"
    assert back.equals(cohort)


def test_reimport_is_idempotent(tmp_path: Path, example: Cohort) -> None:
    db = tmp_path / "cohort.duckdb"
    import_cohort(example, db)
    before = db.read_bytes()
    stat = db.stat()
    again = import_cohort(load_example(), db)
    assert not again.changed
    assert db.read_bytes() == before
    assert db.stat().st_mtime_ns == stat.st_mtime_ns
    assert again.checksum == cohort_checksum(example)


def test_new_content_replaces_old(tmp_path: Path, example: Cohort, tiny: Cohort) -> None:
    db = tmp_path / "cohort.duckdb"
    import_cohort(example, db)
    assert import_cohort(tiny, db).changed
    assert read_store(db).equals(tiny)


def test_store_has_schema_and_metadata(tmp_path: Path, tiny: Cohort) -> None:
    db = tmp_path / "cohort.duckdb"
    import_cohort(tiny, db, source="tiny")
    with duckdb.connect(str(db), read_only=True) as con:
        meta = dict(con.sql("SELECT key, value FROM msreboot_meta").fetchall())
        types = dict(
            con.sql(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'edss'"
            ).fetchall()
        )
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(db.read_bytes())
    with duckdb.connect(str(copy)) as con, pytest.raises(duckdb.ConstraintException):
        con.execute(
            "INSERT INTO edss (patient_id, date, edss) VALUES ('A1', DATE '2020-01-01', 11)"
        )
    assert meta["source"] == "tiny"
    assert meta["store_format"] == "3"
    assert meta["checksum"] == cohort_checksum(tiny)
    assert types["date"] == "DATE"
    assert types["edss"] == "DOUBLE"


def test_failed_import_leaves_store_untouched(
    tmp_path: Path, example: Cohort, tiny: Cohort
) -> None:
    db = tmp_path / "cohort.duckdb"
    import_cohort(tiny, db)
    before = db.read_bytes()

    def explode(table: str, rows: int) -> None:
        if table == "relapses":
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        import_cohort(example, db, on_table=explode)
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cohort.duckdb"]
    assert read_store(db).equals(tiny)


def test_killed_import_leaves_store_untouched(tmp_path: Path, tiny: Cohort) -> None:
    db = tmp_path / "cohort.duckdb"
    import_cohort(tiny, db)
    before = db.read_bytes()
    script = textwrap.dedent(f"""
        import sys, time
        from msreboot.data import import_cohort
        from msreboot.datasets import load_example

        def hang(table, rows):
            if table == "mri":
                print("writing", flush=True)
                time.sleep(60)

        import_cohort(load_example(), {str(db)!r}, on_table=hang)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "writing"
        staging = [p for p in tmp_path.iterdir() if ".importing-" in p.name]
        assert staging, "the import writes to a staging file beside the store"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert db.read_bytes() == before
    assert read_store(db).equals(tiny)
    # the next import removes what the killed one left behind
    import_cohort(tiny, db)
    import_cohort(load_example(), db)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cohort.duckdb"]


def test_refuses_to_overwrite_a_foreign_file(tmp_path: Path, tiny: Cohort) -> None:
    target = tmp_path / "precious.duckdb"
    target.write_bytes(b"not a database at all")
    with pytest.raises(StoreError, match="could not be opened"):
        import_cohort(tiny, target)
    assert target.read_bytes() == b"not a database at all"


def test_read_store_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not found"):
        read_store(tmp_path / "missing.duckdb")
    plain = tmp_path / "plain.duckdb"
    with duckdb.connect(str(plain)) as con:
        con.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(StoreError, match="not an msreboot store"):
        read_store(plain)


def test_checksum_sees_any_change(tiny: Cohort) -> None:
    tables = tiny_tables()
    tables["edss"].loc[0, "edss"] = "4.5"
    assert cohort_checksum(Cohort.from_frames(tables)) != cohort_checksum(tiny)
    assert cohort_checksum(Cohort.from_frames(tiny_tables())) == cohort_checksum(tiny)
