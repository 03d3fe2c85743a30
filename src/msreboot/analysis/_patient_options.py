"""Treatment options for one person, simulated with virtual patients like them.

Each option (AHSCT by regimen class, staying on the current DMT, switching to a
high-efficacy DMT class) is run through the simulator with the shipped calibration: for
each of ``draws`` parameter sets drawn by weight from the calibration posterior, the same
``patients_per_draw`` virtual patients matching the profile (paired across options by
their seeds) are followed for ten and a half years and analysed with the endpoint code
real cohorts get.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from msreboot.analysis._patient_profile import PatientProfile, projection_basics
from msreboot.data import Cohort, canonical_order
from msreboot.endpoints import EndpointDefinition, endpoint_times
from msreboot.protocols import load_protocols
from msreboot.simulate import (
    AHSCTCourse,
    DMTCourse,
    PopulationSpec,
    SimulationParameters,
    Treatment,
    simulate_cohort,
)

__all__ = [
    "HORIZONS_YEARS",
    "OUTCOMES",
    "REQUIRED_FOR_SIMULATION",
    "TimeZero",
    "TreatmentOption",
    "load_posterior_draws",
    "simulate_options",
    "treatment_options",
]

HORIZONS_YEARS: tuple[float, ...] = (2.0, 5.0, 10.0)
FOLLOW_UP_YEARS = 10.5
CURVE_YEARS = np.round(np.arange(0.0, 10.01, 0.25), 2)
REQUIRED_FOR_SIMULATION: tuple[str, ...] = (
    "sex",
    "disease_duration_years",
    "relapses_last_24_months",
    "hct_ci",
)
"""Fields the simulation needs besides age, EDSS and phenotype; when one is missing the
options are "unknown" (no population value is put in its place)."""

TimeZero = Literal["enrolment", "reinfusion"]
"""Where the outcomes' clock starts: at enrolment (the decision, every option alike), or
for AHSCT at reinfusion (as the published AHSCT studies count), DMT options still at
enrolment."""

OutcomeName = Literal[
    "no_confirmed_worsening", "no_relapse", "neda_3", "confirmed_improvement", "expected_edss"
]
OUTCOMES: dict[str, str] = {
    "no_confirmed_worsening": "free of confirmed disability worsening (EDSS, 12 weeks)",
    "no_relapse": "alive and free of relapses",
    "neda_3": "NEDA-3 (no relapse, no confirmed worsening, no new MRI activity after baseline)",
    "confirmed_improvement": "confirmed EDSS improvement of 1.0 or more (6 months)",
    "expected_edss": "expected EDSS (survivors)",
}
"""Outcome codes and their words, in the order shown."""

_AHSCT_PROTOCOLS = (
    ("ahsct_cy_atg", "AHSCT, cyclophosphamide + ATG", "mist_ahsct"),
    ("ahsct_beam_atg", "AHSCT, BEAM + ATG", "halt_ms"),
    ("ahsct_bu_cy_atg", "AHSCT, busulfan + cyclophosphamide + ATG", "atkins_2016"),
)
_SWITCHES = (
    ("switch_anti_cd20", "switch to an anti-CD20 antibody (ocrelizumab)", "ocrelizumab"),
    ("switch_natalizumab", "switch to natalizumab", "natalizumab"),
    ("switch_alemtuzumab", "switch to alemtuzumab", "alemtuzumab"),
    ("switch_cladribine", "switch to cladribine", "cladribine"),
    ("switch_s1p", "switch to an S1P modulator (fingolimod)", "fingolimod"),
)
_CLASS_OF = {
    "ocrelizumab": "ocrelizumab ofatumumab ublituximab rituximab",
    "fingolimod": "fingolimod siponimod ozanimod ponesimod",
}


@dataclass(frozen=True)
class TreatmentOption:
    """One option to compare.

    Attributes
    ----------
    name, label
        Code (``"ahsct_cy_atg"``, ``"stay"``, ``"switch_anti_cd20"``...) and words.
    kind
        ``"ahsct"`` or ``"dmt"`` (``"none"`` for staying untreated).
    drug
        The DMT, for DMT options.
    protocol
        The bundled protocol an AHSCT option follows (mobilisation, graft, conditioning).
    transplant_year
        The calendar year of the transplant, which the simulator's era effects read
        (AHSCT only; by default 2026, a transplant now).
    """

    name: str
    label: str
    kind: Literal["ahsct", "dmt", "none"]
    drug: str | None = None
    protocol: str | None = None
    transplant_year: int = 2026

    def treatment(self) -> Treatment:
        """The simulator's course for this option."""
        if self.kind == "dmt":
            return DMTCourse(self.drug, protocol=self.name)  # type: ignore[arg-type]
        if self.kind == "none":
            return None
        fields = load_protocols()[str(self.protocol)].treatment_fields().iloc[0]
        return AHSCTCourse(
            conditioning_regimen=str(fields["conditioning_regimen"]),  # type: ignore[arg-type]
            conditioning_intensity=str(fields["conditioning_intensity"]),  # type: ignore[arg-type]
            mobilisation_regimen=str(fields["mobilisation_regimen"]),  # type: ignore[arg-type]
            cd34_selected=bool(fields["cd34_selected"]),
            transplant_year=self.transplant_year,
            protocol=self.protocol,
        )


