"""An emulated target trial run on a cohort: propensity model, matching or weighting,
balance, and every outcome compared crude and adjusted."""

from __future__ import annotations

import html
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from msreboot.analysis._emulation_cohort import TrialPopulation, trial_population
from msreboot.analysis._emulation_effects import EValue, RelapseRateComparison, e_value
from msreboot.analysis._emulation_methods import methods_text
from msreboot.analysis._emulation_outcomes import (
    EndpointContrast,
    contrast_endpoint,
    hazard_ratio_row,
    relapse_rate_comparison,
)
from msreboot.analysis._emulation_proportions import COLUMNS as PROPORTION_COLUMNS
from msreboot.analysis._emulation_proportions import (
    ProportionComparison,
    proportion_comparison,
)
from msreboot.analysis._emulation_spec import EmulationSpec
from msreboot.data import Cohort
from msreboot.stats import (
    Balance,
    BalanceRule,
    MatchedSample,
    Overlap,
    PropensityScore,
    PropensityWeights,
    balance_table,
    match_nearest,
    propensity_overlap,
    propensity_score,
    propensity_weights,
)

__all__ = ["EmulatedTrial", "EmulationWarning", "emulate_trial"]

MIN_EVENTS = 10
"""Fewer events than this in the primary endpoint give a warning."""


class EmulationWarning(UserWarning):
    """Balance failed, overlap is poor, or too few patients or events for the comparison."""


@dataclass(frozen=True, eq=False)
class EmulatedTrial:
    """The result of :func:`emulate_trial`.

    Attributes
    ----------
    spec
        The emulation spec.
    population
        The entries and the flow of patients through eligibility
        (:class:`TrialPopulation`).
    data
        The entries analysed (complete covariates) with ``ps`` (propensity score),
        ``weight`` (matching or weighting; 1 when crude), ``subclass`` (matched set, -1
        none) and ``cluster`` (the variance cluster: matched set, else patient).
    propensity
        The fitted propensity model.
    matching, weighting
        The matched sample (``method="matching"``) or the weights (``"iptw"``,
        ``"overlap"``); the other is ``None``.
    balance
        Standardised mean differences and variance ratios before and after.
    overlap
        Common support of the propensity scores.
    contrasts
        Per endpoint, its :class:`EndpointContrast`.
    outcomes
        One row per endpoint: events and entries per arm, crude and adjusted hazard ratios
        with intervals and p-values, the RMST difference.
    relapse_rate
        Relapse rates and their ratio, crude and adjusted (``None`` when not asked for or
        nobody has follow-up).
    e_value
        E-value of the primary adjusted hazard ratio (``None`` when it was not estimable).
    warnings
        Balance failures, poor overlap, few events, dropped entries: one line each.
    proportions
        The proportions with confirmed disability improvement and with NEDA at the
        landmark per arm and their risk differences (``None`` when not asked for).
    """

    spec: EmulationSpec
    population: TrialPopulation = field(repr=False)
    data: pd.DataFrame = field(repr=False)
    propensity: PropensityScore = field(repr=False)
    matching: MatchedSample | None = field(repr=False)
    weighting: PropensityWeights | None = field(repr=False)
    balance: Balance = field(repr=False)
    overlap: Overlap = field(repr=False)
    contrasts: Mapping[str, EndpointContrast] = field(repr=False)
    outcomes: pd.DataFrame = field(repr=False)
    relapse_rate: RelapseRateComparison | None = field(repr=False)
    e_value: EValue | None = field(repr=False)
    warnings: tuple[str, ...]
    proportions: ProportionComparison | None = field(default=None, repr=False)

    @property
    def arms(self) -> tuple[str, str]:
        """The treated and the control arm's names."""
        return self.spec.treated.name, self.spec.control.name

    @property
    def primary(self) -> EndpointContrast:
        """The primary endpoint's contrast."""
        return self.contrasts[self.spec.primary]

    def arm_counts(self) -> dict[str, int]:
        """Entries per arm, before and after adjustment (matched or with weight > 0)."""
        out: dict[str, int] = {}
        for arm in self.arms:
            mine = self.data[self.data["arm"] == arm]
            out[f"{arm} (all)"] = len(mine)
            out[f"{arm} (analysed)"] = int((mine["weight"] > 0).sum())
        return out

    def to_frame(self, table: Literal["outcomes", "proportions"] = "outcomes") -> pd.DataFrame:
        """The outcome table (one row per endpoint), or with ``table="proportions"`` the
        proportions with CDI and NEDA (three rows per outcome; empty when not computed)."""
        if table == "proportions":
            if self.proportions is None:
                return pd.DataFrame(columns=PROPORTION_COLUMNS)
            return self.proportions.to_frame()
        if table != "outcomes":
            raise ValueError(f"table must be 'outcomes' or 'proportions'; got {table!r}.")
        return self.outcomes.copy()

    def methods(self) -> str:
        """The methods paragraph written from the spec."""
        return methods_text(self.spec, self.warnings)

    def summary(self) -> str:
        treated, control = self.arms
        counts = self.arm_counts()
        lines = [
            f"Emulated trial: {self.spec.title or self.spec.name} ({treated} vs {control})",
            f"  entries: {treated} {counts[f'{treated} (all)']} "
            f"({counts[f'{treated} (analysed)']} analysed), {control} "
            f"{counts[f'{control} (all)']} ({counts[f'{control} (analysed)']} analysed)",
        ]
        pct = f"{100 * self.spec.conf_level:g}%"
        for row in self.outcomes.to_dict("records"):
            lines.append(
                f"  {row['endpoint']}: HR crude {row['hr_crude']:.3g} ({pct} CI "
                f"{row['hr_crude_ci_low']:.3g} to {row['hr_crude_ci_high']:.3g}); adjusted "
                f"{row['hr_adjusted']:.3g} ({row['hr_adjusted_ci_low']:.3g} to "
                f"{row['hr_adjusted_ci_high']:.3g}), p = {row['hr_adjusted_p']:.3g}"
            )
        if self.relapse_rate is not None:
            lines += ["  " + s for s in self.relapse_rate.summary().splitlines()]
        if self.e_value is not None:
            lines.append("  " + self.e_value.summary())
        if self.proportions is not None:
            lines += ["  " + s for s in self.proportions.summary().splitlines()]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def _fit_propensity(
    frame: pd.DataFrame, covariates: list[str], notes: list[str]
) -> PropensityScore:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        score = propensity_score(frame, "treated", covariates)
    notes += [f"propensity model: {w.message}" for w in caught]
    return score


