"""Run the Bern engine (Bsteh et al. 2025, MIT) on seeded cohorts: the reference for the
disability options of issue 19 that it shares with msreboot.

Usage (any python3 with numpy and pandas; the engine is never imported by msreboot)::

    python3 tests/reference/disability/make_bern_reference.py BERN_CHECKOUT [--output FILE]

``BERN_CHECKOUT`` is a checkout of github.com/drstrupf/multiple-sclerosis-disability-progression
(its ``definitions/edssprogression.py`` is imported from there). The cohorts are made here
from a fixed seed; the output JSON holds the inputs, each configuration's keyword arguments
and, per patient, every event the engine annotates (day, score, reference score, type).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261204
N_PATIENTS = 300
GAPS = [30, 60, 90, 120, 179, 180, 181, 200, 365]
STEPS = [-0.5, 0.0, 0.0, 0.5, 1.0, 1.5]

# Fixed reference (the engine resets it to the confirmed score after each event), no
# relapses, no roving reference, no minimal distance, no merging: the options msreboot
# can express. Everything not listed is the engine's default.
COMMON = {
    "opt_baseline_type": "fixed",
    "opt_roving_reference_require_confirmation": False,
    "opt_confirmation_included_values": "all",
    "opt_confirmation_time_left_side_max_tolerance": 0,
    "opt_confirmation_time_right_side_max_tolerance": "inf",
    "opt_minimal_distance_time": 0,
    "merge_continuous_events": False,
}
CONFIGS = {
    "minimum_180": {
        "opt_require_confirmation": True,
        "opt_confirmation_time": 180,
        "opt_confirmation_type": "minimum",
    },
    "minimum_90": {
        "opt_require_confirmation": True,
        "opt_confirmation_time": 90,
        "opt_confirmation_type": "minimum",
    },
    "monotonic_180": {
        "opt_require_confirmation": True,
        "opt_confirmation_time": 180,
        "opt_confirmation_type": "monotonic",
    },
    "unconfirmed": {"opt_require_confirmation": False},
    "roving_30_minimum_180": {
        "opt_baseline_type": "roving",
        "opt_roving_reference_require_confirmation": True,
        "opt_roving_reference_confirmation_time": 30,
        "opt_require_confirmation": True,
        "opt_confirmation_time": 180,
        "opt_confirmation_type": "minimum",
    },
    "roving_90_monotonic_90": {
        "opt_baseline_type": "roving",
        "opt_roving_reference_require_confirmation": True,
        "opt_roving_reference_confirmation_time": 90,
        "opt_require_confirmation": True,
        "opt_confirmation_time": 90,
        "opt_confirmation_type": "monotonic",
    },
    "defaults": {},
    "distance_reference_120": {
        "opt_require_confirmation": True,
        "opt_confirmation_time": 180,
        "opt_confirmation_type": "minimum",
        "opt_minimal_distance_time": 120,
        "opt_minimal_distance_type": "reference",
        "opt_minimal_distance_backtrack_decrease": False,
    },
    "distance_previous_120": {
        "opt_require_confirmation": True,
        "opt_confirmation_time": 180,
        "opt_confirmation_type": "minimum",
        "opt_minimal_distance_time": 120,
        "opt_minimal_distance_type": "previous",
        "opt_minimal_distance_backtrack_decrease": False,
    },
    "roving_30_distance_reference_180": {
        "opt_baseline_type": "roving",
        "opt_roving_reference_require_confirmation": True,
        "opt_roving_reference_confirmation_time": 30,
        "opt_require_confirmation": True,
        "opt_confirmation_time": 90,
        "opt_confirmation_type": "minimum",
        "opt_minimal_distance_time": 180,
        "opt_minimal_distance_type": "reference",
        "opt_minimal_distance_backtrack_decrease": False,
    },
    "roving_unconfirmed_minimum_180": {
        "opt_baseline_type": "roving",
        "opt_roving_reference_require_confirmation": False,
        "opt_require_confirmation": True,
        "opt_confirmation_time": 180,
        "opt_confirmation_type": "minimum",
    },
}


def cohort() -> dict[str, list[list[float]]]:
    """Patient id -> [[day, edss], ...] (integer days from 0, EDSS 0..9.5)."""
    rng = np.random.default_rng(SEED)
    out = {}
    for p in range(N_PATIENTS):
        n = int(rng.integers(2, 16))
        days = np.concatenate([[0], np.cumsum(rng.choice(GAPS, n - 1))])
        start = float(rng.choice([0.0, 1.0, 2.0, 3.0, 4.5, 5.0, 5.5, 6.0]))
        edss = np.clip(start + np.concatenate([[0], np.cumsum(rng.choice(STEPS, n - 1))]), 0, 9.5)
        out[f"P{p:03d}"] = [[int(d), float(v)] for d, v in zip(days, edss, strict=True)]
    return out


def kwargs_for(name: str) -> dict[str, object]:
    if name == "defaults":  # the engine's own defaults, nothing from COMMON
        return {}
    merged = {**COMMON, **CONFIGS[name]}
    return {k: (np.inf if v == "inf" else v) for k, v in merged.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("bern")
    parser.add_argument("--commit", default="", help="the checkout's commit, if not a git tree")
    parser.add_argument("--output", default=str(Path(__file__).with_name("bern_reference.json")))
    args = parser.parse_args()
    sys.path.insert(0, args.bern)
    from definitions.edssprogression import EDSSProgression

    patients = cohort()
    results: dict[str, dict[str, list[list[object]]]] = {}
    for name in CONFIGS:
        engine = EDSSProgression(**kwargs_for(name))
        per_patient = {}
        for pid, rows in patients.items():
            frame = pd.DataFrame(rows, columns=["days_after_baseline", "edss_score"])
            annotated = engine.add_progression_events_to_follow_up(frame, [])
            ev = annotated[annotated["is_progression"]]
            per_patient[pid] = [
                [
                    int(r.days_after_baseline),
                    float(r.edss_score),
                    float(r.progression_score),
                    float(r.progression_reference_score),
                    str(r.progression_type),
                ]
                for r in ev.itertuples()
            ]
        results[name] = per_patient
    commit = (
        subprocess.run(
            ["git", "-C", args.bern, "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        or args.commit
    )
    out = {
        "generated_by": "tests/reference/disability/make_bern_reference.py",
        "source": "github.com/drstrupf/multiple-sclerosis-disability-progression (MIT)",
        "commit": commit,
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "pandas": pd.__version__,
        },
        "seed": SEED,
        "event_columns": ["day", "edss", "progression_score", "reference_score", "type"],
        "common_kwargs": COMMON,
        "configs": CONFIGS,
        "patients": patients,
        "results": results,
        "tolerance": "exact (days and EDSS steps of 0.5)",
    }
    Path(args.output).write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    for name, per in results.items():
        print(name, sum(len(v) for v in per.values()), "events")


if __name__ == "__main__":
    main()
