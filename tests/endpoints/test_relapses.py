"""Annualised relapse rates: hand-worked pooled vs individual rates; exact intervals vs R."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from msreboot.data import Cohort
from msreboot.endpoints import relapse_rates
from msreboot.stats import exact_poisson_ci

REFERENCE = (
    Path(__file__).resolve().parents[1] / "reference" / "endpoints" / "poisson_reference.json"
)
YEAR = 365.25


@pytest.mark.parametrize(
    "case",
    json.loads(REFERENCE.read_text())["cases"],
    ids=lambda c: f"{c['events']}/{c['person_years']}@{c['conf_level']}",
)
def test_exact_poisson_interval_matches_r(case: dict[str, float]) -> None:
    tolerance = json.loads(REFERENCE.read_text())["tolerance_rel"]
    lo, hi = exact_poisson_ci(int(case["events"]), case["person_years"], case["conf_level"])
    assert lo == pytest.approx(case["ci_low"], rel=tolerance, abs=1e-15)
    assert hi == pytest.approx(case["ci_high"], rel=tolerance)


def test_exact_poisson_interval_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"Did you mean 0\.95"):
        exact_poisson_ci(1, 1.0, 95)
    with pytest.raises(ValueError, match="person_years > 0"):
        exact_poisson_ci(1, 0.0)


def _cohort() -> Cohort:
    d = pd.Timestamp
    return Cohort.from_frames(
        {
            "patients": pd.DataFrame(
                {
                    "patient_id": ["A", "B", "C"],
                    "onset_date": [d("2010-01-01")] * 3,
                    "phenotype": ["RRMS"] * 3,
                }
            ),
            "treatments": pd.DataFrame(
                {
                    "patient_id": ["A", "B"],
                    "kind": ["ahsct", "ahsct"],
                    "start_date": [d("2012-01-01"), d("2011-01-01")],
                }
            ),
            "edss": pd.DataFrame(
                {
                    "patient_id": ["A", "B", "C"],
                    "date": [d("2014-01-01"), d("2011-07-02"), d("2011-01-01")],
                    "edss": [3.0, 4.0, 2.0],
                }
            ),
            "relapses": pd.DataFrame(
                {
                    "patient_id": ["A", "A", "A", "B", "C"],
                    "onset_date": [
                        d("2010-06-01"),
                        d("2011-06-01"),
                        d("2013-01-01"),
                        d("2010-03-01"),
                        d("2010-05-01"),
                    ],
                }
            ),
        }
    )


def test_pooled_rate_and_mean_of_individual_rates_differ() -> None:
    rates = relapse_rates(_cohort()).table.set_index("period")
    before_a, before_b = 730 / YEAR, 365 / YEAR
    assert rates.loc["before", "relapses"] == 3
    assert rates.loc["before", "person_years"] == pytest.approx(before_a + before_b)
    assert rates.loc["before", "arr"] == pytest.approx(3 / (before_a + before_b))
    assert rates.loc["before", "mean_individual_arr"] == pytest.approx(
        (2 / before_a + 1 / before_b) / 2
    )
    after_a, after_b = 731 / YEAR, 182 / YEAR
    assert rates.loc["after", "relapses"] == 1
    assert rates.loc["after", "arr"] == pytest.approx(1 / (after_a + after_b))
    assert rates.loc["after", "mean_individual_arr"] == pytest.approx((1 / after_a + 0) / 2)
    assert rates.loc["after", "patients"] == 2  # C has no AHSCT


def test_whole_follow_up_and_a_limited_window_before() -> None:
    whole = relapse_rates(_cohort(), anchor=None).table
    assert whole["period"].tolist() == ["all"]
    assert whole.loc[0, "relapses"] == 5
    assert whole.loc[0, "patients"] == 3
    window = relapse_rates(_cohort(), years_before=1).table.set_index("period")
    # A: 2011-01-01 to 2012-01-01 (one relapse); B: from onset, the window reaching past it
    assert window.loc["before", "relapses"] == 2
    assert window.loc["before", "person_years"] == pytest.approx(730 / YEAR)


def test_relapse_rates_errors() -> None:
    with pytest.raises(ValueError, match="no msc courses"):
        relapse_rates(_cohort(), anchor="msc")
    with pytest.raises(ValueError, match="years_before"):
        relapse_rates(_cohort(), years_before=0)
