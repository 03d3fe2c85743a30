"""Benchmark: validate and import a 1-million-row EDSS table into the DuckDB store.

Run:  .venv/bin/python benchmarks/import_edss.py [--rows 1000000]

Measures, on a seeded synthetic cohort (20,000 patients, 50 visits each by default):
read + validate (``read_cohort``), import into DuckDB (``import_cohort``), read back
(``read_store``), the whole ``msreboot import`` path, and peak resident memory. The reference
is DuckDB's own CSV loader (``CREATE TABLE AS SELECT * FROM read_csv(...)``), which checks
types but none of the schema; the ratio says what validation costs over a bare load.
Results are printed and written to ``benchmarks/results/import_edss.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

import msreboot
from msreboot.data import import_cohort, read_cohort, read_store

RESULTS = Path(__file__).resolve().parent / "results" / "import_edss.json"


def make_cohort(folder: Path, rows: int, visits: int = 50, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    n_patients = rows // visits
    ids = np.array([f"P{i:06d}" for i in range(n_patients)])
    start = np.datetime64("2005-01-01") + rng.integers(0, 3000, n_patients)
    pd.DataFrame(
        {
            "patient_id": ids,
            "birth_date": (start - rng.integers(7000, 18000, n_patients)).astype(str),
            "phenotype": rng.choice(["RRMS", "SPMS", "PPMS"], n_patients, p=[0.8, 0.15, 0.05]),
            "sex": rng.choice(["F", "M"], n_patients),
        }
    ).to_csv(folder / "patients.csv", index=False)
    days = np.cumsum(rng.integers(60, 120, (n_patients, visits)), axis=1)
    dates = (start[:, None] + days).ravel()
    scores = np.clip(np.round(rng.normal(3.5, 1.5, rows) * 2) / 2, 0, 9.5)
    pd.DataFrame(
        {
            "patient_id": np.repeat(ids, visits),
            "date": dates.astype(str),
            "edss": scores,
            "valid_for_confirmation": rng.choice(["true", ""], rows, p=[0.1, 0.9]),
        }
    ).to_csv(folder / "edss.csv", index=False)


def timed(fn, repeat: int = 3):  # type: ignore[no-untyped-def]
    best = float("inf")
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "cohort"
        folder.mkdir()
        make_cohort(folder, args.rows)
        db = Path(tmp) / "cohort.duckdb"

        t_read, cohort = timed(lambda: read_cohort(folder), args.repeat)

        def fresh_import():  # type: ignore[no-untyped-def]
            db.unlink(missing_ok=True)
            return import_cohort(cohort, db)

        t_import, _ = timed(fresh_import, args.repeat)
        t_reimport, again = timed(lambda: import_cohort(cohort, db), args.repeat)
        assert not again.changed
        t_back, back = timed(lambda: read_store(db), args.repeat)
        assert back.equals(cohort)

        def bare_duckdb():  # type: ignore[no-untyped-def]
            raw = Path(tmp) / "raw.duckdb"
            raw.unlink(missing_ok=True)
            with duckdb.connect(str(raw)) as con:
                con.execute(f"CREATE TABLE edss AS SELECT * FROM read_csv('{folder}/edss.csv')")
                con.execute(
                    f"CREATE TABLE patients AS SELECT * FROM read_csv('{folder}/patients.csv')"
                )

        t_reference, _ = timed(bare_duckdb, args.repeat)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = t_read + t_import
    figures = {
        "rows_edss": args.rows,
        "patients": args.rows // 50,
        "read_and_validate_s": round(t_read, 3),
        "import_into_duckdb_s": round(t_import, 3),
        "validate_plus_import_s": round(total, 3),
        "reimport_unchanged_s": round(t_reimport, 3),
        "read_back_s": round(t_back, 3),
        "reference_duckdb_read_csv_s": round(t_reference, 3),
        "ratio_vs_reference": round(total / t_reference, 1),
        "rows_per_s": round(args.rows / total),
        "peak_rss_mb": round(peak_mb),
        "timing": f"best of {args.repeat}",
        "msreboot": msreboot.__version__,
        "pandas": pd.__version__,
        "duckdb": duckdb.__version__,
        "python": sys.version.split()[0],
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    for key, value in figures.items():
        print(f"{key:>30}: {value}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
