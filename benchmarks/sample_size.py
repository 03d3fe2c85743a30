"""Benchmark: how long `msreboot simulate size` takes, and whether its power curve is
monotone, for a bundled two-arm study and for each analysis method.

Run on demand::

    python benchmarks/sample_size.py [--spec mist_2019] [--replicates 20] [--out FILE]

For each method (log-rank, Cox, RMST, negative-binomial rate ratio, NEDA difference) the
search runs with the same seeds (common random numbers) over ``--low`` to ``--high``
patients per arm, timing the whole search and recording, per size tried, the power with
its Monte Carlo interval and the fitted (logistic, monotone) power; ``monotone_raw`` says
whether the simulated powers themselves never fall as n grows. A method that does not
apply to the study's primary endpoint (RMST with death competing) is recorded as such.
Figures are printed and written to ``benchmarks/results/sample_size.json`` (methods not
rerun keep their earlier figures); nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from pathlib import Path

import numpy as np

import msreboot
from msreboot.trials import sample_size
from msreboot.trials._power_tests import POWER_METHODS

RESULTS = Path(__file__).resolve().parent / "results" / "sample_size.json"


def _number(value: float, digits: int = 1) -> float | None:
    """Rounded, or ``None`` for nan (JSON has no NaN)."""
    return None if value != value else round(float(value), digits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="mist_2019")
    parser.add_argument("--replicates", type=int, default=20)
    parser.add_argument("--low", type=int, default=10)
    parser.add_argument("--high", type=int, default=120)
    parser.add_argument("--methods", nargs="*", default=list(POWER_METHODS))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    runs = []
    for method in args.methods:
        start = time.perf_counter()
        cpu = time.process_time()
        try:
            table = sample_size(
                args.spec,
                n_range=(args.low, args.high),
                replicates=args.replicates,
                method=method,
            )
        except ValueError as error:  # e.g. RMST of an endpoint with competing death
            print(json.dumps({"method": method, "not_applicable": str(error)}))
            runs.append({"method": method, "not_applicable": str(error)})
            continue
        seconds = time.perf_counter() - start
        powers = table["power"].to_numpy(dtype=float)
        run = {
            "method": method,
            "seconds": round(seconds, 1),
            "cpu_seconds": round(time.process_time() - cpu, 1),
            "sizes_tried": len(table),
            "replicates_per_size": args.replicates,
            "n_range": [args.low, args.high],
            "n_per_arm": _number(table.attrs["n_per_arm"], 0),
            "n_per_arm_fitted": _number(table.attrs["n_per_arm_fitted"]),
            "n_per_arm_interval": [
                _number(table.attrs["n_per_arm_low"]),
                _number(table.attrs["n_per_arm_high"]),
            ],
            "n_per_arm_schoenfeld": _number(table.attrs["n_per_arm_schoenfeld"]),
            "monotone_raw": bool(np.all(np.diff(powers) >= 0)),
            "monotone_fitted": bool(np.all(np.diff(table["power_fitted"].to_numpy()) >= 0)),
            "powers": [
                {
                    "n_per_arm": int(r["n_per_arm"]),
                    "power": round(float(r["power"]), 3),
                    "interval": [round(float(r["power_low"]), 3), round(float(r["power_high"]), 3)],
                    "fitted": round(float(r["power_fitted"]), 3),
                }
                for r in table.to_dict("records")
            ],
        }
        print(json.dumps({k: v for k, v in run.items() if k != "powers"}))
        runs.append(run)
    if args.out.is_file():  # keep the methods not rerun this time
        earlier = json.loads(args.out.read_text(encoding="utf-8"))
        if earlier.get("spec") == args.spec:
            rerun = {r["method"] for r in runs}
            runs = [r for r in earlier.get("runs", []) if r["method"] not in rerun] + runs
            runs.sort(key=lambda r: POWER_METHODS.index(r["method"]))
    figures = {
        "spec": args.spec,
        "n_range": [args.low, args.high],
        "runs": runs,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "msreboot": msreboot.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
