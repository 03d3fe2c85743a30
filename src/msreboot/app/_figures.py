"""The dashboard's figures, drawn with matplotlib from results computed by the lower layers
(curves, events, balance): the dashboard only draws them."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from msreboot.endpoints import EndpointEstimate

__all__ = [
    "curve_figure",
    "figure_bytes",
    "forest_figure",
    "love_figure",
    "power_figure",
    "timeline_figure",
]

_COLOURS = ("#1b6ca8", "#d1495b", "#2e933c", "#edae49", "#66477a", "#00798c")


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def figure_bytes(figure: Figure, kind: str) -> bytes:
    """The figure as ``"svg"`` or ``"png"`` bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format=kind, dpi=150, bbox_inches="tight")
    return buffer.getvalue()


def curve_figure(estimates: Mapping[str, EndpointEstimate], x_max: float) -> Figure:
    """Kaplan-Meier or cumulative-incidence curves, one per group, with numbers at risk."""
    fig = _figure(8, 5.2)
    grid = fig.add_gridspec(2, 1, height_ratios=(4, 1.1))
    ax = fig.add_subplot(grid[0])
    table = fig.add_subplot(grid[1], sharex=ax)
    ticks = np.arange(0, np.floor(x_max) + 1, 1.0)
    first = next(iter(estimates.values()), None)
    for i, (label, est) in enumerate(estimates.items()):
        frame = est.curve.to_frame()
        x = frame.iloc[:, 0].to_numpy(dtype=float)
        column = "survival" if "survival" in frame else "estimate"
        y = frame[column].to_numpy(dtype=float)
        colour = _COLOURS[i % len(_COLOURS)]
        ax.step(
            np.r_[0.0, x],
            np.r_[1.0 if column == "survival" else 0.0, y],
            where="post",
            color=colour,
            label=f"{label} (n={len(est.times.patients)})",
        )
        at_risk = est.curve.at(ticks, extend=True).n_at_risk
        for t, n in zip(ticks, at_risk, strict=True):
            table.text(t, -i, str(int(n)), ha="center", va="center", color=colour, fontsize=8)
    what = "event-free" if first is None or first.measure == "event_free" else "incidence"
    ax.set_ylabel("Probability " + ("event-free" if what == "event-free" else "of the event"))
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, x_max)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    if first is not None:
        ax.set_title(first.definition.title or first.definition.name)
    table.set_ylim(-len(estimates) + 0.5, 0.5)
    table.set_yticks([])
    table.set_xlabel("Years from day 0")
    table.set_title("Number at risk", fontsize=8, loc="left")
    for side in ("top", "right", "left"):
        table.spines[side].set_visible(False)
    return fig


def timeline_figure(
    patient_id: str,
    tables: Mapping[str, pd.DataFrame],
    events: pd.DataFrame,
    *,
    show_dates: bool,
) -> Figure:
    """One patient's course: EDSS with detected events (baseline, event, confirmation),
    relapses, MRI activity, treatment courses with day 0, adverse events."""
    fig = _figure(9, 5.5)
    ax = fig.add_subplot(3, 1, (1, 2))
    lanes = fig.add_subplot(3, 1, 3, sharex=ax)

    def own(name: str) -> pd.DataFrame:
        frame = tables.get(name)
        if frame is None:
            return pd.DataFrame()
        return frame[frame["patient_id"] == patient_id]

    edss = own("edss").sort_values("date")
    ax.plot(edss["date"], edss["edss"], "o-", color="#333", label="EDSS", markersize=4)
    if not events.empty:
        happened = events[events["event"].fillna(False).astype(bool)]
        for _, row in happened.iterrows():
            ax.plot(row["date"], row["value"], "v", color="#d1495b", markersize=11)
            ax.annotate(
                str(row["event_type"]),
                (row["date"], row["value"]),
                textcoords="offset points",
                xytext=(0, 10),
                ha="center",
                fontsize=8,
            )
            if pd.notna(row.get("baseline_date")):
                ax.plot(
                    row["baseline_date"],
                    row["baseline_value"],
                    "s",
                    color="#1b6ca8",
                    markersize=8,
                    fillstyle="none",
                )
            for key in [k for k in row.index if str(k).startswith("confirmation_")]:
                if str(key).endswith("_date") and pd.notna(row[key]):
                    ax.plot(
                        row[key],
                        row[key.replace("_date", "_value")],
                        "D",
                        color="#2e933c",
                        markersize=7,
                        fillstyle="none",
                    )
    ax.plot([], [], "v", color="#d1495b", label="disability event")
    ax.plot([], [], "s", color="#1b6ca8", fillstyle="none", label="baseline")
    ax.plot([], [], "D", color="#2e933c", fillstyle="none", label="confirmation")
    ax.set_ylabel("EDSS")
    ax.set_ylim(-0.2, 10.2)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=7, ncol=4)
    ax.set_title(f"Patient {patient_id}")
    treatments = own("treatments")
    for i, (_, row) in enumerate(treatments.iterrows()):
        start = row["start_date"]
        end = row["end_date"] if pd.notna(row.get("end_date")) else start
        colour = "#d1495b" if row["kind"] == "ahsct" else "#66477a"
        lanes.plot([start, end], [3, 3], lw=6, color=colour, solid_capstyle="butt")
        lanes.annotate(
            str(row["kind"] if pd.isna(row.get("drug")) else row["drug"]),
            (start, 3),
            xytext=(0, 6 + 6 * (i % 2)),
            textcoords="offset points",
            fontsize=7,
        )
        if row["kind"] == "ahsct":
            ax.axvline(start, color="#d1495b", ls="--", lw=1)
            ax.annotate("day 0", (start, 9.6), fontsize=8, color="#d1495b")
    relapses = own("relapses")
    lanes.plot(
        relapses.get("onset_date", []),
        [2] * len(relapses),
        "|",
        color="#edae49",
        markersize=14,
        mew=2,
    )
    mri = own("mri")
    if not mri.empty:
        active = mri[(mri["gd_lesions"].fillna(0) > 0) | (mri["new_t2_lesions"].fillna(0) > 0)]
        quiet = mri.drop(active.index)
        lanes.plot(quiet["date"], [1] * len(quiet), "o", color="#999", markersize=4)
        lanes.plot(active["date"], [1] * len(active), "o", color="#00798c", markersize=7)
    aes = own("adverse_events")
    lanes.plot(aes.get("onset_date", []), [0] * len(aes), "x", color="#b00", markersize=7)
    lanes.set_yticks(
        [0, 1, 2, 3],
        ["adverse events", "MRI (filled: active)", "relapses", "treatments"],
        fontsize=8,
    )
    lanes.set_ylim(-0.7, 3.9)
    lanes.grid(alpha=0.3, axis="x")
    if not show_dates:
        lanes.set_xticklabels([])
    return fig


