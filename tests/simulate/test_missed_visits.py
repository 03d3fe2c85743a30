"""Missed visits (``VisitSchedule(missed_visit_share=...)``): the share missed, day 0 always
seen, nothing else changed, the same misses whatever the chunking, and bad shares refused."""

from __future__ import annotations

import math

import numpy as np
import pytest

from msreboot.simulate import VisitSchedule, simulate_cohort

SHARE = 0.3


@pytest.fixture(scope="module")
def pair() -> tuple[object, object]:
    full = simulate_cohort(400, follow_up_years=4, seed=11)
    missed = simulate_cohort(
        400, follow_up_years=4, seed=11, schedule=VisitSchedule(missed_visit_share=SHARE)
    )
    return full, missed


@pytest.mark.parametrize("table", ["edss", "mri"])
def test_the_share_missed_and_day_zero_kept(pair: tuple[object, object], table: str) -> None:
    full, missed = (getattr(p.cohort, table) for p in pair)  # type: ignore[attr-defined]
    after = int((full["date"] > 0).sum())
    kept = int((missed["date"] > 0).sum())
    assert (missed["date"] == 0).sum() == (full["date"] == 0).sum()  # enrolment always seen
    # binomial: within 4 standard deviations of the share
    sd = math.sqrt(after * SHARE * (1 - SHARE))
    assert abs((after - kept) - SHARE * after) < 4 * sd
    # the kept rows are rows of the full schedule, unchanged
    keys = ["patient_id", "date"]
    merged = missed.merge(full, on=keys, how="left", suffixes=("", "_full"), indicator=True)
    assert (merged["_merge"] == "both").all()


def test_nothing_else_changes(pair: tuple[object, object]) -> None:
    full, missed = pair
    for name in ("patients", "treatments", "relapses", "adverse_events", "deaths"):
        assert getattr(full.cohort, name).equals(getattr(missed.cohort, name)), name  # type: ignore[attr-defined]
    assert full.truth.equals(missed.truth)  # type: ignore[attr-defined]


def test_the_same_visits_are_missed_whatever_the_chunking() -> None:
    schedule = VisitSchedule(missed_visit_share=SHARE)
    a = simulate_cohort(90, follow_up_years=3, seed=5, schedule=schedule)
    b = simulate_cohort(90, follow_up_years=3, seed=5, schedule=schedule, chunk_size=17)
    assert a.cohort.edss.equals(b.cohort.edss)
    assert a.cohort.mri.equals(b.cohort.mri)


def test_without_misses_the_schedule_keeps_its_form() -> None:
    assert "missed_visit_share" not in VisitSchedule().to_dict()
    assert VisitSchedule(missed_visit_share=0.1).to_dict()["missed_visit_share"] == 0.1


@pytest.mark.parametrize("share", [-0.1, 1.0, 1.5, float("nan"), True, "0.1"])
def test_a_bad_share_is_refused(share: object) -> None:
    with pytest.raises(ValueError, match=r"missed_visit_share must be a share in \[0, 1\)"):
        VisitSchedule(missed_visit_share=share)  # type: ignore[arg-type]


def test_a_trial_spec_takes_the_share() -> None:
    from msreboot.trials import ArmSpec, TrialSpec, run_trial
    from msreboot.trials._spec import AnalysisSpec

    spec = TrialSpec(
        name="missed",
        seed=4,
        follow_up_years=2.0,
        schedule={"edss_every_months": 3, "missed_visit_share": 0.25},
        arms=(ArmSpec(name="a", n=60),),
        analysis=AnalysisSpec(endpoints=("relapse_free",), times_years=(1.0, 2.0)),
    )
    result = run_trial(spec, replicates=2)
    assert np.isfinite(result.estimates["estimate"]).all()
