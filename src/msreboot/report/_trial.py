"""The report's optional virtual-trial section: a simulated trial beside its published
results."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from msreboot.report._content import (
    Block,
    FigureBlock,
    Notes,
    Paragraph,
    SectionContent,
    TableBlock,
    fmt_pct,
    fmt_pct_ci,
)
from msreboot.report._figures import PALETTE, FigureWriter, new_figure, plot_context

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from msreboot.trials import TrialResult

__all__ = ["trial_section"]


def _figure(compare: pd.DataFrame, title: str) -> Figure:
    fig = new_figure(6.4, 1.4 + 0.42 * len(compare))
    ax = fig.add_subplot()
    y = np.arange(len(compare))[::-1].astype(float)
    labels = []
    for i, r in enumerate(compare.to_dict("records")):
        low, high = r["published_ci_low"], r["published_ci_high"]
        if pd.notna(low) and pd.notna(high):
            ax.hlines(y[i] + 0.15, float(low), float(high), color="#333333")
        ax.plot(float(r["published"]), y[i] + 0.15, "s", color="#333333", markersize=5)
        if pd.notna(r["simulated"]):
            ax.hlines(
                y[i] - 0.15,
                float(r["simulated_low"]),
                float(r["simulated_high"]),
                color=PALETTE[4],
            )
            ax.plot(float(r["simulated"]), y[i] - 0.15, "D", color=PALETTE[4], markersize=5)
        labels.append(f"{r['endpoint']} [{r['arm']}] at {float(r['time_years']):g} y")
    ax.plot([], [], "s", color="#333333", label="Published (reported interval)")
    ax.plot([], [], "D", color=PALETTE[4], label="Simulated mean (2.5\u201397.5% of replicates)")
    ax.set_yticks(y, labels)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f}%")
    ax.set_xlabel("Estimate (%)")
    ax.set_title(title, loc="left")
    ax.grid(axis="y", visible=False)
    fig.legend(loc="outside lower center", ncols=2)
    return fig


def _curves_figure(bands: pd.DataFrame, endpoint: str, level: float) -> Figure:
    fig = new_figure(6.4, 3.4)
    ax = fig.add_subplot()
    measure = str(bands["measure"].iloc[0])
    for i, (arm, rows) in enumerate(bands.groupby("arm", sort=False)):
        colour = PALETTE[i % len(PALETTE)]
        t = rows["time_years"].to_numpy(dtype=float)
        ax.fill_between(
            t,
            rows["low"].to_numpy(dtype=float),
            rows["high"].to_numpy(dtype=float),
            step="post",
            color=colour,
            alpha=0.18,
            linewidth=0,
        )
        ax.step(t, rows["median"].to_numpy(dtype=float), where="post", color=colour, label=arm)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f}%")
    ax.set_xlabel("Years from time zero")
    ax.set_ylabel("Event-free" if measure == "event_free" else "Cumulative incidence")
    ax.set_title(
        f"{endpoint}: median over replicates, {100 * level:.0f}% band", loc="left", fontsize=10
    )
    fig.legend(loc="outside lower center", ncols=max(1, bands["arm"].nunique()))
    return fig


def _ratio(value: float) -> str:
    return "not estimable" if not np.isfinite(value) else f"{value:.2f}"


def _curves_blocks(trial: TrialResult, writer: FigureWriter) -> list[Block]:
    """Per-arm curves of each endpoint (median and 90% band across replicates) and the
    hazard ratios' distribution."""
    blocks: list[Block] = []
    level = 0.9
    bands = trial.curve_bands(level)
    spec = trial.spec
    for endpoint, rows in bands.groupby("endpoint", sort=False):
        name = f"trial_{spec.name}_{endpoint}"
        with plot_context(name):
            fig = _curves_figure(rows, str(endpoint), level)
        blocks.append(
            FigureBlock(
                writer.save(fig, name),
                f"{endpoint} by arm: the median of the replicates' Kaplan-Meier (or cumulative "
                f"incidence) curves, with the band holding the central {100 * level:.0f}% of "
                "them at each time; each replicate's curve is read every 3 months.",
            )
        )
    ratios = trial.hazard_ratio_summary(level)
    if len(ratios):
        blocks.append(
            TableBlock(
                "Hazard ratios across replicates",
                ("Endpoint", "Arm vs reference", "Median HR", "5\u201395% of replicates", "Fits"),
                tuple(
                    (
                        str(r["endpoint"]),
                        str(r["arm"]),
                        _ratio(float(r["median"])),
                        "not estimable"
                        if not np.isfinite(float(r["low"]))
                        else f"{float(r['low']):.2f}\u2013{float(r['high']):.2f}",
                        f"{int(r['reliable'])} of {int(r['replicates'])}",
                    )
                    for r in ratios.to_dict("records")
                ),
                notes=(
                    "Only replicates whose Cox fit is reliable count (an arm without events "
                    "has no finite hazard ratio: not estimable).",
                ),
            )
        )
    return blocks


