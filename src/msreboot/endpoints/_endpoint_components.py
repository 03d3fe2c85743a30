"""The components of a composite endpoint (relapses, confirmed disability events, MRI
activity), each with the day from which it counts, and the thresholds an endpoint file can
name. :class:`~msreboot.endpoints._definitions.EndpointDefinition` lists them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, InstanceOf, field_validator

from msreboot.endpoints._disability_measures import measure_label
from msreboot.endpoints._disability_rules import DisabilityDefinition, ThresholdRule
from msreboot.endpoints._disability_settings import definition_from_settings

__all__ = [
    "FLAT_1",
    "THRESHOLD_PRESETS",
    "Component",
    "DisabilityComponent",
    "MRIComponent",
    "RelapseComponent",
]

FLAT_1 = ThresholdRule("increase >= 1.0", ((math.inf, 1.0),))

# Thresholds named in endpoint files (``threshold = "kappos_2020"``): the published ones
# (``ThresholdRule.presets()``) and a flat +1.0.
THRESHOLD_PRESETS: dict[str, Callable[[], ThresholdRule]] = {
    **{name: getattr(ThresholdRule, name) for name in ThresholdRule.presets()},
    "flat_1": lambda: FLAT_1,
}


class _Component(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    from_days: float = Field(0.0, ge=0)
    """Assessments earlier than this many days after time zero are not used (re-baseline)."""


class RelapseComponent(_Component):
    """A relapse whose onset is on or after ``from_days`` (time zero counts).

    ``min_duration_days``: relapses whose recorded end lies fewer days after the onset are
    not events (HALT-MS: symptoms lasting more than 48 hours); relapses without an end date
    count.
    """

    kind: Literal["relapse"] = "relapse"
    min_duration_days: float = Field(0.0, ge=0)

    def describe(self) -> str:
        text = "a relapse"
        if self.min_duration_days:
            text += f" lasting at least {self.min_duration_days:g} days (when the end is known)"
        return text + _from(self.from_days)


class DisabilityComponent(_Component):
    """The first confirmed disability event of one type under a disability definition.

    The baseline is the last EDSS on or before time zero. EDSS visits after time zero but
    before ``from_days`` are left out, so an event is first seen at or after that day
    (MIST: progression assessed from 1 year).
    """

    kind: Literal["disability"] = "disability"
    definition: InstanceOf[DisabilityDefinition] = Field(default_factory=DisabilityDefinition)
    event: Literal["cdw", "cdi", "pira", "raw"] = "cdw"

    @field_validator("definition", mode="before")
    @classmethod
    def _named(cls, value: Any) -> Any:
        return _disability_definition(value)

    def engine_definition(self) -> DisabilityDefinition:
        """The definition run for this component: its first event of the chosen type."""
        return self.definition.with_(event=f"first_{self.event}")

    def describe(self) -> str:
        what = {
            "cdw": "confirmed disability worsening",
            "cdi": "confirmed disability improvement",
            "pira": "PIRA",
            "raw": "RAW",
        }[self.event]
        d = self.definition
        on = "" if d.measure == "edss" else f" of the {measure_label(d.measure, d.hand)}"
        return f"{what}{on} ({d.name} rules){_from(self.from_days)}"


class MRIComponent(_Component):
    """A scan with MRI activity: at least ``min_gd`` Gd+ lesions or ``min_new_t2`` new or
    enlarging T2 lesions (``None``: that count is not used), on a scan of ``regions`` taken
    on or after ``from_days``. Scans whose used counts are all missing are not assessments.
    """

    kind: Literal["mri"] = "mri"
    min_gd: int | None = Field(1, ge=1)
    min_new_t2: int | None = Field(1, ge=1)
    regions: tuple[Literal["brain", "spine", "brain_and_spine"], ...] = ("brain", "brain_and_spine")

    @field_validator("min_new_t2")
    @classmethod
    def _some_count(cls, value: int | None, info: Any) -> int | None:
        if value is None and info.data.get("min_gd") is None:
            raise ValueError("min_gd and min_new_t2 cannot both be None; set at least one.")
        return value

    def describe(self) -> str:
        parts = []
        if self.min_gd is not None:
            parts.append(f">= {self.min_gd} Gd+ lesion{'s' * (self.min_gd > 1)}")
        if self.min_new_t2 is not None:
            parts.append(
                f">= {self.min_new_t2} new or enlarging T2 lesion{'s' * (self.min_new_t2 > 1)}"
            )
        return f"MRI activity ({' or '.join(parts)} on one scan){_from(self.from_days)}"


Component = Annotated[
    RelapseComponent | DisabilityComponent | MRIComponent, Field(discriminator="kind")
]


def _from(days: float) -> str:
    return f", counted from day {days:g}" if days else ""


def _disability_definition(value: Any) -> Any:
    """A disability definition from a preset name or a table of preset + overrides."""
    if isinstance(value, str):
        value = {"preset": value}
    if not isinstance(value, Mapping):
        return value
    return definition_from_settings(value, THRESHOLD_PRESETS)
