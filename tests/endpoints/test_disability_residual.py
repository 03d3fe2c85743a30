"""Post-relapse re-baselining only with residual disability
(``BaselineRule(after_relapse=True, residual_only=True)``; Müller et al. 2023 as the Bern
engine describes it): hand-worked cases.

With relapse re-baselining, the first visit after a relapse (outside the 30-day baseline
buffer) becomes the reference. With ``residual_only`` it does so only when it is worse
than the current reference; after a full recovery the reference stays.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msreboot.endpoints import BaselineRule, DisabilityDefinition, detect_disability_events

REBASELINE = DisabilityDefinition(
    name="rebaseline",
    event="all",
    classify_raw_pira=True,
    baseline=BaselineRule(kind="roving", after_relapse=True),
)
RESIDUAL = REBASELINE.with_(
    baseline=BaselineRule(kind="roving", after_relapse=True, residual_only=True)
)


def found(
    visits: list[tuple[int, float]], relapses: list[int], definition: DisabilityDefinition
) -> list[tuple[object, ...]]:
    data = pd.DataFrame([("A", d, v) for d, v in visits], columns=["patient_id", "date", "edss"])
    rel = pd.DataFrame({"patient_id": ["A"] * len(relapses), "onset_date": relapses})
    ev = detect_disability_events(data, rel, definition).events
    ev = ev[ev["event"].astype(bool)]
    columns = ["event_type", "date", "value", "baseline_date", "baseline_value", "cdw_type"]
    return [tuple(r) for r in ev[columns].itertuples(index=False)]


def test_full_recovery_keeps_the_reference() -> None:
    visits = [(0, 2.0), (100, 2.0), (200, 2.0), (300, 3.0), (400, 3.0)]
    # re-baselining moves the reference to day 200 (2.0, the same score); residual_only keeps
    # the reference of day 0 (a tie is no residual disability)
    assert found(visits, [150], REBASELINE) == [("CDW", 300.0, 3.0, 200.0, 2.0, "PIRA")]
    assert found(visits, [150], RESIDUAL) == [("CDW", 300.0, 3.0, 0.0, 2.0, "PIRA")]


def test_a_lower_score_after_the_relapse_does_not_lower_the_reference() -> None:
    visits = [(0, 2.0), (200, 1.5), (300, 3.0), (400, 3.0)]
    # the candidate at day 300 (+1.0 from day 0) crosses the relapse: re-baselining moves
    # the reference to day 200 (1.5); residual_only keeps day 0 (1.5 is not worse than 2.0)
    assert found(visits, [150], REBASELINE) == [("CDW", 300.0, 3.0, 200.0, 1.5, "PIRA")]
    assert found(visits, [150], RESIDUAL) == [("CDW", 300.0, 3.0, 0.0, 2.0, "PIRA")]


def test_residual_disability_moves_the_reference() -> None:
    visits = [(0, 2.0), (200, 2.5), (300, 3.5), (400, 3.5)]
    expected = [("CDW", 300.0, 3.5, 200.0, 2.5, "PIRA")]
    assert found(visits, [150], REBASELINE) == expected
    assert found(visits, [150], RESIDUAL) == expected


@pytest.mark.parametrize(("relapse", "baseline_date"), [(170, 0.0), (171, None)])
def test_the_baseline_buffer_edge_is_inclusive(relapse: int, baseline_date: float | None) -> None:
    visits = [(0, 2.0), (200, 2.0), (300, 3.0), (400, 3.0)]
    got = found(visits, [relapse], RESIDUAL)
    if baseline_date is None:
        # day 200 lies within 30 days of the relapse: day 300 (3.0, residual) is the reference
        assert got == []
    else:
        # day 200 is exactly 30 days after: it is the post-relapse visit, without residual
        assert [(e[0], e[1], e[3]) for e in got] == [("CDW", 300.0, baseline_date)]


def test_two_relapses_each_checked() -> None:
    visits = [(0, 2.0), (100, 2.0), (200, 3.0), (300, 3.0), (500, 3.0), (600, 4.0), (700, 4.0)]
    # relapse 1 (day 50): full recovery at day 100, the reference stays at day 0; after the
    # day-200 event it moves to the confirmation (day 300, 3.0). Relapse 2 (day 400): day
    # 500 (3.0) is no worse, so the reference stays at day 300
    got = found(visits, [50, 400], RESIDUAL)
    assert [(e[0], e[1], e[3]) for e in got] == [("CDW", 200.0, 0.0), ("CDW", 600.0, 300.0)]


def test_needs_after_relapse() -> None:
    with pytest.raises(ValueError, match="residual_only applies to post-relapse re-baselining"):
        BaselineRule(kind="roving", residual_only=True)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from([1.0, 1.5, 2.0, 2.5, 3.0, 4.0]), min_size=2, max_size=9))
def test_without_relapses_residual_only_changes_nothing(scores: list[float]) -> None:
    visits = [(120 * k, s) for k, s in enumerate(scores)]
    assert found(visits, [], RESIDUAL) == found(visits, [], REBASELINE)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    st.lists(st.sampled_from([1.0, 1.5, 2.0, 2.5, 3.0, 4.0]), min_size=2, max_size=9),
    st.lists(st.integers(1, 1000), max_size=3),
)
def test_residual_only_scan_terminates_and_keeps_dates_ordered(
    scores: list[float], relapses: list[int]
) -> None:
    visits = [(120 * k, s) for k, s in enumerate(scores)]
    for event_type, date, _, baseline_date, _, _ in found(visits, sorted(relapses), RESIDUAL):
        assert baseline_date < date, event_type
