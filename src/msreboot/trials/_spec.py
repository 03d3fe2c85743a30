"""The trial spec: a TOML file naming the population, the arms (protocol presets of
:mod:`msreboot.protocols` or explicit courses), the visit schedule, follow-up, endpoints,
number of replicates and seed, validated into a :class:`TrialSpec`; and the courses each
arm's patients receive.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields as dataclass_fields
from dataclasses import replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from msreboot.data import describe_validation_errors, read_toml
from msreboot.endpoints import EndpointDefinition, load_endpoint_definitions
from msreboot.simulate import (
    DEFAULT_SET,
    AHSCTCourse,
    DMTCourse,
    MSCCourse,
    PopulationSpec,
    SimulationParameters,
    Treatment,
    VisitSchedule,
)
from msreboot.trials._published import PublishedValue

__all__ = ["AnalysisSpec", "ArmSpec", "TrialSpec", "load_trial_spec", "treatments_of_arm"]

_STRICT = ConfigDict(frozen=True, extra="forbid")


class ArmSpec(BaseModel):
    """One arm: a name, its size, and a protocol preset or an explicit course."""

    model_config = _STRICT

    name: str = Field(pattern=r"^[A-Za-z0-9_]+$")
    n: int = Field(ge=1, le=1_000_000)
    protocol: str | None = None
    treatment: dict[str, Any] | None = None
    overrides: dict[str, Any] = Field(default_factory=dict)
    """Course fields set on every course of the arm (``transplant_year = 2000``)."""

    @model_validator(mode="after")
    def _one_way(self) -> ArmSpec:
        if self.protocol is not None and self.treatment is not None:
            raise ValueError("give a protocol or a treatment, not both")
        treatments_of_arm(self)  # fail at load time, with the arm's name
        return self


class AnalysisSpec(BaseModel):
    """Endpoints, landmarks, time zero and the comparison."""

    model_config = _STRICT

    endpoints: tuple[str, ...] = ("relapse_free",)
    primary: str | None = None
    definitions_file: str | None = None
    times_years: tuple[float, ...] = (2.0, 3.0, 4.0, 5.0)
    anchor: Literal["ahsct", "enrolment"] = "enrolment"
    reference_arm: str | None = None
    alpha: float = Field(0.05, gt=0, lt=1)

    @field_validator("times_years")
    @classmethod
    def _landmarks(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        bad = [t for t in value if not (np.isfinite(t) and t >= 0)]
        if not value or bad:
            raise ValueError(
                "must be one or more landmark years, finite and >= 0; got "
                f"{list(value)!r}. Landmarks are years from time zero, e.g. [2, 3, 5]."
            )
        return value


class TrialSpec(BaseModel):
    """A virtual trial: who, which arms, what schedule, which endpoints, how many times.

    Attributes
    ----------
    name, title, citation
        Names for outputs, and the study being reproduced.
    seed, replicates
        Replicate ``r`` of arm ``a`` (sub-arm ``k`` of a protocol mixture) draws from
        ``SeedSequence(seed, spawn_key=(r, a, k))``: the same replicate gives the same
        patients whatever the number of replicates.
    follow_up_years
        Years from enrolment.
    population
        Keyword arguments of :meth:`PopulationSpec.matching` (published summaries and
        eligibility ranges) and any :class:`PopulationSpec` field.
    schedule
        :class:`VisitSchedule` fields (EDSS and MRI intervals, jitter, loss to follow-up).
    arms
        The arms (one for single-arm studies).
    analysis
        Endpoints (presets or names in ``definitions_file``), landmark years, time zero
        (``"enrolment"``: randomisation; ``"ahsct"``: each patient's reinfusion), the
        reference arm and the significance level for power.
    published
        Published values to compare with.
    parameters
        Name of the simulation parameter set (:meth:`SimulationParameters.preset`);
        default: the shipped calibrated set (``"default"`` gives the hand-set values).
    """

    model_config = _STRICT

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str = ""
    citation: str = ""
    seed: int = Field(ge=0)
    replicates: int = Field(1, ge=1, le=100_000)
    follow_up_years: float = Field(gt=0, le=60)
    population: dict[str, Any] = Field(default_factory=dict)
    schedule: dict[str, Any] = Field(default_factory=dict)
    arms: tuple[ArmSpec, ...] = Field(min_length=1)
    analysis: AnalysisSpec = Field(default_factory=AnalysisSpec)
    published: tuple[PublishedValue, ...] = ()
    parameters: str = DEFAULT_SET
    base_dir: str | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _consistent(self) -> TrialSpec:
        names = [a.name for a in self.arms]
        if len(set(names)) < len(names):
            raise ValueError(f"arm names must be unique; got {names}")
        ref = self.analysis.reference_arm
        if ref is not None and ref not in names:
            raise ValueError(f"analysis.reference_arm must be one of {names}; got {ref!r}")
        for key, build in (("population", self.population_spec), ("schedule", self.visit_schedule)):
            try:
                build()
            except (TypeError, AttributeError) as error:  # a list for a number, and so on
                raise ValueError(f"{key}: a value has the wrong type ({error})") from None
        SimulationParameters.preset(self.parameters)
        definitions = self.definitions()
        primary = self.analysis.primary
        if primary is not None and primary not in definitions:
            raise ValueError(f"analysis.primary must be one of the endpoints; got {primary!r}")
        return self

    def population_spec(self) -> PopulationSpec:
        """The :class:`PopulationSpec` of the trial (matched once per distinct population
        and process: matching solves for the distributions' locations)."""
        return _matched_population(json.dumps(self.population, sort_keys=True))

    def visit_schedule(self) -> VisitSchedule:
        return VisitSchedule(**self.schedule)

    def definitions(self) -> dict[str, EndpointDefinition]:
        """The endpoint definitions, by name, in the order of ``analysis.endpoints``."""
        available: dict[str, EndpointDefinition] = dict(EndpointDefinition.presets())
        if self.analysis.definitions_file is not None:
            path = Path(self.analysis.definitions_file)
            if not path.is_absolute() and self.base_dir is not None:
                path = Path(self.base_dir) / path
            available.update(load_endpoint_definitions(path))
        unknown = [e for e in self.analysis.endpoints if e not in available]
        if unknown:
            raise ValueError(f"analysis.endpoints: unknown endpoint(s) {unknown}")
        return {e: available[e] for e in self.analysis.endpoints}

    def with_(self, **changes: Any) -> TrialSpec:
        """A copy with some fields changed (``spec.with_(replicates=100)``)."""
        return type(self).model_validate({**dict(self), **changes})

    def scaled(self, n_per_arm: int) -> TrialSpec:
        """The same trial with ``n_per_arm`` patients in every arm."""
        arms = tuple(a.model_copy(update={"n": n_per_arm}) for a in self.arms)
        return self.with_(arms=arms)

    @classmethod
    def presets(cls) -> list[str]:
        """Names of the bundled study specs (``TrialSpec.preset(name)``)."""
        folder = resources.files("msreboot.trials") / "data"
        return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))

    @classmethod
    def preset(cls, name: str) -> TrialSpec:
        """A bundled virtual version of a published study (``"halt_ms"``, ``"mist_2019"``)."""
        names = cls.presets()
        if name not in names:
            raise ValueError(f"trial preset must be one of {', '.join(names)}; got {name!r}.")
        folder = resources.files("msreboot.trials") / "data"
        return load_trial_spec(Path(str(folder / f"{name}.toml")))


