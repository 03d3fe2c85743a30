"""A second course on failure (SwitchRule): DMT sequences and crossover to AHSCT."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msreboot.simulate import (
    AHSCTCourse,
    DMTCourse,
    MSCCourse,
    SwitchRule,
    simulate_cohort,
)

N = 400
YEARS = 4.0
FIRST = DMTCourse("interferon_beta")


def _run(rule: SwitchRule | None, first: object = FIRST, seed: int = 11) -> object:
    return simulate_cohort(N, treatment=first, follow_up_years=YEARS, seed=seed, switch=rule)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def without() -> object:
    return _run(None)


@pytest.fixture(scope="module")
def on_relapse() -> object:
    return _run(SwitchRule("relapse", DMTCourse("ocrelizumab"), after_days=365))


@pytest.fixture(scope="module")
def on_edss() -> object:
    return _run(SwitchRule("edss_worsening", AHSCTCourse("cy200_atg"), after_days=365))


def _second(sim: object, kind: str, drug: str | None = None) -> pd.DataFrame:
    tr = sim.cohort.treatments  # type: ignore[attr-defined]
    rows = tr[tr["kind"] == kind]
    if drug is not None:
        rows = rows[rows["drug"] == drug]
    return rows.set_index("patient_id")


def test_sequence_switches_only_after_a_recorded_relapse_past_the_minimum(on_relapse):
    truth = on_relapse.truth.set_index("patient_id")
    failed = truth["switch_failure_day"].dropna()
    assert 20 < len(failed) < N  # some fail, not all
    assert (failed >= 365).all()
    relapses = on_relapse.cohort.relapses
    for pid, day in failed.items():
        onsets = relapses.loc[relapses["patient_id"] == pid, "onset_date"].astype(int)
        assert int(day) in set(onsets), pid
        # the first relapse at or after the minimum time is the one that triggered it
        assert int(day) == onsets[onsets >= 365].min(), pid
    second = _second(on_relapse, "dmt", "ocrelizumab")
    assert set(second.index) == set(failed.index)
    starts = second["start_date"].astype(int).to_numpy()
    assert (starts == failed[second.index].astype(int).to_numpy()).all()
    first = _second(on_relapse, "dmt", "interferon_beta")
    ended = first.loc[second.index, "end_date"].astype(int).to_numpy()
    assert (ended <= starts).all()


def test_no_relapse_past_the_minimum_no_switch(on_relapse):
    truth = on_relapse.truth.set_index("patient_id")
    relapses = on_relapse.cohort.relapses
    late = relapses.loc[relapses["onset_date"].astype(int) >= 365, "patient_id"].unique()
    never = set(truth.index) - set(late)
    assert never
    assert truth.loc[sorted(never), "switch_failure_day"].isna().all()


def test_crossover_needs_a_confirmed_worsening_after_the_minimum(on_edss):
    truth = on_edss.truth.set_index("patient_id")
    failed = truth["switch_failure_day"].dropna()
    assert 10 < len(failed) < N
    edss = on_edss.cohort.edss
    for pid, day in failed.items():
        visits = edss[edss["patient_id"] == pid]
        dates = visits["date"].astype(int).to_numpy()
        scores = visits["edss"].to_numpy()
        reference = scores[0]
        at = int(np.flatnonzero(dates == int(day))[0])
        assert scores[at] >= reference + 1.0 - 1e-9, pid
        # the worsening began at a visit after the minimum, and held for >= 168 days
        start = at
        while start > 0 and scores[start - 1] >= reference + 1.0 - 1e-9 and dates[start - 1] >= 365:
            start -= 1
        assert dates[start] >= 365, pid
        assert dates[at] - dates[start] >= 168, pid
    second = _second(on_edss, "ahsct")
    assert set(second.index) <= set(failed.index)
    # mobilisation, conditioning and reinfusion follow the failure
    mobilised = second["mobilisation_date"].astype(int).to_numpy()
    assert (mobilised > failed[second.index].astype(int).to_numpy()).all()
    assert (second["start_date"] > second["conditioning_start_date"]).all()
    first = _second(on_edss, "dmt")
    ended = first.loc[second.index, "end_date"].astype(int).to_numpy()
    # taken until mobilisation, unless stopped earlier (discontinuation)
    assert (ended <= mobilised).all()
    assert (ended == mobilised).mean() > 0.5


def test_patients_who_do_not_fail_are_unchanged(without, on_edss):
    """The rule draws only from the transplant stream: no failure, the same course."""
    truth = on_edss.truth.set_index("patient_id")
    kept = truth.index[truth["switch_failure_day"].isna()]
    for table in ("edss", "relapses", "mri", "deaths"):
        a = without.cohort.tables[table]
        b = on_edss.cohort.tables[table]
        a = a[a["patient_id"].isin(kept)].reset_index(drop=True)
        b = b[b["patient_id"].isin(kept)].reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_course_before_the_failure_is_unchanged(without, on_relapse):
    failed = on_relapse.truth.set_index("patient_id")["switch_failure_day"].dropna()
    a = without.cohort.edss.merge(failed.rename("fail"), left_on="patient_id", right_index=True)
    b = on_relapse.cohort.edss.merge(failed.rename("fail"), left_on="patient_id", right_index=True)
    a = a[a["date"].astype(int) <= a["fail"]].reset_index(drop=True)
    b = b[b["date"].astype(int) <= b["fail"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_a_more_effective_second_drug_lowers_later_relapses(without, on_relapse):
    def late(sim: object) -> int:
        r = sim.cohort.relapses  # type: ignore[attr-defined]
        return int((r["onset_date"].astype(int) > 730).sum())

    assert late(on_relapse) < late(without)


def test_crossover_transplant_has_its_adverse_events(on_edss):
    second = _second(on_edss, "ahsct")
    events = on_edss.cohort.adverse_events
    assert set(events["patient_id"]) <= set(second.index)
    first_event = events.groupby("patient_id")["onset_date"].min().astype(int)
    started = second.loc[first_event.index, "start_date"].astype(int).to_numpy()
    assert (first_event.to_numpy() >= started).all()


def test_without_the_rule_the_result_is_unchanged(without):
    again = simulate_cohort(N, treatment=FIRST, follow_up_years=YEARS, seed=11)
    for name, table in without.cohort.tables.items():
        pd.testing.assert_frame_equal(table, again.cohort.tables[name], check_exact=True)
    assert "switch_failure_day" not in without.truth
    assert "switch" not in without.metadata


def test_switch_from_untreated_and_metadata():
    rule = SwitchRule("relapse", DMTCourse("natalizumab", start_day=30), after_days=0)
    sim = simulate_cohort(200, treatment=None, follow_up_years=2, seed=5, switch=rule)
    truth = sim.truth.set_index("patient_id")
    second = sim.cohort.treatments.set_index("patient_id")
    assert len(second) > 0
    assert (second["drug"] == "natalizumab").all()
    failed = truth.loc[second.index, "switch_failure_day"].to_numpy()
    assert (second["start_date"].astype(int).to_numpy() - failed == 30).all()
    assert sim.metadata["switch"]["on"] == "relapse"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: SwitchRule("progression", DMTCourse("ocrelizumab")), "on must be one of"),
        (lambda: SwitchRule("relapse", MSCCourse()), "treatment must be a DMT or AHSCT"),
        (lambda: SwitchRule("relapse", DMTCourse("ocrelizumab"), after_days=-1), "after_days"),
        (
            lambda: SwitchRule("relapse", DMTCourse("ocrelizumab"), edss_increase=0),
            "edss_increase",
        ),
    ],
    ids=["on", "treatment", "after_days", "edss_increase"],
)
def test_invalid_rules(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_switch_after_a_transplant_is_refused():
    rule = SwitchRule("relapse", DMTCourse("ocrelizumab"))
    with pytest.raises(ValueError, match="needs a DMT"):
        simulate_cohort(10, treatment=AHSCTCourse(), follow_up_years=1, seed=1, switch=rule)
