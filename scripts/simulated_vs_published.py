"""Run every bundled virtual study and write its headline endpoints beside the published ones.

Usage: python scripts/simulated_vs_published.py [--replicates N]

Writes docs/simulated_vs_published.md (a table per study) and
docs/simulated_vs_published.csv. Default simulation parameters: the close fit is the
calibration's job; this table shows direction and order of magnitude.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from msreboot import __version__
from msreboot.simulate._trial import TrialSpec, run_trial

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _pct(value: object) -> str:
    return "" if value is None or pd.isna(value) else f"{100 * float(value):.1f}%"  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--replicates", type=int, default=None)
    args = parser.parse_args()
    tables = []
    lines = [
        "# Virtual studies beside the published results",
        "",
        f"Written by `scripts/simulated_vs_published.py` (msreboot {__version__}, default "
        "simulation parameters). Simulated: mean over replicate trials of the study's own "
        "endpoint estimate, with the 2.5-97.5% range over replicates.",
        "",
    ]
    for name in TrialSpec.presets():
        start = time.perf_counter()
        spec = TrialSpec.preset(name)
        result = run_trial(spec, replicates=args.replicates)
        table = result.compare_published()
        tables.append(table)
        seconds = time.perf_counter() - start
        lines += [
            f"## {spec.title}",
            "",
            f"{result.spec.replicates} replicates, seed {spec.seed}, {seconds:.1f} s.",
            "",
            "| endpoint | arm | years | published | published CI | simulated | replicate range |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in table.itertuples():
            ci = (
                f"{_pct(row.published_ci_low)}-{_pct(row.published_ci_high)}"
                if pd.notna(row.published_ci_low)
                else ""
            )
            lines.append(
                f"| {row.endpoint} | {row.arm} | {row.time_years:g} | {_pct(row.published)} | "
                f"{ci} | {_pct(row.simulated)} | "
                f"{_pct(row.simulated_low)}-{_pct(row.simulated_high)} |"
            )
        lines.append("")
        print(f"{name}: {seconds:.1f} s")
    DOCS.mkdir(exist_ok=True)
    (DOCS / "simulated_vs_published.md").write_text("\n".join(lines), encoding="utf-8")
    combined = pd.concat([t.dropna(axis=1, how="all") for t in tables], ignore_index=True)
    combined.to_csv(DOCS / "simulated_vs_published.csv", index=False)
    print(f"wrote {DOCS / 'simulated_vs_published.md'}")


if __name__ == "__main__":
    main()
