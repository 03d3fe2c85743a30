"""Benchmark: Cox regression and Kaplan-Meier at 10^4 to 10^6 rows, beside their peers.

Run:  .venv/bin/python benchmarks/survival.py [--rows 10000 100000 1000000]

Cox (Efron ties, 3 covariates, 30% censored, times with ties on a day grid) is timed
against R's ``survival::coxph`` fitted to the same rows (written to CSV and timed inside R
with ``system.time``, so R's start-up and the file read are not counted) when ``Rscript``
is on the path; Kaplan-Meier is timed against lifelines' ``KaplanMeierFitter`` in the same
process. Coefficients are compared with R's to show the fits are the same. Each timing is
the minimum of three runs. Results are printed and written to
``benchmarks/results/survival.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

import msreboot
from msreboot.stats import cox_regression, kaplan_meier

RESULTS = Path(__file__).resolve().parent / "results" / "survival.json"

R_SCRIPT = r"""
suppressMessages(library(survival))
d <- read.csv(commandArgs(TRUE)[1])
best <- Inf
for (i in 1:3) {
  t <- system.time(fit <- coxph(Surv(time, event) ~ x1 + x2 + x3, data = d, ties = "efron"))
  best <- min(best, t[["elapsed"]])
}
cat(sprintf("%.6f %.12f %.12f %.12f\n", best, coef(fit)[1], coef(fit)[2], coef(fit)[3]))
"""


def make_data(rows: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    rate = np.exp(x @ np.array([0.5, -0.3, 0.2])) / 1000
    time_ = np.ceil(rng.exponential(1 / rate))  # whole days: ties, as in cohort data
    censor = np.ceil(rng.uniform(0, 3000, rows))
    return pd.DataFrame(
        {
            "time": np.minimum(time_, censor),
            "event": (time_ <= censor).astype(int),
            "x1": x[:, 0],
            "x2": x[:, 1],
            "x3": x[:, 2],
        }
    )


def best_of(runs: int, fn) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    args = parser.parse_args()
    from lifelines import KaplanMeierFitter

    rscript = shutil.which("Rscript")
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "cox.R"
        script.write_text(R_SCRIPT, encoding="utf-8")
        for rows in args.rows:
            data = make_data(rows)
            kmf = KaplanMeierFitter()
            cox = best_of(3, partial(cox_regression, data, "time", "event", ["x1", "x2", "x3"]))
            model = cox_regression(data, "time", "event", ["x1", "x2", "x3"])
            km = best_of(3, partial(kaplan_meier, data["time"], data["event"]))
            lifelines_km = best_of(3, partial(kmf.fit, data["time"], data["event"]))
            row: dict[str, object] = {
                "rows": rows,
                "cox_s": round(cox, 4),
                "km_s": round(km, 4),
                "lifelines_km_s": round(lifelines_km, 4),
                "km_ratio_vs_lifelines": round(km / lifelines_km, 3),
            }
            if rscript:
                csv = Path(tmp) / "d.csv"
                data.to_csv(csv, index=False)
                text = subprocess.run(
                    [rscript, str(script), str(csv)], capture_output=True, text=True, check=True
                ).stdout.split()
                r_time, r_coef = float(text[0]), np.array([float(v) for v in text[1:4]])
                ours = model.to_frame()["coef"].to_numpy(dtype=float)
                row |= {
                    "r_coxph_s": round(r_time, 4),
                    "cox_ratio_vs_r": round(cox / max(r_time, 1e-9), 3),
                    "max_abs_coef_diff_vs_r": float(np.max(np.abs(ours - r_coef))),
                }
            out.append(row)
            print(row, flush=True)
    result = {
        "msreboot": msreboot.__version__,
        "machine": platform.platform(),
        "cores": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "note": "minimum of 3 runs; Cox: Efron ties, 3 covariates; R timed inside R",
        "rows": out,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
