"""Synthetic SDTM and OMOP sets for the tests, written from a cohort by seeded helpers.

No real data: the cohort is a seeded sample of the bundled (simulated) example cohort,
with seeded lymphocyte-subset and blood-count results added. Run as a script to write the
sets into a folder: ``python tests/data/foreign_sets.py OUT`` (``OUT/sdtm_xpt``,
``OUT/sdtm_json``, ``OUT/omop_csv``, ``OUT/omop.duckdb``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from msreboot.data import Cohort
from msreboot.data._sdtm_files import load_sdtm_mapping
from msreboot.datasets import load_example

SEED = 20261204

# canonical columns each format carries (the rest is not part of SDTM or OMOP here)
SDTM_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "patients": (
        "patient_id",
        "sex",
        "birth_date",
        "birth_year",
        "onset_date",
        "phenotype",
        "centre",
    ),
    "treatments": ("patient_id", "kind", "start_date", "end_date", "drug"),
    "edss": ("patient_id", "date", "edss"),
    "relapses": ("patient_id", "onset_date", "end_date", "severity"),
    "mri": (
        "patient_id",
        "date",
        "region",
        "gd_lesions",
        "new_t2_lesions",
        "t2_lesions_total",
        "t1_hypointense_lesions",
    ),
    "adverse_events": ("patient_id", "onset_date", "end_date", "category", "grade", "serious"),
    "deaths": ("patient_id", "date", "cause"),
    "labs": ("patient_id", "date", "analyte", "value", "unit"),
}


def synthetic_cohort(n_patients: int = 24, seed: int = SEED) -> Cohort:
    """A seeded sample of the example cohort with seeded lab results (no real patients)."""
    rng = np.random.default_rng(seed)
    example = load_example()
    ids = example.patients["patient_id"].to_numpy()
    died = set(example.deaths["patient_id"])
    chosen = set(rng.choice([i for i in ids if i not in died], n_patients - 3, replace=False))
    chosen |= set(rng.choice(sorted(died), 3, replace=False))
    tables = {
        name: frame[frame["patient_id"].isin(chosen)].copy()
        for name, frame in example.tables.items()
    }
    labs = []
    ahsct = tables["treatments"][tables["treatments"]["kind"] == "ahsct"]
    death = tables["deaths"].set_index("patient_id")["date"]
    for row in ahsct.itertuples():
        for month in (3, 6, 12):
            date = row.start_date + pd.Timedelta(days=30 * month)
            if row.patient_id in death.index and date > death[row.patient_id]:
                break  # no sample after death
            for analyte, centre in (("cd4", 300.0), ("cd8", 500.0), ("cd19", 150.0)):
                labs.append(
                    (
                        row.patient_id,
                        date,
                        analyte,
                        float(round(rng.lognormal(np.log(centre), 0.4))),
                        "cells/uL",
                    )
                )
            labs.append(
                (row.patient_id, date, "platelets", float(round(rng.normal(220, 40))), "10^9/L")
            )
    tables["labs"] = pd.DataFrame(labs, columns=["patient_id", "date", "analyte", "value", "unit"])
    return Cohort.from_frames(tables)


def project(cohort: Cohort, carried: Mapping[str, tuple[str, ...]] = SDTM_COLUMNS) -> Cohort:
    """The cohort with only the columns a format carries (scans without a lesion count
    dropped, as they have no MRI record to write)."""
    tables = {}
    for name, columns in carried.items():
        frame = cohort.table(name)[list(columns)].copy()
        if name == "mri":
            counts = [c for c in columns if c not in ("patient_id", "date", "region")]
            frame = frame[frame[counts].notna().any(axis=1)]
        if name == "treatments":
            frame.loc[frame["kind"] == "ahsct", "end_date"] = pd.NaT
        tables[name] = frame
    return Cohort.from_frames(tables)


def _iso(value: object) -> str:
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return ""
    if pd.isna(value):  # type: ignore[arg-type]
        return ""
    return pd.Timestamp(value).strftime("%Y-%m-%d")  # type: ignore[arg-type]


def _text(value: object) -> str:
    return "" if value is None or pd.isna(value) else str(value)  # type: ignore[arg-type]


def _reverse(mapping: Mapping[str, object]) -> dict[object, str]:
    out: dict[object, str] = {}
    for key, value in mapping.items():
        out.setdefault(value, key)
    return out


def sdtm_domains(cohort: Cohort) -> dict[str, pd.DataFrame]:
    """The cohort as SDTM domains (text variables, --STRESN numbers), by the default mapping."""
    rules = load_sdtm_mapping()
    study = "MSREBOOT-SYN"
    p = cohort.patients
    deaths = cohort.deaths.set_index("patient_id")
    sex = {"F": "F", "M": "M", "X": "U"}
    dm = pd.DataFrame(
        {
            "STUDYID": study,
            "DOMAIN": "DM",
            "USUBJID": p["patient_id"].astype(str),
            "SEX": p["sex"].map(lambda s: sex.get(s, "") if isinstance(s, str) else ""),
            "BRTHDTC": [
                _iso(d) if not pd.isna(d) else ("" if pd.isna(y) else str(int(y)))
                for d, y in zip(p["birth_date"], p["birth_year"], strict=True)
            ],
            "SITEID": p["centre"].map(_text),
            "DTHDTC": p["patient_id"].map(lambda i: _iso(deaths["date"].get(i))),
            "DTHFL": p["patient_id"].map(lambda i: "Y" if i in deaths.index else ""),
        }
    )
    phen = _reverse(rules.phenotype.terms)
    mh = pd.DataFrame(
        {
            "STUDYID": study,
            "DOMAIN": "MH",
            "USUBJID": p["patient_id"].astype(str),
            "MHTERM": p["phenotype"].map(lambda v: phen[v].title()),
            "MHDECOD": p["phenotype"].map(phen),
            "MHSTDTC": p["onset_date"].map(_iso),
        }
    )
    courses = {
        ("ahsct", None): "AUTOLOGOUS HEMATOPOIETIC STEM CELL TRANSPLANTATION",
        ("msc", None): "MESENCHYMAL STEM CELLS",
    }
    for term, course in rules.treatments.terms.items():
        courses.setdefault((course.kind, course.drug), term)
    t = cohort.treatments

    def course_term(row: pd.Series) -> str:
        return courses[(row["kind"], None if pd.isna(row["drug"]) else row["drug"])]

    pr_rows = t[t["kind"] == "ahsct"]
    ex_rows = t[t["kind"] != "ahsct"]
    pr = pd.DataFrame(
        {
            "STUDYID": study,
            "DOMAIN": "PR",
            "USUBJID": pr_rows["patient_id"].astype(str),
            "PRTRT": pr_rows.apply(course_term, axis=1) if len(pr_rows) else [],
            "PRSTDTC": pr_rows["start_date"].map(_iso),
            "PRENDTC": pr_rows["start_date"].map(_iso),
        }
    )
    ex = pd.DataFrame(
        {
            "STUDYID": study,
            "DOMAIN": "EX",
            "USUBJID": ex_rows["patient_id"].astype(str),
            "EXTRT": ex_rows.apply(course_term, axis=1) if len(ex_rows) else [],
            "EXSTDTC": ex_rows["start_date"].map(_iso),
            "EXENDTC": ex_rows["end_date"].map(_iso),
        }
    )
    e = cohort.edss
    rs = pd.DataFrame(
        {
            "STUDYID": study,
            "DOMAIN": "RS",
            "USUBJID": e["patient_id"].astype(str),
            "RSTESTCD": rules.edss.testcd,
            "RSTEST": "EDSS01-Expanded Disability Score",
            "RSCAT": "EDSS",
            "RSORRES": e["edss"].map(lambda v: f"{v:g}"),
            "RSSTRESN": e["edss"].astype(float),
            "RSDTC": e["date"].map(_iso),
        }
    )
    r = cohort.relapses
    sev = _reverse(rules.relapses.severity)
    ce = pd.DataFrame(
        {
            "STUDYID": study,
            "DOMAIN": "CE",
            "USUBJID": r["patient_id"].astype(str),
            "CETERM": "MS relapse",
            "CEDECOD": rules.relapses.terms[0],
            "CESTDTC": r["onset_date"].map(_iso),
            "CEENDTC": r["end_date"].map(_iso),
            "CESEV": r["severity"].map(lambda v: sev.get(v, "") if isinstance(v, str) else ""),
        }
    )
    tests = _reverse(rules.mri.tests)
    regions = _reverse(rules.mri.regions)
    mo_rows = []
    for scan in cohort.mri.itertuples():
        for column, testcd in tests.items():
            value = getattr(scan, str(column))
            if not pd.isna(value):
                mo_rows.append(
                    (
                        study,
                        "MO",
                        scan.patient_id,
                        testcd,
                        float(value),
                        _iso(scan.date),
                        regions.get(scan.region, "") if isinstance(scan.region, str) else "",
                    )
                )
    mo = pd.DataFrame(
        mo_rows, columns=["STUDYID", "DOMAIN", "USUBJID", "MOTESTCD", "MOSTRESN", "MODTC", "MOLOC"]
    )
    a = cohort.adverse_events
    terms = _reverse(rules.adverse_events.terms)
    socs = _reverse(rules.adverse_events.body_systems)
    ae = pd.DataFrame(
        {
            "STUDYID": study,
            "DOMAIN": "AE",
            "USUBJID": a["patient_id"].astype(str),
            "AETERM": a["category"].map(lambda c: terms.get(c, f"{c} event").title()),
            "AEDECOD": a["category"].map(
                lambda c: terms.get(c, "OTHER EVENT" if c not in socs else "UNSPECIFIED EVENT")
            ),
            "AEBODSYS": a["category"].map(lambda c: "" if c in terms else socs.get(c, "")),
            "AETOXGR": a["grade"].map(lambda g: "" if pd.isna(g) else str(int(g))),
            "AESER": a["serious"].map(lambda s: "" if pd.isna(s) else ("Y" if s else "N")),
            "AESTDTC": a["onset_date"].map(_iso),
            "AEENDTC": a["end_date"].map(_iso),
        }
    )
    d = cohort.deaths
    causes = _reverse(rules.deaths.causes)
    ds = pd.DataFrame(
        {
            "STUDYID": study,
            "DOMAIN": "DS",
            "USUBJID": d["patient_id"].astype(str),
            "DSTERM": "Death",
            "DSDECOD": rules.deaths.ds_terms[0],
            "DSSTDTC": d["date"].map(_iso),
        }
    )
    d_cause = d[d["cause"].notna()]
    dd = pd.DataFrame(
        {
            "STUDYID": study,
            "DOMAIN": "DD",
            "USUBJID": d_cause["patient_id"].astype(str),
            "DDTESTCD": rules.deaths.cause_test,
            "DDTEST": "Primary Cause of Death",
            "DDORRES": d_cause["cause"].map(causes),
            "DDSTRESC": d_cause["cause"].map(causes),
        }
    )
    from msreboot.data import ANALYTES

    lab = cohort.labs
    lb = pd.DataFrame(
        {
            "STUDYID": study,
            "DOMAIN": "LB",
            "USUBJID": lab["patient_id"].astype(str),
            "LBTESTCD": lab["analyte"].str.upper(),
            "LBLOINC": lab["analyte"].map(lambda a: ANALYTES[a].loinc or ""),
            "LBORRES": lab["value"].map(lambda v: f"{v:g}"),
            "LBORRESU": lab["unit"].astype(str),
            "LBSTRESN": lab["value"].astype(float),
            "LBSTRESU": lab["unit"].astype(str),
            "LBDTC": lab["date"].map(_iso),
        }
    )
    return {
        "DM": dm,
        "MH": mh,
        "PR": pr,
        "EX": ex,
        "RS": rs,
        "CE": ce,
        "MO": mo,
        "AE": ae,
        "DS": ds,
        "DD": dd,
        "LB": lb,
    }


def write_domain(frame: pd.DataFrame, folder: Path, domain: str, fmt: str) -> Path:
    """One domain as ``<domain>.xpt`` (SAS XPORT v5) or ``.json`` (Dataset-JSON v1.1)."""
    folder.mkdir(parents=True, exist_ok=True)
    frame = frame.reset_index(drop=True)
    if fmt == "xpt":
        import pyreadstat

        path = folder / f"{domain.lower()}.xpt"
        out = frame.copy()
        for column in out.columns:
            if out[column].dtype == object:
                out[column] = out[column].map(lambda v: "" if v is None or v != v else str(v))
        pyreadstat.write_xport(out, str(path), table_name=domain, file_format_version=5)
        return path
    path = folder / f"{domain.lower()}.json"
    columns = [
        {
            "itemOID": "ITEMGROUPDATASEQ",
            "name": "ITEMGROUPDATASEQ",
            "label": "Record Identifier",
            "dataType": "integer",
        }
    ]
    for column in frame.columns:
        kind = "double" if frame[column].dtype.kind == "f" else "string"
        columns.append(
            {"itemOID": f"IT.{domain}.{column}", "name": column, "label": column, "dataType": kind}
        )
    rows = []
    for i, record in enumerate(frame.itertuples(index=False), start=1):
        values: list[object] = [i]
        for v in record:
            if isinstance(v, float):
                values.append(None if np.isnan(v) else v)
            else:
                values.append(None if v is None or v == "" else str(v))
        rows.append(values)
    document = {
        "datasetJSONCreationDateTime": "2026-12-04T00:00:00",
        "datasetJSONVersion": "1.1.0",
        "fileOID": f"msreboot.synthetic.{domain}",
        "originator": "msreboot synthetic test set",
        "sourceSystem": {"name": "msreboot", "version": "test"},
        "studyOID": "MSREBOOT-SYN",
        "metaDataVersionOID": "MDV.SYN",
        "itemGroupOID": f"IG.{domain}",
        "records": len(rows),
        "name": domain,
        "label": domain,
        "columns": columns,
        "rows": rows,
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def write_sdtm(cohort: Cohort, folder: Path, fmt: str = "xpt") -> Path:
    """The cohort as an SDTM package in ``folder`` (``fmt``: ``"xpt"`` or ``"json"``)."""
    for domain, frame in sdtm_domains(cohort).items():
        write_domain(frame, folder, domain, fmt)
    return folder


if __name__ == "__main__":  # pragma: no cover
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "foreign_sets")
    cohort = project(synthetic_cohort())
    write_sdtm(cohort, target / "sdtm_xpt", "xpt")
    write_sdtm(cohort, target / "sdtm_json", "json")
    print(f"wrote {target}")


# OMOP ---------------------------------------------------------------------------------

OMOP_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "patients": (
        "patient_id",
        "sex",
        "birth_date",
        "birth_year",
        "diagnosis_date",
        "phenotype",
        "centre",
    ),
    "treatments": ("patient_id", "kind", "start_date", "end_date", "drug"),
    "edss": ("patient_id", "date", "edss"),
    "relapses": ("patient_id", "onset_date", "end_date"),
    "deaths": ("patient_id", "date", "cause"),
    "labs": ("patient_id", "date", "analyte", "value", "unit"),
}
LOCAL_CONCEPTS = 2_000_000_000  # OMOP keeps ids from 2 billion for local concepts


def _number(text: object) -> int:
    return int("".join(ch for ch in str(text) if ch.isdigit()))


def omop_project(cohort: Cohort) -> Cohort:
    """The cohort as OMOP carries it: integer person and care-site ids, the causes of
    death the default concept map names (ms), no MRI or adverse events."""
    tables = {}
    for name, columns in OMOP_COLUMNS.items():
        frame = cohort.table(name)[list(columns)].copy()
        frame["patient_id"] = frame["patient_id"].map(lambda v: str(_number(v)))
        if name == "patients":
            frame["centre"] = frame["centre"].map(lambda v: None if pd.isna(v) else str(_number(v)))
        if name == "deaths":
            frame["cause"] = frame["cause"].where(frame["cause"] == "ms")
        if name == "treatments":
            frame.loc[frame["kind"] == "ahsct", "end_date"] = pd.NaT
        tables[name] = frame
    return Cohort.from_frames(tables)


def omop_tables(cohort: Cohort) -> dict[str, pd.DataFrame]:
    """The cohort (already :func:`omop_project`-ed) as OMOP CDM v5.4 tables with a
    synthetic vocabulary: every entry of the default concept map gets a local concept id."""
    from msreboot.data._omop_files import load_concept_map

    concept_map = load_concept_map()
    concepts = []
    first_id: dict[str, int] = {}
    for key, concept_set in concept_map.sets().items():
        for entry in (*concept_set.codes, *concept_set.names):
            vocab, _, code = entry.partition(":")
            cid = LOCAL_CONCEPTS + len(concepts) + 1
            is_code = entry in concept_set.codes
            concepts.append(
                {
                    "concept_id": cid,
                    "concept_name": code if not is_code else f"{key} {code}",
                    "domain_id": "Condition",
                    "vocabulary_id": vocab,
                    "concept_class_id": "Clinical Finding",
                    "standard_concept": "S",
                    "concept_code": code if is_code else f"L{cid}",
                    "valid_start_date": "1970-01-01",
                    "valid_end_date": "2099-12-31",
                }
            )
            first_id.setdefault(key, cid)
    p = cohort.patients
    birth = pd.to_datetime(p["birth_date"])
    gender = {"M": 8507, "F": 8532, "X": 0}
    person = pd.DataFrame(
        {
            "person_id": p["patient_id"].astype(int),
            "gender_concept_id": p["sex"].map(gender).astype("Int64"),
            "year_of_birth": birth.dt.year.astype("Int64").fillna(p["birth_year"].astype("Int64")),
            "month_of_birth": birth.dt.month.astype("Int64"),
            "day_of_birth": birth.dt.day.astype("Int64"),
            "race_concept_id": 0,
            "ethnicity_concept_id": 0,
            "care_site_id": p["centre"]
            .map(lambda v: None if pd.isna(v) else int(v))
            .astype("Int64"),
        }
    )
    conditions = [
        (int(r.patient_id), first_id[f"phenotypes.{r.phenotype}"], r.diagnosis_date, pd.NaT)
        for r in p.itertuples()
        if not pd.isna(r.diagnosis_date)
    ]
    conditions += [
        (int(r.patient_id), first_id["relapse"], r.onset_date, r.end_date)
        for r in cohort.relapses.itertuples()
    ]
    condition = pd.DataFrame(
        conditions,
        columns=["person_id", "condition_concept_id", "condition_start_date", "condition_end_date"],
    )
    condition.insert(0, "condition_occurrence_id", range(1, len(condition) + 1))
    condition["condition_type_concept_id"] = 32817
    t = cohort.treatments
    exposures = []
    for r in t[t["kind"] == "dmt"].itertuples():
        # each course as 28-day exposures, merged back by the reader
        start = r.start_date
        stop = r.end_date if not pd.isna(r.end_date) else None
        for n in range(100_000):
            end = start + pd.Timedelta(days=27)
            if stop is not None and end >= stop:
                exposures.append((int(r.patient_id), first_id[f"dmt.{r.drug}"], start, stop))
                break
            if stop is None and n == 3:  # an ongoing course: the last exposure has no end
                exposures.append((int(r.patient_id), first_id[f"dmt.{r.drug}"], start, pd.NaT))
                break
            exposures.append((int(r.patient_id), first_id[f"dmt.{r.drug}"], start, end))
            start = end + pd.Timedelta(days=1)
    drug = pd.DataFrame(
        exposures,
        columns=[
            "person_id",
            "drug_concept_id",
            "drug_exposure_start_date",
            "drug_exposure_end_date",
        ],
    )
    drug.insert(0, "drug_exposure_id", range(1, len(drug) + 1))
    courses = t[t["kind"] != "dmt"]
    procedure = pd.DataFrame(
        {
            "procedure_occurrence_id": range(1, len(courses) + 1),
            "person_id": courses["patient_id"].astype(int).to_numpy(),
            "procedure_concept_id": courses["kind"]
            .map(lambda k: first_id[f"courses.{k}"])
            .to_numpy(),
            "procedure_date": courses["start_date"].to_numpy(),
            "procedure_end_date": courses["end_date"].to_numpy(),
        }
    )
    e, lab = cohort.edss, cohort.labs
    measurement = pd.DataFrame(
        {
            "person_id": [*e["patient_id"].astype(int), *lab["patient_id"].astype(int)],
            "measurement_concept_id": [first_id["edss"]] * len(e)
            + [first_id[f"labs.{a}"] for a in lab["analyte"]],
            "measurement_date": [*e["date"], *lab["date"]],
            "value_as_number": [*e["edss"].astype(float), *lab["value"].astype(float)],
            "unit_source_value": [None] * len(e) + list(lab["unit"].astype(str)),
        }
    )
    measurement.insert(0, "measurement_id", range(1, len(measurement) + 1))
    d = cohort.deaths
    death = pd.DataFrame(
        {
            "person_id": d["patient_id"].astype(int),
            "death_date": d["date"],
            "cause_concept_id": d["cause"].map(
                lambda c: first_id["death_causes.ms"] if isinstance(c, str) and c == "ms" else 0
            ),
        }
    )
    return {
        "person": person,
        "condition_occurrence": condition,
        "drug_exposure": drug,
        "procedure_occurrence": procedure,
        "measurement": measurement,
        "death": death,
        "concept": pd.DataFrame(concepts),
    }


def _dated(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if column.endswith("_date"):
            out[column] = pd.to_datetime(out[column]).dt.date
    return out


def write_omop(cohort: Cohort, target: Path, fmt: str = "csv") -> Path:
    """The cohort as OMOP tables: a folder of CSV or Parquet files, a DuckDB file, or a
    SQLite file written through SQLAlchemy (``fmt="sqlite"``, read back by URL)."""
    tables = omop_tables(cohort)
    if fmt == "sqlite":
        import sqlalchemy

        engine = sqlalchemy.create_engine(f"sqlite:///{target}")
        try:
            with engine.begin() as con:
                for name, frame in tables.items():
                    _dated(frame).to_sql(name, con, index=False)
        finally:
            engine.dispose()
        return target
    if fmt == "duckdb":
        import duckdb

        con = duckdb.connect(str(target))
        try:
            con.sql("create schema if not exists cdm")
            for name, frame in tables.items():
                dated = _dated(frame)
                con.register("frame", dated)
                con.sql(f"create table cdm.{name} as select * from frame")
                con.unregister("frame")
        finally:
            con.close()
        return target
    target.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if fmt == "csv":
            out = frame.copy()
            for column in out.columns:
                if column.endswith("_date"):
                    out[column] = out[column].map(_iso)
            out.to_csv(target / f"{name}.csv", index=False)
        else:
            _dated(frame).to_parquet(target / f"{name}.parquet", index=False)
    return target
