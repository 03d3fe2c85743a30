"""Forest plots and meta-regression bubble plots (matplotlib, imported on use)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from msreboot.evidence._checks import EvidenceError
from msreboot.evidence._effects import back_transform
from msreboot.evidence._meta import PooledEstimate
from msreboot.evidence._regression import MetaRegression
from msreboot.evidence._sensitivity import SubgroupAnalysis
from msreboot.exceptions import MissingDependencyError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["CohortRow", "bubble_plot", "forest_plot"]

_RC = {"svg.fonttype": "none", "font.size": 9.0}
_SCALE_LABEL = {
    "PLO": "Proportion",
    "PR": "Proportion",
    "PFT": "Proportion",
    "IRLN": "Rate per unit of person-time",
    "RR": "Risk ratio",
    "OR": "Odds ratio",
    "HR": "Hazard ratio",
    "IRR": "Rate ratio",
    "RoM": "Ratio of means",
    "RD": "Risk difference",
    "MD": "Mean difference",
    "SMD": "Standardised mean difference",
    "GEN": "Effect",
}


def _matplotlib() -> Any:
    try:
        import matplotlib
        import matplotlib.patches
        import matplotlib.ticker
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - matplotlib is a core dependency
        raise MissingDependencyError(
            "plotting needs matplotlib; install it with `pip install matplotlib`."
        ) from exc
    return matplotlib, Figure


def _fmt(value: float, ratio: bool) -> str:
    if not np.isfinite(value):
        return "NA"
    return f"{value:.2f}" if ratio or abs(value) >= 1 else f"{value:.3f}"


def _save(fig: Figure, path: str | Path | None) -> None:
    if path is None:
        return
    target = Path(path)
    if target.suffix.lower() not in (".svg", ".png", ".pdf"):
        raise EvidenceError(
            f"path must end in .svg, .png or .pdf; got {target.name!r}. "
            "Choose the format with the file extension."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, bbox_inches="tight", dpi=200)


@dataclass(frozen=True)
class CohortRow:
    """A cohort's own estimate, drawn as a separate row of a forest plot (natural scale)."""

    label: str
    estimate: float
    ci_low: float
    ci_high: float
    counts: str = ""


@dataclass(frozen=True)
class _Row:
    """One line of a forest plot (internal)."""

    kind: str  # "header", "study", "diamond", "pi", "text", "cohort"
    label: str
    counts: str = ""
    est: float = float("nan")
    lo: float = float("nan")
    hi: float = float("nan")
    weight: float = float("nan")


def _pool_rows(result: PooledEstimate, name: str, *, with_pi: bool) -> list[_Row]:
    rows: list[_Row] = []
    studies = result.study_frame()
    has_counts = result.events is not None and result.measure != "IRLN"
    for rec in studies.to_dict("records"):
        counts = f"{rec['events']:g}/{rec['total']:g}" if has_counts else ""
        rows.append(
            _Row(
                "study",
                str(rec["label"]),
                counts,
                float(rec["estimate_natural"]),
                float(rec["ci_low_natural"]),
                float(rec["ci_high_natural"]),
                float(rec["weight"]),
            )
        )
    rows.append(
        _Row(
            "diamond",
            name,
            "",
            result.estimate_natural,
            result.ci_low_natural,
            result.ci_high_natural,
            1.0,
        )
    )
    if with_pi and result.method not in ("FE", "MH", "PETO") and result.k > 1:
        rows.append(
            _Row(
                "pi",
                "Prediction interval",
                "",
                float("nan"),
                result.pi_low_natural,
                result.pi_high_natural,
            )
        )
    return rows


