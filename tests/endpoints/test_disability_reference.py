"""Differential test: the disability engine against pymsprog 1.0.7 (the msprog reference).

``tests/reference/disability/pymsprog_reference.json`` holds pymsprog's inputs and outputs
for 96 configurations on its toy data and three seeded cohorts (made by
``make_pymsprog_reference.py`` in pymsprog's own environment; pymsprog is never needed
here). Every event, every censored row, the per-patient counts and the unconfirmed
candidates must agree exactly, except for the deliberate fixes listed in ``KNOWN``.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from msreboot.endpoints import (
    BaselineRule,
    ConfirmationRule,
    DisabilityDefinition,
    PIRARule,
    RelapseBuffer,
    ThresholdRule,
    detect_disability_events,
)

REFERENCE = Path(__file__).parents[1] / "reference" / "disability" / "pymsprog_reference.json"

# pymsprog raises instead of answering; the engine answers (see the test below)
CRASHES = {
    "first_pira_impute1": "an imputed last-visit worsening that is RAW, in a first-PIRA search "
    "with a fixed baseline, leaves a confirmation period without visits and pymsprog fails "
    "on np.min([]); the engine skips the event and moves on",
}

_EVENT = {
    "firstCDW": "first_cdw",
    "firstCDI": "first_cdi",
    "first": "first",
    "firstPIRA": "first_pira",
    "firstRAW": "first_raw",
    "multiple": "all",
}
_BASELINE = {
    "fixed": "fixed",
    "roving": "roving",
    "roving_impr": "roving_improvement",
    "roving_wors": "roving_worsening",
}
_THRESHOLD = {
    "edss_default": ThresholdRule.msprog,
    "kalincik_2015": ThresholdRule.kalincik_2015,
    "kappos_2020": ThresholdRule.kappos_2020,
}


@cache
def reference() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(REFERENCE.read_text())
    return data


def _number(value: Any) -> Any:
    if isinstance(value, str) and value in ("inf", "-inf"):
        return float(value)
    if isinstance(value, list):
        return [_number(v) for v in value]
    return value


def _table(table: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(table["rows"], columns=table["columns"])


def definition_from(config: dict[str, Any]) -> tuple[DisabilityDefinition, bool]:
    """The msreboot definition for a pymsprog call, and whether it uses a validity column."""
    kw = {k: _number(v) for k, v in config["kwargs"].items()}
    defaults = {k: _number(v) for k, v in reference()["call"]["msprog_defaults"].items()}
    get = lambda name: kw.get(name, defaults[name])  # noqa: E731
    relapse_rebl = bool(get("relapse_rebl"))
    indep = get("relapse_indep") or {
        "prec": [0, 0],
        "event": [90, 30],
        "conf": [90, 30],
        "prec_type": "baseline",
    }
    impute = get("impute_last_visit")
    definition = DisabilityDefinition(
        name=config["id"],
        event=_EVENT[get("event")],  # type: ignore[arg-type]
        classify_raw_pira=bool(get("RAW_PIRA")),
        threshold=_THRESHOLD[config["delta"]](),
        confirmation=ConfirmationRule(
            days=get("conf_days"),
            tolerance_days=get("conf_tol_days"),
            check_intermediate=bool(get("check_intermediate")),
            sustained_days=float(get("require_sust_days")),
        ),
        baseline=BaselineRule(
            kind=_BASELINE[get("baseline")],  # type: ignore[arg-type]
            proceed_from="event" if get("proceed_from") == "event" else "confirmation",
            sub_threshold=get("sub_threshold_rebl"),
            after_relapse=relapse_rebl,
            not_lower=bool(get("bl_geq")) and relapse_rebl,
            skip_local_extrema=get("skip_local_extrema"),
        ),
        relapse_buffer=RelapseBuffer(
            baseline=get("relapse_to_bl"),
            event=get("relapse_to_event"),
            confirmation=get("relapse_to_conf"),
        ),
        pira=PIRARule(
            raw_days=_pair(get("relapse_assoc")),
            preceding=tuple(indep["prec"]),  # type: ignore[arg-type]
            event=tuple(indep["event"]),  # type: ignore[arg-type]
            confirmation=tuple(indep["conf"]),  # type: ignore[arg-type]
            preceding_visit=indep.get("prec_type", "baseline"),
        ),
        impute_last_visit=impute >= 1,
        impute_within_days=float(impute) if impute > 1 else math.inf,
    )
    return definition, get("validconf_col") is not None


def _pair(value: Any) -> tuple[float, float]:
    if isinstance(value, list):
        return (float(value[0]), float(value[1]) if len(value) > 1 else 0.0)
    return (float(value), 0.0)


def run(config: dict[str, Any], dataset: str) -> Any:
    data = reference()["datasets"][dataset]
    visits = _table(data["visits"])
    relapses = _table(data["relapses"])
    definition, with_valid = definition_from(config)
    return detect_disability_events(
        visits.astype({"patient_id": str}),
        relapses.astype({"patient_id": str}),
        definition,
        date_col="day",
        valid_col="valid_conf" if with_valid else None,
        relapse_date_col="day",
        relapse_end_col=None,
    )


_COLUMNS = {
    "event_type": "event_type",
    "CDW_type": "cdw_type",
    "date": "date",
    "value": "value",
    "bl_date": "baseline_date",
    "bl_value": "baseline_value",
    "last_delta_date": "last_delta_date",
    "last_delta_value": "last_delta_value",
    "total_fu": "total_follow_up_days",
    "time2event": "time_days",
    "bl2event": "baseline_to_event_days",
    "sust_days": "sustained_days",
    "sust_last": "sustained_to_last_visit",
}


def _ours_name(column: str) -> str:
    if column in _COLUMNS:
        return _COLUMNS[column]
    for prefix, ours in (("PIRA_conf", "pira_confirmation_"), ("conf", "confirmation_")):
        if column.startswith(prefix):
            days, what = column[len(prefix) :].split("_")
            return f"{ours}{days}_{what}"
    raise KeyError(column)


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if col in ("patient_id", "event_type", "cdw_type"):
            out[col] = out[col].astype(object).where(out[col].notna(), "").astype(str)
        elif col == "sustained_to_last_visit":
            out[col] = out[col].astype(object).where(out[col].notna(), None)
        else:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    return out.reset_index(drop=True)


def compare(config: dict[str, Any], dataset: str) -> list[str]:
    """Every difference between pymsprog and the engine, as readable lines."""
    entry = reference()["results"][config["id"]][dataset]
    result = run(config, dataset)
    problems: list[str] = []
    theirs = _table(entry["results"])
    theirs["patient_id"] = theirs["patient_id"].astype(str)
    columns = [c for c in theirs.columns if c not in ("patient_id", "nevent")]
    ours = result.events.rename(columns={"event_number": "nevent"})
    mine = _normalise(ours[["patient_id", "nevent", *[_ours_name(c) for c in columns]]])
    ref = _normalise(theirs.rename(columns={c: _ours_name(c) for c in columns}))
    # pymsprog leaves sust_last empty for censored rows and days empty likewise
    if len(mine) != len(ref) or not mine.equals(ref):
        merged = ref.merge(mine, on=["patient_id", "nevent"], how="outer", suffixes=("_ref", ""))
        for col in mine.columns.drop(["patient_id", "nevent"]):
            a, b = merged[f"{col}_ref"], merged[col]
            same = (a == b) | (a.isna() & b.isna())
            for i in merged.index[~same]:
                row = merged.loc[i]
                problems.append(
                    f"{dataset} patient {row['patient_id']} event {row['nevent']}: "
                    f"{col} pymsprog={a[i]!r} msreboot={b[i]!r}"
                )
    summary = _table(entry["summary"]).astype({"patient_id": str}).set_index("patient_id")
    patients = result.patients.set_index("patient_id")
    for col in summary.columns.drop("event_sequence", errors="ignore"):
        got = patients[col.lower()].reindex(summary.index)
        diff = got.to_numpy() != summary[col].to_numpy()
        problems += [f"{dataset} summary {col} patient {p}" for p in summary.index[diff]]
    if "event_sequence" in summary:
        seq = patients["event_sequence"].reindex(summary.index).fillna("")
        problems += [
            f"{dataset} sequence patient {p}: {summary.loc[p, 'event_sequence']!r} vs {seq[p]!r}"
            for p in summary.index[(seq != summary["event_sequence"]).to_numpy()]
        ]
    unconf = _table(entry["unconfirmed"])
    if len(unconf):
        want = unconf[["patient_id", "date", "value", "bl_date", "bl_value"]].astype(
            {"patient_id": str}
        )
        got_u = result.unconfirmed[
            ["patient_id", "date", "value", "baseline_date", "baseline_value"]
        ]
        want_l = [tuple(r) for r in want.astype({"date": float, "bl_date": float}).to_numpy()]
        got_l = [tuple(r) for r in got_u.astype({"patient_id": str}).to_numpy()]
        if sorted(map(str, want_l)) != sorted(map(str, got_l)):
            problems.append(f"{dataset} unconfirmed: {len(want_l)} vs {len(got_l)} rows differ")
    elif len(result.unconfirmed):
        problems.append(f"{dataset} unconfirmed: pymsprog none, msreboot {len(result.unconfirmed)}")
    return problems


def _ids() -> list[str]:
    return [c["id"] for c in reference()["configs"]]


@pytest.mark.parametrize("config_id", _ids())
def test_matches_pymsprog(config_id: str) -> None:
    config = next(c for c in reference()["configs"] if c["id"] == config_id)
    problems: list[str] = []
    for dataset, entry in reference()["results"][config_id].items():
        if "error" in entry:
            assert config_id in CRASHES, f"pymsprog failed unexpectedly: {entry['error']}"
            continue
        problems += compare(config, dataset)
    assert not problems, f"{len(problems)} difference(s):\n" + "\n".join(problems[:25])


def test_pymsprog_crash_is_answered() -> None:
    """Where pymsprog raises, the engine answers, and answers consistently with pymsprog.

    The failing patients have an imputed last-visit worsening that pymsprog itself
    classifies as RAW in the all-events run (``multiple_raw_pira_impute1``); a first-PIRA
    search must skip it: the engine never reports a PIRA on that date.
    """
    config = next(c for c in reference()["configs"] if c["id"] == "first_pira_impute1")
    for dataset, entry in reference()["results"]["first_pira_impute1"].items():
        assert "zero-size array" in entry["error"]
        raw_runs = _table(reference()["results"]["multiple_raw_pira_impute1"][dataset]["results"])
        raw_runs["patient_id"] = raw_runs["patient_id"].astype(str)
        raw_last = raw_runs[(raw_runs["CDW_type"] == "RAW") & raw_runs["sust_last"].astype(bool)]
        events = run(config, dataset).events
        for patient in map(str, entry["error_patients"]):
            raw_dates = set(raw_last.loc[raw_last["patient_id"] == patient, "date"])
            assert raw_dates, f"{dataset} patient {patient}: no RAW at the last visit"
            mine = events[(events["patient_id"] == patient) & events["event"]]
            assert not set(mine["date"]) & raw_dates
