"""The result of a virtual trial: every replicate's estimates, hazard ratios, statistics
and curves, with power, the published values beside the simulated ones, and summaries
across replicates."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from msreboot.trials._power_tests import significant
from msreboot.trials._spec import TrialSpec
from msreboot.trials._statistics import RATIO_STATISTICS

__all__ = [
    "CURVE_COLUMNS",
    "CURVE_STEP_YEARS",
    "DRAW_COLUMNS",
    "STATISTICS_COLUMNS",
    "TEST_COLUMNS",
    "TrialResult",
]

STATISTICS_COLUMNS = ["replicate", "published", "statistic", "arm", "time_years", "value"]
CURVE_COLUMNS = ["replicate", "endpoint", "arm", "measure", "time_years", "estimate"]
TEST_COLUMNS = ["replicate", "method", "arm", "effect", "p_value", "favours_arm"]
DRAW_COLUMNS = ["replicate", "particle"]
RANGES_INCLUDE = {
    "monte_carlo": "Monte Carlo error",
    "posterior": "Monte Carlo error and parameter uncertainty (calibration posterior)",
}
"""What the ranges across replicates include, by the spec's ``uncertainty``."""
CURVE_STEP_YEARS = 0.25
"""Spacing of the grid each replicate's curves are read on (:attr:`TrialResult.curves`)."""


_PUBLISHED_COLUMNS = [
    "trial",
    "statistic",
    "endpoint",
    "arm",
    "time_years",
    "published",
    "published_ci_low",
    "published_ci_high",
    "simulated",
    "simulated_low",
    "simulated_high",
    "inside",
    "replicates",
    "n",
    "subgroup",
    "source",
    "ranges_include",
]


