"""Contour-enhanced funnel plots (matplotlib, imported on use)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from msreboot.evidence._checks import EvidenceError
from msreboot.evidence._pooled import PooledEstimate
from msreboot.exceptions import MissingDependencyError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from msreboot.evidence._bias import TrimAndFill

__all__ = ["funnel_plot", "new_figure", "save_figure"]

_RC: Any = {"svg.fonttype": "none", "font.size": 9.0}
_SHADES = ("#f0f0f0", "#c8c8c8", "#a0a0a0", "#787878")


def new_figure(size: tuple[float, float]) -> tuple[Figure, Axes]:
    """A matplotlib figure and axes without pyplot (no global state)."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - matplotlib is a core dependency
        raise MissingDependencyError(
            "plotting needs matplotlib; install it with `pip install matplotlib`."
        ) from exc
    fig = Figure(figsize=size)
    return fig, fig.add_subplot()


def save_figure(fig: Figure, path: str | Path | None) -> Figure:
    """Write ``fig`` to ``path`` (format from the suffix) unless ``path`` is None."""
    if path is not None:
        import matplotlib

        target = Path(path)
        if target.suffix.lower() not in (".svg", ".png", ".pdf"):
            raise EvidenceError(
                f"path must end in .svg, .png or .pdf; got {target.name!r}. "
                "Choose the format with the file extension."
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        with matplotlib.rc_context(_RC):
            fig.savefig(target, bbox_inches="tight", dpi=200)
    return fig


def funnel_plot(
    result: PooledEstimate | TrimAndFill,
    path: str | Path | None = None,
    *,
    contours: Sequence[float] = (0.90, 0.95, 0.99),
    reference: float = 0.0,
    title: str | None = None,
    xlabel: str | None = None,
) -> Figure:
    """Contour-enhanced funnel plot: study effects against their standard errors.

    Parameters
    ----------
    result
        A pool, or a :class:`TrimAndFill` (filled studies drawn as open circles and the
        adjusted estimate as a dashed line).
    path
        Where to write the figure (``.svg``, ``.png`` or ``.pdf``); ``None`` only returns it.
    contours
        Confidence levels whose two-sided significance regions around ``reference`` are
        shaded (Peters et al. 2008): a study in the darkest band is significant at the
        highest level. Empty for a plain funnel plot.
    reference
        The null effect on the analysis scale (0 for log ratios and differences).
    title, xlabel
        Figure title and x-axis label (default: the measure on its analysis scale).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    The y axis is the standard error, inverted (precise studies at the top). The pooled
    estimate is drawn with the pseudo-confidence region ``mu +/- z sqrt(v)`` at the pool's
    confidence level. Asymmetry can have causes other than publication bias (Sterne et al.
    2011).

    References
    ----------
    Peters JL, Sutton AJ, Jones DR, Abrams KR, Rushton L. Contour-enhanced meta-analysis
    funnel plots help distinguish publication bias from other causes of asymmetry.
    J Clin Epidemiol 2008;61:991-6. doi:10.1016/j.jclinepi.2007.11.010.
    """
    from msreboot.evidence._bias import TrimAndFill

    if isinstance(result, TrimAndFill):
        tf: TrimAndFill | None = result
        pooled = result.pooled
        observed = result.original
    else:
        tf, pooled, observed = None, result, result
    levels = sorted(float(c) for c in contours)
    if any(not 0 < c < 1 for c in levels) or len(levels) > len(_SHADES):
        raise EvidenceError(
            f"contours must be at most {len(_SHADES)} levels in (0, 1); got "
            f"{list(contours)!r}. The default is (0.90, 0.95, 0.99)."
        )
    import matplotlib

    y = np.asarray(observed.yi)
    se = np.sqrt(np.asarray(observed.vi))
    se_all = se if tf is None else np.concatenate([se, np.sqrt(tf.filled_vi)])
    top = float(np.max(se_all)) * 1.08
    grid = np.array([0.0, top])
    with matplotlib.rc_context(_RC):
        fig, ax = new_figure((5.5, 4.5))
        if levels:
            # darkest outside the highest level, lighter bands inward, white where p > alpha
            rev = levels[::-1]
            alphas = [1 - c for c in rev]
            shades = _SHADES[len(_SHADES) - len(rev) :][::-1]
            widest = 1e6  # the darkest band reaches the edge of the axes
            handles: list[Any] = [
                ax.fill_betweenx(
                    grid, reference - widest * grid, reference + widest * grid, color=shades[0]
                )
            ]
            labels = [f"p < {alphas[0]:.2f}"]
            for j, level in enumerate(rev):
                z = float(stats.norm.ppf(0.5 + level / 2))
                colour = shades[j + 1] if j + 1 < len(rev) else "white"
                patch = ax.fill_betweenx(
                    grid, reference - z * grid, reference + z * grid, color=colour
                )
                if j + 1 < len(rev):
                    handles.append(patch)
                    labels.append(f"{alphas[j]:.2f} < p < {alphas[j + 1]:.2f}")
            ax.legend(handles, labels, loc="lower right", fontsize=7, frameon=True)
        crit = float(stats.norm.ppf(0.5 + pooled.conf_level / 2))
        mu = observed.estimate
        ax.plot([mu - crit * top, mu, mu + crit * top], [top, 0, top], color="black", lw=0.7)
        ax.axvline(mu, color="black", lw=0.9)
        ax.scatter(y, se, s=20, color="black", zorder=3, label="studies")
        if tf is not None and tf.k0:
            ax.scatter(
                tf.filled_yi,
                np.sqrt(tf.filled_vi),
                s=20,
                facecolor="white",
                edgecolor="black",
                zorder=3,
            )
            ax.axvline(pooled.estimate, color="black", lw=0.9, ls="--")
        effects = y if tf is None else np.concatenate([y, np.asarray(tf.filled_yi)])
        lo = min(float(np.min(effects)), mu - crit * top, reference)
        hi = max(float(np.max(effects)), mu + crit * top, reference)
        pad = 0.08 * (hi - lo) if hi > lo else 1.0
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(top, 0)
        ax.set_ylabel("Standard error")
        ax.set_xlabel(xlabel or f"Effect ({observed.measure}, analysis scale)")
        ax.set_title(title or f"Funnel plot ({observed.method}, k = {len(y)})")
    return save_figure(fig, path)
