"""The protocols CLI pieces, mounted on a throwaway Typer app as the main CLI would."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from msreboot.cli._protocols import eligibility_command, protocols_app
from msreboot.protocols import DISCLAIMER


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    root = typer.Typer()
    root.add_typer(protocols_app, name="protocols")
    root.command("eligibility")(eligibility_command)
    return root


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_protocols_list(app: typer.Typer, runner: CliRunner) -> None:
    result = runner.invoke(app, ["protocols", "list"])
    assert result.exit_code == 0, result.output
    assert "halt_ms" in result.output
    assert "mist_dmt" in result.output


def test_protocols_list_criteria_as_csv(app: typer.Typer, runner: CliRunner) -> None:
    result = runner.invoke(app, ["protocols", "list", "--criteria", "--csv"])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.output))
    assert list(frame.columns) == ["criteria", "kind", "n_criteria", "title"]
    assert "ebmt_2019" in set(frame["criteria"])


def test_protocols_show_a_protocol_with_its_criteria(app: typer.Typer, runner: CliRunner) -> None:
    result = runner.invoke(app, ["protocols", "show", "halt_ms"])
    assert result.exit_code == 0, result.output
    assert "BEAM + rabbit ATG" in result.output
    assert "EDSS 3.0-5.5" in result.output
    assert "NCT00288626" in result.output


def test_protocols_show_a_criteria_set(app: typer.Typer, runner: CliRunner) -> None:
    result = runner.invoke(app, ["protocols", "show", "beat_ms"])
    assert result.exit_code == 0, result.output
    assert "Age 18-55 years" in result.output


def test_protocols_show_unknown(app: typer.Typer, runner: CliRunner) -> None:
    result = runner.invoke(app, ["protocols", "show", "nope"])
    assert result.exit_code == 1
    assert "name must be a protocol (halt_ms" in result.output


def test_eligibility_one_profile(app: typer.Typer, runner: CliRunner) -> None:
    args = ["eligibility", "--age", "38", "--edss", "4.5", "--phenotype", "RRMS"]
    args += ["--failed-dmts", "1", "--relapses-12m", "2", "--disease-duration", "4.9"]
    args += ["--criteria", "halt_ms"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "HALT-MS (Nash 2015, 2017): eligible" in result.output
    assert DISCLAIMER in result.output
    assert "MIST" not in result.output


def test_eligibility_unknown_fields_are_undetermined(app: typer.Typer, runner: CliRunner) -> None:
    result = runner.invoke(app, ["eligibility", "--edss", "4.5", "--criteria", "mist"])
    assert result.exit_code == 0, result.output
    assert "MIST (Burt 2019): undetermined" in result.output
    assert "[unknown]" in result.output


def test_eligibility_every_set_as_csv(app: typer.Typer, runner: CliRunner) -> None:
    args = ["eligibility", "--age", "38", "--edss", "6.0", "--mri-active-12m", "--csv"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert frame["criteria"].nunique() == 7
    edss = frame.query("criteria == 'halt_ms' and criterion_id == 'edss'")
    assert edss["status"].item() == "not met"
    assert DISCLAIMER in result.stderr


def test_eligibility_bad_value_names_the_field(app: typer.Typer, runner: CliRunner) -> None:
    result = runner.invoke(app, ["eligibility", "--edss", "4.3"])
    assert result.exit_code == 2
    assert "edss: edss must be a multiple of 0.5" in result.output


def test_eligibility_usage_errors(app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["eligibility", "--age", "30", "--criteria", "halt"])
    assert result.exit_code == 2
    assert "--criteria must be one of halt_ms" in result.output
    result = runner.invoke(app, ["eligibility"])
    assert result.exit_code == 2
    assert "give at least one profile field" in result.output
    path = tmp_path / "p.csv"
    path.write_text("age_years\n30\n", encoding="utf-8")
    result = runner.invoke(app, ["eligibility", "--profiles", str(path), "--age", "30"])
    assert result.exit_code == 2
    assert "--profiles replaces the single-profile options" in result.output
    result = runner.invoke(app, ["eligibility", "--profiles", str(tmp_path / "none.csv")])
    assert result.exit_code == 2


def test_eligibility_reads_a_csv_of_profiles(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "profiles.csv"
    path.write_text(
        "patient_id,age_years,edss,phenotype,failed_dmt_count,relapses_last_12_months\n"
        "A,38,4.5,RRMS,1,2\n"
        "B,51,4.5,RRMS,1,2\n"
        "C,,4.5,RRMS,1,2\n",
        encoding="utf-8",
    )
    args = ["eligibility", "--profiles", str(path), "--criteria", "atkins_2016", "--csv"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.stdout))
    assert table["verdict"].tolist() == ["eligible", "not eligible", "undetermined"]
    detail = runner.invoke(app, [*args, "--detail"])
    assert len(pd.read_csv(io.StringIO(detail.stdout))) == 3 * 5
    text = runner.invoke(app, ["eligibility", "--profiles", str(path)])
    assert text.exit_code == 0
    assert DISCLAIMER in text.stdout


def test_eligibility_reports_every_problem_in_a_profiles_file(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "profiles.csv"
    path.write_text("patient_id,edss,phenotype\nA,4.3,RRMS\nB,4.5,XX\n", encoding="utf-8")
    result = runner.invoke(app, ["eligibility", "--profiles", str(path)])
    assert result.exit_code == 1
    assert "profiles row 1 (patient A) column edss" in result.output
    assert "profiles row 2 (patient B) column phenotype" in result.output


def test_a_user_catalogue_file(app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        """
[criteria.local]
title = "Local criteria"
kind = "guideline"
citations = ["sharrack2020_ebmt"]

[[criteria.local.criterion]]
id = "edss"
label = "EDSS up to 6.5"
rule = { kind = "range", field = "edss", max = 6.5 }
basis = "assumed"
source = "sharrack2020_ebmt"
source_text = "Local extension."
note = "Local policy."
""",
        encoding="utf-8",
    )
    args = ["eligibility", "--edss", "6.5", "--criteria", "local", "--file", str(path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Local criteria: eligible" in result.output
    shown = runner.invoke(app, ["protocols", "show", "local", "--file", str(path)])
    assert "EDSS up to 6.5" in shown.output
    broken = runner.invoke(app, ["protocols", "list", "--file", str(tmp_path / "no.toml")])
    assert broken.exit_code == 2
    assert "catalogue file must exist" in broken.output
