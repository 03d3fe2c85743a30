"""Disability definitions over the T25FW, 9HPT and SDMT, and the composite of the EDSS,
T25FW and 9HPT (issue 19, item 4): hand-worked cases.

Every measure runs through the one disability scan with its own threshold rule and
direction (``DisabilityDefinition.measure``); see docs/how-to/disability-definitions.md.
The cases are worked by hand: a 20% threshold at exactly 20% and just below, an SDMT drop
of 4 points or 10%, a test not completed counting as worse than any time, the worse hand
of the day, confirmation exactly at the tolerance edge, and a relapse on the event's day.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msreboot.data import Cohort
from msreboot.endpoints import (
    BaselineRule,
    ConfirmationRule,
    DisabilityDefinition,
    EndpointDefinition,
    ThresholdRule,
    detect_disability_events,
    endpoint_times,
)
from msreboot.endpoints._disability_measures import UNABLE_TO_COMPLETE_SECONDS, measure_frame

Walk = tuple[str, int, float | None]  # patient, day, seconds (None: unable to complete)


def cohort(
    edss: Sequence[tuple[str, int, float]] = (),
    walk: Sequence[Walk] = (),
    peg: Sequence[tuple[str, int, str, float | None]] = (),
    sdmt: Sequence[tuple[str, int, int]] = (),
    relapses: Sequence[tuple[str, int]] = (),
) -> Cohort:
    """A day-based cohort, everyone transplanted on day 0."""
    ids = sorted({r[0] for r in (*edss, *walk, *peg, *sdmt)})
    tables = {
        "patients": pd.DataFrame(
            {"patient_id": ids, "phenotype": ["RRMS"] * len(ids), "birth_date": -12000}
        ),
        "treatments": pd.DataFrame({"patient_id": ids, "kind": "ahsct", "start_date": 0}),
        "edss": pd.DataFrame(list(edss), columns=["patient_id", "date", "edss"]),
        "relapses": pd.DataFrame(list(relapses), columns=["patient_id", "onset_date"]),
        "timed_walk": pd.DataFrame(
            [(p, d, s, True if s is None else None) for p, d, s in walk],
            columns=["patient_id", "date", "seconds", "unable_to_complete"],
        ),
        "peg_test": pd.DataFrame(
            [(p, d, h, s, True if s is None else None) for p, d, h, s in peg],
            columns=["patient_id", "date", "hand", "seconds", "unable_to_complete"],
        ),
        "sdmt": pd.DataFrame(list(sdmt), columns=["patient_id", "date", "score"]),
    }
    return Cohort.from_frames(tables, time_unit="day")


def events(data: Cohort, definition: DisabilityDefinition) -> list[tuple[object, ...]]:
    ev = detect_disability_events(data, definition=definition).events
    ev = ev[ev["event"].astype(bool)]
    columns = ["patient_id", "event_type", "date", "value", "baseline_value"]
    if "cdw_type" in ev:
        columns.append("cdw_type")
    return [tuple(r) for r in ev[columns].itertuples(index=False)]


WALK = DisabilityDefinition.kappos_2020_t25fw()


def walk_series(patient: str, times: Sequence[float | None]) -> list[Walk]:
    return [(patient, day, s) for day, s in zip((0, 100, 184, 400), times, strict=False)]


# --- thresholds -------------------------------------------------------------------------------


def test_relative_threshold_counts_exactly_20_percent_and_not_below() -> None:
    data = cohort(walk=walk_series("A", (5.0, 6.0, 6.0)) + walk_series("B", (5.0, 5.99, 5.99)))
    assert events(data, WALK) == [("A", "CDW", 100.0, 6.0, 5.0, "PIRA")]


@pytest.mark.parametrize("reference", [4.1, 6.1, 7.3, 12.7, 33.3])
def test_exactly_20_percent_counts_whatever_the_rounding(reference: float) -> None:
    worse = reference * 1.2
    data = cohort(walk=walk_series("A", (reference, worse, worse)))
    assert [e[:2] for e in events(data, WALK)] == [("A", "CDW")]


def test_relative_threshold_rule_checks_and_describes_itself() -> None:
    rule = ThresholdRule.sdmt_4_points_or_10_percent()
    # 10% of 30 is 3 (< 4 points); 10% of 50 is 5 (> 4): the smaller counts; 0: the steps
    np.testing.assert_allclose(rule.delta(np.array([30.0, 50.0, 0.0])), [3.0, 4.0, 4.0])
    assert np.isinf(ThresholdRule.relative_20_percent().delta(np.array([0.0])))[0]
    assert "20% of the reference" in ThresholdRule.relative_20_percent().describe()
    with pytest.raises(ValueError, match="relative must be a fraction >= 0"):
        ThresholdRule("x", relative=-0.2)
    with pytest.raises(ValueError, match="steps, a relative threshold or a function"):
        ThresholdRule("x")
    with pytest.raises(ValueError, match="not both"):
        ThresholdRule("x", function=lambda r: 1.0, relative=0.2)


def test_direction_must_fit_the_measure() -> None:
    with pytest.raises(ValueError, match="direction must be 'decrease' for measure 'sdmt'"):
        DisabilityDefinition(measure="sdmt")
    with pytest.raises(ValueError, match="direction must be 'increase' for measure 't25fw'"):
        DisabilityDefinition(measure="t25fw", direction="decrease")
    with pytest.raises(ValueError, match="measure must be one of"):
        DisabilityDefinition(measure="msfc")  # type: ignore[arg-type]


# --- unable to complete ------------------------------------------------------------------------


def test_unable_to_complete_is_worse_than_any_time() -> None:
    data = cohort(walk=walk_series("A", (8.0, None, None)) + walk_series("B", (None, None, 9.0)))
    got = events(data, WALK.with_(event="first_cdw"))
    # A: 8 s -> not completed is a worsening; B: nothing is worse than not completing
    assert got == [("A", "CDW", 100.0, UNABLE_TO_COMPLETE_SECONDS, 8.0, "PIRA")]


def test_a_completed_time_confirms_a_worsening_only_if_still_20_percent_longer() -> None:
    # 8 s -> not completed; then 9.6 s (exactly 20% longer) confirms, 9.5 s does not
    data = cohort(walk=walk_series("A", (8.0, None, 9.6)) + walk_series("B", (8.0, None, 9.5)))
    got = events(data, WALK.with_(event="first_cdw"))
    assert [e[:3] for e in got] == [("A", "CDW", 100.0)]


# --- 9HPT hands ---------------------------------------------------------------------------------


def test_the_worse_hand_of_the_day_and_one_hand() -> None:
    peg = [
        ("A", 0, "dominant", 20.0),
        ("A", 0, "non_dominant", 22.0),
        ("A", 100, "dominant", 21.0),
        ("A", 100, "non_dominant", 26.4),  # 20% over the worse hand's 22.0
        ("A", 184, "dominant", 20.0),
        ("A", 184, "non_dominant", 27.0),
    ]
    data = cohort(peg=peg)
    frame = measure_frame(data, "9hpt", "worse")
    assert frame["edss"].tolist() == [22.0, 26.4, 27.0]
    peg_rules = DisabilityDefinition.kappos_2020_9hpt().with_(event="first_cdw")
    assert [e[:4] for e in events(data, peg_rules)] == [("A", "CDW", 100.0, 26.4)]
    assert events(data, peg_rules.with_(hand="dominant")) == []
    assert [e[:4] for e in events(data, peg_rules.with_(hand="non_dominant"))] == [
        ("A", "CDW", 100.0, 26.4)
    ]


# --- SDMT ---------------------------------------------------------------------------------------


def test_sdmt_drop_of_4_points_or_10_percent_lower_is_worse() -> None:
    rules = DisabilityDefinition.sdmt_4_points().with_(event="first_cdw")
    sdmt = [("A", d, s) for d, s in ((0, 50), (100, 46), (184, 46))]  # -4 points: counts
    sdmt += [("B", d, s) for d, s in ((0, 50), (100, 47), (184, 47))]  # -3 (6%): no
    sdmt += [("C", d, s) for d, s in ((0, 30), (100, 27), (184, 27))]  # -3 = 10%: counts
    sdmt += [("D", d, s) for d, s in ((0, 50), (100, 60), (184, 60))]  # better: no CDW
    got = events(cohort(sdmt=sdmt), rules)
    assert [e[:5] for e in got] == [
        ("A", "CDW", 100.0, 46.0, 50.0),
        ("C", "CDW", 100.0, 27.0, 30.0),
    ]


def test_sdmt_improvement_is_an_increase() -> None:
    rules = DisabilityDefinition.sdmt_4_points().with_(event="first_cdi")
    sdmt = [("D", d, s) for d, s in ((0, 50), (100, 55), (184, 55))]
    assert [e[:4] for e in events(cohort(sdmt=sdmt), rules)] == [("D", "CDI", 100.0, 55.0)]


# --- confirmation and relapses ------------------------------------------------------------------


@pytest.mark.parametrize(("day", "confirmed"), [(77, True), (76, False)])
def test_confirmation_exactly_at_the_tolerance_edge(day: int, confirmed: bool) -> None:
    # 84-day confirmation, 7 days' tolerance before: day 100 + 77 confirms, + 76 does not
    walk = [("A", 0, 5.0), ("A", 100, 6.0), ("A", 100 + day, 6.0)]
    got = events(cohort(walk=walk), WALK.with_(event="first_cdw"))
    assert bool(got) is confirmed


def test_relapse_on_the_event_day_makes_a_walk_worsening_raw() -> None:
    walk = walk_series("A", (5.0, 6.0, 6.0, 6.0))
    rules = WALK.with_(baseline=BaselineRule(kind="roving"))
    got = events(cohort(walk=walk, relapses=[("A", 100)]), rules)
    assert [e[-1] for e in got if e[1] == "CDW"] == ["RAW"]


@pytest.mark.parametrize(("day", "confirmed"), [(214, True), (215, False)])
def test_confirmation_at_the_upper_tolerance_edge(day: int, confirmed: bool) -> None:
    # 84 days + 30 days' tolerance after: 100 + 114 confirms (inclusive), 100 + 115 does not
    rules = WALK.with_(confirmation=ConfirmationRule(days=84, tolerance_days=(0, 30)))
    walk = [("A", 0, 5.0), ("A", 100, 6.0), ("A", day, 6.0)]
    assert bool(events(cohort(walk=walk), rules.with_(event="first_cdw"))) is confirmed


# --- the composite ------------------------------------------------------------------------------


def test_composite_is_the_first_confirmed_worsening_of_any_measure() -> None:
    edss = [("A", d, v) for d, v in ((-5, 3.0), (300, 4.0), (400, 4.0), (800, 4.0))]
    walk = [("A", -5, 5.0), ("A", 200, 6.5), ("A", 300, 6.5), ("A", 800, 6.5)]
    peg = [("A", -5, "dominant", 20.0), ("A", 800, "dominant", 20.0)]
    edss += [("B", d, 3.0) for d in (-5, 300, 800)]
    peg += [("B", -5, "dominant", 20.0), ("B", 100, "dominant", 25.0)]
    peg += [("B", 200, "dominant", 25.0), ("B", 800, "dominant", 25.0)]
    data = cohort(edss=edss, walk=walk, peg=peg)
    for name in ("kappos_2020_cda", "cadavid_2017_edss_plus"):
        times = endpoint_times(data, EndpointDefinition.preset(name)).patients.set_index(
            "patient_id"
        )
        assert (times.loc["A", "time_days"], times.loc["A", "status"]) == (200, 1), name
        assert times.loc["A", "cause"] == "disability_2", name
        assert (times.loc["B", "time_days"], times.loc["B", "status"]) == (100, 1), name


# --- properties ---------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    st.lists(st.floats(3.0, 170.0, allow_nan=False), min_size=2, max_size=8),
    st.floats(1.01, 5.0),
)
def test_scaling_every_time_does_not_change_relative_events(
    seconds: list[float], factor: float
) -> None:
    days = [120 * k for k in range(len(seconds))]
    walk = [("A", d, round(s, 3)) for d, s in zip(days, seconds, strict=True)]
    scaled = [("A", d, round(s, 3) * factor) for d, s in zip(days, seconds, strict=True)]
    if max(s for _, _, s in scaled) > 180:
        return
    rules = WALK.with_(event="all")
    a = [e[:3] for e in events(cohort(walk=walk), rules)]
    b = [e[:3] for e in events(cohort(walk=scaled), rules)]
    assert a == b
