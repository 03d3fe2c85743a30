"""The report's evidence section: the cohort beside the pooled published studies.

Transplant-related mortality is pooled across the published studies (events out of n) and
drawn as a forest plot with the cohort as its own row. Published survival landmarks
(HALT-MS, Burt 2015, the EBMT registry, Atkins 2016) are set beside the cohort's estimate
of the same preset definition at the same year.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from msreboot.analysis import EvidenceBeside, PublishedLandmark
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

__all__ = ["evidence_section"]


def _landmark_figure(rows: list[PublishedLandmark] | tuple[PublishedLandmark, ...]) -> Figure:
    fig = new_figure(6.4, 1.2 + 0.42 * len(rows))
    ax = fig.add_subplot()
    y = np.arange(len(rows))[::-1].astype(float)
    for i, r in enumerate(rows):
        if np.isfinite(r.published_low):
            ax.hlines(y[i] + 0.15, r.published_low, r.published_high, color="#333333")
        ax.plot(r.published, y[i] + 0.15, "s", color="#333333", markersize=5)
        if np.isfinite(r.cohort):
            ax.hlines(y[i] - 0.15, r.cohort_low, r.cohort_high, color=PALETTE[2])
            ax.plot(r.cohort, y[i] - 0.15, "o", color=PALETTE[2], markersize=5)
    ax.plot([], [], "s", color="#333333", label="Published (with its reported interval)")
    ax.plot([], [], "o", color=PALETTE[2], label="This cohort, same definition")
    ax.set_yticks(y, [f"{r.label} at {r.year:g} y" for r in rows])
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f}%")
    ax.set_xlabel("Event-free probability (%)")
    ax.set_title("Published landmarks and this cohort", loc="left")
    ax.grid(axis="y", visible=False)
    fig.legend(loc="outside lower center", ncols=2)
    return fig


def _landmark_table(rows: list[PublishedLandmark] | tuple[PublishedLandmark, ...]) -> TableBlock:
    def level(value: float) -> str:
        return "" if not np.isfinite(value) else f" [{100 * value:g}% CI]"

    return TableBlock(
        "Published survival landmarks and this cohort",
        ("Study and outcome", "Year", "Published", "This cohort", "At risk", "Preset"),
        tuple(
            (
                r.label,
                f"{r.year:g}",
                fmt_pct_ci(r.published, r.published_low, r.published_high)
                + (level(r.published_level) if np.isfinite(r.published_low) else ""),
                fmt_pct_ci(r.cohort, r.cohort_low, r.cohort_high)
                + (level(r.cohort_level) if np.isfinite(r.cohort) else ""),
                str(r.at_risk),
                r.preset,
            )
            for r in rows
        ),
        notes=(
            "The cohort's estimate uses the preset that encodes the study's published "
            "definition (see Methods). A dash: the year lies beyond the cohort's follow-up.",
        ),
    )


def evidence_section(beside: EvidenceBeside, writer: FigureWriter) -> SectionContent:
    """TRM beside the pooled studies (forest plot) and survival landmarks beside the
    published ones."""
    title = "Published evidence"
    blocks: list[Block] = []
    notes: list[str] = []
    comparison = beside.trm
    if comparison is not None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with plot_context("forest_trm"):
                fig = comparison.forest_plot(title="Transplant-related mortality")
        notes += [str(w.message) for w in caught]
        blocks.append(
            FigureBlock(
                writer.save(fig, "forest_trm"),
                "Transplant-related mortality in the published AHSCT studies (random-"
                "effects pool, logit scale, REML) with this cohort as its own row "
                "(exact interval; no weight in the pool).",
            )
        )
        frame = comparison.to_frame()
        z, p = comparison.difference()
        rows = [
            (
                str(r["row"]),
                str(int(r["k"])),
                f"{int(r['events'])}/{int(r['n'])}" if pd.notna(r["events"]) else "",
                fmt_pct_ci(r["estimate"], r["ci_low"], r["ci_high"]),
                fmt_pct_ci(np.nan, np.nan, np.nan)
                if pd.isna(r["pi_low"])
                else f"{fmt_pct(r['pi_low'])}\u2013{fmt_pct(r['pi_high'])}",
            )
            for r in frame.to_dict("records")
        ]
        blocks.append(
            TableBlock(
                "Transplant-related mortality: this cohort and the published pool",
                ("Row", "Studies", "Events/n", "Estimate (95% CI)", "Prediction interval"),
                tuple(rows),
                notes=(
                    f"Cohort against the overall pool: z = {z:.2f}, p = {p:.3g} (the "
                    "cohort's sampling error, the pool's uncertainty and the "
                    "between-study variance combined). Conditioning intensity of this "
                    f"cohort: {beside.intensity}.",
                ),
            )
        )
    notes = [*beside.notes, *notes]
    landmarks = beside.landmarks
    if landmarks:
        with plot_context("published_landmarks"):
            fig = _landmark_figure(landmarks)
        blocks.append(
            FigureBlock(
                writer.save(fig, "published_landmarks"),
                "Published event-free survival at landmark years (squares, with the "
                "interval each study reported) and this cohort's estimate under the "
                "same definition (circles, pointwise log-log interval).",
            )
        )
        blocks.append(_landmark_table(landmarks))
    if notes:
        blocks.append(Notes("Notes", tuple(dict.fromkeys(notes))))
    blocks.insert(
        0,
        Paragraph(
            "The bundled dataset of published AHSCT studies (msreboot.evidence), pooled as "
            "R's metafor pools them, with this cohort set beside it. Citations are listed in "
            "Methods."
        ),
    )
    return SectionContent("evidence", title, tuple(blocks))
