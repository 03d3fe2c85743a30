"""Calibration targets: published figures, how to compute each from a simulated study,
and how far a simulated value is from the published one given its uncertainty.

A target names the bundled virtual study it belongs to (a :class:`TrialSpec` preset, so
each figure is simulated with that study's own population, protocol, visit schedule,
follow-up and time zero), a *statistic* and the published value with its interval, or
the counts it came from. The statistics:

``landmark``
    An endpoint preset's Kaplan-Meier (or cumulative-incidence) estimate at a landmark,
    for an arm, optionally in a phenotype subgroup; ``complement`` reports ``1 - S``.
Every other statistic (hazard ratio, transplant-related mortality, relapse proportion and
rate, rate ratios, mean EDSS and its change, shares improved / stable / worse, NEDA-3) is
computed by :func:`msreboot.trials.arm_statistic`, the same code that sets a trial spec's
``[[published]]`` values beside the simulated ones; its module documents each.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from scipy import stats

from msreboot.calibration._smc import read_tables
from msreboot.data import Cohort, describe_validation_errors
from msreboot.endpoints import (
    EndpointDefinition,
    endpoint_times,
    estimates_by_group,
)
from msreboot.evidence import published_outcome
from msreboot.trials import (
    RATIO_STATISTICS,
    TIMED_STATISTICS,
    ArmStatistic,
    TrialSpec,
    arm_statistic,
    time_zero,
)

__all__ = ["CalibrationTarget", "load_targets", "study_statistics"]

Statistic = Literal["landmark"] | ArmStatistic
_NEEDS_ENDPOINT = frozenset({"landmark", "hazard_ratio"})
_NEEDS_TIME = TIMED_STATISTICS | {"landmark"}
Z_CAP = 10.0
"""A simulated value that is missing (no patient at risk, no event to form a ratio) or
more than this many published standard errors away counts as this far."""


class CalibrationTarget(BaseModel):
    """One published figure to reproduce.

    Attributes
    ----------
    id
        Unique name (``halt_ms_efs_5y``).
    study
        The bundled virtual study (:meth:`TrialSpec.presets`).
    statistic, endpoint, arm, time_years, phenotypes, complement, window_days
        What to compute (see the module documentation); ``arm`` defaults to the study's
        first arm.
    value, ci_low, ci_high, conf_level
        The published figure and its interval, as published.
    events, n
        The counts behind a proportion, or the patients behind a survival estimate: the
        binomial standard error from ``n`` stands in for a missing interval.
    sd
        For ``mean_edss``: the between-patient SD behind the standard error ``sd/sqrt(n)``.
    outcome_id
        The evidence outcome (:func:`msreboot.evidence.published_outcome`) the figure is:
        ``value``, the interval and its level, ``events`` and ``n`` are read from it, and
        ``endpoint`` and ``time_years`` default to its ``endpoint_preset`` and timepoint.
        A target may add what the outcome does not hold (an ``n`` or ``sd`` assumed, a
        different comparison time), saying why in ``note``; a number the outcome holds
        cannot be given differently. Without ``outcome_id`` every number is given inline.
    source, note
        Where the figure comes from (default: the outcome id), and what was assumed to
        use it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    outcome_id: str | None = None
    study: str
    statistic: Statistic
    endpoint: str | None = None
    arm: str | None = None
    time_years: float | None = Field(None, gt=0)
    phenotypes: tuple[str, ...] = ()
    complement: bool = False
    window_days: int | None = Field(None, gt=0)
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    conf_level: float = Field(0.95, gt=0, lt=1)
    events: int | None = Field(None, ge=0)
    n: int | None = Field(None, ge=1)
    sd: float | None = Field(None, gt=0)
    source: str = ""
    note: str = ""

    @model_validator(mode="before")
    @classmethod
    def _from_evidence(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or data.get("outcome_id") is None:
            return data
        row = published_outcome(str(data["outcome_id"]))
        if row.status == "unsourced":
            raise ValueError(
                f"outcome_id must name a sourced evidence outcome; got {row.outcome_id}, "
                "whose status is unsourced. Source the row first, or give the figure inline "
                "with its source."
            )
        filled = dict(data)
        held: dict[str, Any] = {
            "value": row.estimate,
            "ci_low": row.ci_low,
            "ci_high": row.ci_high,
            "events": row.events,
            "n": row.n,
        }
        if row.ci_low is not None and row.ci_level is not None:
            held["conf_level"] = row.ci_level
        for key, number in held.items():
            given = filled.get(key)
            if number is None:
                continue  # not in the evidence: the target may give it (an assumption)
            if given is not None and not math.isclose(float(given), float(number)):
                raise ValueError(
                    f"{key} must be the evidence outcome's ({number}); got {given}. Leave it "
                    f"out: it is read from {row.outcome_id}."
                )
            filled[key] = number
        statistic = filled.get("statistic")
        if filled.get("endpoint") is None and statistic in _NEEDS_ENDPOINT:
            filled["endpoint"] = row.endpoint_preset
        if filled.get("time_years") is None and statistic in _NEEDS_TIME:
            filled["time_years"] = row.timepoint_years
        filled.setdefault("source", row.outcome_id)
        return filled

    @model_validator(mode="after")
    def _complete(self) -> CalibrationTarget:
        if self.statistic in _NEEDS_ENDPOINT and self.endpoint is None:
            raise ValueError(f"statistic {self.statistic!r} needs an endpoint")
        if self.statistic in _NEEDS_TIME and self.time_years is None:
            raise ValueError(f"statistic {self.statistic!r} needs time_years")
        if (self.ci_low is None) != (self.ci_high is None):
            raise ValueError("give both ci_low and ci_high, or neither")
        if self.ci_low is None and self.n is None:
            raise ValueError("give the published interval or the n behind the figure")
        if self.statistic == "mean_edss" and (self.sd is None or self.n is None):
            raise ValueError("mean_edss needs sd and n")
        if self.statistic in RATIO_STATISTICS and self.value <= 0:
            raise ValueError("a ratio target must be positive")
        return self

    @property
    def scale(self) -> str:
        """``"ratio"`` (compared on the log scale), ``"edss"`` or ``"probability"``."""
        if self.statistic in RATIO_STATISTICS:
            return "ratio"
        return "edss" if self.statistic == "mean_edss" else "probability"

    def standard_errors(self) -> tuple[float, float]:
        """Published standard error below and above the value (on the comparison scale:
        log for ratios). From the interval's two halves when one is given (so an
        asymmetric interval stays asymmetric), else binomial from ``n``, else ``sd/sqrt(n)``."""
        if self.ci_low is not None and self.ci_high is not None:
            z = float(stats.norm.ppf(0.5 + self.conf_level / 2))
            low, mid, high = self.ci_low, self.value, self.ci_high
            if self.scale == "ratio":
                low, mid, high = math.log(low), math.log(mid), math.log(high)
            return max((mid - low) / z, 1e-9), max((high - mid) / z, 1e-9)
        assert self.n is not None
        if self.statistic == "mean_edss":
            assert self.sd is not None
            se = self.sd / math.sqrt(self.n)
            return se, se
        events = self.events if self.events is not None else self.value * self.n
        p = (events + 0.5) / (self.n + 1)  # keeps 0/n and n/n away from a zero SE
        se = math.sqrt(p * (1 - p) / self.n)
        return se, se

    def z(self, simulated: float) -> float:
        """Signed distance of a simulated value from the published one, in published
        standard errors (capped at :data:`Z_CAP`; a missing value counts as the cap)."""
        if not np.isfinite(simulated) or (self.scale == "ratio" and simulated <= 0):
            return Z_CAP
        below, above = self.standard_errors()
        mid, sim = self.value, simulated
        if self.scale == "ratio":
            mid, sim = math.log(mid), math.log(sim)
        z = (sim - mid) / (above if sim >= mid else below)
        return float(np.clip(z, -Z_CAP, Z_CAP))

    def interval(self) -> tuple[float, float]:
        """The published interval, or the binomial/normal 95% interval standing in for it."""
        if self.ci_low is not None and self.ci_high is not None:
            return self.ci_low, self.ci_high
        below, above = self.standard_errors()
        z = float(stats.norm.ppf(0.975))
        if self.scale == "probability":
            return max(0.0, self.value - z * below), min(1.0, self.value + z * above)
        return self.value - z * below, self.value + z * above

    def label(self) -> str:
        """A short human-readable name (``HALT-MS EFS 5 y``)."""
        what = self.endpoint or self.statistic.replace("_", " ")
        if self.statistic == "hazard_ratio":
            what = f"HR {what}"
        elif self.complement:
            what = f"1 - {what}"
        parts = [what]
        if self.arm:
            parts.append(f"[{self.arm}]")
        if self.phenotypes:
            parts.append("/".join(self.phenotypes))
        if self.time_years is not None:
            parts.append(f"{self.time_years:g} y")
        return " ".join(parts)


def load_targets(path: str | Path | None = None) -> tuple[CalibrationTarget, ...]:
    """Read calibration targets from a TOML file of ``[[target]]`` tables (default: the
    bundled targets taken from the evidence dataset).

    Raises
    ------
    ValueError
        Naming the file, the target and the field, for an invalid entry, an unknown study
        or a repeated id.
    """
    label, entries = read_tables(path, "targets.toml", "target")
    studies = set(TrialSpec.presets())
    targets: list[CalibrationTarget] = []
    for k, entry in enumerate(entries, start=1):
        name = entry.get("id", f"#{k}")
        try:
            target = CalibrationTarget.model_validate(entry)
        except ValidationError as error:
            problems = describe_validation_errors(error, "entry")
            raise ValueError(f"{label}: target {name}: {problems}") from None
        if target.study not in studies:
            raise ValueError(
                f"{label}: target {name}: study must be one of {sorted(studies)}; "
                f"got {target.study!r}"
            )
        targets.append(target)
    ids = [t.id for t in targets]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"{label}: target ids must be unique; repeated: {repeated}")
    if not targets:
        raise ValueError(f"{label}: no [[target]] tables")
    return tuple(targets)


