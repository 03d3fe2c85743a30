"""The trial spec: a TOML file naming the population, the arms (protocol presets of
:mod:`msreboot.protocols` or explicit courses), the visit schedule, follow-up, endpoints,
number of replicates and seed, validated into a :class:`TrialSpec`; and the courses each
arm's patients receive.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from dataclasses import fields as dataclass_fields
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

from msreboot.data import read_toml
from msreboot.endpoints import EndpointDefinition, load_endpoint_definitions
from msreboot.simulate import (
    DEFAULT_SET,
    PopulationSpec,
    SimulationParameters,
    VisitSchedule,
)
from msreboot.trials._arm_courses import split_counts, treatments_of_arm
from msreboot.trials._arm_rules import SwitchSpec, switch_of_arm
from msreboot.trials._enrolled import ENROLLED_ONLY_KEYS
from msreboot.trials._power_tests import PowerMethod
from msreboot.trials._published import PublishedValue
from msreboot.trials._spec_errors import closest, describe_spec_errors, unknown_keys_message
from msreboot.trials._statistics import RATIO_STATISTICS

__all__ = [
    "UNCERTAINTIES",
    "AnalysisSpec",
    "ArmSpec",
    "SubPopulation",
    "TrialSpec",
    "checked_uncertainty",
    "load_trial_spec",
    "split_counts",
    "treatments_of_arm",
]

_STRICT = ConfigDict(frozen=True, extra="forbid")


class ArmSpec(BaseModel):
    """One arm: a name, its size, and a protocol preset or an explicit course."""

    model_config = _STRICT

    name: str = Field(pattern=r"^[A-Za-z0-9_]+$")
    n: int = Field(ge=1, le=1_000_000)
    protocol: str | None = None
    """A bundled protocol, or one of ``protocols_file``."""
    protocols_file: str | None = None
    """A user's protocol catalogue (TOML in the format of ``msreboot/protocols/data``),
    resolved relative to the spec file; its ``[protocol.<name>]`` entries can be named."""
    treatment: dict[str, Any] | None = None
    mixture: tuple[dict[str, Any], ...] = ()
    """A custom mixture: entries ``{share = 0.6, protocol = "..."}`` or ``{share = 0.4,
    treatment = {...}}``; shares are normalised and split the arm by largest remainders."""
    overrides: dict[str, Any] = Field(default_factory=dict)
    """Course fields set on every course of the arm (``transplant_year = 2000``)."""
    switch: SwitchSpec | None = None
    """A second course on failure (a DMT sequence, a crossover or rescue transplant):
    :class:`~msreboot.trials._arm_rules.SwitchSpec`; analysed by randomised arm."""

    @model_validator(mode="after")
    def _one_way(self) -> ArmSpec:
        given = [k for k in ("protocol", "treatment", "mixture") if getattr(self, k)]
        if len(given) > 1:
            raise ValueError(
                f"{given[1]}: an arm must have one of protocol, treatment or mixture; got "
                f"{' and '.join(given)}, not both. Keep one."
            )
        treatments_of_arm(self)  # fail at load time, with the arm's name
        switch_of_arm(self)
        return self


class SubPopulation(BaseModel):
    """One of several populations of a trial: a name, its share of every arm, and a
    ``[population]`` table of its own (phenotype-specific baselines, subgroups)."""

    model_config = _STRICT

    name: str = Field(pattern=r"^[A-Za-z0-9]+$")
    share: float = Field(gt=0)
    population: dict[str, Any] = Field(default_factory=dict)

    @field_validator("population")
    @classmethod
    def _population(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _checked_population(value)


class AnalysisSpec(BaseModel):
    """Endpoints, landmarks, time zero and the comparison (``method`` and ``sides``: the
    test a replicate's power counts, :mod:`msreboot.trials._power_tests`)."""

    model_config = _STRICT

    endpoints: tuple[str, ...] = ("relapse_free",)
    primary: str | None = None
    definitions_file: str | None = None
    times_years: tuple[float, ...] = (2.0, 3.0, 4.0, 5.0)
    anchor: Literal["ahsct", "enrolment"] = "enrolment"
    reference_arm: str | None = None
    alpha: float = Field(0.05, gt=0, lt=1)
    method: PowerMethod = "log_rank"
    sides: Literal[1, 2] = 2

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
    accrual_years, analysis_years
        Staggered entry, uniform over ``accrual_years`` (default 0: everyone at once),
        and the analysis at ``analysis_years`` from the first entry (default
        ``accrual_years + follow_up_years``): patient ``i`` entering at ``e_i`` is
        followed for ``min(follow_up_years, analysis_years - e_i)`` (administrative
        censoring, :mod:`msreboot.trials._accrual`).
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
    uncertainty
        What the ranges across replicates include: ``"monte_carlo"`` (default: every
        replicate under the one parameter set, so only Monte Carlo error) or
        ``"posterior"`` (replicate ``r`` under parameter draw ``r``, drawn by weight from
        the shipped calibration posterior, so parameter uncertainty too; needs
        ``parameters = "calibrated"``).
    """

    model_config = _STRICT

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str = ""
    citation: str = ""
    seed: int = Field(ge=0)
    replicates: int = Field(1, ge=1, le=100_000)
    follow_up_years: float = Field(gt=0, le=60)
    accrual_years: float = Field(0.0, ge=0, le=60)
    analysis_years: float | None = Field(None, gt=0, le=120)
    population: dict[str, Any] = Field(default_factory=dict)
    subpopulations: tuple[SubPopulation, ...] = ()
    schedule: dict[str, Any] = Field(default_factory=dict)
    arms: tuple[ArmSpec, ...] = Field(min_length=1)
    analysis: AnalysisSpec = Field(default_factory=AnalysisSpec)
    published: tuple[PublishedValue, ...] = ()
    parameters: str = DEFAULT_SET
    uncertainty: Literal["monte_carlo", "posterior"] = "monte_carlo"
    base_dir: str | None = Field(None, exclude=True)

    @field_validator("population")
    @classmethod
    def _population(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _checked_population(value)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: dict[str, Any]) -> dict[str, Any]:
        valid = [f.name for f in dataclass_fields(VisitSchedule)]
        unknown = [k for k in value if k not in valid]
        if unknown:
            raise ValueError(unknown_keys_message("[schedule]", unknown, valid))
        _build(lambda: _visit_schedule(value))
        return value

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, value: str) -> str:
        if value.endswith(".toml"):
            SimulationParameters.from_file(value)
            return value
        names = SimulationParameters.presets()
        if value not in names:
            guess = closest(value, names)
            raise ValueError(
                f"parameters must be a bundled set ({', '.join(names)}) or a calibration file "
                f"ending in .toml; got {value!r}." + (f" Did you mean {guess}?" if guess else "")
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TrialSpec:
        names = [a.name for a in self.arms]
        if len(set(names)) < len(names):
            raise ValueError(f"arm names must be unique; got {names}. Rename an arm.")
        ref = self.analysis.reference_arm
        if ref is not None and ref not in names:
            raise ValueError(f"analysis.reference_arm must be one of {names}; got {ref!r}")
        if self.uncertainty == "posterior" and self.parameters != "calibrated":
            raise ValueError(
                f"parameters must be 'calibrated' with uncertainty = 'posterior' (the shipped "
                f"posterior belongs to the calibrated set); got {self.parameters!r}. Drop "
                "parameters, or use uncertainty = 'monte_carlo'."
            )
        switching = [a.name for a in self.arms if a.switch is not None]
        if switching and self.analysis.anchor != "enrolment":
            raise ValueError(
                f"analysis.anchor must be 'enrolment' with a switch rule (arm "
                f"{switching[0]!r}): an arm is analysed from randomisation, whatever its "
                f"patients receive later; got {self.analysis.anchor!r}."
            )
        if self.analysis_years is not None and self.analysis_years <= self.accrual_years:
            raise ValueError(
                f"analysis_years must be after the end of accrual ({self.accrual_years:g}); "
                f"got {self.analysis_years:g}. It counts from the first patient's entry."
            )
        subgroups = [p.name for p in self.subpopulations]
        if len(set(subgroups)) < len(subgroups):
            raise ValueError(f"subpopulations names must be unique; got {subgroups}. Rename one.")
        if self.subpopulations and self.population:
            raise ValueError(
                "population: a trial must have one of population or subpopulations; got both. "
                "Move the shared keys into each subpopulation's population table."
            )
        for i, value in enumerate(self.published):
            if value.arm is None and len(names) > 1:
                raise ValueError(
                    f"published.{i}.arm must name the arm of a trial with several arms; got "
                    f"none. Add arm = one of {names} (a whole-cohort figure goes in a "
                    "single-arm spec)."
                )
            if value.arm is not None and value.arm not in names:
                raise ValueError(f"published.{i}.arm must be one of {names}; got {value.arm!r}.")
            if value.statistic in RATIO_STATISTICS:
                reference = self.analysis.reference_arm or names[0]
                if len(names) < 2 or value.arm == reference:
                    raise ValueError(
                        f"published.{i}.arm must be an arm other than the reference arm "
                        f"{reference!r} for the ratio {value.statistic!r}; got "
                        f"{value.arm!r}. A ratio compares an arm with the reference arm."
                    )
        definitions = self.definitions()
        primary = self.analysis.primary
        if primary is not None and primary not in definitions:
            raise ValueError(
                f"analysis.primary must be one of analysis.endpoints {list(definitions)}; got "
                f"{primary!r}. Add it to analysis.endpoints."
            )
        return self

    def population_spec(self) -> PopulationSpec:
        """The :class:`PopulationSpec` of the trial (matched once per distinct population
        and process: matching solves for the distributions' locations; with
        ``match_enrolled = true``, then corrected until the enrolled patients have the
        published mix, see :meth:`population_match`)."""
        if not self.population.get("match_enrolled"):
            return _matched_population(json.dumps(self.population, sort_keys=True))
        return self._enrolled()[0]

    def population_specs(self) -> list[tuple[str, float, PopulationSpec]]:
        """``(name, share, PopulationSpec)`` of each subpopulation (shares normalised), or
        ``[("all", 1.0, population_spec())]``."""
        if not self.subpopulations:
            return [("all", 1.0, self.population_spec())]
        total = sum(p.share for p in self.subpopulations)
        return [
            (
                p.name,
                p.share / total,
                self.with_(population=p.population, subpopulations=()).population_spec(),
            )
            for p in self.subpopulations
        ]

    def population_match(self) -> pd.DataFrame | None:
        """With ``match_enrolled = true``: each published characteristic of the enrolled
        patients beside the enrolled virtual patients' before and after matching
        (``characteristic``, ``published``, ``enrolled_before``, ``enrolled_after``);
        otherwise ``None``. With subpopulations, one block per matched subpopulation
        (column ``subpopulation``)."""
        if self.subpopulations:
            frames = []
            for p in self.subpopulations:
                sub = self.with_(population=p.population, subpopulations=()).population_match()
                if sub is not None:
                    frames.append(sub.assign(subpopulation=p.name))
            return pd.concat(frames, ignore_index=True) if frames else None
        if not self.population.get("match_enrolled"):
            return None
        return self._enrolled()[1].copy()

    def _enrolled(self) -> tuple[PopulationSpec, pd.DataFrame]:
        return _enrolled_population(
            json.dumps(self.population, sort_keys=True), self.parameters, self.base_dir
        )

    def visit_schedule(self) -> VisitSchedule:
        """The :class:`VisitSchedule` of the trial."""
        return _visit_schedule(self.schedule)

    def simulation_parameters(self) -> SimulationParameters:
        """The simulation parameters: a bundled set by name, or a calibration file."""
        return _parameters_from(self.parameters, self.base_dir)

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
            guess = closest(unknown[0], available)
            raise ValueError(
                f"analysis.endpoints: unknown endpoint(s) {unknown}; endpoints must be "
                "presets (EndpointDefinition.presets()) or names in definitions_file."
                + (f" Did you mean {guess}?" if guess else "")
            )
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


UNCERTAINTIES = ("monte_carlo", "posterior")


def checked_uncertainty(value: object) -> None:
    """Raise unless ``value`` is ``None`` or one of :data:`UNCERTAINTIES`."""
    if value is not None and value not in UNCERTAINTIES:
        raise ValueError(
            f"uncertainty must be 'monte_carlo' or 'posterior'; got {value!r}. 'posterior' "
            "draws a parameter set per replicate from the calibration posterior."
        )


def _checked_population(value: dict[str, Any]) -> dict[str, Any]:
    """A ``[population]`` table checked: known keys, types, and the match solvable."""
    unknown = [k for k in value if k not in population_keys()]
    if unknown:
        raise ValueError(unknown_keys_message("[population]", unknown, population_keys()))
    flag = value.get("match_enrolled", False)
    if not isinstance(flag, bool):
        raise ValueError(
            f"match_enrolled must be true or false; got {flag!r}. true: the published "
            "mix is that of the enrolled patients, matched after eligibility."
        )
    given = [k for k in ENROLLED_ONLY_KEYS if k in value]
    if given and not flag:
        raise ValueError(
            f"{given[0]} must come with match_enrolled = true; got match_enrolled = false. "
            "It describes the enrolled patients: add match_enrolled = true."
        )
    _build(lambda: _matched_population(json.dumps(value, sort_keys=True)))
    return value


@lru_cache(maxsize=1)
def population_keys() -> tuple[str, ...]:
    """Keys of a ``[population]`` table: :meth:`PopulationSpec.matching`'s keywords and
    the :class:`PopulationSpec` fields."""
    keywords = [
        p.name
        for p in inspect.signature(PopulationSpec.matching).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    fields = (f.name for f in dataclass_fields(PopulationSpec))
    return tuple(dict.fromkeys([*keywords, *fields, "match_enrolled", *ENROLLED_ONLY_KEYS]))


def _build(make: Any) -> None:
    """Run a constructor, turning a wrong type (a list for a number) into a ValueError."""
    try:
        make()
    except (TypeError, AttributeError) as error:
        raise ValueError(
            f"a value has the wrong type ({error}). Check the table's values."
        ) from None


def _visit_schedule(values: Mapping[str, Any]) -> VisitSchedule:
    fields = dict(values)
    for key in ("extra_edss_days", "extra_mri_days"):
        if key in fields and isinstance(fields[key], list):
            fields[key] = tuple(fields[key])
    return VisitSchedule(**fields)


@lru_cache(maxsize=16)
def _enrolled_population(
    population_json: str, parameters: str, base_dir: str | None
) -> tuple[PopulationSpec, pd.DataFrame]:
    from msreboot.trials._enrolled import match_enrolled

    targets = json.loads(population_json)
    drawn = _matched_population(population_json)
    return match_enrolled(drawn, targets, _parameters_from(parameters, base_dir))


def _parameters_from(parameters: str, base_dir: str | None) -> SimulationParameters:
    if parameters.endswith(".toml"):
        path = Path(parameters)
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        return SimulationParameters.from_file(path)
    return SimulationParameters.preset(parameters)


@lru_cache(maxsize=64)
def _matched_population(population_json: str) -> PopulationSpec:
    spec = json.loads(population_json)
    for key in ("match_enrolled", *ENROLLED_ONLY_KEYS):
        spec.pop(key, None)
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
    if "subpopulation" in spec:
        spec["subpopulations"] = spec.pop("subpopulation")
    spec = _resolve_paths(spec, path.parent)
    try:
        return TrialSpec.model_validate(spec)
    except ValidationError as error:
        raise ValueError(f"{path}: {describe_spec_errors(error, _MODELS)}") from None


def _resolve_paths(spec: dict[str, Any], folder: Path) -> dict[str, Any]:
    """File references (a calibration, a user's protocol catalogue) relative to the spec."""

    def resolved(value: Any) -> Any:
        if isinstance(value, str) and value.endswith(".toml") and not Path(value).is_absolute():
            return str(folder / value)
        return value

    spec = dict(spec)
    spec["parameters"] = resolved(spec.get("parameters", DEFAULT_SET))
    arms = spec.get("arms")
    if isinstance(arms, list):
        spec["arms"] = [
            {**a, "protocols_file": resolved(a["protocols_file"])}
            if isinstance(a, dict) and "protocols_file" in a
            else a
            for a in arms
        ]
    return spec


_MODELS: dict[str, type[BaseModel]] = {
    "": TrialSpec,
    "subpopulations": SubPopulation,
    "arms": ArmSpec,
    "analysis": AnalysisSpec,
    "published": PublishedValue,
}
