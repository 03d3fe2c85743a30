"""The report's immune-reconstitution section and platelet engraftment: rendered from the
analysis, a note when the cohort has no lymphocyte-subset results."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from msreboot.analysis import analyse_cohort, immune_reconstitution
from msreboot.data import Cohort, days_between
from msreboot.datasets import load_example
from msreboot.report import Report, build_report


def test_the_example_report_shows_the_example_panels(
    example_report: Report, example_html: str
) -> None:
    section = next(s for s in example_report.sections if s.id == "reconstitution")
    assert [p.name for p in section.figures] == [
        "immune_reconstitution.svg",
        "immune_reconstitution.png",
    ]
    assert not any("No lymphocyte-subset results" in n for n in section.notes)
    body = example_html.split('id="reconstitution"', 1)[1].split("</section>", 1)[0]
    assert "180 patients with an AHSCT course" in body
    for time in ("Baseline", "Month 1", "Month 6", "Month 12", "Month 48"):
        assert f"<td>{time}</td>" in body, time
    assert "<td>Month 60</td>" not in body  # no draw that late in the example
    table = immune_reconstitution(load_example()).to_frame().set_index(["analyte", "month"])
    for analyte in ("cd4", "nk"):
        row = table.loc[(analyte, 12.0)]
        cell = f"{row['median']:.0f} [{row['q1']:.0f}, {row['q3']:.0f}] ({int(row['n_patients'])})"
        assert cell in body, analyte  # the analysis's numbers, computed once


def test_platelet_engraftment_is_beside_neutrophil_engraftment(example_html: str) -> None:
    body = example_html.split('id="transplant"', 1)[1].split("</section>", 1)[0]
    neutrophil = body.index("Days to neutrophil engraftment")
    platelet = body.index("Days to platelet engraftment")
    assert neutrophil < platelet
    example = load_example()
    ahsct = example.treatments[example.treatments["kind"] == "ahsct"]
    days = days_between(ahsct["platelet_engraftment_date"], ahsct["start_date"]).dropna()
    row = body[platelet:].split("</tr>", 1)[0]
    assert f"<td>{len(days)}</td>" in row  # the example's courses with a platelet date
    assert f"<td>{180 - len(days)}</td>" in row  # and without
    assert f"<td>{days.median():.0f} [" in row
    assert f"<td>{days.min():.0f}\u2013{days.max():.0f}</td>" in row


def with_labs(cohort: Cohort) -> Cohort:
    """The example with synthetic CD4 and CD19 counts of its transplanted patients."""
    rng = np.random.default_rng(7)
    courses = cohort.treatments[cohort.treatments["kind"] == "ahsct"]
    first = courses.sort_values("start_date").drop_duplicates("patient_id")
    rows = []
    for pid, day0 in zip(first["patient_id"], first["start_date"], strict=True):
        for days, level in ((-90, 800.0), (91, 150.0), (183, 250.0), (365, 400.0)):
            for analyte, scale in (("cd4", 1.0), ("cd19", 0.4)):
                rows.append(
                    {
                        "patient_id": pid,
                        "date": day0 + pd.Timedelta(days=days),
                        "analyte": analyte,
                        "value": round(level * scale * float(rng.lognormal(0, 0.3)), 1),
                        "unit": "cells/uL",
                    }
                )
    labs = pd.DataFrame(rows)
    last = cohort.deaths.set_index("patient_id")["date"]
    labs = labs[~(labs["date"] > labs["patient_id"].map(last)).fillna(False).astype(bool)]
    tables = {**cohort.tables, "labs": labs}
    return Cohort.from_frames(tables)


@pytest.fixture(scope="module")
def lab_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, str, Cohort]:
    cohort = with_labs(load_example())
    analysis = analyse_cohort(cohort, definitions=["halt_ms_efs"], compare_treatments=False)
    out = tmp_path_factory.mktemp("labs") / "report.html"
    report = build_report(analysis, out=out)
    return report, Path(report.path).read_text(encoding="utf-8"), cohort


def test_a_cohort_with_labs_gets_a_figure_and_a_table(
    lab_report: tuple[Report, str, Cohort],
) -> None:
    report, page, cohort = lab_report
    section = next(s for s in report.sections if s.id == "reconstitution")
    assert [p.name for p in section.figures] == [
        "immune_reconstitution.svg",
        "immune_reconstitution.png",
    ]
    body = page.split('id="reconstitution"', 1)[1].split("</section>", 1)[0]
    assert ">CD4+ T cells</th>" in body
    assert ">CD19+ B cells</th>" in body
    assert "<td>Baseline</td>" in body
    assert "<td>Month 1</td>" not in body  # no result near month 1: the row is left out
    table = immune_reconstitution(cohort).to_frame().set_index(["analyte", "month"])
    cd4 = table.loc[("cd4", 6.0)]
    cell = f"{cd4['median']:.0f} [{cd4['q1']:.0f}, {cd4['q3']:.0f}] ({int(cd4['n_patients'])})"
    assert cell in body  # the report shows the analysis's numbers, computed once
    month_6 = body.split("<td>Month 6</td>", 1)[1].split("</tr>", 1)[0]
    assert month_6.count("<td>\u2013</td>") == 3  # lymphocytes, CD8, NK: no results


def test_the_analysis_carries_the_result(lab_report: tuple[Report, str, Cohort]) -> None:
    _, _, cohort = lab_report
    analysis = analyse_cohort(
        dataclasses.replace(cohort), definitions=["halt_ms_efs"], compare_treatments=False
    )
    assert analysis.reconstitution is not None
    assert analysis.reconstitution.available
    assert "Immune reconstitution of 180 transplanted patients" in analysis.summary()
