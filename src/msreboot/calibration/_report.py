"""The calibration report: simulated against published for every target, with both
intervals, as a figure and a Markdown document (tables of targets, posterior,
generations and leave-one-study-out predictions)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from msreboot.calibration._result import CalibrationResult
from msreboot.data import atomic_write_bytes, atomic_write_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["CalibrationReport", "calibration_figure", "write_calibration_report"]

_PANELS = (
    ("probability", "Proportion or survival (%)", 100.0),
    ("ratio", "Ratio (log scale)", 1.0),
    ("edss", "Mean EDSS (points)", 1.0),
)
_COLOURS = {"published": "#222222", "fitted": "#1f6fb4", "left_out": "#d9730d"}


@dataclass(frozen=True)
class CalibrationReport:
    """Files written by :func:`write_calibration_report`."""

    markdown: Path
    figure_svg: Path
    figure_png: Path
    table: Path
    leave_one_out: Path | None

    def summary(self) -> str:
        return f"calibration report: {self.markdown} (figure {self.figure_png})"


def calibration_figure(result: CalibrationResult, loso: pd.DataFrame | None = None) -> Figure:
    """Published value and interval (black) beside the posterior predictive median and
    90% interval of the fit (blue) and, when given, the leave-one-study-out prediction
    (orange), one row per target, grouped by study; one panel per scale."""
    from matplotlib.figure import Figure

    table = result.compare()
    if loso is not None and len(loso):
        table = table.merge(
            loso[["target", "predicted", "predicted_low", "predicted_high"]],
            on="target",
            how="left",
        )
    panels = [p for p in _PANELS if (table["scale"] == p[0]).any()]
    heights = [max(2, int((table["scale"] == p[0]).sum())) for p in panels]
    fig = Figure(figsize=(8.5, 0.32 * sum(heights) + 1.6 * len(panels)))
    axes = fig.subplots(len(panels), 1, gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, (scale, xlabel, factor) in zip(axes[:, 0], panels, strict=True):
        rows = table[table["scale"] == scale].reset_index(drop=True)
        y = np.arange(len(rows))[::-1].astype(float)
        marks = [("published", "published", "published_low", "published_high", 0.0, "s")]
        marks.append(("fitted", "simulated", "simulated_low", "simulated_high", -0.22, "o"))
        if "predicted" in rows:
            marks.append(("left_out", "predicted", "predicted_low", "predicted_high", 0.22, "D"))
        bounds = (-np.inf, np.inf)
        if scale == "ratio":  # an arm without events gives a ratio near 0: clip at the axis
            bounds = (
                float(rows["published_low"].min()) / 8,
                float(rows["published_high"].max()) * 8,
            )
        for key, mid, low, high, shift, marker in marks:
            values = np.clip(rows[mid].to_numpy(dtype=float), *bounds) * factor
            lows = np.clip(rows[low].to_numpy(dtype=float), *bounds) * factor
            highs = np.clip(rows[high].to_numpy(dtype=float), *bounds) * factor
            ax.hlines(y + shift, lows, highs, color=_COLOURS[key], lw=1.6)
            ax.plot(values, y + shift, marker, color=_COLOURS[key], ms=4.5, label=_label(key))
        ax.set_yticks(y)
        ax.set_yticklabels(
            [
                _row_label(s, lab) + ("" if f else " (not fitted)")
                for s, lab, f in zip(rows["study"], rows["label"], rows["fitted"], strict=True)
            ],
            fontsize=7.5,
        )
        if scale == "ratio":
            ax.set_xscale("log")
            ax.set_xlim(bounds[0] / 1.2, bounds[1] * 1.2)
            ax.axvline(1.0, color="#999999", lw=0.8, ls=":")
            xlabel += "; intervals clipped at the axis"
        ax.set_xlabel(xlabel)
        ax.grid(axis="x", color="#e5e5e5", lw=0.6)
        ax.set_ylim(-0.7, len(rows) - 0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    top = 1 - 0.9 / fig.get_figheight()
    fig.legend(
        handles,
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, 1 - 0.4 / fig.get_figheight()),
        ncol=3,
        fontsize=8,
        frameon=False,
    )
    fig.suptitle(
        "Published value (published or binomial 95% interval) against simulated "
        "(median, 90% predictive interval)",
        fontsize=9,
        y=1 - 0.1 / fig.get_figheight(),
    )
    fig.tight_layout(rect=(0, 0, 1, top))
    return fig


def _row_label(study: str, label: str) -> str:
    """``study: label``, without repeating a study name the endpoint already carries."""
    return label if study in label else f"{study}: {label}"


def _label(key: str) -> str:
    return {
        "published": "published",
        "fitted": "simulated, fitted",
        "left_out": "simulated, study left out of the fit",
    }[key]


def _percent(value: float, scale: str) -> str:
    if not np.isfinite(value):
        return "NA"
    if scale == "ratio" and value < 1e-3:
        return "<0.001"  # an arm without events
    return f"{100 * value:.1f}%" if scale == "probability" else f"{value:.3g}"


def _markdown_table(frame: pd.DataFrame) -> str:
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(False)]
    return "\n".join([head, rule, *body])


def write_calibration_report(
    result: CalibrationResult, out_dir: str | Path, *, leave_one_out: bool = True
) -> CalibrationReport:
    """Write ``calibration.md``, ``calibration_targets.svg/.png``, ``calibration_targets.csv``
    and (``leave_one_out``) ``leave_one_study_out.csv`` into ``out_dir``."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    loso = result.leave_one_study_out() if leave_one_out else None
    fig = calibration_figure(result, loso)
    outputs = {}
    for kind in ("svg", "png"):
        buffer = io.BytesIO()
        fig.savefig(buffer, format=kind, dpi=200, bbox_inches="tight", metadata=_metadata(kind))
        outputs[kind] = atomic_write_bytes(
            folder / f"calibration_targets.{kind}", buffer.getvalue()
        )
    table = result.compare()
    table_path = atomic_write_text(folder / "calibration_targets.csv", table.to_csv(index=False))
    loso_path = None
    if loso is not None:
        loso_path = atomic_write_text(folder / "leave_one_study_out.csv", loso.to_csv(index=False))
    text = _document(result, table, loso)
    markdown = atomic_write_text(folder / "calibration.md", text)
    return CalibrationReport(markdown, outputs["svg"], outputs["png"], table_path, loso_path)


