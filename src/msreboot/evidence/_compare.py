"""Set a cohort's own estimate beside the pooled published evidence."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from msreboot.evidence._checks import EvidenceError
from msreboot.evidence._effects import ProportionMeasure, proportion_effects
from msreboot.evidence._forest import CohortRow, forest_plot
from msreboot.evidence._meta import PooledEstimate, pool_proportions
from msreboot.evidence._studies import select_outcomes, study_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["CohortEstimate", "EvidenceComparison", "compare_with_evidence"]


@dataclass(frozen=True)
class CohortEstimate:
    """One outcome estimated in a user's (or a virtual) cohort.

    Attributes
    ----------
    label
        Row label in tables and plots (e.g. the centre's name).
    outcome
        Outcome code of the evidence dataset (``"trm"``, ``"pfs"``...).
    events, n
        Events among ``n`` patients (proportion outcomes).
    estimate, ci_low, ci_high, conf_level
        The proportion and its interval.
    definition
        How the cohort's outcome was defined (shown beside the published definitions).
    subgroups
        The cohort's value of evidence moderators, e.g. ``{"intensity": "high"}``, used to
        find the matching published subgroup.
    definition_id
        The endpoint definition of the evidence dataset the cohort's outcome follows
        (:func:`~msreboot.evidence.load_definitions`, e.g. ``"trm_100d"``); the published
        rows of that definition are pooled beside it. Empty when none matches.
    """

    label: str
    outcome: str
    events: int
    n: int
    estimate: float
    ci_low: float
    ci_high: float
    conf_level: float
    definition: str = ""
    subgroups: Mapping[str, str] = field(default_factory=dict)
    definition_id: str = ""

    @classmethod
    def from_events(
        cls,
        events: int,
        n: int,
        *,
        outcome: str,
        label: str = "This cohort",
        conf_level: float = 0.95,
        definition: str = "",
        subgroups: Mapping[str, str] | None = None,
        definition_id: str = "",
    ) -> CohortEstimate:
        """A proportion with its exact (Clopper-Pearson) interval."""
        from msreboot.stats import exact_binomial_ci

        low, high = exact_binomial_ci(events, n, conf_level)
        return cls(
            label,
            outcome,
            int(events),
            int(n),
            events / n,
            low,
            high,
            conf_level,
            definition,
            dict(subgroups or {}),
            definition_id,
        )

    @property
    def row(self) -> CohortRow:
        return CohortRow(
            self.label, self.estimate, self.ci_low, self.ci_high, f"{self.events}/{self.n}"
        )


@dataclass(frozen=True)
class EvidenceComparison:
    """A cohort's estimate beside the pooled published studies and its matching subgroup.

    Attributes
    ----------
    cohort
        The cohort's estimate.
    pooled
        All published studies of the outcome (random effects).
    subgroup_by, subgroup_value
        The moderator matched (e.g. ``"intensity"``) and the cohort's value of it.
    subgroup
        The pool of the published studies in that subgroup, ``None`` when there is none.
    studies
        The published rows used, with their definitions.

    Notes
    -----
    :meth:`difference` tests whether the cohort departs from a pool more than its own
    sampling error, the pool's uncertainty and the between-study variance allow:
    ``z = (y - mu) / sqrt(v + SE(mu)^2 + tau^2)`` on the pool's scale (logit by default;
    ``y`` and ``v`` as for a published study, with 1/2 added to zero cells).
    """

    cohort: CohortEstimate
    pooled: PooledEstimate
    subgroup_by: str | None
    subgroup_value: str | None
    subgroup: PooledEstimate | None
    studies: pd.DataFrame

    def difference(self, pool: PooledEstimate | None = None) -> tuple[float, float]:
        """``(z, two-sided p)`` of the cohort against ``pool`` (default: the overall pool)."""
        from scipy import stats

        target = self.pooled if pool is None else pool
        measure: ProportionMeasure = "PR" if target.measure == "PR" else "PLO"
        if target.measure == "PFT":
            measure = "PFT"
        yi, vi = proportion_effects(
            np.array([float(self.cohort.events)]), np.array([float(self.cohort.n)]), measure
        )
        z = float((yi[0] - target.estimate) / np.sqrt(vi[0] + target.se**2 + target.tau2))
        return z, float(2 * stats.norm.sf(abs(z)))

    def to_frame(self) -> pd.DataFrame:
        """Three rows at most: the cohort, the overall pool and the subgroup pool."""
        c = self.cohort
        rows = [
            {
                "row": c.label,
                "k": 1,
                "events": c.events,
                "n": c.n,
                "estimate": c.estimate,
                "ci_low": c.ci_low,
                "ci_high": c.ci_high,
                "pi_low": np.nan,
                "pi_high": np.nan,
                "conf_level": c.conf_level,
            }
        ]
        pools = [("published, all", self.pooled)]
        if self.subgroup is not None:
            pools.append((f"published, {self.subgroup_by} = {self.subgroup_value}", self.subgroup))
        for name, pool in pools:
            rows.append(
                {
                    "row": name,
                    "k": pool.k,
                    "events": np.nan,
                    "n": np.nan,
                    "estimate": pool.estimate_natural,
                    "ci_low": pool.ci_low_natural,
                    "ci_high": pool.ci_high_natural,
                    "pi_low": pool.pi_low_natural,
                    "pi_high": pool.pi_high_natural,
                    "conf_level": pool.conf_level,
                }
            )
        return pd.DataFrame(rows)

    def summary(self) -> str:
        c = self.cohort
        pct = f"{100 * c.conf_level:g}%"

        def fmt(est: float, lo: float, hi: float) -> str:
            return f"{100 * est:.1f}% ({pct} CI {100 * lo:.1f}-{100 * hi:.1f}%)"

        lines = [
            f"{c.outcome}: {c.label} {c.events}/{c.n} = {fmt(c.estimate, c.ci_low, c.ci_high)}",
            f"  published (k = {self.pooled.k}): "
            + fmt(
                self.pooled.estimate_natural,
                self.pooled.ci_low_natural,
                self.pooled.ci_high_natural,
            ),
        ]
        if self.subgroup is not None:
            lines.append(
                f"  published, {self.subgroup_by} = {self.subgroup_value} (k = "
                f"{self.subgroup.k}): "
                + fmt(
                    self.subgroup.estimate_natural,
                    self.subgroup.ci_low_natural,
                    self.subgroup.ci_high_natural,
                )
            )
        elif self.subgroup_by is not None:
            lines.append(f"  no published study with {self.subgroup_by} = {self.subgroup_value}")
        for name, pool in (("all", self.pooled), ("subgroup", self.subgroup)):
            if pool is not None:
                z, p = self.difference(pool)
                lines.append(f"  cohort vs published ({name}): z = {z:.2f}, p = {p:.3g}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>" + self.to_frame().to_html(index=False)

    def forest_plot(self, path: str | Path | None = None, *, title: str | None = None) -> Figure:
        """The published studies and their pool, with the cohort as its own row."""
        return forest_plot(
            self.pooled, path, title=title or self.cohort.outcome, cohorts=[self.cohort.row]
        )


def compare_with_evidence(
    estimate: CohortEstimate,
    *,
    therapy: str = "ahsct",
    by: str | None = "intensity",
    timepoint: float | None = None,
    measure: ProportionMeasure = "PLO",
    method: str = "REML",
    definition_id: str | None = None,
    mixed_definitions: bool = False,
) -> EvidenceComparison:
    """Place a cohort's estimate beside the pooled published studies of the same outcome.

    Parameters
    ----------
    estimate
        The cohort's estimate (e.g. from :meth:`CohortEstimate.from_events`).
    therapy
        Published arms to pool (``"ahsct"``, ``"msc"``...).
    by
        Study moderator whose value the cohort shares (``estimate.subgroups[by]``); the
        studies with that value are pooled as the matching subgroup. ``None`` skips it.
    timepoint
        Years, when the outcome is published at several timepoints.
    measure, method
        Pooling scale and tau^2 estimator (see :func:`~msreboot.evidence.pool_proportions`);
        the level is the cohort's ``conf_level``.
    definition_id, mixed_definitions
        The endpoint definition of the published rows to pool (default: the cohort's
        ``definition_id``); rows of several definitions are pooled only with
        ``mixed_definitions=True``, each then labelled with its definition. Unsourced rows
        are never pooled.

    Returns
    -------
    EvidenceComparison

    Raises
    ------
    EvidenceError
        No published study reports the outcome as events out of n.

    Examples
    --------
    >>> from msreboot.datasets import load_example
    >>> from msreboot.endpoints import transplant_mortality
    >>> trm = transplant_mortality(load_example())
    >>> mine = CohortEstimate.from_events(trm.deaths_within_window, trm.n_transplanted,
    ...                                   outcome="trm", label="Example cohort")
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # tau^2 truncated at 0: the studies agree
    ...     comparison = compare_with_evidence(mine, by=None, mixed_definitions=True)
    >>> comparison.pooled.k, comparison.pooled.labels[0]
    (3, 'Muraro 2017 [trm_100d]')
    """
    rows = select_outcomes(
        estimate.outcome,
        therapy=therapy,
        timepoint=timepoint,
        definition_id=definition_id or estimate.definition_id or None,
        mixed_definitions=mixed_definitions,
    )
    rows = rows[rows["events"].notna() & rows["n"].notna()].reset_index(drop=True)
    if rows.empty:
        raise EvidenceError(
            f"outcome {estimate.outcome!r} has no published events/n to compare with; "
            "choose an outcome reported as a proportion"
        )

    def pool_of(subset: pd.DataFrame) -> PooledEstimate:
        return pool_proportions(
            subset["events"].to_numpy(float),
            subset["n"].to_numpy(float),
            measure=measure,
            method=method,
            conf_level=estimate.conf_level,
            labels=[study_label(r) for _, r in subset.iterrows()],
        )

    subgroup = None
    value = None
    if by is not None:
        if by not in rows.columns:
            raise EvidenceError(f"by must be a study column; got {by!r}")
        value = estimate.subgroups.get(by)
        matching = rows[rows[by] == value] if value is not None else rows.iloc[:0]
        if len(matching):
            subgroup = pool_of(matching)
    columns = [
        "study_id",
        "arm",
        "definition",
        "definition_id",
        "status",
        "timepoint_years",
        "events",
        "n",
        "estimate",
    ]
    return EvidenceComparison(
        estimate,
        pool_of(rows),
        by,
        value,
        subgroup,
        rows[[c for c in columns if c in rows.columns]],
    )