class TrialResult(BaseModel):
    """The replicates of a virtual trial, analysed.

    Attributes
    ----------
    spec
        The trial spec.
    estimates
        One row per replicate, endpoint, arm and landmark: ``n``, ``events``,
        ``n_at_risk``, ``estimate``, ``ci_low``, ``ci_high``.
    hazard_ratios
        One row per replicate, endpoint and non-reference arm: ``hazard_ratio``, its
        interval and Wald ``p_value``, the log-rank ``log_rank_p`` (two or more arms), and
        ``hr_reliable`` (false when the Cox fit warned, e.g. an arm without events, whose
        hazard ratio tends to 0 or infinity; the log-rank test stays valid).
    statistics
        One row per replicate and ``[[published]]`` value whose statistic is neither a
        landmark nor a hazard ratio (:func:`published_statistics`): ``published`` (the
        value's position in the spec), ``statistic``, ``arm``, ``time_years``, ``value``.
    tests
        One row per replicate and non-reference arm: the test of ``analysis.method`` on
        the primary endpoint (``method``, ``effect``, two-sided ``p_value``,
        ``favours_arm``), which :meth:`power` counts.
    curves
        Each replicate's curve per endpoint and arm read on a grid of
        :data:`CURVE_STEP_YEARS` from time zero to the follow-up: ``replicate``,
        ``endpoint``, ``arm``, ``time_years``, ``estimate`` (event-free probability or
        cumulative incidence, as ``measure``); ``nan`` after an arm's last follow-up.
    parameter_draws
        With ``spec.uncertainty == "posterior"``, one row per replicate: ``replicate`` and
        the ``particle`` of the calibration posterior it was simulated under
        (:meth:`SimulationParameters.posterior`); empty otherwise (every replicate under
        the one parameter set).
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    spec: TrialSpec
    estimates: pd.DataFrame
    hazard_ratios: pd.DataFrame
    statistics: pd.DataFrame = Field(
        default_factory=lambda: pd.DataFrame(columns=STATISTICS_COLUMNS)
    )
    curves: pd.DataFrame = Field(default_factory=lambda: pd.DataFrame(columns=CURVE_COLUMNS))
    tests: pd.DataFrame = Field(default_factory=lambda: pd.DataFrame(columns=TEST_COLUMNS))
    parameter_draws: pd.DataFrame = Field(
        default_factory=lambda: pd.DataFrame(columns=DRAW_COLUMNS)
    )

    @property
    def ranges_include(self) -> str:
        """What the ranges across replicates include: ``"Monte Carlo error"``, or with
        ``uncertainty = "posterior"`` parameter uncertainty as well (words of
        :data:`RANGES_INCLUDE`)."""
        return RANGES_INCLUDE[self.spec.uncertainty]

    def curve_bands(self, level: float = 0.9) -> pd.DataFrame:
        """The replicates' curves summarised per endpoint, arm and time: ``median``,
        ``low`` and ``high`` (the central ``level`` range across replicates, e.g. 5-95%),
        and ``replicates`` (those followed to that time)."""
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1); got {level}.")
        tail = (1 - level) / 2
        keys = ["endpoint", "arm", "measure", "time_years"]
        grouped = self.curves.dropna(subset=["estimate"]).groupby(keys, sort=False)["estimate"]
        return grouped.agg(
            median="median",
            low=lambda v: v.quantile(tail),
            high=lambda v: v.quantile(1 - tail),
            replicates="size",
        ).reset_index()

    def hazard_ratio_summary(self, level: float = 0.9) -> pd.DataFrame:
        """Per endpoint and non-reference arm: the median hazard ratio over replicates with
        a reliable Cox fit, its central ``level`` range across them, and how many were
        reliable (an arm without events gives none: the ratio is not estimable, ``nan``)."""
        tail = (1 - level) / 2
        rows = []
        for (endpoint, arm), group in self.hazard_ratios.groupby(["endpoint", "arm"], sort=False):
            hr = group["hazard_ratio"].where(group["hr_reliable"].astype(bool)).dropna()
            rows.append(
                {
                    "endpoint": endpoint,
                    "arm": arm,
                    "median": float(hr.median()) if len(hr) else np.nan,
                    "low": float(hr.quantile(tail)) if len(hr) else np.nan,
                    "high": float(hr.quantile(1 - tail)) if len(hr) else np.nan,
                    "reliable": len(hr),
                    "replicates": len(group),
                }
            )
        columns = ["endpoint", "arm", "median", "low", "high", "reliable", "replicates"]
        return pd.DataFrame(rows, columns=columns)

    def power(self, endpoint: str | None = None, arm: str | None = None) -> float:
        """Share of replicates whose test is significant at ``analysis.alpha``; ``nan``
        for single-arm trials.

        With the default method (two-sided log-rank) and no ``arm``, the test is the
        log-rank test of all arms on ``endpoint`` (the primary endpoint by default). With
        ``analysis.method`` or ``analysis.sides`` set otherwise, or an ``arm`` named, it is
        that method's test of the arm (default: the first non-reference arm) against the
        reference arm on the primary endpoint (:attr:`tests`).
        """
        analysis = self.spec.analysis
        primary = analysis.primary or analysis.endpoints[0]
        name = endpoint or primary
        if analysis.method == "log_rank" and analysis.sides == 2 and arm is None:
            rows = self.hazard_ratios[self.hazard_ratios["endpoint"] == name]
            if rows.empty:
                return float("nan")
            per_replicate = rows.groupby("replicate")["log_rank_p"].first()
            return float((per_replicate < analysis.alpha).mean())
        if name != primary:
            raise ValueError(
                f"endpoint must be the primary endpoint {primary!r} for the power of "
                f"analysis.method {analysis.method!r} (sides {analysis.sides}); got {name!r}."
            )
        if self.tests.empty:
            return float("nan")
        chosen = arm if arm is not None else str(self.tests["arm"].iloc[0])
        rows = self.tests[self.tests["arm"] == chosen]
        if rows.empty:
            raise ValueError(f"arm must be a non-reference arm; got {arm!r}.")
        return float(significant(rows, analysis.alpha, analysis.sides).mean())

    def table(self) -> pd.DataFrame:
        """Mean estimate across replicates per endpoint, arm and landmark, with the
        Monte Carlo SD and the mean interval (``mc_sd``: the SD across replicates, which
        with ``uncertainty = "posterior"`` carries parameter uncertainty as well)."""
        keys = ["endpoint", "arm", "time_years"]
        grouped = self.estimates.groupby(keys, sort=False)
        return grouped.agg(
            replicates=("estimate", "size"),
            estimate=("estimate", "mean"),
            mc_sd=("estimate", "std"),
            ci_low=("ci_low", "mean"),
            ci_high=("ci_high", "mean"),
            n=("n", "mean"),
            events=("events", "mean"),
        ).reset_index()

    def compare_published(self) -> pd.DataFrame:
        """Each published value beside the simulated mean (ratios: median) and its
        2.5-97.5% range over replicates, with ``inside``: whether the published value lies
        in that range (``<NA>`` without simulated values).

        Landmarks compare the arm's estimate at ``time_years``; hazard ratios the arm's
        hazard ratio against the reference arm in the replicates whose Cox fit is reliable;
        every other statistic its value in each replicate (:func:`published_statistics`;
        replicates where it cannot be formed, e.g. a rate ratio over an arm without
        relapses, are left out and counted in ``replicates``). A published value always
        names its arm when the trial has several (never an average over arms).
        ``ranges_include`` says whether the range carries parameter uncertainty
        (:attr:`ranges_include`).
        """
        rows = []
        for i, value in enumerate(self.spec.published):
            arm = value.arm or self.spec.arms[0].name  # one arm (else required)
            if value.statistic not in ("landmark", "hazard_ratio"):
                sel = self.statistics[self.statistics["published"] == i]
                sims = sel["value"].to_numpy(dtype=float)
                sims = sims[np.isfinite(sims)]
                middle = np.median if value.statistic in RATIO_STATISTICS else np.mean
                centre = float(middle(sims)) if len(sims) else np.nan
            elif value.statistic == "hazard_ratio":
                ratios = self.hazard_ratios
                sel = ratios[
                    (ratios["endpoint"] == value.endpoint)
                    & (ratios["arm"] == arm)
                    & ratios["hr_reliable"].astype(bool)
                ]
                sims = sel["hazard_ratio"].dropna().to_numpy(dtype=float)
                centre = float(np.median(sims)) if len(sims) else np.nan
            else:
                sel = self.estimates[
                    (self.estimates["endpoint"] == value.endpoint)
                    & np.isclose(self.estimates["time_years"], float(value.time_years or 0.0))
                    & (self.estimates["arm"] == arm)
                ]
                sims = sel["estimate"].dropna().to_numpy(dtype=float)
                centre = float(np.mean(sims)) if len(sims) else np.nan
            low = float(np.quantile(sims, 0.025)) if len(sims) else np.nan
            high = float(np.quantile(sims, 0.975)) if len(sims) else np.nan
            rows.append(
                {
                    "trial": self.spec.name,
                    "statistic": value.statistic,
                    "endpoint": value.endpoint or "",
                    "arm": arm,
                    "time_years": value.time_years if value.time_years is not None else np.nan,
                    "published": value.value,
                    "published_ci_low": value.ci_low,
                    "published_ci_high": value.ci_high,
                    "simulated": centre,
                    "simulated_low": low,
                    "simulated_high": high,
                    "inside": bool(low <= value.value <= high) if len(sims) else pd.NA,
                    "replicates": len(sims),
                    "n": value.n,
                    "subgroup": value.subgroup,
                    "source": value.source,
                    "ranges_include": self.ranges_include,
                }
            )
        return pd.DataFrame(rows, columns=_PUBLISHED_COLUMNS)

    def to_frame(self) -> pd.DataFrame:
        return self.table()

    def summary(self) -> str:
        spec = self.spec
        lines = [
            f"{spec.title or spec.name}: {spec.replicates} replicate(s), arms "
            + ", ".join(f"{a.name} (n={a.n})" for a in spec.arms)
            + f", {spec.follow_up_years:g} years, seed {spec.seed}",
            f"  ranges across replicates include: {self.ranges_include}"
            + (
                f" ({self.parameter_draws['particle'].nunique()} distinct particles)"
                if spec.uncertainty == "posterior"
                else " only (one parameter set)"
            ),
        ]
        sd_label = "MC SD" if spec.uncertainty == "monte_carlo" else "SD over draws"
        for row in self.table().to_dict("records"):
            mc_sd = float(row["mc_sd"])
            sd = "" if np.isnan(mc_sd) else f" ({sd_label} {100 * mc_sd:.1f})"
            value = float(row["estimate"])
            shown = "NA (beyond follow-up)" if np.isnan(value) else f"{100 * value:.1f}%{sd}"
            lines.append(
                f"  {row['endpoint']} [{row['arm']}] {float(row['time_years']):g} y: {shown}"
            )
        if len(spec.arms) > 1:
            ratios = self.hazard_ratios.assign(
                reliable_hr=self.hazard_ratios["hazard_ratio"].where(
                    self.hazard_ratios["hr_reliable"].astype(bool)
                )
            )
            hr = ratios.groupby(["endpoint", "arm"])["reliable_hr"].median().reset_index()
            for row in hr.to_dict("records"):
                value = float(row["reliable_hr"])
                shown = (
                    f"{value:.3g}"
                    if np.isfinite(value)
                    else "not estimable (no replicate with events in every arm)"
                )
                lines.append(f"  {row['endpoint']}: median HR {row['arm']} vs reference {shown}")
            lines.append(
                f"  power of the primary endpoint (log-rank, alpha "
                f"{spec.analysis.alpha:g}): {100 * self.power():.0f}%"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"
