"""Layout of the compiled simulation: parameter, baseline and truth positions; shared
helpers (untreated inflammatory rate, EDSS grid and rater noise).

The compiled code reads parameters from one float vector in the declaration order of
:class:`~msreboot.simulate.SimulationParameters`; the positions below are looked up by
name once at import, so a renamed parameter fails loudly here.
"""

from __future__ import annotations

import math
import sys
import zlib
from pathlib import Path

import numpy as np
from numba import njit

from msreboot.data import AE_CATEGORIES, DEATH_CAUSES
from msreboot.simulate import _population, _treatment
from msreboot.simulate._parameters import SimulationParameters
from msreboot.simulate._rng import uniform

_INDEX = {name: i for i, name in enumerate(SimulationParameters.names())}


def _i(name: str) -> int:
    return _INDEX[name]


DAYS_PER_YEAR = 365.25
DT_DAYS = DAYS_PER_YEAR / 12.0
DT_YEARS = 1.0 / 12.0
NA_DAY = np.iinfo(np.int64).min  # missing day in integer outputs

# parameters (positions in the parameter vector)
R_ONSET = _i("relapse_rate_onset_per_year")
R_DUR_DECLINE = _i("relapse_rate_duration_decline_per_year")
R_AGE_DECLINE = _i("relapse_rate_age_decline_per_year")
R_SPMS = _i("relapse_rate_spms_ratio")
R_PPMS = _i("relapse_rate_ppms_ratio")
GAMMA_CV = _i("inflammatory_propensity_cv_ratio")
R_GAP = _i("relapse_min_gap_days")
R_RESID_P = _i("relapse_residual_probability")
R_RESID_MEAN = _i("relapse_residual_mean_edss")
R_PEAK = _i("relapse_peak_mean_edss")
R_DURATION = _i("relapse_duration_mean_days")
R_END_P = _i("relapse_end_recorded_probability")
GD_LAMBDA0 = _i("gd_lambda0_per_month")
GD_AR1 = _i("gd_ar1_ratio")
GD_AR2 = _i("gd_ar2_ratio")
GD_OVERDISP = _i("gd_overdispersion_ratio")
GD_ACTIVITY = _i("gd_activity_ratio")
T2_PER_GD = _i("new_t2_per_gd_ratio")
T2_ONSET = _i("t2_at_onset_lesions")
T2_ACCRUAL = _i("t2_accrual_lesions_per_year")
PIRA_RR = _i("pira_relapsing_edss_per_year")
PIRA_AGE = _i("pira_age_increase_per_year")
PIRA_EDSS = _i("pira_edss_increase_per_point")
ABOVE_7 = _i("progression_above_edss_7_ratio")
NEURO_CV = _i("neurodegeneration_cv_ratio")
CLASS_CORR = _i("progressive_class_correlation_ratio")
SP_SLOW = _i("spms_slow_edss_per_year")
SP_MEDIUM = _i("spms_medium_edss_per_year")
SP_FAST = _i("spms_fast_edss_per_year")
SP_SLOW_SHARE = _i("spms_slow_share_probability")
SP_MEDIUM_SHARE = _i("spms_medium_share_probability")
SP_SCALE = _i("spms_conversion_scale_years")
SP_SHAPE = _i("spms_conversion_shape_ratio")
SP_AGE = _i("spms_conversion_age_log_hr_per_year")
SP_EDSS = _i("spms_conversion_edss_log_hr_per_point")
SHARE_RR = _i("progression_inflammatory_share_relapsing_ratio")
SHARE_PROG = _i("progression_inflammatory_share_progressive_ratio")
REV_RR = _i("reversible_edss_share_rrms_ratio")
REV_SP = _i("reversible_edss_share_spms_ratio")
REV_PP = _i("reversible_edss_share_ppms_ratio")
RECOVERY = _i("recovery_rate_per_year")
REMY_AGE = _i("remyelination_age_decline_per_year")
REMY_DUR = _i("remyelination_duration_decline_per_year")
REMY_CV = _i("remyelination_cv_ratio")
RATER_HALF = _i("edss_rater_half_point_probability")
RATER_ONE = _i("edss_rater_one_point_probability")
MORT_F40 = _i("mortality_female_at_40_per_year")
MORT_M40 = _i("mortality_male_at_40_per_year")
MORT_SLOPE = _i("mortality_gompertz_slope_per_year")
MORT_7 = _i("mortality_edss_7_ratio")
MORT_8 = _i("mortality_edss_8_ratio")
MORT_9 = _i("mortality_edss_9_ratio")
TRANSIT = _i("neutrophil_transit_days")
FEEDBACK = _i("neutrophil_feedback_ratio")
FEEDBACK_FLOOR = _i("neutrophil_feedback_floor_ratio")
SEED_PER_CD34 = _i("graft_seed_per_cd34_ratio")
SEED_CV = _i("graft_seed_cv_ratio")
GCSF_TRANSIT = _i("g_csf_transit_ratio")
ANC_DAY0 = _i("anc_day0_ratio")
ANC_BASELINE = _i("anc_baseline_1e9_per_l")
DISCHARGE = _i("discharge_after_engraftment_days")
NAIVE = _i("naive_cd4_per_ul")
THYMIC = _i("thymic_output_per_ul_per_day")
NAIVE_DEATH = _i("naive_death_per_day")
MEMORY = _i("memory_cd4_per_ul")
MEMORY_DEATH = _i("memory_death_per_day")
PRIMING = _i("priming_per_day")
NAIVE_K = _i("naive_density_per_ul")
MEMORY_K = _i("memory_density_per_ul")
REGULATION = _i("regulation_per_day")
NEW_REPERTOIRE = _i("new_repertoire_autoreactive_ratio")
SURV_SD = _i("lymphocyte_survival_sd_log10")
AUTO_DEPLETION = _i("autoreactive_depletion_ratio")
GRAFT_RETURN = _i("graft_lymphocyte_return_ratio")
CD34_SELECTION = _i("cd34_selection_depletion_log10")
REACTIVATION = _i("late_reactivation_per_year")
REACT_REGULATION = _i("reactivation_regulation_ratio")
THYMIC_DECLINE = _i("thymic_decline_per_year")
THYMIC_CV = _i("thymic_cv_ratio")
BUSULFAN_CNS = _i("busulfan_cns_ratio")
FN_PER_DAY = _i("febrile_neutropenia_per_day")
INF_APLASIA = _i("infection_aplasia_per_day")
INF_LYMPH = _i("infection_lymphopenia_per_year")
CMV_P = _i("cmv_reactivation_probability")
VZV_P = _i("vzv_reactivation_probability")
TX_AGE = _i("transplant_age_log_hr_per_decade")
TX_EDSS = _i("transplant_edss_log_hr_per_point")
TX_HCTCI = _i("transplant_hct_ci_log_hr_per_point")
TX_PROG = _i("transplant_progressive_log_hr")
TX_ERA = _i("transplant_era_log_hr_per_decade")
TRM_INFECTION = _i("trm_infection_probability")
MSC_MAX = _i("msc_max_effect_ratio")
MSC_ED50 = _i("msc_ed50_1e6_per_kg")
MSC_DAYS = _i("msc_effect_days")
MSC_NEURO_DAYS = _i("msc_neuroprotection_days")
MSC_IT_EFFECT = _i("msc_intrathecal_effect_ratio")
RECENT_CV = _i("recent_activity_cv_ratio")
RECENT_DECAY = _i("recent_activity_decay_years")
DMT_STOP = _i("dmt_discontinuation_per_year")
REACT_LEVEL = _i("reactivation_level_ratio")
REACT_REGROWTH = _i("reactivation_regrowth_years")
REACT_POOL_EXP = _i("reactivation_pool_exponent_ratio")
SHARE_ACTIVITY = _i("progression_share_activity_log_odds")
SHARE_AGE = _i("progression_share_age_log_odds_per_decade")
SHARE_PPMS = _i("progression_share_ppms_log_odds")
SHARE_PRIOR_DMT = _i("progression_share_prior_dmt_log_odds")
SHARE_EDSS = _i("progression_share_edss_log_odds_per_point")

