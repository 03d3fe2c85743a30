"""MRI activity: hand-worked cohorts, rebaseline boundary, missing counts, example data."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msreboot.data import Cohort
from msreboot.datasets import load_example
from msreboot.endpoints._mri import TABLE_COLUMNS, MRIActivity, mri_activity
from msreboot.endpoints._mri_scans import SCAN_COLUMNS, scan_activity
from msreboot.endpoints._transplant import first_course_start

d = pd.Timestamp
NA = None


def _cohort() -> Cohort:
    """Five patients; A, B, D, E transplanted, C not.

    A (day 0 2012-01-01): before: first scan Gd+ 3 with no T2 count (partly assessed,
    active), new T2 2 (active), quiet (region missing = brain); after: day 60 Gd+ 1 with no
    T2 count, a spine scan (filtered out by default), day 366 quiet, day 517 not assessed.
    B (day 0 2011-01-01): before: brain-and-spine scan Gd+ 2, new T2 1; after: day 0 new T2
    1, day 365 quiet. C: no AHSCT, one active scan. D (day 0 2011-01-01): after: day 151
    quiet, day 517 Gd 0 without a T2 count. E (day 0 2011-01-01): after: one scan Gd 0
    without a T2 count (no complete scan).
    """
    rows = [
        ("A", d("2011-01-01"), "brain", 3, NA),
        ("A", d("2011-07-01"), "brain", 0, 2),
        ("A", d("2011-12-01"), NA, 0, 0),
        ("A", d("2012-03-01"), "brain", 1, NA),
        ("A", d("2012-06-01"), "spine", 5, 5),
        ("A", d("2013-01-01"), "brain", 0, 0),
        ("A", d("2013-06-01"), "brain", NA, NA),
        ("B", d("2010-06-01"), "brain_and_spine", 2, 1),
        ("B", d("2011-01-01"), "brain", 0, 1),
        ("B", d("2012-01-01"), "brain", 0, 0),
        ("C", d("2011-01-01"), "brain", 4, 4),
        ("D", d("2011-06-01"), "brain", 0, 0),
        ("D", d("2012-06-01"), "brain", 0, NA),
        ("E", d("2011-06-01"), "brain", 0, NA),
    ]
    mri = pd.DataFrame(rows, columns=["patient_id", "date", "region", "gd", "new_t2"])
    mri = mri.rename(columns={"gd": "gd_lesions", "new_t2": "new_t2_lesions"})
    ids = ["A", "B", "C", "D", "E"]
    return Cohort.from_frames(
        {
            "patients": pd.DataFrame({"patient_id": ids, "phenotype": ["RRMS"] * 5}),
            "treatments": pd.DataFrame(
                {
                    "patient_id": ["A", "B", "D", "E"],
                    "kind": ["ahsct"] * 4,
                    "start_date": [d("2012-01-01")] + [d("2011-01-01")] * 3,
                }
            ),
            "mri": mri,
        }
    )


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    return _cohort()


def test_hand_worked_periods(cohort: Cohort) -> None:
    result = mri_activity(cohort)
    assert list(result.table.columns) == list(TABLE_COLUMNS)
    table = result.table.set_index("period")
    assert table.index.tolist() == ["before", "after"]
    before = table.loc["before"]
    # A: 3 brain scans, B: 1; complete: A2, A3, B1; active: A1 (Gd+, partly), A2, B1
    assert (before.patients, before.scans, before.scans_assessed) == (2, 4, 4)
    assert (before.scans_complete, before.active_scans, before.active_complete) == (3, 3, 2)
    assert before.active_share == pytest.approx(2 / 3)
    assert (before.patients_evaluable, before.patients_active) == (2, 2)
    assert (before.gd_scans, before.gd_positive_scans, before.gd_lesions) == (4, 2, 5)
    assert before.gd_per_scan == pytest.approx(5 / 4)
    assert (before.new_t2_scans, before.new_t2_positive_scans, before.new_t2_lesions) == (3, 2, 3)
    after = table.loc["after"]
    # A: day 60 (Gd+ 1, partly), day 366 quiet, day 517 not assessed; B: day 0 new T2 1,
    # day 365 quiet; D: quiet, Gd 0 without T2; E: Gd 0 without T2
    assert (after.patients, after.scans, after.scans_assessed) == (4, 8, 7)
    assert (after.scans_complete, after.active_scans, after.active_complete) == (4, 2, 1)
    assert after.active_share == pytest.approx(1 / 4)
    # E has no complete scan: left out; A active (partly assessed Gd+ scan), B active, D not
    assert (after.patients_evaluable, after.patients_active) == (3, 2)
    assert after.patients_active_share == pytest.approx(2 / 3)
    assert (after.gd_scans, after.gd_lesions, after.new_t2_scans, after.new_t2_lesions) == (
        7,
        1,
        4,
        1,
    )
    assert result.n_patients == 4
    text = result.summary()
    assert "  before: 2 patients, 4 scans; activity on 2/3 = 66.7%" in text
    assert "of fully assessed scans (and on 1 partly assessed scan); in 2/2 = 100.0%" in text
    assert "  after: 4 patients, 8 scans (1 not assessed); activity on 1/4 = 25.0%" in text
    assert "Gd+ 1.25 (95% CI " in text
    assert "2/4 scans with any" in text


def test_intervals_are_exact_and_bracket_the_estimates(cohort: Cohort) -> None:
    from scipy.stats import binomtest, chi2

    row = mri_activity(cohort, conf_level=0.9).table.set_index("period").loc["before"]
    ci = binomtest(2, 3).proportion_ci(confidence_level=0.9, method="exact")
    assert (row.active_ci_low, row.active_ci_high) == pytest.approx((ci.low, ci.high))
    # exact Poisson with scans as exposure: 5 Gd+ lesions on 4 scans
    assert row.gd_ci_low == pytest.approx(chi2.ppf(0.05, 10) / 2 / 4)
    assert row.gd_ci_high == pytest.approx(chi2.ppf(0.95, 12) / 2 / 4)
    assert row.gd_ci_low <= row.gd_per_scan <= row.gd_ci_high


def test_per_patient_table(cohort: Cohort) -> None:
    pp = mri_activity(cohort).per_patient.set_index(["patient_id", "period"])
    assert pp.index.tolist() == [
        ("A", "before"),
        ("A", "after"),
        ("B", "before"),
        ("B", "after"),
        ("D", "after"),
        ("E", "after"),
    ]
    counts = pp.loc[("A", "after"), ["scans", "scans_complete", "active_scans"]]
    assert list(counts) == [3, 1, 1]
    assert pp.loc[("A", "after"), "active"]  # the partly assessed Gd+ scan
    assert not pp.loc[("D", "after"), "active"]
    assert pd.isna(pp.loc[("E", "after"), "active"])  # never silently inactive
    assert pp.loc[("A", "before"), ["gd_lesions", "new_t2_lesions"]].tolist() == [3, 2]


def test_per_scan_activity_and_missing_counts(cohort: Cohort) -> None:
    scans = scan_activity(cohort, first_course_start(cohort, "ahsct"))
    assert list(scans.columns) == list(SCAN_COLUMNS)
    a = scans[scans["patient_id"] == "A"].set_index("day")
    assert a.index.tolist() == [-365, -184, -31, 60, 366, 517]
    assert a["active"].tolist() == [True, True, False, True, False, pd.NA]
    assert a["complete"].tolist() == [False, True, True, False, True, False]
    assert a["assessed"].tolist() == [True] * 5 + [False]
    assert a.loc[-31, "region"] == "brain"  # missing region is brain
    assert scans["active"].dtype == "boolean"
    assert scans["gd"].dtype == "Int64"
    assert scans["new_t2"].dtype == "Int64"
    assert scans["day"].dtype == "Int64"
    e = scans[scans["patient_id"] == "E"]
    assert pd.isna(e["active"].iloc[0])  # Gd 0 without a T2 count: not evaluable
    assert "C" not in set(scans["patient_id"])  # no day 0


def test_thresholds_and_unused_counts(cohort: Cohort) -> None:
    day0 = first_course_start(cohort, "ahsct")
    scans = scan_activity(cohort, day0, min_gd=None, min_new_t2=2).set_index(["patient_id", "day"])
    # A's first scan has Gd+ 3 but no T2 count: with Gd unused it is not assessed
    assert not scans.loc[("A", -365), "assessed"]
    assert pd.isna(scans.loc[("A", -365), "active"])
    assert scans.loc[("A", -184), "active"]  # 2 new T2
    assert not scans.loc[("B", -214), "active"]  # Gd+ 2 unused, new T2 1 below 2
    assert not scans.loc[("A", 60), "complete"]
    gd_only = scan_activity(cohort, day0, min_new_t2=None).set_index(["patient_id", "day"])
    assert gd_only.loc[("E", 151), "complete"]
    assert not gd_only.loc[("E", 151), "active"]
    summary = mri_activity(cohort, min_gd=None, min_new_t2=2).summary()
    assert "active = >= 2 new or enlarging T2 lesions on one scan" in summary


def test_region_filter(cohort: Cohort) -> None:
    spine = mri_activity(cohort, regions="spine").table.set_index("period")
    assert spine.loc["after", "scans"] == 1
    assert spine.loc["after", "gd_lesions"] == 5
    assert spine.loc["before", "scans"] == 0
    brain = mri_activity(cohort, regions=("brain",)).table.set_index("period")
    # B's brain-and-spine scan is left out; A's scan without a region is brain
    assert brain.loc["before", "scans"] == 3
    every = mri_activity(cohort, regions=("brain", "spine", "brain_and_spine"))
    assert every.table["scans"].sum() == 13
    assert every.regions == ("brain", "spine", "brain_and_spine")


def test_rebaseline_reference_scan(cohort: Cohort) -> None:
    result = mri_activity(cohort, rebaseline_days=365)
    table = result.table.set_index("period")
    assert table.index.tolist() == ["before", "rebaseline", "after"]
    rebase = table.loc["rebaseline"]
    # A day 60; B day 0; D day 151; E day 151
    assert (rebase.scans, rebase.gd_lesions, rebase.new_t2_lesions) == (4, 1, 1)
    assert pd.isna(rebase.active_scans)
    assert pd.isna(rebase.active_share)
    scans = result.per_scan.set_index(["patient_id", "day"])
    # first scan on/after day 365 is the reference: its new T2 count is not used
    assert scans.loc[("B", 365), "reference"]
    assert scans.loc[("B", 365), "period"] == "after"
    assert pd.isna(scans.loc[("B", 365), "new_t2"])
    assert pd.isna(scans.loc[("B", 365), "active"])  # Gd 0, T2 not counted
    assert scans.loc[("A", 366), "reference"]
    assert not scans.loc[("A", 517), "reference"]
    assert scans["reference"].sum() == 3  # A, B, D (E has no scan after day 365)
    assert scans.loc[("B", 0), "period"] == "rebaseline"
    assert pd.isna(scans.loc[("B", 0), "active"])
    rebase_rows = result.per_patient[result.per_patient["period"] == "rebaseline"]
    assert rebase_rows["active"].isna().all()
    assert "in the rebaseline (days 0-364, not counted)" in result.summary()


def _day_cohort(scan_days: list[int], new_t2: list[int | None]) -> Cohort:
    n = len(scan_days)
    return Cohort.from_frames(
        {
            "patients": pd.DataFrame({"patient_id": ["X"], "phenotype": ["RRMS"]}),
            "treatments": pd.DataFrame(
                {"patient_id": ["X"], "kind": ["ahsct"], "start_date": [100]}
            ),
            "mri": pd.DataFrame(
                {
                    "patient_id": ["X"] * n,
                    "date": scan_days,
                    "gd_lesions": [1] * n,
                    "new_t2_lesions": new_t2,
                }
            ),
        },
        time_unit="day",
    )


@pytest.mark.parametrize(
    ("scan_day", "period"),
    [(99, "before"), (100, "rebaseline"), (464, "rebaseline"), (465, "after"), (900, "after")],
    ids=["day-1", "day0", "boundary-1", "boundary", "later"],
)
def test_rebaseline_boundary_in_day_based_cohort(scan_day: int, period: str) -> None:
    cohort = _day_cohort([scan_day], [3])
    assert cohort.time_unit == "day"
    result = mri_activity(cohort, rebaseline_days=365)
    scan = result.per_scan.iloc[0]
    assert scan["day"] == scan_day - 100
    assert scan["period"] == period
    assert result.table.set_index("period").loc[period, "gd_lesions"] == 1


def test_day_based_new_t2_after_reference() -> None:
    cohort = _day_cohort([50, 464, 465, 800], [0, 4, 2, 1])
    result = mri_activity(cohort, rebaseline_days=365)
    after = result.per_scan[result.per_scan["period"] == "after"]
    assert after["new_t2"].tolist() == [pd.NA, 1]  # 2 on the reference is not counted
    table = result.table.set_index("period")
    assert table.loc["after", "new_t2_lesions"] == 1
    assert table.loc["after", "gd_lesions"] == 2  # Gd+ on the reference counts
    assert table.loc["rebaseline", "new_t2_lesions"] == 4
    without = mri_activity(cohort).table.set_index("period")
    assert without.loc["after", "new_t2_lesions"] == 7


def test_years_before_limits_the_window(cohort: Cohort) -> None:
    # 0.5 years = 183 days: A keeps day -31 (not -184), B loses day -214
    table = mri_activity(cohort, years_before=0.5).table.set_index("period")
    assert table.loc["before", "scans"] == 1
    assert table.loc["before", "patients"] == 1
    assert table.loc["after", "scans"] == 8


def test_atkins_style_summary() -> None:
    """24 patients: 188 Gd+ lesions on 48 scans before AHSCT, none on 314 scans after."""
    ids = [f"P{i:02d}" for i in range(24)]
    rows: list[tuple[str, int, int, int | None]] = []
    gd_before = [8] * 20 + [7] * 4  # 188
    for i, pid in enumerate(ids):
        rows.append((pid, 10, gd_before[i] // 2, None))
        rows.append((pid, 60, gd_before[i] - gd_before[i] // 2, 1))
        n_after = 14 if i < 2 else 13  # 2 * 14 + 22 * 13 = 314
        rows += [(pid, 200 + 180 * k, 0, 0) for k in range(n_after)]
    mri = pd.DataFrame(rows, columns=["patient_id", "date", "gd_lesions", "new_t2_lesions"])
    cohort = Cohort.from_frames(
        {
            "patients": pd.DataFrame({"patient_id": ids, "phenotype": ["RRMS"] * 24}),
            "treatments": pd.DataFrame(
                {"patient_id": ids, "kind": ["ahsct"] * 24, "start_date": [100] * 24}
            ),
            "mri": mri,
        },
        time_unit="day",
    )
    result = mri_activity(cohort)
    text = result.summary()
    assert "Gd+ lesions: 188 on 48 scans before; 0 on 314 scans after" in text
    assert "New or enlarging T2 lesions: 24 on 24 scans before; 0 on 314 scans after" in text
    assert "0/314 = 0.0% (95% CI 0.0-1.2%) of fully assessed scans" in text
    assert "24/24 = 100.0%" in text
    assert "<pre>" in result._repr_html_()
    assert "<table" in result._repr_html_()
    frame = result.to_frame()
    frame.loc[0, "scans"] = -1
    assert result.table.loc[0, "scans"] == 48  # to_frame returns a copy


def test_whole_follow_up_without_anchor(cohort: Cohort) -> None:
    result = mri_activity(cohort, anchor=None)
    assert result.table["period"].tolist() == ["all"]
    assert result.table.loc[0, "scans"] == 13  # 14 rows minus the spine scan
    assert result.table.loc[0, "patients"] == 5
    assert result.n_patients == 5
    assert result.per_scan["day"].isna().all()
    assert "over all follow-up" in result.summary()
    assert "Gd+ lesions: 10 on 12 scans\n" in result.summary()


def test_empty_mri_table() -> None:
    cohort = Cohort.from_frames(
        {
            "patients": pd.DataFrame({"patient_id": ["A"], "phenotype": ["RRMS"]}),
            "treatments": pd.DataFrame(
                {"patient_id": ["A"], "kind": ["ahsct"], "start_date": [d("2012-01-01")]}
            ),
        }
    )
    for kwargs in ({}, {"rebaseline_days": 365}, {"anchor": None}):
        result = mri_activity(cohort, **kwargs)
        assert (result.table["scans"] == 0).all()
        assert (result.table["gd_lesions"] == 0).all()
        assert result.table["active_share"].isna().all()
        assert result.table["gd_per_scan"].isna().all()
        assert result.per_patient.empty
        assert result.per_scan.empty
        assert list(result.per_scan.columns) == list(SCAN_COLUMNS)
        assert "0 on 0 scans" in result.summary()
    assert (
        "  before: 0 patients, 0 scans; no fully assessed scan\n" in mri_activity(cohort).summary()
    )


def test_errors(cohort: Cohort) -> None:
    cases = [
        ({"anchor": "msc"}, "no msc courses"),
        ({"anchor": "AHSCT"}, "Did you mean 'ahsct'"),
        ({"rebaseline_days": -1}, r"rebaseline_days must be a whole number >= 0; got -1"),
        ({"rebaseline_days": 1.5}, "rebaseline_days must be a whole number"),
        ({"rebaseline_days": True}, "rebaseline_days must be a whole number"),
        ({"anchor": None, "rebaseline_days": 365}, "rebaseline_days must be 0 when anchor"),
        ({"years_before": 0}, "years_before must be > 0 or None"),
        ({"anchor": None, "years_before": 2}, "years_before must be None when anchor"),
        ({"regions": ("head",)}, "regions must be one or more of"),
        ({"regions": ()}, "regions must be one or more of"),
        ({"min_gd": 0}, "min_gd must be a whole number >= 1 or None; got 0"),
        ({"min_gd": None, "min_new_t2": None}, "must not both be None"),
        ({"conf_level": 95}, r"Did you mean 0\.95"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            mri_activity(cohort, **kwargs)  # type: ignore[arg-type]
    whole_float: int = 365.0  # type: ignore[assignment]
    assert mri_activity(cohort, rebaseline_days=whole_float).rebaseline_days == 365
    days = pd.Series([100], index=pd.Index(["A"], dtype="string"))
    with pytest.raises(ValueError, match="day0 must hold calendar dates"):
        scan_activity(cohort, days)
    with pytest.raises(TypeError, match="day0 must be a pandas Series"):
        scan_activity(cohort, {"A": d("2012-01-01")})  # type: ignore[arg-type]
    twice = pd.Series([d("2012-01-01")] * 2, index=["A", "A"])
    with pytest.raises(ValueError, match="one value per patient; got 'A'"):
        scan_activity(cohort, twice)
    with pytest.raises(ValueError, match="rebaseline_days must be 0 without a day 0"):
        scan_activity(cohort, None, rebaseline_days=10)


def test_example_cohort_matches_direct_counts() -> None:
    cohort = load_example()
    day0 = first_course_start(cohort, "ahsct")
    mri = cohort.mri[cohort.mri["patient_id"].isin(day0.index)]
    mri = mri[mri["region"].fillna("brain").isin(["brain", "brain_and_spine"])]
    result = mri_activity(cohort)
    assert isinstance(result, MRIActivity)
    table = result.table.set_index("period")
    assert table["scans"].sum() == len(mri) == len(result.per_scan)
    assert table["gd_lesions"].sum() == mri["gd_lesions"].sum()
    assert table["new_t2_lesions"].sum() == mri["new_t2_lesions"].sum()
    rebased = mri_activity(cohort, rebaseline_days=365).table.set_index("period")
    assert rebased["scans"].sum() == len(mri)
    assert rebased.loc["before", "scans"] == table.loc["before", "scans"]
    assert rebased["gd_lesions"].sum() == table["gd_lesions"].sum()
    _check_consistent(result)
    _check_consistent(mri_activity(cohort, anchor=None))


def _check_consistent(result: MRIActivity) -> None:
    """Table totals equal the per-patient sums; counts are ordered; intervals bracket."""
    table = result.table.set_index("period")
    pp = result.per_patient
    for period, row in table.iterrows():
        part = pp[pp["period"] == period]
        assert row["patients"] == len(part)
        for col in ("scans", "scans_assessed", "scans_complete", "gd_lesions", "new_t2_lesions"):
            assert row[col] == part[col].sum()
        assert row["scans"] >= row["scans_assessed"] >= row["scans_complete"]
        if period == "rebaseline":
            continue
        assert row["active_scans"] >= row["active_complete"]
        assert row["scans_complete"] >= row["active_complete"]
        for name in ("active", "patients_active", "gd", "new_t2"):
            est = row[f"{name}_per_scan" if name in ("gd", "new_t2") else f"{name}_share"]
            if not np.isnan(est):
                assert row[f"{name}_ci_low"] <= est <= row[f"{name}_ci_high"]


# Scans of 3 patients on a small grid of days; counts may be missing.
counts = st.one_of(st.none(), st.integers(min_value=0, max_value=3))
scan_rows = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", "C"]),
        st.integers(min_value=0, max_value=40),
        st.sampled_from([None, "brain", "spine", "brain_and_spine"]),
        counts,
        counts,
    ),
    max_size=30,
    unique_by=lambda r: (r[0], r[1], r[2] or "brain"),
)


def _random_cohort(data: list[tuple[str, int, str | None, int | None, int | None]]) -> Cohort:
    mri = pd.DataFrame(
        data, columns=["patient_id", "date", "region", "gd_lesions", "new_t2_lesions"]
    )
    return Cohort.from_frames(
        {
            "patients": pd.DataFrame({"patient_id": ["A", "B", "C"], "phenotype": ["RRMS"] * 3}),
            "treatments": pd.DataFrame(
                {"patient_id": ["A", "B"], "kind": ["ahsct"] * 2, "start_date": [20, 10]}
            ),
            "mri": mri,
        },
        time_unit="day",
    )


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(scan_rows, st.integers(min_value=0, max_value=2**32 - 1), st.sampled_from([0, 5]))
def test_row_order_and_index_do_not_matter(
    data: list[tuple[str, int, str | None, int | None, int | None]], seed: int, rebase: int
) -> None:
    cohort = _random_cohort(data)
    rng = np.random.default_rng(seed)
    shuffled_mri = cohort.mri.iloc[rng.permutation(len(cohort.mri))].copy()
    shuffled_mri.index = rng.integers(0, 5, size=len(shuffled_mri))
    shuffled_tr = cohort.treatments.iloc[::-1].copy()
    shuffled_tr.index = [7, 7]
    shuffled = dataclasses.replace(cohort, mri=shuffled_mri, treatments=shuffled_tr)
    for anchor in ("ahsct", None):
        kwargs = {"rebaseline_days": rebase if anchor else 0}
        a = mri_activity(cohort, anchor=anchor, **kwargs)  # type: ignore[arg-type]
        b = mri_activity(shuffled, anchor=anchor, **kwargs)  # type: ignore[arg-type]
        pd.testing.assert_frame_equal(a.table, b.table)
        pd.testing.assert_frame_equal(a.per_patient, b.per_patient)
        pd.testing.assert_frame_equal(a.per_scan, b.per_scan)
        assert a.summary() == b.summary()
        _check_consistent(a)
