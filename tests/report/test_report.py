"""The HTML report of the example cohort: every section, inline figures, numbers-at-risk
tables, no external resource, figure files beside it, and all-or-nothing writing."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from msreboot.analysis import CohortAnalysis, analyse_cohort
from msreboot.data import Cohort
from msreboot.datasets import load_example
from msreboot.report import Report, build_report
from msreboot.report._figures import inline_svg
from msreboot.trials import TrialSpec

SECTIONS = [
    "cohort",
    "survival",
    "comparison",
    "trajectories",
    "transplant",
    "reconstitution",
    "measures",
    "evidence",
    "trial",
    "methods",
]
EXTERNAL = re.compile(
    r"""(?:\b(?:src|href|xlink:href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//)"""
    r"""|(?:url\(\s*["']?\s*(?:https?:)?//)|(?:@import)""",
    re.IGNORECASE,
)


def test_every_section_is_present_in_order(example_report: Report, example_html: str) -> None:
    assert [s.id for s in example_report.sections] == SECTIONS
    positions = [example_html.index(f'<section class="report-section" id="{s}">') for s in SECTIONS]
    assert positions == sorted(positions)
    for section in SECTIONS:
        assert f'href="#{section}"' in example_html  # table of contents


def test_figures_are_inline_svg_and_files_beside_the_report(
    example_report: Report, example_html: str
) -> None:
    figures = example_report.figures
    assert len(figures) % 2 == 0
    assert len(figures) >= 2 * 10
    for path in figures:
        assert path.stat().st_size > 1000, path
        assert path.parent == example_report.path.parent / "report_files"
    svgs = sorted(p.stem for p in figures if p.suffix == ".svg")
    pngs = sorted(p.stem for p in figures if p.suffix == ".png")
    assert svgs == pngs
    assert "km_halt_ms_efs" in svgs
    assert "forest_trm" in svgs
    assert "edss_trajectories" in svgs
    for path in figures:
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert example_html.count("<svg") == len(svgs)
    assert "<?xml" not in example_html
    assert "<!DOCTYPE svg" not in example_html


def test_kaplan_meier_figures_have_numbers_at_risk(
    example_report: Report, example_html: str
) -> None:
    km = [p.stem for p in example_report.figures if p.stem.startswith("km_") and p.suffix == ".svg"]
    assert len(km) == 6
    for name in km:
        block = example_html.split(f'<figure id="fig-{name}">', 1)[1].split("</figure>", 1)[0]
        assert "Number at risk" in block  # drawn under the axis
        table = block.split('<table class="risk-table">', 1)[1].split("</table>", 1)[0]
        assert "At risk" in table
        assert "Events so far" in table
        counts = re.findall(r"<td>(\d+)</td>", table.split("At risk", 1)[1].split("</tr>")[0])
        assert int(counts[0]) == 180  # every transplanted patient at time zero
        assert [int(c) for c in counts] == sorted((int(c) for c in counts), reverse=True)
    assert "Landmark estimates" in example_html


def test_no_external_resources(example_html: str) -> None:
    assert EXTERNAL.findall(example_html) == []
    assert "<script" not in example_html.lower()
    assert "<link" not in example_html.lower()
    assert "<img" not in example_html.lower()


def test_element_ids_are_unique(example_html: str) -> None:
    ids = Counter(re.findall(r'\bid="([^"]+)"', example_html))
    assert [i for i, n in ids.items() if n > 1] == []


def test_title_is_escaped_and_content_is_there(example_html: str) -> None:
    assert "<title>Example &lt;cohort&gt; &amp; report</title>" in example_html
    for text in (
        "Table 1. Baseline characteristics by treatment group",
        "AHSCT (n = 180)",
        "DMT only (n = 120)",
        "Follow-up after the index date",
        "Data completeness by table",
        "Relapse rates before and after treatment",
        "MRI activity before and after treatment",
        "Transplant-related mortality (TRM): 8 of 180",
        "This cohort",
        "Simulated and published",
        "HALT-MS event-free survival: time from day 0 to the first event",
        "Disability events were identified",
        "msreboot report example --out report.html",
        "SHA-256 patients.csv",
        "Cohort content SHA-256",
    ):
        assert text in example_html, text


def test_summary_and_frame(example_report: Report) -> None:
    text = example_report.summary()
    assert str(example_report.path) in text
    assert "Kaplan" not in text
    frame = example_report.to_frame()
    assert list(frame["id"]) == SECTIONS
    assert frame.loc[frame["id"] == "survival", "figures"].item() == 12
    assert example_report.endpoints is not None
    assert set(example_report.endpoints) >= {"halt_ms_efs", "overall_survival"}


def test_inline_svg_prefixes_ids_and_references() -> None:
    svg = (
        '<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "x" "http://www.w3.org/x.dtd">\n'
        '<svg xmlns="http://www.w3.org/2000/svg"><metadata><rdf:RDF/></metadata>'
        '<defs><clipPath id="p1"><rect/></clipPath><path id="m1"/></defs>'
        '<g clip-path="url(#p1)"><use xlink:href="#m1"/></g></svg>'
    )
    out = inline_svg(svg, "fig")
    assert out.startswith("<svg")
    assert 'id="fig-p1"' in out
    assert "url(#fig-p1)" in out
    assert 'href="#fig-m1"' in out
    assert "metadata" not in out


def test_a_cohort_without_transplants_gets_a_report_with_notes(tmp_path: Path) -> None:
    example = load_example()
    tables = dict(example.tables)
    tables["treatments"] = tables["treatments"][tables["treatments"]["kind"] != "ahsct"]
    cohort = Cohort.from_frames(tables)
    analysis = analyse_cohort(cohort, definitions=["relapse_free"])
    report = build_report(analysis, out=tmp_path / "dmt.html")
    html = report.path.read_text(encoding="utf-8")
    for section in ("cohort", "survival", "trajectories", "transplant", "evidence", "methods"):
        assert f'id="{section}"' in html
    notes = {s.id: s.notes for s in report.sections}
    assert any("no ahsct courses" in n for n in notes["survival"])
    assert any("AHSCT" in n for n in notes["transplant"])


@pytest.fixture(scope="module")
def small_analysis() -> CohortAnalysis:
    return analyse_cohort(load_example(), definitions=["halt_ms_efs"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"out": "report.pdf"}, "out must be an .html file"),
        ({"source": "no/such/folder"}, "source must be an existing file or folder"),
    ],
    ids=["suffix", "missing-source"],
)
def test_bad_arguments_write_nothing(
    tmp_path: Path, small_analysis: CohortAnalysis, kwargs: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {"out": "report.html", **kwargs}
    args["out"] = tmp_path / str(args["out"])
    with pytest.raises(ValueError, match=message):
        build_report(small_analysis, **args)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"definitions": ["no_such_endpoint"]}, "endpoint must be one of"),
        ({"definitions": []}, "at least one endpoint"),
        ({"times_years": [-1.0]}, "times_years must be years >= 0"),
    ],
    ids=["unknown-endpoint", "no-endpoints", "negative-time"],
)
def test_bad_analysis_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        analyse_cohort(load_example(), **kwargs)  # type: ignore[arg-type]


