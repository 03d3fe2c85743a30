"""Love plot of standardised mean differences and propensity overlap plot (matplotlib).

matplotlib is imported inside the functions; figures are built without pyplot (no window,
no global state) and, when a path is given, saved as SVG with text kept as text.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from msreboot.exceptions import MissingDependencyError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from msreboot.stats._balance import Balance, Overlap

__all__ = ["love_plot", "overlap_plot"]

_BEFORE = "#c0504d"
_AFTER = "#1f4e79"


def _figure(width: float, height: float) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - matplotlib is a core dependency
        raise MissingDependencyError(
            "plots need matplotlib; install it with `pip install matplotlib`."
        ) from exc
    return Figure(figsize=(width, height), layout="constrained")


def _save(fig: Figure, path: str | Path | None) -> None:
    if path is None:
        return
    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "msreboot"}):
        fig.savefig(Path(path), format="svg", metadata={"Date": None})


def love_plot(balance: Balance, path: str | Path | None = None) -> Figure:
    """Absolute standardised mean differences before and after adjustment, one row per term.

    Parameters
    ----------
    balance
        A :class:`Balance` from :func:`balance_table`.
    path
        Where to save the figure as SVG, or ``None`` not to save it.

    Returns
    -------
    matplotlib.figure.Figure
        Dots for each term (red: before, blue: after), a dashed line at the rule's
        threshold (0.1 by default).
    """
    n = len(balance.terms)
    fig = _figure(6.0, 1.2 + 0.28 * n)
    ax = fig.add_subplot()
    y = np.arange(n)[::-1]
    ax.scatter(np.abs(balance.smd_before), y, color=_BEFORE, label="before", zorder=3)
    if balance.adjusted:
        ax.scatter(np.abs(balance.smd_after), y, color=_AFTER, label="after", zorder=3)
    ax.axvline(balance.rule.max_abs_smd, color="#555555", linestyle="--", linewidth=0.8)
    ax.set_yticks(y, list(balance.terms))
    sd = "treated SD" if balance.estimand == "att" else "pooled SD"
    ax.set_xlabel(f"Absolute standardised mean difference ({sd})")
    ax.set_xlim(left=0)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.legend(loc="lower right", frameon=False)
    ax.set_title("Covariate balance")
    _save(fig, path)
    return fig


def overlap_plot(overlap: Overlap, path: str | Path | None = None, bins: int = 30) -> Figure:
    """Histograms of the propensity score by group, treated above and controls mirrored below.

    Parameters
    ----------
    overlap
        An :class:`Overlap` from :func:`propensity_overlap`.
    path
        Where to save the figure as SVG, or ``None`` not to save it.
    bins
        Number of bins over [0, 1].

    Returns
    -------
    matplotlib.figure.Figure
        Shares of each group per bin, with the common support shaded.
    """
    fig = _figure(6.0, 3.6)
    ax = fig.add_subplot()
    edges = np.linspace(0.0, 1.0, bins + 1)
    widths = np.diff(edges)
    for mask, sign, colour, label in (
        (overlap.treated, 1.0, _AFTER, "treated"),
        (~overlap.treated, -1.0, _BEFORE, "control"),
    ):
        counts, _ = np.histogram(overlap.scores[mask], bins=edges)
        share = counts / max(int(mask.sum()), 1)
        ax.bar(edges[:-1], sign * share, width=widths, align="edge", color=colour, label=label)
    ax.axvspan(overlap.support_low, overlap.support_high, color="#dddddd", alpha=0.4, zorder=0)
    ax.axhline(0.0, color="#555555", linewidth=0.6)
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("Propensity score")
    ax.set_ylabel("Share of group (controls below)")
    ax.legend(loc="upper right", frameon=False)
    ax.set_title("Propensity score overlap (shaded: common support)")
    _save(fig, path)
    return fig
