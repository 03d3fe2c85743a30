"""The hashed distinct-and-sort of follow-up times equals numpy's sort-based unique, and the
fast input checks give the same arrays and messages as the general path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from msreboot.stats._checks import as_events, as_times
from msreboot.stats._survival import distinct_sorted


@given(arrays(np.float64, st.integers(1, 300), elements=st.floats(0, 1e6, width=32)))
def test_distinct_sorted_is_numpy_unique(values: np.ndarray) -> None:
    expected, inverse = np.unique(values, return_inverse=True)
    got, codes = distinct_sorted(values)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(codes, inverse.ravel())


def test_numeric_and_object_inputs_give_the_same_arrays() -> None:
    times = [3, 1.5, 0, 7]
    events = [True, False, True, True]
    for t, e in (
        (times, events),
        (pd.Series(times, dtype=object), pd.Series(events, dtype=object)),
    ):
        np.testing.assert_array_equal(as_times(t), [3.0, 1.5, 0.0, 7.0])
        np.testing.assert_array_equal(as_events(e), [1.0, 0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="event must be 0/1 or bool; got nan at position 1"):
        as_events(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="time must be finite; got nan at position 0"):
        as_times(np.array([np.nan, 1.0]))
    with pytest.raises(ValueError, match=r"event must be 0/1 or bool; got 2\.0 at position 0"):
        as_events(np.array([2.0, 1.0]))
