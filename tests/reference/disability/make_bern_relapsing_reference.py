"""Run the Bern engine (Bsteh et al. 2025, MIT) on a seeded cohort with relapses: the
reference for separate general and RAW/PIRA references, the undefined-worsening policies,
event merging, backtracking of the minimal distance and sustained confirmation.

Usage (any python3 with numpy and pandas; the engine is never imported by msreboot)::

    python3 tests/reference/disability/make_bern_relapsing_reference.py BERN_CHECKOUT \\
        [--output FILE]

``BERN_CHECKOUT`` is a checkout of github.com/drstrupf/multiple-sclerosis-disability-progression.
Every configuration is the engine's defaults with the keyword arguments listed. The output
JSON holds the inputs (visits and relapses per patient), each configuration and, per
patient, every event the engine annotates (day, score, event score, reference score, type,
and the last day merged into the event).
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

SEED = 20261206
N_PATIENTS = 200
N_DENSE = 100  # then patients with 2 to 6 relapses, where the two references part more often
GAPS = [30, 60, 90, 91, 120, 179, 180, 181, 365]
STEPS = [-0.5, 0.0, 0.0, 0.5, 1.0, 1.5]
# relapse onsets relative to a visit: on it, at the RAW-window edges (30 days before, 90
# after) and a day either side, and further away
OFFSETS = [-181, -91, -90, -89, -31, -30, -29, -1, 0, 1, 29, 30, 31, 89, 90, 91, 150]

CONFIGS: dict[str, dict[str, object]] = {
    "defaults": {},
    "undefined_all": {"undefined_progression": "all"},
    "undefined_end": {"undefined_progression": "end"},
    "undefined_never": {"undefined_progression": "never"},
    "undefined_not_lower": {"undefined_progression_wrt_raw_pira_baseline": "equal or greater"},
    "undefined_higher": {"undefined_progression_wrt_raw_pira_baseline": "greater only"},
    "all_higher": {
        "undefined_progression": "all",
        "undefined_progression_wrt_raw_pira_baseline": "greater only",
    },
    "merge": {"merge_continuous_events": True},
    "merge_60_400": {
        "merge_continuous_events": True,
        "continuous_events_max_repetition_time": 60,
        "continuous_events_max_merge_distance": 400,
    },
    "backtrack_180": {
        "opt_minimal_distance_time": 180,
        "opt_minimal_distance_type": "reference",
        "opt_minimal_distance_backtrack_decrease": True,
    },
    "backtrack_120_confirmation_90": {
        "opt_confirmation_time": 90,
        "opt_minimal_distance_time": 120,
        "opt_minimal_distance_type": "reference",
        "opt_minimal_distance_backtrack_decrease": True,
    },
    "sustained_180": {
        "opt_confirmation_time": -1,
        "opt_confirmation_sustained_minimal_distance": 180,
    },
    "sustained_0": {"opt_confirmation_time": -1},
    "fixed_monotonic": {"opt_baseline_type": "fixed", "opt_confirmation_type": "monotonic"},
    "last_score_relapses_allowed": {
        "opt_confirmation_included_values": "last",
        "opt_pira_allow_relapses_between_event_and_confirmation": True,
    },
    "first_only": {"return_first_event_only": True},
    "last_visit_unconfirmed": {"opt_confirmation_require_confirmation_for_last_visit": False},
    "merge_end": {"merge_continuous_events": True, "undefined_progression": "end"},
    "backtrack_all_not_lower": {
        "opt_minimal_distance_time": 180,
        "opt_minimal_distance_backtrack_decrease": True,
        "undefined_progression": "all",
        "undefined_progression_wrt_raw_pira_baseline": "equal or greater",
    },
    "tolerance_7_30": {
        "opt_confirmation_time_left_side_max_tolerance": 7,
        "opt_confirmation_time_right_side_max_tolerance": 30,
    },
    "unconfirmed_roving": {"opt_require_confirmation": False},
}


def cohort() -> dict[str, dict[str, list]]:
    """Patient id -> {"visits": [[day, edss], ...], "relapses": [day, ...]}."""
    rng = np.random.default_rng(SEED)
    out = {}
    for p in range(N_PATIENTS):
        n = int(rng.integers(3, 16))
        days = np.concatenate([[0], np.cumsum(rng.choice(GAPS, n - 1))])
        start = float(rng.choice([0.0, 1.0, 2.0, 3.0, 4.5, 5.0, 5.5, 6.0]))
        edss = np.clip(start + np.concatenate([[0], np.cumsum(rng.choice(STEPS, n - 1))]), 0, 9.5)
        relapses = set()
        for _ in range(int(rng.integers(0, 4))):
            at = int(days[int(rng.integers(0, n))]) + int(rng.choice(OFFSETS))
            if at >= 0:  # msreboot ignores relapses before the first visit
                relapses.add(at)
        out[f"R{p:03d}"] = {
            "visits": [[int(d), float(v)] for d, v in zip(days, edss, strict=True)],
            "relapses": sorted(relapses),
        }
    for p in range(N_DENSE):
        n = int(rng.integers(5, 16))
        days = np.concatenate([[0], np.cumsum(rng.choice(GAPS, n - 1))])
        start = float(rng.choice([0.0, 1.0, 2.0, 3.0, 4.5, 5.0]))
        edss = np.clip(start + np.concatenate([[0], np.cumsum(rng.choice(STEPS, n - 1))]), 0, 9.5)
        relapses = set()
        for _ in range(int(rng.integers(2, 7))):
            at = int(days[int(rng.integers(0, n))]) + int(rng.choice(OFFSETS))
            if at >= 0:
                relapses.add(at)
        out[f"D{p:03d}"] = {
            "visits": [[int(d), float(v)] for d, v in zip(days, edss, strict=True)],
            "relapses": sorted(relapses),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("bern")
    parser.add_argument("--commit", default="", help="the checkout's commit, if not a git tree")
    default = Path(__file__).with_name("bern_relapsing_reference.json")
    parser.add_argument("--output", default=str(default))
    args = parser.parse_args()
    sys.path.insert(0, args.bern)
    from definitions.edssprogression import EDSSProgression

    patients = cohort()
    results: dict[str, dict[str, list[list[object]]]] = {}
    for name, kwargs in CONFIGS.items():
        engine = EDSSProgression(**kwargs)
        per_patient = {}
        for pid, data in patients.items():
            frame = pd.DataFrame(data["visits"], columns=["days_after_baseline", "edss_score"])
            annotated = engine.add_progression_events_to_follow_up(frame, list(data["relapses"]))
            ids = annotated["progression_event_id"]
            events = []
            for r in annotated[annotated["is_progression"]].itertuples():
                members = annotated.loc[ids == r.progression_event_id, "days_after_baseline"]
                events.append(
                    [
                        int(r.days_after_baseline),
                        float(r.edss_score),
                        float(r.progression_score),
                        float(r.progression_reference_score),
                        str(r.progression_type),
                        int(members.max()),
                    ]
                )
            per_patient[pid] = events
        results[name] = per_patient
        print(name, sum(len(v) for v in per_patient.values()), "events", flush=True)
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
        "generated_by": "tests/reference/disability/make_bern_relapsing_reference.py",
        "source": "github.com/drstrupf/multiple-sclerosis-disability-progression (MIT)",
        "commit": commit,
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "pandas": pd.__version__,
        },
        "seed": SEED,
        "event_columns": [
            "day",
            "edss",
            "progression_score",
            "reference_score",
            "type",
            "last_merged_day",
        ],
        "configs": CONFIGS,
        "patients": patients,
        "results": results,
        "tolerance": "exact (days and EDSS steps of 0.5)",
    }
    Path(args.output).write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
