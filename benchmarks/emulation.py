"""Benchmark: an emulated trial of AHSCT against DMT (emulate_trial) and the report of it,
at growing cohort sizes.

Run:  .venv/bin/python benchmarks/emulation.py [--patients 4000 40000 100000]

The cohorts are copies of the bundled comparator example cohort (400 patients,
``load_example(comparator=True)``) with the patient ids suffixed per copy, validated by
``Cohort.from_frames``. Measures ``emulate_trial`` with ``DEFAULT_EMULATION`` (population
at time zero, propensity model, IPTW, balance, Cox models, weighted curves, relapse rates)
and ``analyse_cohort`` + ``build_report`` (every default endpoint and the comparison
section), once each, with the peak resident memory of the process. Results are printed
and written to ``benchmarks/results/emulation.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import pandas as pd

import msreboot
from msreboot.analysis import DEFAULT_EMULATION, analyse_cohort, emulate_trial
from msreboot.data import Cohort
from msreboot.datasets import load_example
from msreboot.report import build_report

RESULTS = Path(__file__).resolve().parent / "results" / "emulation.json"


def copies(n_patients: int) -> Cohort:
    """The comparator example repeated until it holds ``n_patients`` (a multiple of 400)."""
    example = load_example(comparator=True)
    k = max(1, n_patients // example.n_patients)
    tables = {}
    for name, frame in example.tables.items():
        parts = []
        for i in range(k):
            part = frame.copy()
            part["patient_id"] = part["patient_id"].astype(str) + f"_{i}"
            parts.append(part)
        tables[name] = pd.concat(parts, ignore_index=True)
    return Cohort.from_frames(tables)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, nargs="+", default=[4000, 40000, 100000])
    parser.add_argument("--no-report", action="store_true", help="Time emulate_trial only.")
    args = parser.parse_args()
    emulate_trial(load_example(comparator=True), DEFAULT_EMULATION, warn=False)  # warm up
    rows = []
    for n in args.patients:
        cohort = copies(n)
        t0 = time.perf_counter()
        trial = emulate_trial(cohort, DEFAULT_EMULATION, warn=False)
        t_emulate = time.perf_counter() - t0
        row: dict[str, object] = {
            "patients": cohort.n_patients,
            "entries": len(trial.data),
            "emulate_trial_s": round(t_emulate, 2),
        }
        if not args.no_report:
            t0 = time.perf_counter()
            analysis = analyse_cohort(cohort)
            with tempfile.TemporaryDirectory() as tmp:
                build_report(analysis, out=Path(tmp) / "report.html")
            row["analyse_and_report_s"] = round(time.perf_counter() - t0, 2)
        row["peak_rss_mb_so_far"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print(row, flush=True)
        rows.append(row)
    figures = {
        "runs": rows,
        "msreboot": msreboot.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "note": "one run each on a shared machine; times include validation of nothing "
        "(the cohort is built before the clock starts)",
    }
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
