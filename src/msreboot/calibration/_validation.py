"""Leave-one-study-out predictions from a calibration's stored simulations.

Every proposal of an ABC-SMC run simulated *every* study, each from its own seed. So the
fit without study S can be read from the simulations already made: importance sampling
over all proposals of all generations, with the deterministic-mixture proposal density
``q(theta) = sum_t (n_t / n) q_t(theta)`` (each generation's truncated-kernel mixture, or
the prior) and ABC acceptance on the distance over the *other* studies' targets (the
``keep`` closest proposals). The accepted proposals' own simulations of S are then draws
from the posterior predictive of S given the other studies: its prediction.

Because the proposals were focused by a fit that included S, the importance weights do
the correcting; their effective sample size is reported with each prediction, and
:func:`msreboot.calibration.calibrate` with ``exclude_studies`` refits without a
study from scratch when that is too small.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from msreboot.calibration._run import _Run, z_scores
from msreboot.calibration._smc import effective_sample_size, weighted_quantile

__all__ = ["leave_one_study_out", "recycled_simulations"]

PREDICTION = (0.05, 0.95)


def recycled_simulations(folder: str | Path) -> pd.DataFrame:
    """Every proposal a run evaluated, with its log importance weight against the prior
    (``log_weight``, up to a constant) under the mixture of the generations' proposals."""
    run = _Run(Path(folder))
    paths = sorted((run.folder / "batches").glob("g*_b*.parquet"))
    if not paths:
        raise ValueError(f"{folder}: no simulations stored yet")
    sims = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    done = run.completed()
    sims = sims[sims["generation"] <= done].reset_index(drop=True)
    z = sims[run.theta_columns()].to_numpy(dtype=float)
    counts = sims["generation"].value_counts().sort_index()
    terms = []
    for t, count in counts.items():
        proposal = run.proposal(int(str(t)))
        terms.append(math.log(count / len(sims)) + proposal.log_density(z))
    log_q = logsumexp(np.vstack(terms), axis=0)
    sims["log_weight"] = -log_q
    return sims


def leave_one_study_out(folder: str | Path, *, keep: int | None = None) -> pd.DataFrame:
    """Predict each fitted study's targets from the fit to the other studies.

    Parameters
    ----------
    folder
        A calibration folder (:func:`calibrate`).
    keep
        Proposals accepted for each left-out fit (default: the run's population size).

    Returns
    -------
    pandas.DataFrame
        One row per target of each left-out study: the published value and interval, the
        predicted median and 90% interval, whether each lies in the other's interval,
        the ABC tolerance on the other studies and the effective sample size.
    """
    run = _Run(Path(folder))
    sims = recycled_simulations(folder)
    keep = keep or run.settings.population_size
    studies = list(dict.fromkeys(t.study for t in run.targets))
    rows = []
    for study in studies:
        others = [t for t in run.targets if t.study != study]
        if not others:
            continue
        d = np.sqrt(np.mean(z_scores(others, sims) ** 2, axis=1))
        order = np.argsort(d, kind="stable")[: min(keep, len(d))]
        chosen = sims.iloc[order]
        log_w = chosen["log_weight"].to_numpy(dtype=float)
        weights = np.exp(log_w - log_w.max())
        ess = effective_sample_size(weights)
        for target in (t for t in run.targets if t.study == study):
            values = chosen[f"stat:{target.id}"].to_numpy(dtype=float)
            low, mid, high = weighted_quantile(values, weights, (PREDICTION[0], 0.5, PREDICTION[1]))
            p_low, p_high = target.interval()
            rows.append(
                {
                    "left_out": study,
                    "target": target.id,
                    "label": target.label(),
                    "scale": target.scale,
                    "published": target.value,
                    "published_low": p_low,
                    "published_high": p_high,
                    "predicted": float(mid),
                    "predicted_low": float(low),
                    "predicted_high": float(high),
                    "predicted_in_published": bool(p_low <= mid <= p_high),
                    "published_in_prediction": bool(low <= target.value <= high),
                    "tolerance": float(d[order[-1]]),
                    "ess": ess,
                }
            )
    return pd.DataFrame(rows)
