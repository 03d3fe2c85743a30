"""Benchmark: time msreboot.evidence.pool and friends at growing numbers of studies.

Run on demand: ``python benchmarks/meta_pool.py [output.json]``; results are written to a
JSON file (default ``benchmarks/results/meta_pool.json``), never asserted in tests.
"""

from __future__ import annotations

import json
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from msreboot.evidence import (
    TruncatedTau2Warning,
    leave_one_out,
    meta_regression,
    pool,
    pool_proportions,
)


def _best_of(fn: object, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main(out: Path) -> None:
    rng = np.random.default_rng(20261121)
    rows = []
    warnings.simplefilter("ignore", TruncatedTau2Warning)
    for k in (10, 100, 1000, 10000):
        vi = rng.uniform(0.01, 0.5, k)
        yi = rng.normal(-0.5, np.sqrt(vi + 0.1))
        x = rng.uniform(0, 60, k)
        n = rng.integers(10, 300, k)
        events = rng.binomial(n, 0.05)
        res = pool(yi, vi)
        rows.append(
            {
                "k": k,
                "pool_reml_s": _best_of(lambda yi=yi, vi=vi: pool(yi, vi)),
                "pool_dl_s": _best_of(lambda yi=yi, vi=vi: pool(yi, vi, method="DL")),
                "pool_proportions_plo_s": _best_of(lambda e=events, n=n: pool_proportions(e, n)),
                "meta_regression_s": _best_of(lambda r=res, x=x: meta_regression(r, {"x": x})),
                "leave_one_out_s": (
                    _best_of(lambda r=res: leave_one_out(r), repeats=1) if k <= 1000 else None
                ),
            }
        )
        print(rows[-1])
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"python": sys.version, "machine": platform.platform(), "results": rows}
    out.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("benchmarks/results/meta_pool.json"))
