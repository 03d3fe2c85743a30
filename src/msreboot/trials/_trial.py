"""Virtual trials: a spec file, replicate trials, their analysis by the endpoint engine.

A :class:`TrialSpec` (TOML) names the population, the arms (protocol presets of
:mod:`msreboot.protocols` or explicit courses), the visit schedule, follow-up, endpoints,
number of replicates and seed. :func:`run_trial` simulates every replicate in the
canonical tables and analyses it with :mod:`msreboot.endpoints`, exactly as a real cohort
would be analysed: per-arm landmark estimates, hazard ratios and log-rank tests, power
across replicates and the published values beside the simulated ones.
"""

from __future__ import annotations

import html
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import fields as dataclass_fields
from dataclasses import replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from msreboot.data import Cohort, describe_validation_errors, read_toml
from msreboot.endpoints import (
    EndpointDefinition,
    compare_endpoint,
    estimate_endpoint,
    load_endpoint_definitions,
)
from msreboot.evidence import published_outcome
from msreboot.simulate import (
    DEFAULT_SET,
    AHSCTCourse,
    DMTCourse,
    MSCCourse,
    PopulationSpec,
    SimulationParameters,
    Treatment,
    VisitSchedule,
    simulate_cohort,
)

__all__ = ["TrialResult", "TrialSpec", "load_trial_spec", "run_trial", "treatments_of_arm"]

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


class PublishedValue(BaseModel):
    """A published headline figure the trial is set beside.

    Either ``outcome_id``, an outcome of the evidence dataset
    (:func:`msreboot.evidence.published_outcome`), whose value, interval and time are read
    from there (``endpoint`` defaults to the outcome's ``endpoint_preset``); or, for a figure
    the dataset does not hold, ``endpoint``, ``time_years`` and ``value`` (and optionally the
    interval) given inline.

    Attributes
    ----------
    outcome_id
        The evidence outcome, or ``None`` for an inline value.
    endpoint, time_years, arm
        The endpoint preset estimated in the trial, the landmark year and the arm
        (default: the first arm).
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
    endpoint: str
    time_years: float
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    conf_level: float | None = None
    arm: str | None = None
    complement: bool = False
    source: str = ""

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
        if numbers["time_years"] is None:
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
        if filled.get("endpoint") is None:
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
        self.population_spec()
        self.visit_schedule()
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


def _combine(cohorts: Sequence[Cohort]) -> Cohort:
    """One cohort from several (distinct patient ids), in canonical row order."""
    from msreboot.data import canonical_order

    tables = {
        name: pd.concat([c.tables[name] for c in cohorts], ignore_index=True)
        for name in cohorts[0].tables
    }
    return Cohort.from_canonical(canonical_order(tables), "day")


def simulate_replicate(
    spec: TrialSpec, replicate: int, parameters: SimulationParameters | None = None
) -> tuple[Cohort, pd.Series]:
    """One replicate of the trial: the combined cohort and each patient's arm."""
    population, schedule = spec.population_spec(), spec.visit_schedule()
    if parameters is None:
        parameters = SimulationParameters.preset(spec.parameters)
    cohorts, arms = [], []
    for a, arm in enumerate(spec.arms):
        for k, (n, treatment) in enumerate(treatments_of_arm(arm)):
            seed = np.random.SeedSequence(spec.seed, spawn_key=(replicate, a, k))
            sim = simulate_cohort(
                n,
                population,
                treatment,
                schedule,
                spec.follow_up_years,
                parameters,
                seed=seed,
                id_prefix=f"{arm.name}{k}_",
                validate=False,
            )
            cohorts.append(sim.cohort)
            arms.append(pd.Series(arm.name, index=sim.cohort.patients["patient_id"]))
    return _combine(cohorts), pd.concat(arms)


_PUBLISHED_COLUMNS = [
    "trial",
    "endpoint",
    "arm",
    "time_years",
    "published",
    "published_ci_low",
    "published_ci_high",
    "simulated",
    "simulated_low",
    "simulated_high",
    "replicates",
    "source",
]


