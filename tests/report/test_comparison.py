"""The report's comparison section: the emulated trial of the analysis, rendered."""

from __future__ import annotations

from pathlib import Path

from msreboot.analysis import EmulationSpec, analyse_cohort
from msreboot.data import Cohort
from msreboot.datasets import load_example
from msreboot.report import Report, build_report


def test_example_report_shows_the_comparison(example_report: Report, example_html: str) -> None:
    section = next(s for s in example_report.sections if s.id == "comparison")
    names = [p.stem for p in section.figures if p.suffix == ".svg"]
    assert names == [
        "love_ahsct_vs_dmt",
        "overlap_ahsct_vs_dmt",
        "compare_km_ahsct_vs_dmt_halt_ms_efs",
    ]
    part = example_html.split('id="comparison"', 1)[1].split('<section class="report-section"', 1)[
        0
    ]
    for text in (
        "SMD before",
        "SMD after",
        "HR crude",
        "HR adjusted",
        "Number at risk",
        "Annualised relapse rates",
        "Proportions at 2 years",
        "Confirmed disability improvement by 2 years",
        "Not evaluable",
        "E-value",
        "inverse probability of treatment weights for the ATT",
        "High-efficacy DMT",
    ):
        assert text in part, text


def test_a_spec_with_competing_death_draws_cumulative_incidence(tmp_path: Path) -> None:
    definitions = tmp_path / "definitions.toml"
    definitions.write_text(
        '[[endpoint]]\nname = "relapse_competing"\nbased_on = "relapse_free"\n'
        'title = "Relapse, death competing"\ndeath = "competing"\n'
        'measure = "cumulative_incidence"\n'
    )
    spec = EmulationSpec.model_validate(
        {
            "name": "cif",
            "adjustment": {"method": "overlap"},
            "outcomes": {"endpoints": ["relapse_competing"], "definitions_file": str(definitions)},
        }
    )
    cohort = load_example(comparator=True)
    analysis = analyse_cohort(cohort, definitions=["relapse_free"], emulation=spec)
    assert analysis.emulation is not None
    assert analysis.emulation.primary.incidence is not None
    report = build_report(analysis, out=tmp_path / "r.html")
    stems = {p.stem for p in report.figures}
    assert {"compare_km_cif_relapse_competing", "compare_cif_cif_relapse_competing"} <= stems
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Gray&#39;s test (crude) p" in page or "Gray's test (crude) p" in page
    assert "Fine-Gray subdistribution HR" in page
    assert "PH test p" in page


def test_a_cohort_with_one_group_has_no_comparison_section(tmp_path: Path) -> None:
    example = load_example()
    ahsct = example.treatments.loc[example.treatments["kind"] == "ahsct", "patient_id"]
    keep = set(ahsct)
    tables = {
        name: getattr(example, name)[getattr(example, name)["patient_id"].isin(keep)]
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
    analysis = analyse_cohort(Cohort.from_frames(tables), definitions=["halt_ms_efs"])
    assert analysis.emulation is None
    assert "AHSCT and DMT-only patients" in analysis.emulation_note
    report = build_report(analysis, out=tmp_path / "r.html")
    assert "comparison" not in [s.id for s in report.sections]