def forest_plot(
    result: PooledEstimate | SubgroupAnalysis,
    path: str | Path | None = None,
    *,
    title: str | None = None,
    xlabel: str | None = None,
    cohorts: Sequence[CohortRow] = (),
) -> Figure:
    """Draw a forest plot of a pooled analysis or of a subgroup analysis.

    Parameters
    ----------
    result
        A :class:`PooledEstimate`, or a :class:`SubgroupAnalysis` (studies grouped under
        their subgroup with a subtotal diamond each, then the overall pool and the test for
        subgroup differences).
    path
        Write the figure there (``.svg``, ``.png`` or ``.pdf``); ``None`` only returns it.
    title, xlabel
        Figure title and x-axis label (default: the natural scale of the measure).
    cohorts
        Estimates of the user's own (or a virtual) cohort, drawn below the pool as their
        own rows (green circles), outside the pool: they carry no weight.

    Returns
    -------
    matplotlib.figure.Figure
        Study rows (label, events/n, square sized by weight, CI whisker, estimate [CI],
        weight %), the pooled diamond, the prediction interval and a heterogeneity line;
        a log axis for ratio measures. Values are on the natural scale (proportions,
        ratios, rates). Weights are within the pool the study belongs to. Text is kept as
        text in SVG output.

    Examples
    --------
    >>> from msreboot.evidence import pool_proportions
    >>> res = pool_proportions([0, 1, 8], [24, 151, 281], labels=["A", "B", "C"])
    >>> fig = forest_plot(res)
    >>> fig.axes[1].get_xlabel()
    'Proportion'
    """
    matplotlib, figure_cls = _matplotlib()
    overall = result.overall if isinstance(result, SubgroupAnalysis) else result
    model = (
        "Common-effect model" if overall.method == "FE" else f"Random-effects ({overall.method})"
    )
    footer = [overall.heterogeneity_text()]
    rows: list[_Row] = []
    if isinstance(result, SubgroupAnalysis):
        for name, sub in zip(result.groups, result.pools, strict=True):
            rows.append(_Row("header", name))
            rows += _pool_rows(
                sub, f"Subtotal (k = {sub.k}, I\u00b2 = {100 * sub.i2:.0f}%)", with_pi=False
            )
            rows.append(_Row("text", ""))
        rows += [r for r in _pool_rows(overall, model, with_pi=True) if r.kind != "study"]
        footer.append(
            f"Test for subgroup differences: Q = {result.q_between:.2f}, "
            f"df = {result.q_between_df}, p = {result.q_between_pvalue:.4g}"
        )
    else:
        rows = _pool_rows(overall, model, with_pi=True)
        rows.insert(len(rows) - (2 if rows[-1].kind == "pi" else 1), _Row("text", ""))
    if cohorts:
        rows.append(_Row("text", ""))
        rows += [
            _Row("cohort", c.label, c.counts, c.estimate, c.ci_low, c.ci_high) for c in cohorts
        ]
    ratio = overall.is_ratio
    conf = f"{100 * overall.conf_level:g}% CI"
    n_rows = len(rows)
    ys = np.arange(n_rows, 0, -1, dtype=float)
    has_counts = any(r.counts for r in rows)
    with matplotlib.rc_context(_RC):
        fig: Figure = figure_cls(figsize=(10.0, 1.4 + 0.32 * (n_rows + 2)))
        grid = fig.add_gridspec(1, 3, width_ratios=[3.2, 4.0, 3.0], wspace=0.02)
        left, ax, right = (fig.add_subplot(grid[0, i]) for i in range(3))
        for text_ax in (left, right):
            text_ax.set_axis_off()
        top = n_rows + 1.2
        for a in (left, ax, right):
            a.set_ylim(0.3, top)
        left.text(0.0, top - 0.5, "Study", fontweight="bold", va="center")
        if has_counts:
            left.text(0.98, top - 0.5, "Events/n", fontweight="bold", va="center", ha="right")
        right.text(0.02, top - 0.5, f"Estimate [{conf}]", fontweight="bold", va="center")
        right.text(0.98, top - 0.5, "Weight", fontweight="bold", va="center", ha="right")
        studies = [(y, r) for y, r in zip(ys, rows, strict=True) if r.kind == "study"]
        max_w = max([r.weight for _, r in studies] + [1e-12])
        for y, row in zip(ys, rows, strict=True):
            interval = f"[{_fmt(row.lo, ratio)}, {_fmt(row.hi, ratio)}]"
            if row.kind == "header":
                left.text(0.0, y, row.label, va="center", fontweight="bold", style="italic")
            elif row.kind == "study":
                left.text(0.0, y, row.label, va="center")
                left.text(0.98, y, row.counts, va="center", ha="right")
                right.text(0.02, y, f"{_fmt(row.est, ratio)} {interval}", va="center")
                right.text(0.98, y, f"{100 * row.weight:.1f}%", va="center", ha="right")
                ax.hlines([y], [row.lo], [row.hi], color="black", linewidth=1.0)
                size = 30.0 + 170.0 * row.weight / max_w
                ax.scatter([row.est], [y], s=[size], marker="s", color="#1f4e79", zorder=3)
            elif row.kind == "diamond":
                poly = np.array(
                    [[row.lo, y], [row.est, y + 0.35], [row.hi, y], [row.est, y - 0.35]]
                )
                ax.add_patch(
                    matplotlib.patches.Polygon(poly, closed=True, color="#b22222", zorder=3)
                )
                left.text(0.0, y, row.label, va="center", fontweight="bold")
                right.text(
                    0.02, y, f"{_fmt(row.est, ratio)} {interval}", va="center", fontweight="bold"
                )
                right.text(0.98, y, "100%", va="center", ha="right", fontweight="bold")
            elif row.kind == "cohort":
                left.text(0.0, y, row.label, va="center", fontweight="bold", color="#2e7d32")
                left.text(0.98, y, row.counts, va="center", ha="right")
                right.text(0.02, y, f"{_fmt(row.est, ratio)} {interval}", va="center")
                ax.hlines([y], [row.lo], [row.hi], color="#2e7d32", linewidth=1.4)
                ax.scatter([row.est], [y], s=[60.0], marker="o", color="#2e7d32", zorder=3)
            elif row.kind == "pi":
                ax.hlines([y], [row.lo], [row.hi], color="#b22222", linewidth=1.2, linestyle="--")
                ax.vlines([row.lo, row.hi], y - 0.15, y + 0.15, color="#b22222", linewidth=1.2)
                left.text(0.0, y, row.label, va="center", style="italic")
                right.text(0.02, y, interval, va="center")
        fig.text(0.01, 0.0, "\n".join(footer), va="top", fontsize=8)
        null = 1.0 if ratio else (0.0 if overall.measure == "GEN" else None)
        if null is not None:
            ax.axvline(null, color="grey", linewidth=0.8, linestyle=":")
        if ratio:
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_yticks([])
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
        ax.set_xlabel(xlabel or _SCALE_LABEL.get(overall.measure, "Effect"))
        if title:
            fig.suptitle(title, fontweight="bold")
        _save(fig, path)
    return fig


