"""The steps a therapy protocol is built from: mobilisation, graft, conditioning, MSC, DMT.

Each step is a frozen pydantic model whose facts are :class:`~msreboot.protocols.Sourced`
values with units in their names. Codes are those of the cohort schema
(``msreboot.data.SCHEMA["treatments"]``), so a protocol maps onto a treatments row.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from msreboot.protocols._sources import Sourced

__all__ = [
    "DMT",
    "Conditioning",
    "ConditioningIntensity",
    "ConditioningRegimen",
    "DMTDrug",
    "EfficacyClass",
    "Graft",
    "MSCRegimen",
    "MSCRoute",
    "MSCSource",
    "Mobilisation",
    "MobilisationRegimen",
    "Step",
]

# The cohort schema's vocabularies (tests check these equal the schema's allowed codes).
MobilisationRegimen = Literal["g_csf", "cy_g_csf", "other"]
ConditioningRegimen = Literal[
    "beam_atg", "cy200_atg", "bu_cy_atg", "cy_alemtuzumab", "cy_low", "tbi_based", "other"
]
ConditioningIntensity = Literal[
    "high", "intermediate_myeloablative", "intermediate_lymphoablative", "low"
]
MSCSource = Literal["bone_marrow", "adipose", "umbilical_cord", "other"]
MSCRoute = Literal["intravenous", "intrathecal", "intravenous_and_intrathecal"]
DMTDrug = Literal[
    "interferon_beta",
    "glatiramer",
    "teriflunomide",
    "dimethyl_fumarate",
    "diroximel_fumarate",
    "fingolimod",
    "siponimod",
    "ozanimod",
    "ponesimod",
    "cladribine",
    "natalizumab",
    "ocrelizumab",
    "ofatumumab",
    "ublituximab",
    "rituximab",
    "alemtuzumab",
    "mitoxantrone",
    "cyclophosphamide",
    "other",
]
EfficacyClass = Literal["platform", "moderate", "high"]

Dose = Sourced[float] | None


class Step(BaseModel):
    """Common shape of a protocol step: a key, a label, sourced facts and a note."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(pattern=r"^[a-z0-9_]+$")
    label: str
    note: str = ""

    def facts(self) -> dict[str, Sourced[Any]]:
        """The step's sourced values, by field name (missing ones left out)."""
        found = {name: getattr(self, name) for name in type(self).model_fields}
        return {name: value for name, value in found.items() if isinstance(value, Sourced)}


def _positive(step: Step, *names: str) -> None:
    for name in names:
        fact = getattr(step, name)
        if fact is not None and not fact.value > 0:
            raise ValueError(f"{name} must be > 0; got {fact.value}.")


class Mobilisation(Step):
    """Stem-cell mobilisation.

    Attributes
    ----------
    regimen
        Schema code: ``g_csf`` (G-CSF alone), ``cy_g_csf`` (cyclophosphamide + G-CSF),
        ``other``.
    g_csf_ug_per_kg_per_day
        G-CSF (filgrastim) dose, micrograms per kg per day.
    cyclophosphamide_g_per_m2
        Mobilising cyclophosphamide, grams per m2 of body surface (required for
        ``cy_g_csf``, absent for ``g_csf``).
    with_prednisone
        Steroid cover given against a G-CSF-induced MS flare.
    """

    regimen: MobilisationRegimen
    g_csf_ug_per_kg_per_day: Dose = None
    cyclophosphamide_g_per_m2: Dose = None
    with_prednisone: Sourced[bool] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Mobilisation:
        _positive(self, "g_csf_ug_per_kg_per_day", "cyclophosphamide_g_per_m2")
        has_cy = self.cyclophosphamide_g_per_m2 is not None
        if self.regimen == "cy_g_csf" and not has_cy:
            raise ValueError("a cy_g_csf mobilisation must give cyclophosphamide_g_per_m2.")
        if self.regimen == "g_csf" and has_cy:
            raise ValueError(
                "a g_csf mobilisation has no cyclophosphamide; use regimen = 'cy_g_csf'."
            )
        return self


class Graft(Step):
    """The reinfused graft.

    Attributes
    ----------
    cd34_selected
        CD34+ selection (lymphocyte depletion of the graft).
    min_cd34_dose_1e6_per_kg
        Minimum CD34+ dose the protocol requires, 10^6 cells per kg.
    lymphocyte_log10_depletion
        Graft lymphocytes removed by selection, in log10 (4 = 99.99% removed); required
        for a selected graft, absent (no depletion) for an unmanipulated one.
    """

    cd34_selected: Sourced[bool]
    min_cd34_dose_1e6_per_kg: Dose = None
    lymphocyte_log10_depletion: Dose = None

    @model_validator(mode="after")
    def _consistent(self) -> Graft:
        _positive(self, "min_cd34_dose_1e6_per_kg", "lymphocyte_log10_depletion")
        selected = self.cd34_selected.value
        if selected and self.lymphocyte_log10_depletion is None:
            raise ValueError("a CD34-selected graft must give lymphocyte_log10_depletion.")
        if not selected and self.lymphocyte_log10_depletion is not None:
            raise ValueError("an unmanipulated graft has no lymphocyte_log10_depletion.")
        return self

    @property
    def lymphocyte_fraction_kept(self) -> float:
        """Share of graft lymphocytes reinfused: ``10 ** -lymphocyte_log10_depletion``
        (1.0 for an unmanipulated graft)."""
        depletion = self.lymphocyte_log10_depletion
        return 1.0 if depletion is None else 10.0**-depletion.value


