"""The report's time-to-event section: a Kaplan-Meier (or cumulative incidence) figure per
endpoint with the numbers at risk under it, and the landmark estimates with intervals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from msreboot.endpoints import EndpointComparison, EndpointEstimate, EndpointResults
from msreboot.report._content import (
    Block,
    FigureBlock,
    Notes,
    Paragraph,
    SectionContent,
    TableBlock,
    fmt_pct_ci,
)
from msreboot.report._figures import PALETTE, FigureWriter, new_figure, plot_context
from msreboot.stats import CumulativeIncidence, SurvivalCurve

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["curve_steps", "survival_section"]


def curve_steps(
    estimate: EndpointEstimate,
) -> tuple[npt.NDArray[np.float64], ...]:
    """``(times, value, low, high, censored_times, censored_values)`` of the curve as
    plotted: event-free probability or cumulative incidence, starting at time 0."""
    curve = estimate.curve
    times = np.asarray(curve.times, dtype=float)
    if isinstance(curve, SurvivalCurve):
        value = np.asarray(curve.survival, dtype=float)
        low = np.asarray(curve.ci_low, dtype=float)
        high = np.asarray(curve.ci_high, dtype=float)
        start = 1.0
        if estimate.measure == "cumulative_incidence":
            value, low, high, start = 1 - value, 1 - high, 1 - low, 0.0
    else:
        value = np.asarray(curve.estimate, dtype=float)
        low = np.asarray(curve.ci_low, dtype=float)
        high = np.asarray(curve.ci_high, dtype=float)
        start = 0.0
    censored = np.asarray(curve.n_censored) > 0
    t = np.concatenate([[0.0], times])
    v = np.concatenate([[start], value])
    lo = np.concatenate([[start], low])
    hi = np.concatenate([[start], high])
    return t, v, lo, hi, times[censored], value[censored]


def _at_risk(estimate: EndpointEstimate, ticks: npt.NDArray[np.float64]) -> list[int]:
    curve: SurvivalCurve | CumulativeIncidence = estimate.curve
    return [int(v) for v in curve.at(ticks, extend=True).n_at_risk]


def _events_by(estimate: EndpointEstimate, ticks: npt.NDArray[np.float64]) -> list[int]:
    data = estimate.times.patients
    event_times = np.sort(data.loc[data["status"] == 1, "time_years"].to_numpy(dtype=float))
    return [int(v) for v in np.searchsorted(event_times, ticks, side="right")]


def _what(estimate: EndpointEstimate) -> str:
    if estimate.measure == "event_free":
        return "Event-free probability"
    return "Cumulative incidence"


def km_figure(estimate: EndpointEstimate, x_max: float, anchor_label: str) -> Figure:
    """One endpoint's curve with its pointwise interval, censoring marks, landmark lines and
    the numbers at risk under the axis."""
    import matplotlib.ticker as mticker

    d = estimate.definition
    ticks = np.arange(0.0, x_max + 0.5, 1.0)
    fig = new_figure(6.4, 4.4)
    grid = fig.add_gridspec(2, 1, height_ratios=[5.0, 0.8])
    ax = fig.add_subplot(grid[0])
    risk = fig.add_subplot(grid[1], sharex=ax)
    t, v, lo, hi, ct, cv = curve_steps(estimate)
    colour = PALETTE[0]
    pct = f"{100 * d.conf_level:g}%"
    ax.fill_between(t, lo, hi, step="post", color=colour, alpha=0.18, linewidth=0)
    ax.step(t, v, where="post", color=colour, label=f"{_what(estimate)} (n = {estimate.times.n})")
    ax.plot([], [], color=colour, alpha=0.35, linewidth=6, label=f"{pct} CI (log-log)")
    ax.plot(ct, cv, linestyle="none", marker="|", markersize=6, color=colour, label="Censored")
    for year in estimate.landmarks["time_years"]:
        ax.axvline(float(year), color="#999999", linewidth=0.7, linestyle=":")
    ax.set_xlim(0, x_max)
    ax.set_ylim(-0.02, 1.02)
    ax.yaxis.set_major_formatter(mticker.PercentFormatter(xmax=1.0, decimals=0))
    ax.set_ylabel(f"{_what(estimate)} (%)")
    ax.set_title(d.title or d.name, loc="left")
    ax.legend(loc="lower left" if estimate.measure == "event_free" else "upper left")
    ax.set_xticks(ticks)
    ax.set_xlabel(f"Years since {anchor_label}")
    for x, n in zip(ticks, _at_risk(estimate, ticks), strict=True):
        risk.text(x, 0.5, str(n), ha="center", va="center", fontsize=8)
    risk.set_ylim(0, 1)
    risk.set_yticks([0.5], ["Number at risk"])
    risk.tick_params(axis="y", length=0, pad=12)
    risk.tick_params(axis="x", bottom=False, labelbottom=False)
    risk.grid(False)
    for side in ("left", "top", "right", "bottom"):
        risk.spines[side].set_visible(False)
    return fig


def _risk_table(estimate: EndpointEstimate, x_max: float) -> TableBlock:
    ticks = np.arange(0.0, x_max + 0.5, 1.0)
    return TableBlock(
        "Numbers at risk",
        ("Years", *(f"{t:g}" for t in ticks)),
        (
            ("At risk", *(str(n) for n in _at_risk(estimate, ticks))),
            ("Events so far", *(str(n) for n in _events_by(estimate, ticks))),
        ),
        css_class="risk-table",
    )


def _landmark_table(results: EndpointResults) -> TableBlock:
    rows: list[tuple[str, ...]] = []
    starts: list[int] = []
    for name in results:
        estimate = results[name]
        d = estimate.definition
        starts.append(len(rows))
        for i, rec in enumerate(estimate.landmarks.to_dict("records")):
            rows.append(
                (
                    (d.title or d.name) if i == 0 else "",
                    f"{float(rec['time_years']):g}",
                    str(int(rec["n"])),
                    str(int(rec["events"])),
                    str(int(rec["n_at_risk"])),
                    fmt_pct_ci(rec["estimate"], rec["ci_low"], rec["ci_high"]),
                    f"{100 * d.conf_level:g}%",
                )
            )
    return TableBlock(
        "Landmark estimates",
        ("Endpoint", "Year", "Patients", "Events", "At risk", "Estimate (CI)", "CI level"),
        tuple(rows),
        group_rows=tuple(starts),
        notes=(
            "Event-free endpoints: Kaplan-Meier probability of no event; improvement and "
            "progression-incidence endpoints: cumulative incidence. Pointwise log-log "
            "intervals at each definition's level (HALT-MS reported 90%). A dash: the "
            "landmark lies beyond the last follow-up.",
        ),
    )


def _comparison_table(comparisons: Mapping[str, EndpointComparison], by: str) -> TableBlock:
    rows = []
    for name, comparison in comparisons.items():
        level = f"{100 * comparison.definition.conf_level:g}%"
        p_log_rank = comparison.log_rank_p
        for r in comparison.hazard_ratios.to_dict("records"):
            hr = (
                "\u2013"
                if not np.isfinite(r["hazard_ratio"])
                else f"{r['hazard_ratio']:.2f} ({r['ci_low']:.2f}\u2013{r['ci_high']:.2f})"
            )
            rows.append(
                (
                    comparison.definition.title or name,
                    f"{r['group']} vs {comparison.reference}",
                    f"{hr} [{level} CI]",
                    "\u2013" if not np.isfinite(r["p_value"]) else f"{r['p_value']:.3g}",
                    "\u2013" if not np.isfinite(p_log_rank) else f"{p_log_rank:.3g}",
                )
            )
    return TableBlock(
        f"Comparison by {by}",
        ("Endpoint", "Groups", "Hazard ratio", "p (Wald)", "p (log-rank)"),
        tuple(rows),
        notes=(
            "Hazard ratios from a Cox model with the group as the only covariate (Efron "
            "ties), against the first group in sorted order; deaths competing with the "
            "endpoint censor follow-up (cause-specific hazards). Unadjusted: groups may "
            "differ at baseline (see Table 1).",
        ),
    )


def survival_section(
    results: EndpointResults | None,
    writer: FigureWriter,
    *,
    anchor_label: str,
    x_max: float,
    skipped: Sequence[str] = (),
    comparisons: Mapping[str, EndpointComparison] | None = None,
    by: str | None = None,
) -> SectionContent:
    """Curves with numbers at risk for every endpoint (time axes to ``x_max`` years), then the
    landmark table."""
    blocks: list[Block] = []
    if results is None or len(results) == 0:
        blocks.append(Notes("Not estimated", tuple(skipped) or ("No endpoint was estimated.",)))
        return SectionContent("survival", "Time-to-event endpoints", tuple(blocks))
    blocks.append(
        Paragraph(
            f"Time zero is each patient's first {anchor_label}. Each figure shows the "
            "estimate as a step function with its pointwise interval (shaded), censored "
            "patients as ticks and the landmark years as dotted lines; the numbers still "
            "followed are printed under the axis and tabulated below the figure."
        )
    )
    for name in results:
        estimate = results[name]
        with plot_context(f"km_{name}"):
            fig = km_figure(estimate, x_max, anchor_label)
        rendered = writer.save(fig, f"km_{name}")
        d = estimate.definition
        blocks.append(
            FigureBlock(
                rendered,
                f"{d.title or d.name}: {estimate.times.n} patients, "
                f"{estimate.times.n_events} events. {d.describe()}",
                _risk_table(estimate, x_max),
            )
        )
    blocks.append(_landmark_table(results))
    if comparisons:
        blocks.append(_comparison_table(comparisons, by or "group"))
    if skipped:
        blocks.append(Notes("Endpoints not estimated", tuple(skipped), tone="warning"))
    return SectionContent(
        "survival",
        "Time-to-event endpoints",
        tuple(blocks),
        f"{len(results)} endpoint(s) at {', '.join(f'{t:g}' for t in results.times_years)} years.",
    )
