"""The shipped calibration posterior: the weighted ABC-SMC particles behind the calibrated
parameter set (``simulate/data/calibration_posterior.csv``, the calibration report's
``docs/calibration/posterior.csv``), and parameter sets drawn from it by weight, for
carrying parameter uncertainty into virtual trials and projections."""

from __future__ import annotations

import functools
from collections.abc import Collection
from importlib import resources

import numpy as np
import pandas as pd

__all__ = ["POSTERIOR_FILE", "posterior_draws", "posterior_particles"]

POSTERIOR_FILE = "calibration_posterior.csv"
"""Name of the posterior in ``msreboot/simulate/data/``."""

_BOOKKEEPING = ("weight", "distance")


@functools.cache
def _read() -> pd.DataFrame:
    node = resources.files("msreboot.simulate") / "data" / POSTERIOR_FILE
    with resources.as_file(node) as file:
        frame = pd.read_csv(file)
    weights = frame["weight"].to_numpy(dtype=float)
    if not (len(frame) and np.all(np.isfinite(weights)) and np.all(weights >= 0)):
        raise ValueError(
            f"{POSTERIOR_FILE} weights must be finite and >= 0 with at least one particle; "
            f"got {len(frame)} particle(s). Copy docs/calibration/posterior.csv again."
        )
    if not weights.sum() > 0:
        raise ValueError(
            f"{POSTERIOR_FILE} weights must not all be 0; got a sum of 0. "
            "Copy docs/calibration/posterior.csv again."
        )
    return frame


def posterior_particles() -> pd.DataFrame:
    """The particles as shipped: one row per particle (its position is its ``particle``
    number), a column per calibrated parameter, ``weight`` and ``distance``."""
    return _read().copy()


def posterior_draws(
    draws: int,
    seed: int | np.random.SeedSequence,
    *,
    keep: Collection[str] | None = None,
) -> pd.DataFrame:
    """``draws`` particles drawn by weight, with replacement, with the parameters in
    ``keep`` (default: all; see :meth:`SimulationParameters.posterior_draws`)."""
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 0:
        raise ValueError(f"draws must be an integer >= 0; got {draws!r}. Give a count, e.g. 10.")
    frame = _read()
    weights = frame["weight"].to_numpy(dtype=float)
    sequence = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    rng = np.random.default_rng(sequence)
    rows = rng.choice(len(frame), size=int(draws), replace=True, p=weights / weights.sum())
    columns = [c for c in frame.columns if c not in _BOOKKEEPING]
    if keep is not None:
        columns = [c for c in columns if c in keep]
    out = frame.iloc[rows][columns].reset_index(drop=True)
    out.insert(0, "particle", rows.astype(int))
    return out
