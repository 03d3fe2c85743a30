"""A second course on failure of the first: DMT sequences and crossover or rescue rules.

:class:`SwitchRule` says what counts as failure of the randomised course and what the
patient receives then. The compiled kernel tests the rule at every recorded relapse and
EDSS visit (:mod:`msreboot.simulate._kernel_switch`) and starts the second course once, so
the treatments table shows it as a second row with its own dates, and the patient stays in
the arm they were randomised to (an intention-to-treat analysis, as MIST's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from msreboot.simulate._kernel_switch import (
    N_SW,
    ON_EDSS,
    ON_RELAPSE,
    SW_AFTER,
    SW_CONFIRM,
    SW_INCREASE,
    SW_ON,
)
from msreboot.simulate._treatment import AHSCTCourse, DMTCourse, Treatment, treatment_dict

__all__ = ["FailureKind", "SwitchRule"]

FailureKind = Literal["relapse", "edss_worsening", "relapse_or_edss_worsening"]
FAILURE_KINDS: tuple[FailureKind, ...] = get_args(FailureKind)
_BITS = {"relapse": ON_RELAPSE, "edss_worsening": ON_EDSS}


@dataclass(frozen=True)
class SwitchRule:
    """Switch to ``treatment`` when the first course fails (once per patient).

    Attributes
    ----------
    on
        What counts as failure: ``"relapse"`` (a recorded relapse), ``"edss_worsening"``
        (a confirmed EDSS worsening) or ``"relapse_or_edss_worsening"`` (whichever comes
        first). Only events while the patient is observed count (a clinician acts on what
        is recorded).
    treatment
        The course given on failure: a :class:`DMTCourse` (a DMT sequence; its
        ``start_day`` counts from the failure: the time to switch, 0 by default, assumed)
        or an :class:`AHSCTCourse` (a crossover or rescue transplant; mobilisation
        ``enrolment_to_mobilisation_days`` after the failure, as after randomisation:
        assumed).
    after_days
        Minimum days on the first course before a failure counts (an EDSS worsening must
        begin after it). Default 365: MIST allowed patients on DMT "who failed after at
        least 1 year of treatment" to cross over (Burt et al., Neurology
        2018;90(15 Suppl):S36.004, the interim report), and its primary end point counts
        EDSS increases after at least 1 year (Burt et al., JAMA 2019;321:165-74).
    confirm_days
        An EDSS worsening counts when a visit at least this many days after the first
        worsened visit is still worsened, with no visit in between below it. Default 168
        (24 weeks, the usual minimum of a "6-month" confirmation; MIST: "2 evaluations 6
        months apart", so the shortest gap between 6-monthly visits with jitter is
        assumed to qualify).
    edss_increase
        Points above the first recorded EDSS (enrolment) that make a visit worsened.
        Default 1.0 (MIST's primary end point).

    Notes
    -----
    The first course must be a DMT or none (natural history); it stops when a second DMT
    starts, or at the transplant's mobilisation (assumed: MIST's protocol on the DMT
    during crossover not read). The second course draws from the patient's transplant
    stream, so a patient who never fails has exactly the course they have without the
    rule. The failure is tested on monthly steps: the second course acts from the month
    after the failure. A switch transplant's immune-reconstitution labs are not written.

    Examples
    --------
    >>> rule = SwitchRule("edss_worsening", AHSCTCourse("cy200_atg"))
    >>> rule.after_days, rule.confirm_days, rule.edss_increase
    (365, 168, 1.0)
    """

    on: FailureKind
    treatment: DMTCourse | AHSCTCourse
    after_days: int = 365
    confirm_days: int = 168
    edss_increase: float = 1.0

    def __post_init__(self) -> None:
        if self.on not in FAILURE_KINDS:
            raise ValueError(f"on must be one of {', '.join(FAILURE_KINDS)}; got {self.on!r}")
        if not isinstance(self.treatment, DMTCourse | AHSCTCourse):
            kind = getattr(self.treatment, "kind", type(self.treatment).__name__)
            raise ValueError(
                f"treatment must be a DMT or AHSCT course; got {kind!r}. A switch gives a "
                "DMT (a sequence) or a transplant (a crossover or rescue)."
            )
        if not 0 <= self.after_days <= 36_525:
            raise ValueError(f"after_days must be in 0..36525; got {self.after_days}")
        if not 0 <= self.confirm_days <= 3_653:
            raise ValueError(f"confirm_days must be in 0..3653; got {self.confirm_days}")
        if not 0 < self.edss_increase <= 9.5:
            raise ValueError(f"edss_increase must be in (0, 9.5]; got {self.edss_increase}")

    def check_first(self, first: Treatment) -> None:
        """Raise unless ``first`` can be switched from (a DMT, or none)."""
        if first is not None and not isinstance(first, DMTCourse):
            raise ValueError(
                f"a switch rule needs a DMT (or no treatment) as the first course; got "
                f"{first.kind!r}. A switch after a transplant or MSC is not modelled."
            )

    def vector(self) -> np.ndarray:
        """The rule as the float vector the compiled kernel reads."""
        v = np.zeros(N_SW)
        v[SW_ON] = sum(bit for name, bit in _BITS.items() if name in self.on)
        v[SW_AFTER] = self.after_days
        v[SW_CONFIRM] = self.confirm_days
        v[SW_INCREASE] = self.edss_increase
        return v

    def to_dict(self) -> dict[str, object]:
        """Plain values (for metadata)."""
        return {
            "on": self.on,
            "after_days": self.after_days,
            "confirm_days": self.confirm_days,
            "edss_increase": self.edss_increase,
            "treatment": treatment_dict(self.treatment),
        }


def no_switch() -> np.ndarray:
    """The kernel's vector without a switch rule."""
    return np.zeros(N_SW)
