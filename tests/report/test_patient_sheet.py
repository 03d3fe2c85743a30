"""The one-page benefit-and-risk sheet: rendered only from the projection, self-contained,
with the disclaimer at the top and on every printed page, and clean in a real browser."""

from __future__ import annotations

import html
import re
from functools import cache
from pathlib import Path

from msreboot.analysis import PatientProfile, PatientProjection, project_patient
from msreboot.report import patient_sheet_html, write_patient_sheet
from tests.browser import offline_page

PROFILE = PatientProfile(
    age_years=38,
    edss=4.5,
    phenotype="RRMS",
    sex="female",
    disease_duration_years=6,
    relapses_last_12_months=1,
    relapses_last_24_months=2,
    current_dmt="dimethyl_fumarate",
    hct_ci=0,
)


@cache
def _projection() -> PatientProjection:
    return project_patient(
        PROFILE, ["ahsct_cy_atg", "stay", "switch_natalizumab"], draws=3, patients_per_draw=40
    )


def test_sheet_holds_every_part_and_nothing_external() -> None:
    projection = _projection()
    page = patient_sheet_html(projection)
    assert page.count(projection.disclaimer) == 2
    assert "position: fixed" in page  # the footer repeats on every printed page
    assert "<script" not in page
    assert not re.search(r"""(src|href)=["']https?:""", page)
    # one icon array of 100 people per option, filled as the estimate says
    assert page.count("<circle") == 100 * len(projection.options)
    for option in projection.options:
        count = round(100 * projection.value(option.name, "no_confirmed_worsening", 10.0))
        assert f"<b>{count} of 100</b> {option.label}" in page
    for line in projection.plain_language():
        assert html.escape(line) in page
    for citation in projection.sources["citation"]:
        assert html.escape(citation) in page
    assert "<polyline" in page
    assert "The TRM studies, beside you" in page
    assert "EDSS minus yours" in page


def test_sheet_of_an_incomplete_profile_says_the_options_are_unknown(tmp_path: Path) -> None:
    projection = project_patient(PatientProfile(age_years=38, edss=4.5, phenotype="RRMS"))
    path = write_patient_sheet(projection, tmp_path / "sheet.html")
    page = path.read_text(encoding="utf-8")
    assert "unknown because" in page
    assert "<circle" not in page
    assert page.count(projection.disclaimer) == 2


def test_sheet_renders_offline_in_chromium(tmp_path: Path) -> None:
    path = write_patient_sheet(_projection(), tmp_path / "sheet.html")
    with offline_page(path, width=1100, height=900) as (page, log):
        assert page.title() == "Benefit and risk sheet"
        assert page.locator("p.disclaimer").first.is_visible()
        widths = page.eval_on_selector_all(
            "svg", "els => els.map(e => e.getBoundingClientRect().width)"
        )
        assert len(widths) == len(_projection().options) + 1
        assert min(widths) >= 100
        pdf = page.pdf(format="A4")
    assert log.console_errors == []
    assert log.outside == []
    assert pdf[:5] == b"%PDF-"
    # the footer disclaimer is printed on every page of the PDF
    pages = pdf.count(b"/Type /Page\n") or pdf.count(b"/Type /Page")
    assert pages >= 1
