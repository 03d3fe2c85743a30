"""MRI activity: Gd+ and new or enlarging T2 lesions per scan, before and after a treatment.

Per scan, MRI activity is any Gd+ (enhancing) lesion or any new or enlarging T2 lesion
relative to the previous scan. :func:`mri_activity` counts lesions per scan and the share
of scans and of patients with activity, per period around a treatment (Atkins 2016: 188
Gd+ lesions on 48 scans before AHSCT, none on 314 scans after), with an optional
rebaseline window after day 0 (HALT-MS counted new lesions from 1 year after transplant).
The per-scan table comes from :mod:`._mri_scans`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real
from types import SimpleNamespace
from typing import Any, get_args

import pandas as pd

from msreboot.data import DAYS_PER_YEAR, Cohort, TreatmentKind
from msreboot.endpoints._mri_scans import (
    DEFAULT_REGIONS,
    Region,
    check_regions,
    check_thresholds,
    scan_activity,
    whole_number,
)
from msreboot.endpoints._transplant import first_course_start
from msreboot.stats import check_conf_level, exact_binomial_ci, exact_poisson_ci

__all__ = ["MRIActivity", "mri_activity"]

_KINDS: tuple[str, ...] = get_args(TreatmentKind)

_LESIONS = ("gd_scans", "gd_positive_scans", "gd_lesions")
_SCAN_COUNTS = ("scans", "scans_assessed", "scans_complete")
_PATIENT_COLUMNS = (
    "patient_id",
    "period",
    *_SCAN_COUNTS,
    "active_scans",
    "active_complete",
    *_LESIONS,
    *(c.replace("gd", "new_t2") for c in _LESIONS),
    "active",
)
# Activity columns of the per-period table (missing in the rebaseline row).
_ACTIVITY = (
    "active_scans",
    "active_complete",
    "active_share",
    "active_ci_low",
    "active_ci_high",
    "patients_evaluable",
    "patients_active",
    "patients_active_share",
    "patients_active_ci_low",
    "patients_active_ci_high",
)
_RATES = ("per_scan", "ci_low", "ci_high")
TABLE_COLUMNS = (
    "period",
    "patients",
    *_SCAN_COUNTS,
    *_ACTIVITY,
    *_LESIONS,
    *(f"gd_{c}" for c in _RATES),
    *(c.replace("gd", "new_t2") for c in _LESIONS),
    *(f"new_t2_{c}" for c in _RATES),
)


@dataclass(frozen=True)
class MRIActivity:
    """MRI activity per period (``before`` / ``rebaseline`` / ``after`` an anchor, or ``all``).

    Attributes
    ----------
    table
        One row per period, columns :data:`TABLE_COLUMNS`: ``patients`` (with a scan in the
        period); ``scans``, ``scans_assessed`` (a count in use present), ``scans_complete``
        (every count in use present); ``active_scans`` (scans active, partly assessed ones
        included); ``active_complete`` and ``active_share`` = active / complete scans with
        its exact (Clopper-Pearson) interval ``active_ci_low``, ``active_ci_high``;
        ``patients_evaluable`` (with a complete scan), ``patients_active`` (of those, with
        an active scan) and ``patients_active_share`` with its interval; ``gd_scans``
        (scans with a Gd+ count), ``gd_positive_scans`` (with >= 1 Gd+ lesion),
        ``gd_lesions`` (total) and ``gd_per_scan`` with an exact Poisson interval over scans
        (``gd_ci_low``, ``gd_ci_high``); the same for new or enlarging T2 (``new_t2_*``).
        Activity columns are missing in the ``rebaseline`` row; shares and rates are NaN
        when their denominator is 0.
    per_patient
        One row per patient and period with a scan: the scan and lesion counts above and
        ``active`` (True: a scan active; False: none active and at least one complete;
        missing: otherwise, and in the rebaseline).
    per_scan
        The scans counted, as returned by :func:`scan_activity` (``years_before`` applied).
    anchor
        Treatment kind whose first course is day 0, or ``None`` (one period, ``all``).
    rebaseline_days, years_before, regions, min_gd, min_new_t2, conf_level
        The arguments the result was computed with.
    n_patients
        Patients in scope: those with an anchor course (every patient without an anchor).
    """

    table: pd.DataFrame
    per_patient: pd.DataFrame
    per_scan: pd.DataFrame
    anchor: str | None
    rebaseline_days: int
    years_before: float | None
    regions: tuple[Region, ...]
    min_gd: int | None
    min_new_t2: int | None
    conf_level: float
    n_patients: int

    def to_frame(self) -> pd.DataFrame:
        """The per-period table (a copy)."""
        return self.table.copy()

    def summary(self) -> str:
        """Lesion counts per period in the words of Atkins 2016, then activity shares."""
        pct = f"{100 * self.conf_level:g}% CI"
        where = f"around {self.anchor.upper()}" if self.anchor else "over all follow-up"
        lines = [
            f"MRI activity {where} ({', '.join(self.regions)} scans; active = "
            f"{_rule_text(self.min_gd, self.min_new_t2)}); {self.n_patients} patients in scope"
        ]
        records = self.table.to_dict("records")
        rows = [SimpleNamespace(**{str(k): v for k, v in r.items()}) for r in records]
        for label, name in (("Gd+ lesions", "gd"), ("New or enlarging T2 lesions", "new_t2")):
            parts = []
            for r in rows:
                n = getattr(r, f"{name}_scans")
                where = _period_words(r.period, self.rebaseline_days)
                parts.append(f"{getattr(r, f'{name}_lesions')} on {n} scan{_s(n)}{where}")
            lines.append(f"{label}: {'; '.join(parts)}")
        for r in rows:
            head = f"  {r.period}: {r.patients} patients, {r.scans} scans"
            if r.scans > r.scans_assessed:
                head += f" ({r.scans - r.scans_assessed} not assessed)"
            if r.period == "rebaseline":
                lines.append(f"{head}; not counted as activity")
                continue
            partial = r.active_scans - r.active_complete
            some = f"{partial} partly assessed scan{_s(partial)}"
            if r.scans_complete:
                share = _share(r, "active", "active_complete", "scans_complete", pct)
                scans_part = f"activity on {share} of fully assessed scans"
                scans_part += f" (and on {some})" if partial else ""
            else:
                scans_part = "no fully assessed scan" + (f"; activity on {some}" if partial else "")
            if r.patients_evaluable:
                share = _share(r, "patients_active", "patients_active", "patients_evaluable", pct)
                scans_part += f"; in {share} of patients with a fully assessed scan"
            lines.append(f"{head}; {scans_part}")
            lines.append(
                f"    lesions per scan: Gd+ {_rate(r, 'gd', pct)}; "
                f"new or enlarging T2 {_rate(r, 'new_t2', pct)}"
            )
        lines.append(
            "Shares: exact (Clopper-Pearson) intervals; lesions per scan: exact Poisson "
            "intervals with scans as exposure (both treat scans as independent)."
        )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>" + self.table.to_html(index=False)


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _period_words(period: str, rebaseline_days: int) -> str:
    if period == "all":
        return ""
    if period == "rebaseline":
        return f" in the rebaseline (days 0-{rebaseline_days - 1}, not counted)"
    return f" {period}"


def _rule_text(min_gd: int | None, min_new_t2: int | None) -> str:
    parts = []
    if min_gd is not None:
        parts.append(f">= {min_gd} Gd+")
    if min_new_t2 is not None:
        parts.append(f">= {min_new_t2} new or enlarging T2")
    return " or ".join(parts) + " lesions on one scan"


def _share(row: Any, name: str, count: str, total: str, pct: str) -> str:
    k, n = getattr(row, count), getattr(row, total)
    p, lo, hi = (100 * getattr(row, f"{name}_{x}") for x in ("share", "ci_low", "ci_high"))
    return f"{k}/{n} = {p:.1f}% ({pct} {lo:.1f}-{hi:.1f}%)"


def _rate(row: Any, name: str, pct: str) -> str:
    rate, lo, hi = (getattr(row, f"{name}_{x}") for x in _RATES)
    if math.isnan(rate):
        return "n/a (no counts)"
    positive, scans = getattr(row, f"{name}_positive_scans"), getattr(row, f"{name}_scans")
    return f"{rate:.2f} ({pct} {lo:.2f}-{hi:.2f}), {positive}/{scans} scans with any"


def _per_patient(scans: pd.DataFrame, periods: Sequence[str]) -> pd.DataFrame:
    """One row per patient and period with a scan; activity missing in the rebaseline."""
    active = scans["active"].fillna(False).to_numpy(dtype=bool)
    complete = scans["complete"].to_numpy(dtype=bool)
    flags = pd.DataFrame(
        {
            "patient_id": scans["patient_id"].to_numpy(dtype=object),
            "period": pd.Categorical(scans["period"].to_numpy(dtype=object), list(periods)),
            "scans": 1,
            "scans_assessed": scans["assessed"].to_numpy(dtype=int),
            "scans_complete": complete.astype(int),
            "active_scans": active.astype(int),
            "active_complete": (active & complete).astype(int),
        }
    )
    for name in ("gd", "new_t2"):
        count = scans[name]
        flags[f"{name}_scans"] = count.notna().to_numpy(dtype=int)
        flags[f"{name}_positive_scans"] = (count > 0).fillna(False).to_numpy(dtype=int)
        flags[f"{name}_lesions"] = count.fillna(0).to_numpy(dtype=int)
    sums = flags.groupby(["patient_id", "period"], observed=True, sort=True).sum().reset_index()
    sums["patient_id"] = sums["patient_id"].astype("string")
    sums["period"] = sums["period"].astype("string")
    flag = pd.Series(pd.NA, index=sums.index, dtype="boolean")
    flag[(sums["scans_complete"] > 0).to_numpy(dtype=bool)] = False
    flag[(sums["active_scans"] > 0).to_numpy(dtype=bool)] = True
    rebaseline = (sums["period"] == "rebaseline").to_numpy(dtype=bool)
    sums["active"] = flag.mask(rebaseline)
    for col in ("active_scans", "active_complete"):
        sums[col] = sums[col].astype("Int64").mask(rebaseline)
    return sums[list(_PATIENT_COLUMNS)]


def _period_row(period: str, part: pd.DataFrame, conf_level: float) -> dict[str, object]:
    """Totals, shares and rates of one period from its per-patient rows."""
    nan = float("nan")

    def total(col: str) -> int:
        return int(part[col].sum())

    row: dict[str, object] = {"period": period, "patients": len(part)}
    row.update({col: total(col) for col in _SCAN_COUNTS})
    if period == "rebaseline":  # shown, not counted as activity
        row.update(dict.fromkeys(_ACTIVITY, nan))
    else:
        evaluable = (part["scans_complete"] > 0).to_numpy(dtype=bool)
        flagged = part["active"].to_numpy(dtype=bool, na_value=False)
        shares = {
            "active": (total("active_complete"), total("scans_complete")),
            "patients_active": (int(flagged[evaluable].sum()), int(evaluable.sum())),
        }
        row["active_scans"] = total("active_scans")
        row["active_complete"] = shares["active"][0]
        row["patients_active"], row["patients_evaluable"] = shares["patients_active"]
        for name, (k, n) in shares.items():
            lo, hi = exact_binomial_ci(k, n, conf_level) if n > 0 else (nan, nan)
            row[f"{name}_share"] = k / n if n > 0 else nan
            row[f"{name}_ci_low"], row[f"{name}_ci_high"] = lo, hi
    for name in ("gd", "new_t2"):
        k, n = total(f"{name}_lesions"), total(f"{name}_scans")
        lo, hi = exact_poisson_ci(k, n, conf_level) if n > 0 else (nan, nan)
        row[f"{name}_scans"], row[f"{name}_lesions"] = n, k
        row[f"{name}_positive_scans"] = total(f"{name}_positive_scans")
        row[f"{name}_per_scan"] = k / n if n > 0 else nan
        row[f"{name}_ci_low"], row[f"{name}_ci_high"] = lo, hi
    return row


def mri_activity(
    cohort: Cohort,
    *,
    anchor: TreatmentKind | None = "ahsct",
    rebaseline_days: int = 0,
    regions: Sequence[Region] | Region = DEFAULT_REGIONS,
    years_before: float | None = None,
    min_gd: int | None = 1,
    min_new_t2: int | None = 1,
    conf_level: float = 0.95,
) -> MRIActivity:
    """MRI lesions and activity per scan and per patient, before and after a treatment.

    Parameters
    ----------
    cohort
        A validated cohort.
    anchor
        A treatment kind: each patient's first course of that kind is day 0 and splits the
        scans into ``before`` (before day 0), ``rebaseline`` and ``after``. Patients
        without such a course are left out. ``None``: every scan, one period ``all``.
    rebaseline_days
        Days after day 0 whose scans are shown but not counted as activity (HALT-MS: 365);
        ``after`` starts on day ``rebaseline_days``, and its first scan is the new
        reference for new T2 lesions (see :func:`scan_activity`). 0: no rebaseline.
    regions
        Regions counted (default brain and brain-and-spine scans; a missing region is
        brain). Each row of the ``mri`` table is one scan.
    years_before
        Length of the ``before`` period (scans on or after day ``-round(365.25 *
        years_before)``); ``None``: every earlier scan.
    min_gd, min_new_t2
        Lesions on one scan that make it active (default 1 each: any Gd+ or any new or
        enlarging T2 lesion); ``None``: that count is not used for activity.
    conf_level
        Level of the exact intervals.

    Returns
    -------
    MRIActivity

    Raises
    ------
    ValueError
        The cohort has no course of the anchor kind, or an argument is out of range.

    Notes
    -----
    Scans are active, inactive or not evaluable as in :func:`scan_activity`. Shares are
    taken over *complete* scans (every count in use present): ``active_share`` = active /
    complete scans, with the Clopper-Pearson interval. Counting partly assessed scans only
    when they show activity would bias the share upwards (a partly assessed scan can be
    known active but never known inactive), so they are left out of the share and
    reported in ``active_scans``. Likewise a patient enters the patient share when they
    have a complete scan in the period, and is active when any of their scans is (partly
    assessed ones included).

    ``gd_per_scan`` = Gd+ lesions / scans with a Gd+ count, with the exact Poisson
    (Garwood) interval treating each scan as one unit of exposure; likewise new T2.
    Lesion totals count every scan of the period, partly assessed or not. Both kinds of
    interval treat scans as independent: lesions cluster within patients, so the
    intervals are too narrow when a few patients carry most lesions.

    ``years_before`` limits the ``before`` period by scan date; the new T2 lesions of its
    first scan count as reported, although they may have formed before the window. A
    period without scans has counts 0 and shares and rates NaN (so does every period
    when the ``mri`` table is empty).

    References
    ----------
    Atkins HL et al. Lancet 2016;388:576-85. doi:10.1016/S0140-6736(16)30169-6
    Nash RA et al. Neurology 2017;88:842-52. doi:10.1212/WNL.0000000000003660

    Examples
    --------
    >>> from msreboot.datasets import load_example
    >>> mri = mri_activity(load_example(), rebaseline_days=182)
    >>> mri.table["period"].tolist()
    ['before', 'rebaseline', 'after']
    >>> print(mri.summary())  # doctest: +ELLIPSIS
    MRI activity around AHSCT (brain, brain_and_spine scans; ...); ... patients in scope
    Gd+ lesions: ... on ... scans before; ... in the rebaseline (days 0-181, not counted); ...
    ...
    """
    if anchor is not None and anchor not in _KINDS:
        hint = f" Did you mean {anchor.lower()!r}?" if str(anchor).lower() in _KINDS else ""
        raise ValueError(
            f"anchor must be one of {', '.join(map(repr, _KINDS))} or None; got {anchor!r}.{hint}"
        )
    rebase = whole_number("rebaseline_days", rebaseline_days, 0)
    if anchor is None and rebase:
        raise ValueError(
            f"rebaseline_days must be 0 when anchor is None; got {rebaseline_days!r}. "
            "Name the treatment (anchor='ahsct') the rebaseline follows."
        )
    if years_before is not None:
        if anchor is None:
            raise ValueError(
                f"years_before must be None when anchor is None; got {years_before!r}. "
                "Name the treatment (anchor='ahsct') the period comes before."
            )
        if isinstance(years_before, bool) or not (
            isinstance(years_before, Real) and math.isfinite(years_before) and years_before > 0
        ):
            raise ValueError(f"years_before must be > 0 or None; got {years_before!r}.")
    chosen = check_regions(regions)
    gd_min, t2_min = check_thresholds(min_gd, min_new_t2)
    level = check_conf_level(conf_level)
    if anchor is None:
        day0, periods = None, ["all"]
        n_patients = cohort.n_patients
    else:
        day0 = first_course_start(cohort, anchor)
        periods = ["before", "rebaseline", "after"] if rebase else ["before", "after"]
        n_patients = len(day0)
    scans = scan_activity(
        cohort,
        day0,
        regions=chosen,
        rebaseline_days=rebase,
        min_gd=gd_min,
        min_new_t2=t2_min,
    )
    if years_before is not None:
        span = round(years_before * DAYS_PER_YEAR)
        scans = scans[~(scans["day"] < -span).fillna(False).to_numpy(dtype=bool)]
        scans = scans.reset_index(drop=True)
    per_patient = _per_patient(scans, periods)
    rows = [_period_row(p, per_patient[per_patient["period"] == p], level) for p in periods]
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    for col in ("active_scans", "active_complete", "patients_evaluable", "patients_active"):
        table[col] = table[col].astype("Int64")
    return MRIActivity(
        table=table,
        per_patient=per_patient,
        per_scan=scans,
        anchor=anchor,
        rebaseline_days=rebase,
        years_before=None if years_before is None else float(years_before),
        regions=chosen,
        min_gd=gd_min,
        min_new_t2=t2_min,
        conf_level=level,
        n_patients=n_patients,
    )
