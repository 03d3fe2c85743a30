"""Benchmark: the disability engine against pymsprog, and at registry scale.

Run on demand::

    python benchmarks/disability.py [--patients 1000000] [--pymsprog-python PATH] [--out FILE]

1. Throughput on the same 2,000-patient sample as pymsprog (run in its own virtual
   environment: ``--pymsprog-python`` points at its interpreter; without it that part is
   skipped and the JSON says so). Both run all events, roving baseline, RAW/PIRA on; the
   event counts of the two are compared as a sanity check.
2. One million patients (about 17 million visits) with the same rules, in a child process
   so that its peak memory (max RSS) is its own.
3. With ``--options``: the cost of each option of issue 19 when on (on top of the rules
   above), at ``--options-patients`` patients (default 100,000), best of ``--repeats``; with
   ``--before-src DIR`` (a ``src`` folder of the engine before the options, e.g. from ``git
   archive``) the same rules timed there too, to show that the options cost nothing when
   off. Written to ``benchmarks/results/disability_options.json``; parts 1-2 are skipped.

Figures are printed and written to ``benchmarks/results/disability.json``; nothing is
asserted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from msreboot.endpoints import BaselineRule, DisabilityDefinition, detect_disability_events

RESULTS = Path(__file__).parent / "results" / "disability.json"
OPTIONS_RESULTS = Path(__file__).parent / "results" / "disability_options.json"
DEFINITION = DisabilityDefinition(
    "benchmark", event="all", classify_raw_pira=True, baseline=BaselineRule(kind="roving")
)
PYMSPROG_KWARGS = {"event": "multiple", "baseline": "roving", "RAW_PIRA": True}

_PYMSPROG_RUNNER = """
import json, sys, time, warnings
import pandas as pd
import pymsprog
warnings.simplefilter("ignore")
visits = pd.read_csv(sys.argv[1]); relapses = pd.read_csv(sys.argv[2])
start = time.perf_counter()
summary, results = pymsprog.MSprog(
    visits, subj_col="patient_id", value_col="edss", date_col="date", outcome="edss",
    relapse=relapses, rdate_col="onset_date", date_format="day", verbose=0,
    **json.loads(sys.argv[3]))
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "cdw": int((results["event_type"] == "CDW").sum()),
                  "cdi": int((results["event_type"] == "CDI").sum()),
                  "pira": int((results.get("CDW_type", pd.Series(dtype=str)) == "PIRA").sum()),
                  "version": pymsprog.__version__ if hasattr(pymsprog, "__version__") else ""}))
