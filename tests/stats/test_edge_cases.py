"""Degenerate inputs of the survival statistics and exact intervals: defined behaviour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msreboot.stats import check_counts, cox_regression, exact_binomial_ci, exact_poisson_ci


@pytest.mark.parametrize(
    ("time", "event"),
    [
        pytest.param([0, 0, 0, 0], [1, 1, 1, 1], id="every-event-at-0"),
        pytest.param([3, 3, 1, 2], [1, 1, 0, 0], id="events-at-the-last-time"),
    ],
)
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cox_without_comparable_pairs_has_nan_concordance_and_warns(
    time: list[float], event: list[int], ties: str
) -> None:
    frame = pd.DataFrame({"t": time, "e": event, "x": [1, 0, 1, 0]})
    with pytest.warns(RuntimeWarning, match="concordance is undefined"):
        model = cox_regression(frame, "t", "e", ["x"], ties=ties)  # type: ignore[arg-type]
    assert np.isnan(model.concordance)
    assert np.isfinite(model.coef).all()
    assert np.isfinite(model.std_err).all()
    assert "concordance nan" in model.summary()


def test_cox_events_and_censorings_tied_at_0_are_comparable_as_in_r() -> None:
    # R's coxph counts an event and a censoring at the same time as a comparable pair
    # (the censored one lived longer): here 4 pairs, all tied in the predictor, C = 1/2.
    frame = pd.DataFrame({"t": [0, 0, 0, 0], "e": [1, 1, 0, 0], "x": [1, 0, 1, 0]})
    model = cox_regression(frame, "t", "e", ["x"])
    assert model.concordance == pytest.approx(0.5)


def test_cox_with_events_at_0_and_later_follow_up_is_unchanged() -> None:
    frame = pd.DataFrame({"t": [0, 0, 0, 5], "e": [1, 1, 1, 0], "x": [1, 0, 1, 0]})
    model = cox_regression(frame, "t", "e", ["x"])
    assert 0.0 <= model.concordance <= 1.0


@pytest.mark.parametrize(
    ("call", "name"),
    [
        pytest.param(lambda: exact_binomial_ci(1.5, 10), "events", id="binomial-events"),  # type: ignore[arg-type]
        pytest.param(lambda: exact_binomial_ci(1, 10.5), "n", id="binomial-n"),  # type: ignore[arg-type]
        pytest.param(lambda: exact_poisson_ci(2.5, 10.0), "events", id="poisson-events"),  # type: ignore[arg-type]
    ],
)
def test_counts_must_be_whole_numbers(call: object, name: str) -> None:
    with pytest.raises(ValueError, match=f"{name} must be whole numbers >= 0"):
        call()  # type: ignore[operator]


def test_check_counts_names_the_position_and_raises_the_given_error() -> None:
    class Custom(ValueError):
        pass

    with pytest.raises(Custom, match=r"got 1.5 at position 1"):
        check_counts("events", [1, 1.5], Custom)
    assert check_counts("events", [0, 3]).tolist() == [0.0, 3.0]
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="whole numbers"):
            check_counts("events", [bad])
