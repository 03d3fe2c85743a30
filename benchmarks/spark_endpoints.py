"""Benchmark: endpoints and disability events on one machine and per patient partition on
Spark's local mode.

Run:  .venv/bin/python benchmarks/spark_endpoints.py [--patients 10200 99900]

The cohorts are copies of the bundled example cohort (300 patients, ids suffixed per
copy), validated by ``Cohort.from_frames``. For each size the script times
``estimate_endpoints`` with every preset (14 endpoints) and ``detect_disability_events``
(every event, roving baseline, RAW/PIRA) on this machine, then the same calls on Spark
``local[2]`` (``cluster=``), and checks that the frames are identical. Spark's session
(driver memory 4 GB) is started (and warmed on a small cohort) before timing. Local mode on
2 shared cores measures the overhead of shipping partitions through Spark (pickling, Arrow,
Python workers), not scale-out: the gain comes from more machines. Results go to
``benchmarks/results/spark_endpoints.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import pandas as pd

import msreboot
from msreboot.data import Cohort
from msreboot.datasets import load_example
from msreboot.endpoints import BaselineRule, DisabilityDefinition, estimate_endpoints
from msreboot.endpoints._disability import detect_disability_events
from msreboot.endpoints._partitions import spark_session

RESULTS = Path(__file__).resolve().parent / "results" / "spark_endpoints.json"
CLUSTER = "local[2]"
RULES = DisabilityDefinition(
    event="all", classify_raw_pira=True, baseline=BaselineRule(kind="roving")
)


def copies(n_patients: int) -> Cohort:
    """The example cohort repeated until it holds about ``n_patients`` (multiples of 300)."""
    example = load_example()
    k = max(1, n_patients // example.n_patients)
    tables = {}
    for name, frame in example.tables.items():
        parts = []
        for i in range(k):
            part = frame.copy()
            part["patient_id"] = part["patient_id"].astype(str) + f"_{i:04d}"
            parts.append(part)
        tables[name] = pd.concat(parts, ignore_index=True)
    return Cohort.from_frames(tables)


def timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    return out, round(time.perf_counter() - t0, 2)


def measure(cohort: Cohort) -> dict[str, object]:
    """Both calls on one machine and on Spark, checked identical."""
    one, one_s = timed(lambda: estimate_endpoints(cohort))
    spread, spark_s = timed(lambda: estimate_endpoints(cohort, cluster=CLUSTER))
    pd.testing.assert_frame_equal(spread.to_frame(), one.to_frame(), check_exact=True)
    d_one, d_one_s = timed(lambda: detect_disability_events(cohort, definition=RULES))
    d_spread, d_spark_s = timed(
        lambda: detect_disability_events(cohort, definition=RULES, cluster=CLUSTER)
    )
    for name in ("events", "patients", "unconfirmed", "excluded"):
        pd.testing.assert_frame_equal(
            getattr(d_spread, name), getattr(d_one, name), check_exact=True
        )
    row = {
        "patients": cohort.n_patients,
        "edss_rows": len(cohort.edss),
        "estimate_endpoints_14_presets_one_machine_s": one_s,
        "estimate_endpoints_14_presets_spark_local2_s": spark_s,
        "disability_all_roving_raw_pira_one_machine_s": d_one_s,
        "disability_all_roving_raw_pira_spark_local2_s": d_spark_s,
        "identical": True,
        "peak_rss_mb_driver_so_far": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        ),
    }
    print(row, flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, nargs="+", default=[10200, 99900])
    args = parser.parse_args()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    # the driver's JVM holds the shipped partitions: more than the 1 GB default
    SparkSession.builder.config("spark.driver.memory", "4g").master(CLUSTER).getOrCreate()
    _, start_s = timed(lambda: spark_session(CLUSTER))
    small = load_example()
    estimate_endpoints(small, cluster=CLUSTER)  # warm the Python workers
    rows = []
    for n in args.patients:
        rows.append(measure(copies(n)))
    figures = {
        "runs": rows,
        "spark_session_start_s": start_s,
        "cluster": CLUSTER,
        "note": (
            "Spark local mode on 2 cores shared with other work: the Spark columns measure "
            "the overhead of partitioning, pickling and Python workers, not scale-out. "
            "Peak RSS is the driver's only (Spark's JVM and Python workers are separate "
            "processes)."
        ),
        "msreboot": msreboot.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        "pyspark": __import__("pyspark").__version__,
    }
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
