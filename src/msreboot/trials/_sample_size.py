"""Sample size of a virtual trial: the patients per arm for a target power of its primary
endpoint, searched by bisection over runs with common random numbers, with the Monte Carlo
error of every power (Clopper-Pearson), a smoothed power curve (logistic in sqrt(n), which
is monotone) with the sample size it gives and that size's interval, and the Schoenfeld
formula's answer beside it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from msreboot.simulate import SimulationParameters
from msreboot.stats import exact_binomial_ci
from msreboot.trials._result import RANGES_INCLUDE, TrialResult
from msreboot.trials._run import run_trial
from msreboot.trials._spec import TrialSpec, checked_uncertainty, load_trial_spec

__all__ = ["PowerCurveFit", "fit_power_curve", "sample_size", "schoenfeld_n_per_arm"]


@dataclass(frozen=True)
class PowerCurveFit:
    """A logistic power curve ``logit(power) = a + b * sqrt(n)`` fitted by maximum
    likelihood to ``significant`` of ``replicates`` at each size (a binomial GLM), and
    the size reaching a target power with its delta-method interval.

    Attributes
    ----------
    intercept, slope
        ``a`` and ``b``.
    covariance
        Their 2 x 2 covariance (inverse Fisher information).
    converged
        False when the curve cannot be fitted (every size at 0% or 100%, or fully
        separated): then every derived value is ``nan``.
    """

    intercept: float
    slope: float
    covariance: np.ndarray = field(repr=False)
    converged: bool

    def power(self, n: np.ndarray | float) -> np.ndarray:
        """The fitted power at ``n`` patients per arm."""
        eta = self.intercept + self.slope * np.sqrt(np.asarray(n, dtype=float))
        return np.asarray(1.0 / (1.0 + np.exp(-eta)))

    def n_for(self, target: float, conf_level: float = 0.95) -> tuple[float, float, float]:
        """``(n, low, high)``: the size of fitted power ``target`` and its interval.

        ``n = ((logit(target) - a) / b)^2``; the interval is ``n +/- z * se`` with ``se``
        from the delta method, ``grad = (-2 r / b, -2 r^2 / b)`` with ``r = (logit(target)
        - a) / b``, truncated at 0. ``nan`` without a fit or with a slope <= 0.
        """
        from scipy import stats

        if not self.converged or not self.slope > 0:
            return math.nan, math.nan, math.nan
        r = (math.log(target / (1 - target)) - self.intercept) / self.slope
        if r < 0:
            return math.nan, math.nan, math.nan
        n = r * r
        grad = np.array([-2 * r / self.slope, -2 * r * r / self.slope])
        se = float(np.sqrt(grad @ self.covariance @ grad))
        z = float(stats.norm.ppf(0.5 + conf_level / 2))
        return n, max(0.0, n - z * se), n + z * se


def fit_power_curve(
    n_per_arm: np.ndarray, significant: np.ndarray, replicates: np.ndarray
) -> PowerCurveFit:
    """Fit ``logit(power) = a + b * sqrt(n)`` by Newton-Raphson (IRLS) on binomial counts.

    Checked against R ``glm(cbind(k, m - k) ~ sqrt(n), family = binomial)``
    (tests/reference/trials/power_curve_reference.R).
    """
    x = np.sqrt(np.asarray(n_per_arm, dtype=float))
    k = np.asarray(significant, dtype=float)
    m = np.asarray(replicates, dtype=float)
    design = np.column_stack([np.ones_like(x), x])
    nan2 = np.full((2, 2), np.nan)
    if len(np.unique(x)) < 2 or not ((k > 0).any() and (k < m).any()):
        return PowerCurveFit(math.nan, math.nan, nan2, False)
    beta = np.zeros(2)
    for _ in range(100):
        eta = design @ beta
        p = 1.0 / (1.0 + np.exp(-eta))
        w = m * p * (1 - p)
        info = design.T @ (design * w[:, None])
        score = design.T @ (k - m * p)
        try:
            step = np.linalg.solve(info, score)
        except np.linalg.LinAlgError:
            return PowerCurveFit(math.nan, math.nan, nan2, False)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    else:
        return PowerCurveFit(math.nan, math.nan, nan2, False)
    eta = design @ beta
    p = 1.0 / (1.0 + np.exp(-eta))
    info = design.T @ (design * (m * p * (1 - p))[:, None])
    if not np.all(np.isfinite(beta)) or abs(beta[1]) > 1e3 or np.linalg.cond(info) > 1e12:
        return PowerCurveFit(math.nan, math.nan, nan2, False)  # separated
    return PowerCurveFit(float(beta[0]), float(beta[1]), np.linalg.inv(info), True)


def schoenfeld_n_per_arm(
    hazard_ratio: float,
    event_share: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    sides: int = 2,
) -> float:
    """Patients per arm of a 1:1 log-rank trial by Schoenfeld's formula.

    Events ``D = (z_{1-alpha/sides} + z_power)^2 / (0.25 * log(HR)^2)``, patients per arm
    ``D / (2 * event_share)``. ``nan`` for HR 1, not finite or <= 0, or no events.

    References
    ----------
    Schoenfeld DA. Biometrika 1981;68:316-9. doi:10.1093/biomet/68.1.316
    """
    from scipy import stats

    if not (np.isfinite(hazard_ratio) and hazard_ratio > 0 and hazard_ratio != 1):
        return math.nan
    if not 0 < event_share <= 1:
        return math.nan
    if sides not in (1, 2):
        raise ValueError(f"sides must be 1 or 2; got {sides}.")
    z = stats.norm.ppf(1 - alpha / sides) + stats.norm.ppf(power)
    events = z**2 / (0.25 * math.log(hazard_ratio) ** 2)
    return float(events / (2 * event_share))


def sample_size(
    spec: TrialSpec | str | Path,
    *,
    target_power: float = 0.8,
    n_range: tuple[int, int] = (10, 500),
    replicates: int | None = None,
    parameters: SimulationParameters | None = None,
    alpha: float | None = None,
    seed: int | None = None,
    dropout: float | None = None,
    accrual_years: float | None = None,
    analysis_years: float | None = None,
    method: str | None = None,
    sides: int | None = None,
    conf_level: float = 0.95,
    uncertainty: Literal["monte_carlo", "posterior"] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Patients per arm for a target power of the primary endpoint (bisection).

    Each size is simulated with the same seeds (common random numbers: patient ``i`` of
    an arm is the same patient at every size), which makes the power curve far less noisy
    than independent runs; with few replicates it can still dip between neighbouring
    sizes, so the table lists every size tried with the Clopper-Pearson interval of its
    power, and a logistic curve in ``sqrt(n)`` (monotone) is fitted to all of them.

    Parameters
    ----------
    spec
        A two-arm (or more) trial spec, file or preset.
    target_power
        In (0, 1).
    n_range
        ``(low, high)`` patients per arm to search.
    replicates
        Replicates per size (default: the spec's).
    parameters
        Simulation parameters (default: the spec's).
    alpha
        Significance level of the test (default: the spec's ``analysis.alpha``).
    method, sides
        The test counted (default: the spec's ``analysis.method``, log-rank, and
        ``analysis.sides``, 2; see :attr:`TrialResult.tests`): ``log_rank``, ``cox``,
        ``rmst``, ``rate_ratio`` or ``neda``; one- or two-sided.
    seed
        Overrides the spec's seed.
    dropout
        Share of patients lost to follow-up by the end of follow-up, in [0, 1): sets the
        schedule's ``loss_to_follow_up_per_year`` to ``-log(1 - dropout) / years``.
    accrual_years, analysis_years
        Override the spec's staggered entry and analysis time (administrative
        censoring: patient ``i`` entering at ``e_i`` is followed for
        ``min(follow_up_years, analysis_years - e_i)``; see :class:`TrialSpec`).
    conf_level
        Level of the Monte Carlo intervals.
    uncertainty
        Overrides the spec's ``uncertainty``: ``"posterior"`` simulates replicate ``r`` of
        every size under the same parameter draw ``r`` from the calibration posterior
        (:func:`run_trial`), so the power of each size averages over parameter
        uncertainty, and the random numbers stay common across sizes.
    progress
        Called with ``(replicates done, replicates planned)`` (the plan can grow by one
        size at the end of the search).

    Returns
    -------
    pandas.DataFrame
        One row per size tried: ``n_per_arm``, ``replicates``, ``significant``,
        ``power``, ``power_low``, ``power_high`` (Clopper-Pearson) and ``power_fitted``;
        ``attrs``: ``n_per_arm`` (the smallest size found with power >= target, to
        within 5% of n; ``nan`` when even the largest falls short), ``n_per_arm_fitted``,
        ``n_per_arm_low`` and ``n_per_arm_high`` (the fitted curve's size and its
        interval), ``n_per_arm_schoenfeld`` (Schoenfeld's formula with the median
        simulated hazard ratio and event share at the largest size; ``nan`` unless the
        method is ``log_rank`` or ``cox``), ``hazard_ratio``, ``method``, ``sides``,
        ``event_share``, ``target_power``, ``alpha``, ``conf_level``, ``replicates``,
        ``uncertainty`` and ``ranges_include`` (what the power intervals include).
    """
    if not isinstance(spec, TrialSpec):
        spec = load_trial_spec(spec)
    if len(spec.arms) < 2:
        raise ValueError(
            "sample_size needs a trial with at least two arms; got one. Add a comparator arm."
        )
    if not 0 < target_power < 1:
        raise ValueError(f"target_power must be in (0, 1); got {target_power}.")
    lo, hi = n_range
    if not 2 <= lo < hi:
        raise ValueError(f"n_range must be (low, high) with 2 <= low < high; got {n_range}.")
    if alpha is not None and not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1); got {alpha}. Did you mean {alpha / 100:g}?")
    checked_uncertainty(uncertainty)
    if dropout is not None and not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1); got {dropout}. Give a share, e.g. 0.1.")
    changes: dict[str, object] = {}
    analysis = {
        k: v for k, v in (("alpha", alpha), ("method", method), ("sides", sides)) if v is not None
    }
    if analysis:
        changes["analysis"] = spec.analysis.model_validate(
            {**spec.analysis.model_dump(), **analysis}
        )
    if seed is not None:
        changes["seed"] = seed
    if dropout is not None:
        rate = -math.log(1 - dropout) / spec.follow_up_years
        changes["schedule"] = {**spec.schedule, "loss_to_follow_up_per_year": rate}
    if accrual_years is not None:
        changes["accrual_years"] = accrual_years
    if analysis_years is not None:
        changes["analysis_years"] = analysis_years
    if replicates is not None:
        changes["replicates"] = replicates
    if uncertainty is not None:
        changes["uncertainty"] = uncertainty
    if changes:
        spec = spec.with_(**changes)
    reps = spec.replicates
    steps = max(1, math.ceil(math.log2(max(2, (hi - lo) / max(1, lo // 20))))) + 1
    planned = reps * steps
    done = 0
    tried: dict[int, TrialResult] = {}

    def tick(count: int) -> None:
        if progress is not None:
            progress(done + count, max(planned, done + count))

    def power(n: int) -> float:
        nonlocal done
        if n not in tried:
            tried[n] = run_trial(spec.scaled(n), parameters=parameters, progress=tick)
            done += reps
        return tried[n].power()

    answer: float = float("nan")
    if power(hi) >= target_power:
        answer = hi
        while hi - lo > max(1, lo // 20):
            mid = (lo + hi) // 2
            if power(mid) >= target_power:
                hi = mid
                answer = mid
            else:
                lo = mid
    if progress is not None:
        progress(done, done)
    return _table(spec, tried, answer, target_power, conf_level)


def _table(
    spec: TrialSpec,
    tried: dict[int, TrialResult],
    answer: float,
    target_power: float,
    conf_level: float,
) -> pd.DataFrame:
    sizes = sorted(tried)
    reps = spec.replicates
    significant = [round(tried[n].power() * reps) for n in sizes]
    intervals = [exact_binomial_ci(k, reps, conf_level) for k in significant]
    fit = fit_power_curve(np.array(sizes), np.array(significant), np.full(len(sizes), reps))
    table = pd.DataFrame(
        {
            "n_per_arm": sizes,
            "replicates": reps,
            "significant": significant,
            "power": [k / reps for k in significant],
            "power_low": [lo for lo, _ in intervals],
            "power_high": [hi for _, hi in intervals],
            "power_fitted": fit.power(np.array(sizes, dtype=float)),
        }
    )
    n_fit, n_low, n_high = fit.n_for(target_power, conf_level)
    largest = tried[sizes[-1]]
    hr, share = _effect(largest)
    table.attrs.update(
        {
            "n_per_arm": answer,
            "n_per_arm_fitted": n_fit,
            "n_per_arm_low": n_low,
            "n_per_arm_high": n_high,
            "hazard_ratio": hr,
            "event_share": share,
            "n_per_arm_schoenfeld": (
                schoenfeld_n_per_arm(
                    hr,
                    share,
                    alpha=spec.analysis.alpha,
                    power=target_power,
                    sides=spec.analysis.sides,
                )
                if spec.analysis.method in ("log_rank", "cox")
                else math.nan
            ),
            "method": spec.analysis.method,
            "sides": spec.analysis.sides,
            "target_power": target_power,
            "alpha": spec.analysis.alpha,
            "conf_level": conf_level,
            "replicates": reps,
            "uncertainty": spec.uncertainty,
            "ranges_include": RANGES_INCLUDE[spec.uncertainty],
        }
    )
    return table


def _effect(result: TrialResult) -> tuple[float, float]:
    """Median reliable hazard ratio of the primary endpoint and the share of patients with
    an event by the last landmark (both arms), at one size."""
    spec = result.spec
    name = spec.analysis.primary or spec.analysis.endpoints[0]
    ratios = result.hazard_ratios
    ratios = ratios[(ratios["endpoint"] == name) & ratios["hr_reliable"].astype(bool)]
    hr = float(ratios["hazard_ratio"].median()) if len(ratios) else math.nan
    est = result.estimates[result.estimates["endpoint"] == name]
    last = est[est["time_years"] == est["time_years"].max()]
    per_replicate = last.groupby("replicate")[["events", "n"]].sum()
    share = float((per_replicate["events"] / per_replicate["n"]).mean()) if len(last) else math.nan
    return hr, share
