"""The enrolled population's published mix, matched after eligibility.

Eligibility (prior relapses, Gd+ lesions, prior DMTs, onset age) is applied by rejection
when patients are drawn, so the enrolled patients' phenotype mix, EDSS and disease duration
differ from those of the distributions drawn from (a relapse criterion favours RRMS). With
``match_enrolled = true`` in ``[population]``, the published phenotype shares, EDSS median
(or mean) and duration median are those of the *enrolled* patients: a pilot cohort is
drawn, its enrolled summary measured, and the drawing distributions corrected, a few
times, until the enrolled summary matches.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from msreboot.simulate import PopulationSpec, SimulationParameters, VisitSchedule, simulate_cohort

__all__ = ["enrolled_summary", "match_enrolled"]

PILOT_PATIENTS = 4000
PILOT_SEED = 20261204
ITERATIONS = 12
# Stop when every target is this close: shares (absolute), EDSS points, duration (ratio).
SHARE_TOLERANCE, EDSS_TOLERANCE, DURATION_TOLERANCE = 0.01, 0.05, 0.02
# ... the baseline Gd+ share (absolute), the prior-relapse mean (ratio), the EDSS IQR width.
GD_TOLERANCE, RELAPSE_TOLERANCE, IQR_TOLERANCE = 0.02, 0.03, 0.1
ENROLLED_ONLY_KEYS = ("gd_positive_share", "prior_relapses_mean", "edss_iqr")
"""``[population]`` targets that exist only for the enrolled patients (match_enrolled)."""


def enrolled_summary(
    population: PopulationSpec,
    parameters: SimulationParameters,
    *,
    n: int = PILOT_PATIENTS,
    seed: int = PILOT_SEED,
) -> dict[str, float]:
    """Phenotype shares, baseline EDSS median (grouped-data, on the 0.5 grid) and mean, and
    the median disease duration (years) of ``n`` enrolled virtual patients."""
    sim = simulate_cohort(
        n,
        population,
        None,
        VisitSchedule(edss_every_months=12, mri_every_months=12),
        0.1,
        parameters,
        seed=seed,
        validate=False,
    )
    patients = sim.cohort.patients
    shares = patients["phenotype"].value_counts(normalize=True)
    edss = sim.cohort.tables["edss"]
    baseline = edss.loc[edss["date"] == 0, "edss"].to_numpy(dtype=float)
    duration = -patients["onset_date"].to_numpy(dtype=float) / 365.25
    truth = sim.truth
    return {
        "gd_positive_share": float((truth["baseline_gd_lesions"] > 0).mean()),
        "prior_relapses_mean": float(truth["prior_relapses"].mean()),
        "edss_iqr": grouped_quantile(baseline, 0.75, 0.5) - grouped_quantile(baseline, 0.25, 0.5),
        "RRMS": float(shares.get("RRMS", 0.0)),
        "SPMS": float(shares.get("SPMS", 0.0)),
        "PPMS": float(shares.get("PPMS", 0.0)),
        "edss_median": grouped_median(baseline, width=0.5),
        "edss_mean": float(np.mean(baseline)),
        "duration_median_years": float(np.median(duration)),
    }


def grouped_median(values: np.ndarray, width: float) -> float:
    """Median of values on a grid of ``width``, each value spread over its grid cell:
    ``L + (0.5 - F(L)) / f * width`` (``L``: the lower edge of the median's cell, ``F``:
    the share below it, ``f``: the cell's share). It moves smoothly as the distribution
    shifts, where the plain median jumps by whole grid steps.
    """
    return grouped_quantile(values, 0.5, width)


def grouped_quantile(values: np.ndarray, q: float, width: float) -> float:
    """The ``q`` quantile of values on a grid of ``width`` (as :func:`grouped_median`)."""
    grid = np.round(np.asarray(values, dtype=float) / width) * width
    cells, counts = np.unique(grid, return_counts=True)
    cumulative = np.cumsum(counts) / counts.sum()
    i = min(int(np.searchsorted(cumulative, q)), len(cells) - 1)
    below = cumulative[i - 1] if i > 0 else 0.0
    share = counts[i] / counts.sum()
    return float(cells[i] - width / 2 + (q - below) / share * width)


def match_enrolled(
    population: PopulationSpec,
    targets: dict[str, Any],
    parameters: SimulationParameters,
) -> tuple[PopulationSpec, pd.DataFrame]:
    """Correct ``population`` until its enrolled patients have ``targets``.

    Parameters
    ----------
    population
        The population matched before eligibility (:meth:`PopulationSpec.matching`).
    targets
        The ``[population]`` keys read as the enrolled patients' values:
        ``phenotype_shares``, ``edss_median`` or ``edss_mean``, ``edss_iqr`` (``[Q1, Q3]``),
        ``duration_median_years``, ``gd_positive_share`` (share with >= 1 Gd+ lesion on the
        baseline scan) and ``prior_relapses_mean`` (mean relapses in the prior window),
        each optional.
    parameters
        Simulation parameters of the trial.

    Returns
    -------
    (PopulationSpec, pandas.DataFrame)
        The corrected population, and one row per target: ``characteristic``,
        ``published``, ``enrolled_before`` and ``enrolled_after`` (the matched population's
        summary beside the published one), and ``within_tolerance``.

    Notes
    -----
    Each step draws :data:`PILOT_PATIENTS` patients (fixed seed: the answer is
    reproducible) and sets shares ``p <- p * target / enrolled`` (renormalised), the EDSS
    location ``mu <- mu + (target - enrolled)``, the duration median ``m <- m * target /
    enrolled``, and multiplies the EDSS SD by the IQR widths' ratio, the activity ratio by
    the Gd+ shares' ratio and the prior-relapse rate ratio by the prior-relapse means'
    ratio (each factor within 1/4 to 4), for at most :data:`ITERATIONS` steps or until
    within tolerance. A skewed IQR is matched in width only (the EDSS distribution is a
    truncated normal).
    """
    shares = targets.get("phenotype_shares")
    edss_key = "edss_median" if "edss_median" in targets else "edss_mean"
    wanted: dict[str, float] = {}
    if shares:
        total = sum(float(v) for v in shares.values())
        wanted |= {p: float(shares.get(p, 0.0)) / total for p in ("RRMS", "SPMS", "PPMS")}
    if edss_key in targets:
        wanted[edss_key] = float(targets[edss_key])
    if "duration_median_years" in targets:
        wanted["duration_median_years"] = float(targets["duration_median_years"])
    for key in ("gd_positive_share", "prior_relapses_mean"):
        if key in targets:
            wanted[key] = float(targets[key])
    if "edss_iqr" in targets:
        q1, q3 = (float(v) for v in targets["edss_iqr"])
        wanted["edss_iqr"] = q3 - q1
    first = current = enrolled_summary(population, parameters)
    for _ in range(ITERATIONS):
        if _close(wanted, current):
            break
        population = _step(population, wanted, current)
        current = enrolled_summary(population, parameters)
    rows = [
        {
            "characteristic": key,
            "published": value,
            "enrolled_before": first[key],
            "enrolled_after": current[key],
            "within_tolerance": _close({key: value}, current),
        }
        for key, value in wanted.items()
    ]
    return population, pd.DataFrame(rows)


def _close(wanted: dict[str, float], current: dict[str, float]) -> bool:
    for key, value in wanted.items():
        if key in ("RRMS", "SPMS", "PPMS") and abs(current[key] - value) > SHARE_TOLERANCE:
            return False
        if key in ("edss_median", "edss_mean") and abs(current[key] - value) > EDSS_TOLERANCE:
            return False
        if key == "duration_median_years" and abs(current[key] / value - 1) > DURATION_TOLERANCE:
            return False
        if key == "gd_positive_share" and abs(current[key] - value) > GD_TOLERANCE:
            return False
        if key == "prior_relapses_mean" and abs(current[key] / value - 1) > RELAPSE_TOLERANCE:
            return False
        if key == "edss_iqr" and abs(current[key] - value) > IQR_TOLERANCE:
            return False
    return True


def _step(
    population: PopulationSpec, wanted: dict[str, float], current: dict[str, float]
) -> PopulationSpec:
    changes: dict[str, Any] = {}
    for key, field_name, value in (
        ("gd_positive_share", "activity_ratio", population.activity_ratio),
        ("prior_relapses_mean", "prior_relapse_rate_ratio", population.prior_relapse_rate_ratio),
        ("edss_iqr", "edss_sd", population.edss_sd),
    ):
        if key in wanted and current[key] > 0:
            factor = min(max(wanted[key] / current[key], 0.25), 4.0)
            changes[field_name] = value * factor
    if "RRMS" in wanted:
        drawn = population.phenotype_shares
        new = {}
        for p in ("RRMS", "SPMS", "PPMS"):
            if wanted[p] == 0:
                new[p] = 0.0
            else:
                ratio = wanted[p] / current[p] if current[p] > 0 else 10.0
                new[p] = drawn[p] * min(ratio, 10.0) if drawn[p] > 0 else wanted[p]
        total = sum(new.values())
        changes |= {
            "rrms_share": new["RRMS"] / total,
            "spms_share": new["SPMS"] / total,
            "ppms_share": new["PPMS"] / total,
        }
    for key in ("edss_median", "edss_mean"):
        if key in wanted:
            low, high = population.edss_range
            sd = float(changes.get("edss_sd", population.edss_sd))
            slope = _median_slope(population.edss_mean, sd, low, high)
            shift = (wanted[key] - current[key]) / slope
            changes["edss_mean"] = min(max(population.edss_mean + shift, low - 3), high + 3)
    if "duration_median_years" in wanted and current["duration_median_years"] > 0:
        ratio = wanted["duration_median_years"] / current["duration_median_years"]
        changes["duration_median_years"] = population.duration_median_years * ratio
    updated: PopulationSpec = replace(population, **changes)
    return updated if all(math.isfinite(float(v)) for v in changes.values()) else population


def _median_slope(mu: float, sd: float, low: float, high: float) -> float:
    """How fast the truncated normal's median moves with its location (within 0.2 to 1):
    the step that corrects the enrolled EDSS median is the gap divided by it."""
    from scipy import stats

    if sd <= 0 or high <= low:
        return 1.0

    def median(m: float) -> float:
        a, b = (low - m) / sd, (high - m) / sd
        return float(stats.truncnorm(a, b, loc=m, scale=sd).median())

    return min(max((median(mu + 0.01) - median(mu - 0.01)) / 0.02, 0.2), 1.0)
