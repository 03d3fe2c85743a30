"""Benchmark: one full patient projection (every option, posterior uncertainty).

Run on demand: ``NUMBA_NUM_THREADS=2 .venv/bin/python benchmarks/patient_projection.py
[--repeats 3] [--draws 10] [--patients-per-draw 200] [--out FILE]``. The first call
(compiling the simulator and the endpoint kernels) is timed apart from the warm calls;
the figures are printed and written to ``benchmarks/results/patient_projection.json``,
never asserted in tests. The target is under 10 s warm on 2 cores. The machine's load
average is recorded before and after: the cores are shared, so compare runs made under
similar load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from msreboot._version import __version__
from msreboot.analysis import PatientProfile, project_patient

PROFILE = PatientProfile(
    age_years=38,
    edss=4.5,
    phenotype="RRMS",
    sex="female",
    disease_duration_years=6,
    relapses_last_12_months=1,
    relapses_last_24_months=2,
    gd_lesions=1,
    current_dmt="dimethyl_fumarate",
    prior_dmts=("interferon_beta",),
    hct_ci=0,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--patients-per-draw", type=int, default=200)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "patient_projection.json"
    )
    args = parser.parse_args()
    load_before = os.getloadavg()
    start = time.perf_counter()
    project_patient(PROFILE, ["ahsct_cy_atg", "stay"], draws=2, patients_per_draw=20)
    first = time.perf_counter() - start
    warm = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        projection = project_patient(
            PROFILE, draws=args.draws, patients_per_draw=args.patients_per_draw
        )
        warm.append(time.perf_counter() - start)
        print(f"projection: {warm[-1]:.2f} s", flush=True)
    result = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "numba_threads": os.environ.get("NUMBA_NUM_THREADS", "default"),
            "platform": platform.platform(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "msreboot_version": __version__,
        "profile": PROFILE.summary(),
        "options": len(projection.options),
        "draws": args.draws,
        "patients_per_draw": args.patients_per_draw,
        "virtual_patients": len(projection.options) * args.draws * args.patients_per_draw,
        "first_call_seconds": round(first, 2),
        "warm_seconds": [round(t, 2) for t in warm],
        "warm_best_seconds": round(min(warm), 2),
        "target_seconds": 10,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
