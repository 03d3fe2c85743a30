"""CohortExplorer: the dashboard's on-demand results are the lower layers' results."""

from __future__ import annotations

import pandas as pd
import pytest

from msreboot.analysis import CohortExplorer, treatment_groups
from msreboot.datasets import load_example
from msreboot.endpoints import estimate_endpoint


@pytest.fixture(scope="module")
def explorer() -> CohortExplorer:
    return CohortExplorer(load_example())


def test_endpoint_by_treatment_is_estimate_endpoint(explorer: CohortExplorer) -> None:
    got = explorer.endpoint("halt_ms_efs", by="treatment", times_years=[2, 5])
    want = estimate_endpoint(
        explorer.cohort, "halt_ms_efs", times_years=[2, 5], by=treatment_groups(explorer.cohort)
    )
    assert isinstance(want, dict)
    assert list(got) == [str(k) for k in want]
    for key, estimate in want.items():
        pd.testing.assert_frame_equal(got[str(key)].to_frame(), estimate.to_frame())


def test_endpoint_without_grouping_and_a_bad_grouping(explorer: CohortExplorer) -> None:
    got = explorer.endpoint("overall_survival")
    assert list(got) == ["All patients"]
    with pytest.raises(ValueError, match="by must be one of"):
        explorer.endpoint("overall_survival", by="shoe_size")


def test_patient_list_counts_every_record(explorer: CohortExplorer) -> None:
    frame = explorer.patient_list()
    assert len(frame) == len(explorer.cohort.patients)
    for table in ("edss", "relapses", "mri", "treatments", "adverse_events", "deaths"):
        assert frame[table].sum() == len(explorer.cohort.tables[table])
    pid = frame["patient_id"].iloc[4]
    records = explorer.patient_records(pid)
    counts = records["table"].value_counts()
    row = frame[frame["patient_id"] == pid].iloc[0]
    assert counts.get("edss", 0) == row["edss"]
    assert explorer.patient_records("no such patient").empty


def test_results_are_kept(explorer: CohortExplorer) -> None:
    assert explorer.analysis() is explorer.analysis()
    assert explorer.disability_events() is explorer.disability_events()
    assert "analysis" in explorer.summary()


def test_patient_projection_is_project_patient() -> None:
    from msreboot.analysis import PatientProfile, project_patient

    profile = PatientProfile(age_years=35, edss=4.0, phenotype="RRMS", sex="female", hct_ci=0)
    got = CohortExplorer.patient_projection(profile, draws=2, patients_per_draw=20)
    want = project_patient(profile, draws=2, patients_per_draw=20)
    pd.testing.assert_frame_equal(got.to_frame(), want.to_frame())
    assert got.summary() == want.summary()


def test_trm_funnel_and_egger_are_those_of_every_sourced_trm_arm(
    explorer: CohortExplorer,
) -> None:
    import warnings

    from msreboot.analysis import trm_studies
    from msreboot.evidence import TruncatedTau2Warning, egger_test

    arms = trm_studies()
    arms = arms[arms["status"] != "unsourced"]
    pooled = explorer.trm_pool()
    assert pooled.k == len(arms)
    assert list(pooled.events or ()) == arms["events"].tolist()
    assert all(d in label for label, d in zip(pooled.labels, arms["definition_id"], strict=True))
    figure = explorer.trm_funnel()
    points = [c for c in figure.axes[0].collections if len(c.get_offsets()) == pooled.k]
    assert points, "the funnel plot draws one point per arm"
    test = explorer.trm_egger()
    assert test is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        want = egger_test(pooled)
    assert (test.k, test.pvalue, test.statistic) == (want.k, want.pvalue, want.statistic)
    assert 0 <= test.pvalue <= 1


def test_sample_size_is_the_trials_sample_size() -> None:
    from msreboot.trials import TrialSpec, sample_size

    spec = TrialSpec.preset("mist_2019").with_(follow_up_years=1.0)
    calls: list[tuple[int, int]] = []
    got = CohortExplorer.sample_size(
        spec,
        n_range=(10, 30),
        replicates=3,
        progress=lambda done, total: calls.append((done, total)),
    )
    want = sample_size(spec, n_range=(10, 30), replicates=3)
    pd.testing.assert_frame_equal(got, want)
    assert {k: repr(v) for k, v in got.attrs.items()} == {k: repr(v) for k, v in want.attrs.items()}
    assert calls[-1][0] == calls[-1][1] == 3 * len(got)