def treatment_options(profile: PatientProfile) -> tuple[TreatmentOption, ...]:
    """AHSCT by regimen class, staying on the current DMT (or untreated), and switching to
    each high-efficacy DMT class other than the current one's."""
    options = [
        TreatmentOption(name, label, "ahsct", protocol=protocol)
        for name, label, protocol in _AHSCT_PROTOCOLS
    ]
    current = profile.current_dmt
    if current == "none":
        options.append(TreatmentOption("stay", "stay without a DMT", "none"))
    elif current is not None:
        words = current.replace("_", " ")
        options.append(TreatmentOption("stay", f"stay on {words}", "dmt", drug=current))
    for name, label, drug in _SWITCHES:
        if current is None or current not in _CLASS_OF.get(drug, drug).split():
            options.append(TreatmentOption(name, label, "dmt", drug=drug))
    return tuple(options)


def load_posterior_draws(draws: int, seed: int) -> pd.DataFrame:
    """``draws`` parameter rows drawn by weight (with replacement) from the shipped
    calibration posterior (:meth:`SimulationParameters.posterior_draws`, from
    ``SeedSequence(seed, spawn_key=(1,))``), with the parameters the calibrated set takes
    from the fit only (``calibrated_only``): a parameter whose meaning changed since the
    fit keeps its current value, as in the calibrated set, rather than a stale draw."""
    sequence = np.random.SeedSequence(seed, spawn_key=(1,))
    draws_frame = SimulationParameters.posterior_draws(draws, sequence, calibrated_only=True)
    return draws_frame.drop(columns="particle")


def population_for(profile: PatientProfile, base: SimulationParameters) -> PopulationSpec:
    """Virtual patients with this person's baseline (see :func:`simulate_options`)."""
    age, edss, phenotype = projection_basics(profile)
    duration = float(profile.disease_duration_years or 0.0)
    prior = len(profile.prior_dmts or ()) + (0 if profile.current_dmt in (None, "none") else 1)
    on_dmt = profile.current_dmt not in (None, "none")
    rate_ratio = float(getattr(base, f"dmt_{profile.current_dmt}_rate_ratio")) if on_dmt else 1.0
    return PopulationSpec(
        age_mean_years=age,
        age_sd_years=0.0,
        age_range_years=(age - 0.5, age + 0.5),
        female_probability=1.0 if profile.sex == "female" else 0.0,
        rrms_share=1.0 if phenotype == "RRMS" else 0.0,
        spms_share=1.0 if phenotype == "SPMS" else 0.0,
        ppms_share=1.0 if phenotype == "PPMS" else 0.0,
        duration_median_years=max(duration, 0.05),
        duration_sdlog=0.0,
        duration_range_years=(max(0.0, duration - 0.25), duration + 0.25),
        edss_mean=edss,
        edss_sd=0.0,
        edss_range=(max(0.0, edss - 0.25), min(9.5, edss + 0.25)),
        # the 24-month count covers the whole disease when it began less than 2 years ago
        prior_relapse_window_years=min(2.0, max(duration, 0.25)),
        min_prior_relapses=int(profile.relapses_last_24_months or 0),
        max_prior_relapses=int(profile.relapses_last_24_months or 0),
        prior_relapse_rate_ratio=rate_ratio,
        min_gd_lesions=int(profile.gd_lesions or 0),
        prior_dmt_mean=0.0,
        min_prior_dmts=prior,
        hct_ci_mean=float(profile.hct_ci or 0),
    )


def _definitions() -> dict[str, EndpointDefinition]:
    preset = EndpointDefinition.preset("neda_3")
    # the scan of day 0 is the baseline the option starts from, not activity under it
    neda = preset.model_copy(
        update={
            "name": "patient_neda_3",
            "components": tuple(
                c.model_copy(update={"from_days": 1.0}) if c.kind == "mri" else c
                for c in preset.components
            ),
        }
    )
    disability = next(c for c in neda.components if c.kind == "disability")
    cdw = EndpointDefinition(
        name="patient_cdw",
        title="Confirmed disability worsening (msprog thresholds, 12-week confirmation)",
        components=(disability,),
        death="censor",
        citation="Montobbio N et al. Mult Scler 2024. doi:10.1177/13524585241243157",
    )
    return {
        "no_confirmed_worsening": cdw,
        "no_relapse": EndpointDefinition.preset("relapse_free"),
        "neda_3": neda,
        "confirmed_improvement": EndpointDefinition.preset("burt_2015_improvement"),
    }