def _metadata(kind: str) -> dict[str, str | None]:
    # No creation date: the same calibration gives byte-identical figures.
    return {"Date": None} if kind == "svg" else {"Software": "msreboot"}


def _document(result: CalibrationResult, table: pd.DataFrame, loso: pd.DataFrame | None) -> str:
    cover = result.coverage()
    gens = result.generations
    lines = [
        "# Simulator calibration",
        "",
        f"ABC-SMC (msreboot {result.version}), seed {result.settings.seed}: "
        f"{len(gens)} generations of {result.settings.population_size} particles, "
        f"{int(gens['evaluated'].sum())} simulations of every study; {result.status}. "
        "Each proposal simulates every target study once, with that study's own "
        "population, protocol, visit schedule, follow-up and endpoint definitions; the "
        "distance is the root mean square of the targets' differences in published "
        "standard errors (from the published interval, or binomial from n).",
        "",
        f"Fitted targets: {cover['targets']}. Simulated median inside the published "
        f"interval: **{cover['simulated_in_published']}**. Published value inside the 90% "
        f"posterior predictive interval: **{cover['published_in_predictive']}**.",
        "",
        "![Simulated against published](calibration_targets.png)",
        "",
        "## Targets",
        "",
    ]
    shown = pd.DataFrame(
        {
            "study": table["study"],
            "target": table["label"],
            "published": [
                _percent(v, s) for v, s in zip(table["published"], table["scale"], strict=True)
            ],
            "interval": [
                f"{_percent(lo, s)}-{_percent(hi, s)} ({src})"
                for lo, hi, s, src in zip(
                    table["published_low"],
                    table["published_high"],
                    table["scale"],
                    table["interval_from"],
                    strict=True,
                )
            ],
            "simulated (90% PI)": [
                f"{_percent(m, s)} ({_percent(lo, s)}-{_percent(hi, s)})"
                for m, lo, hi, s in zip(
                    table["simulated"],
                    table["simulated_low"],
                    table["simulated_high"],
                    table["scale"],
                    strict=True,
                )
            ],
            "inside": [
                "yes" if a else ("PI only" if b else "**no**")
                for a, b in zip(
                    table["simulated_in_published"], table["published_in_predictive"], strict=True
                )
            ],
        }
    )
    lines += [_markdown_table(shown), ""]
    misses = table[~table["simulated_in_published"] & table["fitted"]]
    if len(misses):
        lines += ["Targets whose simulated median lies outside the published interval:", ""]
        lines += [
            f"- {r['study']} {r['label']}: published {_percent(r['published'], r['scale'])}, "
            f"simulated {_percent(r['simulated'], r['scale'])}."
            + (f" {r['note']}" if r["note"] else "")
            for r in misses.to_dict("records")
        ]
        lines.append("")
    post = result.posterior()
    lines += ["## Posterior", "", "Medians and 90% credible intervals.", ""]
    lines += [
        _markdown_table(
            pd.DataFrame(
                {
                    "parameter": post["parameter"],
                    "prior": post["prior"],
                    "default": post["default"].map(lambda v: f"{v:.4g}"),
                    "median": post["median"].map(lambda v: f"{v:.4g}"),
                    "90% CrI": [
                        f"{lo:.4g}-{hi:.4g}"
                        for lo, hi in zip(post["ci_low"], post["ci_high"], strict=True)
                    ],
                    "width vs prior": post["width_vs_prior"].map(lambda v: f"{v:.2f}"),
                }
            )
        ),
        "",
        "## Generations",
        "",
        _markdown_table(gens.round(4)),
        "",
    ]
    if loso is not None and len(loso):
        lines += [
            "## Leave one study out",
            "",
            "Each study predicted from the fit to the others (importance-reweighted "
            "proposals of this run; ESS = effective sample size).",
            "",
        ]
        inside = int(loso["published_in_prediction"].sum())
        lines += [
            f"Published value inside the 90% prediction: {inside} of {len(loso)} targets.",
            "",
            _markdown_table(
                pd.DataFrame(
                    {
                        "left out": loso["left_out"],
                        "target": loso["label"],
                        "published": [
                            _percent(v, s)
                            for v, s in zip(loso["published"], loso["scale"], strict=True)
                        ],
                        "predicted (90% PI)": [
                            f"{_percent(m, s)} ({_percent(lo, s)}-{_percent(hi, s)})"
                            for m, lo, hi, s in zip(
                                loso["predicted"],
                                loso["predicted_low"],
                                loso["predicted_high"],
                                loso["scale"],
                                strict=True,
                            )
                        ],
                        "ESS": loso["ess"].map(lambda v: f"{v:.0f}"),
                    }
                )
            ),
            "",
        ]
    return "\n".join(lines)
