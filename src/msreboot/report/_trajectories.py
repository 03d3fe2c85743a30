"""The report's disease-course section: EDSS trajectories around treatment, relapse rates
and MRI activity before and after it."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from msreboot.analysis import BIN_YEARS, MIN_PATIENTS_PER_BIN, DiseaseCourse, EDSSTrajectories
from msreboot.endpoints import MRIActivity, RelapseRates
from msreboot.report._content import (
    Block,
    FigureBlock,
    Notes,
    Paragraph,
    SectionContent,
    TableBlock,
    fmt_number,
    fmt_pct_ci,
)
from msreboot.report._figures import PALETTE, FigureWriter, new_figure, plot_context

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["trajectories_section"]


MAX_TRAJECTORY_LINES = 1000
"""Patients drawn as lines in the EDSS trajectory figure; above it, every k-th patient (in
the order of the table) is drawn so that the figure stays readable and its SVG small. The
mean and its interval are always computed on every patient."""


def _trajectory_lines(visits: pd.DataFrame) -> tuple[list[np.ndarray], int]:
    """One ``(years, edss)`` polyline per drawn patient, and the number of patients."""
    codes, _ = pd.factorize(visits["patient_id"], sort=False)
    n = int(codes.max()) + 1 if len(codes) else 0
    step = max(1, -(-n // MAX_TRAJECTORY_LINES))
    points = np.column_stack(
        [visits["years"].to_numpy(dtype=float), visits["edss"].to_numpy(dtype=float)]
    )
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(0, n, step))
    ends = np.searchsorted(codes[order], np.arange(0, n, step), side="right")
    return [points[order[a:b]] for a, b in zip(starts, ends, strict=True)], n


def _edss_figure(traj: EDSSTrajectories, anchor_label: str, x_min: float, x_max: float) -> Figure:
    from matplotlib.collections import LineCollection

    fig = new_figure(6.4, 4.0)
    ax = fig.add_subplot()
    lines, n_patients = _trajectory_lines(traj.visits)
    ax.add_collection(LineCollection(lines, colors="#7a8a99", alpha=0.14, linewidths=0.5))
    bins = traj.bins
    ax.fill_between(
        bins["years"], bins["ci_low"], bins["ci_high"], color=PALETTE[1], alpha=0.25, linewidth=0
    )
    ax.plot(bins["years"], bins["mean"], color=PALETTE[1], marker="o", markersize=3)
    ax.axvline(0, color="#333333", linewidth=0.9, linestyle="--")
    ax.text(0.05, 9.6, anchor_label, fontsize=8, va="top", color="#333333")
    shown = (
        "Individual patients"
        if len(lines) == n_patients
        else f"Individual patients ({len(lines):,} of {n_patients:,}, evenly spaced)"
    )
    ax.plot([], [], color="#7a8a99", alpha=0.6, linewidth=0.8, label=shown)
    ax.plot([], [], color=PALETTE[1], marker="o", markersize=3, label="Mean")
    ax.fill_between([], [], [], color=PALETTE[1], alpha=0.25, label="95% CI of the mean")
    ax.set_xlim(x_min, x_max)
    ax.set_ylim(0, 10)
    ax.set_yticks(np.arange(0, 10.5, 1.0))
    ax.set_xlabel(f"Years since {anchor_label}")
    ax.set_ylabel("EDSS (points, 0\u201310)")
    ax.set_title("EDSS trajectories", loc="left")
    ax.legend(loc="upper right", ncols=3)
    return fig


def _edss_table(traj: EDSSTrajectories) -> TableBlock:
    whole = traj.bins[np.isclose(traj.bins["years"] % 1.0, 0.0)]
    rows = tuple(
        (
            f"{r['years'] + 0.0:g}" + (" (day 0)" if r["years"] == 0 else ""),
            str(int(r["patients"])),
            f"{r['mean']:.2f} ({r['ci_low']:.2f}\u2013{r['ci_high']:.2f})",
            f"{r['median']:.1f} [{r['q1']:.1f}, {r['q3']:.1f}]",
        )
        for r in whole.to_dict("records")
    )
    return TableBlock(
        "EDSS by year since treatment",
        ("Year", "Patients assessed", "Mean (95% CI)", "Median [Q1, Q3]"),
        rows,
        notes=(
            f"Assessments within \u00b1{BIN_YEARS / 2:g} years of each whole year; a patient "
            "with several counts once, with their mean. Bins with fewer than "
            f"{MIN_PATIENTS_PER_BIN} patients are not shown.",
        ),
    )


def _row(table: pd.DataFrame, label: str, columns: list[str]) -> list[float]:
    """``columns`` of the row labelled ``label``, as floats."""
    values: list[float] = table.loc[[label], columns].to_numpy(dtype=float)[0].tolist()
    return values


def _activity_figure(rates: RelapseRates | None, mri: MRIActivity | None) -> Figure:
    fig = new_figure(6.4, 3.0)
    left, right = fig.subplots(1, 2)
    periods = ["before", "after"]
    colours = [PALETTE[1], PALETTE[0]]
    if rates is not None:
        table = rates.table.set_index("period").reindex(periods)
        for i, period in enumerate(periods):
            est, lo, hi = _row(table, period, ["arr", "ci_low", "ci_high"])
            left.errorbar(
                [i],
                [est],
                yerr=[[est - lo], [hi - est]],
                fmt="o",
                color=colours[i],
                capsize=4,
            )
        left.set_xticks([0, 1], ["Before", "After"])
    left.set_xlim(-0.6, 1.6)
    left.set_ylim(bottom=0)
    left.set_ylabel("Relapses per patient-year")
    left.set_title("Annualised relapse rate", loc="left")
    if mri is not None:
        table = mri.table.set_index("period").reindex(periods)
        for i, period in enumerate(periods):
            est, lo, hi = _row(table, period, ["gd_per_scan", "gd_ci_low", "gd_ci_high"])
            if np.isnan(est):
                continue
            right.errorbar(
                [i], [est], yerr=[[est - lo], [hi - est]], fmt="s", color=colours[i], capsize=4
            )
        right.set_xticks([0, 1], ["Before", "After"])
    right.set_xlim(-0.6, 1.6)
    right.set_ylim(bottom=0)
    right.set_ylabel("Gd+ lesions per scan")
    right.set_title("MRI: Gd+ lesions", loc="left")
    fig.supxlabel("Period relative to treatment (day 0)", fontsize=8)
    return fig


def _relapse_table(rates: RelapseRates) -> TableBlock:
    rows = tuple(
        (
            str(r["period"]).capitalize(),
            str(int(r["patients"])),
            str(int(r["relapses"])),
            fmt_number(r["person_years"], 1),
            f"{float(r['arr']):.3f} ({float(r['ci_low']):.3f}\u2013{float(r['ci_high']):.3f})",
            f"{float(r['mean_individual_arr']):.3f} ({float(r['sd_individual_arr']):.3f})",
        )
        for r in rates.table.to_dict("records")
    )
    return TableBlock(
        "Relapse rates before and after treatment",
        (
            "Period",
            "Patients",
            "Relapses",
            "Patient-years",
            f"ARR ({100 * rates.conf_level:g}% CI)",
            "Mean individual ARR (SD)",
        ),
        rows,
        notes=(
            "Pooled annualised relapse rate (relapses / patient-years) with an exact Poisson "
            "interval; before: from MS onset (or the first record) to day 0; after: from day "
            "0 to the last record.",
        ),
    )


def _mri_table(mri: MRIActivity) -> TableBlock:
    def rate(r: Mapping[Hashable, Any], key: str) -> str:
        est = float(r[f"{key}_per_scan"])
        if np.isnan(est):
            return "\u2013"
        lo, hi = float(r[f"{key}_ci_low"]), float(r[f"{key}_ci_high"])
        return f"{est:.2f} ({lo:.2f}\u2013{hi:.2f})"

    rows = tuple(
        (
            str(r["period"]).capitalize(),
            str(int(r["patients"])),
            str(int(r["scans"])),
            rate(r, "gd"),
            rate(r, "new_t2"),
            fmt_pct_ci(r["active_share"], r["active_ci_low"], r["active_ci_high"]),
            fmt_pct_ci(
                r["patients_active_share"],
                r["patients_active_ci_low"],
                r["patients_active_ci_high"],
            ),
        )
        for r in mri.table.to_dict("records")
    )
    return TableBlock(
        "MRI activity before and after treatment",
        (
            "Period",
            "Patients",
            "Scans",
            "Gd+ lesions per scan",
            "New/enlarging T2 per scan",
            "Active scans",
            "Patients with activity",
        ),
        rows,
        notes=(
            "Active scan: at least one Gd+ or one new or enlarging T2 lesion. Shares with "
            "exact (Clopper-Pearson) intervals over fully assessed scans; lesions per scan "
            "with exact Poisson intervals (scans treated as independent). A dash: not "
            "assessable (e.g. no new-T2 counts before treatment).",
        ),
    )


def trajectories_section(
    course: DiseaseCourse,
    writer: FigureWriter,
    *,
    anchor_label: str,
    x_max: float,
) -> SectionContent:
    """EDSS trajectories, relapse rates and MRI activity around the first course."""
    blocks: list[Block] = []
    if course.n_treated == 0:
        note = f"No patient has an {anchor_label} course: nothing to show around it."
        return SectionContent("trajectories", "Disease course", (Notes("Not available", (note,)),))
    traj = course.trajectories
    if traj is not None and len(traj.bins):
        with plot_context("edss_trajectories"):
            x_min = max(-2.0, float(np.floor(traj.visits["years"].min())))
            fig = _edss_figure(traj, anchor_label, x_min, x_max)
        blocks.append(
            FigureBlock(
                writer.save(fig, "edss_trajectories"),
                f"EDSS of {traj.visits['patient_id'].nunique()} treated patients from 2 years "
                f"before to {x_max:g} years after {anchor_label} (thin lines), with the mean "
                "by half-year and its 95% confidence interval.",
            )
        )
        blocks.append(_edss_table(traj))
    rates, mri = course.relapses, course.mri
    if rates is not None or mri is not None:
        with plot_context("relapses_mri"):
            fig = _activity_figure(rates, mri)
        blocks.append(
            FigureBlock(
                writer.save(fig, "relapses_mri"),
                "Annualised relapse rate and Gd+ lesions per scan before and after "
                f"{anchor_label}, with exact 95% intervals.",
            )
        )
    if rates is not None:
        blocks.append(_relapse_table(rates))
    if mri is not None:
        blocks.append(_mri_table(mri))
    if course.notes:
        blocks.append(Notes("Not shown", course.notes, tone="warning"))
    blocks.insert(
        0,
        Paragraph(
            f"Disability, relapses and MRI activity of the patients treated with "
            f"{anchor_label}, in years from their first course (day 0)."
        ),
    )
    return SectionContent("trajectories", "Disease course", tuple(blocks))
