"""A published headline figure a virtual trial is set beside: read from the evidence
dataset by its ``outcome_id`` (:func:`msreboot.evidence.published_outcome`), or given inline
in a trial spec's ``[[published]]`` table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from msreboot.evidence import published_outcome
from msreboot.trials._statistics import RATIO_STATISTICS, TIMED_STATISTICS, ArmStatistic

__all__ = ["PublishedValue"]

_STRICT = ConfigDict(frozen=True, extra="forbid")


class PublishedValue(BaseModel):
    """A published headline figure the trial is set beside.

    Either ``outcome_id``, an outcome of the evidence dataset
    (:func:`msreboot.evidence.published_outcome`), whose value, interval and time are read
    from there (``endpoint`` defaults to the outcome's ``endpoint_preset``); or, for a figure
    the dataset does not hold, ``endpoint``, ``time_years`` and ``value`` (and optionally the
    interval) given inline.

    Besides landmarks and hazard ratios, any statistic of :func:`msreboot.trials.arm_statistic`
    (relapse rate and rate ratio, transplant-related mortality, relapse proportion, mean
    EDSS and its change, shares improved / stable / worse, NEDA-3, Gd+ rate ratio) can be
    set beside the simulated arms; those need no ``endpoint``.

    Attributes
    ----------
    outcome_id
        The evidence outcome, or ``None`` for an inline value.
    statistic
        ``"landmark"`` (default): the endpoint's estimate at ``time_years``;
        ``"hazard_ratio"``: the arm's hazard ratio against the reference arm (no time);
        or another statistic of :data:`msreboot.trials.ARM_STATISTICS`.
    endpoint, time_years, arm
        The endpoint preset estimated in the trial (landmarks and hazard ratios), the
        year (landmarks and :data:`msreboot.trials.TIMED_STATISTICS`; optional for the
        relapse rate, whose person-time is then the whole follow-up) and the arm
        (required when the trial has several arms).
    window_days
        The window of ``transplant_mortality`` (default 100 days after reinfusion).
    n, subgroup
        The published figure's patients and subgroup, as labels for outputs (the
        simulated value is always of the whole arm).
    value, ci_low, ci_high, conf_level
        The published figure and its interval.
    complement
        Compare with one minus the evidence figure (a pooled progression rate set beside
        a progression-free survival estimate); only with ``outcome_id``.
    source
        A label for outputs (default: the outcome id).
    """

    model_config = _STRICT

    outcome_id: str | None = None
    statistic: Literal["landmark"] | ArmStatistic = "landmark"
    endpoint: str | None = None
    time_years: float | None = Field(None, gt=0)
    window_days: int | None = Field(None, gt=0)
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    conf_level: float | None = None
    arm: str | None = None
    complement: bool = False
    source: str = ""
    n: int | None = Field(None, ge=1)
    subgroup: str = ""

    @model_validator(mode="after")
    def _time_for_landmarks(self) -> PublishedValue:
        if self.statistic == "landmark" and self.time_years is None:
            raise ValueError(
                "time_years: is required; got nothing. A landmark needs its year (or set "
                'statistic = "hazard_ratio").'
            )
        if self.statistic in TIMED_STATISTICS and self.time_years is None:
            raise ValueError(
                f"time_years: is required for statistic {self.statistic!r}; got nothing. "
                "Give the year the figure was read at."
            )
        if self.statistic in ("landmark", "hazard_ratio") and self.endpoint is None:
            raise ValueError(
                f"endpoint: is required for statistic {self.statistic!r}; got nothing. Name "
                "one of the trial's analysis.endpoints."
            )
        if self.statistic in RATIO_STATISTICS and not self.value > 0:
            raise ValueError(f"value must be a ratio > 0 for {self.statistic}; got {self.value}.")
        if self.window_days is not None and self.statistic != "transplant_mortality":
            raise ValueError(
                f"window_days must be left out for statistic {self.statistic!r}; got "
                f"{self.window_days}. It is the window of transplant_mortality only."
            )
        return self

    @model_validator(mode="before")
    @classmethod
    def _from_evidence(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        if data.get("outcome_id") is None:
            if data.get("complement"):
                raise ValueError("complement needs an outcome_id (an evidence outcome)")
            return data
        row = published_outcome(str(data["outcome_id"]))
        if row.status == "unsourced":
            raise ValueError(
                f"outcome_id must name a sourced evidence outcome; got {row.outcome_id}, "
                "whose status is unsourced. Give the figure inline with its source instead."
            )
        numbers: dict[str, Any] = {
            "time_years": row.timepoint_years,
            "value": row.estimate,
            "ci_low": row.ci_low,
            "ci_high": row.ci_high,
            "conf_level": row.ci_level if row.ci_low is not None else None,
        }
        if data.get("complement"):
            numbers["value"] = _complement(row.estimate)
            if row.ci_low is not None and row.ci_high is not None:
                numbers["ci_low"] = _complement(row.ci_high)
                numbers["ci_high"] = _complement(row.ci_low)
        statistic = data.get("statistic", "landmark")
        if numbers["time_years"] is None and (
            statistic == "landmark" or statistic in TIMED_STATISTICS
        ):
            raise ValueError(f"evidence outcome {row.outcome_id} has no timepoint to compare at")
        filled = dict(data)
        for key, held in numbers.items():
            given = filled.get(key)
            if given is not None and (held is None or not math.isclose(given, held)):
                raise ValueError(
                    f"{key} must be the evidence outcome's ({held}); got {given}. Leave it "
                    f"out: it is read from {row.outcome_id}."
                )
            filled[key] = held
        if filled.get("endpoint") is None and statistic in ("landmark", "hazard_ratio"):
            if row.endpoint_preset is None:
                raise ValueError(
                    f"endpoint must be given; got none, and evidence outcome {row.outcome_id} "
                    "names no endpoint_preset. Name the preset to estimate."
                )
            filled["endpoint"] = row.endpoint_preset
        filled.setdefault("source", row.outcome_id)
        return filled


def _complement(value: float) -> float:
    """``1 - value`` without binary noise in the digits published (1 - 0.171 is 0.829)."""
    return round(1.0 - value, 12)
