"""The bundled example cohort: synthetic, made by a seeded generator, reproducible byte for byte.

No real patient contributed anything to it. The generator is a plain statistical sketch
(not the simulator): 300 patients from five fictitious centres, 180 treated with AHSCT
(mixed regimens, 2008-2021) and 120 on DMT only, with six-monthly EDSS visits, relapses,
yearly MRI, transplant adverse events and a few deaths, up to a data cut of 2025-06-30.
Its effect sizes are loosely in the range of the published cohorts but are illustrative.

A second bundled cohort (``load_example(comparator=True)``, ``example_comparator/``) gives
the DMT-only patients a realistic comparator: 400 patients whose treatment follows their
disease (confounding by indication: younger patients with higher EDSS, more relapses and
MRI activity go to AHSCT), first-line DMTs then a switch to a high-efficacy DMT
(natalizumab, ocrelizumab, ofatumumab, fingolimod, cladribine) at the index date, further
switches during follow-up, and some transplanted patients with a failed high-efficacy DMT
before AHSCT, so that crude and adjusted comparisons differ as in real registries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from msreboot.data import SCHEMA, Cohort, read_cohort, write_cohort
from msreboot.datasets._functional import functional_tests
from msreboot.datasets._immune import immune_reconstitution_labs, platelet_engraftment

__all__ = ["EXAMPLE_SEED", "example_path", "generate_example", "load_example", "write_example"]

EXAMPLE_SEED = 20_261_121
DATA_CUT = dt.date(2025, 6, 30)

_REGIMENS = {  # regimen: (share, intensity, conditioning days before reinfusion, P(selected))
    "cy200_atg": (0.45, "intermediate_lymphoablative", 5, 0.0),
    "beam_atg": (0.35, "intermediate_myeloablative", 6, 0.5),
    "bu_cy_atg": (0.10, "high", 9, 1.0),
    "cy_alemtuzumab": (0.05, "intermediate_lymphoablative", 5, 0.0),
    "cy_low": (0.05, "low", 4, 0.0),
}
_DMTS_FIRST = ("interferon_beta", "glatiramer", "teriflunomide", "dimethyl_fumarate")
_DMTS_HIGH = ("fingolimod", "natalizumab", "ocrelizumab", "cladribine", "alemtuzumab")
COMPARATOR_PATIENTS = 400
_COMPARATOR_DMTS = {  # high-efficacy DMT started at the index date: share
    "natalizumab": 0.35,
    "ocrelizumab": 0.3,
    "ofatumumab": 0.1,
    "fingolimod": 0.15,
    "cladribine": 0.1,
}


def example_path(*, comparator: bool = False) -> Path:
    """The folder holding the bundled example cohort (one CSV per table); ``comparator``:
    the cohort with a realistic DMT comparator (``example_comparator/``)."""
    name = "example_comparator" if comparator else "example"
    return Path(str(resources.files("msreboot.datasets") / name))


def load_example(*, comparator: bool = False) -> Cohort:
    """The bundled example cohort, validated (``comparator``: the one with a realistic DMT
    comparator and confounding by indication, 400 patients).

    Examples
    --------
    >>> load_example().n_patients
    300
    >>> load_example(comparator=True).n_patients
    400
    """
    return read_cohort(example_path(comparator=comparator))


def write_example(
    folder: str | Path, seed: int = EXAMPLE_SEED, *, comparator: bool = False
) -> list[Path]:
    """Generate the example cohort and write it as CSV files (what ``example/`` holds, or
    ``example_comparator/`` with ``comparator``)."""
    n_patients = COMPARATOR_PATIENTS if comparator else 300
    cohort = Cohort.from_frames(generate_example(seed, n_patients, comparator=comparator))
    return write_cohort(cohort, folder, "csv")


def _day(d: dt.date, days: float) -> dt.date:
    return d + dt.timedelta(days=round(days))


def _grid(x: float) -> float:
    """Nearest valid EDSS score (0, 1.0, 1.5, ... 9.5)."""
    x = float(np.clip(round(x * 2) / 2, 0.0, 9.5))
    return 0.0 if x < 1.0 else x


def generate_example(
    seed: int = EXAMPLE_SEED, n_patients: int = 300, *, comparator: bool = False
) -> dict[str, pd.DataFrame]:
    """Generate the example cohort's tables (raw, before validation).

    ``comparator``: treatment is drawn from each patient's characteristics (confounding
    by indication) and DMT-only patients switch to a high-efficacy DMT at their index
    date (see the module docstring); the default cohort is unchanged by this option.
    """
    rng = np.random.default_rng(seed)
    rows: dict[str, list[dict[str, object]]] = {
        name: []
        for name in (
            "patients",
            "treatments",
            "edss",
            "relapses",
            "mri",
            "adverse_events",
            "deaths",
        )
    }
    n_ahsct = round(n_patients * 0.6)
    for i in range(n_patients):
        pid = f"P{i + 1:03d}"
        patient = _comparator_patient(rng, pid) if comparator else _patient(rng, pid, i < n_ahsct)
        for table, row in patient:
            rows[table].append(row)
    tables = {name: pd.DataFrame(r) for name, r in rows.items()}
    # streams of their own: the values drawn above stay as they were
    tables["treatments"]["platelet_engraftment_date"] = platelet_engraftment(tables, seed)
    tables["labs"] = immune_reconstitution_labs(tables, seed)
    tables |= functional_tests(tables["edss"], seed)
    # a table without rows (no deaths in a small cohort) still has its columns
    return {
        name: frame if len(frame.columns) else pd.DataFrame(columns=list(SCHEMA[name].column_names))
        for name, frame in tables.items()
    }


def _patient(
    rng: np.random.Generator, pid: str, transplanted: bool
) -> Iterator[tuple[str, dict[str, object]]]:
    start = dt.date(2008, 1, 1)
    index = _day(start, rng.uniform(0, (dt.date(2021, 12, 31) - start).days))
    age = float(np.clip(rng.normal(37 if transplanted else 40, 8), 18, 60))
    birth = _day(index, -age * 365.25 - rng.uniform(0, 300))
    duration = float(np.clip(rng.gamma(3.0, 2.4), 0.8, 25))
    onset = _day(index, -duration * 365.25)
    diagnosis = _day(onset, min(rng.exponential(300), duration * 365.25 - 60))
    if transplanted:
        phenotype = rng.choice(["RRMS", "SPMS", "PPMS"], p=[0.75, 0.2, 0.05])
    else:
        phenotype = rng.choice(["RRMS", "SPMS"], p=[0.85, 0.15])
    progressive = phenotype != "RRMS"
    notes = "referred by regional MS clinic" if rng.random() < 0.1 else None
    yield (
        "patients",
        {
            "patient_id": pid,
            "sex": "F" if rng.random() < 0.65 else "M",
            "birth_date": birth,
            "onset_date": onset,
            "diagnosis_date": diagnosis,
            "phenotype": phenotype,
            "prior_dmt_count": int(rng.poisson(1.5) + (1 if transplanted else 0)),
            "hct_ci": int(rng.poisson(0.4)),
            "centre": f"C{rng.integers(1, 6):02d}",
            "notes": notes,
        },
    )
    # follow-up ends at the data cut or earlier (lost to follow-up)
    end = min(DATA_CUT, _day(index, rng.uniform(2, 10) * 365.25))
    death: dt.date | None = None
    trm = False
    # DMT history before the index date
    first_dmt = _day(max(diagnosis, _day(index, -5 * 365.25)), rng.uniform(10, 200))
    if first_dmt < _day(index, -60):
        drug = str(rng.choice(_DMTS_FIRST))
        yield (
            "treatments",
            {
                "patient_id": pid,
                "kind": "dmt",
                "start_date": first_dmt,
                "end_date": _day(index, -rng.uniform(30, 90)) if transplanted else _day(index, -1),
                "drug": drug,
                "stop_reason": "inefficacy",
            },
        )
    transplant_rows: list[tuple[str, dict[str, object]]] = []
    if transplanted:
        transplant_rows = list(_transplant(rng, pid, index, age))
        if rng.random() < 0.01 + 0.003 * max(age - 35, 0) + (0.02 if progressive else 0):
            trm = True
            death = _day(index, rng.uniform(15, 95))
    else:
        drug = str(rng.choice(_DMTS_HIGH))
        yield (
            "treatments",
            {
                "patient_id": pid,
                "kind": "dmt",
                "start_date": index,
                "end_date": None,
                "drug": drug,
                "stop_reason": None,
            },
        )
    if death is None and rng.random() < 0.02:
        death = _day(index, rng.uniform(200, (end - index).days + 200))
        death = death if death <= end else None
    for table, row in transplant_rows:
        if table == "treatments" and death is not None:
            row = _died_in_hospital(row, death)
        if death is None or table != "adverse_events" or row["onset_date"] <= death:  # type: ignore[operator]
            yield table, row
    if death is not None:
        end = min(end, death)
        yield (
            "deaths",
            {
                "patient_id": pid,
                "date": death,
                "cause": str(rng.choice(["infection", "transplant_toxicity"])) if trm else "other",
                "transplant_related": trm,
            },
        )
        if trm:
            yield (
                "adverse_events",
                {
                    "patient_id": pid,
                    "onset_date": _day(death, -rng.uniform(2, 10)),
                    "category": "infection",
                    "grade": 5,
                    "serious": True,
                    "pathogen": None,
                },
            )
    yield from _course(rng, pid, index, end, onset, transplanted, progressive)


def _died_in_hospital(course: dict[str, object], death: dt.date) -> dict[str, object]:
    """An AHSCT course of a patient who died before discharge: no discharge, and no
    engraftment when they died before it (the default example has no such patient; larger
    ones do)."""
    out = dict(course)
    for column in ("discharge_date", "engraftment_date"):
        when = out.get(column)
        if isinstance(when, dt.date) and when > death:
            out[column] = None
    return out


def _comparator_patient(
    rng: np.random.Generator, pid: str
) -> Iterator[tuple[str, dict[str, object]]]:
    """One patient of the comparator cohort: characteristics first, then the treatment
    they are given because of them (AHSCT or a switch to a high-efficacy DMT); records
    after a death are cut at it."""
    rows = list(_comparator_rows(rng, pid))
    death = next((r["date"] for t, r in rows if t == "deaths"), None)
    for table, row in rows:
        if death is not None and table == "treatments":
            if row["start_date"] > death:  # type: ignore[operator]
                continue
            if row.get("end_date") is not None and row["end_date"] > death:  # type: ignore[operator]
                row = row | {"end_date": death}
        if death is not None and table == "adverse_events" and row["onset_date"] > death:  # type: ignore[operator]
            continue
        yield table, row


def _comparator_rows(rng: np.random.Generator, pid: str) -> Iterator[tuple[str, dict[str, object]]]:
    start = dt.date(2010, 1, 1)
    index = _day(start, rng.uniform(0, (dt.date(2021, 12, 31) - start).days))
    age = float(np.clip(rng.normal(38, 9), 18, 60))
    duration = float(np.clip(rng.gamma(3.0, 2.4), 1.0, 25))
    progressive = bool(rng.random() < 0.15)
    pre_rate = float(rng.gamma(2.0, 0.15) if progressive else rng.gamma(4.0, 0.3))
    pre_rate *= float(np.exp(-0.04 * (age - 38)))  # younger patients relapse more
    level = float(np.clip(rng.normal(4.5 if progressive else 3.2, 1.3), 1.0, 6.5))
    mri_rate = float(rng.gamma(2.0, 0.8))
    logit = (
        -0.4
        - 0.045 * (age - 38)
        + 0.6 * (level - 3.5)
        + 1.1 * (pre_rate - 1.2)
        + 0.5 * (mri_rate - 1.6)
        - (0.8 if progressive else 0.0)
    )
    transplanted = bool(rng.random() < 1 / (1 + np.exp(-logit)))
    birth = _day(index, -age * 365.25 - rng.uniform(0, 300))
    onset = _day(index, -duration * 365.25)
    diagnosis = _day(onset, min(rng.exponential(300), duration * 365.25 - 60))
    first_line = int(rng.integers(1, 3))
    yield (
        "patients",
        {
            "patient_id": pid,
            "sex": "F" if rng.random() < 0.68 else "M",
            "birth_date": birth,
            "onset_date": onset,
            "diagnosis_date": diagnosis,
            "phenotype": "SPMS" if progressive else "RRMS",
            "hct_ci": int(rng.poisson(0.4)),
            "centre": f"C{rng.integers(1, 6):02d}",
        },
    )
    end = min(DATA_CUT, _day(index, rng.uniform(2, 10) * 365.25))
    # first-line DMTs, one after the other, up to a switch before the index date
    t = _day(max(diagnosis, _day(index, -6 * 365.25)), rng.uniform(10, 120))
    stop = _day(index, -rng.uniform(400, 900)) if transplanted else _day(index, -1)
    for k in range(first_line):
        last = k == first_line - 1
        course_end = stop if last else _day(t, rng.uniform(300, 900))
        if course_end <= _day(t, 60):
            break
        yield (
            "treatments",
            {
                "patient_id": pid,
                "kind": "dmt",
                "start_date": t,
                "end_date": course_end,
                "drug": str(rng.choice(_DMTS_FIRST)),
                "stop_reason": "inefficacy",
            },
        )
        t = _day(course_end, 1)
    names = list(_COMPARATOR_DMTS)
    shares = np.array([_COMPARATOR_DMTS[n] for n in names])
    death: dt.date | None = None
    trm = False
    if transplanted:
        if rng.random() < 0.3 and t < _day(index, -240):  # a failed high-efficacy DMT first
            yield (
                "treatments",
                {
                    "patient_id": pid,
                    "kind": "dmt",
                    "start_date": t,
                    "end_date": _day(index, -rng.uniform(60, 120)),
                    "drug": str(rng.choice(names, p=shares)),
                    "stop_reason": "inefficacy",
                },
            )
        transplant_rows = list(_transplant(rng, pid, index, age))
        if rng.random() < 0.005 + 0.002 * max(age - 35, 0):
            trm = True
            death = _day(index, rng.uniform(15, 95))
        yield from transplant_rows
    else:
        drug = str(rng.choice(names, p=shares))
        switch = _day(index, rng.uniform(200, 2500)) if rng.random() < 0.35 else None
        switch = switch if switch is not None and switch < end else None
        yield (
            "treatments",
            {
                "patient_id": pid,
                "kind": "dmt",
                "start_date": index,
                "end_date": None if switch is None else _day(switch, -1),
                "drug": drug,
                "stop_reason": None
                if switch is None
                else str(rng.choice(["adverse_event", "inefficacy", "patient_choice"])),
            },
        )
        if switch is not None:
            other = [n for n in names if n != drug]
            yield (
                "treatments",
                {
                    "patient_id": pid,
                    "kind": "dmt",
                    "start_date": switch,
                    "end_date": None,
                    "drug": str(rng.choice(other)),
                    "stop_reason": None,
                },
            )
    if death is None and rng.random() < 0.015:
        death = _day(index, rng.uniform(200, (end - index).days + 200))
        death = death if death <= end else None
    if death is not None:
        end = min(end, death)
        yield (
            "deaths",
            {
                "patient_id": pid,
                "date": death,
                "cause": "infection" if trm else "other",
                "transplant_related": trm,
            },
        )
    yield from _course(
        rng,
        pid,
        index,
        end,
        onset,
        transplanted,
        progressive,
        pre_rate,
        level,
        mri_rate,
        0.06 * (level - 3.5),  # higher EDSS, faster worsening
    )


def _transplant(
    rng: np.random.Generator, pid: str, day0: dt.date, age: float
) -> Iterator[tuple[str, dict[str, object]]]:
    names = list(_REGIMENS)
    regimen = names[rng.choice(len(names), p=[_REGIMENS[n][0] for n in names])]
    _, intensity, cond_days, p_selected = _REGIMENS[regimen]
    conditioning = _day(day0, -cond_days)
    mobilisation = _day(conditioning, -rng.uniform(25, 60))
    engraftment = _day(day0, float(rng.integers(8, 14)))
    yield (
        "treatments",
        {
            "patient_id": pid,
            "kind": "ahsct",
            "start_date": day0,
            "protocol": {"beam_atg": "BEAM-ATG", "cy200_atg": "Cy-ATG"}.get(regimen),
            "mobilisation_regimen": "cy_g_csf" if rng.random() < 0.85 else "g_csf",
            "mobilisation_date": mobilisation,
            "cd34_dose_1e6_per_kg": round(float(np.exp(rng.normal(np.log(5.0), 0.4))), 2),
            "cd34_selected": bool(rng.random() < p_selected),
            "conditioning_regimen": regimen,
            "conditioning_intensity": intensity,
            "conditioning_start_date": conditioning,
            "admission_date": _day(conditioning, -1),
            "engraftment_date": engraftment,
            "discharge_date": _day(engraftment, rng.uniform(3, 14)),
        },
    )
    if rng.random() < 0.65:
        yield (
            "adverse_events",
            {
                "patient_id": pid,
                "onset_date": _day(day0, rng.uniform(2, 9)),
                "category": "febrile_neutropenia",
                "grade": 3,
                "serious": True,
            },
        )
    if rng.random() < 0.3:
        yield (
            "adverse_events",
            {
                "patient_id": pid,
                "onset_date": _day(day0, rng.uniform(5, 120)),
                "category": "infection",
                "grade": int(rng.choice([2, 3, 4], p=[0.5, 0.4, 0.1])),
                "serious": bool(rng.random() < 0.4),
                "detail": "treated with antibiotics" if rng.random() < 0.3 else None,
            },
        )
    for pathogen, p in (("EBV", 0.25), ("CMV", 0.1), ("VZV", 0.15)):
        if rng.random() < p:
            yield (
                "adverse_events",
                {
                    "patient_id": pid,
                    "onset_date": _day(day0, rng.uniform(20, 365)),
                    "category": "viral_reactivation",
                    "grade": int(rng.choice([1, 2, 3])),
                    "pathogen": pathogen,
                    "serious": False,
                },
            )
    if rng.random() < 0.06:
        yield (
            "adverse_events",
            {
                "patient_id": pid,
                "onset_date": _day(day0, rng.uniform(180, 1000)),
                "category": "secondary_autoimmunity",
                "grade": 2,
                "serious": False,
            },
        )


def _course(
    rng: np.random.Generator,
    pid: str,
    index: dt.date,
    end: dt.date,
    onset: dt.date,
    transplanted: bool,
    progressive: bool,
    pre_rate: float | None = None,
    level: float | None = None,
    mri_rate: float = 1.6,
    drift_shift: float = 0.0,
) -> Iterator[tuple[str, dict[str, object]]]:
    """EDSS visits, relapses and MRI scans from one year before the index date to the end
    (``pre_rate``, ``level``: the relapse rate and EDSS at the index date when already
    drawn; ``mri_rate``: mean active lesions per scan before it)."""
    if pre_rate is None:
        pre_rate = rng.gamma(4.0, 0.3) if not progressive else rng.gamma(2.0, 0.15)
    post_rate = pre_rate * (0.04 if transplanted else 0.35)
    relapses: list[dt.date] = []
    t = max(_day(index, -730), _day(onset, 30))
    while True:
        rate = pre_rate if t < index else post_rate
        onset_next = _day(t, rng.exponential(365.25 / max(rate, 1e-3)) + 1)
        if t < index <= onset_next:
            t = index  # the rate changes at the index date: draw again from there
            continue
        t = onset_next
        if t > end:
            break
        if transplanted and index <= t <= _day(index, 60):
            continue  # no relapses during aplasia
        relapses.append(t)
        yield (
            "relapses",
            {
                "patient_id": pid,
                "onset_date": t,
                "end_date": _day(t, rng.uniform(20, 60)) if rng.random() < 0.5 else None,
            },
        )
    if level is None:
        level = float(np.clip(rng.normal(4.0 if transplanted else 3.0, 1.3), 1.0, 6.5))
    drift = rng.normal(0.25 if progressive else 0.08, 0.05) + drift_shift  # EDSS points/year
    if transplanted:
        drift = drift * (0.5 if progressive else 0.1) - (0.12 if rng.random() < 0.3 else 0.0)
    visit = max(_day(index, -rng.uniform(330, 400)), _day(onset, 14))
    last_level = level
    while visit <= end:
        years = (visit - index).days / 365.25
        residual = 0.5 * sum(1 for r in relapses if r < visit and rng.random() < 0.3)
        true = last_level if years < 0 else level + drift * years + residual * 0.5
        score = _grid(true + rng.choice([-0.5, 0.0, 0.5], p=[0.1, 0.8, 0.1]))
        recent = any(0 <= (visit - r).days < 30 for r in relapses)
        yield (
            "edss",
            {
                "patient_id": pid,
                "date": visit,
                "edss": score,
                "valid_for_confirmation": False if recent else None,
            },
        )
        step = 180 if visit >= _day(index, -60) else (index - visit).days - rng.integers(5, 25)
        visit = _day(visit, max(step, 30) + rng.normal(0, 12))
    scan = _day(index, -rng.uniform(60, 200))
    first = True
    while scan <= end:
        active_rate = mri_rate if scan < index else (0.03 if transplanted else 0.4)
        if progressive:
            active_rate *= 0.4
        gd = int(rng.negative_binomial(1.5, 1.5 / (1.5 + active_rate)))
        new_t2 = None if first else int(rng.negative_binomial(1.5, 1.5 / (1.5 + active_rate)))
        yield (
            "mri",
            {
                "patient_id": pid,
                "date": scan,
                "region": "brain",
                "gd_lesions": gd,
                "new_t2_lesions": new_t2,
            },
        )
        first = False
        scan = _day(scan, 365.25 + rng.normal(0, 30))
