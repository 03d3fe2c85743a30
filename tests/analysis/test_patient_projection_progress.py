"""The projection reports its progress and stops when the progress callback raises (the
dashboard's cancel button)."""

from __future__ import annotations

import pytest

from msreboot.analysis import CohortExplorer, PatientProfile, project_patient

PROFILE = {
    "age_years": 38,
    "edss": 4.5,
    "phenotype": "RRMS",
    "sex": "female",
    "disease_duration_years": 6,
    "relapses_last_12_months": 1,
    "relapses_last_24_months": 2,
    "gd_lesions": 1,
    "current_dmt": "dimethyl_fumarate",
    "hct_ci": 0,
}


class Stop(Exception):
    pass


def test_progress_counts_every_option_and_draw() -> None:
    calls: list[tuple[int, int]] = []
    projection = project_patient(
        PatientProfile(**PROFILE),  # type: ignore[arg-type]
        ["ahsct_cy_atg", "stay"],
        draws=3,
        patients_per_draw=20,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(k, 6) for k in range(1, 7)]
    assert not projection.outcomes.empty


def test_a_raising_callback_stops_the_projection() -> None:
    calls: list[int] = []

    def stop_after_two(done: int, total: int) -> None:
        calls.append(done)
        if done == 2:
            raise Stop

    with pytest.raises(Stop):
        CohortExplorer.patient_projection(
            PatientProfile(**PROFILE),  # type: ignore[arg-type]
            draws=2,
            patients_per_draw=20,
            progress=stop_after_two,
        )
    assert calls == [1, 2]


def test_no_progress_when_the_options_cannot_be_simulated() -> None:
    calls: list[int] = []
    projection = project_patient(
        PatientProfile(age_years=38, edss=4.5, phenotype="RRMS"),
        ["switch_anti_cd20"],
        draws=2,
        patients_per_draw=20,
        progress=lambda done, total: calls.append(done),
    )
    assert projection.simulation_unknown is not None
    assert calls == []
