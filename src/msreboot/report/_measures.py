"""The report's section on the other measures followed after AHSCT (functional tests, MRI
volumes, serum NfL, questionnaires), as :func:`msreboot.analysis.measures_after_ahsct`
computed them."""

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
from msreboot.report._reconstitution import month_heading

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from msreboot.analysis import MeasuresAfterAHSCT

__all__ = ["measures_section"]

_BASELINE_X = -4.0  # where the baseline is drawn, in months (left of the first time point)
_PANELS_PER_ROW = 3


def _cell(row: dict[str, object]) -> str:
    n = int(str(row["n_patients"]))
    if n == 0:
        return "\u2013"
    unable = int(str(row["n_not_completed"]))
    count = f"{n}; {unable} not completed" if unable else f"{n}"
    if unable == n:
        return f"({count})"
    median, q1, q3 = (float(str(row[k])) for k in ("median", "q1", "q3"))
    return f"{fmt_number(median)} [{fmt_number(q1)}, {fmt_number(q3)}] ({count})"


def _table(result: MeasuresAfterAHSCT) -> TableBlock:
    frame = result.table
    shown = [m for m in result.months if (frame.loc[frame["month"] == m, "n_patients"] > 0).any()]
    rows = []
    for measure in result.measures.to_dict("records"):
        part = frame[frame["measure"] == measure["measure"]].set_index("month")
        cells = [_cell(part.loc[m].to_dict()) for m in shown]
        better = f", {measure['better']} is better" if measure["better"] else ""
        rows.append((f"{measure['label']} ({measure['unit']}{better})", *cells))
    return TableBlock(
        "Measures by time since reinfusion: median [Q1, Q3] (patients)",
        ("Measure", *(month_heading(m) for m in shown)),
        tuple(rows),
        notes=(
            "Baseline: each patient's last assessment in the year before the course began. "
            "Month m: the assessment closest to m months after reinfusion, within half-way "
            "to the neighbouring time points. A timed test the patient could not complete "
            "counts among the patients and is said so, but has no time and is not in the "
            "quartiles. Quartiles as R's default quantile (type 7).",
        ),
    )


def _figure(result: MeasuresAfterAHSCT) -> Figure:
    measures = result.measures.to_dict("records")
    cols = min(_PANELS_PER_ROW, len(measures))
    rows = -(-len(measures) // cols)
    fig = new_figure(2.6 * cols + 0.6, 2.3 * rows + 0.4)
    axes = fig.subplots(rows, cols, squeeze=False)
    frame = result.table
    for i, (measure, colour) in enumerate(zip(measures, PALETTE * len(measures), strict=False)):
        ax = axes[i // cols][i % cols]
        part = frame[(frame["measure"] == measure["measure"]) & frame["median"].notna()]
        months = part["month"].to_numpy(dtype=float)
        x = np.where(months == 0, _BASELINE_X, months)
        ax.plot(x, part["median"].to_numpy(dtype=float), marker="o", color=colour)
        ax.fill_between(
            x,
            part["q1"].to_numpy(dtype=float),
            part["q3"].to_numpy(dtype=float),
            color=colour,
            alpha=0.15,
            linewidth=0,
        )
        ax.set_xticks(x, [("BL" if m == 0 else f"{m:g}") for m in months])
        ax.set_title(str(measure["label"]), loc="left", fontsize="small")
        ax.set_ylabel(str(measure["unit"]), fontsize="small")
        ax.tick_params(labelsize="x-small")
    for j in range(len(measures), rows * cols):
        axes[j // cols][j % cols].set_visible(False)
    fig.supxlabel("Months since reinfusion (BL: baseline); median with IQR band", fontsize="small")
    return fig


def measures_section(result: MeasuresAfterAHSCT | None, writer: FigureWriter) -> SectionContent:
    """The functional tests, MRI volumes, serum NfL and questionnaires by months since AHSCT
    (median, IQR and patients per time point), or a note that the cohort has none."""
    title = "Other measures after AHSCT"
    if result is None or not result.available:
        n = 0 if result is None else result.n_transplanted
        return SectionContent(
            "measures",
            title,
            (
                Notes(
                    "No data",
                    (
                        "No timed 25-foot walk, nine-hole peg test, SDMT, serum NfL, MRI "
                        f"volume or questionnaire results for the {n} patients with an AHSCT "
                        "course.",
                    ),
                ),
            ),
        )
    blocks: list[Block] = [
        Paragraph(
            f"{result.n_transplanted} patients with an AHSCT course; each measure by months "
            "since the first reinfusion (day 0)."
        ),
    ]
    with plot_context("measures"):
        fig = _figure(result)
    blocks.append(
        FigureBlock(
            writer.save(fig, "measures_after_ahsct"),
            "Median of each measure by months since reinfusion, with the interquartile range "
            "as a band.",
        )
    )
    blocks.append(_table(result))
    return SectionContent("measures", title, tuple(blocks))
