"""Compiled effect of a course of mesenchymal stem-cell (MSC) infusions in one month.

Anti-inflammatory effect: each infusion on or before the middle of the month adds
``exp(-(t - t_j) / msc_effect_days)`` to the exposure (capped at 1, a fresh infusion). The
reduction of the inflammatory rate (relapses and new Gd+ lesions) is

    effect = min(1, E_max * dose / (dose + ED50) * potency * route) * exposure

with ``E_max`` = ``msc_max_effect_ratio``, ``ED50`` = ``msc_ed50_1e6_per_kg``, ``potency``
1 for a relapsing patient and the course's progressive-patient potency
(``msc_spms_potency_ratio`` for autologous cells that are not pre-treated) otherwise, and
``route`` 1 for intravenous cells and ``msc_intrathecal_effect_ratio`` for an intrathecal
(or combined) course. The month's inflammatory multiplier is ``1 - effect``.

Neuroprotection: relapse-independent progression is multiplied by
``1 - neuro exp(-(t - t_0) / msc_neuroprotection_days)`` after the first infusion, where
``neuro`` is the course's resolved neuroprotection (intravenous
``msc_neuroprotection_ratio``, times ``msc_intrathecal_neuroprotection_ratio`` for an
intrathecal course, capped at 1).

Sources of each parameter: :class:`~msreboot.simulate.SimulationParameters`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from msreboot.simulate._kernel_common import (
    LAYOUT_FINGERPRINT,
    MSC_DAYS,
    MSC_ED50,
    MSC_IT_EFFECT,
    MSC_MAX,
    MSC_NEURO_DAYS,
    PH_RR,
)
from msreboot.simulate._treatment import (
    MSC_ROUTES,
    TR_MSC_DOSE,
    TR_MSC_INFUSIONS,
    TR_MSC_INTERVAL,
    TR_MSC_NEURO,
    TR_MSC_POTENCY_SP,
    TR_MSC_ROUTE,
    TR_START,
)

ROUTE_INTRAVENOUS = MSC_ROUTES.index("intravenous")


@njit(cache=True)
def msc_peak_effect(fp: np.ndarray, tv: np.ndarray, phenotype: int) -> float:
    """Reduction of the inflammatory rate just after an infusion (0 to 1)."""
    potency = 1.0 if phenotype == PH_RR else tv[TR_MSC_POTENCY_SP]
    route = 1.0 if int(tv[TR_MSC_ROUTE]) == ROUTE_INTRAVENOUS else fp[MSC_IT_EFFECT]
    dose = tv[TR_MSC_DOSE]
    return float(min(1.0, fp[MSC_MAX] * dose / (dose + fp[MSC_ED50]) * potency * route))


@njit(cache=True)
def msc_month(fp: np.ndarray, tv: np.ndarray, phenotype: int, mid: float) -> tuple[float, float]:
    """``(inflammatory multiplier, progression multiplier)`` of the month whose middle is
    day ``mid`` (days from enrolment)."""
    exposure = 0.0
    for j in range(int(tv[TR_MSC_INFUSIONS])):
        tj = tv[TR_START] + j * tv[TR_MSC_INTERVAL]
        if tj <= mid:
            exposure += math.exp(-(mid - tj) / fp[MSC_DAYS])
    mult = 1.0 - msc_peak_effect(fp, tv, phenotype) * min(exposure, 1.0)
    neuro_factor = 1.0
    if mid >= tv[TR_START]:
        neuro_factor = 1.0 - tv[TR_MSC_NEURO] * math.exp(-(mid - tv[TR_START]) / fp[MSC_NEURO_DAYS])
    return mult, neuro_factor


@njit(cache=True)
def compiled_fingerprint() -> int:
    """The layout this module was compiled with (see ``_cache.ensure_fresh``)."""
    return LAYOUT_FINGERPRINT
