"""Forest plots and meta-regression bubble plots (matplotlib, imported on use)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from msreboot.evidence._checks import EvidenceError
from msreboot.evidence._effects import back_transform
from msreboot.evidence._meta import PooledEstimate
from msreboot.evidence._regression import MetaRegression
from msreboot.exceptions import MissingDependencyError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["bubble_plot", "forest_plot"]

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


def forest_plot(
    result: PooledEstimate,
    path: str | Path | None = None,
    *,
    title: str | None = None,
    xlabel: str | None = None,
) -> Figure:
    """Draw a forest plot of a pooled analysis.

    Parameters
    ----------
    result
        A :class:`PooledEstimate`.
    path
        Write the figure there (``.svg``, ``.png`` or ``.pdf``); ``None`` only returns it.
    title, xlabel
        Figure title and x-axis label (default: the natural scale of the measure).

    Returns
    -------
    matplotlib.figure.Figure
        Study rows (label, events/n, square sized by weight, CI whisker, estimate [CI],
        weight %), the pooled diamond, the prediction interval and a heterogeneity line;
        a log axis for ratio measures. Values are on the natural scale (proportions,
        ratios, rates). Text is kept as text in SVG output.

    Examples
    --------
    >>> from msreboot.evidence import pool_proportions
    >>> res = pool_proportions([0, 1, 8], [24, 151, 281], labels=["A", "B", "C"])
    >>> fig = forest_plot(res)
    >>> fig.axes[1].get_xlabel()
    'Proportion'
    """
    matplotlib, figure_cls = _matplotlib()
    ratio = result.is_ratio
    studies = result.study_frame()
    k = result.k
    ys = np.arange(k, 0, -1, dtype=float) + 2.0
    y_pool, y_pi = 1.5, 0.7
    conf = f"{100 * result.conf_level:g}% CI"
    with matplotlib.rc_context(_RC):
        fig: Figure = figure_cls(figsize=(10.0, 1.6 + 0.32 * (k + 4)))
        grid = fig.add_gridspec(1, 3, width_ratios=[3.2, 4.0, 3.0], wspace=0.02)
        left, ax, right = (fig.add_subplot(grid[0, i]) for i in range(3))
        for text_ax in (left, right):
            text_ax.set_axis_off()
        top = ys[0] + 1.2
        for a in (left, ax, right):
            a.set_ylim(-0.6, top)
        has_counts = result.events is not None and result.measure != "IRLN"
        left.text(0.0, top - 0.5, "Study", fontweight="bold", va="center")
        if has_counts:
            left.text(0.98, top - 0.5, "Events/n", fontweight="bold", va="center", ha="right")
        right.text(0.02, top - 0.5, f"Estimate [{conf}]", fontweight="bold", va="center")
        right.text(0.98, top - 0.5, "Weight", fontweight="bold", va="center", ha="right")
        est = studies["estimate_natural"].to_numpy()
        lo = studies["ci_low_natural"].to_numpy()
        hi = studies["ci_high_natural"].to_numpy()
        w = studies["weight"].to_numpy()
        for i, y in enumerate(ys):
            left.text(0.0, y, str(studies["label"].iloc[i]), va="center")
            if has_counts:
                left.text(
                    0.98,
                    y,
                    f"{studies['events'].iloc[i]:g}/{studies['total'].iloc[i]:g}",
                    va="center",
                    ha="right",
                )
            right.text(
                0.02,
                y,
                f"{_fmt(est[i], ratio)} [{_fmt(lo[i], ratio)}, {_fmt(hi[i], ratio)}]",
                va="center",
            )
            right.text(0.98, y, f"{100 * w[i]:.1f}%", va="center", ha="right")
        ax.hlines(ys, lo, hi, color="black", linewidth=1.0)
        sizes = 30.0 + 170.0 * w / max(float(np.max(w)), 1e-12)
        ax.scatter(est, ys, s=sizes, marker="s", color="#1f4e79", zorder=3)
        mu, clo, chi = result.estimate_natural, result.ci_low_natural, result.ci_high_natural
        diamond = np.array([[clo, y_pool], [mu, y_pool + 0.35], [chi, y_pool], [mu, y_pool - 0.35]])
        ax.add_patch(matplotlib.patches.Polygon(diamond, closed=True, color="#b22222", zorder=3))
        label = (
            "Common-effect model" if result.method == "FE" else f"Random-effects ({result.method})"
        )
        left.text(0.0, y_pool, label, va="center", fontweight="bold")
        right.text(
            0.02,
            y_pool,
            f"{_fmt(mu, ratio)} [{_fmt(clo, ratio)}, {_fmt(chi, ratio)}]",
            va="center",
            fontweight="bold",
        )
        right.text(0.98, y_pool, "100%", va="center", ha="right", fontweight="bold")
        if result.method != "FE" and result.k > 1:
            plo, phi = result.pi_low_natural, result.pi_high_natural
            ax.hlines([y_pi], [plo], [phi], color="#b22222", linewidth=1.2, linestyle="--")
            ax.vlines([plo, phi], y_pi - 0.15, y_pi + 0.15, color="#b22222", linewidth=1.2)
            left.text(0.0, y_pi, "Prediction interval", va="center", style="italic")
            right.text(0.02, y_pi, f"[{_fmt(plo, ratio)}, {_fmt(phi, ratio)}]", va="center")
        fig.text(0.01, 0.0, result.heterogeneity_text(), va="top", fontsize=8)
        null = 1.0 if ratio else (0.0 if result.measure == "GEN" else None)
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
        ax.set_xlabel(xlabel or _SCALE_LABEL.get(result.measure, "Effect"))
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