def _statistics_block(compare: pd.DataFrame) -> TableBlock:
    """Published statistics other than landmarks and hazard ratios beside the simulated."""

    def cell(value: object, low: object, high: object) -> str:
        number = pd.to_numeric(pd.Series([value, low, high]), errors="coerce").to_numpy(float)
        if not np.isfinite(number[0]):
            return "not estimable"
        text = f"{number[0]:.3g}"
        if np.isfinite(number[1]) and np.isfinite(number[2]):
            text += f" ({number[1]:.3g}\u2013{number[2]:.3g})"
        return text

    return TableBlock(
        "Other published statistics, simulated beside them",
        ("Statistic", "Arm", "Year", "Published (CI)", "Simulated (2.5\u201397.5%)", "Source"),
        tuple(
            (
                str(r["statistic"]).replace("_", " "),
                str(r["arm"]),
                "" if pd.isna(r["time_years"]) else f"{float(r['time_years']):g}",
                cell(r["published"], r["published_ci_low"], r["published_ci_high"]),
                cell(r["simulated"], r["simulated_low"], r["simulated_high"]),
                str(r["source"]),
            )
            for r in compare.to_dict("records")
        ),
        notes=(
            "Ratios are summarised by their median over replicates, other statistics by "
            "their mean (trials.arm_statistic documents each).",
        ),
    )


def trial_section(trial: TrialResult, writer: FigureWriter) -> SectionContent:
    """The simulated-versus-published table and figure, the per-arm curves, hazard ratios,
    estimates and power."""
    spec = trial.spec
    blocks: list[Block] = [
        Paragraph(
            f"{spec.title or spec.name}: {spec.replicates} replicate trial(s) of "
            + ", ".join(f"{a.name} (n = {a.n})" for a in spec.arms)
            + f", followed for {spec.follow_up_years:g} years, simulated from seed "
            f"{spec.seed} with the '{spec.parameters}' parameter set and analysed by the same "
            "endpoint code as the cohort. Virtual patients are model output, not data."
        )
    ]
    published = trial.compare_published()
    compare = published[published["statistic"] == "landmark"]  # percentages at a time
    others = published[~published["statistic"].isin(["landmark", "hazard_ratio"])]
    if len(compare):
        with plot_context(f"trial_{spec.name}"):
            fig = _figure(compare, spec.title or spec.name)
        blocks.append(
            FigureBlock(
                writer.save(fig, f"trial_{spec.name}"),
                "Published results (squares) and the virtual trial (diamonds: mean over "
                "replicates, with the 2.5-97.5% range of the replicate estimates).",
            )
        )
        rows = tuple(
            (
                str(r["endpoint"]),
                str(r["arm"]),
                f"{float(r['time_years']):g}",
                fmt_pct_ci(r["published"], r["published_ci_low"], r["published_ci_high"])
                if pd.notna(r["published_ci_low"])
                else fmt_pct(r["published"]),
                fmt_pct_ci(r["simulated"], r["simulated_low"], r["simulated_high"]),
                str(int(r["replicates"])),
                str(r["source"]),
            )
            for r in compare.to_dict("records")
        )
        blocks.append(
            TableBlock(
                "Simulated and published",
                (
                    "Endpoint",
                    "Arm",
                    "Year",
                    "Published (CI)",
                    "Simulated (2.5\u201397.5%)",
                    "Replicates",
                    "Source",
                ),
                rows,
            )
        )
    if len(others):
        blocks.append(_statistics_block(others))
    blocks.extend(_curves_blocks(trial, writer))
    table = trial.table()
    blocks.append(
        TableBlock(
            "Virtual trial estimates",
            ("Endpoint", "Arm", "Year", "Mean estimate", "Monte Carlo SD", "Mean interval"),
            tuple(
                (
                    str(r["endpoint"]),
                    str(r["arm"]),
                    f"{float(r['time_years']):g}",
                    fmt_pct(r["estimate"]),
                    fmt_pct(r["mc_sd"]),
                    f"{fmt_pct(r['ci_low'])}\u2013{fmt_pct(r['ci_high'])}",
                )
                for r in table.to_dict("records")
            ),
            notes=("Means over replicates; the interval is the mean of the replicate intervals.",),
        )
    )
    power = trial.power()
    blocks.append(
        Notes(
            "Power",
            (
                "Single-arm trial: no comparison between arms, so no power."
                if np.isnan(power)
                else f"Power of the primary endpoint (log-rank, alpha "
                f"{spec.analysis.alpha:g}): {100 * power:.0f}% over {spec.replicates} "
                "replicates.",
            ),
        )
    )
    return SectionContent("trial", "Virtual trial", tuple(blocks), spec.citation)
