"""An endpoint compared between groups: the same numbers as the checked Cox and log-rank."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msreboot.datasets import load_example
from msreboot.endpoints import compare_endpoint, endpoint_times, estimate_endpoint
from msreboot.endpoints._definitions import EndpointDefinition
from msreboot.stats import cox_regression, log_rank_test
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


def test_baseline_covariates_on_constructed_patients() -> None:
    from msreboot.endpoints import baseline_covariates

    cohort = make_cohort(
        edss=[("A", -400, 2.0), ("A", -5, 3.5), ("A", 0, 4.0), ("A", 30, 6.0), ("B", 10, 2.0)],
        relapses=[("A", -400, None), ("A", -365, None), ("A", -10, None), ("A", 0, None)],
        day0={"A": 0, "B": 0},
    )
    table = baseline_covariates(cohort).set_index("patient_id")
    assert table.loc["A", "baseline_edss"] == 4.0  # on or before day 0
    assert np.isnan(table.loc["B", "baseline_edss"])
    assert table.loc["A", "relapses_prior_year"] == 2  # days -365 and -10; not day 0
    assert table.loc["A", "age_years"] == pytest.approx(12000 / 365.25)
    assert not table.loc["A", "progressive"]


def test_baseline_covariates_with_an_anchor_table() -> None:
    from msreboot.endpoints import baseline_covariates

    cohort = load_example()
    first_edss = cohort.edss.groupby("patient_id")["date"].min()
    anchor = pd.DataFrame({"patient_id": first_edss.index, "anchor_date": first_edss.to_numpy()})
    table = baseline_covariates(cohort, anchor=anchor)
    assert len(table) == cohort.n_patients
    assert table["baseline_edss"].notna().all()  # the first visit is on day 0
    assert "conditioning_intensity" not in table.columns


def test_endpoint_cox_is_cox_regression_on_the_merged_table() -> None:
    from msreboot.endpoints import baseline_covariates, endpoint_cox

    cohort = load_example()
    model = endpoint_cox(cohort, "relapse_free", ["age_years", "sex"])
    times = endpoint_times(cohort, EndpointDefinition.relapse_free()).patients
    data = times.merge(baseline_covariates(cohort), on="patient_id").assign(
        event=lambda f: f["event"].astype(int)
    )
    expected = cox_regression(data, "time_years", "event", ["age_years", "sex"])
    np.testing.assert_allclose(model.coef, expected.coef)
    assert model.n == len(data)
    with pytest.raises(ValueError, match="Available: age_years"):
        endpoint_cox(cohort, "relapse_free", ["height"])
