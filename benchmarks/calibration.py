"""Benchmark: how fast a calibration evaluates proposals (each simulates every target study
once and computes every target), study by study, in one process and on local processes.

Run on demand (the machine should be otherwise idle)::

    python benchmarks/calibration.py [--proposals 40] [--processes 2] [--out FILE]

1. One evaluation of the bundled targets at the default parameters, after a warm-up,
   split by study (simulation and statistics), in this process.
2. ``--proposals`` evaluations in this process, then on ``--processes`` local worker
   processes (spawned, one compiled-kernel thread each; start-up included), with the
   ratio of the two.

Figures are printed and written to ``benchmarks/results/calibration.json``; nothing is
asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from msreboot import __version__
from msreboot.calibration import LocalExecutor, SerialExecutor, load_targets
from msreboot.calibration._run import Task, evaluate
from msreboot.calibration._targets import study_spec, study_statistics, targets_by_study
from msreboot.trials import simulate_replicate

RESULTS = Path(__file__).resolve().parent / "results" / "calibration.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--proposals", type=int, default=40)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    targets = load_targets()
    targets_json = json.dumps([t.model_dump() for t in targets])
    evaluate(Task({}, 0, "default", targets_json))  # warm-up: compiled kernels, caches

    studies = {}
    for study, group in targets_by_study(targets).items():
        spec = study_spec(study)
        start = time.perf_counter()
        cohort, arms = simulate_replicate(spec, 0)
        simulated = time.perf_counter()
        study_statistics(spec, cohort, arms, group)
        done = time.perf_counter()
        studies[study] = {
            "patients": int(sum(a.n for a in spec.arms)),
            "targets": len(group),
            "simulate_s": round(simulated - start, 3),
            "statistics_s": round(done - simulated, 3),
        }
        print(
            f"{study}: {studies[study]['patients']} patients, {len(group)} targets: simulate "
            f"{simulated - start:.3f} s, statistics {done - simulated:.3f} s"
        )

    tasks = [Task({}, i + 1, "default", targets_json) for i in range(args.proposals)]
    start = time.perf_counter()
    serial = SerialExecutor().map(evaluate, tasks)
    serial_s = time.perf_counter() - start
    pool = LocalExecutor(args.processes)
    start = time.perf_counter()
    parallel = pool.map(evaluate, tasks)
    parallel_s = time.perf_counter() - start
    pool.close()
    same = all(
        np.allclose(list(a.values()), list(b.values()), equal_nan=True)
        for a, b in zip(serial, parallel, strict=True)
    )
    print(
        f"{args.proposals} proposals: one process {serial_s:.1f} s "
        f"({args.proposals / serial_s:.2f}/s); {args.processes} processes {parallel_s:.1f} s "
        f"({args.proposals / parallel_s:.2f}/s, start-up included); speed-up "
        f"{serial_s / parallel_s:.2f}x; identical results: {same}"
    )
    record = {
        "msreboot": __version__,
        "machine": platform.platform(),
        "cores": os.cpu_count(),
        "targets": len(targets),
        "studies": studies,
        "proposals": args.proposals,
        "serial_s": round(serial_s, 2),
        "processes": args.processes,
        "parallel_s": round(parallel_s, 2),
        "speed_up": round(serial_s / parallel_s, 2),
        "identical": same,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
