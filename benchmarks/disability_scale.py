"""Benchmark: how the disability engine scales, and the simplest rule against DuckDB.

Run on demand (the targets are for 2 cores)::

    python benchmarks/disability_scale.py [--sizes 10000 100000 1000000] [--repeats 2]
        [--label after] [--out FILE]

1. All events, roving baseline, RAW/PIRA (the rules of ``benchmarks/disability.py``) at each
   size, on the synthetic cohorts of that benchmark. Every run is a child process, so that
   its peak memory (``ru_maxrss`` of the child, read by the parent) is its own; each size
   runs ``--repeats`` times and the minimum time is kept (the machine is shared: every
   time is recorded, so the noise is visible). The peak includes the input frames, whose
   own resident size (measured before the call) is recorded beside it.
2. The simplest rule (fixed baseline, first confirmed worsening, confirmed by the first
   visit at least 84 days later, no relapses) on the largest size, and the same rule as a
   DuckDB window query on the same frame in the same process (the query ignores improvements,
   so patients with a confirmed improvement before their worsening may differ; see below).
3. The first call in a fresh process: with the compiled cache present (warm) and with an
   empty cache directory (cold: numba compiles).

Figures are printed and written under the given label to
``benchmarks/results/disability_scale.json`` (other labels in the file are kept, so the
figures before and after a change sit side by side); nothing is asserted.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from disability import DEFINITION, synthetic

from msreboot.endpoints import (
    BaselineRule,
    ConfirmationRule,
    DisabilityDefinition,
    detect_disability_events,
)

RESULTS = Path(__file__).parent / "results" / "disability_scale.json"
SIMPLE = DisabilityDefinition(
    "simplest",
    event="first_cdw",
    baseline=BaselineRule(kind="fixed"),
    confirmation=ConfirmationRule(84, tolerance_days=(0, float("inf")), check_intermediate=False),
)
# The same rule in SQL: the baseline is the first visit; a visit is a worsening when it
# exceeds the baseline by the msprog threshold (1.5 from 0, 1.0 up to 5.0, 0.5 above); it
# is confirmed when the first visit at least 84 days later still does. The query does not
# look for improvements, which msprog's rules do: after a confirmed improvement the search
# goes on from its confirmation visit, so a worsening before that visit is not an event.
# In a million synthetic patients three have such an improvement before their worsening
# (e.g. baseline 5.5, a confirmed 5.0 at day 373, a worsening at day 452 before the
# improvement's confirmation at day 522): there the engine's event is later than the
# query's, as msprog's would be; every other patient agrees.
SIMPLE_SQL = """
WITH v AS (
  SELECT patient_id, date, edss,
    first(edss) OVER (PARTITION BY patient_id ORDER BY date
                      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS b,
    row_number() OVER (PARTITION BY patient_id ORDER BY date) AS k,
    first(edss) OVER (PARTITION BY patient_id ORDER BY date
                      RANGE BETWEEN 84 FOLLOWING AND UNBOUNDED FOLLOWING) AS c
  FROM visits
), t AS (
  SELECT *, CASE WHEN b <= 0 THEN 1.5 WHEN b <= 5 THEN 1.0 ELSE 0.5 END AS delta FROM v
)
SELECT patient_id, min(date) AS date FROM t
WHERE k > 1 AND edss - b >= delta AND c - b >= delta
GROUP BY patient_id
"""


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (MB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _rss_mb() -> float:
    """Current resident set size of this process (MB)."""
    return _status_mb("VmRSS")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(n_patients: int, rule: str) -> dict[str, object]:
    start = time.perf_counter()
    detect_disability_events(*synthetic(5, seed=1), DEFINITION)
    first_call = time.perf_counter() - start
    visits, relapses = synthetic(n_patients)
    input_rss = _rss_mb()
    # reset the kernel's high-water mark, so that VmHWM after the call is the call's own
    # peak (with the input resident); ru_maxrss also counts making the input
    Path("/proc/self/clear_refs").write_text("5")
    out: dict[str, object] = {
        "patients": n_patients,
        "visits": len(visits),
        "first_call_seconds": round(first_call, 3),
        "input_rss_mb": round(input_rss, 1),
    }
    if rule == "all":
        start, cpu = time.perf_counter(), _cpu()
        result = detect_disability_events(visits, relapses, DEFINITION)
        out["seconds"] = round(time.perf_counter() - start, 3)
        out["cpu_seconds"] = round(_cpu() - cpu, 2)
        out["events"] = int(result.events["event"].sum())
        out["cdw"], out["cdi"], out["pira"] = (result.count(k) for k in ("CDW", "CDI", "PIRA"))
    else:
        import duckdb

        start, cpu = time.perf_counter(), _cpu()
        result = detect_disability_events(visits, None, SIMPLE)
        out["seconds"] = round(time.perf_counter() - start, 3)
        out["cpu_seconds"] = round(_cpu() - cpu, 2)
        out["events"] = int(result.events["event"].sum())
        con = duckdb.connect()
        con.register("visits", visits)
        start, cpu = time.perf_counter(), _cpu()
        sql = con.sql(SIMPLE_SQL).df()
        out["duckdb_seconds"] = round(time.perf_counter() - start, 3)
        out["duckdb_cpu_seconds"] = round(_cpu() - cpu, 2)
        out["duckdb_events"] = len(sql)
        out["duckdb_threads"] = int(con.sql("SELECT current_setting('threads')").fetchall()[0][0])
        out["duckdb_version"] = duckdb.__version__
        ours = result.events[result.events["event"]][["patient_id", "date"]]
        merged = ours.astype({"patient_id": object}).merge(
            sql, on="patient_id", how="outer", suffixes=("", "_sql"), indicator=True
        )
        differ = (merged["_merge"] != "both") | (merged["date"] != merged["date_sql"])
        out["same_events"] = not differ.any()
        out["patients_differing"] = int(differ.sum())
        out["differing_examples"] = merged[differ].head(3).astype(str).to_dict("records")
    out["call_peak_rss_mb"] = round(_status_mb("VmHWM"), 1)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def run_child(n: int, rule: str, env: dict[str, str] | None = None) -> dict[str, object]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(n), "--rule", rule],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    record: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    record["child_user_seconds"] = round(after.ru_utime - before.ru_utime, 2)
    record["child_system_seconds"] = round(after.ru_stime - before.ru_stime, 2)
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--label", default="after")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--rule", default="all", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.rule)))
        return

    runs: dict[str, list[dict[str, object]]] = {}
    for n in args.sizes:
        runs[str(n)] = [run_child(n, "all") for _ in range(args.repeats)]
        print(f"{n:,} patients:", json.dumps(runs[str(n)]))
    best = {n: min(float(r["seconds"]) for r in rs) for n, rs in runs.items()}  # type: ignore[arg-type]
    sizes = [str(n) for n in args.sizes]
    ratios = {f"{a}->{b}": round(best[b] / best[a], 2) for a, b in itertools.pairwise(sizes)}
    largest = args.sizes[-1]
    simple = [run_child(largest, "simple") for _ in range(args.repeats)]
    print(f"simplest rule, {largest:,} patients:", json.dumps(simple))
    with tempfile.TemporaryDirectory() as cache:
        cold = run_child(1_000, "all", env={**os.environ, "NUMBA_CACHE_DIR": cache})
    warm = run_child(1_000, "all")
    record = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "pandas": pd.__version__,
        },
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average_at_end": os.getloadavg(),
        "rules": "all events, roving baseline, RAW/PIRA (Mueller 2023 intervals)",
        "runs": runs,
        "best_seconds": best,
        "peak_rss_mb": {n: max(float(r["peak_rss_mb"]) for r in rs) for n, rs in runs.items()},  # type: ignore[arg-type]
        "call_peak_rss_mb": {
            n: max(float(r.get("call_peak_rss_mb", "nan")) for r in rs)  # type: ignore[arg-type]
            for n, rs in runs.items()
        },
        "scaling_ratios": ratios,
        "simplest_rule": {
            "patients": largest,
            "runs": simple,
            "best_seconds": min(float(r["seconds"]) for r in simple),  # type: ignore[arg-type]
            "best_duckdb_seconds": min(float(r["duckdb_seconds"]) for r in simple),  # type: ignore[arg-type]
        },
        "first_call_seconds": {
            "cold_compile": cold["first_call_seconds"],
            "warm_cache": warm["first_call_seconds"],
        },
        "targets": {
            "1M_all_events_seconds": "< 10 on 2 cores",
            "1M_peak_rss_mb": "< 4000",
            "scaling": "each x10 step within 15% of x10 (8.5 to 11.5)",
            "simplest_rule": "no slower than the DuckDB window query",
        },
    }
    print(json.dumps(record, indent=2))
    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    previous[args.label] = record
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(previous, indent=2) + "\n")
    print(f"written to {args.out} under {args.label!r}")


if __name__ == "__main__":
    main()
