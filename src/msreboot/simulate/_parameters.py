"""Every parameter of the virtual-patient model in one immutable, documented set.

Each parameter carries its unit (also in its name: ``_per_year``, ``_per_day``,
``_days``, ``_years``, ``_per_ul``; dimensionless values end in ``_ratio`` or
``_probability``), its default value and its basis: ``published`` (the number is taken
from the cited source), ``calibrated`` (tuned so that the simulator reproduces the cited
published figure) or ``assumed`` (a starting value for calibration, not a fact). Sources
refer to ``docs/domain/simulator.md`` and ``evidence.md`` of the project.
"""

from __future__ import annotations

import functools
import html
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from msreboot.data import read_toml

__all__ = ["ParameterBasis", "SimulationParameters"]

ParameterBasis = Literal["published", "calibrated", "assumed"]

# sources (short citations; the full references are in the domain notes)
_LONDON = "London, Ontario natural history (evidence.md, simulator.md)"
_VELEZ = "Velez de Mendizabal et al., PLoS One 2013;8:e73361 (simulator.md)"
_WALES = "south-east Wales EDSS mortality multipliers (simulator.md)"
_SPMS = "SPMS trajectory classes (simulator.md)"
_NMA = "DMT network meta-analysis, rate ratios versus placebo (evidence.md)"
_PLATFORM = "platform injectables about 0.7 (simulator.md)"
_RDB = "Ribeiro & De Boer, thymic output and naive T-cell turnover (simulator.md)"
_FRIBERG = "Friberg et al., J Clin Oncol 2002;20:4713 (simulator.md)"
_SORMANI = "Sormani et al., Neurology 2017;88:2115 (evidence.md)"


def _p(
    value: float,
    unit: str,
    basis: ParameterBasis,
    source: str,
    description: str,
    *,
    ge: float | None = 0.0,
    le: float | None = None,
    gt: float | None = None,
) -> Any:
    return Field(
        default=value,
        ge=ge if gt is None else None,
        gt=gt,
        le=le,
        description=description,
        json_schema_extra={"unit": unit, "basis": basis, "source": source},
    )


def _prob(value: float, basis: ParameterBasis, source: str, description: str) -> Any:
    return _p(value, "probability", basis, source, description, le=1.0)


def _rr(value: float, basis: ParameterBasis, source: str, description: str) -> Any:
    return _p(value, "ratio", basis, source, description)