class TrialResult(BaseModel):
    """The replicates of a virtual trial, analysed.

    Attributes
    ----------
    spec
        The trial spec.
    estimates
        One row per replicate, endpoint, arm and landmark: ``n``, ``events``,
        ``n_at_risk``, ``estimate``, ``ci_low``, ``ci_high``.
    hazard_ratios
        One row per replicate, endpoint and non-reference arm: ``hazard_ratio``, its
        interval and Wald ``p_value``, the log-rank ``log_rank_p`` (two or more arms), and
        ``hr_reliable`` (false when the Cox fit warned, e.g. an arm without events, whose
        hazard ratio tends to 0 or infinity; the log-rank test stays valid).
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    spec: TrialSpec
    estimates: pd.DataFrame
    hazard_ratios: pd.DataFrame

    def power(self, endpoint: str | None = None) -> float:
        """Share of replicates whose log-rank test is significant at ``analysis.alpha``
        (primary endpoint by default); ``nan`` for single-arm trials."""
        name = endpoint or self.spec.analysis.primary or self.spec.analysis.endpoints[0]
        rows = self.hazard_ratios[self.hazard_ratios["endpoint"] == name]
        if rows.empty:
            return float("nan")
        per_replicate = rows.groupby("replicate")["log_rank_p"].first()
        return float((per_replicate < self.spec.analysis.alpha).mean())

    def table(self) -> pd.DataFrame:
        """Mean estimate across replicates per endpoint, arm and landmark, with the
        Monte Carlo SD and the mean interval."""
        keys = ["endpoint", "arm", "time_years"]
        grouped = self.estimates.groupby(keys, sort=False)
        return grouped.agg(
            replicates=("estimate", "size"),
            estimate=("estimate", "mean"),
            mc_sd=("estimate", "std"),
            ci_low=("ci_low", "mean"),
            ci_high=("ci_high", "mean"),
            n=("n", "mean"),
            events=("events", "mean"),
        ).reset_index()

    def compare_published(self) -> pd.DataFrame:
        """Each published value beside the simulated mean and its 2.5-97.5% range over
        replicates."""
        rows = []
        for value in self.spec.published:
            sel = self.estimates[
                (self.estimates["endpoint"] == value.endpoint)
                & np.isclose(self.estimates["time_years"], value.time_years)
            ]
            if value.arm is not None:
                sel = sel[sel["arm"] == value.arm]
            sims = sel["estimate"].dropna().to_numpy(dtype=float)
            rows.append(
                {
                    "trial": self.spec.name,
                    "endpoint": value.endpoint,
                    "arm": value.arm or self.spec.arms[0].name,
                    "time_years": value.time_years,
                    "published": value.value,
                    "published_ci_low": value.ci_low,
                    "published_ci_high": value.ci_high,
                    "simulated": float(np.mean(sims)) if len(sims) else np.nan,
                    "simulated_low": float(np.quantile(sims, 0.025)) if len(sims) else np.nan,
                    "simulated_high": float(np.quantile(sims, 0.975)) if len(sims) else np.nan,
                    "replicates": len(sims),
                    "source": value.source,
                }
            )
        return pd.DataFrame(rows, columns=_PUBLISHED_COLUMNS)

    def to_frame(self) -> pd.DataFrame:
        return self.table()

    def summary(self) -> str:
        spec = self.spec
        lines = [
            f"{spec.title or spec.name}: {spec.replicates} replicate(s), arms "
            + ", ".join(f"{a.name} (n={a.n})" for a in spec.arms)
            + f", {spec.follow_up_years:g} years, seed {spec.seed}"
        ]
        for row in self.table().to_dict("records"):
            mc_sd = float(row["mc_sd"])
            sd = "" if np.isnan(mc_sd) else f" (MC SD {100 * mc_sd:.1f})"
            value = float(row["estimate"])
            shown = "NA (beyond follow-up)" if np.isnan(value) else f"{100 * value:.1f}%{sd}"
            lines.append(
                f"  {row['endpoint']} [{row['arm']}] {float(row['time_years']):g} y: {shown}"
            )
        if len(spec.arms) > 1:
            hr = (
                self.hazard_ratios.groupby(["endpoint", "arm"])["hazard_ratio"]
                .median()
                .reset_index()
            )
            for row in hr.to_dict("records"):
                lines.append(
                    f"  {row['endpoint']}: median HR {row['arm']} vs reference "
                    f"{float(row['hazard_ratio']):.3g}"
                )
            lines.append(
                f"  power of the primary endpoint (log-rank, alpha "
                f"{spec.analysis.alpha:g}): {100 * self.power():.0f}%"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def time_zero(spec: TrialSpec, arms: pd.Series) -> str | pd.DataFrame:
    """The anchor of a replicate's analysis: each patient's reinfusion (``"ahsct"``) or
    enrolment (day 0 of every patient)."""
    if spec.analysis.anchor == "ahsct":
        return "ahsct"
    return pd.DataFrame({"patient_id": arms.index, "anchor_date": 0})


def analyse_replicate(
    spec: TrialSpec, cohort: Cohort, arms: pd.Series, replicate: int
) -> tuple[list[pd.DataFrame], list[dict[str, Any]]]:
    """Estimates (and comparisons) of every endpoint in one replicate."""
    anchor = time_zero(spec, arms)
    times = spec.analysis.times_years
    frames: list[pd.DataFrame] = []
    ratios: list[dict[str, Any]] = []
    for name, definition in spec.definitions().items():
        if len(spec.arms) == 1:
            one = estimate_endpoint(cohort, definition, times_years=times, anchor=anchor)
            assert not isinstance(one, dict)
            frames.append(one.landmarks.assign(endpoint=name, arm=spec.arms[0].name))
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            result = compare_endpoint(
                cohort,
                definition,
                arms,
                reference=spec.analysis.reference_arm or spec.arms[0].name,
                times_years=times,
                anchor=anchor,
            )
        unreliable = any(issubclass(w.category, RuntimeWarning) for w in caught)
        for arm, estimate in result.estimates.items():
            frames.append(estimate.landmarks.assign(endpoint=name, arm=str(arm)))
        for row in result.hazard_ratios.to_dict("records"):
            ratios.append(
                {
                    "replicate": replicate,
                    "endpoint": name,
                    "arm": row["group"],
                    "hazard_ratio": row["hazard_ratio"],
                    "ci_low": row["ci_low"],
                    "ci_high": row["ci_high"],
                    "p_value": row["p_value"],
                    "log_rank_p": result.log_rank_p,
                    "hr_reliable": not unreliable and not np.isnan(float(row["hazard_ratio"])),
                }
            )
    return [f.assign(replicate=replicate) for f in frames], ratios


def run_trial(
    spec: TrialSpec | str | Path,
    *,
    replicates: int | None = None,
    parameters: SimulationParameters | None = None,
    out_dir: str | Path | None = None,
    progress: Any = None,
) -> TrialResult:
    """Simulate and analyse every replicate of a virtual trial.

    Parameters
    ----------
    spec
        A :class:`TrialSpec`, a spec file, or a bundled preset's name.
    replicates
        Overrides the spec's number of replicates.
    parameters
        Simulation parameters; default: the spec's named set.
    out_dir
        When given, each replicate's canonical tables are written to
        ``out_dir/replicate_<r>/`` (CSV) with ``arms.csv``, and the analysed tables to
        ``out_dir/estimates.csv`` and ``hazard_ratios.csv``, with ``trial.json`` (the spec,
        seed and package version).
    progress
        A callable taking the finished replicate count (e.g. to advance a progress bar).

    Returns
    -------
    TrialResult

    Examples
    --------
    >>> result = run_trial("halt_ms", replicates=1)
    >>> sorted(result.estimates["endpoint"].unique())[:2]
    ['halt_ms_efs', 'halt_ms_mri_free']
    """
    if not isinstance(spec, TrialSpec):
        spec = load_trial_spec(spec)
    if replicates is not None:
        spec = spec.with_(replicates=replicates)
    frames: list[pd.DataFrame] = []
    ratios: list[dict[str, Any]] = []
    folder = Path(out_dir) if out_dir is not None else None
    for r in range(spec.replicates):
        cohort, arms = simulate_replicate(spec, r, parameters)
        if folder is not None:
            _write_replicate(folder / f"replicate_{r + 1:03d}", cohort, arms)
        f, h = analyse_replicate(spec, cohort, arms, r + 1)
        frames.extend(f)
        ratios.extend(h)
        if progress is not None:
            progress(r + 1)
    columns = ["replicate", "endpoint", "arm", "time_years", "n", "events", "n_at_risk"]
    estimates = pd.concat(frames, ignore_index=True)
    estimates = estimates[[*columns, "estimate", "std_err", "ci_low", "ci_high"]]
    hazard = pd.DataFrame(
        ratios,
        columns=[
            "replicate",
            "endpoint",
            "arm",
            "hazard_ratio",
            "ci_low",
            "ci_high",
            "p_value",
            "log_rank_p",
            "hr_reliable",
        ],
    )
    result = TrialResult(spec=spec, estimates=estimates, hazard_ratios=hazard)
    if folder is not None:
        _write_results(folder, result)
    return result


def _write_replicate(folder: Path, cohort: Cohort, arms: pd.Series) -> None:
    from msreboot.data import write_frame, write_tables

    write_tables(cohort.tables, folder)
    frame = pd.DataFrame({"patient_id": arms.index, "arm": arms.to_numpy()})
    write_frame(frame, folder.parent / f"{folder.name}_arms.csv")


def _write_results(folder: Path, result: TrialResult) -> None:
    import json

    from msreboot import __version__
    from msreboot.data import atomic_write_text, write_frame

    write_frame(result.estimates, folder / "estimates.csv")
    write_frame(result.hazard_ratios, folder / "hazard_ratios.csv")
    write_frame(result.table(), folder / "summary.csv")
    if result.spec.published:
        write_frame(result.compare_published(), folder / "published.csv")
    meta = {
        "msreboot_version": __version__,
        "seed": result.spec.seed,
        "replicates": result.spec.replicates,
        "spec": result.spec.model_dump(mode="json"),
    }
    atomic_write_text(folder / "trial.json", json.dumps(meta, indent=2, sort_keys=True))


def sample_size(
    spec: TrialSpec | str | Path,
    *,
    target_power: float = 0.8,
    n_range: tuple[int, int] = (10, 500),
    replicates: int | None = None,
    parameters: SimulationParameters | None = None,
) -> pd.DataFrame:
    """Patients per arm for a target power of the primary endpoint (bisection).

    Each size is simulated with the same seeds (common random numbers: patient ``i`` of
    an arm is the same patient at every size), which makes the power curve far less noisy
    than independent runs; with few replicates it can still dip between neighbouring
    sizes, so the table lists every size tried. The answer (``attrs["n_per_arm"]``) is the
    smallest size found with power >= ``target_power``, to within 5% of n; ``nan`` when
    even the largest size falls short.
    """
    if not isinstance(spec, TrialSpec):
        spec = load_trial_spec(spec)
    if len(spec.arms) < 2:
        raise ValueError("sample_size needs a trial with at least two arms.")
    if not 0 < target_power < 1:
        raise ValueError(f"target_power must be in (0, 1); got {target_power}.")
    lo, hi = n_range
    if not 2 <= lo < hi:
        raise ValueError(f"n_range must be (low, high) with 2 <= low < high; got {n_range}.")
    tried: dict[int, float] = {}

    def power(n: int) -> float:
        if n not in tried:
            tried[n] = run_trial(
                spec.scaled(n), replicates=replicates, parameters=parameters
            ).power()
        return tried[n]

    answer: float = float("nan")
    if power(hi) >= target_power:
        answer = hi
        while hi - lo > max(1, lo // 20):
            mid = (lo + hi) // 2
            if power(mid) >= target_power:
                hi = mid
                answer = mid
            else:
                lo = mid
    table = pd.DataFrame({"n_per_arm": list(tried), "power": list(tried.values())}).sort_values(
        "n_per_arm", ignore_index=True
    )
    table.attrs["n_per_arm"] = answer
    return table