def _adjust(
    frame: pd.DataFrame, spec: EmulationSpec, score: PropensityScore, notes: list[str]
) -> tuple[MatchedSample | None, PropensityWeights | None, np.ndarray, np.ndarray]:
    a = spec.adjustment
    subclass = np.full(len(frame), -1)
    if a.method == "matching":
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            matched = match_nearest(
                frame,
                "treated",
                score,
                ratio=a.ratio,
                replace=a.replace,
                caliper=a.caliper_sd,
                exact=list(a.exact),
            )
        notes += [f"matching: {w.message}" for w in caught]
        if not a.replace:
            subclass = matched.subclass
        return matched, None, matched.weights, subclass
    estimand = "overlap" if a.method == "overlap" else a.estimand
    weights = propensity_weights(
        score,
        estimand=estimand,
        stabilize=a.stabilize and estimand == "ate",
        trim_quantile=a.trim_quantile,
    )
    return None, weights, weights.weights, subclass


def _competing_and_ph(contrast: EndpointContrast) -> dict[str, float]:
    ph = contrast.proportional_hazards
    out = {"ph_p": float(ph.pvalue[0]) if ph is not None else np.nan}
    gray, fg = contrast.gray, contrast.fine_gray
    out["gray_p"] = float(gray.pvalue[0]) if gray is not None else np.nan
    out["shr_crude"] = float(fg.hazard_ratio[0]) if fg is not None else np.nan
    out["shr_crude_ci_low"] = float(fg.ci_low[0]) if fg is not None else np.nan
    out["shr_crude_ci_high"] = float(fg.ci_high[0]) if fg is not None else np.nan
    return out


