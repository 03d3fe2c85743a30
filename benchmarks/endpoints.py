"""Benchmark: every endpoint preset on a cohort of 10,000 and 100,000 patients.

Run:  .venv/bin/python benchmarks/endpoints.py [--patients 9900 99900]

The cohorts are copies of the bundled example (see ``benchmarks/report.py``). Each size is
timed once on a fresh cohort, so nothing derived from it is cached, after a warm-up on
the example that compiles the scans; wall and CPU seconds are both recorded, since the
2 cores may be shared. There is no peer: the figure is set against the issue's goal
(14 presets on 100,000 patients in under 5 s). Results are printed and written to
``benchmarks/results/endpoints.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import msreboot
from msreboot.datasets import load_example
from msreboot.endpoints import EndpointDefinition, estimate_endpoints
from report import copies  # type: ignore[import-not-found]

RESULTS = Path(__file__).resolve().parent / "results" / "endpoints.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, nargs="+", default=[9_900, 99_900])
    args = parser.parse_args()
    estimate_endpoints(load_example())  # compile and import once
    rows = []
    for n in args.patients:
        cohort = copies(n)
        wall, cpu = time.perf_counter(), time.process_time()
        results = estimate_endpoints(cohort)
        row = {
            "patients": cohort.n_patients,
            "presets": len(results),
            "wall_s": round(time.perf_counter() - wall, 2),
            "cpu_s": round(time.process_time() - cpu, 2),
            "load_average_1min": round(os.getloadavg()[0], 2),
        }
        rows.append(row)
        print(row, flush=True)
    result = {
        "msreboot": msreboot.__version__,
        "machine": platform.platform(),
        "cores": os.cpu_count(),
        "presets": sorted(EndpointDefinition.presets()),
        "rows": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