# baseline characteristics (columns of the baseline output)
(
    B_AGE,
    B_FEMALE,
    B_PHENOTYPE,
    B_DURATION,
    B_DIAGNOSIS_DELAY,
    B_EDSS_LATENT,
    B_EDSS_REVERSIBLE,
    B_GAMMA,
    B_NEURO,
    B_REMYELINATION,
    B_THYMIC,
    B_SP_CLASS,
    B_PRIOR_RELAPSES,
    B_GD,
    B_GD_LAG,
    B_T2,
    B_PRIOR_DMTS,
    B_HCT_CI,
    B_ATTEMPTS,
    B_RECENT,
    N_BASE,
) = range(21)
PH_RR, PH_SP, PH_PP = 0, 1, 2

# latent truth (columns of the truth output); NaN where not applicable
(
    T_SPMS_DAY,
    T_DEATH_DAY,
    T_DEATH_CAUSE,
    T_TRM,
    T_EDSS3_DAY,
    T_EDSS4_DAY,
    T_EDSS6_DAY,
    T_EDSS8_DAY,
    T_EDSS_END,
    T_RELAPSES,
    T_GD_TOTAL,
    T_OBS_END,
    T_ENGRAFT_DAY,
    T_CD34,
    T_CD4_6M,
    T_CD4_12M,
    T_CD4_24M,
    T_AUTO_6M,
    T_AUTO_12M,
    T_AUTO_24M,
    T_AUTO_60M,
    T_REACTIVATION_DAY,
    T_FEBRILE_NEUTROPENIA,
    T_LAST_DAY,
    T_DMT_RESPONSE,
    T_DMT_STOP_DAY,
    T_SHARE_RR,
    T_SHARE_PROG,
    N_TRUTH,
) = range(29)
MILESTONES = (3.0, 4.0, 6.0, 8.0)

