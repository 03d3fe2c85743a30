"""Hand-worked cases for the disability engine: every boundary of the published rules."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msreboot.datasets import load_example
from msreboot.endpoints import (
    BaselineRule,
    ConfirmationRule,
    DisabilityDefinition,
    PIRARule,
    RelapseBuffer,
    ThresholdRule,
    detect_disability_events,
    time_to_milestone,
)
from msreboot.exceptions import DataValidationError


def visits(*rows: tuple[float, float], patient: str = "A") -> pd.DataFrame:
    return pd.DataFrame(
        {"patient_id": patient, "date": [float(d) for d, _ in rows], "edss": [v for _, v in rows]}
    )


def relapses(*days: float, patient: str = "A") -> pd.DataFrame:
    return pd.DataFrame({"patient_id": patient, "onset_date": [float(d) for d in days]})


def events(data: pd.DataFrame, rel: pd.DataFrame | None = None, **rules: object) -> pd.DataFrame:
    definition = DisabilityDefinition().with_(**rules)
    out = detect_disability_events(data, rel, definition).events
    return out[out["event"]].reset_index(drop=True)


# --- thresholds -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "baseline", "below", "at"),
    [
        ("msprog", 0.0, 1.0, 1.5),
        ("msprog", 1.0, 1.5, 2.0),
        ("msprog", 5.0, 5.5, 6.0),
        ("msprog", 5.5, None, 6.0),
        ("kalincik_2015", 0.0, 1.0, 1.5),
        ("kalincik_2015", 5.5, 6.0, 6.5),
        ("kalincik_2015", 6.0, None, 6.5),
        ("kappos_2020", 0.0, 0.5, 1.0),
        ("kappos_2020", 5.5, 6.0, 6.5),
        ("kappos_2020", 6.0, None, 6.5),
    ],
    ids=lambda v: str(v),
)
def test_threshold_edges(rule: str, baseline: float, below: float | None, at: float) -> None:
    threshold = getattr(ThresholdRule, rule)()
    hit = events(visits((0, baseline), (100, at), (200, at)), threshold=threshold)
    assert list(hit["value"]) == [at]
    if below is not None:
        miss = events(visits((0, baseline), (100, below), (200, below)), threshold=threshold)
        assert miss.empty


def test_msbase_improvement_threshold_differs_from_worsening() -> None:
    data = visits((0, 1.5), (100, 0.5), (200, 0.5))  # -1.0 from 1.5
    assert len(events(data, event="first_cdi")) == 1  # msprog: 1.0 at 1.5
    msbase = events(
        data, event="first_cdi", improvement_threshold=ThresholdRule.msbase_improvement()
    )
    assert msbase.empty  # MSBase needs -1.5 from a reference <= 1.5


def test_custom_threshold_function() -> None:
    rule = ThresholdRule.custom(lambda ref: 2.0, name="two_points")
    assert events(visits((0, 2.0), (100, 3.5), (200, 3.5)), threshold=rule).empty
    assert len(events(visits((0, 2.0), (100, 4.0), (200, 4.0)), threshold=rule)) == 1
    with pytest.raises(ValueError, match="positive finite"):
        ThresholdRule.custom(lambda ref: 0.0).delta(np.array([1.0]))


# --- confirmation window ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lag", "confirmed"),
    [(76, False), (77, True), (84, True), (814.5, True), (815, False)],
)
def test_confirmation_window_edges(lag: float, confirmed: bool) -> None:
    data = visits((0, 2.0), (100, 3.0), (100 + lag, 3.0))
    found = events(data)
    assert len(found) == int(confirmed)
    if confirmed:
        assert found.loc[0, "confirmation_84_date"] == 100 + lag


def test_failed_first_confirmation_is_not_rescued_by_a_later_visit() -> None:
    # the first visit in the window (day 190) no longer shows the change; day 280 would
    data = visits((0, 2.0), (100, 3.0), (190, 2.0), (280, 3.0))
    assert events(data).empty


def test_intermediate_visits_must_show_the_change_unless_told_otherwise() -> None:
    data = visits((0, 2.0), (100, 3.0), (150, 2.0), (200, 3.0))  # day 150 is before 77 days
    assert events(data).empty
    loose = events(data, confirmation=ConfirmationRule(check_intermediate=False))
    assert list(loose["date"]) == [100.0]


def test_visit_not_valid_for_confirmation_is_skipped() -> None:
    data = visits((0, 2.0), (100, 3.0), (190, 3.0), (300, 3.0))
    data["valid_for_confirmation"] = [True, True, False, True]
    found = events(data)
    assert found.loc[0, "confirmation_84_date"] == 300.0


def test_several_periods_any_may_confirm() -> None:
    data = visits((0, 2.0), (100, 3.0), (300, 3.0))  # lag 200: outside 84 +/- 7 days
    assert events(data, confirmation=ConfirmationRule(84, (7, 7))).empty
    both = events(data, confirmation=ConfirmationRule((84, 168), ((7, 7), (7, 60))))
    assert both.loc[0, "confirmation_168_date"] == 300.0
    assert math.isnan(both.loc[0, "confirmation_84_date"])


def test_sustained_requirement() -> None:
    data = visits((0, 2.0), (100, 3.0), (190, 3.0), (300, 2.0), (400, 2.0))
    assert len(events(data)) == 1
    assert events(data, confirmation=ConfirmationRule(sustained_days=math.inf)).empty
    assert events(data, confirmation=ConfirmationRule(sustained_days=250)).empty
    kept = events(data, confirmation=ConfirmationRule(sustained_days=150))
    assert kept.loc[0, "sustained_days"] == 90.0  # sustained up to day 190
    assert not kept.loc[0, "sustained_to_last_visit"]


# --- relapse buffers and RAW / PIRA -------------------------------------------------------


@pytest.mark.parametrize(("gap", "baseline_day"), [(30, 0.0), (29, 50.0)])
def test_relapse_before_baseline(gap: float, baseline_day: float) -> None:
    data = visits((0, 2.0), (50, 2.0), (150, 3.0), (250, 3.0))
    found = events(data, relapses(-gap))
    assert found.loc[0, "baseline_date"] == baseline_day


@pytest.mark.parametrize(("gap", "confirmation_day"), [(30, 190.0), (29, 260.0)])
def test_relapse_before_confirmation(gap: float, confirmation_day: float) -> None:
    data = visits((0, 2.0), (100, 3.0), (190, 3.0), (260, 3.0))
    found = events(data, relapses(190 - gap))
    assert found.loc[0, "confirmation_84_date"] == confirmation_day


@pytest.mark.parametrize(("gap", "kind"), [(0, "RAW"), (90, "RAW"), (91, "PIRA")])
def test_relapse_before_event_raw_or_pira(gap: float, kind: str) -> None:
    data = visits((0, 2.0), (200, 3.0), (300, 3.0))
    found = events(data, relapses(200 - gap), classify_raw_pira=True)
    assert found.loc[0, "cdw_type"] == kind


def test_relapse_after_event_makes_it_undefined_not_pira() -> None:
    data = visits((0, 2.0), (200, 3.0), (400, 3.0))
    found = events(data, relapses(220), classify_raw_pira=True)  # 20 days after the event
    assert found.loc[0, "cdw_type"] == "undefined"


def test_event_buffer_excludes_candidates_close_to_a_relapse() -> None:
    data = visits((0, 2.0), (100, 3.0), (200, 3.0), (300, 3.0))
    assert events(data, relapses(90))["date"].tolist() == [100.0]
    late = events(data, relapses(90), relapse_buffer=RelapseBuffer(event=30))
    assert late["date"].tolist() == [200.0]


def test_pira_presets_differ_on_a_relapse_between_baseline_and_event() -> None:
    data = visits((0, 2.0), (300, 3.0), (400, 3.0))
    rel = relapses(100)  # 200 days before the event
    mueller = events(data, rel, classify_raw_pira=True)
    kappos = events(data, rel, classify_raw_pira=True, pira=PIRARule.kappos_2020())
    assert mueller.loc[0, "cdw_type"] == "PIRA"
    assert kappos.loc[0, "cdw_type"] == "undefined"


def test_relapse_end_dates_extend_the_relapse() -> None:
    data = visits((0, 2.0), (300, 3.0), (420, 3.0))
    rel = relapses(150)
    rel["end_date"] = [215.0]  # ends 85 days before the event
    onset_only = events(data, rel, classify_raw_pira=True)
    with_end = events(data, rel, classify_raw_pira=True, pira=PIRARule.mueller_2025())
    assert onset_only.loc[0, "cdw_type"] == "PIRA"
    assert with_end.loc[0, "cdw_type"] == "undefined"


# --- baselines ----------------------------------------------------------------------------

STAIRCASE = visits((0, 1.0), (100, 1.5), (200, 1.5), (300, 2.0), (400, 2.0), (500, 2.5), (600, 2.5))


def test_staircase_fixed_baseline() -> None:
    found = events(STAIRCASE, event="all")
    assert found["date"].tolist() == [300.0, 500.0]
    assert found["baseline_value"].tolist() == [1.0, 1.0]


def test_staircase_roving_baseline() -> None:
    found = events(STAIRCASE, event="all", baseline=BaselineRule(kind="roving"))
    assert found["date"].tolist() == [300.0]


def test_staircase_roving_with_sub_threshold_rebaseline() -> None:
    rule = BaselineRule(kind="roving", sub_threshold="event")
    assert events(STAIRCASE, event="all", baseline=rule).empty


def test_proceed_from_event_moves_baseline_to_the_event() -> None:
    data = visits((0, 1.0), (100, 2.0), (200, 2.0), (300, 3.0), (400, 3.0))
    conf = events(data, event="all", baseline=BaselineRule(kind="roving"))
    ev = events(data, event="all", baseline=BaselineRule(kind="roving", proceed_from="event"))
    assert conf["baseline_date"].tolist() == [0.0, 200.0]
    assert ev["baseline_date"].tolist() == [0.0, 100.0]


def test_not_lower_requires_post_relapse_rebaseline() -> None:
    with pytest.raises(ValueError, match="after_relapse"):
        BaselineRule(not_lower=True)


# --- event modes, imputation, milestones of output -----------------------------------------


def test_event_modes() -> None:
    data = visits((0, 3.0), (100, 2.0), (200, 2.0), (300, 4.0), (400, 4.0))
    assert events(data, event="first_cdw")["event_type"].tolist() == ["CDW"]
    assert events(data, event="first_cdi")["event_type"].tolist() == ["CDI"]
    assert events(data, event="first")["event_type"].tolist() == ["CDI"]
    roving = BaselineRule(kind="roving")
    assert events(data, event="all", baseline=roving)["event_type"].tolist() == ["CDI", "CDW"]


def test_impute_last_visit_is_deterministic() -> None:
    data = visits((0, 2.0), (100, 2.0), (200, 3.0))
    assert events(data).empty
    imputed = events(data, impute_last_visit=True)
    assert imputed["date"].tolist() == [200.0]
    assert events(data, impute_last_visit=True, impute_within_days=150).empty


def test_patients_without_events_keep_a_censored_row() -> None:
    data = pd.concat(
        [visits((0, 2.0), (100, 3.0), (200, 3.0)), visits((0, 2.0), (500, 2.0), patient="B")]
    )
    result = detect_disability_events(data)
    censored = result.events[~result.events["event"]]
    assert censored["patient_id"].tolist() == ["B"]
    assert censored["time_days"].tolist() == [500.0]
    assert result.patients.set_index("patient_id").loc["A", "cdw"] == 1


def test_unconfirmed_candidates_are_listed() -> None:
    data = visits((0, 2.0), (100, 3.0), (190, 2.0))
    result = detect_disability_events(data)
    assert result.unconfirmed["date"].tolist() == [100.0]


# --- input handling -----------------------------------------------------------------------


def test_same_day_duplicates_keep_the_last_row() -> None:
    data = visits((0, 2.0), (100, 3.0), (100, 2.0), (200, 2.0))
    result = detect_disability_events(data)
    assert not result.events["event"].any()
    assert any("same-day" in w for w in result.warnings)


def test_missing_values_are_dropped_and_noted() -> None:
    data = visits((0, 2.0), (100, 3.0), (200, 3.0))
    data.loc[1, "edss"] = np.nan
    result = detect_disability_events(data)
    assert any("without a date or value" in w for w in result.warnings)
    assert not result.events["event"].any()


def test_bad_values_name_row_patient_and_column() -> None:
    data = visits((0, 2.0), (100, 11.0))
    with pytest.raises(DataValidationError) as info:
        detect_disability_events(data)
    problem = info.value.problems[0]
    assert (problem.table, problem.row, problem.patient_id, problem.column) == (
        "edss",
        2,
        "A",
        "edss",
    )


def test_missing_column_is_named() -> None:
    with pytest.raises(ValueError, match="column 'edss'"):
        detect_disability_events(visits((0, 2.0)).rename(columns={"edss": "score"}))


def test_single_visit_and_empty_relapses() -> None:
    result = detect_disability_events(visits((0, 2.0)), relapses())
    assert result.events["time_days"].tolist() == [0.0]


@st.composite
def cohorts(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(2, 12))
    gaps = draw(st.lists(st.integers(1, 300), min_size=n, max_size=n))
    scores = draw(st.lists(st.integers(0, 20), min_size=n, max_size=n))
    return visits(*zip(np.cumsum(gaps).astype(float), [s / 2 for s in scores], strict=True))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=cohorts(), seed=st.integers(0, 2**16))
def test_row_order_and_index_do_not_change_results(data: pd.DataFrame, seed: int) -> None:
    definition = DisabilityDefinition.mueller_2023()
    rel = relapses(float(data["date"].iloc[len(data) // 2]) - 10)
    expected = detect_disability_events(data, rel, definition).events
    shuffled = data.sample(frac=1, random_state=seed)
    shuffled.index = np.arange(len(shuffled))[::-1] + 1000
    got = detect_disability_events(shuffled, rel, definition).events
    pd.testing.assert_frame_equal(expected, got)


# --- anchoring and cohorts ----------------------------------------------------------------


def test_anchor_baseline_is_last_assessment_before_the_anchor() -> None:
    data = visits((0, 4.0), (90, 2.0), (200, 3.0), (300, 3.0))
    anchor = pd.DataFrame({"patient_id": ["A"], "anchor_date": [100.0]})
    result = detect_disability_events(data, anchor=anchor)
    ev = result.events[result.events["event"]]
    assert ev["baseline_date"].tolist() == [90.0]
    assert ev["time_from_anchor_days"].tolist() == [100.0]
    # without the anchor the baseline is the first visit (4.0) and nothing is worse
    assert not detect_disability_events(data).events["event"].any()


def test_anchor_excludes_patients_without_a_baseline() -> None:
    data = pd.concat([visits((0, 2.0), (200, 2.0)), visits((150, 2.0), patient="B")])
    anchor = pd.DataFrame({"patient_id": ["A", "B"], "anchor_date": [100.0, 100.0]})
    result = detect_disability_events(data, anchor=anchor)
    assert result.excluded["patient_id"].tolist() == ["B"]
    assert result.patients["patient_id"].tolist() == ["A"]


def test_example_cohort_anchored_at_ahsct() -> None:
    cohort = load_example()
    result = detect_disability_events(
        cohort, definition=DisabilityDefinition.mueller_2023(), anchor="ahsct"
    )
    n_ahsct = cohort.treatments.loc[cohort.treatments["kind"] == "ahsct", "patient_id"].nunique()
    assert result.n_patients == n_ahsct  # every transplanted patient has a baseline
    assert set(result.excluded["reason"]) == {"no anchor date"}
    assert result.n_patients + len(result.excluded) == cohort.patients["patient_id"].nunique()
    assert result.events["time_from_anchor_days"].ge(0).all()
    ev = result.events[result.events["event"]]
    assert (ev["date"] > ev["baseline_date"]).all()
    assert "roving" in result.methods()
    assert "PIRA" in result.summary()


def test_presets_build_and_describe_themselves() -> None:
    for preset in (
        "msprog",
        "mueller_2023",
        "kappos_2020",
        "kalincik_2015",
        "muraro_2017",
        "mist_2019",
        "bern_2025",
    ):
        definition = getattr(DisabilityDefinition, preset)()
        assert definition.name in definition.methods_text()


# --- milestones -----------------------------------------------------------------------------


def test_milestone_needs_confirmation() -> None:
    data = pd.concat(
        [
            visits((0, 5.0), (100, 6.0), (190, 5.5), (300, 6.5), (400, 6.0)),
            visits((0, 5.0), (100, 6.0), (200, 6.0), patient="B"),
            visits((0, 5.0), (100, 6.0), patient="C"),
        ]
    )
    table = time_to_milestone(data, 6.0).table.set_index("patient_id")
    assert table.loc["A", "time_days"] == 300.0  # day 100 fails at day 190
    assert table.loc["B", "time_days"] == 100.0
    assert not table.loc["C", "event"]
    assert table.loc["C", "time_days"] == 100.0  # censored at the last visit
    imputed = time_to_milestone(data, 6.0, definition=DisabilityDefinition(impute_last_visit=True))
    assert imputed.table.set_index("patient_id").loc["C", "event"]


def test_milestone_confirmation_near_a_relapse_does_not_count() -> None:
    data = visits((0, 5.0), (100, 6.0), (190, 6.0), (300, 6.0))
    table = time_to_milestone(data, 6.0, relapses(170)).table
    assert table["date"].tolist() == [100.0]  # confirmed at day 300 instead of 190
    early = time_to_milestone(
        data,
        6.0,
        relapses(80),
        DisabilityDefinition().with_(relapse_buffer=RelapseBuffer(event=30)),
    ).table
    assert early["date"].tolist() == [190.0]


def test_milestone_anchored_ignores_the_baseline_visit() -> None:
    data = visits((0, 6.0), (100, 6.0), (200, 6.5))
    anchor = pd.DataFrame({"patient_id": ["A"], "anchor_date": [50.0]})
    table = time_to_milestone(data, 6.0, anchor=anchor).table
    assert table["date"].tolist() == [100.0]
    assert table["time_from_anchor_days"].tolist() == [50.0]
