"""The fast paths of validation give what the plain operations give: the already-in-order
check of canonical_order, per-row patient values from one lookup per table, patient ids
left alone when none needs normalising, and the contract pre-check that lets clean tables
skip pandera."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from msreboot.data._column_checks import PatientCodes, _normalise_ids, patient_codes
from msreboot.data._cross_table import _locate, _per_row, canonical_order
from msreboot.data._order import in_order as _in_order
from msreboot.data._schema import SCHEMA
from msreboot.data._table_rules import _check_duplicates, _contract_may_fail, _pandera_schema
from msreboot.exceptions import Problem

IDS = st.sampled_from(["P1", "P10", "P2", "p1", "Z", "É1", "P1 "])
DAYS = st.one_of(st.none(), st.integers(-3, 3))


def _sorted(table: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    return table.sort_values(by, kind="stable", na_position="last").reset_index(drop=True)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), IDS), DAYS), max_size=12), st.booleans())
def test_in_order_agrees_with_a_stable_sort(
    rows: list[tuple[str | None, int | None]], pre: bool
) -> None:
    table = pd.DataFrame(
        {
            "patient_id": pd.array([r[0] for r in rows], dtype="string"),
            "day": pd.array([r[1] for r in rows], dtype="Int64"),
        }
    )
    if pre:  # half the examples start sorted, so the fast path is taken
        table = _sorted(table, ["patient_id", "day"])
    by = ["patient_id", "day"]
    if _in_order(table, by):  # then the stable sort would not move a row
        expected = _sorted(table, by)
        pd.testing.assert_frame_equal(table.reset_index(drop=True), expected)
    if pre and not table.isna().any().any():
        assert _in_order(table, by)


def test_in_order_boundaries() -> None:
    one = pd.DataFrame({"patient_id": pd.array(["P2"], dtype="string")})
    assert _in_order(one, ["patient_id"])
    assert _in_order(one.iloc[:0], ["patient_id"])
    ties = pd.DataFrame(
        {
            "patient_id": pd.array(["P1", "P1", "P2"], dtype="string"),
            "date": pd.to_datetime(["2020-01-02", "2020-01-02", "2019-01-01"]),
        }
    )
    assert _in_order(ties, ["patient_id", "date"])  # equal keys keep their order
    assert not _in_order(ties.iloc[::-1], ["patient_id", "date"])
    missing = ties.assign(date=pd.to_datetime(["2020-01-01", None, "2019-01-01"]))
    assert not _in_order(missing, ["patient_id", "date"])  # missing keys: sorted as before
    mixed = pd.DataFrame({"x": pd.Series(["a", 1], dtype=object)})
    assert not _in_order(mixed, ["x"])  # text mixed with numbers: sorted as before
    floats = pd.DataFrame({"x": [1.0, 2.0]})
    assert not _in_order(floats, ["x"])  # another key type: sorted as before
    # code point order, as the sort: "P10" < "P2", upper case before lower case
    text = pd.DataFrame({"patient_id": pd.array(["P1", "P10", "P2", "p1"], dtype="string")})
    assert _in_order(text, ["patient_id"])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(IDS, DAYS), max_size=10), st.booleans())
def test_canonical_order_is_the_stable_sort(rows: list[tuple[str, int | None]], pre: bool) -> None:
    edss = pd.DataFrame(
        {
            "patient_id": pd.array([r[0] for r in rows], dtype="string"),
            "date": pd.array([r[1] for r in rows], dtype="Int64"),
        }
    )
    if pre:
        edss = _sorted(edss, ["patient_id", "date"])
    tables = {name: spec.empty_frame("day") for name, spec in SCHEMA.items()}
    tables["edss"] = edss.reindex(columns=list(SCHEMA["edss"].empty_frame("day").columns))
    ordered = canonical_order(tables)["edss"]
    expected = _sorted(tables["edss"], ["patient_id", "date"])
    pd.testing.assert_frame_equal(ordered, expected)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), IDS), max_size=10),
    st.lists(
        st.tuples(IDS, st.one_of(st.none(), st.integers(0, 9))),
        max_size=6,
        unique_by=lambda r: r[0],
    ),
    st.sampled_from(["Int64", "datetime64[ns]", "float64"]),
)
def test_per_row_is_map(
    ids: list[str | None], ref: list[tuple[str, int | None]], dtype: str
) -> None:
    pid = pd.Series(pd.array(ids, dtype="string"), name="patient_id", index=np.arange(len(ids)) + 1)
    values = [r[1] for r in ref]
    if dtype == "datetime64[ns]":
        data = pd.to_datetime([None if v is None else f"2020-01-{v + 1:02d}" for v in values])
        reference = pd.Series(data, dtype=dtype)
    else:
        reference = pd.Series(pd.array(values, dtype="Int64"), dtype=dtype)
    reference.index = pd.Index(pd.array([r[0] for r in ref], dtype="string"), name="patient_id")
    where = reference.index.get_indexer(pd.Index(pid))
    pd.testing.assert_series_equal(_per_row(reference, where, pid), pid.map(reference))


def test_ascii_ids_are_returned_as_they_are() -> None:
    found: list[Problem] = []
    pid = pd.Series(pd.array(["P1", None, "P2"], dtype="string"))
    assert _normalise_ids("edss", pid, found) is pid
    assert found == []
    odd = pd.Series(pd.array(["P1\u200b", None, "P2"], dtype="string"))
    cleaned = _normalise_ids("edss", odd, found)
    assert list(cleaned) == ["P1", pd.NA, "P2"]
    assert len(found) == 1
    assert found[0].severity == "warning"


EDSS = st.one_of(st.none(), st.sampled_from([-1.0, -0.5, 0.0, 0.5, 3.25, 4.0, 9.5, 10.0, 10.5]))
SEX = st.one_of(st.none(), st.sampled_from(["F", "M", "X", "female", "f"]))
YEAR = st.one_of(st.none(), st.integers(1890, 2110))


def _pandera_fails(spec_name: str, table: pd.DataFrame) -> bool:
    from pandera.errors import SchemaErrors

    try:
        _pandera_schema(SCHEMA[spec_name], table.columns).validate(table, lazy=True)
    except SchemaErrors:
        return True
    return False


@settings(max_examples=150, deadline=None)
@given(st.lists(EDSS, min_size=1, max_size=6))
def test_contract_precheck_agrees_with_pandera_on_edss(scores: list[float | None]) -> None:
    n = len(scores)
    table = pd.DataFrame(
        {
            "patient_id": pd.array(["P1"] * n, dtype="string"),
            "date": pd.to_datetime(["2020-01-01"] * n),
            "edss": np.array(scores, dtype="float64"),
        },
        index=pd.RangeIndex(1, n + 1),
    )
    assert _contract_may_fail(SCHEMA["edss"], table) is _pandera_fails("edss", table)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(SEX, YEAR), min_size=1, max_size=6))
def test_contract_precheck_agrees_with_pandera_on_patients(
    rows: list[tuple[str | None, int | None]],
) -> None:
    n = len(rows)
    table = pd.DataFrame(
        {
            "patient_id": pd.array([f"P{i}" for i in range(n)], dtype="string"),
            "sex": pd.array([r[0] for r in rows], dtype="string"),
            "birth_year": pd.array([r[1] for r in rows], dtype="Int64"),
        },
        index=pd.RangeIndex(1, n + 1),
    )
    assert _contract_may_fail(SCHEMA["patients"], table) is _pandera_fails("patients", table)


def test_contract_precheck_boundaries() -> None:
    def edss(values: list[float | None]) -> pd.DataFrame:
        return pd.DataFrame(
            {"edss": np.array(values, dtype="float64")}, index=pd.RangeIndex(1, len(values) + 1)
        )

    assert not _contract_may_fail(SCHEMA["edss"], edss([0.0, 10.0, 4.5]))  # both ends allowed
    assert _contract_may_fail(SCHEMA["edss"], edss([10.5]))
    assert _contract_may_fail(SCHEMA["edss"], edss([3.25]))  # off the 0.5 grid
    assert _contract_may_fail(SCHEMA["edss"], edss([None]))  # required
    assert not _contract_may_fail(SCHEMA["edss"], edss([]))


def _codes(pid: pd.Series) -> PatientCodes:
    """Codes as prepare_tables makes them: from the converted distinct raw ids."""
    id_codes, raw_ids = pd.factorize(pid.to_numpy(dtype=object))
    return patient_codes(pid, pd.Series(pd.array(raw_ids, dtype="string")), id_codes)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.one_of(st.none(), IDS), DAYS, st.sampled_from(["a", "b"])), max_size=12)
)
def test_canonical_order_by_patient_codes_is_the_stable_sort(
    rows: list[tuple[str | None, int | None, str]],
) -> None:
    labs = pd.DataFrame(
        {
            "patient_id": pd.array([r[0] for r in rows], dtype="string"),
            "date": pd.array([r[1] for r in rows], dtype="Int64"),
            "analyte": pd.array([r[2] for r in rows], dtype="string"),
        }
    ).reindex(columns=list(SCHEMA["labs"].empty_frame("day").columns))
    tables = {name: spec.empty_frame("day") for name, spec in SCHEMA.items()}
    tables["labs"] = labs
    codes = {name: _codes(t["patient_id"]) for name, t in tables.items()}
    by_codes = canonical_order(tables, codes)["labs"]
    pd.testing.assert_frame_equal(by_codes, canonical_order(tables)["labs"])
    by = ["patient_id", *[c for c in SCHEMA["labs"].key if c != "patient_id"]]
    pd.testing.assert_frame_equal(by_codes, _sorted(labs, list(dict.fromkeys([*by, "date"]))))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), IDS), DAYS), max_size=12))
def test_duplicates_by_patient_codes_are_the_same_rows(
    rows: list[tuple[str | None, int | None]],
) -> None:
    edss = pd.DataFrame(
        {
            "patient_id": pd.array([r[0] for r in rows], dtype="string"),
            "date": pd.array([r[1] for r in rows], dtype="Int64"),
        },
        index=np.arange(len(rows)) + 1,
    ).reindex(columns=list(SCHEMA["edss"].empty_frame("day").columns))
    plain: list[Problem] = []
    coded: list[Problem] = []
    _check_duplicates(SCHEMA["edss"], edss, edss["patient_id"], plain)
    _check_duplicates(
        SCHEMA["edss"], edss, edss["patient_id"], coded, _codes(edss["patient_id"]).codes
    )
    assert coded == plain


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), IDS), max_size=10), st.lists(IDS, max_size=6, unique=True))
def test_located_by_patient_codes_is_get_indexer(ids: list[str | None], known: list[str]) -> None:
    pid = pd.Series(pd.array(ids, dtype="string"))
    index = pd.Index(pd.array(known, dtype="string"))
    expected = index.get_indexer(pd.Index(pid))
    np.testing.assert_array_equal(_locate(index, _codes(pid), pid), expected)
    codes = _codes(pid)
    assert list(codes.ids) == list(dict.fromkeys(i for i in ids if i is not None))
    np.testing.assert_array_equal(codes.codes, pd.factorize(pid.to_numpy(dtype=object))[0])


def test_normalise_ids_from_distinct_values() -> None:
    pid = pd.Series(pd.array(["P1", None, "P2", "P1"], dtype="string"))
    found: list[Problem] = []
    assert _normalise_ids("edss", pid, found, pid.unique().to_numpy()) is pid
    odd = pd.Series(pd.array(["P1\u200b", None], dtype="string"))
    cleaned = _normalise_ids("edss", odd, found, odd.unique().to_numpy())
    assert list(cleaned) == ["P1", pd.NA]
    assert len(found) == 1
    missing = pd.Series(pd.array([None, None], dtype="string"))
    assert _normalise_ids("edss", missing, found, missing.unique().to_numpy()) is missing
