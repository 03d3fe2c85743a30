"""Schedules of virtual trials: extra visits and a re-baseline scan, and the rule that reads
a landmark at the last scheduled visit (365 vs 365.25 days, or inside its jitter window)."""

from __future__ import annotations

import numpy as np
import pytest

from msreboot.simulate import VisitSchedule, simulate_cohort
from msreboot.trials import ArmSpec, TrialSpec, run_trial
from msreboot.trials._run import landmark_read_times
from msreboot.trials._spec import AnalysisSpec


def _spec(
    times: tuple[float, ...], *, jitter: int = 0, years: float = 1.0, anchor: str = "enrolment"
) -> TrialSpec:
    return TrialSpec(
        name="landmarks",
        seed=3,
        follow_up_years=years,
        schedule={"edss_every_months": 3, "mri_every_months": 6, "jitter_days": jitter},
        arms=(ArmSpec(name="a", n=40),),
        analysis=AnalysisSpec(endpoints=("relapse_free",), times_years=times, anchor=anchor),
    )


def test_a_landmark_at_the_last_visit_is_read_at_its_window() -> None:
    # Year 1 is day 365.25; the last visit is day round(4 * 91.3125) = 365.
    read = landmark_read_times(_spec((0.5, 1.0)))
    assert read[0] == 0.5
    assert read[1] * 365.25 == pytest.approx(365.0)
    jittered = landmark_read_times(_spec((1.0,), jitter=10))
    assert jittered[0] * 365.25 == pytest.approx(355.0)


@pytest.mark.parametrize(
    ("day", "inside"),
    [
        pytest.param(355.0, False, id="window-start-excluded"),
        pytest.param(355.5, True, id="just-inside"),
        pytest.param(376.0, True, id="last-plus-jitter-plus-one"),
        pytest.param(376.01, False, id="beyond-the-window"),
    ],
)
def test_the_window_boundaries(day: float, inside: bool) -> None:
    read = landmark_read_times(_spec((day / 365.25,), jitter=10))[0] * 365.25
    assert read == pytest.approx(355.0 if inside else day)


def test_landmarks_after_ahsct_are_read_as_given() -> None:
    assert landmark_read_times(_spec((1.0,), anchor="ahsct")).tolist() == [1.0]


def test_a_landmark_at_the_end_of_follow_up_is_estimated_in_every_replicate() -> None:
    for jitter in (0, 14):
        result = run_trial(_spec((0.5, 1.0), jitter=jitter), replicates=3)
        at_end = result.estimates[result.estimates["time_years"] == 1.0]
        assert len(at_end) == 3
        assert at_end["estimate"].notna().all(), at_end
    beyond = run_trial(_spec((1.2,)), replicates=1).estimates
    assert beyond["estimate"].isna().all()  # after every last contact: still NA


def test_extra_visits_and_a_rebaseline_scan() -> None:
    schedule = VisitSchedule(
        edss_every_months=6,
        mri_every_months=12,
        extra_edss_days=(30, 800),
        extra_mri_days=(90,),
        rebaseline_mri_months=6,
    )
    assert schedule.edss_days(1.0).tolist() == [0, 30, 183, 365]  # day 800 is after the end
    assert schedule.mri_days(1.0).tolist() == [0, 90, 183, 365]
    assert schedule.last_day(1.0) == 365
    cohort = simulate_cohort(5, schedule=schedule, follow_up_years=1.0, seed=1).cohort
    days = np.sort(cohort.tables["mri"].groupby("patient_id")["date"].apply(list).iloc[0])
    assert days.tolist() == [0, 90, 183, 365]
    with pytest.raises(ValueError, match="rebaseline_mri_months must come with mri_every_months"):
        VisitSchedule(mri_every_months=None, rebaseline_mri_months=6)
    with pytest.raises(ValueError, match=r"rebaseline_mri_months must be in \(0, 60\]; got 0"):
        VisitSchedule(rebaseline_mri_months=0)


@pytest.mark.parametrize("years", [3.0, 7.0])
def test_the_visit_due_at_the_end_of_follow_up_is_kept(years: float) -> None:
    """36 months of 30.4375 days is day 1095.75, the end of 3 years: the visit is on day
    1095 (it was rounded to 1096, past follow-up, and dropped, so a 3-year landmark read
    nothing); the same at 7 years."""
    end = int(np.floor(years * 365.25))
    for every in (3, 6, 12):
        days = VisitSchedule(edss_every_months=every).edss_days(years)
        assert days[-1] == end
        assert len(days) == round(years * 12 / every) + 1
        assert (np.diff(days) > 0).all()
    result = run_trial(_spec((years,), years=years), replicates=2)
    assert result.estimates["estimate"].notna().all()
