"""What the virtual patients receive, in the vocabulary of the treatments table.

Three small, immutable course descriptions: :class:`DMTCourse`, :class:`AHSCTCourse` and
:class:`MSCCourse`. Their fields are the schema's columns (``drug``,
``mobilisation_regimen``, ``cd34_selected``, ``conditioning_regimen``,
``conditioning_intensity``, ``msc_source``, ``msc_route``...), so a regimen from a
protocol catalogue maps onto them field by field. The model's effect of each field is in
:class:`~msreboot.simulate.SimulationParameters`; here are only the facts of the course.
Days count from enrolment (day 0).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal, TypeAlias, get_args

import numpy as np

from msreboot.protocols import (
    ConditioningIntensity,
    ConditioningRegimen,
    DMTDrug,
    MobilisationRegimen,
    MSCRoute,
    MSCSource,
)
from msreboot.simulate._parameters import SimulationParameters

__all__ = [
    "AHSCTCourse",
    "ConditioningIntensity",
    "ConditioningRegimen",
    "DMTCourse",
    "DMTDrug",
    "MSCCourse",
    "Treatment",
]

INTENSITIES: tuple[ConditioningIntensity, ...] = get_args(ConditioningIntensity)
REGIMENS: tuple[ConditioningRegimen, ...] = get_args(ConditioningRegimen)
# EBMT intensity class and days of conditioning before reinfusion (day 0) per regimen:
# BEAM days -6 to -1; Cy 50 mg/kg/day days -5 to -2 + ATG; Bu days -9 to -6 + Cy -5 to -2.
REGIMEN_DEFAULTS: dict[ConditioningRegimen, tuple[ConditioningIntensity, int]] = {
    "beam_atg": ("intermediate_myeloablative", 6),
    "cy200_atg": ("intermediate_lymphoablative", 5),
    "bu_cy_atg": ("high", 9),
    "cy_alemtuzumab": ("intermediate_lymphoablative", 5),
    "cy_low": ("low", 4),
    "tbi_based": ("high", 6),
    "other": ("intermediate_lymphoablative", 6),
}
_ATG_REGIMENS = ("beam_atg", "cy200_atg", "bu_cy_atg")
MSC_ROUTES: tuple[MSCRoute, ...] = get_args(MSCRoute)

# positions in the compiled treatment vector
(
    TR_KIND,  # 0 none, 1 dmt, 2 ahsct, 3 msc
    TR_START,  # DMT / MSC first dose day
    TR_RATE_RATIO,  # DMT
    TR_MOB_DAY,
    TR_COND_DAY,
    TR_D0,
    TR_MOB_FLARE_P,
    TR_CD34_MEDIAN,
    TR_CD34_SDLOG,
    TR_SELECTED,
    TR_INTENSITY,
    TR_REGIMEN,
    TR_GCSF_AFTER,
    TR_YEAR,
    TR_SURV_LOG10,
    TR_HOST_MARROW,
    TR_TRM_P,
    TR_BUSULFAN,
    TR_ALEMTUZUMAB,
    TR_EBV_P,
    TR_AUTOIMMUNITY_P,
    TR_MSC_DOSE,
    TR_MSC_INFUSIONS,
    TR_MSC_INTERVAL,
    TR_MSC_POTENCY_SP,  # potency when the patient is progressive
    TR_MSC_ROUTE,
    TR_MSC_NEURO,
    TR_RR_PARTIAL,  # DMT: rate ratio of partial responders (TR_RATE_RATIO: responders)
    TR_SHARE_PARTIAL,
    TR_SHARE_NON,
    N_TR,
) = range(31)
KIND_NONE, KIND_DMT, KIND_AHSCT, KIND_MSC = 0, 1, 2, 3


@dataclass(frozen=True)
class DMTCourse:
    """A disease-modifying therapy started at ``start_day`` and continued.

    Its rate ratio on relapses and MRI activity is ``dmt_<drug>_rate_ratio`` of the
    parameters on average over patients: each patient is a responder, a partial responder
    or a non-responder (``dmt_partial_response_probability``,
    ``dmt_non_response_probability``) and may stop the drug
    (``dmt_discontinuation_per_year``); progression slows through the inflammation-driven
    share.
    """

    drug: DMTDrug
    start_day: int = 0
    protocol: str | None = None

    def __post_init__(self) -> None:
        if self.drug not in get_args(DMTDrug):
            raise ValueError(
                f"drug must be one of {', '.join(get_args(DMTDrug))}; got {self.drug!r}"
            )
        if self.start_day < 0:
            raise ValueError(f"start_day must be >= 0; got {self.start_day}")

    @property
    def kind(self) -> Literal["dmt"]:
        return "dmt"


@dataclass(frozen=True)
class AHSCTCourse:
    """One autologous transplant, step by step.

    Attributes
    ----------
    conditioning_regimen
        Schema code (``beam_atg``, ``cy200_atg``, ``bu_cy_atg``, ``cy_alemtuzumab``,
        ``cy_low``, ``tbi_based``, ``other``).
    conditioning_intensity
        EBMT class; by default the regimen's (BEAM + ATG: intermediate myeloablative;
        Cy 200 + ATG: intermediate lymphoablative; Bu-Cy + ATG: high; Cy alone: low).
    mobilisation_regimen
        ``cy_g_csf`` (standard) or ``g_csf`` alone (risk of a flare).
    cd34_selected
        CD34-selected graft (several logs fewer lymphocytes reinfused).
    cd34_dose_1e6_per_kg, cd34_dose_sdlog
        Median CD34+ dose and its between-patient log SD.
    g_csf_after_reinfusion
        G-CSF given after reinfusion (shortens neutrophil maturation).
    transplant_year
        Calendar era (transplant hazards fall in later years).
    conditioning_days
        Days of conditioning before reinfusion; by default the regimen's.
    protocol
        Protocol label written to the treatments table.
    """

    conditioning_regimen: ConditioningRegimen = "cy200_atg"
    conditioning_intensity: ConditioningIntensity | None = None
    mobilisation_regimen: MobilisationRegimen = "cy_g_csf"
    cd34_selected: bool = False
    cd34_dose_1e6_per_kg: float = 5.0
    cd34_dose_sdlog: float = 0.35
    g_csf_after_reinfusion: bool = True
    transplant_year: int = 2015
    conditioning_days: int | None = None
    protocol: str | None = None

    def __post_init__(self) -> None:
        if self.conditioning_regimen not in REGIMENS:
            raise ValueError(
                f"conditioning_regimen must be one of {', '.join(REGIMENS)}; "
                f"got {self.conditioning_regimen!r}"
            )
        intensity, days = REGIMEN_DEFAULTS[self.conditioning_regimen]
        if self.conditioning_intensity is None:
            object.__setattr__(self, "conditioning_intensity", intensity)
        elif self.conditioning_intensity not in INTENSITIES:
            raise ValueError(
                f"conditioning_intensity must be one of {', '.join(INTENSITIES)}; "
                f"got {self.conditioning_intensity!r}"
            )
        if self.conditioning_days is None:
            object.__setattr__(self, "conditioning_days", days)
        if not 1 <= int(self.conditioning_days or 0) <= 30:
            raise ValueError(f"conditioning_days must be in 1..30; got {self.conditioning_days}")
        if self.mobilisation_regimen not in ("g_csf", "cy_g_csf", "other"):
            raise ValueError(
                "mobilisation_regimen must be one of g_csf, cy_g_csf, other; "
                f"got {self.mobilisation_regimen!r}"
            )
        if not 0.5 <= self.cd34_dose_1e6_per_kg <= 40:
            raise ValueError(
                f"cd34_dose_1e6_per_kg must be in [0.5, 40]; got {self.cd34_dose_1e6_per_kg}"
            )
        if self.cd34_dose_sdlog < 0:
            raise ValueError(f"cd34_dose_sdlog must be >= 0; got {self.cd34_dose_sdlog}")
        if not 1950 <= self.transplant_year <= 2100:
            raise ValueError(f"transplant_year must be in 1950..2100; got {self.transplant_year}")

    @property
    def kind(self) -> Literal["ahsct"]:
        return "ahsct"


@dataclass(frozen=True)
class MSCCourse:
    """Mesenchymal stem-cell infusions.

    Attributes
    ----------
    source
        ``bone_marrow``, ``adipose`` (autologous by default), ``umbilical_cord``
        (allogeneic) or ``other``.
    route
        ``intravenous``, ``intrathecal`` or both.
    dose_1e6_per_kg
        Cells per infusion.
    infusions, interval_days
        Number of infusions and days between them.
    pretreated
        Cells pre-treated to enhance them (restores the potency of SPMS-derived cells).
    autologous
        From the patient; by default true unless the source is umbilical cord.
    start_day
        Day of the first infusion.
    """

    source: MSCSource = "bone_marrow"
    route: MSCRoute = "intravenous"
    dose_1e6_per_kg: float = 1.5
    infusions: int = 1
    interval_days: int = 0
    pretreated: bool = False
    autologous: bool | None = None
    start_day: int = 0
    protocol: str | None = None

    def __post_init__(self) -> None:
        if self.source not in ("bone_marrow", "adipose", "umbilical_cord", "other"):
            raise ValueError(
                "source must be one of bone_marrow, adipose, umbilical_cord, other; "
                f"got {self.source!r}"
            )
        if self.route not in MSC_ROUTES:
            raise ValueError(f"route must be one of {', '.join(MSC_ROUTES)}; got {self.route!r}")
        if not 0 < self.dose_1e6_per_kg <= 50:
            raise ValueError(f"dose_1e6_per_kg must be in (0, 50]; got {self.dose_1e6_per_kg}")
        if not 1 <= self.infusions <= 50:
            raise ValueError(f"infusions must be in 1..50; got {self.infusions}")
        if self.infusions > 1 and self.interval_days < 1:
            raise ValueError(
                f"interval_days must be >= 1 with several infusions; got {self.interval_days}"
            )
        if self.start_day < 0:
            raise ValueError(f"start_day must be >= 0; got {self.start_day}")
        if self.autologous is None:
            object.__setattr__(self, "autologous", self.source != "umbilical_cord")

    @property
    def kind(self) -> Literal["msc"]:
        return "msc"


Treatment: TypeAlias = DMTCourse | AHSCTCourse | MSCCourse | None
"""One course given at or after enrolment, or ``None`` (untreated)."""


def treatment_dict(treatment: Treatment) -> dict[str, object]:
    """Plain values of a course (for metadata)."""
    if treatment is None:
        return {"kind": "none"}
    return {"kind": treatment.kind, **asdict(treatment)}


RESPONDER_FLOOR = 0.02
"""The lowest rate ratio of a responder (below it, fewer non-responders are assumed)."""


def dmt_response_classes(
    rate_ratio: float, share_partial: float, share_non: float
) -> tuple[float, float, float, float]:
    """Rate ratios of responders and partial responders, and the shares of partial and
    non-responders, whose mean rate ratio is ``rate_ratio``.

    Partial responders have half the log rate ratio (``sqrt(rate_ratio)``),
    non-responders 1; the responders' rate ratio ``r`` solves ``share_non + share_partial
    sqrt(rate_ratio) + (1 - share_non - share_partial) r = rate_ratio``. Where ``r`` would
    fall below 0.02, the non-responder share (then the partial share) is lowered until
    ``r`` is 0.02: a drug with rate ratio 0.28 cannot have 15% non-responders.

    Examples
    --------
    >>> [round(x, 4) for x in dmt_response_classes(0.7, 0.25, 0.15)]
    [0.5681, 0.8367, 0.25, 0.15]
    >>> [round(x, 4) for x in dmt_response_classes(1.0, 0.25, 0.15)]
    [1.0, 1.0, 0.25, 0.15]
    """
    partial = rate_ratio**0.5
    floor = min(RESPONDER_FLOOR, rate_ratio)
    rest = 1.0 - share_partial - share_non
    responder = (rate_ratio - share_non - share_partial * partial) / rest if rest > 0 else floor
    if rest <= 0 or responder < floor:
        share_non = max(0.0, (rate_ratio - share_partial * partial - (1 - share_partial) * floor))
        share_non /= max(1.0 - floor, 1e-12)
        if share_non == 0.0 and rate_ratio - share_partial * partial < floor * (1 - share_partial):
            share_partial = max(0.0, (rate_ratio - floor) / max(partial - floor, 1e-12))
        rest = 1.0 - share_partial - share_non
        responder = (rate_ratio - share_non - share_partial * partial) / rest if rest > 0 else 1.0
    return float(responder), float(partial), float(share_partial), float(share_non)


def treatment_vector(treatment: Treatment, params: SimulationParameters) -> np.ndarray:
    """The course as the float vector the compiled kernel reads (effects resolved)."""
    v = np.zeros(N_TR)
    if treatment is None:
        v[TR_KIND] = KIND_NONE
    elif isinstance(treatment, DMTCourse):
        v[TR_KIND] = KIND_DMT
        v[TR_START] = treatment.start_day
        rate_ratio = getattr(params, f"dmt_{treatment.drug}_rate_ratio")
        responder, partial, share_partial, share_non = dmt_response_classes(
            rate_ratio, params.dmt_partial_response_probability, params.dmt_non_response_probability
        )
        v[TR_RATE_RATIO] = responder
        v[TR_RR_PARTIAL] = partial
        v[TR_SHARE_PARTIAL] = share_partial
        v[TR_SHARE_NON] = share_non
    elif isinstance(treatment, AHSCTCourse):
        default_intensity, default_days = REGIMEN_DEFAULTS[treatment.conditioning_regimen]
        intensity = treatment.conditioning_intensity or default_intensity
        conditioning_days = treatment.conditioning_days or default_days
        v[TR_KIND] = KIND_AHSCT
        mob = round(params.enrolment_to_mobilisation_days)
        cond = mob + round(params.mobilisation_to_conditioning_days)
        v[TR_MOB_DAY] = mob
        v[TR_COND_DAY] = cond
        v[TR_D0] = cond + conditioning_days
        v[TR_START] = v[TR_D0]
        v[TR_MOB_FLARE_P] = (
            params.mobilisation_flare_g_csf_probability
            if treatment.mobilisation_regimen == "g_csf"
            else params.mobilisation_flare_cy_g_csf_probability
        )
        v[TR_CD34_MEDIAN] = treatment.cd34_dose_1e6_per_kg
        v[TR_CD34_SDLOG] = treatment.cd34_dose_sdlog
        v[TR_SELECTED] = float(treatment.cd34_selected)
        v[TR_INTENSITY] = INTENSITIES.index(intensity)
        v[TR_REGIMEN] = REGIMENS.index(treatment.conditioning_regimen)
        v[TR_GCSF_AFTER] = float(treatment.g_csf_after_reinfusion)
        v[TR_YEAR] = treatment.transplant_year
        v[TR_SURV_LOG10] = getattr(params, f"lymphocyte_survival_{intensity}_log10")
        v[TR_HOST_MARROW] = getattr(params, f"host_marrow_{intensity}_ratio")
        v[TR_TRM_P] = getattr(params, f"trm_{intensity}_probability")
        v[TR_BUSULFAN] = float(treatment.conditioning_regimen == "bu_cy_atg")
        v[TR_ALEMTUZUMAB] = float(treatment.conditioning_regimen == "cy_alemtuzumab")
        atg = treatment.conditioning_regimen in _ATG_REGIMENS
        v[TR_EBV_P] = params.ebv_reactivation_probability * (1.0 if atg else 0.3)
        odds = params.secondary_autoimmunity_probability / (
            1 - params.secondary_autoimmunity_probability
        )
        if treatment.conditioning_regimen == "cy_alemtuzumab":
            odds *= params.alemtuzumab_autoimmunity_ratio
        v[TR_AUTOIMMUNITY_P] = odds / (1 + odds)
    else:
        v[TR_KIND] = KIND_MSC
        v[TR_START] = treatment.start_day
        v[TR_MSC_DOSE] = treatment.dose_1e6_per_kg
        v[TR_MSC_INFUSIONS] = treatment.infusions
        v[TR_MSC_INTERVAL] = treatment.interval_days
        weak = bool(treatment.autologous) and not treatment.pretreated
        v[TR_MSC_POTENCY_SP] = params.msc_spms_potency_ratio if weak else 1.0
        v[TR_MSC_ROUTE] = MSC_ROUTES.index(treatment.route)
        route_factor = (
            1.0
            if treatment.route == "intravenous"
            else params.msc_intrathecal_neuroprotection_ratio
        )
        v[TR_MSC_NEURO] = min(1.0, params.msc_neuroprotection_ratio * route_factor)
    return v
