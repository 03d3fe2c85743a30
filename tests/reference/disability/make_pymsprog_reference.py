"""Reference results for the disability-event engine, produced by pymsprog.

pymsprog (PyPI ``pymsprog``, function ``MSprog``) is the independent reference for confirmed
disability worsening/improvement, PIRA and RAW. It needs ``numpy<2``, so this script never
imports it into the project's environment: run with any python3 it creates (or reuses) an
isolated virtual environment, installs the pinned reference there and re-runs itself inside
it. Run from anywhere:

    python3 tests/reference/disability/make_pymsprog_reference.py [--venv DIR] [--output FILE]

It writes ``pymsprog_reference.json`` beside this file: the input datasets, the grid of
``MSprog`` configurations and, for every configuration on every dataset, the ``results``,
``summary`` and ``unconfirmed`` frames (or the error pymsprog raised). Tests read the JSON
and never need pymsprog or this script; README.md beside it describes the layout.

JSON encoding: every table is ``{"columns": [...], "rows": [[...], ...]}`` in pymsprog's
column order; NaN becomes ``null``; +/- infinity becomes the strings ``"inf"`` / ``"-inf"``
both in the stored frames and in configuration arguments (``"inf"`` there means
``float("inf")``); integral floats are written as integers (-0.0 kept); tuples become lists.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
DEFAULT_OUTPUT = HERE / "pymsprog_reference.json"
DEFAULT_VENV = REPO_ROOT / ".pymsprog-venv"
REQUIREMENTS = ("numpy<2", "pymsprog==1.0.7", "pandas")
PYMSPROG_VERSION = "1.0.7"
FORMAT_VERSION = 1

SUBJ_COL = "patient_id"
DAY_COL = "day"
VALUE_COL = "edss"
VALIDCONF_COL = "valid_conf"

# Arguments passed to every MSprog call (column names and output switches).
FIXED_KWARGS: dict[str, Any] = {
    "subj_col": SUBJ_COL,
    "value_col": VALUE_COL,
    "date_col": DAY_COL,
    "rsubj_col": SUBJ_COL,
    "rdate_col": DAY_COL,
    "outcome": "edss",
    "date_format": "day",
    "include_dates": True,
    "include_value": True,
    "include_stable": True,
    "return_unconfirmed": True,
    "verbose": 0,
}

# ---------------------------------------------------------------------------------------------
# Minimum clinically meaningful EDSS change, by name (functions are not JSON).
# ---------------------------------------------------------------------------------------------


def _delta_kalincik_2015(ref: float) -> float:
    """1.5 from EDSS 0, 1.0 up to EDSS 5.5, 0.5 from EDSS 6.0."""
    if ref < 0.5:
        return 1.5
    return 1.0 if ref <= 5.5 else 0.5


def _delta_kappos_2020(ref: float) -> float:
    """1.0 up to EDSS 5.5, 0.5 above."""
    return 1.0 if ref <= 5.5 else 0.5


DELTA_FUNCTIONS: dict[str, Callable[[float], float] | None] = {
    "edss_default": None,  # pymsprog's built-in compute_delta for outcome="edss"
    "kalincik_2015": _delta_kalincik_2015,
    "kappos_2020": _delta_kappos_2020,
}
DELTA_DESCRIPTIONS = {
    "edss_default": "pymsprog built-in compute_delta(ref, outcome='edss') (delta_fun=None)",
    "kalincik_2015": "1.5 if ref == 0, 1.0 if 0 < ref <= 5.5, 0.5 if ref >= 6.0",
    "kappos_2020": "1.0 if ref <= 5.5, 0.5 if ref > 5.5",
}

# ---------------------------------------------------------------------------------------------
# Configuration grid: MSprog keyword arguments that differ from the pymsprog defaults.
# ---------------------------------------------------------------------------------------------

INF = "inf"
MUELLER_2023 = {"prec": [0, 0], "event": [90, 30], "conf": [90, 30], "prec_type": "baseline"}
BASELINE_TO_CONF = {"prec": [0, None], "event": [None, None], "conf": [None, 0]}
KAPPOS_LIKE = {"prec": [0, None], "event": [None, 30], "conf": [30, 30]}
PREC_LAST = {"prec": [90, 30], "event": [90, 30], "conf": [90, 30], "prec_type": "last"}
PREC_LAST_DELTA = {"prec": [90, 30], "event": [90, 30], "conf": [90, 30], "prec_type": "last_delta"}

CDI = {"event": "firstCDI"}
FIRST = {"event": "first"}
MULT = {"event": "multiple"}
MULT_RP = {"event": "multiple", "RAW_PIRA": True}
MULT_ROV = {"event": "multiple", "baseline": "roving"}
MULT_ROV_RP = {"event": "multiple", "baseline": "roving", "RAW_PIRA": True}
PIRA = {"event": "firstPIRA"}
PIRA_ROV = {"event": "firstPIRA", "baseline": "roving"}
RAW = {"event": "firstRAW"}
VALIDCONF = {"validconf_col": VALIDCONF_COL}


def _config(
    config_id: str, *presets: dict[str, Any], delta: str = "edss_default", **kwargs: Any
) -> dict[str, Any]:
    """A configuration entry: later presets and keyword arguments override earlier ones."""
    merged: dict[str, Any] = {}
    for preset in (*presets, kwargs):
        merged.update(preset)
    return {"id": config_id, "kwargs": merged, "delta": delta}


def _configs() -> list[dict[str, Any]]:
    """The grid: one or two arguments varied at a time from the pymsprog defaults."""
    c = _config
    grid = [
        # event type, RAW/PIRA classification, baseline scheme
        c("cdw_default"),
        c("cdi_default", CDI),
        c("first_default", FIRST),
        c("multiple_default", MULT),
        c("cdw_raw_pira", RAW_PIRA=True),
        c("first_raw_pira", FIRST, RAW_PIRA=True),
        c("multiple_raw_pira", MULT_RP),
        c("first_pira", PIRA),
        c("first_raw", RAW),
        c("first_pira_roving", PIRA_ROV),
        c("first_pira_roving_wors", PIRA, baseline="roving_wors"),
        c("first_raw_roving", RAW, baseline="roving"),
        c("cdw_roving_impr", baseline="roving_impr"),
        c("cdi_roving_wors", CDI, baseline="roving_wors"),
        c("multiple_roving", MULT_ROV),
        c("multiple_roving_impr", MULT, baseline="roving_impr"),
        c("multiple_roving_wors", MULT, baseline="roving_wors"),
        c("multiple_roving_raw_pira", MULT_ROV_RP),
        # where the search resumes after an event
        c("multiple_proceed_event", MULT, proceed_from="event"),
        c("multiple_roving_proceed_event", MULT_ROV, proceed_from="event"),
        c("cdw_roving_impr_proceed_event", baseline="roving_impr", proceed_from="event"),
        # re-baseline after confirmed sub-threshold changes
        c("multiple_roving_subthr_event", MULT_ROV, sub_threshold_rebl="event"),
        c("multiple_roving_subthr_improvement", MULT_ROV, sub_threshold_rebl="improvement"),
        c("multiple_roving_subthr_worsening", MULT_ROV, sub_threshold_rebl="worsening"),
        c(
            "cdw_roving_impr_subthr_improvement",
            baseline="roving_impr",
            sub_threshold_rebl="improvement",
        ),
        c("first_pira_roving_subthr_event", PIRA_ROV, sub_threshold_rebl="event"),
        # re-baseline after relapses; new baseline never below the old one
        c("cdw_relapse_rebl", relapse_rebl=True),
        c("cdw_relapse_rebl_bl_geq", relapse_rebl=True, bl_geq=True),
        c("multiple_roving_relapse_rebl", MULT_ROV, relapse_rebl=True),
        c("multiple_roving_relapse_rebl_bl_geq", MULT_ROV, relapse_rebl=True, bl_geq=True),
        c("multiple_roving_bl_geq", MULT_ROV, bl_geq=True),
        c("first_pira_relapse_rebl", PIRA, relapse_rebl=True),
        # baseline never placed at local extrema
        c("multiple_roving_skip_strict", MULT_ROV, skip_local_extrema="strict"),
        c("multiple_roving_skip_all", MULT_ROV, skip_local_extrema="all"),
        c(
            "multiple_roving_subthr_event_skip_all",
            MULT_ROV,
            sub_threshold_rebl="event",
            skip_local_extrema="all",
        ),
        c("cdw_relapse_rebl_skip_strict", relapse_rebl=True, skip_local_extrema="strict"),
        c("first_pira_roving_skip_all", PIRA_ROV, skip_local_extrema="all"),
        # confirmation period and tolerance window
        c("cdw_conf168", conf_days=168),
        c("cdw_conf84_168", conf_days=[84, 168]),
        c("cdi_conf168", CDI, conf_days=168),
        c("multiple_raw_pira_conf84_168", MULT_RP, conf_days=[84, 168]),
        c("cdw_tol_7_7", conf_tol_days=[7, 7]),
        c("cdw_tol_0_inf", conf_tol_days=[0, INF]),
        c("multiple_tol_7_7", MULT, conf_tol_days=[7, 7]),
        c("cdw_conf168_tol_7_7", conf_days=168, conf_tol_days=[7, 7]),
        c("first_pira_tol_0_inf", PIRA, conf_tol_days=[0, INF]),
        # intermediate visits and sustained change
        c("cdw_no_intermediate", check_intermediate=False),
        c("multiple_no_intermediate", MULT, check_intermediate=False),
        c("cdw_sust168", require_sust_days=168),
        c("cdw_sust_inf", require_sust_days=INF),
        c("multiple_sust168", MULT, require_sust_days=168),
        c("multiple_sust_inf", MULT, require_sust_days=INF),
        c("cdw_no_intermediate_sust168", check_intermediate=False, require_sust_days=168),
        c("first_pira_sust168", PIRA, require_sust_days=168),
        c("cdi_sust_inf", CDI, require_sust_days=INF),
        # distances from relapses
        c("cdw_rel_to_bl0", relapse_to_bl=0),
        c("cdw_rel_to_bl_30_30", relapse_to_bl=[30, 30]),
        c("multiple_roving_rel_to_bl_30_30", MULT_ROV, relapse_to_bl=[30, 30]),
        c("cdw_rel_to_event30", relapse_to_event=30),
        c("multiple_raw_pira_rel_to_event30", MULT_RP, relapse_to_event=30),
        c("cdw_rel_to_conf0", relapse_to_conf=0),
        c("first_raw_rel_to_conf0", RAW, relapse_to_conf=0),
        c("multiple_raw_pira_assoc_90_30", MULT_RP, relapse_assoc=[90, 30]),
        c("first_raw_assoc_90_30", RAW, relapse_assoc=[90, 30]),
        # PIRA definitions (relapse-free intervals)
        c("first_pira_mueller2023", PIRA, relapse_indep=MUELLER_2023),
        c("multiple_pira_bl_to_conf", MULT_RP, relapse_indep=BASELINE_TO_CONF),
        c("first_pira_bl_to_conf", PIRA, relapse_indep=BASELINE_TO_CONF),
        c("multiple_pira_kappos", MULT_RP, relapse_indep=KAPPOS_LIKE),
        c("first_pira_kappos", PIRA, relapse_indep=KAPPOS_LIKE),
        c("multiple_pira_prec_last", MULT_RP, relapse_indep=PREC_LAST),
        c("first_pira_prec_last_roving", PIRA_ROV, relapse_indep=PREC_LAST),
        c("multiple_pira_prec_last_delta", MULT_RP, relapse_indep=PREC_LAST_DELTA),
        c("first_pira_prec_last_delta", PIRA, relapse_indep=PREC_LAST_DELTA),
        c("multiple_roving_pira_kappos", MULT_ROV_RP, relapse_indep=KAPPOS_LIKE),
        c("first_pira_roving_bl_to_conf", PIRA_ROV, relapse_indep=BASELINE_TO_CONF),
        # visits not valid for confirmation
        c("cdw_validconf", VALIDCONF),
        c("cdi_validconf", CDI, VALIDCONF),
        c("multiple_raw_pira_validconf", MULT_RP, VALIDCONF),
        c("first_pira_kappos_validconf", PIRA, VALIDCONF, relapse_indep=KAPPOS_LIKE),
        # unconfirmed worsening at the last visit
        c("cdw_impute1", impute_last_visit=1),
        c("cdw_impute365", impute_last_visit=365),
        c("multiple_raw_pira_impute1", MULT_RP, impute_last_visit=1),
        c("multiple_impute365", MULT, impute_last_visit=365),
        c("cdw_impute1_sust168", impute_last_visit=1, require_sust_days=168),
        c("first_pira_impute1", PIRA, impute_last_visit=1),
        # minimum clinically meaningful change
        c("cdw_kalincik2015", delta="kalincik_2015"),
        c("cdw_kappos2020", delta="kappos_2020"),
        c("cdi_kalincik2015", CDI, delta="kalincik_2015"),
        c("multiple_raw_pira_kalincik2015", MULT_RP, delta="kalincik_2015"),
        c("multiple_roving_kappos2020", MULT_ROV, delta="kappos_2020"),
        c(
            "multiple_roving_subthr_event_kappos2020",
            MULT_ROV,
            sub_threshold_rebl="event",
            delta="kappos_2020",
        ),
        c(
            "multiple_roving_skip_strict_kalincik2015",
            MULT_ROV,
            skip_local_extrema="strict",
            delta="kalincik_2015",
        ),
        # several rules together
        c(
            "combo_roving_pira_kappos2020",
            MULT_ROV_RP,
            relapse_rebl=True,
            bl_geq=True,
            relapse_indep=KAPPOS_LIKE,
            conf_days=[84, 168],
            delta="kappos_2020",
        ),
        c(
            "combo_first_pira_mueller2023",
            PIRA_ROV,
            sub_threshold_rebl="event",
            skip_local_extrema="strict",
            relapse_indep=MUELLER_2023,
            conf_tol_days=[7, 7],
        ),
        c(
            "combo_multiple_everything",
            MULT_ROV_RP,
            VALIDCONF,
            proceed_from="event",
            conf_days=[84, 168],
            conf_tol_days=[7, 7],
            require_sust_days=168,
            impute_last_visit=1,
        ),
        c(
            "combo_multiple_strict_relapses",
            MULT_RP,
            relapse_to_bl=[30, 30],
            relapse_to_event=30,
            relapse_to_conf=[30, 30],
            relapse_assoc=[90, 30],
            delta="kalincik_2015",
        ),
    ]
    ids = [config["id"] for config in grid]
    if len(set(ids)) != len(ids):
        raise ValueError("configuration ids must be unique")
    unknown = {config["delta"] for config in grid} - set(DELTA_FUNCTIONS)
    if unknown:
        raise ValueError(f"delta must be one of {sorted(DELTA_FUNCTIONS)}; got {sorted(unknown)}")
    return grid


# ---------------------------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------------------------

EDSS_GRID_MAX = 10.0
SPECIAL_GAPS_DAYS = (30, 76, 77, 78, 83, 84, 85, 90, 91, 92, 161, 168, 175, 176, 814, 815)
RELAPSE_OFFSETS_DAYS = (0, 0, 30, 30, 90, 90, 1, 7, 14, 29, 31, 89, 91)

COHORTS: dict[str, dict[str, Any]] = {
    "cohort_mixed": {
        "seed": 20240611,
        "n_patients": 60,
        "description": "mixed courses: persistent and transient changes, some relapses",
        "p_special_gap": 0.3,
        "max_relapses": 4,
        "relapse_weight": 1.0,
        "drift": 0.03,
        "start_weights": {0.0: 3, 1.0: 3, 1.5: 3, 2.0: 3, 3.0: 3, 4.0: 2, 5.0: 3, 5.5: 3, 6.0: 2},
    },
    "cohort_relapsing": {
        "seed": 20240612,
        "n_patients": 60,
        "description": "frequent relapses with relapse-associated jumps that partly recover",
        "p_special_gap": 0.3,
        "max_relapses": 4,
        "relapse_weight": 3.0,
        "drift": 0.0,
        "start_weights": {0.0: 3, 1.0: 3, 1.5: 3, 2.0: 3, 2.5: 2, 3.0: 2, 4.0: 1, 5.0: 1},
    },
    "cohort_lags": {
        "seed": 20240614,
        "n_patients": 60,
        "description": (
            "upward drift around EDSS 5.0/5.5/6.0 and many visit lags at confirmation and "
            "relapse-window boundaries"
        ),
        "p_special_gap": 0.6,
        "max_relapses": 4,
        "relapse_weight": 1.0,
        "drift": 0.08,
        "start_weights": {0.0: 4, 1.0: 2, 1.5: 2, 2.0: 2, 3.0: 2, 5.0: 4, 5.5: 4, 6.0: 2},
    },
}


VISIT_COLUMNS = [SUBJ_COL, DAY_COL, VALUE_COL, VALIDCONF_COL]
RELAPSE_COLUMNS = [SUBJ_COL, DAY_COL]


def _rows_table(records: list[dict[str, Any]], columns: list[str]) -> dict[str, list[Any]]:
    return {"columns": columns, "rows": [[rec[col] for col in columns] for rec in records]}


def _clip_edss(value: float) -> float:
    return float(min(max(value, 0.0), EDSS_GRID_MAX))


def _make_patient(rng: Any, pid: int, spec: dict[str, Any]) -> tuple[list[dict], list[dict]]:
    """One synthetic patient: visits on integer days with EDSS on the 0.5 grid, and relapses."""
    n_visits = 4 + int(rng.triangular(0, 0, 22))  # 4 to 25 visits, mostly fewer than 12
    start_day = int(rng.integers(15000, 19000))  # days since 1970-01-01 (2011 to 2022)
    days = [start_day]
    for _ in range(n_visits - 1):
        if rng.random() < spec["p_special_gap"]:
            gap = int(rng.choice(SPECIAL_GAPS_DAYS))
        else:
            gap = int(rng.integers(30, 401))
        days.append(days[-1] + gap)

    # Relapses: before the first visit, on a visit day, 30 or 90 days (or nearby) before a
    # visit, within 30 days before a visit, anywhere in follow-up, after the last visit.
    weight = spec["relapse_weight"]
    probs = [0.3 / weight, 0.25, 0.2, 0.15, 0.1][: spec["max_relapses"] + 1]
    n_relapses = int(rng.choice(len(probs), p=[p / sum(probs) for p in probs]))
    relapse_days: set[int] = set()
    for _ in range(n_relapses):
        kind = rng.random()
        if kind < 0.15:
            relapse_days.add(start_day - int(rng.integers(1, 400)))
        elif kind < 0.8:
            visit = int(rng.integers(0, n_visits))
            relapse_days.add(days[visit] - int(rng.choice(RELAPSE_OFFSETS_DAYS)))
        elif kind < 0.95:
            relapse_days.add(int(rng.integers(start_day, days[-1] + 1)))
        else:
            relapse_days.add(days[-1] + int(rng.integers(1, 120)))
    relapses = sorted(relapse_days)

    # EDSS: a level that moves persistently, one-visit spikes/dips, relapse-associated jumps.
    starts = list(spec["start_weights"])
    weights = [float(w) for w in spec["start_weights"].values()]
    level = float(rng.choice(starts, p=[w / sum(weights) for w in weights]))
    steps = [0.0, 0.5, 1.0, 1.5, -0.5, -1.0]
    step_probs = [0.66, 0.09 + spec["drift"], 0.05, 0.02, 0.12 - spec["drift"] / 2, 0.06]
    step_probs = [p / sum(step_probs) for p in step_probs]
    values = []
    for i, day in enumerate(days):
        if i > 0:
            if level == 0.0 and rng.random() < 0.25:
                level = float(rng.choice([1.0, 1.5, 2.0]))
            elif level in (5.0, 5.5) and rng.random() < 0.2:
                level += 0.5
            else:
                level = _clip_edss(level + float(rng.choice(steps, p=step_probs)))
        value = level
        u = rng.random()
        if i > 0 and u < 0.05:
            value = _clip_edss(value + float(rng.choice([0.5, 1.0, 1.5])))
        elif i > 0 and u < 0.08:
            value = _clip_edss(value - float(rng.choice([0.5, 1.0])))
        for rday in relapses:
            if 0 <= day - rday <= 60 and rng.random() < 0.7:
                bump = float(rng.choice([0.5, 1.0, 1.5, 2.0]))
                value = _clip_edss(value + bump)
                if rng.random() < 0.3:
                    level = _clip_edss(level + 0.5)  # incomplete recovery
        values.append(value)

    visits = [
        {
            SUBJ_COL: pid,
            DAY_COL: day,
            VALUE_COL: value,
            VALIDCONF_COL: bool(rng.random() >= 0.1),
        }
        for day, value in zip(days, values, strict=True)
    ]
    return visits, [{SUBJ_COL: pid, DAY_COL: rday} for rday in relapses]


def _random_cohort(name: str) -> dict[str, Any]:
    import numpy as np

    spec = COHORTS[name]
    rng = np.random.default_rng(spec["seed"])
    visits: list[dict] = []
    relapses: list[dict] = []
    for pid in range(1, spec["n_patients"] + 1):
        v, r = _make_patient(rng, pid, spec)
        visits.extend(v)
        relapses.extend(r)
    return {
        "description": spec["description"],
        "seed": spec["seed"],
        "visits": _rows_table(visits, VISIT_COLUMNS),
        "relapses": _rows_table(relapses, RELAPSE_COLUMNS),
    }


def _toy_dataset() -> dict[str, Any]:
    import pandas as pd
    import pymsprog

    toy_visits, toy_relapses = pymsprog.load_toy_data()
    epoch = pd.Timestamp("1970-01-01")

    def to_day(dates: Any) -> list[int]:
        return [int(d) for d in (pd.to_datetime(dates) - epoch).dt.days]

    visits = [
        {SUBJ_COL: int(pid), DAY_COL: day, VALUE_COL: float(edss), VALIDCONF_COL: True}
        for pid, day, edss in zip(
            toy_visits["id"], to_day(toy_visits["date"]), toy_visits["EDSS"], strict=True
        )
    ]
    relapses = [
        {SUBJ_COL: int(pid), DAY_COL: day}
        for pid, day in zip(toy_relapses["id"], to_day(toy_relapses["date"]), strict=True)
    ]
    return {
        "description": (
            "pymsprog.load_toy_data(): EDSS visits and relapses, dates as days since "
            "1970-01-01; every visit valid for confirmation"
        ),
        "seed": None,
        "visits": _rows_table(visits, VISIT_COLUMNS),
        "relapses": _rows_table(relapses, RELAPSE_COLUMNS),
    }


# ---------------------------------------------------------------------------------------------
# Running pymsprog and encoding its output
# ---------------------------------------------------------------------------------------------


def _decode_arg(value: Any) -> Any:
    """JSON argument -> MSprog argument ("inf" -> float('inf'))."""
    if value == INF:
        return math.inf
    if isinstance(value, list):
        return [_decode_arg(v) for v in value]
    if isinstance(value, dict):
        return {k: _decode_arg(v) for k, v in value.items()}
    return value


def _call_kwargs(config: dict[str, Any]) -> dict[str, Any]:
    kwargs = {k: _decode_arg(v) for k, v in config["kwargs"].items()}
    if "relapse_indep" in kwargs:
        kwargs["relapse_indep"] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in kwargs["relapse_indep"].items()
        }
    kwargs["delta_fun"] = DELTA_FUNCTIONS[config["delta"]]
    return {**FIXED_KWARGS, **kwargs}


def _encode_scalar(value: Any) -> Any:
    import numpy as np
    import pandas as pd

    if value is None or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return INF if value > 0 else "-inf"
        if value.is_integer() and math.copysign(1.0, value) > 0:
            return int(value)  # day numbers and counts: 19185 rather than 19185.0
    if isinstance(value, pd.Timestamp):
        raise TypeError(f"dates must be day numbers with date_format='day'; got {value!r}")
    return value


def _table(frame: Any) -> dict[str, list[Any]]:
    """A frame as {"columns": [...], "rows": [[...], ...]}, pymsprog's column order kept."""
    return {
        "columns": [str(col) for col in frame.columns],
        "rows": [
            [_encode_scalar(val) for val in row] for row in frame.itertuples(index=False, name=None)
        ],
    }