class SimulationParameters(BaseModel):
    """The parameters of the virtual-patient model (disease backbone and treatments).

    Build the default set with :meth:`default`, change values with :meth:`replace`
    (validated), list them with :meth:`to_frame`. The object is immutable and hashable,
    so one set can be shared by threads, replicates and Spark tasks.

    Notes
    -----
    Reference patient for rates: RRMS, 30 years old at onset, inflammatory propensity 1.
    Transplant hazards are relative to age 35, EDSS 4.0, HCT-CI 0, relapsing disease and
    the year 2015. Every "assumed" value is a prior centre for calibration.

    Examples
    --------
    >>> params = SimulationParameters.default()
    >>> params.gd_ar1_ratio
    0.447
    >>> frame = params.to_frame()
    >>> list(frame.columns)
    ['name', 'value', 'unit', 'basis', 'source', 'description']
    >>> params.replace(relapse_rate_onset_per_year=1.2).relapse_rate_onset_per_year
    1.2
    >>> SimulationParameters.preset("default") == params
    True
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # -- relapses -------------------------------------------------------------------
    relapse_rate_onset_per_year: float = _p(
        1.05,
        "1/year",
        "calibrated",
        _LONDON + ": ARR 0.93 in the first 2 years",
        "Untreated relapse rate at onset of the reference patient.",
    )
    relapse_rate_duration_decline_per_year: float = _p(
        0.022,
        "1/year",
        "calibrated",
        _LONDON + ": ARR 0.65 over the relapsing phase",
        "Exponential decline of the relapse rate per year of disease duration.",
    )
    relapse_rate_age_decline_per_year: float = _p(
        0.01,
        "1/year",
        "assumed",
        "relapse rates fall with age (simulator.md)",
        "Exponential decline of the relapse rate per year of age above 30.",
    )
    relapse_rate_spms_ratio: float = _rr(
        0.35,
        "calibrated",
        "SPMS ARR about 0.2 (simulator.md)",
        "Relapse (and MRI activity) rate in SPMS relative to the relapsing phase.",
    )
    relapse_rate_ppms_ratio: float = _rr(
        0.15, "assumed", "assumed", "Relapse and MRI activity rate in PPMS relative to RRMS."
    )
    inflammatory_propensity_cv_ratio: float = _p(
        0.66,
        "ratio",
        "published",
        _VELEZ + ": between-patient CV of lambda0 about 66%",
        "Coefficient of variation of the gamma-distributed inflammatory propensity "
        "(relapses and Gd+ lesions; gives negative-binomial counts).",
        gt=0.0,
    )
    recent_activity_cv_ratio: float = _p(
        0.5,
        "ratio",
        "assumed",
        "switch-time regression to the mean (issue 20): patients start a new therapy at a "
        "peak of activity (assumed)",
        "Between-patient CV of the recent-activity factor (gamma, mean 1) that multiplies "
        "the inflammatory rate in the window before enrolment and at enrolment; eligibility "
        "on recent relapses or Gd+ lesions selects high values. Part of "
        "inflammatory_propensity_cv_ratio (the CV of the activity at a time): the "
        "persistent propensity has CV sqrt((1 + cv^2) / (1 + cv_recent^2) - 1).",
    )
    recent_activity_decay_years: float = _p(
        0.75,
        "years",
        "assumed",
        "assumed",
        "Time constant of the return of the recent-activity factor to 1 after enrolment "
        "(regression to the mean).",
        gt=0.0,
    )
    relapse_min_gap_days: float = _p(
        30.0,
        "days",
        "assumed",
        "usual relapse definition (new symptoms > 30 days apart)",
        "Attacks starting within this many days of the previous onset are the same relapse.",
    )
    relapse_residual_probability: float = _prob(
        0.42,
        "assumed",
        "after Lublin et al., Neurology 2003 (residual deficit in 42%)",
        "Probability that a relapse leaves a residual EDSS step (incomplete recovery).",
    )
    relapse_residual_mean_edss: float = _p(
        0.3,
        "EDSS points",
        "assumed",
        "assumed",
        "Mean residual EDSS step after incomplete recovery (exponential).",
    )
    relapse_peak_mean_edss: float = _p(
        1.0,
        "EDSS points",
        "assumed",
        "assumed",
        "Mean transient EDSS rise during an attack (seen at visits during the relapse).",
    )
    relapse_duration_mean_days: float = _p(
        45.0, "days", "assumed", "assumed", "Mean duration of an attack (exponential, >= 7 days)."
    )
    relapse_end_recorded_probability: float = _prob(
        0.7, "assumed", "assumed", "Probability that a relapse's end date is recorded."
    )
    # -- MRI ------------------------------------------------------------------------
    gd_lambda0_per_month: float = _p(
        0.923,
        "lesions/month",
        "published",
        _VELEZ,
        "Baseline monthly rate of new Gd+ lesions in active untreated RRMS.",
    )
    gd_ar1_ratio: float = _p(
        0.447,
        "ratio",
        "published",
        _VELEZ,
        "Dependence on the previous month's new Gd+ count.",
        le=1.0,
    )
    gd_ar2_ratio: float = _p(
        0.150, "ratio", "published", _VELEZ, "Dependence on the count two months before.", le=1.0
    )
    gd_overdispersion_ratio: float = _p(
        0.132,
        "ratio",
        "published",
        _VELEZ,
        "Negative-binomial overdispersion: variance = lambda (1 + k lambda).",
    )
    gd_activity_ratio: float = _rr(
        0.3,
        "assumed",
        "Gd+ lesions 4-10 times more frequent than relapses (simulator.md)",
        "Gd+ activity of the reference patient relative to the active untreated RRMS of "
        "Velez de Mendizabal (scales lambda0 with the patient's inflammatory rate).",
    )
    new_t2_per_gd_ratio: float = _prob(
        0.9,
        "assumed",
        "new T2 lesions follow Gd+ activity (simulator.md)",
        "Probability that a new Gd+ lesion is seen as a new T2 lesion at the next scan.",
    )
    t2_at_onset_lesions: float = _p(
        4.0, "lesions", "assumed", "assumed", "Mean T2 lesion count at onset (negative binomial)."
    )
    t2_accrual_lesions_per_year: float = _p(
        2.0,
        "lesions/year",
        "assumed",
        "assumed",
        "Mean T2 lesions added per year of disease before baseline.",
    )
    # -- disability -----------------------------------------------------------------
    pira_relapsing_edss_per_year: float = _p(
        0.14,
        "EDSS points/year",
        "calibrated",
        _LONDON + ": onset to EDSS 3 median 10 years",
        "Relapse-independent progression in the relapsing phase at age 40 (latent mean).",
    )
    pira_age_increase_per_year: float = _p(
        0.04,
        "1/year",
        "assumed",
        "progression rises with age (simulator.md)",
        "Log-rate increase of relapsing-phase progression per year of age.",
    )
    pira_edss_increase_per_point: float = _p(
        1.0,
        "1/EDSS point",
        "assumed",
        "progression rises with EDSS (simulator.md)",
        "Log-rate increase of relapsing-phase progression per EDSS point above 3.",
        ge=None,
    )
    progression_above_edss_7_ratio: float = _rr(
        0.5,
        "assumed",
        "onset to EDSS 6 / 8 median 18 / 28 years (evidence.md)",
        "Progression rate above EDSS 7 relative to below (long stays at EDSS 7-8.5).",
    )
    neurodegeneration_cv_ratio: float = _p(
        0.7,
        "ratio",
        "assumed",
        "assumed",
        "Between-patient CV of the neurodegeneration rate (log-normal, mean 1).",
        gt=0.0,
    )
    progressive_class_correlation_ratio: float = _p(
        1.0,
        "ratio",
        "assumed",
        "assumed",
        "Correlation between the neurodegeneration rate and the progressive class (on the "
        "normal scale): patients who progress faster while relapsing convert sooner and "
        "fall in faster progressive classes.",
        le=1.0,
    )
    spms_slow_edss_per_year: float = _p(
        0.11, "EDSS points/year", "published", _SPMS, "Progression of the slow SPMS class."
    )
    spms_medium_edss_per_year: float = _p(
        0.30, "EDSS points/year", "published", _SPMS, "Progression of the medium SPMS class."
    )
    spms_fast_edss_per_year: float = _p(
        1.33, "EDSS points/year", "published", _SPMS, "Progression of the fast SPMS class."
    )
    spms_slow_share_probability: float = _prob(
        0.34, "published", _SPMS, "Share of progressive patients in the slow class."
    )
    spms_medium_share_probability: float = _prob(
        0.38, "published", _SPMS, "Share in the medium class (the rest, 0.28, fast)."
    )
    spms_conversion_scale_years: float = _p(
        30.0,
        "years",
        "calibrated",
        _LONDON + ": median time to SPMS 15 years",
        "Weibull scale of the time from onset to SPMS for the reference patient.",
        gt=0.0,
    )
    spms_conversion_shape_ratio: float = _p(
        2.0, "ratio", "assumed", "assumed", "Weibull shape of the time to SPMS.", gt=0.0
    )
    spms_conversion_age_log_hr_per_year: float = _p(
        0.03,
        "1/year",
        "assumed",
        "older onset converts sooner (assumed)",
        "Log hazard ratio of conversion per year of age above 30.",
        ge=None,
    )
    spms_conversion_edss_log_hr_per_point: float = _p(
        1.0,
        "1/EDSS point",
        "assumed",
        "assumed",
        "Log hazard ratio of conversion per EDSS point above 3.",
        ge=None,
    )
    progression_inflammatory_share_relapsing_ratio: float = _prob(
        0.8,
        "calibrated",
        "platform DMT (rate ratio 0.7) about 24% slower progression, UK risk-sharing "
        "scheme (simulator.md): 0.8 x 0.3 = 0.24",
        "Share of relapsing-phase progression (and of the SPMS conversion hazard) that "
        "follows inflammatory activity (scaled by the treatment's inflammatory rate ratio).",
    )
    progression_inflammatory_share_progressive_ratio: float = _prob(
        0.3,
        "assumed",
        "progression continues at a reduced rate after AHSCT (simulator.md)",
        "Share of progressive-phase progression that follows inflammatory activity, for a "
        "patient of reference activity, age 40, SPMS, one prior DMT and EDSS 4 (the "
        "modifiers below move it on the log-odds scale).",
    )
    progression_share_activity_log_odds: float = _p(
        0.8,
        "log odds ratio",
        "assumed",
        "benefit of AHSCT depends on inflammatory activity (simulator.md; Muraro 2017 "
        "directions, evidence.md)",
        "Log odds ratio of the inflammation-driven share per unit log of the patient's "
        "inflammatory activity at enrolment (propensity times recent-activity factor).",
        ge=None,
    )
    progression_share_age_log_odds_per_decade: float = _p(
        -0.4,
        "1/decade",
        "assumed",
        "younger patients do better after AHSCT (Muraro 2017, evidence.md)",
        "Log odds ratio of the inflammation-driven share per 10 years of age above 40.",
        ge=None,
    )
    progression_share_ppms_log_odds: float = _p(
        -0.7,
        "log odds ratio",
        "assumed",
        "progressive MS does worse after AHSCT (Muraro 2017, evidence.md)",
        "Log odds ratio of the inflammation-driven share in PPMS against SPMS.",
        ge=None,
    )
    progression_share_prior_dmt_log_odds: float = _p(
        -0.2,
        "log odds ratio",
        "assumed",
        "more prior DMTs, worse PFS after AHSCT (Muraro 2017, evidence.md)",
        "Log odds ratio of the inflammation-driven share (both phases) per prior DMT above 1.",
        ge=None,
    )
    progression_share_edss_log_odds_per_point: float = _p(
        -0.2,
        "1/EDSS point",
        "assumed",
        "higher EDSS, worse outcome after AHSCT (Muraro 2017, evidence.md)",
        "Log odds ratio of the inflammation-driven share (both phases) per EDSS point above "
        "4 at enrolment.",
        ge=None,
    )
    reversible_edss_share_rrms_ratio: float = _prob(
        0.45,
        "calibrated",
        "hand-tuned between MIST year-1 mean EDSS after AHSCT (3.38 -> 2.36) and Burt 2015 "
        "EDSS improvement >= 1.0 (41 patients at 2 years) (evidence.md); a prior for the "
        "refit",
        "Share of baseline EDSS in RRMS that is inflammatory damage "
        "(recoverable, by the patient's remyelination capacity).",
    )
    reversible_edss_share_spms_ratio: float = _prob(
        0.15,
        "calibrated",
        "a third of the RRMS share (assumed ratio); Atkins 2016 sustained improvement 35% "
        "(half SPMS, evidence.md)",
        "As above, SPMS.",
    )
    reversible_edss_share_ppms_ratio: float = _prob(0.05, "assumed", "assumed", "As above, PPMS.")
    recovery_rate_per_year: float = _p(
        1.5,
        "1/year",
        "assumed",
        "assumed",
        "Rate at which recoverable damage recovers when inflammation is fully suppressed "
        "(scaled by (1 - inflammatory rate ratio)^2).",
    )
    remyelination_age_decline_per_year: float = _p(
        0.03,
        "1/year",
        "assumed",
        "remyelination falls with age (simulator.md)",
        "Log decline of remyelination capacity per year of age above 30.",
    )
    remyelination_duration_decline_per_year: float = _p(
        0.05,
        "1/year",
        "assumed",
        "remyelination falls with duration (simulator.md)",
        "Log decline of remyelination capacity per year of disease duration.",
    )
    remyelination_cv_ratio: float = _p(
        0.3, "ratio", "assumed", "assumed", "Between-patient CV of remyelination capacity."
    )
    edss_rater_half_point_probability: float = _prob(
        0.15,
        "assumed",
        "scores +/- 0.5 on different days are common (simulator.md)",
        "Probability that a rater scores one grid step above (and, separately, below).",
    )
    edss_rater_one_point_probability: float = _prob(
        0.02, "assumed", "assumed", "Probability of two grid steps above (and below)."
    )
    # -- mortality ------------------------------------------------------------------
    mortality_female_at_40_per_year: float = _p(
        0.0009,
        "1/year",
        "assumed",
        "Gompertz approximation of UK national life tables",
        "Background mortality of women aged 40.",
    )
    mortality_male_at_40_per_year: float = _p(
        0.0015,
        "1/year",
        "assumed",
        "Gompertz approximation of UK national life tables",
        "Background mortality of men aged 40.",
    )
    mortality_gompertz_slope_per_year: float = _p(
        0.095,
        "1/year",
        "assumed",
        "Gompertz approximation of UK national life tables",
        "Log increase of background mortality per year of age.",
    )
    mortality_edss_7_ratio: float = _rr(2.1, "published", _WALES, "Mortality ratio at EDSS 7-7.5.")
    mortality_edss_8_ratio: float = _rr(3.4, "published", _WALES, "Mortality ratio at EDSS 8-8.5.")
    mortality_edss_9_ratio: float = _rr(39.5, "published", _WALES, "Mortality ratio at EDSS 9-9.5.")
    # -- disease-modifying therapy (rate ratios on relapses and MRI activity) ---------
    dmt_interferon_beta_rate_ratio: float = _rr(0.7, "published", _PLATFORM, "Interferon beta.")
    dmt_glatiramer_rate_ratio: float = _rr(0.7, "published", _PLATFORM, "Glatiramer acetate.")
    dmt_teriflunomide_rate_ratio: float = _rr(
        0.7, "assumed", "assumed (as platform)", "Teriflunomide."
    )
    dmt_dimethyl_fumarate_rate_ratio: float = _rr(0.5, "assumed", "assumed", "Dimethyl fumarate.")
    dmt_diroximel_fumarate_rate_ratio: float = _rr(
        0.5, "assumed", "assumed (as DMF)", "Diroximel fumarate."
    )
    dmt_fingolimod_rate_ratio: float = _rr(0.42, "published", _NMA, "Fingolimod.")
    dmt_siponimod_rate_ratio: float = _rr(0.45, "assumed", "assumed (S1P modulator)", "Siponimod.")
    dmt_ozanimod_rate_ratio: float = _rr(0.45, "assumed", "assumed (S1P modulator)", "Ozanimod.")
    dmt_ponesimod_rate_ratio: float = _rr(0.45, "assumed", "assumed (S1P modulator)", "Ponesimod.")
    dmt_cladribine_rate_ratio: float = _rr(0.45, "assumed", "assumed", "Cladribine.")
    dmt_natalizumab_rate_ratio: float = _rr(0.32, "published", _NMA, "Natalizumab.")
    dmt_ocrelizumab_rate_ratio: float = _rr(0.34, "published", _NMA, "Ocrelizumab.")
    dmt_ofatumumab_rate_ratio: float = _rr(0.30, "published", _NMA, "Ofatumumab.")
    dmt_ublituximab_rate_ratio: float = _rr(0.34, "assumed", "assumed (anti-CD20)", "Ublituximab.")
    dmt_rituximab_rate_ratio: float = _rr(0.34, "assumed", "assumed (anti-CD20)", "Rituximab.")
    dmt_alemtuzumab_rate_ratio: float = _rr(0.28, "published", _NMA, "Alemtuzumab.")
    dmt_mitoxantrone_rate_ratio: float = _rr(0.4, "assumed", "assumed", "Mitoxantrone.")
    dmt_cyclophosphamide_rate_ratio: float = _rr(0.5, "assumed", "assumed", "Cyclophosphamide.")
    dmt_other_rate_ratio: float = _rr(0.7, "assumed", "assumed", "Other.")
    dmt_partial_response_probability: float = _prob(
        0.25,
        "assumed",
        "responders / partial / non-responders (issue 20; assumed)",
        "Share of patients on a DMT with a partial response (half the drug's log rate "
        "ratio). The responders' rate ratio is solved so that the mean over patients is the "
        "drug's published rate ratio.",
    )
    dmt_non_response_probability: float = _prob(
        0.15,
        "assumed",
        "assumed",
        "Share of non-responders (rate ratio 1); capped per drug so that the responders' "
        "rate ratio stays >= 0.02 (a drug with rate ratio 0.28 cannot have 15% "
        "non-responders).",
    )
    dmt_discontinuation_per_year: float = _p(
        0.05,
        "1/year",
        "assumed",
        "assumed",
        "Hazard of stopping the DMT; off the drug the untreated rate returns (no switch, no "
        "rebound). The treatments table's end_date is the day it stops.",
    )
    # -- AHSCT: procedure ------------------------------------------------------------
    enrolment_to_mobilisation_days: float = _p(
        14.0, "days", "assumed", "assumed", "Days from enrolment to the start of mobilisation."
    )
    mobilisation_to_conditioning_days: float = _p(
        35.0, "days", "assumed", "assumed", "Days from mobilisation to the start of conditioning."
    )
    mobilisation_flare_g_csf_probability: float = _prob(
        0.10,
        "assumed",
        "G-CSF alone risks an MS flare (simulator.md)",
        "Probability of a relapse in the 3-14 days after G-CSF-only mobilisation.",
    )
    mobilisation_flare_cy_g_csf_probability: float = _prob(
        0.01,
        "assumed",
        "cyclophosphamide + G-CSF is standard (simulator.md)",
        "The same with cyclophosphamide + G-CSF.",
    )
    neutrophil_transit_days: float = _p(
        124.0 / 24.0,
        "days",
        "published",
        _FRIBERG + ": mean transit time about 124 h",
        "Mean transit time of the myelosuppression model (proliferating + 3 transit compartments).",
        gt=0.0,
    )
    neutrophil_feedback_ratio: float = _p(
        0.24, "ratio", "published", _FRIBERG, "Feedback exponent gamma (ANC0 / ANC)^gamma."
    )
    neutrophil_feedback_floor_ratio: float = _p(
        0.05,
        "ratio",
        "calibrated",
        "engraftment in about 8-13 days (simulator.md)",
        "ANC (relative to baseline) below which the feedback stops rising.",
        gt=0.0,
        le=1.0,
    )
    graft_seed_per_cd34_ratio: float = _p(
        1e-4,
        "per 10^6 CD34+/kg",
        "calibrated",
        "engraftment in about 8-13 days (simulator.md)",
        "Proliferating marrow compartment at day 0 (relative to steady state) per 10^6 "
        "CD34+ cells/kg reinfused.",
        gt=0.0,
    )
    graft_seed_cv_ratio: float = _p(
        0.5, "ratio", "assumed", "assumed", "Between-patient CV of the graft's marrow seeding."
    )
    host_marrow_high_ratio: float = _p(
        0.0, "ratio", "assumed", "assumed", "Host marrow left after high-intensity conditioning."
    )
    host_marrow_intermediate_myeloablative_ratio: float = _p(
        0.0, "ratio", "assumed", "assumed", "As above, intermediate myeloablative (BEAM)."
    )
    host_marrow_intermediate_lymphoablative_ratio: float = _p(
        2e-4,
        "ratio",
        "assumed",
        "cyclophosphamide 200 mg/kg is not myeloablative",
        "As above, intermediate lymphoablative (Cy 200 mg/kg + ATG).",
    )
    host_marrow_low_ratio: float = _p(
        2e-3, "ratio", "assumed", "assumed", "As above, low intensity."
    )
    g_csf_transit_ratio: float = _rr(
        0.8,
        "assumed",
        "G-CSF speeds neutrophil recovery (simulator.md)",
        "Mean transit time with G-CSF after reinfusion, relative to without.",
    )
    anc_day0_ratio: float = _p(
        0.05, "ratio", "assumed", "assumed", "ANC at day 0 relative to baseline.", le=1.0
    )
    anc_baseline_1e9_per_l: float = _p(
        4.0, "10^9/L", "assumed", "assumed", "Baseline ANC (engraftment: ANC > 0.5).", gt=0.5
    )
    discharge_after_engraftment_days: float = _p(
        6.0,
        "days",
        "assumed",
        "hospital stay 3-4 weeks (HALT-MS, evidence.md)",
        "Mean days from engraftment to discharge (at least 1).",
    )
    # -- AHSCT: immune reconstitution ----------------------------------------------
    naive_cd4_per_ul: float = _p(
        400.0, "cells/ul", "published", _RDB, "Steady-state naive CD4 count.", gt=0.0
    )
    thymic_output_per_ul_per_day: float = _p(
        0.032, "cells/ul/day", "published", _RDB, "Thymic output at age 25.", gt=0.0
    )
    naive_death_per_day: float = _p(
        0.001, "1/day", "published", _RDB, "Naive T-cell death rate.", gt=0.0
    )
    memory_cd4_per_ul: float = _p(
        400.0, "cells/ul", "assumed", "assumed", "Steady-state memory CD4 count.", gt=0.0
    )
    memory_death_per_day: float = _p(
        0.005, "1/day", "assumed", "assumed", "Memory T-cell death rate.", gt=0.0
    )
    priming_per_day: float = _p(
        0.0005,
        "1/day",
        "assumed",
        "assumed",
        "Rate at which naive cells are primed into memory (must stay below the memory "
        "death rate times memory / naive).",
        gt=0.0,
    )
    naive_density_per_ul: float = _p(
        50.0,
        "cells/ul",
        "assumed",
        "CD4 recovers over 1-2+ years (simulator.md)",
        "Naive count at which naive homeostatic proliferation is halved from its maximum.",
        gt=0.0,
    )
    memory_density_per_ul: float = _p(
        50.0,
        "cells/ul",
        "assumed",
        "CD4 recovers over 1-2+ years (simulator.md)",
        "Memory count at which lymphopenia-induced proliferation is halved.",
        gt=0.0,
    )
    regulation_per_day: float = _p(
        0.02,
        "1/day",
        "assumed",
        "assumed",
        "Removal rate of autoreactive memory cells by regulation from the new thymic "
        "repertoire, at a fully restored naive pool.",
    )
    new_repertoire_autoreactive_ratio: float = _rr(
        0.1,
        "assumed",
        "over 90% of the CSF T-cell repertoire replaced (Harris 2020, simulator.md)",
        "Autoreactive priming from the new (post-transplant) naive repertoire relative to "
        "the old one.",
    )
    lymphocyte_survival_high_log10: float = _p(
        -2.5,
        "log10",
        "assumed",
        "conditioning intensity sets lymphoablation depth (simulator.md)",
        "Log10 surviving lymphocyte fraction, high intensity.",
        ge=None,
        le=0.0,
    )
    lymphocyte_survival_intermediate_myeloablative_log10: float = _p(
        -2.2,
        "log10",
        "assumed",
        "assumed",
        "As above, intermediate myeloablative.",
        ge=None,
        le=0.0,
    )
    lymphocyte_survival_intermediate_lymphoablative_log10: float = _p(
        -2.0,
        "log10",
        "assumed",
        "assumed",
        "As above, intermediate lymphoablative.",
        ge=None,
        le=0.0,
    )
    lymphocyte_survival_low_log10: float = _p(
        -1.0, "log10", "assumed", "assumed", "As above, low intensity.", ge=None, le=0.0
    )
    lymphocyte_survival_sd_log10: float = _p(
        0.3, "log10", "assumed", "assumed", "Between-patient SD of the surviving fraction."
    )
    autoreactive_depletion_ratio: float = _rr(
        0.03,
        "assumed",
        "assumed (ATG and cyclophosphamide target activated cells)",
        "Survival of activated autoreactive memory cells relative to other lymphocytes.",
    )
    graft_lymphocyte_return_ratio: float = _p(
        0.0003,
        "ratio",
        "assumed",
        "assumed",
        "Lymphocytes returned by an unmanipulated graft of 5 x 10^6 CD34+/kg after in vivo "
        "ATG, relative to the pre-conditioning pool.",
    )
    cd34_selection_depletion_log10: float = _p(
        3.5,
        "log10",
        "assumed",
        "CD34 selection removes several logs of lymphocytes (simulator.md)",
        "Log10 lymphocyte depletion of a CD34-selected graft.",
    )
    late_reactivation_per_year: float = _p(
        0.15,
        "1/year",
        "calibrated",
        "small chance of late reactivation (simulator.md); hand-tuned with the regrowth below "
        "to Burt 2015 relapse-free survival 80% at 4 years (evidence.md), checked against "
        "HALT-MS and Atkins 2016",
        "Hazard, from the end of year 1, that regulation fails again, for an autoreactive "
        "pool of 3 x 10^-4 just after reinfusion (scaled by reactivation_pool_exponent_ratio).",
    )
    reactivation_regulation_ratio: float = _rr(
        0.1, "assumed", "assumed", "Regulation left after a late reactivation."
    )
    reactivation_level_ratio: float = _prob(
        0.5,
        "assumed",
        "late relapses after AHSCT (HALT-MS, Burt 2015, evidence.md; assumed)",
        "Level, relative to before the transplant, towards which the autoreactive pool "
        "regrows after a late reactivation.",
    )
    reactivation_regrowth_years: float = _p(
        1.0,
        "years",
        "assumed",
        "the autoreactive pool regrows slowly (issue 20; assumed)",
        "Time constant of that regrowth.",
        gt=0.0,
    )
    reactivation_pool_exponent_ratio: float = _p(
        0.5,
        "ratio",
        "assumed",
        "fewer surviving autoreactive cells (CD34 selection, ablative conditioning), fewer "
        "late relapses (Atkins 2016: none; assumed)",
        "The reactivation hazard scales with (autoreactive pool just after reinfusion / "
        "3 x 10^-4)^exponent (3 x 10^-4: Cy 200 + ATG with an unmanipulated graft).",
    )
    thymic_decline_per_year: float = _p(
        0.03,
        "1/year",
        "assumed",
        "thymic output falls with age (simulator.md)",
        "Log decline of thymic output per year of age above 25.",
    )
    thymic_cv_ratio: float = _p(
        0.4, "ratio", "assumed", "assumed", "Between-patient CV of thymic function."
    )
    busulfan_cns_ratio: float = _prob(
        0.5,
        "assumed",
        "busulfan crosses the blood-brain barrier (simulator.md)",
        "Extra reduction of inflammation-driven progression with busulfan conditioning.",
    )
    # -- AHSCT: adverse events and transplant-related mortality ----------------------
    febrile_neutropenia_per_day: float = _p(
        0.125,
        "1/day",
        "calibrated",
        "febrile neutropenia in about 68% (simulator.md)",
        "Hazard of febrile neutropenia per day of neutropenia (day 0 to engraftment).",
    )
    infection_aplasia_per_day: float = _p(
        0.02, "1/day", "assumed", "assumed", "Documented infections per day of aplasia."
    )
    infection_lymphopenia_per_year: float = _p(
        0.4, "1/year", "assumed", "assumed", "Infections per year with CD4 below 200/ul."
    )
    ebv_reactivation_probability: float = _prob(
        0.25,
        "assumed",
        "EBV reactivation common after ATG (simulator.md)",
        "EBV reactivation after an ATG-containing regimen.",
    )
    cmv_reactivation_probability: float = _prob(0.10, "assumed", "assumed", "CMV reactivation.")
    vzv_reactivation_probability: float = _prob(
        0.15, "published", "zoster about 15% (simulator.md)", "Varicella-zoster reactivation."
    )
    secondary_autoimmunity_probability: float = _prob(
        0.05,
        "published",
        "thyroid about 3-8% (simulator.md)",
        "Secondary autoimmunity (thyroid, ITP) after AHSCT.",
    )
    alemtuzumab_autoimmunity_ratio: float = _rr(
        3.0,
        "assumed",
        "ITP more with alemtuzumab (simulator.md)",
        "Odds multiplier for secondary autoimmunity with alemtuzumab conditioning.",
    )
    trm_high_probability: float = _prob(
        0.02,
        "calibrated",
        "calibrated to Atkins 2016 (1 of 24) and the pooled 2.1% (Sormani 2017, evidence.md)",
        "100-day TRM of high-intensity conditioning, reference patient.",
    )
    trm_intermediate_myeloablative_probability: float = _prob(
        0.005,
        "calibrated",
        "recent cohorts 0-1.4% (simulator.md); Muraro 2017 2.8% (evidence.md)",
        "As above, BEAM + ATG.",
    )
    trm_intermediate_lymphoablative_probability: float = _prob(
        0.002, "assumed", "recent cohorts 0-1.4% (simulator.md)", "As above, Cy 200 + ATG."
    )
    trm_low_probability: float = _prob(0.002, "assumed", "assumed", "As above, low intensity.")
    transplant_age_log_hr_per_decade: float = _p(
        0.3,
        "1/decade",
        "assumed",
        "TRM higher in older patients (Muraro 2017, evidence.md)",
        "Log hazard ratio of TRM and infections per 10 years of age above 35.",
        ge=None,
    )
    transplant_edss_log_hr_per_point: float = _p(
        0.15,
        "1/EDSS point",
        "assumed",
        _SORMANI + ": TRM higher with higher EDSS",
        "Log hazard ratio per EDSS point above 4.",
        ge=None,
    )
    transplant_hct_ci_log_hr_per_point: float = _p(
        0.2, "1/point", "assumed", "assumed", "Log hazard ratio per HCT-CI point.", ge=None
    )
    transplant_progressive_log_hr: float = _p(
        0.3,
        "log",
        "assumed",
        _SORMANI + ": TRM higher with fewer RRMS patients",
        "Log hazard ratio for progressive disease.",
        ge=None,
    )
    transplant_era_log_hr_per_decade: float = _p(
        0.5,
        "1/decade",
        "assumed",
        _SORMANI + ": TRM higher in older studies",
        "Log hazard ratio per 10 years before 2015.",
        ge=None,
    )
    trm_infection_probability: float = _prob(
        0.6, "assumed", "assumed", "Share of transplant-related deaths caused by infection."
    )
    # -- MSC ------------------------------------------------------------------------
    msc_max_effect_ratio: float = _prob(
        0.3,
        "assumed",
        "prior near no effect on Gd+ (MESEMS RR 0.94, evidence.md)",
        "Maximal reduction of the inflammatory rate just after an infusion.",
    )
    msc_ed50_1e6_per_kg: float = _p(
        2.0, "10^6 cells/kg", "assumed", "assumed", "Dose giving half the maximal effect.", gt=0.0
    )
    msc_effect_days: float = _p(
        270.0,
        "days",
        "calibrated",
        "hand-tuned (60 before, assumed): the effect lasts through a 6-month cycle in Petrou "
        "et al., Brain 2020 (relapses and relapse-free share over the 6 months after an "
        "injection, Table 3); MESEMS Gd+ rate ratio over weeks 0-24 stays near 0.9 (published "
        "0.94, 0.58-1.50); a prior for the refit",
        "Time constant of the decay of the anti-inflammatory effect after an infusion.",
        gt=0.0,
    )
    msc_spms_potency_ratio: float = _prob(
        0.5,
        "assumed",
        "SPMS-derived MSC less anti-inflammatory (simulator.md)",
        "Potency of autologous MSC from progressive patients unless pre-treated.",
    )
    msc_neuroprotection_ratio: float = _prob(
        0.1,
        "assumed",
        "small neuroprotective effect (simulator.md)",
        "Reduction of relapse-independent progression just after intravenous MSC.",
    )
    msc_neuroprotection_days: float = _p(
        365.0, "days", "assumed", "assumed", "Time constant of the neuroprotective effect.", gt=0.0
    )
    msc_intrathecal_neuroprotection_ratio: float = _rr(
        2.0,
        "assumed",
        "intrathecal delivery associated with less progression (evidence.md)",
        "Neuroprotection of intrathecal MSC relative to intravenous.",
    )
    msc_intrathecal_effect_ratio: float = _rr(
        20.0,
        "calibrated",
        "hand-tuned to Petrou et al., Brain 2020 (IT vs IV vs sham, 6-month cycles, Table 3): "
        "relapse-free 93.8% intrathecal, 78.1% intravenous, 53.1% sham; MESEMS (intravenous) "
        "Gd+ rate ratio 0.94 (0.58-1.50) keeps the intravenous effect small; a prior for the "
        "refit",
        "Anti-inflammatory effect of an intrathecal (or combined) MSC course relative to the "
        "same intravenous dose (the reduction of the inflammatory rate is capped at 1).",
    )

    @classmethod
    def default(cls) -> SimulationParameters:
        """The default set: published values where there are any, priors elsewhere."""
        return cls()

    @classmethod
    def presets(cls) -> tuple[str, ...]:
        """Names of the bundled parameter sets (``"default"``, ``"calibrated"``)."""
        return tuple(bundled_sets()[0])

    @classmethod
    def preset(cls, name: str) -> SimulationParameters:
        """A bundled parameter set by name: the defaults with the set's values applied."""
        sets = bundled_sets()[0]
        if name not in sets:
            raise ValueError(f"preset must be one of {', '.join(sets)}; got {name!r}")
        return cls.default().replace(**sets[name])

    @classmethod
    def posterior(cls) -> pd.DataFrame:
        """The shipped calibration posterior: one row per ABC-SMC particle (its position is
        its ``particle`` number), a column per calibrated parameter, ``weight`` and
        ``distance`` (``simulate/data/calibration_posterior.csv``, the calibration report's
        ``docs/calibration/posterior.csv``)."""
        from msreboot.simulate._posterior import posterior_particles

        return posterior_particles()

    @classmethod
    def posterior_draws(
        cls,
        draws: int,
        seed: int | np.random.SeedSequence,
        *,
        calibrated_only: bool = False,
    ) -> pd.DataFrame:
        """Parameter values drawn by weight from the shipped calibration posterior.

        Parameters
        ----------
        draws
            Number of draws (>= 0), with replacement.
        seed
            An integer or a ``numpy.random.SeedSequence``; the same seed gives the same
            draws, and the first ``k`` of ``n`` draws are the ``k`` draws of the same seed.
        calibrated_only
            Keep only the parameters the shipped calibrated set takes from the fit (the
            ``[values]`` of ``simulate/data/calibrated.toml``): ``late_reactivation_per_year``
            is left out, as the calibrated set leaves it out (its meaning changed after the
            fit). False: every parameter of the posterior.

        Returns
        -------
        pandas.DataFrame
            One row per draw: ``particle`` (the row of :meth:`posterior`) and the
            parameter values, for :meth:`replace` on the calibrated set.

        Notes
        -----
        Particle ``i`` is drawn with probability ``w_i / sum(w)`` by
        ``numpy.random.Generator.choice`` on ``default_rng(seed)``.

        Examples
        --------
        >>> draws = SimulationParameters.posterior_draws(3, seed=1, calibrated_only=True)
        >>> base = SimulationParameters.preset("calibrated")
        >>> first = base.replace(**draws.drop(columns="particle").iloc[0].to_dict())
        >>> len(draws), "late_reactivation_per_year" in draws
        (3, False)
        """
        from msreboot.simulate._posterior import posterior_draws

        keep = bundled_sets()[0].get("calibrated", {}) if calibrated_only else None
        return posterior_draws(draws, seed, keep=keep)

    @classmethod
    def from_file(cls, path: str | Path) -> SimulationParameters:
        """A user's parameter set: a TOML file with a ``[values]`` table of parameter names
        and values (the format of the shipped ``simulate/data/calibrated.toml``; an optional
        ``[provenance]`` table is ignored), applied to the defaults and validated.

        Raises
        ------
        ValueError
            A missing or unreadable file, no ``[values]`` table, an unknown parameter name
            (with the closest one) or an invalid value, naming the file.
        """
        import difflib

        document = read_toml(Path(path), what="parameter file")
        values = document.get("values")
        if not isinstance(values, dict) or not values:
            raise ValueError(
                f"parameter file {path} must have a [values] table of parameter = value; got "
                f"tables {sorted(document)}. See SimulationParameters().to_frame() for names."
            )
        for name, value in values.items():
            if name not in cls.model_fields:
                guess = difflib.get_close_matches(name, list(cls.model_fields), n=1)
                raise ValueError(
                    f"parameter file {path}: values.{name} must be a parameter name; got an "
                    "unknown one."
                    + (f" Did you mean {guess[0]}?" if guess else "")
                    + " See SimulationParameters().to_frame() for the list."
                )
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(
                    f"parameter file {path}: values.{name} must be a number; got {value!r}."
                )
        try:
            return cls.default().replace(**{k: float(v) for k, v in values.items()})
        except ValueError as error:
            raise ValueError(f"parameter file {path}: {error}") from None

    def replace(self, **changes: float) -> SimulationParameters:
        """A copy with some values changed (validated; unknown names are an error)."""
        unknown = sorted(set(changes) - set(type(self).model_fields))
        if unknown:
            raise ValueError(
                f"parameter names must be fields of SimulationParameters; got {unknown}. "
                "See SimulationParameters().to_frame() for the list."
            )
        return type(self).model_validate({**self.model_dump(), **changes})

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Every parameter name, in declaration order."""
        return tuple(cls.model_fields)

    def to_array(self) -> np.ndarray:
        """The values in declaration order (float64), as the compiled kernel reads them."""
        return np.array([getattr(self, n) for n in self.names()], dtype=np.float64)

    def to_frame(self) -> pd.DataFrame:
        """One row per parameter: name, value, unit, basis, source, description."""
        rows = []
        for name, info in type(self).model_fields.items():
            extra = info.json_schema_extra
            meta = extra if isinstance(extra, dict) else {}
            rows.append(
                {
                    "name": name,
                    "value": float(getattr(self, name)),
                    "unit": meta.get("unit", ""),
                    "basis": meta.get("basis", ""),
                    "source": meta.get("source", ""),
                    "description": info.description or "",
                }
            )
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """Counts of parameters by basis, and the values that differ from the defaults."""
        frame = self.to_frame()
        counts = frame["basis"].value_counts()
        default = type(self)()
        changed = [n for n in self.names() if getattr(self, n) != getattr(default, n)]
        lines = [
            f"SimulationParameters: {len(frame)} parameters ("
            + ", ".join(f"{counts.get(b, 0)} {b}" for b in ("published", "calibrated", "assumed"))
            + ")"
        ]
        lines += [
            f"  {n} = {getattr(self, n):g} (default {getattr(default, n):g})" for n in changed
        ]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(self.summary().splitlines()[0])}</p>" + self.to_frame().to_html(
            index=False
        )


@functools.cache
def bundled_sets() -> tuple[dict[str, dict[str, float]], dict[str, dict[str, Any]]]:
    """The named parameter sets, read once on first use (never at import).

    Returns the changes from the defaults of every set (``"default"``: none;
    ``"calibrated"``: the posterior medians of the shipped ABC-SMC calibration, in
    ``simulate/data/calibrated.toml``) and where each comes from (its ``[provenance]``).
    """
    sets: dict[str, dict[str, float]] = {"default": {}}
    provenance: dict[str, dict[str, Any]] = {"default": {"basis": "hand-set defaults"}}
    folder = resources.files("msreboot.simulate") / "data"
    for name in ("calibrated",):
        node = folder / f"{name}.toml"
        if node.is_file():
            data = read_toml(node, what="bundled parameter set")
            sets[name] = {k: float(v) for k, v in data["values"].items()}
            provenance[name] = dict(data.get("provenance", {}))
    return sets, provenance


DEFAULT_SET = "calibrated"
"""The set virtual trials use unless their spec names another (the shipped calibration)."""