def _km(times: np.ndarray, events: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Kaplan-Meier survival at ``at`` (product over event times <= t of 1 - d/n)."""
    order = np.argsort(times, kind="stable")
    t, e = times[order], events[order]
    unique, first = np.unique(t, return_index=True)
    at_risk = t.size - first
    deaths = np.add.reduceat(e.astype(float), first) if t.size else np.zeros(0)
    surv = np.cumprod(1.0 - deaths / at_risk)
    idx = np.searchsorted(unique, at, side="right") - 1
    return np.where(idx >= 0, surv[np.clip(idx, 0, None)] if surv.size else 1.0, 1.0)


@dataclass(frozen=True)
class OptionRuns:
    """Per draw results of one option (internal to the projection)."""

    option: TreatmentOption
    outcomes: pd.DataFrame  # draw, outcome, years, value, n
    curves: pd.DataFrame  # draw, years, survival (free of confirmed worsening)
    risks: pd.DataFrame  # draw, risk, value, n


def simulate_options(
    profile: PatientProfile,
    options: Sequence[TreatmentOption],
    *,
    draws: int = 10,
    patients_per_draw: int = 200,
    seed: int = 2026,
    progress: Callable[[int, int], None] | None = None,
    time_zero: TimeZero = "enrolment",
) -> list[OptionRuns]:
    """Simulate every option under ``draws`` posterior parameter sets.

    The same patients (seed ``SeedSequence(seed, spawn_key=(0, d))`` for draw ``d``) are
    given every option, so differences between options carry less Monte Carlo noise.
    Outcomes are counted from ``time_zero`` (:data:`TimeZero`); from reinfusion, a virtual
    patient not transplanted is left out of the AHSCT outcomes (not of its risks).
    ``progress`` is called with ``(simulations done, simulations planned)`` after each
    option's draw (``len(options) * draws`` in all); an exception it raises stops the run.
    """
    with _one_thread():
        return _simulate_options(
            profile, options, draws, patients_per_draw, seed, progress, time_zero
        )


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run the simulator's small calls on one thread of this caller, then restore.

    Each draw is a call of a few hundred patients, where starting the parallel threads
    costs more than it saves (measured: 8.4 s on one thread against 12.5 s on two for the
    benchmark projection, on 2 loaded cores). ``numba.set_num_threads`` is per calling
    thread, so other threads are unaffected.
    """
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def _simulate_options(
    profile: PatientProfile,
    options: Sequence[TreatmentOption],
    draws: int,
    patients_per_draw: int,
    seed: int,
    progress: Callable[[int, int], None] | None = None,
    time_zero: TimeZero = "enrolment",
) -> list[OptionRuns]:
    base = SimulationParameters.preset("calibrated")
    posterior = load_posterior_draws(draws, seed)
    population = population_for(profile, base)
    definitions = _definitions()
    runs: list[OptionRuns] = []
    for option in options:
        treatment = option.treatment()
        cohorts = []
        kept: list[pd.Series] = []
        for d, values in enumerate(posterior.to_dict("records")):
            params = base.replace(**{str(k): float(v) for k, v in values.items()})
            sim = simulate_cohort(
                patients_per_draw,
                population,
                treatment,
                None,
                FOLLOW_UP_YEARS,
                params,
                seed=np.random.SeedSequence(seed, spawn_key=(0, d)),
                id_prefix=f"D{d:03d}_",
                validate=False,
            )
            cohorts.append(sim.cohort)
            truth = sim.truth
            keep = truth["hct_ci"] == (profile.hct_ci or 0)
            kept.append(pd.Series(d, index=truth.loc[keep, "patient_id"].astype(str)))
            if progress is not None:
                progress(len(runs) * len(posterior) + d + 1, len(options) * len(posterior))
        draw_of = pd.concat(kept)
        tables = {
            name: pd.concat([c.tables[name] for c in cohorts], ignore_index=True)
            for name in cohorts[0].tables
        }
        for name, frame in tables.items():
            if "patient_id" in frame:
                tables[name] = frame[frame["patient_id"].astype(str).isin(draw_of.index)]
        cohort = Cohort.from_canonical(canonical_order(tables), "day")
        runs.append(_summarise(option, cohort, draw_of, definitions, time_zero))
    return runs


def _summarise(
    option: TreatmentOption,
    cohort: Cohort,
    draw_of: pd.Series,
    definitions: dict[str, EndpointDefinition],
    time_zero: TimeZero = "enrolment",
) -> OptionRuns:
    everyone = draw_of
    zero = _zero_day(option, cohort, draw_of, time_zero)
    draw_of = draw_of[zero.notna().to_numpy()]
    zero = zero.dropna()
    anchor = pd.DataFrame({"patient_id": draw_of.index.to_numpy(), "anchor_date": zero.to_numpy()})
    horizons = np.asarray(HORIZONS_YEARS)
    rows: list[dict[str, object]] = []
    curves: list[pd.DataFrame] = []
    for outcome, definition in definitions.items():
        frame = endpoint_times(cohort, definition, anchor=anchor).patients
        draw = draw_of.reindex(frame["patient_id"].astype(str)).to_numpy()
        time = frame["time_years"].to_numpy(dtype=float)
        event = frame["event"].to_numpy(dtype=bool)
        for d in np.unique(draw):
            mask = draw == d
            surv = _km(time[mask], event[mask], horizons)
            value = 1.0 - surv if outcome == "confirmed_improvement" else surv
            for years, v in zip(horizons, value, strict=True):
                rows.append(
                    {
                        "draw": int(d),
                        "outcome": outcome,
                        "years": float(years),
                        "value": float(v),
                        "n": int(mask.sum()),
                    }
                )
            if outcome == "no_confirmed_worsening":
                curves.append(
                    pd.DataFrame(
                        {
                            "draw": int(d),
                            "years": CURVE_YEARS,
                            "survival": _km(time[mask], event[mask], CURVE_YEARS),
                        }
                    )
                )
    rows += _expected_edss(cohort, draw_of, horizons, zero)
    return OptionRuns(option, pd.DataFrame(rows), pd.concat(curves), _risks(cohort, everyone))


def _zero_day(
    option: TreatmentOption, cohort: Cohort, draw_of: pd.Series, time_zero: TimeZero
) -> pd.Series:
    """Each patient's day 0 of the outcomes: enrolment (day 0), or for an AHSCT option
    the reinfusion (the AHSCT course's start; NaN for a patient never transplanted)."""
    if time_zero == "enrolment" or option.kind != "ahsct":
        return pd.Series(0.0, index=draw_of.index)
    courses = cohort.table("treatments")
    courses = courses[courses["kind"] == "ahsct"]
    first = courses.groupby(courses["patient_id"].astype(str))["start_date"].min()
    return first.reindex(draw_of.index).astype(float)


def _expected_edss(
    cohort: Cohort, draw_of: pd.Series, horizons: np.ndarray, zero: pd.Series
) -> list[dict[str, object]]:
    edss = cohort.table("edss")[["patient_id", "date", "edss"]]
    edss = edss[edss["patient_id"].astype(str).isin(zero.index)]
    edss = edss.assign(date=edss["date"] - zero.reindex(edss["patient_id"].astype(str)).to_numpy())
    deaths = cohort.table("deaths").set_index("patient_id")["date"]
    deaths = deaths - zero.reindex(deaths.index.astype(str)).to_numpy()
    rows: list[dict[str, object]] = []
    for years in horizons:
        day = years * 365.25
        window = edss[(edss["date"] <= day) & (edss["date"] > day - 365.25)]
        last = window.sort_values("date").groupby("patient_id", sort=False)["edss"].last()
        died = deaths.reindex(last.index)
        last = last[~(died <= day).fillna(False).to_numpy(dtype=bool)]
        by_draw = last.groupby(draw_of.reindex(last.index.astype(str)).to_numpy())
        for d, values in by_draw:
            rows.append(
                {
                    "draw": int(d),
                    "outcome": "expected_edss",
                    "years": float(years),
                    "value": float(values.mean()),
                    "n": len(values),
                    "sd": float(values.std(ddof=1)) if len(values) > 1 else float("nan"),
                }
            )
    return rows


_RISK_CATEGORIES = {
    "febrile_neutropenia": "febrile_neutropenia",
    "viral_reactivation": "viral_reactivation",
    "secondary_autoimmunity": "secondary_autoimmunity",
}


def _risks(cohort: Cohort, draw_of: pd.Series) -> pd.DataFrame:
    deaths = cohort.table("deaths")
    events = cohort.table("adverse_events")
    counts = draw_of.groupby(draw_of).size()
    rows = []
    trm = deaths[deaths["transplant_related"].fillna(False).astype(bool)]
    per_risk = {"trm": set(trm["patient_id"].astype(str))}
    for risk, category in _RISK_CATEGORIES.items():
        per_risk[risk] = set(events.loc[events["category"] == category, "patient_id"].astype(str))
    for risk, who in per_risk.items():
        hit = draw_of[draw_of.index.isin(list(who))].value_counts()
        for d, n in zip(counts.index.to_numpy(), counts.to_numpy(), strict=True):
            rows.append(
                {"draw": int(d), "risk": risk, "value": float(hit.get(d, 0)) / n, "n": int(n)}
            )
    return pd.DataFrame(rows)
