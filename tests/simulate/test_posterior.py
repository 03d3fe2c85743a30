"""The shipped calibration posterior: one copy in the package, equal to the calibration
report's file, and draws by weight that are reproducible and prefix-stable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msreboot.simulate import SimulationParameters

ROOT = Path(__file__).resolve().parents[2]


def test_one_packaged_copy_equal_to_the_calibration_report() -> None:
    shipped = ROOT / "src/msreboot/simulate/data/calibration_posterior.csv"
    copies = sorted(p.relative_to(ROOT) for p in (ROOT / "src").rglob("*posterior*.csv"))
    assert copies == [shipped.relative_to(ROOT)]
    docs = ROOT / "docs" / "calibration" / "posterior.csv"
    if not docs.is_file():
        pytest.skip("docs/calibration/posterior.csv is not in this checkout")
    assert shipped.read_bytes() == docs.read_bytes()


def test_particles_have_weights_and_every_column_is_a_parameter() -> None:
    particles = SimulationParameters.posterior()
    assert {"weight", "distance"} <= set(particles.columns)
    assert (particles["weight"] >= 0).all()
    assert particles["weight"].sum() > 0
    names = set(SimulationParameters.names())
    assert set(particles.columns) - {"weight", "distance"} <= names
    particles.loc[0, "weight"] = -1.0  # a copy: the shipped table is untouched
    assert (SimulationParameters.posterior()["weight"] >= 0).all()


def test_draws_follow_the_weights() -> None:
    # 100 particles, 200,000 draws: each particle's count is binomial(N, w_i); every
    # standardised difference within 5 SD (chance of any exceeding it < 1e-4) and the
    # chi-square statistic within its mean +/- 6 SD (df = 99 particles with weight > 0).
    particles = SimulationParameters.posterior()
    w = particles["weight"].to_numpy(dtype=float)
    p = w / w.sum()
    n = 200_000
    draws = SimulationParameters.posterior_draws(n, seed=11)
    counts = np.bincount(draws["particle"].to_numpy(), minlength=len(p))
    sd = np.sqrt(n * p * (1 - p))
    live = p > 0
    assert np.all(np.abs(counts[live] - n * p[live]) <= 5 * sd[live])
    assert np.all(counts[~live] == 0)
    chi2 = float(np.sum((counts[live] - n * p[live]) ** 2 / (n * p[live])))
    df = int(live.sum()) - 1
    assert abs(chi2 - df) <= 6 * np.sqrt(2 * df)


def test_a_draw_carries_its_particles_values() -> None:
    particles = SimulationParameters.posterior()
    draws = SimulationParameters.posterior_draws(20, seed=3)
    for row in draws.to_dict("records"):
        source = particles.iloc[int(row["particle"])]
        for name, value in row.items():
            if name != "particle":
                assert value == source[name]


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    n=st.integers(min_value=0, max_value=60),
    k=st.integers(min_value=0, max_value=60),
)
def test_draws_are_reproducible_and_prefix_stable(seed: int, n: int, k: int) -> None:
    k = min(k, n)
    first = SimulationParameters.posterior_draws(n, seed)
    again = SimulationParameters.posterior_draws(n, np.random.SeedSequence(seed))
    assert first.equals(again)
    assert first.iloc[:k].equals(SimulationParameters.posterior_draws(k, seed))
    assert len(first) == n
    weights = SimulationParameters.posterior()["weight"].to_numpy()
    assert np.all(weights[first["particle"].to_numpy()] > 0)


def test_calibrated_only_keeps_what_the_calibrated_set_takes() -> None:
    draws = SimulationParameters.posterior_draws(4, seed=5, calibrated_only=True)
    every = SimulationParameters.posterior_draws(4, seed=5)
    assert "late_reactivation_per_year" in every
    assert "late_reactivation_per_year" not in draws
    assert draws["particle"].equals(every["particle"])
    base = SimulationParameters.preset("calibrated")
    default = SimulationParameters.default()
    changed = {n for n in base.names() if getattr(base, n) != getattr(default, n)}
    assert set(draws.columns) - {"particle"} <= changed


@pytest.mark.parametrize("draws", [-1, 2.5, True], ids=["negative", "float", "bool"])
def test_a_bad_count_is_an_error(draws: object) -> None:
    with pytest.raises(ValueError, match="draws must be an integer >= 0"):
        SimulationParameters.posterior_draws(draws, seed=1)  # type: ignore[arg-type]
