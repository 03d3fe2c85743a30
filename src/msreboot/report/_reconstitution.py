"""The report's immune-reconstitution section: lymphocyte-subset counts by months since
AHSCT, as :func:`msreboot.analysis.immune_reconstitution` computed them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from msreboot.report._content import (
    Block,
    FigureBlock,
    Notes,
    Paragraph,
    SectionContent,
    TableBlock,
    fmt_number,
)
from msreboot.report._figures import PALETTE, FigureWriter, new_figure, plot_context

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from msreboot.analysis import ImmuneReconstitution

__all__ = ["month_heading", "reconstitution_section"]

_NAMES = {
    "lymphocytes": "Lymphocytes",
    "cd4": "CD4+ T cells",
    "cd8": "CD8+ T cells",
    "cd19": "CD19+ B cells",
    "nk": "NK cells",
}


def month_heading(month: float) -> str:
    """``"Baseline"`` for month 0, else ``"Month 6"`` (a table's time column)."""
    return "Baseline" if month == 0 else f"Month {month:g}"


def _cell(median: float, q1: float, q3: float, n: int) -> str:
    if n == 0:
        return "\u2013"
    return f"{fmt_number(median, 0)} [{fmt_number(q1, 0)}, {fmt_number(q3, 0)}] ({n})"


def _table(frame: pd.DataFrame, analytes: list[str]) -> TableBlock:
    rows = []
    for month, part in frame.groupby("month", sort=True):
        if not (part["n_patients"] > 0).any():
            continue  # a time point without any result
        by = {str(r["analyte"]): r for r in part.to_dict("records")}
        cells = [
            _cell(
                float(by[a]["median"]),
                float(by[a]["q1"]),
                float(by[a]["q3"]),
                int(by[a]["n_patients"]),
            )
            for a in analytes
        ]
        rows.append((month_heading(float(str(month))), *cells))
    return TableBlock(
        "Blood counts by time since reinfusion: median [Q1, Q3] (patients), cells/\u00b5L",
        ("Time", *(_NAMES.get(a, a) for a in analytes)),
        tuple(rows),
        notes=(
            "Baseline: each patient's last result in the year before the course began. "
            "Month m: the result closest to m months after reinfusion, within half-way to "
            "the neighbouring time points; results of the first half-month (aplasia) are "
            "not shown, nor are time points without any result. Quartiles as R's default "
            "quantile (type 7).",
        ),
    )


_BASELINE_X = -2.0  # where the baseline is drawn, in months (left of month 1)


def _figure(frame: pd.DataFrame, analytes: list[str]) -> Figure:
    fig = new_figure(6.4, 3.6)
    ax = fig.add_subplot()
    shown = frame[frame["n_patients"] > 0]
    for analyte, colour in zip(analytes, PALETTE, strict=False):
        part = shown[shown["analyte"] == analyte]
        if part.empty:
            continue
        x = np.where(part["month"].to_numpy(dtype=float) == 0, _BASELINE_X, part["month"])
        ax.plot(
            x,
            part["median"].to_numpy(dtype=float),
            marker="o",
            color=colour,
            label=_NAMES.get(analyte, analyte),
        )
        ax.fill_between(
            x,
            part["q1"].to_numpy(dtype=float),
            part["q3"].to_numpy(dtype=float),
            color=colour,
            alpha=0.12,
            linewidth=0,
        )
    months = np.unique(shown["month"].to_numpy(dtype=float))
    ticks = np.where(months == 0, _BASELINE_X, months)
    ax.set_xticks(ticks, [("BL" if m == 0 else f"{m:g}") for m in months])
    ax.set_xlim(_BASELINE_X - 1.5, float(months.max()) + 1.5)
    ax.set_xlabel("Months since reinfusion (BL: baseline)")
    ax.set_ylabel("Cells/\u00b5L (median, IQR band)")
    ax.set_ylim(bottom=0)
    ax.set_title("Immune reconstitution after AHSCT", loc="left")
    ax.legend(loc="upper right", fontsize="small", ncols=2)
    return fig


def reconstitution_section(
    result: ImmuneReconstitution | None, writer: FigureWriter
) -> SectionContent:
    """Lymphocyte, CD4, CD8, CD19 and NK counts by months since AHSCT (median, IQR and
    patients per time point), or a note that the cohort has no such results."""
    title = "Immune reconstitution"
    if result is None or not result.available:
        n = 0 if result is None else result.n_transplanted
        return SectionContent(
            "reconstitution",
            title,
            (
                Notes(
                    "No data",
                    (
                        "No lymphocyte-subset results (lymphocytes, CD4, CD8, CD19, NK in "
                        f"the labs table) for the {n} patients with an AHSCT course.",
                    ),
                ),
            ),
        )
    frame = result.to_frame()
    analytes = list(dict.fromkeys(frame["analyte"]))
    blocks: list[Block] = [
        Paragraph(
            f"{result.n_transplanted} patients with an AHSCT course; counts from the labs "
            "table by months since the first reinfusion (day 0)."
        ),
    ]
    with plot_context("reconstitution"):
        fig = _figure(frame, analytes)
    blocks.append(
        FigureBlock(
            writer.save(fig, "immune_reconstitution"),
            "Median blood counts by months since reinfusion, with the interquartile range "
            "as a band.",
        )
    )
    blocks.append(_table(frame, analytes))
    return SectionContent("reconstitution", title, tuple(blocks))