def _msprog(config: dict[str, Any], visits: Any, relapses: Any) -> tuple[Any, Any, Any]:
    import numpy as np
    import pymsprog

    # No configuration here is random (impute_last_visit is 0, 1 or a day count); the legacy
    # global generator is seeded in case the reference draws from it anyway.
    np.random.seed(0)  # noqa: NPY002
    with contextlib.redirect_stdout(io.StringIO()):
        return pymsprog.MSprog(visits.copy(), relapse=relapses.copy(), **_call_kwargs(config))


def _run_one(config: dict[str, Any], visits: Any, relapses: Any) -> dict[str, Any]:
    """One configuration on one dataset: the three frames, or the error and who triggers it."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            summary, results, unconfirmed = _msprog(config, visits, relapses)
        except Exception as exc:  # the reference's failures are recorded, not fatal
            return {
                "error": f"{type(exc).__name__}: {exc}",
                "error_patients": _failing_patients(config, visits, relapses),
            }
    summary = summary.copy()
    summary.insert(0, SUBJ_COL, summary.index)
    return {
        "results": _table(results),
        "summary": _table(summary.reset_index(drop=True)),
        "unconfirmed": _table(unconfirmed),
        "warnings": sorted({f"{w.category.__name__}: {w.message}" for w in caught}),
    }


def _failing_patients(config: dict[str, Any], visits: Any, relapses: Any) -> list[Any]:
    """Patients whose data alone make MSprog raise with this configuration."""
    failing = []
    for pid in visits[SUBJ_COL].unique():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _msprog(
                    config,
                    visits[visits[SUBJ_COL] == pid],
                    relapses[relapses[SUBJ_COL] == pid],
                )
        except Exception:  # any failure counts; the message is stored for the whole dataset
            failing.append(_encode_scalar(pid))
    return failing


def _count_events(entry: dict[str, Any]) -> int:
    if "error" in entry:
        return 0
    nevent = entry["results"]["columns"].index("nevent")
    return sum(1 for row in entry["results"]["rows"] if row[nevent])


def _encode(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _encode(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_encode(v) for v in obj]
    return _encode_scalar(obj)


def _worker(output: Path) -> None:
    import inspect
    from importlib.metadata import version

    import pandas as pd
    import pymsprog

    if version("pymsprog") != PYMSPROG_VERSION:
        raise SystemExit(f"pymsprog must be {PYMSPROG_VERSION}; got {version('pymsprog')}.")

    datasets = {"toy": _toy_dataset()}
    datasets.update({name: _random_cohort(name) for name in COHORTS})
    configs = _configs()
    defaults = {
        name: param.default
        for name, param in inspect.signature(pymsprog.MSprog).parameters.items()
        if param.default is not inspect.Parameter.empty
    }
    refs = [i / 2 for i in range(21)]
    delta_functions = {
        name: {
            "description": DELTA_DESCRIPTIONS[name],
            "table": [
                [ref, float(pymsprog.compute_delta(ref, "edss") if fun is None else fun(ref))]
                for ref in refs
            ],
        }
        for name, fun in DELTA_FUNCTIONS.items()
    }

    frames = {
        name: (
            pd.DataFrame(ds["visits"]["rows"], columns=ds["visits"]["columns"]),
            pd.DataFrame(ds["relapses"]["rows"], columns=ds["relapses"]["columns"]),
        )
        for name, ds in datasets.items()
    }
    print(f"{'config':<46} events per dataset ({', '.join(datasets)})")
    results: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    n_events = 0
    for config in configs:
        per_dataset = {name: _run_one(config, *frames[name]) for name in datasets}
        results[config["id"]] = per_dataset
        counts = [_count_events(entry) for entry in per_dataset.values()]
        n_events += sum(counts)
        errors += [
            f"{config['id']} on {name}: {entry['error']} (patients {entry['error_patients']})"
            for name, entry in per_dataset.items()
            if "error" in entry
        ]
        shown = [
            "error" if "error" in entry else str(n)
            for entry, n in zip(per_dataset.values(), counts, strict=True)
        ]
        print(f"{config['id']:<46} {' '.join(shown)}", flush=True)

    document = {
        "generated_by": "tests/reference/disability/make_pymsprog_reference.py",
        "format_version": FORMAT_VERSION,
        "versions": {
            "pymsprog": version("pymsprog"),
            "numpy": version("numpy"),
            "pandas": version("pandas"),
            "python": platform.python_version(),
        },
        "encoding": (
            "Tables are {'columns': [...], 'rows': [[...], ...]} with every column in pymsprog's "
            "order. NaN -> null; +inf/-inf -> 'inf'/'-inf' (also in config kwargs, where 'inf' "
            "means float('inf')); integral floats are written as integers (19185 for 19185.0; "
            "-0.0 kept); tuples -> lists. Days are days since 1970-01-01. A failed call "
            "stores {'error': '<ExceptionType>: <message>', 'error_patients': [ids whose data "
            "alone make the call fail]}."
        ),
        "call": {
            "function": (
                "summary, results, unconfirmed = pymsprog.MSprog(visits, relapse=relapses, "
                "**fixed_kwargs, **config['kwargs'], delta_fun=<config['delta']>); summary gets "
                "its index as the subj_col column"
            ),
            "fixed_kwargs": FIXED_KWARGS,
            "msprog_defaults": _encode(defaults),
        },
        "delta_functions": delta_functions,
        "datasets": datasets,
        "configs": configs,
        "results": results,
    }
    output.write_text(_dumps(document) + "\n", encoding="utf-8")
    print(
        f"{len(configs)} configs x {len(datasets)} datasets = {len(configs) * len(datasets)} "
        f"runs; {n_events} events; {len(errors)} errors; wrote {output} "
        f"({output.stat().st_size / 1e6:.2f} MB)"
    )
    for line in errors:
        print(f"  error: {line}")


# ---------------------------------------------------------------------------------------------
# Stable JSON layout: sorted keys, one table row per line.
# ---------------------------------------------------------------------------------------------


MAX_INDENT = 2


def _compact(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _dumps(obj: Any, level: int = 0) -> str:
    """Nested containers one item per line; rows, records and short dicts compact on one line.

    Indentation stops growing after two spaces to keep the file small.
    """
    pad, end = " " * min(level + 1, MAX_INDENT), " " * min(level, MAX_INDENT)
    if isinstance(obj, list) and obj and all(isinstance(x, dict | list) for x in obj):
        return "[\n" + ",\n".join(pad + _compact(x) for x in obj) + "\n" + end + "]"
    if isinstance(obj, dict) and len(_compact(obj)) > 100:
        items = [
            f"{pad}{json.dumps(str(k))}: {_dumps(obj[k], level + 1)}" for k in sorted(obj, key=str)
        ]
        return "{\n" + ",\n".join(items) + "\n" + end + "}"
    return _compact(obj)


# ---------------------------------------------------------------------------------------------
# Entry point: set up the isolated environment, then run the worker inside it.
# ---------------------------------------------------------------------------------------------


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _ensure_venv(venv: Path) -> Path:
    python = _venv_python(venv)
    if not python.exists():
        print(f"creating virtual environment {venv}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    check = (
        "import importlib.metadata as m, sys; "
        f"sys.exit(m.version('pymsprog') != {PYMSPROG_VERSION!r} "
        "or int(m.version('numpy').split('.')[0]) >= 2)"
    )
    if subprocess.run([str(python), "-c", check], capture_output=True).returncode != 0:
        print(f"installing {' '.join(REQUIREMENTS)} into {venv}", flush=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS], check=True)
    return python


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--venv",
        type=Path,
        default=None,
        help=f"virtual environment for pymsprog (default {DEFAULT_VENV}; created if missing)",
    )
    parser.add_argument("--temp-venv", action="store_true", help="use a throwaway environment")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON file to write")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        _worker(args.output.resolve())
        return
    with contextlib.ExitStack() as stack:
        if args.temp_venv:
            venv = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "venv"
        else:
            venv = (args.venv or DEFAULT_VENV).resolve()
        python = _ensure_venv(venv)
        output = args.output.resolve()
        cmd = [str(python), str(Path(__file__).resolve()), "--worker", "--output", str(output)]
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