CAUSE_MS = DEATH_CAUSES.index("ms")
CAUSE_INFECTION = DEATH_CAUSES.index("infection")
CAUSE_TOXICITY = DEATH_CAUSES.index("transplant_toxicity")
CAUSE_OTHER = DEATH_CAUSES.index("other")
AE_INFECTION = AE_CATEGORIES.index("infection")
AE_FEBRILE_NEUTROPENIA = AE_CATEGORIES.index("febrile_neutropenia")
AE_VIRAL = AE_CATEGORIES.index("viral_reactivation")
AE_AUTOIMMUNITY = AE_CATEGORIES.index("secondary_autoimmunity")
AE_HEPATIC = AE_CATEGORIES.index("hepatic")
PATHOGENS = ("", "EBV", "CMV", "VZV")
DETAILS = ("", "thyroid", "immune thrombocytopenia")
# adverse-event output columns (integers)
AE_DAY, AE_END, AE_CATEGORY, AE_GRADE, AE_PATHOGEN, AE_SERIOUS, AE_DETAIL, N_AE_COLS = range(8)


@njit(cache=True)
def untreated_rate(
    fp: np.ndarray, gamma: float, age: float, duration: float, phenotype: int
) -> float:
    """Untreated inflammatory (relapse) rate per year of one patient at a time."""
    rate = (
        gamma
        * fp[R_ONSET]
        * math.exp(-fp[R_DUR_DECLINE] * duration - fp[R_AGE_DECLINE] * (age - 30.0))
    )
    if phenotype == PH_SP:
        rate *= fp[R_SPMS]
    elif phenotype == PH_PP:
        rate *= fp[R_PPMS]
    return float(rate)


@njit(cache=True)
def gd_baseline_rate(fp: np.ndarray, relapse_rate: float) -> float:
    """lambda0 of the Gd+ process (new lesions per month) for an inflammatory rate."""
    return float(fp[GD_LAMBDA0] * fp[GD_ACTIVITY] * relapse_rate / fp[R_ONSET])


@njit(cache=True)
def edss_level(z: float) -> int:
    """Index on the EDSS grid 0, 1.0, 1.5, ..., 9.5 nearest to a latent value."""
    if z < 0.5:
        return 0
    k = math.floor(2.0 * z + 0.5) - 1  # 1.0 -> 1, 1.5 -> 2, ...
    if k < 1:
        k = 1
    if k > 18:
        k = 18
    return k


@njit(cache=True)
def level_value(k: int) -> float:
    return 0.0 if k == 0 else 0.5 + 0.5 * k


@njit(cache=True)
def observe_edss(fp: np.ndarray, st: np.ndarray, z: float) -> float:
    """A rater's score of a latent EDSS: nearest grid value, then +/- one or two steps."""
    k = edss_level(z)
    u = uniform(st)
    one = fp[RATER_ONE]
    half = fp[RATER_HALF]
    if u < one:
        k -= 2
    elif u < one + half:
        k -= 1
    elif u > 1.0 - one:
        k += 2
    elif u > 1.0 - one - half:
        k += 1
    k = min(max(k, 0), 18)
    return level_value(k)


@njit(cache=True)
def mortality_rate(fp: np.ndarray, female: bool, age: float, z: float) -> float:
    """Background Gompertz mortality times the EDSS multiplier (per year)."""
    base = fp[MORT_F40] if female else fp[MORT_M40]
    rate = base * math.exp(fp[MORT_SLOPE] * (age - 40.0))
    if z >= 9.0:
        rate *= fp[MORT_9]
    elif z >= 8.0:
        rate *= fp[MORT_8]
    elif z >= 7.0:
        rate *= fp[MORT_7]
    return float(rate)


KERNEL_MODULES = (
    "_rng",
    "_kernel_common",
    "_kernel_course",
    "_kernel_population",
    "_kernel_transplant",
    "_kernel_switch",
    "_kernel_msc",
    "_kernel",
    "_kernel_chunk",
)
"""The modules of compiled code: a kernel calls the compiled functions of the others."""


def _layout_fingerprint() -> int:
    """A checksum of every position the compiled code reads (parameters and layouts) and
    of the compiled modules' source files."""
    parts = [",".join(SimulationParameters.names())]
    for module in (_population, _treatment, sys.modules[__name__]):
        items = sorted(
            (k, v)
            for k, v in vars(module).items()
            if k.isupper() and isinstance(v, int) and not isinstance(v, bool)
        )
        parts.append(repr(items))
    folder = Path(__file__).parent
    sources = []
    for stem in KERNEL_MODULES:
        source = folder / f"{stem}.py"
        sources.append(source.read_bytes() if source.is_file() else stem.encode())
    return zlib.crc32(b"|".join([*(part.encode() for part in parts), *sources]))


LAYOUT_FINGERPRINT = _layout_fingerprint()
"""Compiled into every kernel module (numba's cache does not notice when a position
defined in another module, or a compiled function of another module, changes: see
:func:`msreboot.simulate._cache.ensure_fresh`)."""


@njit(cache=True)
def compiled_fingerprint() -> int:
    return LAYOUT_FINGERPRINT