@cache
def study_spec(name: str) -> TrialSpec:
    """The bundled study spec (read once per process)."""
    return TrialSpec.preset(name)


def _labels(target: CalibrationTarget, spec: TrialSpec, cohort: Cohort, arms: pd.Series) -> Any:
    arm = target.arm or spec.arms[0].name
    keep = arms == arm
    if target.phenotypes:
        phenotype = cohort.patients.set_index("patient_id")["phenotype"].reindex(arms.index)
        keep &= phenotype.isin(target.phenotypes).to_numpy()
    return keep


def study_statistics(
    spec: TrialSpec, cohort: Cohort, arms: pd.Series, targets: Sequence[CalibrationTarget]
) -> dict[str, float]:
    """Every target's statistic in one simulated replicate of its study, by target id.

    Endpoint times are computed once per endpoint and shared by all targets using it.
    """
    out: dict[str, float] = {}
    anchor = time_zero(spec, arms)
    presets = dict(EndpointDefinition.presets())
    by_endpoint: dict[str, list[CalibrationTarget]] = {}
    for target in targets:
        if target.statistic == "landmark":
            by_endpoint.setdefault(str(target.endpoint), []).append(target)
    for endpoint, group in by_endpoint.items():
        times = endpoint_times(cohort, presets[endpoint], anchor=anchor)
        for target in group:
            keep = _labels(target, spec, cohort, arms)
            labels = pd.Series(["in" if k else None for k in keep], index=arms.index, dtype=object)
            estimates = estimates_by_group(
                times, labels, np.array([float(target.time_years or 0.0)])
            )
            value = float("nan")
            if "in" in estimates:
                value = float(estimates["in"].landmarks["estimate"].iloc[0])
            out[target.id] = 1.0 - value if target.complement else value
    reference = spec.analysis.reference_arm or spec.arms[0].name
    for target in targets:
        if target.id in out:
            continue
        out[target.id] = _statistic(target, spec, cohort, arms, anchor, reference)
    return out


def _statistic(
    target: CalibrationTarget,
    spec: TrialSpec,
    cohort: Cohort,
    arms: pd.Series,
    anchor: str | pd.DataFrame,
    reference: str,
) -> float:
    endpoint = None
    if target.statistic == "hazard_ratio":
        endpoint = dict(EndpointDefinition.presets())[str(target.endpoint)]
    return arm_statistic(
        target.statistic,
        cohort,
        arms,
        arm=target.arm or spec.arms[0].name,
        reference=reference,
        anchor=anchor,
        time_years=target.time_years,
        endpoint=endpoint,
        ids=arms.index[_labels(target, spec, cohort, arms)],
        window_days=target.window_days,
    )


def targets_by_study(
    targets: Iterable[CalibrationTarget],
) -> Mapping[str, list[CalibrationTarget]]:
    """Targets grouped by study, in first-appearance order."""
    out: dict[str, list[CalibrationTarget]] = {}
    for target in targets:
        out.setdefault(target.study, []).append(target)
    return out
