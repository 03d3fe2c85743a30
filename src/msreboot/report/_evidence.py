"""The report's evidence section: the cohort beside the pooled published studies.

Transplant-related mortality is pooled across the published studies (events out of n) and
drawn as a forest plot with the cohort as its own row. Published survival landmarks
(HALT-MS, Burt 2015, the EBMT registry, Atkins 2016) are set beside the cohort's estimate
of the same preset definition at the same year.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from msreboot.data import Cohort
from msreboot.endpoints import EndpointResults, TransplantMortality, estimate_endpoints
from msreboot.evidence import (
    CohortEstimate,
    EvidenceError,
    compare_with_evidence,
    load_outcomes,
    load_studies,
    study_label,
)
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

__all__ = ["PUBLISHED_PRESETS", "evidence_section", "published_landmarks"]

PUBLISHED_PRESETS = {
    ("nash2017_haltms", "efs"): "halt_ms_efs",
    ("nash2017_haltms", "pfs"): "halt_ms_pfs",
    ("nash2017_haltms", "rfs"): "halt_ms_rfs",
    ("nash2017_haltms", "mri_activity_free"): "halt_ms_mri_free",
    ("burt2015_northwestern", "pfs"): "burt_2015_pfs",
    ("burt2015_northwestern", "rfs"): "burt_2015_rfs",
    ("muraro2017_ebmt", "pfs"): "muraro_2017_pfs",
    ("atkins2016_canadian", "ms_activity_free"): "atkins_2016_afs",
}
"""Published survival outcomes and the preset that reproduces each one's definition."""

_OUTCOME_LABELS = {
    "efs": "EFS",
    "pfs": "PFS",
    "rfs": "RFS",
    "mri_activity_free": "MRI activity-free",
    "ms_activity_free": "activity-free",
}


@dataclass(frozen=True)
class _Landmark:
    label: str
    preset: str
    year: float
    published: float
    published_low: float
    published_high: float
    published_level: float
    cohort: float
    cohort_low: float
    cohort_high: float
    cohort_level: float
    at_risk: int


def published_landmarks(cohort: Cohort) -> tuple[list[_Landmark], EndpointResults | None]:
    """Every published survival landmark with a matching preset, beside the cohort's
    estimate of that preset at the same year (``nan`` beyond the cohort's follow-up)."""
    outcomes = load_outcomes()
    studies = load_studies()
    keys = list(zip(outcomes["study_id"], outcomes["outcome"], strict=True))
    rows = outcomes[
        np.array([k in PUBLISHED_PRESETS for k in keys], dtype=bool)
        & (outcomes["effect_type"] == "survival")
        & outcomes["timepoint_years"].notna()
    ]
    if rows.empty:
        return [], None
    pairs = zip(rows["study_id"], rows["outcome"], strict=True)
    presets = sorted({PUBLISHED_PRESETS[pair] for pair in pairs})
    years = sorted({float(t) for t in rows["timepoint_years"]})
    results = estimate_endpoints(cohort, presets, times_years=years)
    found = []
    for row in rows.to_dict("records"):
        preset = PUBLISHED_PRESETS[(row["study_id"], row["outcome"])]
        study = studies[studies["study_id"] == row["study_id"]].iloc[0]
        table = results[preset].landmarks.set_index("time_years")
        year = float(row["timepoint_years"])
        mine = table.loc[year]
        level = float(row["ci_level"]) if pd.notna(row.get("ci_level")) else np.nan
        found.append(
            _Landmark(
                f"{study_label(study)}: {_OUTCOME_LABELS.get(row['outcome'], row['outcome'])}",
                preset,
                year,
                float(row["estimate"]),
                float(row["ci_low"]) if pd.notna(row["ci_low"]) else np.nan,
                float(row["ci_high"]) if pd.notna(row["ci_high"]) else np.nan,
                level,
                float(mine["estimate"]),
                float(mine["ci_low"]),
                float(mine["ci_high"]),
                results[preset].definition.conf_level,
                int(mine["n_at_risk"]),
            )
        )
    found.sort(key=lambda r: (r.preset, r.year))
    return found, results


def _landmark_figure(rows: list[_Landmark]) -> Figure:
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


def _landmark_table(rows: list[_Landmark]) -> TableBlock:
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


def _intensity(cohort: Cohort) -> str:
    ahsct = cohort.treatments[cohort.treatments["kind"] == "ahsct"]
    classes = set(ahsct["conditioning_intensity"].dropna())
    return classes.pop() if len(classes) == 1 else "mixed"


def evidence_section(
    cohort: Cohort, trm: TransplantMortality | None, writer: FigureWriter
) -> SectionContent:
    """TRM beside the pooled studies (forest plot) and survival landmarks beside the
    published ones."""
    title = "Published evidence"
    blocks: list[Block] = []
    notes: list[str] = []
    if trm is not None:
        intensity = _intensity(cohort)
        mine = CohortEstimate.from_events(
            trm.deaths_within_window,
            trm.n_transplanted,
            outcome="trm",
            label="This cohort",
            definition=f"death from any cause within {trm.window_days} days of AHSCT",
            subgroups={"intensity": intensity},
        )
        try:
            with warnings.catch_warnings(record=True) as caught:
                # pooling warns (TruncatedTau2Warning) when tau^2 is truncated at 0; the
                # message is shown in the report instead of interrupting it
                warnings.simplefilter("always")
                comparison = compare_with_evidence(mine, by="intensity")
                with plot_context("forest_trm"):
                    fig = comparison.forest_plot(title="Transplant-related mortality")
            notes += [str(w.message) for w in caught]
        except EvidenceError as exc:
            notes.append(f"Transplant-related mortality: {exc}")
        else:
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
                        f"cohort: {intensity}.",
                    ),
                )
            )
    else:
        notes.append("Transplant-related mortality: the cohort has no AHSCT course.")
    if trm is not None:
        try:
            landmarks, _ = published_landmarks(cohort)
        except ValueError as exc:
            landmarks = []
            notes.append(f"Survival landmarks: {exc}")
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