def emulate_trial(cohort: Cohort, spec: EmulationSpec, *, warn: bool = True) -> EmulatedTrial:
    """Emulate a target trial of AHSCT against a DMT in observational data.

    Parameters
    ----------
    cohort
        A validated cohort with AHSCT and DMT courses.
    spec
        The emulation (:class:`EmulationSpec`, :func:`load_emulation_spec`).
    warn
        Emit an :class:`EmulationWarning` for each line of ``warnings`` (failed balance,
        poor overlap, few events); they are kept in the result either way.

    Returns
    -------
    EmulatedTrial

    Raises
    ------
    ValueError
        Fewer than two analysable entries in an arm, or no courses of a strategy.

    Notes
    -----
    The entries come from :func:`trial_population`; covariates are those at time zero,
    and entries missing one are left out (complete-case analysis, counted in the flow).
    The propensity model is a logistic regression of the treated arm on the covariates
    (:func:`~msreboot.stats.propensity_score`); entries are then matched
    (:func:`~msreboot.stats.match_nearest`: nearest neighbour on the logit, 1:k, caliper
    in SDs of the logit) or weighted (:func:`~msreboot.stats.propensity_weights`: IPTW for
    the ATE or ATT, or overlap weights). Hazard ratios come from Cox models of the arm
    (Efron ties): crude (robust, clustered by patient, when patients enter repeatedly) and
    in the matched or weighted sample with cluster-robust variance (clusters: matched sets
    without replacement, else patients). Kaplan-Meier curves and cumulative incidences are
    weighted; the RMST difference uses the weighted curves and adds the two arms'
    variances (ignoring the pairing). The relapse-rate ratio comes from a weighted Poisson
    model with cluster-robust variance. The E-value is that of the primary adjusted HR
    (VanderWeele & Ding 2017), the outcome taken as rare when under 15% of entries have it.

    Examples
    --------
    >>> from msreboot.datasets import load_example
    >>> trial = emulate_trial(load_example(), EmulationSpec(), warn=False)
    >>> trial.arms
    ('AHSCT', 'High-efficacy DMT')
    """
    notes: list[str] = []
    population = trial_population(cohort, spec)
    entries = population.entries
    covariates = list(spec.adjustment.covariates)
    missing_cols = [c for c in covariates + list(spec.adjustment.exact) if c not in entries]
    if missing_cols:
        raise ValueError(
            f"adjustment covariates must be available in this cohort; got {missing_cols} "
            "(no such column or no calendar dates). Remove them from adjustment.covariates."
        )
    complete = entries.dropna(subset=covariates + list(spec.adjustment.exact)).copy()
    dropped = len(entries) - len(complete)
    if dropped:
        notes.append(f"{dropped} entries left out for a missing covariate (complete-case analysis)")
    for arm in (spec.treated.name, spec.control.name):
        n = int((complete["arm"] == arm).sum())
        if n < 2:
            raise ValueError(
                f"each arm must have at least 2 eligible entries with complete covariates; "
                f"got {n} in {arm!r}. Widen the eligibility or check the strategies' drugs."
            )
    for c in covariates:
        if c in ("sex", "phenotype", "last_dmt", "centre", "country", "mri_active_prior_year"):
            complete[c] = complete[c].astype(str)
    complete = complete.reset_index()
    score = _fit_propensity(complete, covariates, notes)
    matching, weighting, weights, subclass = _adjust(complete, spec, score, notes)
    patient = ("patient " + complete["patient_id"].astype(str)).to_numpy()
    pair = np.array([f"set {s}" for s in subclass], dtype=object)
    use_sets = (subclass >= 0) & (spec.time_zero == "first")
    cluster = np.where(use_sets, pair, patient)
    data = complete.set_index("entry_id").assign(
        ps=score.scores, weight=weights, subclass=subclass, cluster=cluster
    )
    data["entry_group"] = data["treated"].astype(str) + "_" + data["entry"].astype(str)
    estimand = "overlap" if spec.adjustment.method == "overlap" else spec.adjustment.estimand
    rule = BalanceRule(max_abs_smd=spec.adjustment.max_abs_smd)
    balance = balance_table(
        data,
        "treated",
        covariates,
        data["weight"].to_numpy(),
        estimand=estimand,
        rule=rule,
        warn=False,
    )
    overlap = propensity_overlap(score, rule=rule, warn=False)
    if balance.failing:
        notes.append(
            f"balance failed: |SMD| > {rule.max_abs_smd:g} after adjustment for "
            + ", ".join(balance.failing)
        )
    if overlap.poor:
        notes.append(
            f"poor overlap of the propensity scores: {100 * overlap.outside_treated:.0f}% of "
            f"treated and {100 * overlap.outside_control:.0f}% of control entries outside the "
            "common support"
        )
    if matching is not None and matching.n_matched_treated < matching.n_treated:
        notes.append(
            f"{matching.n_treated - matching.n_matched_treated} of {matching.n_treated} "
            f"{spec.treated.name} entries unmatched (caliper): the estimate is for the matched"
        )
    contrasts = {
        name: contrast_endpoint(cohort, spec, d, data) for name, d in spec.definitions().items()
    }
    notes += [n for contrast in contrasts.values() for n in contrast.notes]
    rows = []
    for name, contrast in contrasts.items():
        t = contrast.data["treated"].to_numpy(dtype=bool)
        events = contrast.data["event"].to_numpy(dtype=int)
        diff = contrast.rmst[contrast.rmst["arm"] == "difference"]
        rows.append(
            {
                "endpoint": name,
                "title": contrast.definition.title or name,
                "entries_treated": int(t.sum()),
                "events_treated": int(events[t].sum()),
                "entries_control": int((~t).sum()),
                "events_control": int(events[~t].sum()),
            }
            | hazard_ratio_row(contrast.crude, "hr_crude")
            | hazard_ratio_row(contrast.adjusted, "hr_adjusted")
            | _competing_and_ph(contrast)
            | {
                "rmst_tau_years": float(diff["tau_years"].iloc[0]) if len(diff) else np.nan,
                "rmst_difference_years": float(diff["estimate"].iloc[0]) if len(diff) else np.nan,
                "rmst_ci_low": float(diff["ci_low"].iloc[0]) if len(diff) else np.nan,
                "rmst_ci_high": float(diff["ci_high"].iloc[0]) if len(diff) else np.nan,
            }
        )
    outcomes = pd.DataFrame(rows)
    for record in outcomes.to_dict("records"):
        if float(record["ph_p"]) < 0.05:
            notes.append(
                f"proportional hazards doubtful for {record['endpoint']} (scaled Schoenfeld "
                f"test p = {float(record['ph_p']):.3g}): the hazard ratio averages an effect "
                "that changes over time; read the curves and the RMST difference"
            )
    primary = contrasts[spec.primary]
    n_events = int(primary.data["event"].sum())
    if n_events < MIN_EVENTS:
        notes.append(f"only {n_events} events of {spec.primary}: the hazard ratio is imprecise")
    ev: EValue | None = None
    if primary.adjusted is not None:
        hr = hazard_ratio_row(primary.adjusted, "hr")
        try:
            rare = float(np.average(primary.data["event"], weights=primary.data["weight"])) < 0.15
            ev = e_value(hr["hr"], hr["hr_ci_low"], hr["hr_ci_high"], rare=rare)
        except ValueError:
            ev = None
    rates = relapse_rate_comparison(cohort, spec, data) if spec.outcomes.relapse_rate else None
    shares = proportion_comparison(cohort, spec, data) if spec.outcomes.proportions else None
    if shares is not None:
        for record in shares.table[shares.table["arm"] == "difference"].to_dict("records"):
            if int(record["not_evaluable"]):
                notes.append(
                    f"{record['not_evaluable']} of {record['entries']} entries not evaluable "
                    f"for {record['outcome']} at {shares.landmark_years:g} years"
                )
    if warn:
        for note in notes:
            warnings.warn(note, EmulationWarning, stacklevel=2)
    return EmulatedTrial(
        spec=spec,
        population=population,
        data=data,
        propensity=score,
        matching=matching,
        weighting=weighting,
        balance=balance,
        overlap=overlap,
        contrasts=contrasts,
        outcomes=outcomes,
        relapse_rate=rates,
        e_value=ev,
        warnings=tuple(notes),
        proportions=shares,
    )