def bubble_plot(
    regression: MetaRegression,
    moderator: str | None = None,
    path: str | Path | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """Draw a meta-regression bubble plot: study effects against one moderator.

    Bubbles have areas proportional to the random-effects weights ``1 / (v_i + tau^2)``;
    the line is the fitted mean (other moderators at their mean) with its confidence band.
    Proportions and ratios are shown on their natural scale (log axis for ratios).

    Parameters
    ----------
    regression
        A :class:`MetaRegression`.
    moderator
        Term to put on the x-axis (default: the first non-intercept term).
    path
        Write the figure there (``.svg``, ``.png`` or ``.pdf``).
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    matplotlib, figure_cls = _matplotlib()
    terms = list(regression.terms)
    name = moderator if moderator is not None else terms[1]
    if name not in terms[1:]:
        raise EvidenceError(f"moderator must be one of {', '.join(terms[1:])}; got {name!r}.")
    j = terms.index(name)
    design = np.asarray(regression.design)
    x = design[:, j]
    yi = np.asarray(regression.yi)
    weights = 1.0 / (np.asarray(regression.vi) + regression.tau2)
    grid = np.linspace(float(np.min(x)), float(np.max(x)), 100)
    rows = np.tile(design.mean(axis=0), (grid.size, 1))
    rows[:, j] = grid
    fit = regression.predict(rows)
    measure = regression.measure
    natural = measure in ("PLO",) or measure in ("RR", "OR", "HR", "IRR", "RoM", "IRLN")
    to_nat = back_transform(measure) if natural else (lambda t: t)
    with matplotlib.rc_context(_RC):
        fig: Figure = figure_cls(figsize=(6.0, 4.5))
        ax = fig.add_subplot(1, 1, 1)
        sizes = 20.0 + 400.0 * weights / float(np.max(weights))
        ax.scatter(x, to_nat(yi), s=sizes, alpha=0.55, color="#1f4e79", edgecolor="black")
        ax.plot(grid, to_nat(fit["fit"].to_numpy()), color="#b22222")
        ax.fill_between(
            grid,
            to_nat(fit["ci_low"].to_numpy()),
            to_nat(fit["ci_high"].to_numpy()),
            color="#b22222",
            alpha=0.15,
            linewidth=0,
        )
        for xi, yv, label in zip(x, to_nat(yi), regression.labels, strict=True):
            ax.annotate(label, (xi, yv), fontsize=7, xytext=(4, 4), textcoords="offset points")
        if measure in ("RR", "OR", "HR", "IRR", "RoM", "IRLN"):
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
            ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(name)
        ax.set_ylabel(_SCALE_LABEL.get(measure, "Effect") if natural else "Effect")
        slope = regression.coef[j]
        ax.set_title(
            title
            or f"{name}: slope {slope:.3g} (p = {regression.pvalue[j]:.3g}), "
            f"R\u00b2 = {100 * regression.r2:.0f}%"
            if np.isfinite(regression.r2)
            else title or f"{name}: slope {slope:.3g} (p = {regression.pvalue[j]:.3g})",
            fontsize=9,
        )
        _save(fig, path)
    return fig
