"""An endpoint compared between groups: the same numbers as the checked Cox and log-rank."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msreboot.datasets import load_example
from msreboot.endpoints import (
    compare_endpoint,
    cox_regression,
    endpoint_times,
    estimate_endpoint,
    log_rank_test,
)
from msreboot.endpoints._definitions import EndpointDefinition
from tests.endpoints.test_composite import make_cohort


def test_hazard_ratio_and_log_rank_are_those_of_the_times() -> None:
    cohort = load_example()
    result = compare_endpoint(cohort, "muraro_2017_pfs", "sex", reference="F", times_years=[3])
    times = endpoint_times(cohort, EndpointDefinition.muraro_2017_pfs()).patients
    sex = cohort.patients.set_index("patient_id")["sex"].astype(str)
    frame = times.assign(sex=sex.reindex(times["patient_id"]).to_numpy(), event=times["event"] * 1)
    cox = cox_regression(frame, "time_years", "event", ["sex"], reference={"sex": "F"})
    row = result.hazard_ratios.iloc[0]
    assert row["group"] == "M"
    assert row["hazard_ratio"] == pytest.approx(cox.hazard_ratio[0])
    assert row["ci_low"] == pytest.approx(cox.ci_low[0])
    test = log_rank_test(frame["time_years"], frame["event"], frame["sex"])
    assert result.log_rank_p == pytest.approx(test.pvalue)
    by_group = estimate_endpoint(cohort, "muraro_2017_pfs", by="sex", times_years=[3])
    assert isinstance(by_group, dict)
    pd.testing.assert_frame_equal(result.estimates["M"].landmarks, by_group["M"].landmarks)
    table = result.to_frame()
    assert set(table["group"]) == {"F", "M"}
    assert np.isnan(table.loc[table["group"] == "F", "hazard_ratio"]).all()


def test_groups_as_a_series_such_as_trial_arms() -> None:
    cohort = make_cohort(
        edss=[(p, d, 3.0) for p in "ABCD" for d in (-5, 900)],
        relapses=[("A", 100, None), ("C", 200, None), ("B", 300, None)],
    )
    arms = pd.Series(["dmt", "dmt", "ahsct", "ahsct"], index=list("ABCD"))
    result = compare_endpoint(cohort, "relapse_free", arms, times_years=[0.5, 2])
    assert result.reference == "ahsct"
    dmt = result.estimates["dmt"].landmarks["estimate"].tolist()
    assert dmt[0] == 0.5
    assert np.isnan(dmt[1])  # after the arm's last follow-up (day 300)
    assert result.estimates["ahsct"].landmarks["estimate"].tolist() == [1.0, 0.5]
    assert result.hazard_ratios["hazard_ratio"].iloc[0] > 1
    assert "HR dmt vs ahsct" in result.summary()


def test_no_events_and_bad_groups() -> None:
    cohort = make_cohort(edss=[(p, d, 3.0) for p in "AB" for d in (-5, 900)])
    arms = pd.Series(["x", "y"], index=["A", "B"])
    result = compare_endpoint(cohort, "relapse_free", arms, times_years=[1])
    assert np.isnan(result.hazard_ratios["hazard_ratio"]).all()
    assert result.cox is None
    with pytest.raises(ValueError, match="at least two groups"):
        compare_endpoint(cohort, "relapse_free", pd.Series(["x", "x"], index=["A", "B"]))
    with pytest.raises(ValueError, match="reference must be one of"):
        compare_endpoint(cohort, "relapse_free", arms, reference="z")
    with pytest.raises(ValueError, match="one group per patient"):
        compare_endpoint(cohort, "relapse_free", pd.Series(["x", "y"], index=["A", "A"]))
