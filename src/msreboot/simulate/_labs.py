"""Laboratory results of virtual transplant patients: immune reconstitution after AHSCT.

With ``VisitSchedule(lab_months=...)`` each patient of an AHSCT course has blood drawn at
baseline (enrolment, before mobilisation) and the given months after the reinfusion, as
long as they are observed and alive. The ``labs`` table gets, per draw, the analytes of
:data:`SIMULATED_ANALYTES` (cells/uL):

- ``cd4`` and ``cd4_naive``: the model's own T-cell pools (surviving and graft-derived
  naive cells, new thymic emigrants, memory; :mod:`msreboot.simulate._kernel_transplant`)
  at the draw day, so conditioning intensity, CD34 selection, the graft dose and the
  patient's thymic function (falling with age) set them.
- ``cd8``, ``cd19``, ``nk``: kinetic rules relative to the patient's baseline, with the
  anchors below (the model has no pools for them):

  * NK cells ``1 - exp(-t / tau_NK)``, ``tau_NK`` 0.4 months: at least 90% of baseline
    by 1 month (Storek et al., Clin Immunol 2004;113:285-98: NK counts normal by 1 month
    after autologous CD34-selected transplantation for MS or systemic sclerosis; NK cells
    return faster than CD4 T cells, Darlington et al., Front Immunol 2018;9:834);
  * CD8 T cells ``1 - (1 - f0) exp(-t / tau_8)``, ``f0`` 0.02 (assumed), ``tau_8`` 3
    months: 86% at 6 and 98% at 12 months (efficient peripheral expansion of CD8, not CD4,
    Storek 2004; CD8 counts recover in 3-12 months after autologous transplantation,
    Porrata and Markovic, Clin Med Res 2004, as tabulated in a 2010 review: not checked in
    the original);
  * B cells ``(1 - exp(-(t / tau_B)^2)) (1 + o (t / t_o) exp(1 - t / t_o))``, ``tau_B`` 3
    months (near baseline by 6 months, Storek 2004) with an overshoot above baseline
    (reported for AHSCT in MS, mostly naive B cells; size ``o`` 0.5 and peak ``t_o`` 9
    months assumed, not read from a paper).

- ``lymphocytes``: ``(CD4 + CD8)(1 + 0.05) + CD19 + NK`` (other T cells 5% of CD4 + CD8:
  assumed), before assay noise, times the patient's own lymphocyte level.

Baselines (cells/uL): CD4 and naive CD4 from the model's steady state (naive 400 +
memory 400, Ribeiro & De Boer for the naive pool); CD8 450, CD19 230, NK 250 (assumed
typical adult counts). Each patient has a level for each analyte (lognormal, SD 0.3 on the
log scale, assumed) that multiplies all their results of it; the kinetic rules run on a
time scale of the patient's own (lognormal, SD 0.3, assumed); every result has assay
noise (lognormal, SD 0.1, assumed). These draws come from a random stream of their own
(stream ``STREAM_LABS`` of each patient, seeded like the kernel's streams), so turning labs on
changes no other table and no patient's truth.

What is not modelled: ATG acts only through the conditioning intensity class (no separate
ATG term); CD8, B and NK recovery do not depend on conditioning, graft or age; no
infections or reactivations feed back on the counts; the model's new thymic emigrants are
not the CD31+ recent thymic emigrants a laboratory measures, so that analyte is not written.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from msreboot.data import SCHEMA
from msreboot.simulate._kernel_common import NA_DAY, T_DEATH_DAY, T_OBS_END

__all__ = ["LAB_MONTHS", "SIMULATED_ANALYTES", "labs_table"]

LAB_MONTHS: tuple[float, ...] = (1.0, 3.0, 6.0, 12.0, 24.0, 36.0, 48.0)
"""The usual draw times after the reinfusion, in months (within follow-up)."""

SIMULATED_ANALYTES = ("cd4", "cd4_naive", "cd8", "cd19", "nk", "lymphocytes")
"""The analytes a virtual transplant patient's draws report (codes of ``ANALYTES``)."""

DAYS_PER_MONTH = 365.25 / 12

BASELINE_PER_UL = {"cd8": 450.0, "cd19": 230.0, "nk": 250.0}  # assumed adult counts
OTHER_T_RATIO = 0.05  # CD3+ cells neither CD4+ nor CD8+, share of CD4 + CD8 (assumed)
NK_TAU_MONTHS = 0.4  # Storek 2004: NK normal by 1 month
CD8_START_RATIO = 0.02  # assumed
CD8_TAU_MONTHS = 3.0  # Storek 2004; Porrata 2004 (secondary): 3-12 months
B_TAU_MONTHS = 3.0  # Storek 2004: B cells normal by 6 months
B_OVERSHOOT_RATIO = 0.5  # assumed
B_PEAK_MONTHS = 9.0  # assumed
LEVEL_SD_LOG = 0.3  # between-patient level of each analyte (assumed)
TIME_SD_LOG = 0.3  # between-patient time scale of the kinetic rules (assumed)
ASSAY_SD_LOG = 0.1  # per result (assumed)

# normals per patient: a level per analyte (6), a time scale per ruled analyte (3), then
# the assay noise per draw and analyte (6 per draw)
_N_LEVEL = len(SIMULATED_ANALYTES)
_N_TIME = 3


