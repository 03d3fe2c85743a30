"""Benchmark: time msreboot.evidence.pool and friends at growing numbers of studies.

Run on demand: ``python benchmarks/meta_pool.py [label] [output.json]``; the timings are
printed and stored under ``runs[label]`` of a JSON file (default
``benchmarks/results/meta_pool.json``, other labels kept), never asserted in tests. The
machine's load average is recorded before and after each run: the cores are shared, so
compare runs made under similar load.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from msreboot.evidence import (
    PooledEstimate,
    TruncatedTau2Warning,
    leave_one_out,
    meta_regression,
    pool,
    pool_proportions,
)
from msreboot.evidence._sensitivity import refit


def _cold_leave_one_out(res: PooledEstimate) -> None:
    """Leave-one-out refits without the warm start (to time what the warm start saves)."""
    for i in range(res.k):
        refit(res, np.arange(res.k) != i, warn=False, warm_start=False)


def _best_of(fn: Callable[[], object], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _studies(rng: np.random.Generator, k: int) -> tuple[np.ndarray, np.ndarray]:
    vi = rng.uniform(0.01, 0.5, k)
    yi = rng.normal(-0.5, np.sqrt(vi + 0.1))
    return yi, vi


def _scaling(rng: np.random.Generator) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for k in (10, 100, 1000, 10000):
        yi, vi = _studies(rng, k)
        x = rng.uniform(0, 60, k)
        n = rng.integers(10, 300, k)
        events = rng.binomial(n, 0.05)
        res = pool(yi, vi)
        rows.append(
            {
                "k": k,
                "pool_reml_s": _best_of(partial(pool, yi, vi)),
                "pool_ml_s": _best_of(partial(pool, yi, vi, method="ML")),
                "pool_pm_s": _best_of(partial(pool, yi, vi, method="PM")),
                "pool_dl_s": _best_of(partial(pool, yi, vi, method="DL")),
                "pool_proportions_plo_s": _best_of(partial(pool_proportions, events, n)),
                "meta_regression_s": _best_of(partial(meta_regression, res, {"x": x})),
            }
        )
        print(rows[-1], flush=True)
    return rows


def _sensitivity(rng: np.random.Generator) -> list[dict[str, object]]:
    """Leave-one-out and meta-regression (REML) at k = 50 and k = 500 studies."""
    rows: list[dict[str, object]] = []
    for k in (50, 500):
        yi, vi = _studies(rng, k)
        moderators = {"dose": rng.uniform(0, 60, k), "year": rng.integers(1990, 2026, k)}
        res = pool(yi, vi)
        res_ml = pool(yi, vi, method="ML")
        rows.append(
            {
                "k": k,
                "leave_one_out_reml_s": _best_of(partial(leave_one_out, res), repeats=3),
                "leave_one_out_ml_s": _best_of(partial(leave_one_out, res_ml), repeats=3),
                "leave_one_out_reml_cold_start_s": (
                    _best_of(partial(_cold_leave_one_out, res), repeats=3)
                    if "warm_start" in refit.__code__.co_varnames
                    else None
                ),
                "meta_regression_reml_2_moderators_s": _best_of(
                    partial(meta_regression, res, moderators)
                ),
            }
        )
        print(rows[-1], flush=True)
    return rows


def main(label: str, out: Path) -> None:
    """Time the pools, leave-one-out and meta-regression; store them under ``label``."""
    warnings.simplefilter("ignore", TruncatedTau2Warning)
    load_before = os.getloadavg()
    rng = np.random.default_rng(20261121)
    scaling = _scaling(rng)
    sensitivity = _sensitivity(rng)
    load_after = os.getloadavg()
    print(f"load average (1, 5, 15 min) before {load_before}, after {load_after}")
    payload: dict[str, object] = {"runs": {}}
    if out.exists():
        old = json.loads(out.read_text(encoding="utf-8"))
        payload = old if "runs" in old else {"runs": {"first_version": old}}
    runs = payload["runs"]
    assert isinstance(runs, dict)
    runs[label] = {
        "python": sys.version,
        "machine": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_average_before": list(load_before),
        "load_average_after": list(load_after),
        "note": "2 cores shared with other jobs: timings are the best of 3-5 repeats",
        "results": scaling,
        "sensitivity": sensitivity,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out} ({label})")


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "latest",
        Path(sys.argv[2]) if len(sys.argv) > 2 else Path("benchmarks/results/meta_pool.json"),
    )
