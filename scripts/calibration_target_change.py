"""Measure the shipped calibrated parameter set against the targets it was fitted to and
against the current (corrected) targets.

Usage: python scripts/calibration_target_change.py [--replicates N] [--seed S]

The shipped set (``SimulationParameters.preset("calibrated")``) was fitted to the 29
targets frozen in ``docs/calibration/fitted_targets.toml``. The evidence rows behind some
of them were corrected since (issue 16), leaving the 24 bundled targets
(``msreboot.calibration.load_targets()``). This script does not refit: it simulates every
target study ``N`` times at the shipped point values (the same simulated cohorts serve
both target sets, so the comparison is paired) and writes, for each set, how many
simulated medians fall inside the published interval and the distance the fit minimises
(root mean square of the capped standardised differences), plus the same coverage read
from the fit's own posterior predictive (``docs/calibration/calibration_targets.csv``).

Writes ``docs/calibration/target_change.csv`` (one row per target and set) and
``docs/calibration/target_change.json`` (the totals, settings and versions).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from msreboot import __version__
from msreboot.calibration import CalibrationTarget, load_targets
from msreboot.calibration._run import Task, evaluate

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "calibration"
SETS = {"fitted": DOCS / "fitted_targets.toml", "current": None}


def _renamed(targets: tuple[CalibrationTarget, ...], prefix: str) -> list[CalibrationTarget]:
    return [t.model_copy(update={"id": f"{prefix}_{t.id}"}) for t in targets]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--replicates", type=int, default=40)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    sets = {name: load_targets(path) for name, path in SETS.items()}
    union = [t for name, targets in sets.items() for t in _renamed(targets, name)]
    payload = json.dumps([t.model_dump() for t in union])
    start = time.perf_counter()
    runs = []
    for r in range(args.replicates):
        seed = int(np.random.SeedSequence(args.seed, spawn_key=(r,)).generate_state(1)[0])
        runs.append(evaluate(Task({}, seed, "calibrated", payload)))
        print(f"replicate {r + 1}/{args.replicates}", flush=True)
    seconds = time.perf_counter() - start
    sims = pd.DataFrame(runs)
    stored = pd.read_csv(DOCS / "calibration_targets.csv").set_index("target")
    rows = []
    totals: dict[str, dict[str, float | int]] = {}
    for name, targets in sets.items():
        z_medians, z_replicates = [], []
        for t in targets:
            values = sims[f"{name}_{t.id}"].to_numpy(dtype=float)
            finite = values[np.isfinite(values)]
            median = float(np.median(finite)) if len(finite) else float("nan")
            low, high = (
                (float(np.quantile(finite, 0.05)), float(np.quantile(finite, 0.95)))
                if len(finite)
                else (float("nan"), float("nan"))
            )
            p_low, p_high = t.interval()
            z_medians.append(t.z(median))
            z_replicates.append([t.z(v) for v in values])
            pred = stored.loc[t.id] if t.id in stored.index else None
            rows.append(
                {
                    "target_set": name,
                    "target": t.id,
                    "study": t.study,
                    "label": t.label(),
                    "published": t.value,
                    "published_low": p_low,
                    "published_high": p_high,
                    "simulated": median,
                    "simulated_low": low,
                    "simulated_high": high,
                    "simulated_in_published": bool(p_low <= median <= p_high),
                    "z": t.z(median),
                    "predictive": None if pred is None else float(pred["simulated"]),
                    "predictive_in_published": None
                    if pred is None
                    else bool(p_low <= float(pred["simulated"]) <= p_high),
                    "published_in_predictive": None
                    if pred is None
                    else bool(pred["simulated_low"] <= t.value <= pred["simulated_high"]),
                }
            )
        frame = pd.DataFrame([r for r in rows if r["target_set"] == name])
        per_replicate = np.sqrt(np.mean(np.array(z_replicates) ** 2, axis=0))
        totals[name] = {
            "targets": len(targets),
            "simulated_in_published": int(frame["simulated_in_published"].sum()),
            "distance_of_medians": float(np.sqrt(np.mean(np.square(z_medians)))),
            "distance_per_replicate_median": float(np.median(per_replicate)),
            "predictive_in_published": int(frame["predictive_in_published"].sum()),
            "published_in_predictive": int(frame["published_in_predictive"].sum()),
        }
    table = pd.DataFrame(rows)
    table.to_csv(DOCS / "target_change.csv", index=False, float_format="%.6g")
    info = {
        "script": "scripts/calibration_target_change.py",
        "parameters": "calibrated (src/msreboot/simulate/data/calibrated.toml), point values",
        "replicates": args.replicates,
        "seed": args.seed,
        "seconds": round(seconds, 1),
        "msreboot": __version__,
        "python": platform.python_version(),
        "sets": {
            "fitted": "docs/calibration/fitted_targets.toml (the 29 the set was fitted to)",
            "current": "src/msreboot/calibration/data/targets.toml (after issue 16)",
        },
        "totals": totals,
        "definitions": {
            "simulated_in_published": "median over replicates inside the published interval "
            "(or the binomial interval from n)",
            "distance_of_medians": "root mean square of the capped z of each target's median",
            "distance_per_replicate_median": "median over replicates of the fit's distance "
            "(root mean square z of one simulation of every study)",
            "predictive_in_published": "the fit's posterior predictive median "
            "(docs/calibration/calibration_targets.csv) inside the published interval",
            "published_in_predictive": "published value inside the fit's 90% posterior "
            "predictive interval",
        },
    }
    (DOCS / "target_change.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(totals, indent=2))


if __name__ == "__main__":
    main()
