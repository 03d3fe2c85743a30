"""Benchmark: patient-years simulated per second, kernel and tables measured apart.

Run on demand (the target is for two cores)::

    NUMBA_NUM_THREADS=2 python benchmarks/simulate.py [--patients 100000] [--years 10]
        [--validate-patients 10000] [--out FILE]

For each arm (untreated, natalizumab, AHSCT with BEAM + ATG and a CD34-selected graft,
whose patients carry the daily immune-reconstitution model, and AHSCT with Cy 200 + ATG)
one cohort of ``--patients`` x ``--years`` (default one million patient-years) is
simulated after a warm-up call (compilation or loading the compiled cache), timing
separately:

1. the compiled kernel (population draw, monthly course, transplant steps) including the
   compaction of its output slots;
2. building the seven canonical tables (pandas, canonical dtypes and order);
3. full validation of the tables through ``Cohort.from_frames`` (the checks real data
   get), on a smaller cohort of ``--validate-patients`` (it is optional in
   ``simulate_cohort``: ``validate=False`` skips it).

Figures are printed and written to ``benchmarks/results/simulate.json``; nothing is
asserted. Target: one million patient-years in under 20 s on 2 cores (kernel + tables).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from pathlib import Path

import numba
import numpy as np

from msreboot.data import Cohort
from msreboot.simulate import (
    AHSCTCourse,
    DMTCourse,
    PopulationSpec,
    SimulationParameters,
    Treatment,
    VisitSchedule,
    simulate_cohort,
)
from msreboot.simulate._cache import ensure_fresh
from msreboot.simulate._kernel_common import T_LAST_DAY
from msreboot.simulate._rng import seed_prefix
from msreboot.simulate._simulate import _run_chunk
from msreboot.simulate._tables import build_tables, patient_ids
from msreboot.simulate._treatment import treatment_vector

RESULTS = Path(__file__).parent / "results" / "simulate.json"
SCHEDULE = VisitSchedule(edss_every_months=6, mri_every_months=12)
POPULATION = PopulationSpec.matching(
    age_median=38,
    age_range=(18, 60),
    edss_median=4.0,
    edss_range=(2.0, 6.5),
    duration_median_years=6,
    min_prior_relapses=1,
)
ARMS: dict[str, Treatment] = {
    "untreated": None,
    "natalizumab": DMTCourse("natalizumab"),
    "ahsct_beam_cd34_selected": AHSCTCourse("beam_atg", cd34_selected=True),
    "ahsct_cy200_atg": AHSCTCourse("cy200_atg"),
}
CHUNK = 50_000


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_arm(
    name: str, treatment: Treatment, n: int, years: float, spec: PopulationSpec
) -> dict[str, object]:
    params = SimulationParameters.default()
    pool, hc = seed_prefix(np.random.SeedSequence(20261121))
    fp = params.to_array()
    pv = spec.to_vector()
    tv = treatment_vector(treatment, params)
    fu_days = years * 365.25
    edss, mri = SCHEDULE.edss_days(years), SCHEDULE.mri_days(years)
    start = time.perf_counter()
    chunks = [
        _run_chunk(first, min(CHUNK, n - first), pool, hc, pv, fp, tv, edss, mri, SCHEDULE, fu_days)
        for first in range(0, n, CHUNK)
    ]
    kernel = time.perf_counter() - start
    start = time.perf_counter()
    tables = build_tables(chunks, patient_ids("V", n), treatment)
    cohort = Cohort.from_canonical(tables, "day")
    build = time.perf_counter() - start
    truth = np.concatenate([c.truth for c in chunks])
    patient_years = float(np.nansum(truth[:, T_LAST_DAY]) / 365.25)
    total = kernel + build
    return {
        "arm": name,
        "patients": n,
        "follow_up_years": years,
        "patient_years": round(patient_years),
        "kernel_seconds": round(kernel, 3),
        "tables_seconds": round(build, 3),
        "total_seconds": round(total, 3),
        "patient_years_per_second_kernel": round(patient_years / kernel),
        "patient_years_per_second_total": round(patient_years / total),
        "rows": {k: len(v) for k, v in cohort.tables.items()},
    }


def run_validation(treatment: Treatment, n: int, years: float) -> dict[str, object]:
    sim = simulate_cohort(n, POPULATION, treatment, SCHEDULE, years, seed=1, validate=False)
    start = time.perf_counter()
    Cohort.from_frames(sim.cohort.tables, time_unit="day")
    seconds = time.perf_counter() - start
    rows = sum(len(t) for t in sim.cohort.tables.values())
    return {
        "patients": n,
        "follow_up_years": years,
        "rows": rows,
        "validation_seconds": round(seconds, 3),
        "rows_per_second": round(rows / seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--years", type=float, default=10.0)
    parser.add_argument("--validate-patients", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    ensure_fresh()
    start = time.perf_counter()
    for treatment in ARMS.values():  # compile or load every kernel variant
        simulate_cohort(5, POPULATION, treatment, SCHEDULE, 1, seed=1, validate=False)
    warm = time.perf_counter() - start
    arms = []
    for name, treatment in ARMS.items():
        result = run_arm(name, treatment, args.patients, args.years, POPULATION)
        print(json.dumps(result))
        arms.append(result)
    validation = run_validation(
        ARMS["ahsct_beam_cd34_selected"], args.validate_patients, args.years
    )
    print("validation:", json.dumps(validation))
    record = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "numba_threads": numba.get_num_threads(),
            "numba": numba.__version__,
            "platform": platform.platform(),
        },
        "schedule": "EDSS every 6 months, MRI every 12 months",
        "first_call_seconds": round(warm, 2),
        "arms": arms,
        "validation": validation,
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "targets": {"one_million_patient_years_seconds": "< 20 on 2 cores (kernel + tables)"},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
