"""Benchmark: ``msreboot import`` of a 100,000-patient cohort folder, end to end.

Run:  .venv/bin/python benchmarks/import_cohort.py [--patients 100200] [--repeat 3]

The cohort is the bundled example repeated until it holds ``--patients`` patients (the
``copies`` of ``benchmarks/report.py``; with the example of December 2026, 5.8 million
rows over twelve CSV files, 222 MB), written once to a temporary folder. Each repeat runs
the command line as a user would (``msreboot import FOLDER --db STORE --no-progress`` in a
fresh process, into a new store: start-up, reading, validation and the import) and records
its wall time, its CPU time (user + system, which a loaded machine inflates less than wall
time) and its peak resident memory. The copies are written by a child process, so that
this script stays small and its memory does not count in a child's peak. The reference,
run in the same loop, is DuckDB's own CSV loader in a fresh process (``CREATE TABLE t AS
SELECT * FROM read_csv(file)`` for each file), which infers types but checks none of the
schema: the ratio says what validation costs over a bare load. With ``--baseline SRC`` (a
source tree of another msreboot version, e.g. from ``git archive <commit> src``), that
version's ``msreboot import`` runs in the same loop too (``PYTHONPATH=SRC``), so before
and after are measured under the same load. Results are printed and written to
``benchmarks/results/import_cohort.json``."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

import msreboot

RESULTS = Path(__file__).resolve().parent / "results" / "import_cohort.json"
CLI = Path(sys.executable).with_name("msreboot")

WRITE = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from report import copies
for name, frame in copies(int(sys.argv[2])).tables.items():
    frame.to_csv(Path(sys.argv[1]) / f"{name}.csv", index=False)
"""

BARE = """
import sys, duckdb
from pathlib import Path
folder, db = Path(sys.argv[1]), sys.argv[2]
with duckdb.connect(db) as con:
    for f in sorted(folder.glob("*.csv")):
        con.execute(f"CREATE TABLE {f.stem} AS SELECT * FROM read_csv('{f}')")
"""


def run(command: list[str], src: Path | None = None) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MB) of one child process
    (importing msreboot from ``src`` when given)."""
    env = None if src is None else {**os.environ, "PYTHONPATH": str(src)}
    t0 = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(child.pid, 0)  # this child's own usage
    wall = time.perf_counter() - t0
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{command[:2]} exited with {child.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS, help="Where to write the JSON.")
    parser.add_argument(
        "--folder", type=Path, help="Import this folder of CSV files instead of the copies."
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="Also time the msreboot of this source tree (the folder holding msreboot/).",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.folder is None:
            folder = Path(tmp) / "cohort"
            folder.mkdir()
            here = str(Path(__file__).resolve().parent)
            subprocess.run(
                [sys.executable, "-c", WRITE, str(folder), str(args.patients), here], check=True
            )
        else:
            folder = args.folder
        rows = {
            f.stem: sum(1 for _ in f.open("rb")) - 1 for f in sorted(folder.glob("*.csv"))
        }  # lines after the header (no cell of these files spans lines)
        size_mb = sum(f.stat().st_size for f in folder.glob("*.csv")) / 1e6
        ours: list[tuple[float, float, float]] = []
        bare: list[tuple[float, float, float]] = []
        base: list[tuple[float, float, float]] = []
        for i in range(args.repeat):  # interleaved, so all see the same load
            store = Path(tmp) / f"store{i}.duckdb"
            ours.append(run([str(CLI), "import", str(folder), "--db", str(store), "--no-progress"]))
            store.unlink()
            if args.baseline is not None:
                command = [str(CLI), "import", str(folder), "--db", str(store), "--no-progress"]
                base.append(run(command, args.baseline))
                store.unlink()
            raw = Path(tmp) / f"raw{i}.duckdb"
            bare.append(run([sys.executable, "-c", BARE, str(folder), str(raw)]))
            raw.unlink()
        t0 = time.perf_counter()
        subprocess.run([str(CLI), "--help"], check=True, stdout=subprocess.DEVNULL)
        t_help = time.perf_counter() - t0
    best = min(ours)
    ref = min(bare)
    figures = {
        "patients": rows["patients"],
        "rows": rows,
        "source": "copies of the example" if args.folder is None else str(args.folder),
        "csv_mb": round(size_mb, 1),
        "msreboot_import_wall_s": round(best[0], 2),
        "msreboot_import_cpu_s": round(min(o[1] for o in ours), 2),
        "msreboot_import_peak_rss_mb": round(max(o[2] for o in ours)),
        "all_wall_s": [round(o[0], 2) for o in ours],
        "all_cpu_s": [round(o[1], 2) for o in ours],
        "reference_duckdb_read_csv_wall_s": round(ref[0], 2),
        "reference_duckdb_read_csv_cpu_s": round(min(b[1] for b in bare), 2),
        "ratio_wall_vs_reference": round(best[0] / ref[0], 1),
        "ratio_cpu_vs_reference": round(min(o[1] for o in ours) / min(b[1] for b in bare), 1),
        "msreboot_help_wall_s": round(t_help, 2),
        **(
            {
                "baseline_src": str(args.baseline),
                "baseline_import_wall_s": round(min(base)[0], 2),
                "baseline_import_cpu_s": round(min(b[1] for b in base), 2),
                "baseline_import_peak_rss_mb": round(max(b[2] for b in base)),
                "baseline_all_wall_s": [round(b[0], 2) for b in base],
                "speedup_wall_vs_baseline": round(min(base)[0] / best[0], 2),
                "speedup_cpu_vs_baseline": round(
                    min(b[1] for b in base) / min(o[1] for o in ours), 2
                ),
            }
            if base
            else {}
        ),
        "target_wall_s": 5.0,
        "target_met": best[0] < 5.0,
        "timing": f"best of {args.repeat}, each in a fresh process, interleaved with the reference",
        "load_average_1min": round(os.getloadavg()[0], 2),
        "msreboot": msreboot.__version__,
        "pandas": pd.__version__,
        "duckdb": duckdb.__version__,
        "python": sys.version.split()[0],
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    for key, value in figures.items():
        print(f"{key:>34}: {value}")
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
