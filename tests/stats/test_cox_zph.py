"""Proportional-hazards test: shape, defined failures, a detected violation, invariances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msreboot.stats._cox_zph import ProportionalHazardsTest, proportional_hazards_test


def _crossing(n: int = 400, seed: int = 3) -> pd.DataFrame:
    """Arm b has 4 times the hazard early and a quarter of it after t = 5: not proportional."""
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 2, size=n)
    early = rng.exponential(1 / np.where(arm == 1, 0.4, 0.1))
    late = 5 + rng.exponential(1 / np.where(arm == 1, 0.025, 0.1))
    event_time = np.where(early < 5, early, late)
    censor = rng.uniform(0, 30, size=n)
    return pd.DataFrame(
        {
            "time": np.round(np.minimum(event_time, censor), 2),
            "event": (event_time <= censor).astype(int),
            "arm": np.where(arm == 1, "b", "a"),
            "x": rng.normal(size=n),
            "centre": rng.choice(["c1", "c2"], size=n),
        }
    )


def test_a_crossing_hazard_is_detected_and_noise_is_not() -> None:
    test = proportional_hazards_test(_crossing(), "time", "event", ["arm", "x"])
    frame = test.to_frame().set_index("test")
    assert frame.loc["arm", "pvalue"] < 1e-4
    assert frame.loc["x", "pvalue"] > 0.01
    assert test.global_pvalue < 1e-3


def test_result_shape() -> None:
    data = _crossing()
    test = proportional_hazards_test(data, "time", "event", ["arm", "x"], transform="rank")
    assert isinstance(test, ProportionalHazardsTest)
    assert test.names == ("arm", "x", "GLOBAL")
    assert test.df == (1, 1, 2)
    assert list(test.to_frame().columns) == ["test", "chisq", "df", "pvalue", "transform"]
    resid = test.residuals_frame()
    assert list(resid.columns) == ["time", "transformed_time", "arm[b]", "x"]
    assert len(resid) == test.model.n_events
    assert np.all(np.diff(resid["time"]) >= 0)
    assert "rank time" in test.summary()
    assert "<table" in test._repr_html_()
    # The scaled residuals average to the coefficient (the Schoenfeld residuals sum to 0).
    np.testing.assert_allclose(resid[["arm[b]", "x"]].mean(), test.model.coef, atol=1e-8)


def test_terms_group_the_levels_of_a_categorical_covariate() -> None:
    data = _crossing().assign(grade=lambda f: np.array(["i", "ii", "iii"])[np.arange(len(f)) % 3])
    grouped = proportional_hazards_test(data, "time", "event", ["grade", "x"])
    single = proportional_hazards_test(data, "time", "event", ["grade", "x"], terms=False)
    assert grouped.names == ("grade", "x", "GLOBAL")
    assert grouped.df == (2, 1, 3)
    assert single.names == ("grade[ii]", "grade[iii]", "x", "GLOBAL")
    assert grouped.chisq[1] == pytest.approx(single.chisq[2], rel=1e-12)
    assert grouped.chisq[-1] == pytest.approx(single.chisq[-1], rel=1e-12)


def test_unit_weights_change_nothing() -> None:
    data = _crossing().assign(one=1.0)
    plain = proportional_hazards_test(data, "time", "event", ["arm", "x"], strata="centre")
    weighted = proportional_hazards_test(
        data, "time", "event", ["arm", "x"], strata="centre", weights_col="one"
    )
    np.testing.assert_allclose(plain.chisq, weighted.chisq, rtol=1e-10)


def test_unknown_transform_fails() -> None:
    with pytest.raises(ValueError, match="transform must be 'km', 'identity' or 'rank'"):
        proportional_hazards_test(_crossing(), "time", "event", ["x"], transform="log")  # type: ignore[arg-type]


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), transform=st.sampled_from(["km", "identity", "rank"]))
def test_row_order_does_not_change_the_test(seed: int, transform: str) -> None:
    data = _crossing(n=60, seed=seed % 5)
    shuffled = data.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    a = proportional_hazards_test(data, "time", "event", ["arm", "x"], transform=transform)  # type: ignore[arg-type]
    b = proportional_hazards_test(shuffled, "time", "event", ["arm", "x"], transform=transform)  # type: ignore[arg-type]
    np.testing.assert_allclose(a.chisq, b.chisq, rtol=1e-8)