"""


def synthetic(n_patients: int, seed: int = 20261121) -> tuple[pd.DataFrame, pd.DataFrame]:
    """EDSS random walks (0.5 grid) every 2-7 months and Poisson relapses, vectorised."""
    rng = np.random.default_rng(seed)
    n_visits = np.clip(rng.poisson(17, n_patients), 2, 40)
    total = int(n_visits.sum())
    pid = np.repeat(np.arange(n_patients), n_visits)
    first = np.repeat(np.cumsum(n_visits) - n_visits, n_visits)
    gaps = rng.integers(60, 210, total).astype(np.int64)
    gaps[first == np.arange(total)] = 0
    day = np.cumsum(gaps)
    day -= np.repeat(day[np.cumsum(n_visits) - n_visits], n_visits)
    steps = rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0], total, p=[0.06, 0.12, 0.6, 0.14, 0.08])
    start = rng.integers(0, 13, n_patients) / 2.0
    steps[first == np.arange(total)] = 0
    walk = np.cumsum(steps)
    walk -= np.repeat(walk[np.cumsum(n_visits) - n_visits], n_visits)
    edss = np.clip(np.repeat(start, n_visits) + walk, 0, 10)
    ids = np.char.add("P", np.arange(n_patients).astype(str))
    visits = pd.DataFrame({"patient_id": ids[pid], "date": day.astype(float), "edss": edss})
    n_rel = rng.poisson(1.0, n_patients)
    rpid = np.repeat(np.arange(n_patients), n_rel)
    last = day[np.cumsum(n_visits) - 1]
    onset = np.floor(rng.uniform(-60, 1, len(rpid)) + rng.uniform(0, 1, len(rpid)) * last[rpid])
    relapses = pd.DataFrame({"patient_id": ids[rpid], "onset_date": onset})
    return visits, relapses


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_ours(n_patients: int) -> dict[str, float | int]:
    visits, relapses = synthetic(n_patients)
    start = time.perf_counter()
    result = detect_disability_events(visits, relapses, DEFINITION)
    seconds = time.perf_counter() - start
    return {
        "patients": n_patients,
        "visits": len(visits),
        "relapses": len(relapses),
        "seconds": round(seconds, 3),
        "events": int(result.events["event"].sum()),
        "cdw": result.count("CDW"),
        "cdi": result.count("CDI"),
        "pira": result.count("PIRA"),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


def compare_with_pymsprog(python: str | None, n_patients: int = 2000) -> dict[str, object]:
    # warm-up: compile (or load the compiled cache) before timing
    start = time.perf_counter()
    detect_disability_events(*synthetic(5, seed=1), DEFINITION)
    warm = time.perf_counter() - start
    ours = run_ours(n_patients)
    out: dict[str, object] = {"ours": ours, "first_call_seconds": round(warm, 2)}
    if python is None or not Path(python).exists():
        out["pymsprog"] = "skipped: no --pymsprog-python interpreter given"
        return out
    visits, relapses = synthetic(n_patients)
    with tempfile.TemporaryDirectory() as tmp:
        vpath, rpath = Path(tmp) / "visits.csv", Path(tmp) / "relapses.csv"
        visits.to_csv(vpath, index=False)
        relapses.to_csv(rpath, index=False)
        proc = subprocess.run(
            [python, "-c", _PYMSPROG_RUNNER, str(vpath), str(rpath), json.dumps(PYMSPROG_KWARGS)],
            capture_output=True,
            text=True,
            check=True,
        )
    ref = json.loads(proc.stdout.strip().splitlines()[-1])
    out["pymsprog"] = ref
    out["speedup"] = round(ref["seconds"] / ours["seconds"], 1)  # type: ignore[operator]
    out["same_counts"] = (ref["cdw"], ref["cdi"], ref["pira"]) == (
        ours["cdw"],
        ours["cdi"],
        ours["pira"],
    )
    return out


def option_definitions() -> dict[str, DisabilityDefinition]:
    """The benchmark rules with one option of issue 19 switched on at a time."""
    from dataclasses import replace

    from msreboot.endpoints import ConfirmationRule, PIRARule, ThresholdRule

    base = DEFINITION
    return {
        "off": base,
        "relapse_during_confirmation": base.with_(
            pira=replace(PIRARule.mueller_2023(), report_relapse_during_confirmation=True)
        ),
        "monotonic": base.with_(confirmation=ConfirmationRule(monotonic=True)),
        "minimal_distance_reference_120": base.with_(
            confirmation=ConfirmationRule(minimal_distance_days=120)
        ),
        "minimal_distance_previous_120": base.with_(
            confirmation=ConfirmationRule(minimal_distance_days=120, minimal_distance_to="previous")
        ),
        "unconfirmed_worsening": base.with_(unconfirmed_worsening=True),
        "lowest_confirmed": base.with_(
            baseline=BaselineRule(kind="roving", post_event_reference="lowest_confirmed")
        ),
        "running_minimum": base.with_(baseline=BaselineRule(kind="running_minimum")),
        "running_minimum_30": base.with_(
            baseline=BaselineRule(kind="running_minimum", reference_confirmation_days=30)
        ),
        "relative_threshold_20_percent": base.with_(
            threshold=ThresholdRule("relative_20", relative=0.2)
        ),
        "relative_or_steps": base.with_(threshold=replace(ThresholdRule.msprog(), relative=0.2)),
        "after_relapse": base.with_(baseline=BaselineRule(kind="roving", after_relapse=True)),
        "after_relapse_residual_only": base.with_(
            baseline=BaselineRule(kind="roving", after_relapse=True, residual_only=True)
        ),
        "not_lower_kappos_2020": DisabilityDefinition.kappos_2020(),
        # the Bern preset with one reference (the existing scan), then as it is (separate
        # general and RAW/PIRA references, their own scan) and with each option they enable
        **separate_definitions(),
    }


def separate_definitions() -> dict[str, DisabilityDefinition]:
    """The Bern preset with separate references, alone and with each option they enable."""
    from dataclasses import replace

    from msreboot.endpoints import ConfirmationRule, MergeRule

    bern = DisabilityDefinition.bern_2025()
    separate = bern
    confirmation = bern.confirmation
    return {
        "bern_2025_one_reference": bern.with_(
            baseline=replace(bern.baseline, raw_pira_reference="same")
        ),
        "separate_references_bern_2025": separate,
        "separate_undefined_all": separate.with_(
            pira=replace(bern.pira, undefined_worsening="all")
        ),
        "separate_undefined_end": separate.with_(
            pira=replace(bern.pira, undefined_worsening="end")
        ),
        "separate_undefined_not_lower": separate.with_(
            pira=replace(bern.pira, undefined_reference="not_lower")
        ),
        "separate_merge": separate.with_(merge=MergeRule()),
        "separate_backtrack_180": separate.with_(
            confirmation=ConfirmationRule(
                confirmation.days,
                confirmation.tolerance_days,
                minimal_distance_days=180,
                minimal_distance_backtrack=True,
            )
        ),
        "separate_sustained_180": separate.with_(
            confirmation=ConfirmationRule(
                confirmation.days, confirmation.tolerance_days, sustained_after_days=180
            )
        ),
    }


def time_options(n_patients: int, repeats: int, names: list[str]) -> dict[str, object]:
    """Best-of-``repeats`` seconds of each named definition (``off`` only, before the
    options existed)."""
    visits, relapses = synthetic(n_patients)
    if names == ["off"]:
        definitions = {"off": DEFINITION}
    else:
        definitions = {k: v for k, v in option_definitions().items() if k in names}
    out: dict[str, object] = {}
    # warm-up at full size: the first large call pays one-off costs (thread pool, memory)
    detect_disability_events(visits, relapses, DEFINITION)
    for name, definition in definitions.items():
        detect_disability_events(*synthetic(2000, seed=1), definition)  # compile / load
        best = cpu = math.inf
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            result = detect_disability_events(visits, relapses, definition)
            best = min(best, time.perf_counter() - start)
            cpu = min(cpu, time.process_time() - start_cpu)
        out[name] = {
            "seconds": round(best, 3),
            "cpu_seconds": round(cpu, 3),
            "events": int(result.events["event"].sum()),
        }
    return out


def run_options(args: argparse.Namespace) -> None:
    names = list(option_definitions())
    command = [sys.executable, __file__, "--child-options", "--options-patients"]
    command += [str(args.options_patients), "--repeats", str(args.repeats)]
    now = json.loads(
        subprocess.run(
            [*command, "--names", ",".join(names)], capture_output=True, text=True, check=True
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    record: dict[str, object] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "patients": args.options_patients,
        "repeats": args.repeats,
        "rules": "all events, roving baseline, RAW/PIRA (Mueller 2023 intervals); each option "
        "on top (the presets as they are; bern_2025_one_reference: the Bern preset with one "
        "reference; separate_*: the Bern preset, which has separate references, and each "
        "option they enable on top)",
        "seconds": now,
        "ratio_to_off": {k: round(v["seconds"] / now["off"]["seconds"], 2) for k, v in now.items()},
        "cpu_ratio_to_off": {
            k: round(v["cpu_seconds"] / now["off"]["cpu_seconds"], 2) for k, v in now.items()
        },
    }
    if args.before_src:
        # interleaved runs of the same rules, before and after, on a shared machine
        env = {**os.environ, "PYTHONPATH": str(args.before_src)}
        pairs = []
        for _ in range(3):
            row = {}
            for label, environment in (("before", env), ("after", None)):
                proc = subprocess.run(
                    [*command, "--names", "off"],
                    capture_output=True,
                    text=True,
                    check=True,
                    env=environment,
                )
                row[label] = json.loads(proc.stdout.strip().splitlines()[-1])["off"]
            pairs.append(row)
        record["options_off_before_and_after"] = {"before": str(args.before_label), "runs": pairs}
    print(json.dumps(record, indent=2))
    OPTIONS_RESULTS.parent.mkdir(parents=True, exist_ok=True)
    OPTIONS_RESULTS.write_text(json.dumps(record, indent=2) + "\n")
    print(f"written to {OPTIONS_RESULTS}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--pymsprog-python", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--options", action="store_true", help="time each option when on")
    parser.add_argument("--options-patients", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--before-src", type=Path, default=None)
    parser.add_argument("--before-label", default="", help="what --before-src is (a commit)")
    parser.add_argument("--child-options", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--names", default="off", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_options:
        names = args.names.split(",")
        print(json.dumps(time_options(args.options_patients, args.repeats, names)))
        return
    if args.options:
        run_options(args)
        return
    if args.child:  # the large run, in its own process for an honest peak RSS
        detect_disability_events(*synthetic(5, seed=1), DEFINITION)
        print(json.dumps(run_ours(args.patients)))
        return
    comparison = compare_with_pymsprog(args.pymsprog_python)
    print("2,000 patients:", json.dumps(comparison, indent=2))
    proc = subprocess.run(
        [sys.executable, __file__, "--child", "--patients", str(args.patients)],
        capture_output=True,
        text=True,
        check=True,
    )
    large = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"{args.patients:,} patients:", json.dumps(large, indent=2))
    record = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "rules": "all events, roving baseline, RAW/PIRA (Mueller 2023 intervals)",
        "sample_2000": comparison,
        "large": large,
        "targets": {
            "speedup_vs_pymsprog": ">= 100",
            "large_seconds": "< 60 on 2 cores",
            "peak_rss_mb": "< 8000",
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
