"""Render the canonical schema as Markdown (``docs/schema.md`` is generated from it)."""

from __future__ import annotations

from msreboot.data._schema import SCHEMA

__all__ = ["render_schema_markdown"]


def render_schema_markdown() -> str:
    """The schema as Markdown (``docs/schema.md`` is generated from this)."""
    lines = [
        "# The canonical cohort schema",
        "",
        "Generated from `msreboot.data.SCHEMA` by `scripts/make_schema_doc.py`; do not edit.",
        "",
        "A cohort is nine tables, one file each (`<table>.csv`, `.parquet` or `.xlsx`, or "
        "one Excel workbook with a sheet per table). Column names are matched ignoring case "
        "and punctuation (`Patient ID` is `patient_id`); columns not listed are ignored with "
        "a warning. Only `patients` is required; a missing table is empty.",
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
