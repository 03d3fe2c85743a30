"""Priors and the sequential Monte Carlo pieces of approximate Bayesian computation.

ABC-SMC after Beaumont et al. (Biometrika 2009) and Toni et al. (J R Soc Interface 2009):
generation 0 samples the prior; generation ``t`` resamples the previous population by
weight, perturbs each particle with a Gaussian kernel of twice the population's weighted
covariance (truncated to the prior's support, with the truncation mass in the density),
keeps proposals whose distance is within the tolerance and weights them by prior over
proposal density. Every prior is uniform on its working scale (the natural or the log
scale), so a particle's weight is proportional to one over the proposal density.

All randomness comes from ``numpy.random.SeedSequence(seed, spawn_key=...)`` keyed by
generation and proposal index, never from shared state: the same seed gives the same
proposals, in the same order, whoever evaluates them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from scipy.special import logsumexp

from msreboot.data import describe_validation_errors, read_toml
from msreboot.simulate import SimulationParameters

__all__ = ["Prior", "Proposal", "load_priors"]

Array = npt.NDArray[np.float64]


class Prior(BaseModel):
    """A uniform prior of one simulation parameter, on the natural or the log scale."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    distribution: Literal["uniform", "log_uniform"]
    low: float
    high: float
    why: str = ""

    @model_validator(mode="after")
    def _valid(self) -> Prior:
        if self.name not in SimulationParameters.model_fields:
            raise ValueError(f"{self.name!r} is not a SimulationParameters field")
        if not self.low < self.high:
            raise ValueError(f"low must be below high; got {self.low} and {self.high}")
        if self.distribution == "log_uniform" and self.low <= 0:
            raise ValueError("a log-uniform prior needs low > 0")
        return self

    @property
    def bounds(self) -> tuple[float, float]:
        """The support on the working scale."""
        if self.distribution == "log_uniform":
            return math.log(self.low), math.log(self.high)
        return self.low, self.high

    def natural(self, z: Array) -> Array:
        """Working scale to natural scale."""
        return np.exp(z) if self.distribution == "log_uniform" else z


def read_tables(path: str | Path | None, bundled: str, key: str) -> tuple[str, list[Any]]:
    """The ``[[key]]`` tables of a TOML file, or of the bundled ``data/<bundled>``, with a
    label for error messages."""
    what = f"calibration {key}s file"
    if path is None:
        node = resources.files("msreboot.calibration") / "data" / bundled
        return f"bundled {bundled}", list(read_toml(node, what=what).get(key, []))
    return str(path), list(read_toml(Path(path), what=what).get(key, []))


def load_priors(path: str | Path | None = None) -> tuple[Prior, ...]:
    """Read ``[[prior]]`` tables from TOML (default: the bundled priors)."""
    label, entries = read_tables(path, "priors.toml", "prior")
    priors = []
    for k, entry in enumerate(entries, start=1):
        try:
            priors.append(Prior.model_validate(entry))
        except ValidationError as error:
            problems = describe_validation_errors(error, "prior")
            raise ValueError(f"{label}: prior {entry.get('name', f'#{k}')}: {problems}") from None
    names = [p.name for p in priors]
    if len(set(names)) < len(names) or not priors:
        raise ValueError(f"{label}: give each parameter one prior (got {names})")
    return tuple(priors)


class Box:
    """The priors' joint support on the working scale."""

    def __init__(self, priors: Sequence[Prior]) -> None:
        self.priors = tuple(priors)
        self.low = np.array([p.bounds[0] for p in priors])
        self.high = np.array([p.bounds[1] for p in priors])

    def inside(self, z: Array) -> npt.NDArray[np.bool_]:
        inside: npt.NDArray[np.bool_] = np.all((z >= self.low) & (z <= self.high), axis=-1)
        return inside

    def sample(self, rng: np.random.Generator) -> Array:
        return rng.uniform(self.low, self.high)

    def natural(self, z: Array) -> dict[str, float]:
        return {p.name: float(p.natural(z[i])) for i, p in enumerate(self.priors)}

    @property
    def log_volume(self) -> float:
        return float(np.sum(np.log(self.high - self.low)))


def _sample_key(seed: int, generation: int, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(generation, index, 0)))


