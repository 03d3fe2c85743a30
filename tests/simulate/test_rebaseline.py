"""A re-baseline MRI after the course starts: the reference for new T2 lesions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msreboot.simulate import (
    AHSCTCourse,
    DMTCourse,
    PopulationSpec,
    Treatment,
    VisitSchedule,
    simulate_cohort,
)

SPEC = PopulationSpec.matching(
    age_median=36,
    edss_median=4.0,
    edss_range=(2.0, 6.0),
    duration_median_years=5,
    min_prior_relapses=1,
)


def test_schedule_counts_from_the_course_day() -> None:
    """Hand-worked: reinfusion on day 55, re-baseline 6 months later (day 55 + 183 =
    238), then every 12 months from it; nothing between enrolment and the re-baseline."""
    schedule = VisitSchedule(6, 12, rebaseline_months=6)
    assert schedule.mri_days(3.0, 55).tolist() == [0, 238, 603, 968]
    assert schedule.reference_mri_day(55) == 238
    assert VisitSchedule(6, 12).reference_mri_day(55) is None
    # untreated: the course day is enrolment
    assert schedule.mri_days(1.0).tolist() == [0, 183]
    # a re-baseline after the end of follow-up leaves the enrolment scan only
    assert VisitSchedule(6, 12, rebaseline_months=24).mri_days(1.0, 55).tolist() == [0]


def test_extra_scans_are_kept() -> None:
    schedule = VisitSchedule(6, 12, rebaseline_months=6, extra_mri_days=(30,))
    assert schedule.mri_days(2.0, 55).tolist() == [0, 30, 238, 603]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"rebaseline_months": 0}, "rebaseline_months must be in"),
        ({"rebaseline_months": 61}, "rebaseline_months must be in"),
        ({"rebaseline_months": 6, "mri_every_months": None}, "must come with mri_every_months"),
    ],
)
def test_invalid(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        VisitSchedule(**fields)  # type: ignore[arg-type]


AHSCT = AHSCTCourse("cy200_atg")


def _scans(schedule: VisitSchedule, treatment: Treatment = AHSCT) -> pd.DataFrame:
    sim = simulate_cohort(200, SPEC, treatment, schedule, 3.0, seed=5, validate=True)
    return sim.cohort.mri


def test_reference_scan_has_no_new_t2_count() -> None:
    mri = _scans(VisitSchedule(6, 12, rebaseline_months=6))
    day0 = 54  # enrolment to mobilisation 14 + mobilisation to conditioning 35 + Cy 5 days
    assert set(mri["date"].unique()) == {0, day0 + 183, day0 + 548, day0 + 913}
    reference = mri[mri["date"] == day0 + 183]
    assert reference["new_t2_lesions"].isna().all()
    assert reference["gd_lesions"].notna().all()
    later = mri[mri["date"] > day0 + 183]
    assert later["new_t2_lesions"].notna().all()
    # later scans count from the reference: totals grow by exactly the new lesions
    for _, scans in mri.groupby("patient_id"):
        total = scans["t2_lesions_total"].to_numpy(dtype=float)
        new = scans["new_t2_lesions"].to_numpy(dtype=float)
        assert np.array_equal(np.diff(total)[1:], new[2:])


def test_dmt_course_day_is_its_first_dose() -> None:
    mri = _scans(VisitSchedule(6, 6, rebaseline_months=3), DMTCourse("fingolimod", start_day=30))
    assert sorted(mri["date"].unique())[:3] == [0, 30 + 91, 30 + 274]
    assert mri.loc[mri["date"] == 121, "new_t2_lesions"].isna().all()


def test_without_rebaseline_nothing_changes() -> None:
    """The default schedule still counts new lesions on every scan after enrolment."""
    mri = _scans(VisitSchedule(6, 12))
    assert mri.loc[mri["date"] > 0, "new_t2_lesions"].notna().all()


@settings(max_examples=30, deadline=None)
@given(
    every=st.integers(1, 24),
    months=st.floats(0.5, 36, allow_nan=False),
    course=st.integers(0, 400),
    years=st.floats(0.5, 8, allow_nan=False),
)
def test_schedule_properties(every: int, months: float, course: int, years: float) -> None:
    """Sorted, distinct, within follow-up, enrolment first, and no regular scan between
    enrolment and the re-baseline."""
    schedule = VisitSchedule(6, every, rebaseline_months=months)
    days = schedule.mri_days(years, course)
    reference = schedule.reference_mri_day(course)
    assert days[0] == 0
    assert (np.diff(days) > 0).all()
    assert days.max() <= np.floor(years * 365.25)
    assert reference is not None
    assert not ((days > 0) & (days < reference)).any()
    if reference <= np.floor(years * 365.25):
        assert reference in days
