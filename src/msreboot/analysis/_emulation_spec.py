"""The emulated-trial spec: who is eligible at time zero, the strategies compared, time
zero, the propensity model, matching or weighting, outcomes and follow-up rules.

Written as TOML (``load_emulation_spec``) or in Python (``EmulationSpec(...)``), validated
by pydantic with every problem located by its field.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from msreboot.data import describe_validation_errors, parse_toml, read_toml
from msreboot.endpoints import (
    DisabilityComponent,
    EndpointDefinition,
    load_endpoint_definitions,
)

__all__ = [
    "DMT_CLASSES",
    "EMULATION_COVARIATES",
    "AdjustmentSpec",
    "EligibilitySpec",
    "EmulationSpec",
    "FollowUpSpec",
    "OutcomeSpec",
    "StrategySpec",
    "load_emulation_spec",
]

_STRICT = ConfigDict(frozen=True, extra="forbid")

DMT_CLASSES: Mapping[str, tuple[str, ...]] = {
    "high_efficacy": (
        "natalizumab",
        "ocrelizumab",
        "ofatumumab",
        "ublituximab",
        "rituximab",
        "alemtuzumab",
        "cladribine",
        "fingolimod",
        "siponimod",
        "ozanimod",
        "ponesimod",
        "mitoxantrone",
    ),
    "anti_cd20": ("ocrelizumab", "ofatumumab", "ublituximab", "rituximab"),
    "s1p_modulator": ("fingolimod", "siponimod", "ozanimod", "ponesimod"),
    "first_line": (
        "interferon_beta",
        "glatiramer",
        "teriflunomide",
        "dimethyl_fumarate",
        "diroximel_fumarate",
    ),
}
"""Named DMT classes a comparator strategy may give instead of drug names (``drugs =
["high_efficacy"]``); drug names are compared in lower case."""

EMULATION_COVARIATES: Mapping[str, str] = {
    "age_years": "Age at time zero, years",
    "sex": "Sex",
    "phenotype": "Phenotype",
    "disease_duration_years": "Disease duration, years",
    "baseline_edss": "EDSS at time zero",
    "relapses_prior_year": "Relapses in the prior year",
    "relapses_prior_2_years": "Relapses in the prior 2 years",
    "prior_dmt_count": "Prior DMTs",
    "last_dmt": "Last DMT before time zero",
    "mri_active_prior_year": "MRI activity in the prior year",
    "centre": "Centre",
    "country": "Country",
    "calendar_year": "Calendar year of time zero",
    "hct_ci": "HCT-CI score",
}
"""Covariates at time zero the propensity model may use, with their labels."""


class EligibilitySpec(BaseModel):
    """Who may enter the emulated trial, judged at each candidate time zero.

    Every bound is inclusive; ``None`` means no restriction. Activity counts relapses with
    onset in the ``activity_years`` before time zero and active scans (any Gd+ or new or
    enlarging T2 lesion) in that window.
    """

    model_config = _STRICT

    phenotypes: tuple[str, ...] = ()
    edss_min: float | None = Field(None, ge=0, le=10)
    edss_max: float | None = Field(None, ge=0, le=10)
    age_min: float | None = Field(None, ge=0, le=120)
    age_max: float | None = Field(None, ge=0, le=120)
    disease_duration_max_years: float | None = Field(None, gt=0)
    activity_years: float = Field(1.0, gt=0, le=5)
    min_relapses: int = Field(0, ge=0)
    require_mri_activity: bool = False
    require_relapse_or_mri_activity: bool = False
    min_prior_dmts: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _ranges(self) -> EligibilitySpec:
        for low, high in (("edss_min", "edss_max"), ("age_min", "age_max")):
            lo, hi = getattr(self, low), getattr(self, high)
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(f"{low} must be <= {high}; got {lo} > {hi}")
        return self


class StrategySpec(BaseModel):
    """One treatment strategy: AHSCT (of some regimens) or a DMT (drugs or classes).

    ``kind = "ahsct"`` starts at the first AHSCT course (reinfusion, day 0), optionally only
    of the given ``regimens`` (conditioning regimen or protocol). ``kind = "dmt"`` starts
    at a course of one of ``drugs`` (names or :data:`DMT_CLASSES`; empty: any DMT).
    """

    model_config = _STRICT

    name: str = Field(min_length=1, max_length=60)
    kind: Literal["ahsct", "dmt"]
    drugs: tuple[str, ...] = ()
    regimens: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _fields_of_kind(self) -> StrategySpec:
        if self.kind == "ahsct" and self.drugs:
            raise ValueError("drugs are for a DMT strategy; an AHSCT strategy takes regimens")
        if self.kind == "dmt" and self.regimens:
            raise ValueError("regimens are for an AHSCT strategy; a DMT strategy takes drugs")
        return self

    def drug_names(self) -> frozenset[str]:
        """The drugs of a DMT strategy, classes expanded (empty: any DMT)."""
        out: set[str] = set()
        for d in self.drugs:
            out.update(DMT_CLASSES.get(d.lower(), (d.lower(),)))
        return frozenset(out)


class AdjustmentSpec(BaseModel):
    """The propensity model and how it is used: matching or weighting."""

    model_config = _STRICT

    covariates: tuple[str, ...] = (
        "age_years",
        "sex",
        "baseline_edss",
        "disease_duration_years",
        "relapses_prior_year",
        "prior_dmt_count",
    )
    method: Literal["matching", "iptw", "overlap"] = "matching"
    ratio: int = Field(1, ge=1, le=10)
    replace: bool = False
    caliper_sd: float | None = Field(0.2, gt=0)
    exact: tuple[str, ...] = ()
    estimand: Literal["ate", "att"] = "att"
    stabilize: bool = True
    trim_quantile: float | None = Field(None, gt=0, lt=0.5)
    max_abs_smd: float = Field(0.1, gt=0)

    @field_validator("covariates")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [c for c in value if c not in EMULATION_COVARIATES]
        if unknown:
            raise ValueError(
                f"must be covariates at time zero ({', '.join(EMULATION_COVARIATES)}); "
                f"got {unknown}"
            )
        if not value:
            raise ValueError("must name at least one covariate; got none")
        return value

    @model_validator(mode="after")
    def _exact_known(self) -> AdjustmentSpec:
        unknown = [c for c in self.exact if c not in EMULATION_COVARIATES]
        if unknown:
            raise ValueError(f"exact must be covariates at time zero; got {unknown}")
        return self


class OutcomeSpec(BaseModel):
    """The endpoints compared (presets or names in ``definitions_file``), the primary one,
    landmark years and the RMST horizon.

    ``proportions`` adds two binary outcomes at ``proportion_years`` (default: the first
    landmark > 0): the proportion with confirmed disability improvement by then (the first
    CDI of ``improvement_endpoint``, a preset or a definition of ``definitions_file``;
    default: CDI under the default disability rules) and NEDA over the window (the
    components of ``neda_endpoint``, default NEDA-3), each among evaluable entries.
    """

    model_config = _STRICT

    endpoints: tuple[str, ...] = ("halt_ms_efs",)
    primary: str | None = None
    definitions_file: str | None = None
    times_years: tuple[float, ...] = (2.0, 3.0, 5.0)
    rmst_years: float = Field(5.0, gt=0)
    relapse_rate: bool = True
    proportions: bool = True
    proportion_years: float | None = Field(None, gt=0)
    improvement_endpoint: str | None = None
    neda_endpoint: str = "neda_3"

    @property
    def landmark_years(self) -> float:
        """The landmark of the proportions: ``proportion_years``, else the first landmark
        > 0 (2 years when there is none)."""
        if self.proportion_years is not None:
            return self.proportion_years
        return next((t for t in self.times_years if t > 0), 2.0)

    @field_validator("times_years")
    @classmethod
    def _landmarks(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value or any(not (np.isfinite(t) and t >= 0) for t in value):
            raise ValueError(f"must be one or more landmark years >= 0; got {list(value)!r}")
        return value


class FollowUpSpec(BaseModel):
    """Follow-up rules: intention to treat, or per protocol (censored at a switch)."""

    model_config = _STRICT

    analysis: Literal["itt", "per_protocol"] = "itt"
    max_years: float | None = Field(None, gt=0)
    grace_days: int = Field(90, ge=0)


class EmulationSpec(BaseModel):
    """An emulated target trial comparing two strategies in observational data.

    Attributes
    ----------
    name, title
        Names for outputs.
    treated, control
        The strategies: the treated one (AHSCT) and its comparator (a DMT).
    eligibility
        Who may enter at time zero (:class:`EligibilitySpec`).
    time_zero
        ``"first"``: each patient enters once, at their first eligible time (the AHSCT
        arm first: a patient who had AHSCT is in that arm); ``"all"``: every eligible
        comparator start enters (patients may appear several times, also before a later
        AHSCT), and variances are clustered by patient.
    adjustment
        Propensity covariates and matching or weighting (:class:`AdjustmentSpec`).
    outcomes, follow_up
        Endpoints and the follow-up rules (:class:`OutcomeSpec`, :class:`FollowUpSpec`).
    conf_level
        Level of every interval.
    """

    model_config = _STRICT

    name: str = Field("emulation", pattern=r"^[a-z0-9_]+$")
    title: str = ""
    treated: StrategySpec = StrategySpec(name="AHSCT", kind="ahsct")
    control: StrategySpec = StrategySpec(
        name="High-efficacy DMT", kind="dmt", drugs=("high_efficacy",)
    )
    eligibility: EligibilitySpec = Field(default_factory=EligibilitySpec)
    time_zero: Literal["first", "all"] = "first"
    adjustment: AdjustmentSpec = Field(default_factory=AdjustmentSpec)
    outcomes: OutcomeSpec = Field(default_factory=OutcomeSpec)
    follow_up: FollowUpSpec = Field(default_factory=FollowUpSpec)
    conf_level: float = Field(0.95, gt=0, lt=1)
    base_dir: str | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _consistent(self) -> EmulationSpec:
        if self.treated.kind != "ahsct":
            raise ValueError(f"treated.kind must be 'ahsct'; got {self.treated.kind!r}")
        if self.control.kind != "dmt":
            raise ValueError(f"control.kind must be 'dmt'; got {self.control.kind!r}")
        if self.treated.name == self.control.name:
            raise ValueError(
                f"treated.name and control.name must differ; both {self.treated.name!r}"
            )
        definitions = self.definitions()
        available = self._available()
        for key in ("improvement_endpoint", "neda_endpoint"):
            chosen = getattr(self.outcomes, key)
            if chosen is not None and chosen not in available:
                raise ValueError(
                    f"outcomes.{key} must be a preset or a definition of definitions_file; "
                    f"got {chosen!r}"
                )
        primary = self.outcomes.primary
        if primary is not None and primary not in definitions:
            raise ValueError(
                f"outcomes.primary must be one of the endpoints {list(definitions)}; "
                f"got {primary!r}"
            )
        return self

    @property
    def primary(self) -> str:
        """The primary endpoint's name (the first endpoint unless named)."""
        return self.outcomes.primary or self.outcomes.endpoints[0]

    def _available(self) -> dict[str, EndpointDefinition]:
        available: dict[str, EndpointDefinition] = dict(EndpointDefinition.presets())
        if self.outcomes.definitions_file is not None:
            path = Path(self.outcomes.definitions_file)
            if not path.is_absolute() and self.base_dir is not None:
                path = Path(self.base_dir) / path
            available.update(load_endpoint_definitions(path))
        return available

    def proportion_definitions(self) -> tuple[EndpointDefinition, EndpointDefinition]:
        """The definitions of the two proportions: CDI (its disability components' first
        confirmed improvement; deaths censor) and NEDA (its components)."""
        available = self._available()
        chosen = self.outcomes.improvement_endpoint
        if chosen is None:
            cdi = EndpointDefinition(
                name="cdi",
                title="Confirmed disability improvement",
                components=(DisabilityComponent(event="cdi"),),
                death="censor",
            )
        else:
            base = available[chosen]
            parts = tuple(
                c.model_copy(update={"event": "cdi"})
                for c in base.components
                if isinstance(c, DisabilityComponent)
            ) or (DisabilityComponent(event="cdi"),)
            cdi = base.with_(components=parts, death="censor")
        return cdi, available[self.outcomes.neda_endpoint]

    def definitions(self) -> dict[str, EndpointDefinition]:
        """The endpoint definitions, by name, in the order of ``outcomes.endpoints``."""
        available = self._available()
        unknown = [e for e in self.outcomes.endpoints if e not in available]
        if unknown or not self.outcomes.endpoints:
            raise ValueError(
                f"outcomes.endpoints must be presets or definitions of definitions_file; "
                f"unknown: {unknown or 'none given'}"
            )
        return {e: available[e] for e in self.outcomes.endpoints}

    def with_(self, **changes: Any) -> EmulationSpec:
        """A copy with some fields changed."""
        return type(self).model_validate({**dict(self), **changes})

    @classmethod
    def presets(cls) -> list[str]:
        """Names of the bundled emulation specs (``EmulationSpec.preset(name)``)."""
        folder = resources.files("msreboot.analysis") / "data"
        return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))

    @classmethod
    def preset(cls, name: str) -> EmulationSpec:
        """A bundled spec: ``"ahsct_vs_natalizumab"`` or ``"ahsct_vs_best_dmt"``."""
        names = cls.presets()
        if name not in names:
            raise ValueError(f"emulation preset must be one of {', '.join(names)}; got {name!r}.")
        return load_emulation_spec(
            Path(str(resources.files("msreboot.analysis") / "data" / f"{name}.toml"))
        )

    @classmethod
    def from_toml(cls, text: str, *, where: str = "<string>") -> EmulationSpec:
        """A spec from TOML text (``[trial]``, ``[treated]``, ``[control]``, ``[eligibility]``,
        ``[adjustment]``, ``[outcomes]``, ``[follow_up]``)."""
        return _validate(parse_toml(text, what="emulation spec", where=where), where, None)


def _validate(document: dict[str, Any], where: str, base_dir: str | None) -> EmulationSpec:
    trial = dict(document.pop("trial", {}))
    spec = {**trial, **document, "base_dir": base_dir}
    try:
        return EmulationSpec.model_validate(spec)
    except ValidationError as error:
        raise ValueError(f"{where}: {describe_validation_errors(error, 'trial')}") from None


def load_emulation_spec(path: str | Path) -> EmulationSpec:
    """Read an emulated-trial spec from a TOML file (or a bundled preset's name).

    Raises
    ------
    ValueError
        Invalid TOML or an invalid field, naming the file and the field
        (``spec.toml: adjustment.caliper_sd: Input should be greater than 0``).
    """
    path = Path(path)
    if not path.suffix and not path.exists():
        return EmulationSpec.preset(str(path))
    document = read_toml(path, what="emulation spec")
    return _validate(document, str(path), str(path.parent))
