"""Differential test: the issue-19 options against the Bern engine (Bsteh et al. 2025, MIT).

``tests/reference/disability/bern_reference.json`` holds the Bern engine's events on 300
seeded patients under four configurations (made by ``make_bern_reference.py`` in the
engine's own environment; the engine is never needed here). The configurations are those
the two engines share: the engine's fixed reference, which it resets after each event to
the confirmed event score, is msreboot's worsening-only roving baseline with
``post_event_reference="lowest_confirmed"``; "all" confirmation scores up to the first
assessment at least the confirmation time later is ``check_intermediate`` with a window
(0, inf) after the period; monotonic confirmation and unconfirmed worsening map one to
one. The Bern engine annotates worsening only, so msreboot runs with an improvement
threshold no change can reach. Every patient's events (day, score, reference score) must
agree exactly. The engine's roving reference (a running minimum, confirmed over its own
period or not at all) is ``BaselineRule(kind="running_minimum", reference_confirmation_days=...)``.
``defaults`` runs the engine with its own defaults against ``DisabilityDefinition.bern_2025()``.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from msreboot.endpoints import (
    BaselineRule,
    ConfirmationRule,
    DisabilityDefinition,
    ThresholdRule,
    detect_disability_events,
)

REFERENCE = Path(__file__).parents[1] / "reference" / "disability" / "bern_reference.json"
NO_IMPROVEMENT = ThresholdRule("no_improvement", ((math.inf, 100.0),))


@cache
def reference() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(REFERENCE.read_text())
    return data


def definition_for(config: dict[str, Any]) -> DisabilityDefinition:
    """The msreboot definition of one Bern configuration (no relapses)."""
    if not config:  # the engine's defaults
        return DisabilityDefinition.bern_2025()
    config = {**reference()["common_kwargs"], **config}
    distance = {
        "minimal_distance_days": config["opt_minimal_distance_time"],
        "minimal_distance_to": config.get("opt_minimal_distance_type", "reference"),
    }
    if not config["opt_require_confirmation"]:
        # every candidate is an event and the reference moves to the event score
        return DisabilityDefinition(
            event="all",
            improvement_threshold=NO_IMPROVEMENT,
            baseline=BaselineRule(kind="roving_worsening", proceed_from="event"),
            confirmation=ConfirmationRule(180, (0, math.inf)),
            unconfirmed_worsening=True,
        )
    if config.get("opt_baseline_type") == "roving":
        days = config.get("opt_roving_reference_confirmation_time", 0)
        baseline = BaselineRule(
            kind="running_minimum",
            post_event_reference="lowest_confirmed",
            reference_confirmation_days=days
            if config["opt_roving_reference_require_confirmation"]
            else 0,
        )
    else:
        baseline = BaselineRule(kind="roving_worsening", post_event_reference="lowest_confirmed")
    return DisabilityDefinition(
        event="all",
        improvement_threshold=NO_IMPROVEMENT,
        baseline=baseline,
        confirmation=ConfirmationRule(
            config["opt_confirmation_time"],
            (0, math.inf),
            monotonic=config["opt_confirmation_type"] == "monotonic",
            **distance,
        ),
    )


@pytest.mark.parametrize(
    "name",
    [
        "minimum_180",
        "minimum_90",
        "monotonic_180",
        "unconfirmed",
        "roving_30_minimum_180",
        "roving_90_monotonic_90",
        "roving_unconfirmed_minimum_180",
        "defaults",
        "distance_reference_120",
        "distance_previous_120",
        "roving_30_distance_reference_180",
    ],
)
def test_events_agree_with_the_bern_engine(name: str) -> None:
    ref = reference()
    rows = [(pid, day, edss) for pid, vs in ref["patients"].items() for day, edss in vs]
    visits = pd.DataFrame(rows, columns=["patient_id", "date", "edss"])
    visits["date"] = visits["date"].astype(float)
    out = detect_disability_events(visits, None, definition_for(ref["configs"][name])).events
    out = out[out["event"]]
    assert (out["event_type"] == "CDW").all()
    if name == "defaults":  # no relapses: every worsening is PIRA in both engines
        assert (out["cdw_type"] == "PIRA").all()
        labels = {e[4] for events in ref["results"][name].values() for e in events}
        assert labels == {"PIRA"}
    got = {
        pid: [(int(r.date), r.value, r.baseline_value) for r in group.itertuples()]
        for pid, group in out.groupby("patient_id", sort=False)
    }
    expected = {
        pid: [(day, score, reference_score) for day, score, _, reference_score, _ in events]
        for pid, events in ref["results"][name].items()
    }
    disagree = [pid for pid in expected if got.get(pid, []) != expected[pid]]
    assert disagree == [], f"{len(disagree)} of {len(expected)} patients disagree: {disagree[:5]}"
    assert sum(map(len, expected.values())) > 400  # the cohorts do have events