class Conditioning(Step):
    """A conditioning regimen and what the simulator needs from it.

    Doses are totals over the course (mg per kg of body weight, mg per m2 of body surface,
    or mg flat for alemtuzumab).

    Attributes
    ----------
    regimen
        Schema code (``beam_atg``, ``cy200_atg``, ``bu_cy_atg``, ``cy_alemtuzumab``,
        ``cy_low``, ``tbi_based``, ``other``).
    intensity
        EBMT intensity class (``high``, ``intermediate_myeloablative``,
        ``intermediate_lymphoablative``, ``low``).
    surviving_autoreactive_fraction
        Share of autoreactive memory lymphocytes that survive conditioning, in (0, 1]:
        the lymphoablation depth. A prior for calibration.
    cns_penetration
        An agent of the regimen reaches the central nervous system (busulfan).
    aplasia_days
        Days from reinfusion (day 0) to neutrophil engraftment.
    """

    regimen: ConditioningRegimen
    intensity: Sourced[ConditioningIntensity]
    cyclophosphamide_mg_per_kg: Dose = None
    busulfan_mg_per_kg: Dose = None
    carmustine_mg_per_m2: Dose = None
    etoposide_mg_per_m2: Dose = None
    cytarabine_mg_per_m2: Dose = None
    melphalan_mg_per_m2: Dose = None
    atg_mg_per_kg: Dose = None
    alemtuzumab_mg: Dose = None
    surviving_autoreactive_fraction: Sourced[float]
    cns_penetration: Sourced[bool]
    aplasia_days: Sourced[float]

    @model_validator(mode="after")
    def _consistent(self) -> Conditioning:
        _positive(
            self,
            "cyclophosphamide_mg_per_kg",
            "busulfan_mg_per_kg",
            "carmustine_mg_per_m2",
            "etoposide_mg_per_m2",
            "cytarabine_mg_per_m2",
            "melphalan_mg_per_m2",
            "atg_mg_per_kg",
            "alemtuzumab_mg",
            "aplasia_days",
        )
        fraction = self.surviving_autoreactive_fraction
        for name, number in (("value", fraction.value), ("low", fraction.low)):
            if number is not None and not 0 < number <= 1:
                raise ValueError(
                    f"surviving_autoreactive_fraction {name} must be in (0, 1]; got {number}."
                )
        if fraction.high is not None and fraction.high > 1:
            raise ValueError(
                f"surviving_autoreactive_fraction high must be <= 1; got {fraction.high}."
            )
        return self

    @property
    def lymphoablation_log10(self) -> float:
        """Lymphoablation depth in log10: ``-log10(surviving_autoreactive_fraction)``."""
        return -math.log10(self.surviving_autoreactive_fraction.value)


class MSCRegimen(Step):
    """A course of mesenchymal stem cells.

    Attributes
    ----------
    msc_source, msc_route
        Schema codes: tissue of origin and route of administration.
    msc_dose_1e6_per_kg
        Cells per infusion, 10^6 per kg.
    msc_infusions
        Number of infusions in the course.
    infusion_interval_days
        Days between infusions (for more than one).
    retreated_share
        Share of the patients given the later infusions (``None``: everyone). The others
        get the first infusion only, so the course is a mixture of two rows in
        :meth:`~msreboot.protocols.Protocol.treatment_fields` (Petrou 2020: half of each
        MSC arm re-treated at 6 months, the other half given placebo).
    msc_pretreated
        Cells pre-treated to enhance them.
    """

    msc_source: Sourced[MSCSource]
    msc_route: Sourced[MSCRoute]
    msc_dose_1e6_per_kg: Sourced[float]
    msc_infusions: Sourced[int]
    infusion_interval_days: Dose = None
    retreated_share: Dose = None
    msc_pretreated: Sourced[bool]

    @model_validator(mode="after")
    def _consistent(self) -> MSCRegimen:
        _positive(self, "msc_dose_1e6_per_kg", "msc_infusions", "infusion_interval_days")
        if self.msc_infusions.value > 1 and self.infusion_interval_days is None:
            raise ValueError("more than one MSC infusion needs infusion_interval_days.")
        share = self.retreated_share
        if share is not None:
            if not 0 < share.value < 1:
                raise ValueError(f"retreated_share must be in (0, 1); got {share.value}.")
            if self.msc_infusions.value < 2:
                raise ValueError("retreated_share needs msc_infusions of 2 or more.")
        return self


class DMT(Step):
    """A disease-modifying therapy and its effect.

    Attributes
    ----------
    key
        The schema's drug code (``natalizumab``).
    efficacy_class
        ``platform``, ``moderate`` or ``high`` (a convention).
    relapse_rate_ratio_vs_placebo
        Annualised relapse rate on the drug over that on placebo.
    edss_progression_rate_ratio
        Rate of relapse-independent EDSS progression on the drug over that without it.
    """

    key: DMTDrug
    efficacy_class: Sourced[EfficacyClass]
    relapse_rate_ratio_vs_placebo: Dose = None
    edss_progression_rate_ratio: Dose = None

    @model_validator(mode="after")
    def _consistent(self) -> DMT:
        _positive(self, "relapse_rate_ratio_vs_placebo", "edss_progression_rate_ratio")
        return self
