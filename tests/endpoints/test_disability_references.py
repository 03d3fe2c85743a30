"""Hand-worked cases for separate general and RAW/PIRA references and the options that run
with them (the undefined-worsening policies, merging, backtracking, sustained
confirmation): each at its boundary (a window end inclusive, a tie, the day after).

Unless a case says otherwise the rules are ``DisabilityDefinition.bern_2025()`` (which has
``raw_pira_reference="separate"``): msprog thresholds (+1.0 from 1.0 to 5.0, +0.5 above),
confirmation at the first visit >= 180 days later with every score in between, a
running-minimum reference confirmed over 30 days, RAW within 90 days after / 30 days
before a relapse, re-baselining visit = first visit more than 90 days after a relapse.
Each expected event is (day, score, reference score, type). The expected values were
worked out by hand; every case was also run through the Bern engine (commit 2953488, in
its own environment) and agrees with it (the plateau's reference date is internal to it).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from msreboot.endpoints import (
    BaselineRule,
    ConfirmationRule,
    DisabilityComponent,
    DisabilityDefinition,
    MergeRule,
    PIRARule,
    detect_disability_events,
)
from msreboot.endpoints._disability_settings import definition_from_settings
from msreboot.endpoints._disability_tables import PIRA_RELAPSE
from msreboot.endpoints._endpoint_components import THRESHOLD_PRESETS

SEPARATE = BaselineRule(
    kind="running_minimum",
    reference_confirmation_days=30,
    post_event_reference="lowest_confirmed",
    raw_pira_reference="separate",
)
BERN = DisabilityDefinition.bern_2025()


def events(
    visits: list[tuple[float, float]],
    relapses: list[float],
    d: DisabilityDefinition = BERN,
    extra: tuple[str, ...] = (),
) -> list[tuple[Any, ...]]:
    frame = pd.DataFrame(
        [("p", day, edss) for day, edss in visits], columns=["patient_id", "date", "edss"]
    )
    rel = pd.DataFrame({"patient_id": ["p"] * len(relapses), "onset_date": relapses}, dtype=object)
    rel["onset_date"] = rel["onset_date"].astype(float)
    out = detect_disability_events(frame, rel, d).events
    out = out[out["event"]]
    cols = ["date", "value", "baseline_value", "cdw_type", *extra]
    return [tuple(r) for r in out[cols].itertuples(index=False)]


def with_pira(**changes: Any) -> DisabilityDefinition:
    return BERN.with_(pira=PIRARule(**{**BERN.pira.__dict__, **changes}))


# -- the RAW/PIRA reference: reset by a relapse only with residual disability -------------

# relapse on day 105: its RAW window ends on day 195, so day 200 is its re-baselining visit;
# 200 (3.0) is not confirmed as a worsening (300: 2.5), and 400 worsens from 3.0 only
RESIDUAL = [(0, 2.0), (100, 2.0), (200, 3.0), (300, 2.5), (400, 4.0), (500, 4.0), (600, 4.0)]


def test_residual_disability_resets_the_raw_pira_reference() -> None:
    assert events(RESIDUAL, [105]) == [(400.0, 4.0, 3.0, "PIRA")]
    # one reference: the relapse moves nothing, the worsening is from 2.0
    one = BaselineRule(
        kind="running_minimum",
        reference_confirmation_days=30,
        post_event_reference="lowest_confirmed",
    )
    assert events(RESIDUAL, [105], BERN.with_(baseline=one)) == [(400.0, 4.0, 2.0, "PIRA")]


def test_a_tie_is_no_residual_disability() -> None:
    visits = [(0, 2.0), (100, 2.0), (200, 2.0), (300, 2.5), (400, 4.0), (500, 4.0), (600, 4.0)]
    assert events(visits, [105]) == [(400.0, 4.0, 2.0, "PIRA")]


# -- which visit re-baselines: the first one strictly after the RAW window -------------------

AFTER_RAW = [(0, 2.0), (200, 3.5), (400, 3.5), (600, 3.5)]


@pytest.mark.parametrize(
    ("relapse", "policy", "expected"),
    [
        (110, "never", [(200.0, 3.5, 2.0, "RAW")]),  # day 200 = relapse + 90: RAW window
        (110, "rebaseline_only", [(200.0, 3.5, 2.0, "RAW")]),
        (109, "never", []),  # day 200 = relapse + 91: the re-baselining visit
        (109, "rebaseline_only", [(200.0, 3.5, 2.0, "undefined")]),
    ],
)
def test_the_re_baselining_visit_follows_the_raw_window(
    relapse: float, policy: str, expected: list[tuple[Any, ...]]
) -> None:
    assert events(AFTER_RAW, [relapse], with_pira(undefined_worsening=policy)) == expected


@pytest.mark.parametrize(
    ("second", "expected"),
    [
        # 100 + 90 >= 220 - 30: the windows touch, the first relapse re-baselines nothing
        (220, [(200.0, 3.5, 2.0, "RAW")]),
        (221, [(200.0, 3.5, 2.0, "undefined")]),  # day 200 re-baselines after day 100
    ],
)
def test_overlapping_raw_windows_have_no_re_baselining_visit(
    second: float, expected: list[tuple[Any, ...]]
) -> None:
    assert events(AFTER_RAW, [100, second]) == expected


# -- undefined-worsening policies ----------------------------------------------------------

# relapse on day 105: day 200 (3.0, unconfirmed) leaves residual disability, so the RAW/PIRA
# reference is 3.0 and the general one 2.0; 400 (3.5) worsens only from the general one;
# 800 (4.0) worsens from the RAW/PIRA one
POLICY = [*RESIDUAL[:4], (400, 3.5), (500, 3.5), (600, 3.5), (800, 4.0), (900, 4.0), (1000, 4.0)]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("rebaseline_only", [(800.0, 4.0, 3.0, "PIRA")]),
        ("never", [(800.0, 4.0, 3.0, "PIRA")]),
        ("end", [(800.0, 4.0, 3.0, "PIRA")]),  # nothing after the PIRA event
        ("all", [(400.0, 3.5, 2.0, "undefined")]),  # then 800 is not 1.0 above 3.5
    ],
)
def test_undefined_worsening_policies(policy: str, expected: list[tuple[Any, ...]]) -> None:
    assert events(POLICY, [105], with_pira(undefined_worsening=policy)) == expected


def test_end_searches_again_after_the_last_raw_pira_event() -> None:
    # relapse on day 1050 resets the RAW/PIRA reference to 4.5 (day 1150); day 1250 (5.0)
    # worsens only from the general reference 4.0 (the PIRA event's score)
    visits = [*POLICY, (1150, 4.5), (1250, 5.0), (1450, 5.0)]
    found = [(800.0, 4.0, 3.0, "PIRA")]
    assert events(visits, [105, 1050]) == found
    assert events(visits, [105, 1050], with_pira(undefined_worsening="end")) == [
        *found,
        (1250.0, 5.0, 4.0, "undefined"),
    ]


# relapses on days 105 and 305: day 200 leaves the RAW/PIRA reference at 3.5 (general 2.0);
# day 400 re-baselines after the second relapse with 3.5, confirmed at 3.0
CONDITION = [(0, 2.0), (100, 2.0), (200, 3.5), (300, 2.5), (400, 3.5), (500, 3.0), (600, 3.0)]


@pytest.mark.parametrize(
    ("condition", "visits", "expected"),
    [
        ("any", CONDITION, [(400.0, 3.5, 2.0, "undefined")]),
        ("not_lower", CONDITION, []),  # confirmation scores 3.0 are below 3.5
        ("higher", CONDITION, []),  # 3.5 is not above 3.5
        # the re-baselining score equal to the RAW/PIRA reference, confirmed at it
        ("not_lower", [*CONDITION[:4], (400, 3.5), (500, 3.5), (600, 3.5)],
         [(400.0, 3.5, 2.0, "undefined")]),
        ("higher", [*CONDITION[:4], (400, 3.5), (500, 3.5), (600, 3.5)], []),
        ("higher", [*CONDITION[:4], (400, 4.0), (500, 4.0), (600, 4.0)],
         [(400.0, 4.0, 2.0, "undefined")]),
    ],
)  # fmt: skip
def test_undefined_worsening_relative_to_the_raw_pira_reference(
    condition: str, visits: list[tuple[float, float]], expected: list[tuple[Any, ...]]
) -> None:
    assert events(visits, [105, 305], with_pira(undefined_reference=condition)) == expected


# -- merging continuous worsening ------------------------------------------------------------

FIXED = BERN.with_(
    baseline=BaselineRule(
        kind="roving_worsening",
        post_event_reference="lowest_confirmed",
        raw_pira_reference="separate",
    )
)
STEPS = [(0, 1.0), (100, 2.0), (200, 3.0), (400, 3.0), (600, 3.0)]
MERGED = ("merged_to_date", "merged_to_value")


def test_without_merging_each_step_is_an_event() -> None:
    assert events(STEPS, [], FIXED) == [(100.0, 2.0, 1.0, "PIRA"), (200.0, 3.0, 2.0, "PIRA")]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (MergeRule(), [(100.0, 2.0, 1.0, "PIRA", 200.0, 3.0)]),
        (MergeRule(max_distance_days=100), [(100.0, 2.0, 1.0, "PIRA", 200.0, 3.0)]),
        # day 200 lies more than 99 days after day 100: no merging
        (
            MergeRule(max_distance_days=99),
            [(100.0, 2.0, 1.0, "PIRA", 100.0, 2.0), (200.0, 3.0, 2.0, "PIRA", 200.0, 3.0)],
        ),
    ],
)
def test_stepwise_worsening_merges(rule: MergeRule, expected: list[tuple[Any, ...]]) -> None:
    assert events(STEPS, [], FIXED.with_(merge=rule), MERGED) == expected


@pytest.mark.parametrize(
    ("repeat_day", "reference_day"),
    [(230, 230.0), (231, 200.0)],  # a repeated 3.0 within 30 days (inclusive) joins
)
def test_a_plateau_within_the_repetition_time_moves_the_reference_date(
    repeat_day: float, reference_day: float
) -> None:
    visits = [*STEPS[:3], (repeat_day, 3.0), *STEPS[3:], (800, 4.0), (1000, 4.0)]
    d = FIXED.with_(merge=MergeRule(repetition_days=30))
    out = detect_disability_events(
        pd.DataFrame([("p", a, b) for a, b in visits], columns=["patient_id", "date", "edss"]),
        None,
        d,
    ).events
    out = out[out["event"]]
    # the plateau is not part of the merged event, but the reference is dated at its end
    assert out["merged_to_date"].tolist() == [200.0, 800.0]
    assert out["baseline_date"].tolist() == [0.0, reference_day]
    assert out["baseline_value"].tolist() == [1.0, 3.0]


# -- the minimal distance with backtracking ------------------------------------------------

NO_REFERENCE_CONFIRMATION = BaselineRule(
    kind="running_minimum", post_event_reference="lowest_confirmed", raw_pira_reference="separate"
)


def distance(backtrack: bool) -> DisabilityDefinition:
    return BERN.with_(
        baseline=NO_REFERENCE_CONFIRMATION,
        confirmation=ConfirmationRule(
            180,
            (0, math.inf),
            minimal_distance_days=180,
            minimal_distance_backtrack=backtrack,
        ),
    )


@pytest.mark.parametrize(
    ("day", "backtrack", "expected"),
    [
        (200, True, [(200.0, 4.0, 3.0, "PIRA")]),  # back to 3.0 (day 0), 200 days away
        (180, True, [(180.0, 4.0, 3.0, "PIRA")]),  # exactly 180 days: far enough
        (179, True, [(400.0, 4.0, 2.5, "PIRA")]),  # too close to both references
        (200, False, [(400.0, 4.0, 2.5, "PIRA")]),  # 100 days from 2.5: too close
    ],
)
def test_minimal_distance_backtracks_to_an_earlier_reference(
    day: float, backtrack: bool, expected: list[tuple[Any, ...]]
) -> None:
    visits = [(0, 3.0), (100, 2.5), (day, 4.0), (400, 4.0), (600, 4.0)]
    assert events(visits, [], distance(backtrack)) == expected


def test_backtracking_needs_a_distance_to_the_reference() -> None:
    with pytest.raises(ValueError, match="minimal distance to the reference"):
        ConfirmationRule(minimal_distance_days=90, minimal_distance_to="previous",
                         minimal_distance_backtrack=True)  # fmt: skip


# -- sustained confirmation after a minimal distance ---------------------------------------

SUSTAINED = BERN.with_(confirmation=ConfirmationRule(180, (0, math.inf), sustained_after_days=180))


@pytest.mark.parametrize(
    ("visits", "expected"),
    [
        # a dip 179 days after the event is not a confirmation score
        ([(0, 2.0), (100, 3.0), (279, 2.5), (400, 3.0)], [(100.0, 3.0, 2.0, "PIRA")]),
        # 180 days after it is (inclusive), and every later visit must hold
        ([(0, 2.0), (100, 3.0), (280, 2.5), (400, 3.0)], []),
        ([(0, 2.0), (100, 3.0), (280, 3.0), (400, 3.0), (500, 2.5)], []),
        # no visit 180 days later: not confirmed
        ([(0, 2.0), (100, 3.0), (200, 3.0)], []),
    ],
)
def test_sustained_after_a_minimal_distance(
    visits: list[tuple[float, float]], expected: list[tuple[Any, ...]]
) -> None:
    assert events(visits, [], SUSTAINED) == expected


# -- relapses around the event and the confirmation: same-day ties and window edges --------


@pytest.mark.parametrize(
    ("relapse", "kind"),
    [
        (100, "RAW"),  # on the event day
        (10, "RAW"),  # 90 days before: RAW window inclusive
        (9, "undefined"),  # 91 days before: day 100 is the relapse's re-baselining visit
        (130, "RAW"),  # 30 days after the event
        (131, PIRA_RELAPSE),  # during confirmation
        (310, PIRA_RELAPSE),  # 30 days after the confirmation visit (280): inclusive
        (311, "PIRA"),
    ],
)
def test_relapses_around_an_event(relapse: float, kind: str) -> None:
    visits = [(0, 2.0), (100, 3.0), (280, 3.0)]
    assert events(visits, [relapse]) == [(100.0, 3.0, 2.0, kind)]


# -- checks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"merge": MergeRule(), "baseline": BaselineRule()},
         "needs separate general and RAW/PIRA references"),
        ({"pira": PIRARule(undefined_worsening="all"), "baseline": BaselineRule()},
         "needs separate"),
        ({"baseline": BaselineRule(kind="roving", raw_pira_reference="separate")},
         "running_minimum"),
        ({"baseline": BaselineRule(kind="running_minimum", raw_pira_reference="separate")},
         "lowest_confirmed"),
        ({"baseline": SEPARATE, "confirmation": ConfirmationRule((84, 168))},
         "one confirmation period"),
        ({"baseline": SEPARATE, "relapse_buffer": DisabilityDefinition().relapse_buffer},
         "no relapse buffers"),
        ({"baseline": SEPARATE, "classify_raw_pira": False}, "RAW/PIRA classification"),
    ],
)  # fmt: skip
def test_what_separate_references_need(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DisabilityDefinition.bern_2025().with_(**changes)


def test_the_bern_preset_has_separate_references() -> None:
    assert BERN.baseline == SEPARATE


def test_the_options_are_off_by_default() -> None:
    d = DisabilityDefinition()
    assert d.baseline.raw_pira_reference == "same"
    assert d.merge is None
    assert d.pira.undefined_worsening == "rebaseline_only"
    assert d.pira.undefined_reference == "any"
    assert not d.confirmation.minimal_distance_backtrack
    assert d.confirmation.sustained_after_days is None


def test_endpoint_file_settings() -> None:
    d = definition_from_settings(
        {
            "preset": "bern_2025",
            "raw_pira_reference": "separate",  # already the preset's
            "undefined_worsening": "end",
            "merge": {"repetition_days": 60},
            "minimal_distance_days": 120,
            "minimal_distance_backtrack": True,
            "monotonic": True,
        },
        THRESHOLD_PRESETS,
    )
    assert d.baseline.raw_pira_reference == "separate"
    assert d.baseline.kind == "running_minimum"  # the preset's other settings are kept
    assert d.pira.undefined_worsening == "end"
    assert d.merge == MergeRule(repetition_days=60)
    assert d.confirmation.minimal_distance_backtrack
    assert d.confirmation.monotonic
    assert d.confirmation.days == (180.0,)
    with pytest.raises(ValueError, match="unknown disability settings"):
        definition_from_settings({"merge_events": True}, THRESHOLD_PRESETS)
    with pytest.raises(ValueError, match="needs separate"):
        definition_from_settings({"preset": "mueller_2023", "merge": True}, THRESHOLD_PRESETS)


def test_first_pira_is_the_first_pira_among_all_events() -> None:
    # a RAW event (relapse on day 100) first, then PIRA from the RAW event's score
    visits = [(0, 2.0), (100, 3.0), (300, 3.0), (400, 4.0), (600, 4.0)]
    assert events(visits, [100]) == [(100.0, 3.0, 2.0, "RAW"), (400.0, 4.0, 3.0, "PIRA")]
    assert events(visits, [100], BERN.with_(event="first_pira")) == [(400.0, 4.0, 3.0, "PIRA")]
    assert events(visits, [100], BERN.with_(event="first_raw")) == [(100.0, 3.0, 2.0, "RAW")]
    assert events(visits, [100], BERN.with_(event="first")) == [(100.0, 3.0, 2.0, "RAW")]
    with pytest.raises(ValueError, match="first_cdi"):
        BERN.with_(event="first_cdi")


def test_the_methods_state_the_reference_rules() -> None:
    text = (
        with_pira(undefined_worsening="end", undefined_reference="higher")
        .with_(merge=MergeRule(repetition_days=60))
        .methods_text()
    )
    assert "RAW/PIRA reference that a relapse reset only" in text
    assert "after the last RAW or PIRA event" in text
    assert "above the RAW/PIRA reference" in text
    assert "within 60 days did not end it" in text
    assert "RAW/PIRA reference" not in DisabilityDefinition.mueller_2023().methods_text()


def test_an_endpoint_component_of_the_reference_example() -> None:
    # the example of docs/reference/endpoint-definitions.md
    component = DisabilityComponent(
        event="pira",
        definition={
            "preset": "bern_2025",
            "undefined_worsening": "end",
            "merge": {"repetition_days": 30},
            "minimal_distance_days": 180,
            "minimal_distance_backtrack": True,
        },
    )
    d = component.definition
    assert d.merge == MergeRule()
    assert d.pira.undefined_worsening == "end"
    assert d.confirmation.minimal_distance_backtrack


# -- the confirmation window, visits not valid for confirmation, the last visit ----------


@pytest.mark.parametrize(
    ("lag", "confirmed"), [(172, False), (173, True), (210, True), (211, False)]
)
def test_the_confirmation_window_is_inclusive(lag: float, confirmed: bool) -> None:
    # 180 days, 7 before and 30 after: lags 173 to 210 confirm
    d = BERN.with_(confirmation=ConfirmationRule(180, (7, 30)))
    visits = [(0, 2.0), (100, 3.0), (100 + lag, 3.0)]
    assert events(visits, [], d) == ([(100.0, 3.0, 2.0, "PIRA")] if confirmed else [])


@pytest.mark.parametrize(("score", "expected"), [(3.0, [(100.0, 300.0)]), (2.5, [])])
def test_a_visit_not_valid_for_confirmation_still_counts_in_between(
    score: float, expected: list[tuple[float, float]]
) -> None:
    # day 280 (lag 180) may not confirm, so day 300 does, and day 280 lies in between
    frame = pd.DataFrame(
        {
            "patient_id": "p",
            "date": [0.0, 100.0, 280.0, 300.0],
            "edss": [2.0, 3.0, score, 3.0],
            "valid_for_confirmation": [True, True, False, True],
        }
    )
    out = detect_disability_events(frame, None, BERN).events
    out = out[out["event"]]
    assert list(zip(out["date"], out["confirmation_180_date"], strict=True)) == expected


def test_the_last_visit_without_confirmation() -> None:
    visits = [(0, 2.0), (200, 2.0), (300, 3.0)]
    assert events(visits, []) == []
    assert events(visits, [], BERN.with_(impute_last_visit=True)) == [(300.0, 3.0, 2.0, "PIRA")]


def test_unconfirmed_worsening_seeks_no_confirmation() -> None:
    # every candidate is an event at its own score: day 100 though day 200 falls back
    visits = [(0, 2.0), (100, 3.0), (200, 2.0), (400, 3.0), (600, 3.0)]
    assert events(visits, []) == [(400.0, 3.0, 2.0, "PIRA")]
    got = events(visits, [], BERN.with_(unconfirmed_worsening=True), ("confirmed",))
    assert got == [(100.0, 3.0, 2.0, "PIRA", False)]
