"""The disability engine gives the same frames as before its registry-scale rewrite.

``disability_frozen.pkl.gz`` (made by ``disability_frozen.py`` with the engine as it was
before) holds every output on seeded cohorts with shuffled rows, duplicates, missing
values, integer / string / calendar inputs and anchors; the frames must be identical.
The Hypothesis properties check what the new ordering must keep: row order and the
partition of patients do not change any result.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msreboot.endpoints import detect_disability_events
from tests.endpoints.disability_frozen import CASES, DEFINITIONS, cohort, frozen, run_case


@pytest.mark.parametrize("name", list(CASES))
def test_frames_identical_to_frozen(name: str) -> None:
    expected = frozen()[name]
    got = run_case(name)
    assert got["warnings"] == expected["warnings"]
    for key, frame in expected.items():
        if isinstance(frame, pd.DataFrame):
            pd.testing.assert_frame_equal(got[key], frame, check_exact=True, obj=key)
            assert list(got[key].dtypes) == list(frame.dtypes)


def _same(a: Any, b: Any) -> None:
    for key in ("events", "patients", "unconfirmed", "excluded"):
        pd.testing.assert_frame_equal(getattr(a, key), getattr(b, key), check_exact=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    definition=st.sampled_from(sorted(DEFINITIONS)),
    ids=st.sampled_from(["object", "int", "string"]),
    shuffle=st.integers(0, 2**32 - 1),
)
def test_row_order_and_partition_do_not_change_results(
    seed: int, definition: str, ids: str, shuffle: int
) -> None:
    visits, relapses = cohort(seed, n_patients=40, ids=ids)
    # without same-day duplicates (which keep the last row) the row order is irrelevant
    visits = visits.drop_duplicates(["patient_id", "date"], keep="last")
    d = DEFINITIONS[definition]
    kwargs: dict[str, Any] = {"valid_col": "valid"}
    whole = detect_disability_events(visits, relapses, d, **kwargs)
    rng = np.random.default_rng(shuffle)
    shuffled = visits.iloc[rng.permutation(len(visits))]
    shuffled.index = rng.permutation(len(visits)) + 7
    _same(
        detect_disability_events(shuffled, relapses.sample(frac=1.0, random_state=1), d, **kwargs),
        whole,
    )
    # each patient's result depends only on that patient (partitioned runs agree)
    pids = pd.unique(visits["patient_id"].dropna())
    part = set(pids[rng.random(len(pids)) < 0.5].tolist())
    pieces = [
        detect_disability_events(
            visits[mask], relapses[relapses["patient_id"].isin(part) == keep], d, **kwargs
        )
        for keep, mask in (
            (True, visits["patient_id"].isin(part)),
            (False, ~visits["patient_id"].isin(part)),
        )
    ]
    for key in ("events", "patients", "unconfirmed"):
        joined = pd.concat([getattr(p, key) for p in pieces], ignore_index=True)
        joined = joined.sort_values("patient_id", kind="stable").reset_index(drop=True)
        pd.testing.assert_frame_equal(joined, getattr(whole, key), check_exact=True, obj=key)


@pytest.mark.parametrize(("chunk", "share"), [(3, 0.0), (7, 1.0), (1, 0.125)])
def test_chunking_does_not_change_results(
    monkeypatch: pytest.MonkeyPatch, chunk: int, share: float
) -> None:
    """Small chunks whose outputs fill up (a second scan of the rest) or never do (moved
    down in place) give the frames of one chunk."""
    from msreboot.endpoints import _disability_chunks

    expected = frozen()["object_float_all"]
    monkeypatch.setattr(_disability_chunks, "CHUNK_PATIENTS", chunk)
    monkeypatch.setattr(_disability_chunks, "SHARE", share)
    got = run_case("object_float_all")
    for key in ("events", "patients", "unconfirmed"):
        pd.testing.assert_frame_equal(got[key], expected[key], check_exact=True, obj=key)


@pytest.mark.parametrize("name", ["object_float_all", "string_int_first_pira", "int_float_two"])
def test_rows_grouped_by_patient_give_the_frozen_frames(name: str) -> None:
    """Rows sorted by patient (stably, so same-day duplicates keep their order) take the
    path that hashes one row per run of a patient."""
    from msreboot.endpoints import time_to_milestone
    from tests.endpoints.disability_frozen import _anchor

    seed, ids, dates, definition, anchor = CASES[name]
    visits, relapses = cohort(seed, ids=ids, dates=dates)
    grouped = visits.sort_values("patient_id", kind="stable", ignore_index=True)
    kwargs: dict[str, Any] = {"valid_col": "valid"}
    if anchor == "table":
        kwargs["anchor"] = _anchor(visits, seed)
    d = DEFINITIONS[definition]
    result = detect_disability_events(grouped, relapses, d, **kwargs)
    expected = frozen()[name]
    for key in ("events", "patients", "unconfirmed", "excluded"):
        pd.testing.assert_frame_equal(getattr(result, key), expected[key], check_exact=True)
    milestone = time_to_milestone(grouped, 4.0, relapses, d, **kwargs)
    pd.testing.assert_frame_equal(milestone.table, expected["milestone"], check_exact=True)
