"""When virtual patients are seen: EDSS visits and MRI scans after enrolment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["VisitSchedule"]

DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class VisitSchedule:
    """Scheduled assessments from enrolment (day 0) to the end of follow-up.

    Attributes
    ----------
    edss_every_months
        Months between EDSS visits (3 or 6 are usual); the first is at day 0.
    mri_every_months
        Months between brain MRI scans; the first (baseline) at day 0. ``None``: no MRI.
    jitter_days
        Visits and scans after day 0 happen up to this many days early or late
        (uniform), as in clinics.
    loss_to_follow_up_per_year
        Hazard of leaving the study; nothing after that day is recorded (the latent
        course is still simulated, for the truth table).
    extra_edss_days, extra_mri_days
        Unscheduled assessments added to the regular ones (days from enrolment, e.g. a
        visit at day 30); days after the end of follow-up are dropped.
    rebaseline_mri_months
        An extra MRI this many months after enrolment; an endpoint definition decides
        whether activity is counted from it (see ``rebaseline_months`` for a re-baseline
        scan the simulator treats as the new reference).
    rebaseline_months
        A re-baseline MRI this many months after the course's day 0 (the AHSCT
        reinfusion; the first dose of a DMT or MSC; enrolment when untreated), as studies
        re-baseline after a transplant (3-6 months; HALT-MS counted new lesions from 1
        year). It is the reference for new T2 lesions: its ``new_t2_lesions`` is missing
        (as on the enrolment scan) and later scans count new lesions from it. The regular
        scans after enrolment run every ``mri_every_months`` from it; none is taken
        between enrolment and it (extra scans still are).
    missed_visit_share
        Share of the EDSS visits and MRI scans after enrolment that do not take place,
        each independently of the others and of the patient's course (missing completely
        at random: assumed); the enrolment assessment (day 0) always does. The visits are
        removed from the recorded tables after the simulation, from a random stream of
        their own, so the share changes nothing else; a switch rule (``SwitchRule``) still
        sees every scheduled visit. 0 (the default): none is missed.
    lab_months
        Blood draws of an AHSCT course's patients for immune reconstitution, in months
        after the reinfusion (increasing, > 0; ``LAB_MONTHS`` holds the usual 1, 3, 6, 12,
        24, 36 and 48), with a baseline draw at enrolment: the ``labs`` table gets CD4,
        naive CD4, CD8, CD19, NK and lymphocyte counts at each draw within follow-up while
        the patient is observed and alive (the model is described in
        ``docs/reference/simulation-model.md``). ``None`` (the default): no labs. Draws
        are not jittered and come from a random stream of their own, so turning them on
        changes no other table.

    Examples
    --------
    >>> schedule = VisitSchedule(edss_every_months=3, mri_every_months=12)
    >>> schedule.edss_days(1.0).tolist()
    [0, 91, 183, 274, 365]
    """

    edss_every_months: int = 6
    mri_every_months: int | None = 12
    jitter_days: int = 0
    loss_to_follow_up_per_year: float = 0.0
    extra_edss_days: tuple[int, ...] = ()
    extra_mri_days: tuple[int, ...] = ()
    rebaseline_mri_months: float | None = None
    rebaseline_months: float | None = None
    lab_months: tuple[float, ...] | None = None
    missed_visit_share: float = 0.0

    def __post_init__(self) -> None:
        share = self.missed_visit_share
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share < 1:
            raise ValueError(
                f"missed_visit_share must be a share in [0, 1); got {share!r}. 0.1 misses one "
                "visit in ten."
            )
        object.__setattr__(self, "missed_visit_share", float(share))
        if self.lab_months is not None:
            months = tuple(self.lab_months)
            ok = (
                len(months) > 0
                and all(
                    isinstance(m, int | float) and not isinstance(m, bool) and 0 < m <= 1200
                    for m in months
                )
                and list(months) == sorted(set(months))
            )
            if not ok:
                raise ValueError(
                    "lab_months must be increasing months in (0, 1200] after the reinfusion; "
                    f"got {list(months)}. The baseline draw (enrolment) is always taken; "
                    "LAB_MONTHS holds the usual 1, 3, 6, 12, 24, 36 and 48."
                )
            object.__setattr__(self, "lab_months", tuple(float(m) for m in months))
        for key in ("extra_edss_days", "extra_mri_days"):
            days = tuple(getattr(self, key))
            if any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in days):
                raise ValueError(
                    f"{key} must be whole days >= 1 after enrolment; got {list(days)}. Day 0 "
                    "is always an assessment."
                )
            object.__setattr__(self, key, days)
        if self.rebaseline_mri_months is not None and not 0 < self.rebaseline_mri_months <= 60:
            raise ValueError(
                f"rebaseline_mri_months must be in (0, 60]; got {self.rebaseline_mri_months}. "
                "Six months after AHSCT is usual."
            )
        if self.rebaseline_months is not None and not 0 < self.rebaseline_months <= 60:
            raise ValueError(
                f"rebaseline_months must be in (0, 60]; got {self.rebaseline_months}. Six "
                "months after the reinfusion is usual (HALT-MS: 12)."
            )
        for key in ("rebaseline_mri_months", "rebaseline_months"):
            if getattr(self, key) is not None and self.mri_every_months is None:
                raise ValueError(
                    f"{key} must come with mri_every_months; got no MRI schedule. Set "
                    "mri_every_months."
                )
        if not 1 <= self.edss_every_months <= 60:
            raise ValueError(f"edss_every_months must be in 1..60; got {self.edss_every_months}")
        if self.mri_every_months is not None and not 1 <= self.mri_every_months <= 120:
            raise ValueError(f"mri_every_months must be in 1..120; got {self.mri_every_months}")
        smallest = min(self.edss_every_months, self.mri_every_months or 120)
        if not 0 <= self.jitter_days < smallest * DAYS_PER_MONTH / 2 - 1:
            raise ValueError(
                "jitter_days must be >= 0 and below half the shortest interval; "
                f"got {self.jitter_days}"
            )
        if self.loss_to_follow_up_per_year < 0:
            raise ValueError(
                f"loss_to_follow_up_per_year must be >= 0; got {self.loss_to_follow_up_per_year}"
            )

    def edss_days(self, follow_up_years: float) -> np.ndarray:
        """Scheduled EDSS days (before jitter), with the extra visits."""
        return _with(
            _days(self.edss_every_months, follow_up_years), self.extra_edss_days, follow_up_years
        )

    def mri_days(self, follow_up_years: float, course_day: int = 0) -> np.ndarray:
        """Scheduled MRI days (before jitter), with the re-baseline and extra scans; empty
        without MRI. ``course_day``: the course's day 0 in days from enrolment (the
        reinfusion of a transplant), from which ``rebaseline_months`` counts."""
        if self.mri_every_months is None:
            return np.zeros(0, dtype=np.int64)
        extra = list(self.extra_mri_days)
        if self.rebaseline_mri_months is not None:
            extra.append(round(self.rebaseline_mri_months * DAYS_PER_MONTH))
        regular = _days(self.mri_every_months, follow_up_years)
        reference = self.reference_mri_day(course_day)
        if reference is not None:
            end = np.floor(follow_up_years * 365.25)
            if reference > end:
                regular = regular[:1]
            else:
                after = reference + _days(self.mri_every_months, (end - reference) / 365.25)
                regular = np.concatenate([regular[:1], after[after > 0]])
        return _with(regular, extra, follow_up_years)

    def reference_mri_day(self, course_day: int = 0) -> int | None:
        """Day (from enrolment, before jitter) of the re-baseline scan that is the new
        reference for new T2 lesions; ``None`` without ``rebaseline_months``."""
        if self.rebaseline_months is None:
            return None
        return int(course_day) + round(self.rebaseline_months * DAYS_PER_MONTH)

    def last_day(self, follow_up_years: float, course_day: int = 0) -> int:
        """The last scheduled assessment day (EDSS or MRI, before jitter)."""
        days = np.concatenate(
            [self.edss_days(follow_up_years), self.mri_days(follow_up_years, course_day)]
        )
        return int(days.max())

    def to_dict(self) -> dict[str, object]:
        """The fields as a dict (``lab_months`` and ``missed_visit_share`` only when set, so
        that schedules without them keep their earlier form)."""
        out = asdict(self)
        if out["lab_months"] is None:
            del out["lab_months"]
        if out["missed_visit_share"] == 0:
            del out["missed_visit_share"]
        return out


def _days(every_months: int, follow_up_years: float) -> np.ndarray:
    """Visit days every ``every_months`` months, rounded to whole days, up to the end of
    follow-up. A visit due at the very end (36 months of 30.4375 days is day 1095.75, the
    end of 3 years) is kept on the last whole day of follow-up rather than rounded past it
    and lost."""
    end = follow_up_years * 365.25
    n = int(np.floor(end / (every_months * DAYS_PER_MONTH) + 1e-9)) + 1
    days = np.round(np.arange(n) * every_months * DAYS_PER_MONTH).astype(np.int64)
    kept: np.ndarray = np.minimum(days, np.int64(np.floor(end)))
    return kept


def _with(days: np.ndarray, extra: Sequence[int], follow_up_years: float) -> np.ndarray:
    """Scheduled days with extra ones, sorted and distinct, within follow-up."""
    if not extra:
        return days
    added = np.asarray(extra, dtype=np.int64)
    added = added[added <= np.floor(follow_up_years * 365.25)]
    merged: np.ndarray = np.unique(np.concatenate([days, added]))
    return merged
