"""MRI scans, one row each: lesion counts, the period around day 0 and activity.

Per scan, MRI activity is any Gd+ (enhancing) lesion or any new or enlarging T2 lesion
relative to the previous scan. :func:`scan_activity` is the per-scan building block that
:func:`msreboot.endpoints.mri_activity` summarises and the composite endpoints (NEDA,
MRI-activity-free survival) reuse; the checks of its options live beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Literal, SupportsInt, cast, get_args

import numpy as np
import pandas as pd

from msreboot.data import Cohort, days_between
from msreboot.endpoints._patients import patient_codes, patient_index

__all__ = [
    "DEFAULT_REGIONS",
    "REGIONS",
    "SCAN_COLUMNS",
    "Region",
    "check_regions",
    "check_thresholds",
    "scan_activity",
    "whole_number",
]

Region = Literal["brain", "spine", "brain_and_spine"]
"""Region scanned, as in the ``mri`` table (a missing region means brain)."""

REGIONS: tuple[Region, ...] = get_args(Region)
DEFAULT_REGIONS: tuple[Region, ...] = ("brain", "brain_and_spine")

# Columns of the per-scan table, in order (see scan_activity).
SCAN_COLUMNS = (
    "patient_id",
    "date",
    "region",
    "day",
    "period",
    "reference",
    "gd",
    "new_t2",
    "assessed",
    "complete",
    "active",
)


def whole_number(name: str, value: object, minimum: int) -> int:
    """``value`` as an int after checking it is a whole number >= ``minimum``."""
    ok = not isinstance(value, bool) and (
        isinstance(value, Integral) or (isinstance(value, Real) and float(value).is_integer())
    )
    if not ok or int(cast(SupportsInt, value)) < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}; got {value!r}.")
    return int(cast(SupportsInt, value))


def _threshold(name: str, value: object) -> int | None:
    if value is None:
        return None
    try:
        return whole_number(name, value, 1)
    except ValueError:
        raise ValueError(f"{name} must be a whole number >= 1 or None; got {value!r}.") from None


def check_regions(regions: Sequence[str] | str) -> tuple[Region, ...]:
    chosen = (regions,) if isinstance(regions, str) else tuple(regions)
    bad = [r for r in chosen if r not in REGIONS]
    if not chosen or bad:
        raise ValueError(
            f"regions must be one or more of {', '.join(map(repr, REGIONS))}; got "
            f"{(bad[0] if bad else regions)!r}."
        )
    return tuple(dict.fromkeys(chosen))  # type: ignore[arg-type]


def check_thresholds(min_gd: object, min_new_t2: object) -> tuple[int | None, int | None]:
    gd = _threshold("min_gd", min_gd)
    t2 = _threshold("min_new_t2", min_new_t2)
    if gd is None and t2 is None:
        raise ValueError(
            "min_gd and min_new_t2 must not both be None; got None and None. "
            "Set at least one (the default is 1 for each)."
        )
    return gd, t2


def _day0_frame(cohort: Cohort, day0: pd.Series) -> pd.DataFrame:
    """``day0`` as a two-column frame (``patient_id``, ``day0``), checked."""
    if not isinstance(day0, pd.Series):
        raise TypeError(
            f"day0 must be a pandas Series indexed by patient_id, or None; got "
            f"{type(day0).__name__}. Use first_course_start(cohort, 'ahsct')."
        )
    is_date = pd.api.types.is_datetime64_any_dtype(day0.dtype)
    if is_date != (cohort.time_unit == "date") or not (
        is_date or pd.api.types.is_numeric_dtype(day0.dtype)
    ):
        unit = "calendar dates" if cohort.time_unit == "date" else "day numbers (integers)"
        raise ValueError(
            f"day0 must hold {unit} for a cohort with time_unit={cohort.time_unit!r}; got "
            f"dtype {day0.dtype}."
        )
    ids = pd.Series(day0.index, dtype="string")
    if ids.duplicated().any():
        raise ValueError(
            f"day0 must have one value per patient; got {ids[ids.duplicated()].iloc[0]!r} "
            "more than once."
        )
    frame = pd.DataFrame({"patient_id": ids.to_numpy(), "day0": day0.to_numpy()})
    return frame[frame["day0"].notna()]


def _sorted_scans(cohort: Cohort) -> pd.DataFrame:
    """The cohort's scans in the order of :func:`scan_activity` (patient, date, region,
    counts; stable), with each row's patient as a position in the patients table: sorted
    once per cohort, since filtering a sorted table keeps its order."""

    def compute() -> pd.DataFrame:
        mri = cohort.mri
        scans = pd.DataFrame(
            {
                "patient_id": mri["patient_id"].astype("string").array,
                "date": mri["date"].array,
                "region": mri["region"].astype("string").fillna("brain").array,
                "gd": mri["gd_lesions"].astype("Int64").array,
                "new_t2": mri["new_t2_lesions"].astype("Int64").array,
                "code": patient_codes(cohort, "mri"),
            }
        )
        return scans.sort_values(
            ["patient_id", "date", "region", "gd", "new_t2"], kind="stable", na_position="last"
        ).reset_index(drop=True)

    return cohort.derived(("mri_scans_sorted",), compute)


def scan_activity(
    cohort: Cohort,
    day0: pd.Series | None = None,
    *,
    regions: Sequence[Region] | Region = DEFAULT_REGIONS,
    rebaseline_days: int = 0,
    min_gd: int | None = 1,
    min_new_t2: int | None = 1,
) -> pd.DataFrame:
    """One row per MRI scan with its lesion counts, period and activity.

    Private but importable: the composite endpoints (NEDA, MRI-activity-free survival)
    read MRI activity through this function.

    Parameters
    ----------
    cohort
        A validated cohort.
    day0
        Each patient's day 0 (calendar date, or day number in a day-based cohort), indexed
        by ``patient_id``, e.g. ``first_course_start(cohort, "ahsct")``. Scans of patients
        without a day 0 are left out. ``None``: every scan, ``day`` missing, period ``all``.
    regions
        Regions whose scans are kept (a missing region is brain).
    rebaseline_days
        Scans on days 0 to ``rebaseline_days - 1`` form the ``rebaseline`` period; 0: none.
    min_gd, min_new_t2
        Lesions on one scan that make it active; ``None``: that count is not used.

    Returns
    -------
    pandas.DataFrame
        Sorted by patient, date and region, index 0..n-1, columns ``patient_id``,
        ``date``, ``region``, ``day`` (days from day 0, ``Int64``), ``period``
        (``before`` / ``rebaseline`` / ``after``, or ``all``), ``reference`` (the first
        scan after a rebaseline, see Notes), ``gd`` and ``new_t2`` (lesion counts as
        counted, ``Int64``, missing = not assessed), ``assessed`` (a count in use is
        present), ``complete`` (every count in use is present) and ``active``
        (``boolean``: True, False, or missing = not evaluable).

    Notes
    -----
    ``active`` follows three-valued logic over the counts in use: True when any present
    count reaches its threshold; False when every used count is present and below it;
    missing otherwise. So a scan with no counts is not assessed (never silently inactive)
    and a partly assessed scan (one count missing, the other below its threshold) is not
    evaluable: active only if the count present shows activity. A patient's first scan
    usually has no new T2 count (there is no previous scan), so it is active when it shows
    Gd+ lesions and not evaluable otherwise. To find the first activity, take the earliest
    scan with ``active`` True; to find the last assessment, the latest with ``assessed``
    (or ``complete``) True.

    Rebaseline: new or enlarging T2 lesions are counted relative to the previous scan, so
    on the first scan on or after day ``rebaseline_days`` (per patient and region) they
    compare with a scan from before the rebaseline and may have formed during the
    rebaseline window or before treatment. That scan is the new reference
    (``reference`` True): its ``new_t2`` is set missing (the reported count stays in
    ``cohort.mri``); its Gd+ count, which marks lesions of the weeks before the scan, is
    counted. Later scans count as reported. Scans in the rebaseline window have their
    counts but ``active`` missing: they are not assessments of activity. With
    ``rebaseline_days=0`` there is no reference: the first scan after day 0 is compared
    with the last scan before it and its new T2 lesions count as ``after``.

    A scan taken on day 0 belongs to ``after`` (or to the rebaseline window).
    """
    chosen = check_regions(regions)
    rebase = whole_number("rebaseline_days", rebaseline_days, 0)
    gd_min, t2_min = check_thresholds(min_gd, min_new_t2)
    if day0 is None and rebase:
        raise ValueError(
            f"rebaseline_days must be 0 without a day 0; got {rebaseline_days!r}. "
            "Pass day0 (e.g. first_course_start(cohort, 'ahsct'))."
        )
    base = _sorted_scans(cohort)
    keep = base["region"].isin(chosen).to_numpy(dtype=bool)
    if day0 is None:
        scans = base[keep].drop(columns="code")
        scans["day"] = pd.Series(pd.NA, index=scans.index, dtype="Int64")
        scans["period"] = "all"
    else:
        zero = _day0_frame(cohort, day0).set_index("patient_id")["day0"]
        by_code = zero.reindex(patient_index(cohort)).reset_index(drop=True)
        at = by_code.iloc[base["code"].to_numpy()].reset_index(drop=True)
        keep &= at.notna().to_numpy(dtype=bool)
        scans = base[keep].drop(columns="code")
        days = days_between(
            scans["date"].reset_index(drop=True), at[keep].reset_index(drop=True)
        ).round()
        days.index = scans.index
        scans["day"] = days.astype("Int64")
        scans["period"] = np.select(
            [days < 0, days < rebase], ["before", "rebaseline"], default="after"
        )
    scans = scans.reset_index(drop=True)
    scans["patient_id"] = scans["patient_id"].astype("string")
    scans["period"] = scans["period"].astype("string")
    reference = pd.Series(False, index=scans.index)
    if rebase:
        after = scans[(scans["period"] == "after").to_numpy(dtype=bool)]
        reference[after.drop_duplicates(["patient_id", "region"]).index] = True
        scans["new_t2"] = scans["new_t2"].mask(reference)
    scans["reference"] = reference
    used = [(scans[c], m) for c, m in (("gd", gd_min), ("new_t2", t2_min)) if m is not None]
    # Kleene logic over the counts in use: True | NA is True, False | NA is NA.
    active = (used[0][0] >= used[0][1]).astype("boolean")
    assessed = used[0][0].notna()
    complete = used[0][0].notna()
    for count, minimum in used[1:]:
        active = active | (count >= minimum).astype("boolean")
        assessed = assessed | count.notna()
        complete = complete & count.notna()
    scans["assessed"] = assessed.astype(bool)
    scans["complete"] = complete.astype(bool)
    rebaseline = (scans["period"] == "rebaseline").to_numpy(dtype=bool)
    scans["active"] = active.mask(rebaseline)
    return scans[list(SCAN_COLUMNS)]
