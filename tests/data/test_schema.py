"""The schema: documented, consistent, and the generated documentation is current."""

from __future__ import annotations

from pathlib import Path

import pytest

from msreboot.data import SCHEMA, TABLE_NAMES, schema_frame
from msreboot.data._schema_doc import render_schema_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "schema.md"


def test_twelve_tables_in_design_order() -> None:
    assert TABLE_NAMES == (
        "patients",
        "treatments",
        "edss",
        "relapses",
        "mri",
        "adverse_events",
        "deaths",
        "labs",
        "proms",
        "timed_walk",
        "peg_test",
        "sdmt",
    )


@pytest.mark.parametrize("spec", SCHEMA.values(), ids=TABLE_NAMES)
def test_table_is_consistent(spec) -> None:  # type: ignore[no-untyped-def]
    names = spec.column_names
    assert names[0] == "patient_id"
    assert len(set(names)) == len(names)
    assert all(k in spec for k in spec.key)
    if spec.event_date is not None:
        assert spec[spec.event_date].kind == "date"
    for rule in spec.order_rules:
        assert spec[rule.earlier].kind == spec[rule.later].kind == "date"
    for col in spec.columns:
        assert col.description.endswith(".") or col.description.endswith(")")
        assert col.name == col.name.lower()
        if col.allowed is not None:
            assert col.kind == "category"
        if col.treatment_kinds is not None:
            assert spec.name == "treatments"


def test_treatments_describe_each_step() -> None:
    cols = set(SCHEMA["treatments"].column_names)
    ahsct = {
        "mobilisation_regimen",
        "cd34_dose_1e6_per_kg",
        "cd34_selected",
        "conditioning_regimen",
        "conditioning_intensity",
        "engraftment_date",
        "discharge_date",
    }
    msc = {"msc_source", "msc_route", "msc_dose_1e6_per_kg"}
    dmt = {"drug", "end_date", "stop_reason"}
    assert ahsct | msc | dmt <= cols


def test_schema_frame_has_a_row_per_column() -> None:
    frame = schema_frame()
    assert len(frame) == sum(len(s.columns) for s in SCHEMA.values())
    assert not frame["description"].eq("").any()


def test_generated_documentation_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == render_schema_markdown(), (
        "docs/schema.md is stale: run `python scripts/make_schema_doc.py`"
    )
