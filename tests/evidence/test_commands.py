"""The evidence CLI pieces, mounted on a throwaway Typer app."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from msreboot.cli._evidence import evidence_app, meta_command
from msreboot.evidence._studies import select_outcomes

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    root = typer.Typer()
    root.add_typer(evidence_app, name="evidence")
    root.command("meta")(meta_command)
    return root


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_evidence_list(app: typer.Typer, runner: CliRunner) -> None:
    result = runner.invoke(app, ["evidence", "list", "--therapy", "ahsct"])
    assert result.exit_code == 0, result.output
    assert "nash2017_haltms" in result.output
    assert "connick2012_mscims" not in result.output


def test_evidence_list_csv(app: typer.Typer, runner: CliRunner) -> None:
    result = runner.invoke(app, ["evidence", "list", "--csv"])
    assert result.exit_code == 0
    assert result.output.splitlines()[0].startswith("study_id,arm,therapy")


def test_evidence_show(app: typer.Typer, runner: CliRunner) -> None:
    result = runner.invoke(app, ["evidence", "show", "nash2017_haltms"])
    assert result.exit_code == 0, result.output
    assert "NCT00288626" in result.output
    assert "nash2017_haltms:ahsct:pfs:003" in result.output


def test_evidence_show_an_outcome_prints_every_provenance_field(
    app: typer.Typer, runner: CliRunner
) -> None:
    result = runner.invoke(app, ["evidence", "show", "burt2019_mist:dmt:progression:059"])
    assert result.exit_code == 0, result.output
    for field in ("status", "source", "locator", "read_from", "published_definition"):
        assert f"  {field}: " in result.output
    assert "  reading: derived:" in result.output
    assert "  definition_id: cdp_edss_1_0_6m_after_1y" in result.output
    assert "definition cdp_edss_1_0_6m_after_1y: MIST disease progression" in result.output
    # unsourced rows are shown too, marked as such
    unsourced = runner.invoke(app, ["evidence", "show", "burt2015_northwestern:ahsct:trm:009"])
    assert "  status: unsourced" in unsourced.output
    study = runner.invoke(app, ["evidence", "show", "burt2019_mist"])
    assert "  status: verified" in study.output
    assert "  pmid: 30644983" in study.output


def test_evidence_show_unknown_study(app: typer.Typer, runner: CliRunner) -> None:
    result = runner.invoke(app, ["evidence", "show", "nope"])
    assert result.exit_code == 1
    assert "study_id must be one of the bundled studies; got 'nope'" in result.output


def test_meta_trm_with_subgroups_and_moderators(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    args = [
        "meta",
        "--outcome",
        "trm",
        "--mixed-definitions",
        "--by",
        "intensity",
        "--moderators",
        "edss",
        "--moderators",
        "treatment_year_mid",
        "--out",
        str(tmp_path),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "REML meta-analysis of 3 studies" in result.output
    assert "test for subgroup differences" in result.output
    table = pd.read_csv(tmp_path / "meta_trm.csv")
    assert list(table["row_type"]) == ["study"] * 3 + ["pooled"]
    assert set(table["study_id"].dropna()) >= {"muraro2017_ebmt", "atkins2016_canadian"}
    svg = (tmp_path / "meta_trm_forest.svg").read_text(encoding="utf-8")
    assert "8/281" in svg
    assert (tmp_path / "meta_trm_forest.png").exists()
    assert (tmp_path / "meta_trm_by_intensity.csv").exists()
    grouped = (tmp_path / "meta_trm_by_intensity_forest.svg").read_text(encoding="utf-8")
    assert "Test for subgroup differences" in grouped
    edss = pd.read_csv(tmp_path / "meta_trm_on_edss.csv")
    assert edss.loc[edss["term"] == "edss", "coef"].item() > 0
    # treatment years are reported by 2 of the 3 studies: too few for a meta-regression
    assert "meta-regression on treatment_year_mid skipped" in result.output
    assert (tmp_path / "meta_trm_on_edss.svg").exists()


def test_meta_needs_a_timepoint_when_several(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    # HALT-MS reports EFS at 3 and 5 years (Burt 2015's 4-year PFS row is unsourced)
    result = runner.invoke(app, ["meta", "--outcome", "efs", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "Choose one with --timepoint" in result.output
    ok = runner.invoke(
        app, ["meta", "--outcome", "pfs", "--timepoint", "5", "--out", str(tmp_path)]
    )
    assert ok.exit_code == 0, ok.output
    assert "meta-analysis of 2 studies" in ok.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--outcome", "cure"], "outcome must be one of", id="outcome"),
        pytest.param(
            ["--outcome", "trm", "--mixed-definitions", "--by", "colour"],
            "column must be",
            id="by",
        ),
        pytest.param(
            ["--outcome", "trm", "--definition", "trm_100d", "--conf-level", "95"],
            "Did you mean 0.95",
            id="level",
        ),
        pytest.param(["--outcome", "trm"], "must share one definition", id="mixed"),
    ],
)
def test_meta_errors_are_reported(
    app: typer.Typer, runner: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["meta", *args, "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert message in result.output


def test_select_outcomes_excludes_published_pools() -> None:
    rows = select_outcomes("trm", mixed_definitions=True)
    assert "sormani2017_meta" not in set(rows["study_id"])
    with_pools = select_outcomes("trm", include_meta_analyses=True, mixed_definitions=True)
    assert "sormani2017_meta" in set(with_pools["study_id"])


def test_meta_writes_funnel_plot_and_egger_test(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    args = ["meta", "--outcome", "trm", "--mixed-definitions", "--by", "definition_id"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Regression test for funnel plot asymmetry" in result.output
    egger = pd.read_csv(tmp_path / "meta_trm_egger.csv")
    assert list(egger["model"]) == ["rma"]
    assert egger["k"].iloc[0] >= 3
    assert 0 <= egger["pvalue"].iloc[0] <= 1
    funnel = (tmp_path / "meta_trm_funnel.svg").read_text(encoding="utf-8")
    assert "Standard error" in funnel
    by_definition = pd.read_csv(tmp_path / "meta_trm_by_definition_id.csv")
    assert {"trm_100d", "trm_related", "deaths_any"} <= set(by_definition.iloc[:, 0].astype(str))


def test_meta_by_definition_and_by_regimen(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    one = runner.invoke(
        app, ["meta", "--outcome", "trm", "--definition", "trm_100d", "--out", str(tmp_path)]
    )
    assert one.exit_code == 0, one.output
    assert (tmp_path / "meta_trm_funnel.svg").exists()
    table = pd.read_csv(tmp_path / "meta_trm.csv")
    if len(table) - 1 < 3:  # too few studies of one definition for Egger's test
        assert "Egger's test skipped" in one.output
    regimen = runner.invoke(
        app,
        ["meta", "--outcome", "pfs", "--by", "conditioning", "--out", str(tmp_path / "pfs")],
    )
    assert regimen.exit_code == 0, regimen.output
    assert (tmp_path / "pfs" / "meta_pfs_by_conditioning.csv").exists()
    assert (tmp_path / "pfs" / "meta_pfs_funnel.svg").exists()


def test_meta_pools_neda_by_definition_and_by_regimen(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    base = ["meta", "--outcome", "neda", "--timepoint", "5"]
    # NEDA rows of several definitions are refused unless a mixed pool is asked for
    refused = runner.invoke(app, [*base, "--out", str(tmp_path / "refused")])
    assert refused.exit_code == 1
    assert "must share one definition" in refused.output
    # one definition: the two regimen arms of the Swedish national cohort (too few for Egger)
    one = runner.invoke(app, [*base, "--definition", "neda_named", "--out", str(tmp_path / "one")])
    assert one.exit_code == 0, one.output
    rows = pd.read_csv(tmp_path / "one" / "meta_neda.csv")
    assert set(rows["study_id"].dropna()) == {"silfverberg2024_sweden"}
    assert (tmp_path / "one" / "meta_neda_funnel.svg").exists()
    assert "Egger's test skipped: 2 studies" in one.output
    # fewer than 3 cohorts share a definition: a mixed pool, said so and labelled per row
    out = tmp_path / "mixed"
    mixed = runner.invoke(
        app, [*base, "--mixed-definitions", "--by", "intensity", "--out", str(out)]
    )
    assert mixed.exit_code == 0, mixed.output
    assert "mixed-definition pool: 3 rows of 2 endpoint definitions" in mixed.output
    table = pd.read_csv(out / "meta_neda.csv")
    studies = table[table["row_type"] == "study"]
    pooled = table[table["row_type"] == "pooled"].iloc[0]
    # the all-patient Swedish row and Burman 2014 (likely overlapping) are not counted twice
    assert sorted(studies["study_id"]) == [
        "silfverberg2024_sweden",
        "silfverberg2024_sweden",
        "uk2025_real_world",
    ]
    assert studies["label"].str.contains(r"\[neda").all()
    natural = studies["estimate_natural"]
    assert natural.min() < pooled["estimate_natural"] < natural.max()
    assert (out / "meta_neda_funnel.svg").read_text(encoding="utf-8").count("<svg") == 1
    egger = pd.read_csv(out / "meta_neda_egger.csv")
    assert int(egger["k"].iloc[0]) == 3
    assert 0 <= egger["pvalue"].iloc[0] <= 1
    by_regimen = pd.read_csv(out / "meta_neda_by_intensity.csv")
    assert set(by_regimen["group"]) == {
        "intermediate_myeloablative",
        "intermediate_lymphoablative",
        "not reported",
        "overall",
    }
    by_definition = runner.invoke(
        app,
        [*base, "--mixed-definitions", "--by", "definition_id", "--out", str(out / "def")],
    )
    assert by_definition.exit_code == 0, by_definition.output
    groups = pd.read_csv(out / "def" / "meta_neda_by_definition_id.csv")
    assert set(groups["group"]) == {"neda_named", "neda3_edss_6m_pretreatment", "overall"}
    assert groups.loc[groups["group"] == "neda_named", "k"].iloc[0] == 2