def love_figure(balance: pd.DataFrame) -> Figure:
    """Standardised mean differences before and after adjustment (a love plot)."""
    fig = _figure(7, max(3.0, 0.32 * len(balance) + 1.2))
    ax = fig.add_subplot()
    y = np.arange(len(balance))[::-1]
    ax.plot(balance["smd_before"].abs(), y, "o", color="#d1495b", label="before")
    ax.plot(balance["smd_after"].abs(), y, "o", color="#1b6ca8", label="after")
    ax.axvline(0.1, color="#999", ls="--", lw=1)
    ax.set_yticks(y, balance["term"].astype(str).tolist(), fontsize=8)
    ax.set_xlabel("Absolute standardised mean difference")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="x")
    return fig


def forest_figure(pooled: pd.DataFrame, cohort: Any) -> Figure:
    """A forest plot drawn from a pool's rows (:meth:`PooledEstimate.to_frame`: studies and
    the pooled estimate, natural scale) with the cohort's estimate as its own row."""
    fig = _figure(8, 1.6 + 0.4 * (len(pooled) + 1))
    ax = fig.add_subplot()
    rows = [
        (
            str(r["label"]),
            r["estimate_natural"],
            r["ci_low_natural"],
            r["ci_high_natural"],
            str(r["row_type"]),
        )
        for _, r in pooled.iterrows()
    ]
    rows.append(
        (
            f"This cohort ({cohort.events}/{cohort.n})",
            cohort.estimate,
            cohort.ci_low,
            cohort.ci_high,
            "cohort",
        )
    )
    for i, (_, est, lo, hi, kind) in enumerate(rows):
        y = len(rows) - 1 - i
        colour = {"study": "#333", "cohort": "#2e933c"}.get(kind, "#1b6ca8")
        marker = {"study": "s", "cohort": "o"}.get(kind, "D")
        ax.plot([lo, hi], [y, y], color=colour, lw=1.5)
        ax.plot([est], [y], marker, color=colour, markersize=8)
        ax.annotate(
            f"{est:.3f} [{lo:.3f}, {hi:.3f}]",
            (1.0, y),
            xycoords=("axes fraction", "data"),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set_yticks(range(len(rows))[::-1], [r[0] for r in rows], fontsize=8)
    ax.set_xlabel("Proportion (natural scale)")
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.grid(alpha=0.3, axis="x")
    fig.subplots_adjust(left=0.3, right=0.78)
    return fig


def power_figure(table: pd.DataFrame) -> Figure:
    """The power curve of a sample-size search (:func:`msreboot.trials.sample_size`): the
    power of every size tried with its Clopper-Pearson interval, the fitted logistic
    curve through them, the target, and the fitted size with its interval."""
    fig = _figure(7.5, 4.8)
    ax = fig.add_subplot()
    frame = table.sort_values("n_per_arm")
    n = frame["n_per_arm"].to_numpy(dtype=float)
    power = frame["power"].to_numpy(dtype=float)
    low = frame["power_low"].to_numpy(dtype=float)
    high = frame["power_high"].to_numpy(dtype=float)
    attrs = table.attrs
    level = 100 * float(attrs.get("conf_level", 0.95))
    ax.errorbar(
        n,
        power,
        yerr=np.vstack([power - low, high - power]),
        fmt="o",
        color=_COLOURS[0],
        capsize=3,
        label=f"simulated power ({level:g}% Clopper-Pearson)",
    )
    ax.plot(
        n, frame["power_fitted"], color=_COLOURS[1], label="fitted: logit(power) = a + b sqrt(n)"
    )
    target = float(attrs.get("target_power", float("nan")))
    if np.isfinite(target):
        ax.axhline(target, color="grey", linestyle=":", label=f"target {target:g}")
    fitted = float(attrs.get("n_per_arm_fitted", float("nan")))
    if np.isfinite(fitted):
        span = (float(attrs["n_per_arm_low"]), float(attrs["n_per_arm_high"]))
        ax.axvspan(*span, color=_COLOURS[1], alpha=0.12, label=f"fitted size, {level:g}% CI")
        ax.axvline(fitted, color=_COLOURS[1], linestyle="--")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("Patients per arm")
    ax.set_ylabel("Power")
    ax.set_title(
        f"Power: {attrs.get('method', '')}, {attrs.get('replicates', '')} replicates per size"
    )
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    return fig
