"""Transplant-related mortality: hand-worked windows and exact intervals checked against R."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from msreboot.data import Cohort
from msreboot.endpoints import transplant_mortality
from msreboot.stats import exact_binomial_ci

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "endpoints" / "binom_reference.json"


@pytest.mark.parametrize(
    "case",
    json.loads(REFERENCE.read_text())["cases"],
    ids=lambda c: f"{c['events']}/{c['n']}@{c['conf_level']}",
)
def test_exact_interval_matches_r(case: dict[str, float]) -> None:
    tolerance = json.loads(REFERENCE.read_text())["tolerance_abs"]
    lo, hi = exact_binomial_ci(int(case["events"]), int(case["n"]), case["conf_level"])
    assert lo == pytest.approx(case["ci_low"], abs=tolerance)
    assert hi == pytest.approx(case["ci_high"], abs=tolerance)


def _cohort(death_days: dict[str, int], last_visit_day: int = 400) -> Cohort:
    """Four transplanted patients (day 0 = 2015-01-01) and one on DMT only."""
    day0 = pd.Timestamp("2015-01-01")
    ids = ["T1", "T2", "T3", "T4", "D1"]
    deaths = pd.DataFrame(
        {
            "patient_id": list(death_days),
            "date": [day0 + pd.Timedelta(days=d) for d in death_days.values()],
            "transplant_related": [d <= 100 for d in death_days.values()],
        }
    )
    alive = [p for p in ids if p not in death_days]
    return Cohort.from_frames(
        {
            "patients": pd.DataFrame({"patient_id": ids, "phenotype": "RRMS"}),
            "treatments": pd.DataFrame(
                {
                    "patient_id": ["T1", "T2", "T3", "T4", "T4", "D1"],
                    "kind": ["ahsct"] * 4 + ["ahsct", "dmt"],
                    "start_date": [day0] * 4 + [day0 + pd.Timedelta(days=500), day0],
                }
            ),
            "edss": pd.DataFrame(
                {
                    "patient_id": alive,
                    "date": [day0 + pd.Timedelta(days=last_visit_day)] * len(alive),
                    "edss": 3.0,
                }
            ),
            "deaths": deaths,
        }
    )


def test_window_is_inclusive_at_day_0_and_day_100() -> None:
    result = transplant_mortality(_cohort({"T1": 0, "T2": 100}))
    assert (result.deaths_within_window, result.n_transplanted) == (2, 4)
    assert result.proportion == 0.5


def test_day_101_is_outside_the_window() -> None:
    result = transplant_mortality(_cohort({"T1": 101}))
    assert result.deaths_within_window == 0
    assert result.transplant_related_deaths == 0
    wider = transplant_mortality(_cohort({"T1": 101}), window_days=365)
    assert wider.deaths_within_window == 1


def test_dmt_patients_and_second_transplants_do_not_count() -> None:
    result = transplant_mortality(_cohort({"D1": 10}))
    assert result.n_transplanted == 4
    assert result.deaths_within_window == 0


def test_short_follow_up_is_reported() -> None:
    result = transplant_mortality(_cohort({}, last_visit_day=60))
    assert result.short_follow_up == 3  # T4 has a second course at day 500: followed
    assert "alive with under 100 days" in result.summary()


def test_no_transplants_is_an_error() -> None:
    cohort = Cohort.from_frames(
        {"patients": pd.DataFrame({"patient_id": ["A"], "phenotype": ["RRMS"]})}
    )
    with pytest.raises(ValueError, match="AHSCT courses"):
        transplant_mortality(cohort)


@pytest.mark.parametrize(
    ("events", "n", "level", "message"),
    [
        (1, 0, 0.95, "events must be in"),
        (5, 4, 0.95, "events must be in"),
        (1, 4, 95, "Did you mean 0.95"),
    ],
)
def test_interval_arguments(events: int, n: int, level: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        exact_binomial_ci(events, n, level)
