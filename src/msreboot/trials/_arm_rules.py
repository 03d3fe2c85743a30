"""Rules of an arm beyond its randomised course: a switch on failure (a DMT sequence, or a
crossover or rescue transplant), written ``switch = {...}`` in an ``[[arm]]`` table.

The arm's patients stay in the arm whatever they receive later: every endpoint is analysed
by randomised arm (intention to treat), as MIST was.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from msreboot.simulate import AHSCTCourse, DMTCourse, FailureKind, SwitchRule

if TYPE_CHECKING:
    from msreboot.trials._spec import ArmSpec

__all__ = ["SwitchSpec", "switch_of_arm", "switch_rule"]


class SwitchSpec(BaseModel):
    """``switch = {on = "edss_worsening", after_days = 365, protocol = "mist_ahsct"}``.

    A second course on failure of the arm's course (once per patient), as
    :class:`msreboot.simulate.SwitchRule`: ``on`` is what counts as failure
    (``"relapse"``, ``"edss_worsening"`` or ``"relapse_or_edss_worsening"``), after at
    least ``after_days`` on the first course (default 365: MIST's crossover after at least
    1 year of DMT, Burt 2018 interim report and Burt 2019); an EDSS worsening is at least
    ``edss_increase`` points (default 1.0, MIST) above the enrolment score, confirmed at a
    visit ``confirm_days`` (default 168, 24 weeks: assumed for MIST's "6 months apart")
    later. The second course is a ``protocol`` (bundled or in the arm's
    ``protocols_file``; one course) or an explicit ``treatment`` table (``kind = "dmt"``
    or ``"ahsct"``), with ``overrides`` set on it as an arm's ``overrides`` are on the
    arm's course (e.g. ``overrides = {transplant_year = 2011}``: the arm's own overrides
    are not applied to the second course, which is often of another kind). The arm's own
    course must be a DMT (or none).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    on: FailureKind
    after_days: int = Field(365, ge=0, le=36_525)
    confirm_days: int = Field(168, ge=0, le=3_653)
    edss_increase: float = Field(1.0, gt=0, le=9.5)
    protocol: str | None = None
    treatment: dict[str, Any] | None = None
    overrides: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_course(self) -> SwitchSpec:
        if (self.protocol is None) == (self.treatment is None):
            raise ValueError(
                "switch must have one of protocol or treatment (the course given on "
                f"failure); got {'both' if self.protocol else 'neither'}. Keep one, e.g. "
                'protocol = "mist_ahsct" or treatment = {kind = "dmt", drug = "ocrelizumab"}.'
            )
        return self


def switch_rule(switch: SwitchSpec, arm: str, protocols_file: str | None = None) -> SwitchRule:
    """The :class:`SwitchRule` of an arm's ``switch`` table.

    Raises
    ------
    ValueError
        A protocol with several courses (a switch gives one), a course that is neither a
        DMT nor a transplant, or an invalid course field; the message names the arm.
    """
    from msreboot.trials._arm_courses import course_of, protocol_rows

    where = f"arm {arm!r}: switch"
    if switch.treatment is not None:
        course = course_of(switch.treatment, arm, f"{where}.treatment")
    else:
        name = str(switch.protocol)
        try:
            rows = protocol_rows(name, protocols_file, arm)
        except ValueError as error:
            raise ValueError(f"{where}.protocol: {error}") from None
        if len(rows) != 1:
            raise ValueError(
                f"{where}.protocol must name a protocol with one course; got {name!r} with "
                f"{len(rows)} (a mixture). Give the course as treatment = {{...}}."
            )
        row = rows.iloc[0]
        course = course_of({str(k): v for k, v in row.items()}, name, f"{where}.protocol")
    if not isinstance(course, DMTCourse | AHSCTCourse):
        kind = getattr(course, "kind", "none")
        raise ValueError(
            f"{where}: the course given on failure must be a DMT or AHSCT; got {kind!r}."
        )
    if switch.overrides:
        try:
            course = replace(course, **switch.overrides)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{where}.overrides: {error}") from None
    try:
        return SwitchRule(
            switch.on,
            course,
            after_days=switch.after_days,
            confirm_days=switch.confirm_days,
            edss_increase=switch.edss_increase,
        )
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None


def switch_of_arm(arm: ArmSpec) -> SwitchRule | None:
    """The arm's switch rule, checked against its courses (``None`` without one)."""
    if arm.switch is None:
        return None
    rule = switch_rule(arm.switch, arm.name, arm.protocols_file)
    from msreboot.trials._arm_courses import treatments_of_arm

    for _, course in treatments_of_arm(arm):
        try:
            rule.check_first(course)
        except ValueError as error:
            raise ValueError(f"arm {arm.name!r}: switch: {error}") from None
    return rule
