"""Differential test with relapses: separate general and RAW/PIRA references against the
Bern engine (Bsteh et al. 2025, MIT).

``tests/reference/disability/bern_relapsing_reference.json`` holds the Bern engine's events
on 300 seeded patients with relapses (200, then 100 with 2 to 6 relapses; made by
``make_bern_relapsing_reference.py`` in the engine's own environment; the engine is never
needed here) under its defaults and one
change each: the undefined-worsening policies (``all`` / ``end`` / ``never``) and their
condition on the RAW/PIRA reference, merging of continuous events, the minimal distance
with backtracking, sustained confirmation, the fixed reference with monotonic confirmation,
confirmation by the last score with relapses allowed before it, the first event only,
unconfirmed worsening, the last visit without confirmation, and a confirmation window
(-7 / +30 days); and two combinations (merging with ``end``; backtracking with ``all`` and
``not_lower``). Each maps to ``DisabilityDefinition.bern_2025()`` (which has
``BaselineRule(raw_pira_reference="separate")``) with the matching msreboot option
(:func:`definition_for`). Every patient's events (day, score, reference score, type; with
merging also the last day merged and the merged score) must agree exactly.
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
    MergeRule,
    PIRARule,
    detect_disability_events,
)
from msreboot.endpoints._disability_tables import PIRA_RELAPSE

REFERENCE = Path(__file__).parents[1] / "reference" / "disability" / "bern_relapsing_reference.json"
LABELS = {"RAW": "RAW", "PIRA": "PIRA", PIRA_RELAPSE: PIRA_RELAPSE, "Undefined": "undefined"}
UNDEFINED = {"re-baselining only": "rebaseline_only", "all": "all", "end": "end", "never": "never"}
UNDEFINED_REFERENCE = {"any": "any", "equal or greater": "not_lower", "greater only": "higher"}


@cache
def reference() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(REFERENCE.read_text())
    return data


def definition_for(config: dict[str, Any]) -> DisabilityDefinition:
    """The msreboot definition of one Bern configuration (its defaults plus ``config``)."""
    d = DisabilityDefinition.bern_2025()
    fixed = config.get("opt_baseline_type") == "fixed"
    baseline = BaselineRule(
        kind="roving_worsening" if fixed else "running_minimum",
        reference_confirmation_days=0 if fixed else 30,
        post_event_reference="lowest_confirmed",
        raw_pira_reference="separate",
    )
    period = config.get("opt_confirmation_time", 180)
    sustained = config.get("opt_confirmation_sustained_minimal_distance", 0)
    tolerance = (
        config.get("opt_confirmation_time_left_side_max_tolerance", 0),
        config.get("opt_confirmation_time_right_side_max_tolerance", math.inf),
    )
    confirmation = ConfirmationRule(
        180 if period == -1 else period,
        tolerance,
        check_intermediate=config.get("opt_confirmation_included_values", "all") == "all",
        monotonic=config.get("opt_confirmation_type", "minimum") == "monotonic",
        minimal_distance_days=config.get("opt_minimal_distance_time", 0),
        minimal_distance_to=config.get("opt_minimal_distance_type", "reference"),
        minimal_distance_backtrack=config.get("opt_minimal_distance_backtrack_decrease", False),
        sustained_after_days=sustained if period == -1 else None,
    )
    pira = d.pira
    if config.get("opt_pira_allow_relapses_between_event_and_confirmation"):
        # relapse-free only around the confirmation score (30 days after, 90 before)
        pira = PIRARule(
            "bern_allowed",
            raw_days=(90.0, 30.0),
            preceding=(0.0, 0.0),
            event=(0.0, 0.0),
            confirmation=(90.0, 30.0),
            report_relapse_during_confirmation=True,
        )
    pira = PIRARule(
        **{
            **pira.__dict__,
            "undefined_worsening": UNDEFINED[
                config.get("undefined_progression", "re-baselining only")
            ],
            "undefined_reference": UNDEFINED_REFERENCE[
                config.get("undefined_progression_wrt_raw_pira_baseline", "any")
            ],
        }
    )
    merge = None
    if config.get("merge_continuous_events"):
        merge = MergeRule(
            config.get("continuous_events_max_repetition_time", 30),
            config.get("continuous_events_max_merge_distance", math.inf),
        )
    return d.with_(
        event="first" if config.get("return_first_event_only") else "all",
        baseline=baseline,
        confirmation=confirmation,
        pira=pira,
        merge=merge,
        unconfirmed_worsening=not config.get("opt_require_confirmation", True),
        impute_last_visit=not config.get(
            "opt_confirmation_require_confirmation_for_last_visit", True
        ),
    )


def test_every_configuration_is_tested() -> None:
    assert set(reference()["configs"]) == set(CONFIGS)


CONFIGS = [
    "defaults",
    "undefined_all",
    "undefined_end",
    "undefined_never",
    "undefined_not_lower",
    "undefined_higher",
    "all_higher",
    "merge",
    "merge_60_400",
    "backtrack_180",
    "backtrack_120_confirmation_90",
    "sustained_180",
    "sustained_0",
    "fixed_monotonic",
    "last_score_relapses_allowed",
    "first_only",
    "unconfirmed_roving",
    "last_visit_unconfirmed",
    "merge_end",
    "backtrack_all_not_lower",
    "tolerance_7_30",
]


@pytest.mark.parametrize("name", CONFIGS)
def test_events_with_relapses_agree_with_the_bern_engine(name: str) -> None:
    ref = reference()
    patients = ref["patients"]
    visits = pd.DataFrame(
        [(pid, day, edss) for pid, p in patients.items() for day, edss in p["visits"]],
        columns=["patient_id", "date", "edss"],
    )
    relapses = pd.DataFrame(
        [(pid, float(day)) for pid, p in patients.items() for day in p["relapses"]],
        columns=["patient_id", "onset_date"],
    )
    visits["date"] = visits["date"].astype(float)
    definition = definition_for(ref["configs"][name])
    out = detect_disability_events(visits, relapses, definition).events
    out = out[out["event"]]
    merged = definition.merge is not None
    got: dict[str, list[tuple[Any, ...]]] = {}
    for r in out.itertuples():
        row: tuple[Any, ...] = (int(r.date), r.value, r.baseline_value, r.cdw_type)
        if merged:
            row += (int(r.merged_to_date), r.merged_to_value)
        got.setdefault(str(r.patient_id), []).append(row)
    expected = {
        pid: [
            (day, edss, reference_score, LABELS[kind]) + ((last_day, score) if merged else ())
            for day, edss, score, reference_score, kind, last_day in events
        ]
        for pid, events in ref["results"][name].items()
    }
    disagree = [pid for pid in expected if got.get(pid, []) != expected[pid]]
    detail = [(pid, got.get(pid), expected[pid]) for pid in disagree[:3]]
    assert disagree == [], f"{len(disagree)} of {len(expected)} patients disagree: {detail}"
    kinds = {e[4] for events in ref["results"][name].values() for e in events}
    assert len(kinds) >= 2  # relapses do change the types
