"""When virtual patients are seen: EDSS visits and MRI scans after enrolment."""

from __future__ import annotations

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

    def __post_init__(self) -> None:
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
        """Scheduled EDSS days (before jitter)."""
        return _days(self.edss_every_months, follow_up_years)

    def mri_days(self, follow_up_years: float) -> np.ndarray:
        """Scheduled MRI days (before jitter); empty without MRI."""
        if self.mri_every_months is None:
            return np.zeros(0, dtype=np.int64)
        return _days(self.mri_every_months, follow_up_years)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _days(every_months: int, follow_up_years: float) -> np.ndarray:
    end = follow_up_years * 365.25
    n = int(np.floor(end / (every_months * DAYS_PER_MONTH) + 1e-9)) + 1
    days = np.round(np.arange(n) * every_months * DAYS_PER_MONTH).astype(np.int64)
    kept: np.ndarray = days[days <= np.floor(end)]
    return kept
