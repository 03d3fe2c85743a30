"""Arm statistics of a replicate (``trials.arm_statistic``), worked by hand on a small
day-based cohort, and ``[[published]]`` values of those statistics in a run trial."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from msreboot.data import Cohort
from msreboot.trials import ARM_STATISTICS, arm_statistic, load_trial_spec, run_trial
from msreboot.trials._published import PublishedValue

ANCHOR = pd.DataFrame({"patient_id": ["a1", "a2", "b1", "b2"], "anchor_date": 0})
ARMS = pd.Series(["A", "A", "B", "B"], index=["a1", "a2", "b1", "b2"])


def _cohort() -> Cohort:
    """Arm A: a1 (EDSS 2.0 -> 3.0 at day 365 -> 3.0 at day 730; relapses on days 100 and
    500) and a2 (6.0 -> 5.5 at day 365; relapses on day 0, at time zero and so not after
    it, and on day 365, the last visit). Arm B: b1 (0.0 -> 1.0 at day 730; a relapse on
    day 800, after the last visit) and b2 (3.0, then 3.0 at day 500 only, beyond 60 days
    of year 1)."""
    edss = [
        ("a1", 0, 2.0),
        ("a1", 365, 3.0),
        ("a1", 730, 3.0),
        ("a2", 0, 6.0),
        ("a2", 365, 5.5),
        ("b1", 0, 0.0),
        ("b1", 730, 1.0),
        ("b2", 0, 3.0),
        ("b2", 500, 3.0),
    ]
    return Cohort.from_frames(
        {
            "patients": pd.DataFrame(
                {
                    "patient_id": ["a1", "a2", "b1", "b2"],
                    "sex": ["F", "M", "F", "M"],
                    "phenotype": "RRMS",
                }
            ),
            "edss": pd.DataFrame(edss, columns=["patient_id", "date", "edss"]),
            "relapses": pd.DataFrame(
                {
                    "patient_id": ["a1", "a1", "a2", "a2", "b1"],
                    "onset_date": [100, 500, 0, 365, 800],
                }
            ),
        },
        time_unit="day",
    )


def _stat(statistic: str, arm: str = "A", time_years: float | None = None) -> float:
    return arm_statistic(
        statistic,
        _cohort(),
        ARMS,
        arm=arm,
        reference="A",
        anchor=ANCHOR,
        time_years=time_years,
    )


def test_relapse_rate_counts_onsets_after_time_zero_up_to_the_last_visit() -> None:
    # a1: 2 relapses over 730 days; a2: 1 (day 365; day 0 is not after time zero) over 365
    assert _stat("relapse_rate") == pytest.approx(3 / (1095 / 365.25))
    # b1's relapse on day 800 falls after its last visit (day 730); b2 has none
    assert _stat("relapse_rate", "B") == 0.0


def test_relapse_rate_to_a_year_clips_person_time_and_onsets() -> None:
    # a1: to day 365.25, one relapse (day 100); a2: to day 365, one relapse (day 365)
    assert _stat("relapse_rate", time_years=1.0) == pytest.approx(2 / (730.25 / 365.25))


def test_a_rate_ratio_over_a_reference_without_relapses_is_nan() -> None:
    assert _stat("relapse_rate_ratio", "B") == 0.0
    flipped = arm_statistic(
        "relapse_rate_ratio", _cohort(), ARMS, arm="A", reference="B", anchor=ANCHOR
    )
    assert math.isnan(flipped)


def test_mean_edss_and_its_change_at_the_visit_nearest_the_year() -> None:
    # a1: 3.0 (baseline 2.0, +1.0); a2: 5.5 (baseline 6.0, -0.5)
    assert _stat("mean_edss", time_years=1.0) == pytest.approx(4.25)
    assert _stat("mean_edss_change", time_years=1.0) == pytest.approx(0.25)
    # b1 has no visit within 60 days of year 1, nor has b2 (day 500): no patient
    assert math.isnan(_stat("mean_edss", "B", time_years=1.0))


def test_shares_use_the_baseline_dependent_steps() -> None:
    # a1 +1.0 from 2.0 is worse (step 1.0); a2 -0.5 from 6.0 is better (step 0.5 above 5.5)
    assert _stat("share_worse", time_years=1.0) == 0.5
    assert _stat("share_improved", time_years=1.0) == 0.5
    assert _stat("share_stable", time_years=1.0) == 0.0
    # at the last visit: b1 +1.0 from 0.0 is stable (1.5 needed from 0); b2 unchanged
    assert _stat("share_stable", "B") == 1.0


def test_timed_statistics_need_a_year_and_unknown_ones_are_refused() -> None:
    with pytest.raises(ValueError, match="time_years must be given"):
        _stat("mean_edss")
    with pytest.raises(ValueError, match="statistic must be one of"):
        _stat("median_edss")
    assert "relapse_rate" in ARM_STATISTICS


def test_a_published_statistic_validates_what_it_needs() -> None:
    with pytest.raises(ValueError, match="time_years: is required for statistic 'neda'"):
        PublishedValue(statistic="neda", value=0.8)
    with pytest.raises(ValueError, match="endpoint: is required"):
        PublishedValue(statistic="hazard_ratio", value=0.5)
    with pytest.raises(ValueError, match="ratio > 0"):
        PublishedValue(statistic="relapse_rate_ratio", value=0.0, arm="b")
    with pytest.raises(ValueError, match="window_days must be left out"):
        PublishedValue(statistic="relapse_rate", value=0.2, window_days=100)
    trm = PublishedValue(statistic="transplant_mortality", value=0.02, window_days=100)
    assert trm.endpoint is None


def test_an_evidence_outcome_without_a_preset_serves_a_statistic() -> None:
    # Atkins 2016's TRM (1 of 24) names no endpoint preset: none is needed for TRM
    value = PublishedValue.model_validate(
        {"outcome_id": "atkins2016_canadian:ahsct:trm:015", "statistic": "transplant_mortality"}
    )
    assert value.value == pytest.approx(1 / 24, abs=1e-6)  # stored rounded, 0.041667
    assert value.endpoint is None


HEAD = (
    "[trial]\nname = 'two'\nseed = 3\nreplicates = 2\nfollow_up_years = 2\n"
    "[[arm]]\nname = 'dmt'\nn = 30\ntreatment = {kind = 'dmt', drug = 'natalizumab'}\n"
    "[[arm]]\nname = 'hsct'\nn = 30\nprotocol = 'mist_ahsct'\n"
    "[population]\nage_median = 36\nedss_median = 3.0\nedss_range = [2.0, 5.5]\n"
    "duration_median_years = 8\nphenotype_shares = {RRMS = 1.0}\n"
)


def test_a_ratio_against_the_reference_arm_itself_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(
        HEAD + "[[published]]\nstatistic = 'relapse_rate_ratio'\nvalue = 0.1\narm = 'dmt'\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="other than the reference arm 'dmt'"):
        load_trial_spec(path)


def test_run_trial_sets_each_statistic_beside_its_published_value(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(
        HEAD
        + "[[published]]\nstatistic = 'relapse_rate'\nvalue = 0.1\narm = 'hsct'\n"
        + "[[published]]\nstatistic = 'relapse_rate_ratio'\nvalue = 0.1\narm = 'hsct'\n"
        + "[[published]]\nstatistic = 'mean_edss_change'\ntime_years = 1\nvalue = -0.3\n"
        + "arm = 'hsct'\n"
        + "[[published]]\nstatistic = 'transplant_mortality'\nvalue = 0.01\narm = 'hsct'\n"
        + "[[published]]\nstatistic = 'relapse_rate'\nvalue = 0.3\narm = 'dmt'\n",
        encoding="utf-8",
    )
    result = run_trial(path)
    stats = result.statistics
    assert len(stats) == 2 * 5
    assert set(stats["statistic"]) == {
        "relapse_rate",
        "relapse_rate_ratio",
        "mean_edss_change",
        "transplant_mortality",
    }
    table = result.compare_published()
    assert list(table["statistic"])[:2] == ["relapse_rate", "relapse_rate_ratio"]
    rate = table.iloc[0]
    per_replicate = stats[stats["published"] == 0]["value"]
    assert rate["simulated"] == pytest.approx(per_replicate.mean())
    assert rate["simulated_low"] <= rate["simulated"] <= rate["simulated_high"]
    assert rate["replicates"] == 2
    # the ratio is the arm's rate over the reference arm's, replicate by replicate,
    # summarised by its median across replicates
    by = stats.pivot(index="replicate", columns="published", values="value")
    assert by[1].to_numpy() == pytest.approx((by[0] / by[4]).to_numpy())
    assert table.iloc[1]["simulated"] == pytest.approx(by[1].median())


def test_transplant_mortality_counts_the_arms_transplanted_only() -> None:
    # x1, x2 transplanted in arm X (x1 dies on day 100 after reinfusion: counted, inclusive);
    # y1 transplanted in arm Y dies on day 101 (outside 100 days); y2 has a DMT only
    patients = pd.DataFrame(
        {"patient_id": ["x1", "x2", "y1", "y2"], "sex": "F", "phenotype": "RRMS"}
    )
    treatments = pd.DataFrame(
        {
            "patient_id": ["x1", "x2", "y1", "y2"],
            "kind": ["ahsct", "ahsct", "ahsct", "dmt"],
            "start_date": [10, 20, 30, 0],
            "drug": [None, None, None, "natalizumab"],
        }
    )
    deaths = pd.DataFrame({"patient_id": ["x1", "y1"], "date": [110, 131]})
    edss = pd.DataFrame(
        {"patient_id": ["x1", "x2", "y1", "y2"], "date": [0, 0, 0, 0], "edss": [3.0] * 4}
    )
    cohort = Cohort.from_frames(
        {"patients": patients, "treatments": treatments, "deaths": deaths, "edss": edss},
        time_unit="day",
    )
    arms = pd.Series(["X", "X", "Y", "Y"], index=["x1", "x2", "y1", "y2"])
    anchor = pd.DataFrame({"patient_id": list(arms.index), "anchor_date": 0})

    def trm(arm: str, window: int | None = None) -> float:
        return arm_statistic(
            "transplant_mortality",
            cohort,
            arms,
            arm=arm,
            reference="X",
            anchor=anchor,
            window_days=window,
        )

    assert trm("X") == 0.5
    assert trm("Y") == 0.0  # y1 died on day 101; y2 was not transplanted
    assert trm("Y", window=101) == 1.0