@lru_cache(maxsize=64)
def _matched_population(population_json: str) -> PopulationSpec:
    spec = json.loads(population_json)
    for key in ("age_range", "edss_range", "duration_range_years"):
        if key in spec:
            spec[key] = tuple(spec[key])
    return PopulationSpec.matching(**spec) if spec else PopulationSpec()


def load_trial_spec(path: str | Path) -> TrialSpec:
    """Read a trial spec from a TOML file (or a bundled preset's name).

    Raises
    ------
    ValueError
        Invalid TOML or an invalid field, naming the file and the field.
    """
    path = Path(path)
    if not path.suffix and not path.exists():
        return TrialSpec.preset(str(path))
    document = read_toml(path, what="trial spec")
    trial = dict(document.pop("trial", {}))
    spec = {**trial, **document, "base_dir": str(path.parent)}
    if "arm" in spec:
        spec["arms"] = spec.pop("arm")
    try:
        return TrialSpec.model_validate(spec)
    except ValidationError as error:
        raise ValueError(f"{path}: {describe_validation_errors(error, 'trial')}") from None


_COURSES: dict[str, type[AHSCTCourse] | type[DMTCourse] | type[MSCCourse]] = {
    "ahsct": AHSCTCourse,
    "dmt": DMTCourse,
    "msc": MSCCourse,
}
# Treatments-table column names of the MSC fields (protocol rows use them).
_SCHEMA_NAMES = {
    "msc_source": "source",
    "msc_route": "route",
    "msc_dose_1e6_per_kg": "dose_1e6_per_kg",
    "msc_infusions": "infusions",
    "msc_infusion_interval_days": "interval_days",
    "msc_pretreated": "pretreated",
}


def _course(kind: str, fields: Mapping[str, Any], label: str | None) -> Treatment:
    """A course of ``kind`` from its fields (course names or treatments-table names);
    missing values and fields the course does not have are left out."""
    if kind not in _COURSES:
        raise ValueError(f"treatment kind must be ahsct, dmt or msc; got {kind!r}")
    course = _COURSES[kind]
    accepted = {f.name for f in dataclass_fields(course)} - {"protocol"}
    args = {}
    for key, value in fields.items():
        name = _SCHEMA_NAMES.get(key, key)
        if name in accepted and value is not None and not pd.isna(value):
            args[name] = value.item() if isinstance(value, np.generic) else value
    return course(**args, protocol=label)


def treatments_of_arm(arm: ArmSpec) -> list[tuple[int, Treatment]]:
    """The courses of an arm with their patient counts (a protocol mixture is split by
    its shares, largest remainders first), with the arm's overrides applied."""
    courses = _courses(arm)
    if not arm.overrides:
        return courses
    try:
        return [(n, replace(c, **arm.overrides) if c is not None else c) for n, c in courses]
    except (TypeError, ValueError) as error:
        raise ValueError(f"arm {arm.name!r}: overrides: {error}") from None


def _courses(arm: ArmSpec) -> list[tuple[int, Treatment]]:
    if arm.protocol is None and arm.treatment is None:
        return [(arm.n, None)]
    if arm.treatment is not None:
        fields = dict(arm.treatment)
        try:
            return [(arm.n, _course(str(fields.get("kind")), fields, arm.name))]
        except (TypeError, ValueError, KeyError) as error:
            raise ValueError(f"arm {arm.name!r}: treatment: {error}") from None
    from msreboot.protocols import Protocol

    rows = Protocol.preset(str(arm.protocol)).treatment_fields()
    shares = rows["share"].to_numpy(dtype=float)
    exact = arm.n * shares / shares.sum()
    counts = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - counts), kind="stable")[: arm.n - counts.sum()]:
        counts[i] += 1
    out = []
    for count, (_, row) in zip(counts, rows.iterrows(), strict=True):
        if count:
            fields = {str(k): v for k, v in row.items()}
            out.append((int(count), _course(str(row["kind"]), fields, arm.protocol)))
    return out
