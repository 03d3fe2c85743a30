"""Run every bundled virtual study and write its headline endpoints beside the published ones.

Usage: python scripts/simulated_vs_published.py [--replicates N]

Writes docs/simulated_vs_published.md (a table per study) and
docs/simulated_vs_published.csv: each bundled study run with the hand-set default
parameters and with the shipped calibrated set (the virtual trials' default), beside the
published figures. The calibration's own report (docs/calibration/) compares every
calibration target, including those that are not endpoint landmarks.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from msreboot import __version__
from msreboot.simulate import SimulationParameters
from msreboot.trials import TrialSpec, run_trial

DOCS = Path(__file__).resolve().parents[1] / "docs"


_PROPORTIONS = frozenset(
    {
        "landmark",
        "transplant_mortality",
        "relapse_proportion",
        "share_improved",
        "share_stable",
        "share_worse",
        "neda",
    }
)
"""Statistics shown as percentages; the others (EDSS, rates, ratios) as numbers."""


def _pct(value: object) -> str:
    return "" if value is None or pd.isna(value) else f"{100 * float(value):.1f}%"  # type: ignore[arg-type]


def _value(value: object, statistic: str) -> str:
    if statistic in _PROPORTIONS:
        return _pct(value)
    return "" if value is None or pd.isna(value) else f"{float(value):.2f}"  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--replicates", type=int, default=None)
    args = parser.parse_args()
    tables = []
    sets = [n for n in ("default", "calibrated") if n in SimulationParameters.presets()]
    lines = [
        "# Virtual studies beside the published results",
        "",
        f"Written by `scripts/simulated_vs_published.py` (msreboot {__version__}). Simulated: "
        "mean over replicate trials of the study's own endpoint estimate, with the "
        "2.5-97.5% range over replicates, under each bundled parameter set ("
        + ", ".join(f"`{n}`" for n in sets)
        + ").",
        "",
    ]
    for name in TrialSpec.presets():
        start = time.perf_counter()
        spec = TrialSpec.preset(name)
        if not spec.published:
            continue
        results = {
            n: run_trial(
                spec, replicates=args.replicates, parameters=SimulationParameters.preset(n)
            ).compare_published()
            for n in sets
        }
        table = results[sets[0]].drop(columns=["simulated", "simulated_low", "simulated_high"])
        for n, frame in results.items():
            for column in ("simulated", "simulated_low", "simulated_high"):
                table[f"{column}_{n}"] = frame[column].to_numpy()
        tables.append(table)
        seconds = time.perf_counter() - start
        header = " | ".join(f"simulated ({n}) | range ({n})" for n in sets)
        lines += [
            f"## {spec.title}",
            "",
            f"{spec.replicates if args.replicates is None else args.replicates} replicates, "
            f"seed {spec.seed}, {seconds:.1f} s.",
            "",
            f"| statistic | endpoint | arm | years | published | published CI | {header} |",
            "|---|---|---|---|---|---|" + "---|---|" * len(sets),
        ]
        for row in table.to_dict("records"):
            stat = str(row["statistic"])

            def shown(key: str, stat: str = stat, row: dict[str, object] = row) -> str:
                return _value(row[key], stat)

            ci = (
                f"{shown('published_ci_low')}-{shown('published_ci_high')}"
                if pd.notna(row["published_ci_low"])
                else ""
            )
            sims = " | ".join(
                f"{shown(f'simulated_{n}')} | "
                f"{shown(f'simulated_low_{n}')}-{shown(f'simulated_high_{n}')}"
                for n in sets
            )
            years = "" if pd.isna(row["time_years"]) else f"{float(row['time_years']):g}"
            lines.append(
                f"| {stat.replace('_', ' ')} | {row['endpoint'] or ''} | {row['arm']} | {years} | "
                f"{shown('published')} | {ci} | {sims} |"
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