@pytest.mark.slow  # over 8 s: out of the default run
def test_an_error_while_building_leaves_the_previous_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import msreboot.report._transplant as transplant

    out = tmp_path / "report.html"
    first = build_report(analyse_cohort(load_example(), definitions=["halt_ms_efs"]), out=out)
    before = {p.name: p.read_bytes() for p in [out, *first.figures]}

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("transplant section failed")

    monkeypatch.setattr(transplant, "transplant_section", broken)
    with pytest.raises(RuntimeError, match="transplant section failed"):
        build_report(analyse_cohort(load_example(), definitions=["halt_ms_pfs"]), out=out)
    after = {p.name: p.read_bytes() for p in [out, *first.figures]}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report_files"]
    assert not (tmp_path / "report_files" / "km_halt_ms_pfs.svg").exists()


def test_table_one_counts_match_the_cohort(example_html: str) -> None:
    example = load_example()
    sex = example.patients["sex"].value_counts()
    row = example_html.split("<td>Sex, n (%)</td>", 1)[1].split("</tr>", 1)[0]
    assert f"<td>{sex['F']} (" in row


def test_the_example_report_keeps_its_pages(example_report: Report) -> None:
    """The report renders the analysis with the sections and figures it always had."""
    assert [s.id for s in example_report.sections] == [
        "cohort",
        "survival",
        "comparison",
        "trajectories",
        "transplant",
        "reconstitution",
        "measures",
        "evidence",
        "trial",
        "methods",
    ]
    stems = [
        "km_halt_ms_efs",
        "km_halt_ms_pfs",
        "km_halt_ms_rfs",
        "km_muraro_2017_pfs",
        "km_neda_3",
        "km_overall_survival",
        "love_ahsct_vs_dmt",
        "overlap_ahsct_vs_dmt",
        "compare_km_ahsct_vs_dmt_halt_ms_efs",
        "edss_trajectories",
        "relapses_mri",
        "adverse_events",
        "immune_reconstitution",  # the example has lymphocyte-subset panels
        "measures_after_ahsct",  # and timed tests and SDMT
        "forest_trm",
        "published_landmarks",
        "trial_halt_ms",
        *(f"trial_halt_ms_{e}" for e in TrialSpec.preset("halt_ms").analysis.endpoints),
    ]
    assert [p.name for p in example_report.figures] == [
        f"{stem}.{suffix}" for stem in stems for suffix in ("svg", "png")
    ]


@given(
    ids=st.lists(st.text(alphabet="abcx01-_", min_size=1, max_size=6), max_size=8, unique=True),
    refs=st.lists(st.text(alphabet="abcx01-_", min_size=1, max_size=7), max_size=12),
)
def test_inline_svg_renames_exactly_the_references_to_its_ids(
    ids: list[str], refs: list[str]
) -> None:
    """One regex pass gives what replacing each id's references one by one gives."""
    body = "".join(f'<g id="{i}"/>' for i in ids) + "".join(
        f'<use href="#{r}"/><path clip-path="url(#{r})"/>' for r in refs
    )
    markup = f"<?xml version='1.0'?>\n<svg>{body}</svg>"
    expected = "<svg>" + "".join(f'<g id="p-{i}"/>' for i in ids)
    for r in refs:
        name = f"p-{r}" if r in ids else r
        expected += f'<use href="#{name}"/><path clip-path="url(#{name})"/>'
    assert inline_svg(markup, "p") == expected + "</svg>"
