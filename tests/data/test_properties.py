"""Property tests: random corruptions are all found and located; nothing changes on disk;
row order and index never change a cohort."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msreboot.data import Cohort, import_cohort, read_cohort, validate
from msreboot.exceptions import DataValidationError
from tests.conftest import tiny_tables

# (table, column) -> values that can never be valid there
BAD_VALUES: dict[tuple[str, str], list[str]] = {
    ("edss", "edss"): ["10.5", "-0.5", "3.25", "four", "4,5", "1e3"],
    ("edss", "date"): ["2015-02-30", "yesterday", "15/05/2015", "2999-01-01"],
    ("edss", "valid_for_confirmation"): ["perhaps", "2"],
    ("mri", "gd_lesions"): ["-1", "2.5", "many"],
    ("mri", "new_t2_lesions"): ["-3", "x"],
    ("mri", "date"): ["1850-01-01", "not a date"],
    ("treatments", "kind"): ["hsct", "", "stem cells"],
    ("treatments", "start_date"): ["", "2015-13-01"],
    ("relapses", "onset_date"): ["", "2014-00-10"],
    ("adverse_events", "grade"): ["0", "6", "severe"],
    ("adverse_events", "category"): ["infektion", ""],
    ("patients", "phenotype"): ["RMS", ""],
    ("patients", "sex"): ["female", "?"],
}
CELLS = [
    (table, column, row)
    for (table, column) in BAD_VALUES
    for row in range(1, len(tiny_tables()[table]) + 1)
]

corruptions = st.lists(st.sampled_from(CELLS), min_size=1, max_size=8, unique=True).flatmap(
    lambda cells: st.tuples(
        st.just(cells),
        st.tuples(*[st.sampled_from(BAD_VALUES[(t, c)]) for t, c, _ in cells]),
    )
)


def _corrupt(cells: list[tuple[str, str, int]], values: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    tables = tiny_tables()
    for (table, column, row), value in zip(cells, values, strict=True):
        tables[table].loc[row - 1, column] = value
    return tables


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(corruptions)
def test_every_corruption_is_located(
    case: tuple[list[tuple[str, str, int]], tuple[str, ...]],
) -> None:
    cells, values = case
    report = validate(_corrupt(cells, values))
    assert not report.ok
    located = {(p.table, p.row, p.column) for p in report.errors}
    for table, column, row in cells:
        assert (table, row, column) in located, (table, row, column, report.summary(30))


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corruptions)
def test_failed_import_changes_nothing_on_disk(
    case: tuple[list[tuple[str, str, int]], tuple[str, ...]],
) -> None:
    cells, values = case
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        db = root / "store.duckdb"
        import_cohort(Cohort.from_frames(tiny_tables()), db)
        before = db.read_bytes()
        folder = root / "in"
        folder.mkdir()
        for name, frame in _corrupt(cells, values).items():
            frame.to_csv(folder / f"{name}.csv", index=False)
        try:
            import_cohort(read_cohort(folder), db)
        except DataValidationError:
            pass
        else:  # pragma: no cover - every corruption is invalid
            raise AssertionError("a corrupted cohort was imported")
        assert db.read_bytes() == before
        assert sorted(p.name for p in root.iterdir()) == ["in", "store.duckdb"]


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(st.data())
def test_row_order_and_index_do_not_change_the_cohort(data: st.DataObject) -> None:
    reference = Cohort.from_frames(tiny_tables())
    shuffled = {}
    for name, frame in tiny_tables().items():
        order = data.draw(st.permutations(range(len(frame))), label=name)
        moved = frame.iloc[list(order)]
        moved.index = data.draw(
            st.lists(
                st.integers(-1000, 1000), min_size=len(frame), max_size=len(frame), unique=True
            ),
            label=f"{name} index",
        )
        shuffled[name] = moved
    assert Cohort.from_frames(shuffled).equals(reference)
