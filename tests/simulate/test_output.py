"""The canonical output: valid tables the endpoint code reads, truth and provenance."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

import msreboot
from msreboot.data import Cohort
from msreboot.endpoints import (
    EndpointDefinition,
    detect_disability_events,
    estimate_endpoint,
    mri_activity,
    relapse_rates,
    transplant_outcomes,
)
from msreboot.simulate import (
    AHSCTCourse,
    DMTCourse,
    MSCCourse,
    PopulationSpec,
    SimulatedCohort,
    Treatment,
    VisitSchedule,
    simulate_cohort,
)

TREATMENTS: dict[str, Treatment] = {
    "untreated": None,
    "dmt": DMTCourse("fingolimod", start_day=10),
    "ahsct": AHSCTCourse("beam_atg", cd34_selected=True, transplant_year=2008),
    "msc": MSCCourse(dose_1e6_per_kg=2.0, infusions=2, interval_days=30, route="intrathecal"),
}
SCHEDULE = VisitSchedule(
    edss_every_months=3, mri_every_months=6, jitter_days=10, loss_to_follow_up_per_year=0.1
)
OLDER = PopulationSpec.matching(
    age_median=50,
    age_range=(30, 65),
    edss_median=6.0,
    edss_range=(3.0, 8.0),
    duration_median_years=12,
    phenotype_shares={"RRMS": 0.4, "SPMS": 0.5, "PPMS": 0.1},
    hct_ci_mean=1.0,
)


@pytest.fixture(scope="module")
def ahsct() -> SimulatedCohort:
    return simulate_cohort(400, OLDER, TREATMENTS["ahsct"], SCHEDULE, 4, seed=11)


@pytest.mark.parametrize("name", TREATMENTS)
def test_canonical_tables_validate_unchanged(name: str) -> None:
    """The tables are built canonical: validating them changes nothing."""
    raw = simulate_cohort(300, OLDER, TREATMENTS[name], SCHEDULE, 4, seed=5, validate=False)
    checked = Cohort.from_frames(raw.cohort.tables, time_unit="day")
    assert checked.equals(raw.cohort)
    assert not checked.warnings


def test_schedule_and_grid(ahsct: SimulatedCohort) -> None:
    c = ahsct.cohort
    assert c.time_unit == "day"
    assert np.isin(c.edss["edss"], [0.0, *np.arange(1.0, 10.0, 0.5)]).all()
    per_patient = c.edss.groupby("patient_id").size()
    assert per_patient.max() <= 17  # 3-monthly over 4 years, day 0 included
    assert (c.edss.groupby("patient_id")["date"].min() == 0).all()
    assert (c.mri.groupby("patient_id").size() <= 9).all()
    first_scan = c.mri.groupby("patient_id").head(1)
    assert first_scan["new_t2_lesions"].isna().all()
    assert c.mri.groupby("patient_id").tail(-1)["new_t2_lesions"].notna().all()
    observed = ahsct.truth.set_index("patient_id")["observed_until_day"]
    last = c.edss.groupby("patient_id")["date"].max()
    assert (last <= observed.reindex(last.index) + 1e-9).all()


def test_transplant_rows(ahsct: SimulatedCohort) -> None:
    t = ahsct.cohort.treatments
    assert set(t["kind"]) == {"ahsct"}
    assert (t["conditioning_regimen"] == "beam_atg").all()
    assert (t["conditioning_intensity"] == "intermediate_myeloablative").all()
    assert t["cd34_selected"].all()
    assert (t["conditioning_start_date"] - t["start_date"] == -6).all()
    days = (t["engraftment_date"] - t["start_date"]).dropna()
    assert days.between(5, 20).all()


def test_endpoints_read_the_cohort(ahsct: SimulatedCohort) -> None:
    cohort = ahsct.cohort
    rates = relapse_rates(cohort, anchor="ahsct", years_before=2)
    assert set(rates.to_frame()["period"]) >= {"before", "after"}
    assert mri_activity(cohort).to_frame() is not None
    outcomes = transplant_outcomes(cohort)
    assert outcomes.to_frame() is not None
    events = detect_disability_events(cohort, anchor="ahsct")
    assert len(events.events.columns) > 0
    estimate = estimate_endpoint(cohort, EndpointDefinition.halt_ms_efs())
    assert estimate.to_frame() is not None


def test_deaths_and_events_consistent(ahsct: SimulatedCohort) -> None:
    truth = ahsct.truth.set_index("patient_id")
    deaths = ahsct.cohort.deaths.set_index("patient_id")
    trm = truth.loc[deaths.index, "transplant_related_death"].to_numpy()
    assert (deaths["transplant_related"].to_numpy() == trm).all()
    recorded = truth["death_day"].notna() & (truth["death_day"] <= truth["observed_until_day"])
    assert set(deaths.index) == set(truth.index[recorded])
    ae = ahsct.cohort.adverse_events
    assert set(ae["category"]) <= {
        "infection",
        "febrile_neutropenia",
        "viral_reactivation",
        "secondary_autoimmunity",
        "hepatic",
    }
    assert set(ae["pathogen"].dropna()) <= {"EBV", "CMV", "VZV"}


def test_truth_and_metadata(ahsct: SimulatedCohort) -> None:
    truth = ahsct.truth
    assert list(truth["patient_id"]) == list(ahsct.cohort.patients["patient_id"])
    assert truth["patient_id"].iloc[0] == "V000001"
    meta = ahsct.metadata
    assert meta["msreboot_version"] == msreboot.__version__
    assert meta["seed_entropy"] == 11
    assert meta["treatment"]["conditioning_regimen"] == "beam_atg"  # type: ignore[index]
    assert ahsct.parameters.gd_ar1_ratio == 0.447
    assert "400 patients" in ahsct.summary()
    assert ahsct.to_frame().equals(truth)
    assert "<p>" in ahsct._repr_html_()
    copy = pickle.loads(pickle.dumps(ahsct))
    assert copy.cohort.equals(ahsct.cohort)


def test_msc_and_dmt_rows() -> None:
    msc = simulate_cohort(50, OLDER, TREATMENTS["msc"], follow_up_years=1, seed=1)
    t = msc.cohort.treatments
    assert (t["msc_route"] == "intrathecal").all()
    assert (t["end_date"] - t["start_date"] == 30).all()
    assert (t["msc_infusions"] == 2).all()
    dmt = simulate_cohort(50, OLDER, TREATMENTS["dmt"], follow_up_years=1, seed=1)
    assert (dmt.cohort.treatments["drug"] == "fingolimod").all()
    assert (dmt.cohort.treatments["start_date"] == 10).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "n must be a positive integer"),
        ({"n": 10, "follow_up_years": 0}, "follow_up_years"),
        ({"n": 10, "seed": -1}, "seed must be"),
        ({"n": 10, "chunk_size": 0}, "chunk_size"),
    ],
)
def test_invalid_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        simulate_cohort(**kwargs)  # type: ignore[arg-type]


def test_dates_are_day_numbers(ahsct: SimulatedCohort) -> None:
    p = ahsct.cohort.patients
    assert isinstance(p["birth_date"].dtype, pd.Int64Dtype)
    assert (p["birth_date"] < p["onset_date"]).all()
    assert (p["onset_date"] <= p["diagnosis_date"]).all()
    assert (p["diagnosis_date"] <= 0).all()


def test_nothing_recorded_after_death() -> None:
    """Severe, active patients die often; no record may follow a death (validated)."""
    severe = PopulationSpec.matching(
        age_median=60,
        age_range=(45, 75),
        edss_median=8.5,
        edss_range=(7.0, 9.5),
        duration_median_years=20,
        activity_ratio=3.0,
        phenotype_shares={"SPMS": 1.0},
    )
    sim = simulate_cohort(1500, severe, TREATMENTS["ahsct"], SCHEDULE, 6, seed=3)
    assert len(sim.cohort.deaths) > 300
    death = sim.cohort.deaths.set_index("patient_id")["date"]
    for name in ("edss", "relapses", "mri", "adverse_events"):
        table = sim.cohort.table(name)
        day = table["date" if "date" in table else "onset_date"]
        limit = table["patient_id"].map(death)
        assert not (day > limit).any(), name