def simulation_seed(seed: int, generation: int, index: int) -> int:
    """The seed of proposal ``index`` of ``generation``'s simulations (a 64-bit integer)."""
    state = np.random.SeedSequence(seed, spawn_key=(generation, index, 1)).generate_state(2)
    return int(state[0]) << 32 | int(state[1])


class Proposal:
    """Where generation ``t`` draws its particles from: the prior (``t = 0``), or the
    previous population perturbed by a truncated Gaussian kernel."""

    def __init__(
        self,
        box: Box,
        population: Array | None = None,
        weights: Array | None = None,
        *,
        seed: int = 0,
        generation: int = 0,
    ) -> None:
        self.box, self.seed, self.generation = box, seed, generation
        self.population = population
        if population is None:
            self.weights = None
            self.cov = None
            return
        assert weights is not None
        w = np.asarray(weights, dtype=float) / np.sum(weights)
        self.weights = w
        centred = population - w @ population
        cov = 2.0 * (centred.T * w) @ centred
        cov += np.diag(1e-10 + 1e-6 * (box.high - box.low) ** 2)
        self.cov = cov
        self._chol = np.linalg.cholesky(cov)
        self._inv = np.linalg.inv(cov)
        self._log_det = float(2 * np.sum(np.log(np.diag(self._chol))))
        self._log_mass = self._truncation_log_mass()

    def _truncation_log_mass(self, draws: int = 4000) -> Array:
        """Log probability that the kernel around each particle lands inside the support
        (Monte Carlo with a fixed stream; exact enough for weights)."""
        assert self.population is not None
        rng = np.random.default_rng(
            np.random.SeedSequence(self.seed, spawn_key=(self.generation, 2**31, 2))
        )
        noise = rng.standard_normal((draws, len(self.box.low))) @ self._chol.T
        out = np.empty(len(self.population))
        for j, centre in enumerate(self.population):
            share = float(np.mean(self.box.inside(centre + noise)))
            out[j] = math.log(max(share, 1.0 / draws))
        return out

    def draw(self, index: int) -> Array:
        """Proposal ``index`` (reproducible from the seed, generation and index alone)."""
        rng = _sample_key(self.seed, self.generation, index)
        if self.population is None:
            return self.box.sample(rng)
        assert self.weights is not None
        for _ in range(10_000):
            j = int(rng.choice(len(self.population), p=self.weights))
            z = self.population[j] + self._chol @ rng.standard_normal(len(self.box.low))
            if self.box.inside(z):
                return np.asarray(z, dtype=float)
        raise RuntimeError("the perturbation kernel keeps leaving the prior's support")

    def log_density(self, z: Array) -> Array:
        """Log proposal density at each row of ``z`` (working scale)."""
        z = np.atleast_2d(z)
        inside = self.box.inside(z)
        if self.population is None:
            return np.where(inside, -self.box.log_volume, -np.inf)
        assert self.weights is not None
        k = len(self.box.low)
        diff = z[:, None, :] - self.population[None, :, :]
        quad = np.einsum("ijk,kl,ijl->ij", diff, self._inv, diff)
        log_kernel = -0.5 * (quad + self._log_det + k * math.log(2 * math.pi)) - self._log_mass
        out = logsumexp(log_kernel + np.log(self.weights)[None, :], axis=1)
        return np.where(inside, out, -np.inf)


def effective_sample_size(weights: Array) -> float:
    """Kish's effective sample size of normalised weights."""
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    return float(1.0 / np.sum(w**2))


def weighted_quantile(values: Array, weights: Array, q: float | Sequence[float]) -> Array:
    """Quantiles of a weighted sample (inverse of the weighted empirical CDF, midpoints)."""
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    keep = np.isfinite(v) & (w > 0)
    v, w = v[keep], w[keep]
    if len(v) == 0:
        return np.full(np.shape(q), np.nan)
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    out: Array = np.asarray(np.interp(q, cdf, v), dtype=float)
    return out


def distance(z_scores: Array) -> float:
    """Root mean square of the targets' standardised differences."""
    z = np.asarray(z_scores, dtype=float)
    return float(np.sqrt(np.mean(z**2)))
