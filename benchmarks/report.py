"""Benchmark: analyse a cohort and write its HTML report, at growing cohort sizes.

Run:  .venv/bin/python benchmarks/report.py [--patients 1000 10000]

The cohorts are copies of the bundled example cohort (300 patients) with the patient ids
suffixed per copy, so every size holds the same kind of patient, validated by
``Cohort.from_frames``. Measures ``analyse_cohort`` (every default endpoint,
the disease course, transplant outcomes, the evidence) and ``build_report`` (figures, SVG and
PNG files, the page) separately, once each, with the peak resident memory of the process.
There is no peer to run beside it; the growth from one size to the next says whether the
work is linear. Results are printed and written to ``benchmarks/results/report.json``.
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
from msreboot.analysis import analyse_cohort
from msreboot.data import Cohort
from msreboot.datasets import load_example
from msreboot.report import build_report

RESULTS = Path(__file__).resolve().parent / "results" / "report.json"


def copies(n_patients: int) -> Cohort:
    """The example cohort repeated until it holds ``n_patients`` (a multiple of 300)."""
    example = load_example()
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
    parser.add_argument("--patients", type=int, nargs="+", default=[1200, 12000])
    args = parser.parse_args()
    rows = []
    for n in args.patients:
        cohort = copies(n)
        t0 = time.perf_counter()
        analysis = analyse_cohort(cohort)
        t_analyse = time.perf_counter() - t0
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            report = build_report(analysis, out=Path(tmp) / "report.html")
            t_render = time.perf_counter() - t0
            size_mb = report.path.stat().st_size / 1e6
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        row = {
            "patients": cohort.n_patients,
            "edss_rows": len(cohort.edss),
            "analyse_cohort_s": round(t_analyse, 2),
            "build_report_s": round(t_render, 2),
            "page_mb": round(size_mb, 1),
            "peak_rss_mb_so_far": round(peak_mb),
        }
        print(row, flush=True)
        rows.append(row)
    figures = {
        "runs": rows,
        "msreboot": msreboot.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
