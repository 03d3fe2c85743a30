"""Each bundled study's median patient projected beside the study's published figures
(tests/analysis/patient_published.py builds the table; docs/how-to/patient-projection.md
shows it).

The tolerance: the published figure lies inside the projection's 90% posterior interval for
at least 9 of the 12 figures compared (10 of 12 reached on 2026-12-06, with the default 10
draws x 200 patients and seed 2026; the misses are MIST's DMT-arm progression, a known gap
of the simulator's natural history under DMT, and Sormani's pooled 2-year progression). One
more miss is allowed because a figure sits at its interval's edge (Muraro 2017 PFS, 46%
against [32-46]).
"""

from __future__ import annotations

import pandas as pd
import pytest

from msreboot.evidence import load_outcomes
from tests.analysis.patient_published import (
    COMPARED,
    NOT_COMPARED,
    coverage_table,
    markdown_table,
    median_profile,
    published_entries,
)

AT_LEAST_INSIDE = 9


def test_every_published_figure_is_compared_or_listed_with_a_reason() -> None:
    published = {str(e["outcome_id"]) for entries in published_entries().values() for e in entries}
    compared = {c.outcome_id for c in COMPARED}
    assert not compared & set(NOT_COMPARED)
    assert published == compared | set(NOT_COMPARED)
    assert compared <= set(load_outcomes()["outcome_id"])
    for c in COMPARED:
        assert c.study in published_entries()
        assert any(str(e["outcome_id"]) == c.outcome_id for e in published_entries()[c.study])


def test_median_profiles_read_the_specs() -> None:
    halt, assumed = median_profile("halt_ms")
    # HALT-MS: median age 38, EDSS 4.5, 4.9 years since onset, RRMS, >= 2 relapses in 18 months
    assert (halt.age_years, halt.edss, halt.phenotype) == (38.0, 4.5, "RRMS")
    assert halt.disease_duration_years == 4.9
    assert halt.relapses_last_24_months == 2
    assert "female" in assumed  # the spec gives no female share
    mist, assumed = median_profile("mist_2019")
    assert mist.edss == 3.5  # mean 3.35 on the 0.5 grid
    assert any("3.35 rounded to 3.5" in a for a in assumed)
    assert mist.relapses_last_12_months == mist.relapses_last_24_months == 2  # 1-year window
    assert median_profile("muraro_2017")[0].phenotype == "SPMS"


@pytest.mark.slow
def test_projected_median_patients_cover_the_published_figures() -> None:
    table = coverage_table()
    assert len(table) == len(COMPARED)
    assert (table["low"] <= table["projected"] + 1e-12).all()
    assert (table["projected"] <= table["high"] + 1e-12).all()
    assert table[["published", "projected"]].apply(lambda c: c.between(0, 1)).all().all()
    inside = int(table["inside"].sum())
    print(markdown_table(table))  # the docs' table, shown with -s
    print(f"inside: {inside} of {len(table)}")
    assert inside >= AT_LEAST_INSIDE, table.loc[~table["inside"], ["study", "outcome_id"]]
    # like for like (the study's era, from reinfusion) differs from the default projection
    # (a transplant now, from enrolment) where it should: TRM by era, relapses by the weeks
    # from mobilisation to reinfusion
    trm = table[table["outcome"] == "trm"]
    assert trm["projected"].sum() > trm["as_shown"].sum()
    halt = table.set_index("outcome_id").loc["nash2017_haltms:ahsct:rfs:004"]
    assert isinstance(halt, pd.Series)
    assert halt["projected"] > halt["as_shown"]
