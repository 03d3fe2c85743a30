"""Hand-worked cases for the disability options beyond msprog (issue 19), one per option.

Every expected value below is worked out by hand in the comments from the rules as the
docstrings of :mod:`msreboot.endpoints` state them; nothing is taken from the engine.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msreboot.endpoints import (
    BaselineRule,
    ConfirmationRule,
    DisabilityDefinition,
    PIRARule,
    RelapseBuffer,
    detect_disability_events,
)


def visits(*rows: tuple[float, float], patient: str = "A") -> pd.DataFrame:
    return pd.DataFrame(
        {"patient_id": patient, "date": [float(d) for d, _ in rows], "edss": [v for _, v in rows]}
    )


def relapses(*days: float, patient: str = "A") -> pd.DataFrame:
    return pd.DataFrame({"patient_id": patient, "onset_date": [float(d) for d in days]})


def found(
    data: pd.DataFrame, rel: pd.DataFrame | None, definition: DisabilityDefinition
) -> pd.DataFrame:
    out = detect_disability_events(data, rel, definition).events
    return out[out["event"]].reset_index(drop=True)


# --- 1. "not lower" keeps the level of a confirmed event ----------------------------------

# The reproduction of issue 19: Kappos 2020 with a 7-day confirmation (0 to 730.5 days
# late), a 30-day baseline buffer and no event or confirmation buffer.
KAPPOS_7 = DisabilityDefinition.kappos_2020().with_(
    confirmation=ConfirmationRule(days=7, tolerance_days=(0, 730.5)),
    relapse_buffer=RelapseBuffer(baseline=30, event=0, confirmation=0),
)
ISSUE_19 = visits((0, 2.0), (102, 3.5), (110, 3.5), (140, 2.5), (300, 3.5), (400, 3.5))


def test_not_lower_issue_19_reproduction_counts_one_disability_once() -> None:
    # Baseline day 0 (2.0). Day 102: 3.5 - 2.0 = 1.5 >= 1.0, confirmed on day 110 (lag 8
    # in [7, 737.5]); the relapse on day 100 is 2 days before: RAW. The roving baseline
    # moves to the confirmation (day 110, 3.5), which lies 10 < 30 days after the relapse,
    # so the buffer moves it to day 140 (2.5). Never lower than the confirmed level 3.5:
    # the reference stays 3.5, and day 300 (3.5) is no change. One event only.
    out = found(ISSUE_19, relapses(100), KAPPOS_7)
    assert out["date"].tolist() == [102.0]
    assert out["cdw_type"].tolist() == ["RAW"]


def test_not_lower_buffer_edge_visit_30_days_after_the_relapse_is_a_baseline() -> None:
    # The confirmation visit itself at day 130 is 30 days after the relapse: not within the
    # buffer (the buffer excludes visits less than 30 days after), so it is the baseline
    # (3.5), and day 300 (3.5) is no change: the same single RAW event.
    data = visits((0, 2.0), (102, 3.5), (130, 3.5), (140, 2.5), (300, 3.5), (400, 3.5))
    out = found(data, relapses(100), KAPPOS_7)
    assert out["date"].tolist() == [102.0]


def test_not_lower_still_allows_a_real_second_worsening() -> None:
    # As the reproduction, then 4.5 on days 300 and 400: 4.5 - 3.5 = 1.0 >= 1.0 from the
    # carried reference 3.5; no relapse within 90 days before day 300: PIRA on day 300,
    # reported against the carried value 3.5 (dated at the buffered baseline, day 140).
    data = visits((0, 2.0), (102, 3.5), (110, 3.5), (140, 2.5), (300, 4.5), (400, 4.5))
    out = found(data, relapses(100), KAPPOS_7)
    assert out["date"].tolist() == [102.0, 300.0]
    assert out["cdw_type"].tolist() == ["RAW", "PIRA"]
    assert out["baseline_value"].tolist() == [2.0, 3.5]
    assert out["baseline_date"].tolist() == [0.0, 140.0]


@st.composite
def relapsing_patients(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = draw(st.integers(2, 12))
    gaps = draw(st.lists(st.sampled_from([1, 7, 8, 20, 30, 60, 90, 120]), min_size=n, max_size=n))
    days = np.cumsum(gaps).astype(float)
    values = draw(
        st.lists(st.sampled_from([0.0, 1.0, 2.0, 2.5, 3.5, 4.5, 6.0]), min_size=n, max_size=n)
    )
    onsets = draw(st.lists(st.integers(0, int(days[-1])), max_size=4))
    return visits(*zip(days.tolist(), values, strict=True)), relapses(*sorted(onsets))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    patient=relapsing_patients(),
    buffer=st.sampled_from([0, 10, 30]),
    tolerance=st.sampled_from([0, 7]),
)
def test_not_lower_no_later_baseline_below_an_earlier_confirmed_event(
    patient: tuple[pd.DataFrame, pd.DataFrame], buffer: int, tolerance: int
) -> None:
    data, rel = patient
    definition = KAPPOS_7.with_(
        confirmation=ConfirmationRule(days=7, tolerance_days=(tolerance, 730.5)),
        relapse_buffer=RelapseBuffer(baseline=buffer, event=0, confirmation=buffer),
    )
    out = found(data, rel, definition)
    level = -np.inf  # the reference reached by the confirmed worsening so far
    for row in out.itertuples():
        assert row.baseline_value >= level
        if row.event_type == "CDW":
            level = max(level, row.confirmation_7_value)


# --- 2. PIRA with relapse during confirmation ---------------------------------------------

PIRA_R = "PIRA with relapse during confirmation"


def classified(**pira: object) -> DisabilityDefinition:
    rule = replace(PIRARule.mueller_2023(), report_relapse_during_confirmation=True, **pira)
    return DisabilityDefinition(classify_raw_pira=True, pira=rule)


def test_relapse_during_confirmation_is_its_own_category_only_on_request() -> None:
    # Baseline 2.0 (day 0), event 3.0 on day 200 confirmed on day 400; relapse on day 220:
    # not RAW (after the event), not PIRA (inside the event's 30 days after), and no
    # relapse from 90 days before the event up to the event: PIRA with relapse during
    # confirmation. Off (the default), the event stays undefined as before.
    data = visits((0, 2.0), (200, 3.0), (400, 3.0))
    off = detect_disability_events(
        data, relapses(220), DisabilityDefinition(classify_raw_pira=True)
    )
    on = detect_disability_events(data, relapses(220), classified())
    assert off.events["cdw_type"].tolist() == ["undefined"]
    assert "pira_relapse_during_confirmation" not in off.patients
    assert on.events["cdw_type"].tolist() == [PIRA_R]
    assert on.patients.loc[0, "pira_relapse_during_confirmation"] == 1
    assert on.patients.loc[0, "undefined"] == 0
    assert on.patients.loc[0, "event_sequence"] == "PIRA-R"
    assert on.count(PIRA_R) == 1
    assert f"{PIRA_R}: 1" in on.summary()
    assert PIRA_R in on.methods()
    assert PIRA_R not in off.methods()


@pytest.mark.parametrize(("relapse_day", "kind"), [(330, PIRA_R), (331, "PIRA")])
def test_relapse_during_confirmation_window_edge_is_inclusive(
    relapse_day: float, kind: str
) -> None:
    # Confirmation on day 300: its relapse-free interval runs from 90 days before to 30
    # days after, [210, 330], both ends included.
    data = visits((0, 2.0), (200, 3.0), (300, 3.0))
    out = found(data, relapses(relapse_day), classified())
    assert out["cdw_type"].tolist() == [kind]


def test_relapse_before_the_event_keeps_it_undefined() -> None:
    # Kappos 2020 intervals: no relapse from the baseline to the event. A relapse on day
    # 100, 100 days before the event on day 200 (not RAW: more than 90 days), fails the
    # interval before the event, so the event is undefined, not PIRA-R.
    definition = DisabilityDefinition(
        classify_raw_pira=True,
        pira=replace(PIRARule.kappos_2020(), report_relapse_during_confirmation=True),
    )
    data = visits((0, 2.0), (200, 3.0), (300, 3.0))
    assert found(data, relapses(100), definition)["cdw_type"].tolist() == ["undefined"]


def test_relapse_on_the_same_day_as_the_event_or_the_confirmation() -> None:
    data = visits((0, 2.0), (200, 3.0), (300, 3.0))
    # on the event day: RAW (distance 0 is within the 90 days before)
    assert found(data, relapses(200), classified())["cdw_type"].tolist() == ["RAW"]
    # on the confirmation day, with no confirmation buffer: the visit confirms, and the
    # relapse (after the event, inside the confirmation's interval) makes it PIRA-R
    definition = classified().with_(relapse_buffer=RelapseBuffer(confirmation=0))
    assert found(data, relapses(300), definition)["cdw_type"].tolist() == [PIRA_R]


# --- 3. monotonic confirmation ------------------------------------------------------------


def monotonic(**rules: object) -> DisabilityDefinition:
    return DisabilityDefinition(confirmation=ConfirmationRule(monotonic=True, **rules))  # type: ignore[arg-type]


@pytest.mark.parametrize(("confirming", "confirmed"), [(3.0, False), (3.5, True), (4.0, True)])
def test_monotonic_confirmation_may_not_fall_below_the_event(
    confirming: float, confirmed: bool
) -> None:
    # Baseline 2.0; event 3.5 on day 100 (+1.5 >= 1.0); confirmation on day 190 (lag 90).
    # 3.0 is still +1.0 from the baseline (msprog confirms) but below the event score 3.5;
    # 3.5 equals it (allowed: "not below").
    data = visits((0, 2.0), (100, 3.5), (190, confirming))
    assert len(found(data, None, DisabilityDefinition())) == 1
    assert len(found(data, None, monotonic())) == int(confirmed)


def test_monotonic_confirmation_checks_intermediate_visits_unless_told_otherwise() -> None:
    # Day 150 (3.0) lies between the event (3.5, day 100) and the confirmation (3.5, day
    # 190): with intermediate checks it falls below the event, without them only day 190
    # is tested.
    data = visits((0, 2.0), (100, 3.5), (150, 3.0), (190, 3.5))
    assert found(data, None, monotonic()).empty
    assert found(data, None, monotonic(check_intermediate=False))["date"].tolist() == [100.0]


def test_monotonic_confirmation_of_an_improvement() -> None:
    # Baseline 4.0; improvement to 2.5 on day 100 (-1.5); confirmation 3.0 on day 190 is
    # still -1.0 (msprog confirms) but worse than the event score 2.5.
    data = visits((0, 4.0), (100, 2.5), (190, 3.0))
    assert len(found(data, None, DisabilityDefinition(event="first_cdi"))) == 1
    assert found(data, None, monotonic().with_(event="first_cdi")).empty
    assert "monotonic" in monotonic().methods_text()


# --- 4. unconfirmed worsening as a sensitivity analysis -----------------------------------

SENSITIVITY = DisabilityDefinition(unconfirmed_worsening=True)


def test_unconfirmed_worsening_counts_in_the_sensitivity_mode_only() -> None:
    # Day 100 (3.0) is +1.0 from 2.0; the only later visit, day 150, is 50 days later
    # (before the window opens at 77): no confirmation. Default: no event, one unconfirmed
    # candidate. Sensitivity mode: an event on day 100, flagged unconfirmed and counted.
    data = visits((0, 2.0), (100, 3.0), (150, 2.0))
    default = detect_disability_events(data, None, DisabilityDefinition())
    assert not default.events["event"].any()
    assert default.unconfirmed["date"].tolist() == [100.0]
    assert "confirmed" not in default.events
    assert "cdw_unconfirmed" not in default.patients
    result = detect_disability_events(data, None, SENSITIVITY)
    events = result.events[result.events["event"]]
    assert events["date"].tolist() == [100.0]
    assert events["confirmed"].tolist() == [False]
    assert np.isnan(events["confirmation_84_date"].iloc[0])
    assert result.patients.loc[0, "cdw_unconfirmed"] == 1
    assert "unconfirmed worsening (sensitivity mode): 1" in result.summary()
    assert "sensitivity analysis" in result.methods()


def test_unconfirmed_worsening_moves_the_roving_reference_to_the_candidate() -> None:
    # Default: day 100 (3.0) fails at its first confirmation (day 190, 2.0); day 300
    # (3.5, +1.5 from 2.0) is confirmed on day 400: one confirmed CDW on day 300.
    # Sensitivity, roving: day 100 is an unconfirmed event and the reference becomes 3.0
    # (day 100); day 190 (2.0) is an unconfirmed improvement candidate (-1.0, its window
    # visit day 300 is 3.5); day 300 is +0.5 from 3.0, below the 1.0 step: one event only.
    data = visits((0, 2.0), (100, 3.0), (190, 2.0), (300, 3.5), (400, 3.5))
    roving = BaselineRule(kind="roving")
    default = found(data, None, DisabilityDefinition(event="all", baseline=roving))
    assert default["date"].tolist() == [300.0]
    sensitive = found(data, None, SENSITIVITY.with_(event="all", baseline=roving))
    assert sensitive["date"].tolist() == [100.0]
    assert sensitive["confirmed"].tolist() == [False]
    # a confirmed event keeps its confirmation in the sensitivity mode
    kept = found(visits((0, 2.0), (100, 3.0), (190, 3.0)), None, SENSITIVITY)
    assert kept["confirmed"].tolist() == [True]
    assert kept["confirmation_84_date"].tolist() == [190.0]


def test_unconfirmed_improvement_is_still_not_an_event() -> None:
    data = visits((0, 4.0), (100, 3.0), (150, 4.0))
    assert found(data, None, SENSITIVITY.with_(event="first_cdi")).empty


# --- 6. post-event reference: the lowest confirmed score, dated at the event ---------------


def roving(**rules: object) -> DisabilityDefinition:
    return DisabilityDefinition(event="all", baseline=BaselineRule(kind="roving", **rules))  # type: ignore[arg-type]


def test_lowest_confirmed_reference_against_the_other_post_event_references() -> None:
    # Event 4.0 on day 100 (+2.0 from 2.0), confirmed on day 190 (3.0, still +1.0).
    # confirmation (default): reference 3.0 dated day 190; day 300 (4.0, +1.0) is a second
    #   event, confirmed on day 400.
    # event: reference 4.0 dated day 100; day 300 is no change: one event.
    # lowest_confirmed: reference min(4.0, 3.0) = 3.0 dated day 100; day 300 is a second
    #   event against 3.0, its baseline dated day 100.
    data = visits((0, 2.0), (100, 4.0), (190, 3.0), (300, 4.0), (400, 4.0))
    default = found(data, None, roving())
    assert default["date"].tolist() == [100.0, 300.0]
    assert default["baseline_date"].tolist() == [0.0, 190.0]
    assert found(data, None, roving(proceed_from="event"))["date"].tolist() == [100.0]
    lowest = found(data, None, roving(post_event_reference="lowest_confirmed"))
    assert lowest["date"].tolist() == [100.0, 300.0]
    assert lowest["baseline_date"].tolist() == [0.0, 100.0]
    assert lowest["baseline_value"].tolist() == [2.0, 3.0]
    assert lowest["value"].tolist() == [4.0, 4.0]  # the event keeps its own score


def test_lowest_confirmed_reference_includes_intermediate_visits_only_when_checked() -> None:
    # Event 3.5 (day 100); day 150 (3.0) lies before the window (lag 50) and day 190 (4.0)
    # confirms. With intermediate checks the span is 3.5, 3.0, 4.0: reference 3.0 dated
    # day 100, so day 190 (4.0, +1.0) is a new candidate, confirmed by day 300 (4.5):
    # events on days 100 and 190. Without them the span is 3.5 and 4.0: reference 3.5;
    # day 190 is +0.5 only, day 300 (4.5) is +1.0 and confirmed by day 400 (4.5).
    data = visits((0, 2.0), (100, 3.5), (150, 3.0), (190, 4.0), (300, 4.5), (400, 4.5))
    every = found(data, None, roving(post_event_reference="lowest_confirmed"))
    assert every["date"].tolist() == [100.0, 190.0]
    assert every["baseline_value"].tolist() == [2.0, 3.0]
    loose = roving(post_event_reference="lowest_confirmed").with_(
        confirmation=ConfirmationRule(check_intermediate=False)
    )
    out = found(data, None, loose)
    assert out["date"].tolist() == [100.0, 300.0]
    assert out["baseline_value"].tolist() == [2.0, 3.5]


def test_lowest_confirmed_reference_of_an_improvement_is_the_highest_score() -> None:
    # Improvement from 5.0 to 3.0 (day 100, -2.0), confirmed by 4.0 (day 190, -1.0): the
    # reference becomes max(3.0, 4.0) = 4.0 dated day 100; day 300 (3.0, -1.0 from 4.0) is
    # a second improvement, confirmed on day 400.
    data = visits((0, 5.0), (100, 3.0), (190, 4.0), (300, 3.0), (400, 3.0))
    out = found(data, None, roving(post_event_reference="lowest_confirmed"))
    assert out["event_type"].tolist() == ["CDI", "CDI"]
    assert out["baseline_date"].tolist() == [0.0, 100.0]
    assert out["baseline_value"].tolist() == [5.0, 4.0]
    assert "least changed" in roving(post_event_reference="lowest_confirmed").methods_text()


# --- 5. a running-minimum roving reference with its own confirmation ------------------------


def running(days: float = 0.0) -> DisabilityDefinition:
    rule = BaselineRule(kind="running_minimum", reference_confirmation_days=days)
    return DisabilityDefinition(event="all", baseline=rule)


def test_running_minimum_moves_the_reference_to_any_lower_score() -> None:
    # 3.0 -> 2.5 (day 100) is below the reference: it becomes the reference at once
    # (no confirmation asked); day 200 (3.5, +1.0 from 2.5) is a worsening confirmed on
    # day 300. A fixed baseline (3.0) sees +0.5 only.
    data = visits((0, 3.0), (100, 2.5), (200, 3.5), (300, 3.5))
    out = found(data, None, running())
    assert out["date"].tolist() == [200.0]
    assert out["baseline_date"].tolist() == [100.0]
    assert out["baseline_value"].tolist() == [2.5]
    assert found(data, None, DisabilityDefinition(event="all")).empty
    # the improvement of 0.5 is not an event, it only moved the reference
    assert (out["event_type"] == "CDW").all()


@pytest.mark.parametrize(("lag", "moved"), [(29, False), (30, True)])
def test_running_minimum_confirmation_reaches_the_first_visit_at_least_days_later(
    lag: float, moved: bool
) -> None:
    # 2.5 on day 100 needs every score up to the first visit 30 or more days later below
    # 3.0. With one visit 29 days later (2.5) and the next on day 300 (4.0, not below),
    # it is not confirmed; with the visit exactly 30 days later it is, and day 300 (4.0,
    # +1.5 from 2.5) is a worsening confirmed on day 400; from 3.0 it is +1.0, also one,
    # so the reference date tells them apart.
    data = visits((0, 3.0), (100, 2.5), (100 + lag, 2.5), (300, 4.0), (400, 4.0))
    out = found(data, None, running(30))
    assert out["date"].tolist() == [300.0]
    assert out["baseline_date"].tolist() == ([100.0] if moved else [0.0])
    assert out["baseline_value"].tolist() == ([2.5] if moved else [3.0])


def test_running_minimum_reference_is_the_highest_score_of_its_confirmation() -> None:
    # 2.0 on day 100, then 2.5 on day 140 (40 days later, below 3.0): confirmed over 30
    # days, and the reference is the higher of the two, 2.5, dated day 100. Day 300 (3.5)
    # is +1.0 from 2.5: a worsening, confirmed on day 400 (+1.5 from 2.0 would not tell).
    data = visits((0, 3.0), (100, 2.0), (140, 2.5), (300, 3.5), (400, 3.5))
    out = found(data, None, running(30))
    assert out["baseline_date"].tolist() == [100.0]
    assert out["baseline_value"].tolist() == [2.5]
    assert "running minimum" in running(30).methods_text()


def test_running_minimum_rejects_sub_threshold_rebaselining() -> None:
    with pytest.raises(ValueError, match="running-minimum"):
        BaselineRule(kind="running_minimum", sub_threshold="event")
    with pytest.raises(ValueError, match="reference_confirmation_days"):
        BaselineRule(kind="running_minimum", reference_confirmation_days=-1)


# --- 9. the Bern preset ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relapse_day", "kind"),
    [
        (110, "RAW"),  # 90 days before the event (day 200): inside the RAW window
        # 91 days before: outside; day 200 is then the relapse's re-baselining visit,
        # where worsening is judged against the general reference and undefined
        (109, "undefined"),
        (230, "RAW"),  # 30 days after the event: inside the RAW window
        (231, PIRA_R),  # 31 days after: between the event and 30 days after confirmation
        (430, PIRA_R),  # confirmation on day 400 + 30 days: the end, included
        (431, "PIRA"),  # one day later: outside
    ],
)
def test_bern_2025_raw_window_and_relapse_during_confirmation(
    relapse_day: float, kind: str
) -> None:
    # Baseline 2.0; event 3.0 on day 200 (+1.0), confirmed by day 400 (lag 200 >= 180)
    # with no relapse buffers; nothing falls below the reference.
    data = visits((0, 2.0), (200, 3.0), (400, 3.0), (600, 3.0))
    out = found(data, relapses(relapse_day), DisabilityDefinition.bern_2025())
    assert out["date"].tolist() == [200.0]
    assert out["cdw_type"].tolist() == [kind]


# --- 8. minimal distance to the reference or the previous visit ----------------------------


@pytest.mark.parametrize(
    ("to", "gap", "event"),
    [
        ("reference", 119, False),
        ("reference", 120, True),
        ("previous", 119, False),
        ("previous", 120, True),
    ],
)
def test_minimal_distance_edges(to: str, gap: float, event: bool) -> None:
    # reference: the worsening (3.0, +1.0 from 2.0 on day 0) on day `gap` must lie 120 or
    # more days after the reference; at 119 it is no candidate, and the next visit (100
    # days later, 3.0) is one but has no visit to confirm it. At 120 the worsening is
    # confirmed by that visit (lag 100, inside 77 to 814.5 days).
    # previous: after visits on days 0 and 50 (2.0), the worsening comes `gap` days after
    # day 50; at 119 it is too close to day 50, and the next visit is 100 days after it.
    rows = [(0.0, 2.0)] if to == "reference" else [(0.0, 2.0), (50.0, 2.0)]
    start = rows[-1][0] if to == "previous" else 0.0
    data = visits(*rows, (start + gap, 3.0), (start + gap + 100, 3.0))
    rule = ConfirmationRule(minimal_distance_days=120, minimal_distance_to=to)  # type: ignore[arg-type]
    out = found(data, None, DisabilityDefinition(confirmation=rule))
    assert out["date"].tolist() == ([start + gap] if event else [])
    assert len(found(data, None, DisabilityDefinition())) == 1  # no distance: always one


def test_minimal_distance_is_in_the_methods_and_checked() -> None:
    rule = ConfirmationRule(minimal_distance_days=120)
    assert (
        "at least 120 days after its reference"
        in DisabilityDefinition(confirmation=rule).methods_text()
    )
    with pytest.raises(ValueError, match="minimal_distance_to"):
        ConfirmationRule(minimal_distance_days=1, minimal_distance_to="baseline")  # type: ignore[arg-type]
