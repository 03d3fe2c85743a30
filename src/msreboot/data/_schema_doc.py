"""Render the canonical schema as Markdown (``docs/schema.md`` is generated from it)."""

from __future__ import annotations

from msreboot.data._schema import (
    PEG_TEST_MAX_SECONDS as PEG,
)
from msreboot.data._schema import (
    SCHEMA,
    SDMT_MAX_SCORE,
)
from msreboot.data._schema import (
    T25FW_MAX_SECONDS as T25FW,
)

__all__ = ["render_schema_markdown"]


def _s(x: float) -> str:
    return f"{x:g}"


def render_schema_markdown() -> str:
    """The schema as Markdown (``docs/schema.md`` is generated from this)."""
    lines = [
        "# The canonical cohort schema",
        "",
        "Generated from `msreboot.data.SCHEMA` by `scripts/make_schema_doc.py`; do not edit.",
        "",
        "A cohort is twelve tables, one file each (`<table>.csv`, `.parquet` or `.xlsx`, or "
        "one Excel workbook with a sheet per table). Column names are matched ignoring case "
        "and punctuation (`Patient ID` is `patient_id`); columns not listed are ignored with "
        "a warning. Only `patients` is required; a missing table is empty (`labs`, `proms`, "
        "`timed_walk`, `peg_test` and `sdmt` are optional: a folder without them gets no "
        "warning).",
        "",
        "**Dates** are ISO 8601 calendar dates (`YYYY-MM-DD`, or pass a date format), or, "
        "for virtual cohorts, whole days from each patient's origin, within 200 years either "
        "way (all dates of a cohort use the same unit; it is inferred, and the cohort summary "
        "names it). Partial dates (`2015-11`, `2015`) are errors unless a policy completes "
        "them (`--partial-dates first` or `mid`, recorded in the report's provenance); a "
        "date-time with a time zone is read as a date only at midnight UTC; a cohort whose "
        "dates are all integers reading as `YYYYMMDD` or Excel serial numbers is refused "
        "unless `--date-format %Y%m%d` or `--date-format excel` names them. "
        "**Booleans** accept true/false, 1/0, yes/no. "
        "**Missing values**: empty, NA, N/A, NaN, null, none. Codes are matched ignoring case.",
        "",
    ]
    for spec in SCHEMA.values():
        lines += [
            f"## `{spec.name}`",
            "",
            spec.description + (" Required." if spec.required else ""),
            "",
        ]
        if spec.key:
            lines += [f"Rows are unique by ({', '.join(spec.key)}).", ""]
        lines += [
            "| column | kind | required | unit | allowed values | description |",
            "|---|---|---|---|---|---|",
        ]
        for col in spec.columns:
            applies = f" ({' / '.join(col.treatment_kinds)} only)" if col.treatment_kinds else ""
            required = "yes" if col.required else ""
            if col.required and col.nullable:
                required += " (may be empty)"
            lines.append(
                f"| `{col.name}` | {col.kind} | {required} | {col.unit or ''} | "
                f"{col.constraint()} | {col.description}{applies} |"
            )
        if spec.order_rules:
            lines += ["", "Date order within a row:"]
            for rule in spec.order_rules:
                sign = "<" if rule.strict else "<="
                only = f" ({' / '.join(rule.treatment_kinds)})" if rule.treatment_kinds else ""
                lines.append(f"- `{rule.earlier}` {sign} `{rule.later}`{only}: {rule.reason}")
        lines.append("")
    lines += [
        "## Timed walk, peg test and SDMT",
        "",
        "`timed_walk` (T25FW) and `peg_test` (9HPT, one row per hand) hold the score of an "
        "assessment as the MSFC manual scores it: the mean of the trials (`trials`, "
        "usually 2). A test the patient could not complete is `unable_to_complete = true` "
        f"with `seconds` empty; a time above the MSFC limit per trial ({_s(T25FW)} s for "
        f"the walk, {_s(PEG)} s for the peg test) is an error, so codes such as 777 or 999 "
        "for a test not completed are refused with that fix, as is a row with neither a "
        f"time nor `unable_to_complete`, or both. `sdmt.score` is a whole number from 0 to "
        f"{SDMT_MAX_SCORE} (the form's 110 items). The 180 s walk limit (Fischer et al., "
        "MSFC Administration and Scoring Manual, 2001) and the 0-110 SDMT range are as the "
        "NIH common data elements give them; the 300 s peg-test limit is the manual's as "
        "recalled and was not checked against its text.",
        "",
        "The bundled example cohorts (`msreboot.datasets.load_example`) fill these tables "
        "with synthetic values drawn from each patient's EDSS; the simulator "
        "(`msreboot.simulate`) does not write them: virtual cohorts have no T25FW, 9HPT or "
        "SDMT results.",
        "",
        "## Laboratory results of virtual cohorts",
        "",
        "Virtual cohorts write `labs` for AHSCT courses when their schedule asks for it "
        "(`VisitSchedule(lab_months=LAB_MONTHS)` of `msreboot.simulate`; off by default): a "
        "baseline draw at enrolment and draws 1, 3, 6, 12, 24, 36 and 48 months after the "
        "reinfusion within follow-up, while the patient is observed and alive. `cd4` and "
        "`cd4_naive` come from the model's T-cell pools, `cd8`, `cd19`, `nk` and "
        "`lymphocytes` from kinetic rules with cited or assumed anchors (Reference: the "
        "virtual-patient model). The simulator writes no `recent_thymic_emigrants`, "
        "`neutrophils`, `platelets` or `nfl_serum` results.",
        "",
        "## Checks across tables",
        "",
        "- every `patient_id` outside `patients` must be in `patients`;",
        "- no date before the patient's `birth_date` (or `birth_year`);",
        "- no EDSS visit, relapse or treatment start before MS `onset_date`;",
        "- no date after the patient's death (`deaths.date`);",
        "- calendar dates lie between 1900-01-01 and today.",
        "",
    ]
    return "\n".join(lines)
