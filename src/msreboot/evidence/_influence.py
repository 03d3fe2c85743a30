"""Influence diagnostics of a pooled analysis (leave-one-out based) and the Baujat plot."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from msreboot.evidence._checks import EvidenceError
from msreboot.evidence._meta import _fit
from msreboot.evidence._pooled import PooledEstimate
from msreboot.evidence._regression import inverse_variance_method
from msreboot.evidence._tau2 import wls

__all__ = ["InfluenceDiagnostics", "baujat_plot", "influence_diagnostics"]


@dataclass(frozen=True)
class InfluenceDiagnostics:
    """Case-deletion diagnostics of each study in a pool (metafor's ``influence.rma.uni``).

    Every field except ``labels`` and ``method`` has one value per study.

    Attributes
    ----------
    rstudent
        Studentised deleted residual ``(y_i - mu_(-i)) / sqrt(v_i + tau2_(-i) + Var mu_(-i))``.
    dffits
        ``(mu - mu_(-i)) / sqrt(h_i (tau2_(-i) + v_i))``.
    cook_d
        Cook's distance ``(mu - mu_(-i))^2 / Var(mu)``.
    cov_r
        Covariance ratio ``Var(mu_(-i)) / Var(mu)`` (below 1: the study's removal makes
        the estimate more precise).
    tau2_deleted, qe_deleted
        tau^2 and Cochran's Q without the study.
    hat, weight
        Leverage ``w_i / sum w`` and the study's weight (fraction).
    dfbetas
        ``(mu - mu_(-i)) sqrt(sum_j 1 / (v_j + tau2_(-i)))``: the change scaled by the SE
        of the pool of all studies at the deleted tau^2.
    influential
        metafor's rule: ``|dffits| > 3 sqrt(p / (k - p))``, or the chi-square(p) lower
        tail at ``cook_d`` above 0.5, or ``hat > 3 p / k``, or ``|dfbetas| > 1`` (p = 1).
    baujat_x, baujat_y
        Baujat coordinates: contribution to heterogeneity, ``(y_i - mu)^2 / (v_i + tau2)``
        (Cochran's Q contribution for a common-effect pool), and influence on the pooled
        estimate, ``(mu - mu_(-i))^2 / Var(mu_(-i))`` with the model refitted.
    """

    labels: tuple[str, ...]
    method: str
    rstudent: tuple[float, ...] = field(repr=False)
    dffits: tuple[float, ...] = field(repr=False)
    cook_d: tuple[float, ...] = field(repr=False)
    cov_r: tuple[float, ...] = field(repr=False)
    tau2_deleted: tuple[float, ...] = field(repr=False)
    qe_deleted: tuple[float, ...] = field(repr=False)
    hat: tuple[float, ...] = field(repr=False)
    weight: tuple[float, ...] = field(repr=False)
    dfbetas: tuple[float, ...] = field(repr=False)
    influential: tuple[bool, ...] = field(repr=False)
    baujat_x: tuple[float, ...] = field(repr=False)
    baujat_y: tuple[float, ...] = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per study with every diagnostic."""
        names = [f for f in self.__dataclass_fields__ if f not in ("labels", "method")]
        frame = pd.DataFrame({n: list(getattr(self, n)) for n in names})
        frame.insert(0, "label", list(self.labels))
        return frame

    def summary(self) -> str:
        """The table, with influential studies marked ``*``."""
        frame = self.to_frame()
        frame["influential"] = np.where(frame["influential"], "*", "")
        cols = ["label", "rstudent", "dffits", "cook_d", "cov_r", "tau2_deleted", "hat"]
        return f"Influence diagnostics ({self.method})\n" + frame[[*cols, "influential"]].to_string(
            index=False, float_format=lambda v: f"{v:.4f}"
        )

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"


def influence_diagnostics(result: PooledEstimate) -> InfluenceDiagnostics:
    """Leave-one-out influence diagnostics of every study in a pool.

    Parameters
    ----------
    result
        A pool; each study is removed in turn and the rest refitted with the same tau^2
        estimator and test (Mantel-Haenszel and Peto pools by a common-effect model).

    Returns
    -------
    InfluenceDiagnostics

    Raises
    ------
    EvidenceError
        Fewer than 3 studies.

    Notes
    -----
    Formulas as in :class:`InfluenceDiagnostics`, from Viechtbauer & Cheung (2010). With
    Hartung-Knapp (``test="knha"``) every deleted fit's variance is its Hartung-Knapp
    one, and the residual variances in ``rstudent``, ``dffits`` and ``dfbetas`` are
    scaled by that fit's factor ``sum w e^2 / (k - 2)``, as metafor does. Matched to
    metafor's ``influence.rma.uni`` and ``baujat`` (1e-6) on dat.hackshaw1998 and dat.bcg
    with FE, DL and REML pools, and REML with Hartung-Knapp.

    References
    ----------
    Viechtbauer W, Cheung MWL. Outlier and influence diagnostics for meta-analysis.
    Res Synth Methods 2010;1:112-25. doi:10.1002/jrsm.11.
    Baujat B, Mahe C, Pignon JP, Hill C. A graphical method for exploring heterogeneity in
    meta-analyses. Stat Med 2002;21:2641-52. doi:10.1002/sim.1221.

    Examples
    --------
    >>> from msreboot.evidence import pool
    >>> res = pool([0.1, 0.2, 0.15, 1.4, 0.12], [0.01, 0.02, 0.015, 0.02, 0.01], method="DL")
    >>> inf = influence_diagnostics(res)
    >>> inf.influential[3]
    True
    """
    y = np.asarray(result.yi)
    v = np.asarray(result.vi)
    k = y.size
    if k < 3:
        raise EvidenceError(f"influence diagnostics need at least 3 studies; got k={k}.")
    method = inverse_variance_method(result)
    full = _refit(result, np.ones(k, dtype=bool), method)
    x1 = np.ones((k, 1))
    tau2 = full.tau2
    w = 1.0 / (v + tau2)
    hat = w / np.sum(w)
    var_full = full.se**2
    hk = result.test == "knha"
    out: dict[str, list[float]] = {
        n: [] for n in ("rs", "dffits", "cook", "covr", "tau2", "qe", "dfb", "by")
    }
    for i in range(k):
        mask = np.ones(k, dtype=bool)
        mask[i] = False
        dele = _refit(result, mask, method)
        var_del = dele.se**2
        # Hartung-Knapp: the deleted fit's variance factor scales every variance (1 for z)
        factor = var_del * float(np.sum(1.0 / (v[mask] + dele.tau2))) if hk else 1.0
        diff = full.estimate - dele.estimate
        resid_var = factor * (v[i] + dele.tau2) + var_del
        out["rs"].append((y[i] - dele.estimate) / np.sqrt(resid_var))
        out["dffits"].append(diff / np.sqrt(factor * hat[i] * (dele.tau2 + v[i])))
        out["cook"].append(diff**2 / var_full)
        out["covr"].append(var_del / var_full)
        out["tau2"].append(dele.tau2)
        out["qe"].append(wls(y[mask], v[mask], x1[mask], 0.0).q)
        out["dfb"].append(diff * np.sqrt(np.sum(1.0 / (v + dele.tau2)) / factor))
        out["by"].append(diff**2 / var_del)
    dffits = np.asarray(out["dffits"])
    cook = np.asarray(out["cook"])
    dfb = np.asarray(out["dfb"])
    influential = (
        (np.abs(dffits) > 3 * np.sqrt(1 / (k - 1)))
        | (stats.chi2.cdf(cook, 1) > 0.5)
        | (hat > 3 / k)
        | (np.abs(dfb) > 1)
    )

    def tup(values: list[float] | np.ndarray) -> tuple[float, ...]:
        return tuple(float(t) for t in values)

    return InfluenceDiagnostics(
        labels=result.labels,
        method=method,
        rstudent=tup(out["rs"]),
        dffits=tup(dffits),
        cook_d=tup(cook),
        cov_r=tup(out["covr"]),
        tau2_deleted=tup(out["tau2"]),
        qe_deleted=tup(out["qe"]),
        hat=tup(hat),
        weight=tup(hat),
        dfbetas=tup(dfb),
        influential=tuple(bool(t) for t in influential),
        baujat_x=tup((y - full.estimate) ** 2 / (v + tau2)),
        baujat_y=tup(out["by"]),
    )


def _refit(result: PooledEstimate, mask: np.ndarray, method: str) -> PooledEstimate:
    idx = np.flatnonzero(mask)
    return _fit(
        np.asarray(result.yi)[idx],
        np.asarray(result.vi)[idx],
        method=method,  # type: ignore[arg-type]
        test=result.test,  # type: ignore[arg-type]
        conf_level=result.conf_level,
        measure="GEN",
        labels=tuple(result.labels[i] for i in idx),
        warn=False,
    )


def baujat_plot(
    diagnostics: InfluenceDiagnostics | PooledEstimate,
    path: str | Path | None = None,
    *,
    title: str | None = None,
    annotate: bool = True,
) -> object:
    """Baujat plot: each study's contribution to Q against its influence on the estimate.

    Parameters
    ----------
    diagnostics
        :class:`InfluenceDiagnostics`, or a pool to compute them from.
    path
        Where to write the figure (format from the suffix, e.g. ``.svg``); ``None`` returns
        it without writing.
    title
        Figure title.
    annotate
        Label each point with its study label.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Studies at the top right both add much heterogeneity and move the pooled estimate.
    """
    from msreboot.evidence._funnel import new_figure, save_figure

    if isinstance(diagnostics, PooledEstimate):
        diagnostics = influence_diagnostics(diagnostics)
    fig, ax = new_figure((5.5, 4.5))
    x = np.asarray(diagnostics.baujat_x)
    y_ = np.asarray(diagnostics.baujat_y)
    ax.scatter(x, y_, s=22, color="#1f4e79", edgecolor="black", linewidth=0.5)
    if annotate:
        for label, xi, yi in zip(diagnostics.labels, x, y_, strict=True):
            ax.annotate(label, (xi, yi), textcoords="offset points", xytext=(4, 3), fontsize=7)
    ax.set_xlabel("Contribution to overall heterogeneity (Q)")
    ax.set_ylabel("Influence on overall result")
    ax.set_title(title or f"Baujat plot ({diagnostics.method})")
    ax.grid(True, color="#dddddd", linewidth=0.5)
    return save_figure(fig, path)