def recovery_ratio(analyte: str, months: np.ndarray) -> np.ndarray:
    """Count relative to baseline ``months`` after the reinfusion, by the kinetic rule of
    ``cd8``, ``cd19`` or ``nk`` (0 at the reinfusion; ``months`` on the patient's scale)."""
    t = np.maximum(np.asarray(months, dtype=float), 0.0)
    if analyte == "nk":
        out: np.ndarray = 1.0 - np.exp(-t / NK_TAU_MONTHS)
    elif analyte == "cd8":
        out = 1.0 - (1.0 - CD8_START_RATIO) * np.exp(-t / CD8_TAU_MONTHS)
    elif analyte == "cd19":
        rise = 1.0 - np.exp(-((t / B_TAU_MONTHS) ** 2))
        bump = B_OVERSHOOT_RATIO * (t / B_PEAK_MONTHS) * np.exp(1.0 - t / B_PEAK_MONTHS)
        out = rise * (1.0 + bump)
    else:
        raise ValueError(f"analyte must be cd8, cd19 or nk; got {analyte!r}")
    return out


def draw_days(lab_months: tuple[float, ...], d0: int, mobilisation_day: int) -> np.ndarray:
    """Draw days from enrolment: the baseline (enrolment, or the day before mobilisation
    when it starts at enrolment) and each month after the reinfusion ``d0``."""
    baseline = min(0, mobilisation_day - 1)
    after = [d0 + round(m * DAYS_PER_MONTH) for m in lab_months]
    return np.array([baseline, *after], dtype=np.int64)


def labs_table(
    ids: np.ndarray,
    transplanted: np.ndarray,
    truth: np.ndarray,
    cd4: np.ndarray,
    normals: np.ndarray,
    lab_months: tuple[float, ...],
    d0: int,
    mobilisation_day: int,
    naive_star: float,
    memory_star: float,
) -> pd.DataFrame:
    """The canonical ``labs`` table (day-based) of the transplanted patients.

    ``cd4`` holds per patient and draw after the reinfusion the model's total and naive CD4
    counts (NaN beyond follow-up); ``normals`` the patient's labs-stream normals.
    """
    spec = SCHEMA["labs"]
    days = draw_days(lab_months, d0, mobilisation_day)
    rows = np.flatnonzero(transplanted)
    n_draw = len(days)
    months = np.array([0.0, *lab_months])
    z = normals[rows]
    level = np.exp(LEVEL_SD_LOG * z[:, :_N_LEVEL])
    scale = np.exp(TIME_SD_LOG * z[:, _N_LEVEL : _N_LEVEL + _N_TIME])
    assay = z[:, _N_LEVEL + _N_TIME :].reshape(len(rows), n_draw, _N_LEVEL)
    k = {a: i for i, a in enumerate(SIMULATED_ANALYTES)}
    true = np.empty((len(rows), n_draw, _N_LEVEL))
    model = np.concatenate(
        [
            np.tile([[[naive_star + memory_star, naive_star]]], (len(rows), 1, 1)),
            cd4[rows],
        ],
        axis=1,
    )
    true[:, :, k["cd4"]] = model[:, :, 0] * level[:, [k["cd4"]]]
    true[:, :, k["cd4_naive"]] = model[:, :, 1] * level[:, [k["cd4_naive"]]]
    for j, analyte in enumerate(("cd8", "cd19", "nk")):
        on_scale = months[None, :] / scale[:, [j]]
        ratio = recovery_ratio(analyte, on_scale)
        ratio[:, 0] = 1.0  # baseline
        true[:, :, k[analyte]] = BASELINE_PER_UL[analyte] * level[:, [k[analyte]]] * ratio
    t_cells = true[:, :, k["cd4"]] + true[:, :, k["cd8"]]
    true[:, :, k["lymphocytes"]] = (
        t_cells * (1.0 + OTHER_T_RATIO) + true[:, :, k["cd19"]] + true[:, :, k["nk"]]
    ) * level[:, [k["lymphocytes"]]]
    values = true * np.exp(ASSAY_SD_LOG * assay)
    death = truth[rows, T_DEATH_DAY]
    seen = (days[None, :] <= truth[rows, T_OBS_END][:, None]) & ~(
        days[None, :] >= np.where(np.isnan(death), np.inf, death)[:, None]
    )
    seen &= ~np.isnan(model[:, :, 0])
    p, d = np.nonzero(seen)
    n_out = len(p) * _N_LEVEL
    patient = np.repeat(rows[p], _N_LEVEL)
    day = np.repeat(days[d], _N_LEVEL)
    codes = np.tile(np.array(SIMULATED_ANALYTES, dtype=object), len(p))
    value = values[p, d, :].reshape(-1)
    frame = pd.DataFrame(
        {
            "patient_id": pd.array(ids[patient].astype(object), dtype="string"),
            "date": pd.arrays.IntegerArray(day.astype(np.int64), day == NA_DAY),
            "analyte": pd.array(codes, dtype="string"),
            "value": value.astype(np.float64),
            "unit": pd.array(np.full(n_out, "cells/uL", dtype=object), dtype="string"),
        }
    )
    frame = frame.astype({c.name: c.dtype("day") for c in spec.columns if c.name in frame})
    ordered = frame.sort_values(["patient_id", "date", "analyte"], kind="stable")
    return ordered.reset_index(drop=True)[[c.name for c in spec.columns]]


def normals_per_patient(n_lab_months: int) -> int:
    """How many labs-stream normals a patient needs for ``n_lab_months`` draws."""
    return _N_LEVEL + _N_TIME + (n_lab_months + 1) * _N_LEVEL
