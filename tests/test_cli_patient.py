"""``msreboot patient``: the summary, the CSV table, the sheet, a profile read from a
cohort, and clear errors for bad profiles (exit code 2)."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from msreboot.cli import app
from msreboot.datasets import example_path

runner = CliRunner()
PROFILE = [
    "patient",
    "--age", "38", "--edss", "4.5", "--phenotype", "RRMS", "--sex", "F",
    "--disease-duration", "6", "--relapses-12m", "1", "--relapses-24m", "2",
    "--gd-lesions", "1", "--current-dmt", "dimethyl_fumarate", "--prior-dmt", "interferon_beta",
    "--hct-ci", "0", "--draws", "2", "--patients-per-draw", "20",
]  # fmt: skip


def test_patient_summary_and_sheet(tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.html"
    result = runner.invoke(app, [*PROFILE, "--option", "ahsct_cy_atg", "--out", str(sheet)])
    assert result.exit_code == 0, result.output
    assert "Patient projection: 38 years, female, RRMS, EDSS 4.5" in result.output
    assert "Predicted TRM" in result.output
    assert "AHSCT, cyclophosphamide + ATG" in result.output
    assert "not a medical decision or a recommendation" in result.output
    assert sheet.is_file()
    assert "Benefit and risk" in sheet.read_text(encoding="utf-8")


def test_patient_csv_is_the_options_table() -> None:
    result = runner.invoke(app, [*PROFILE, "--option", "stay", "--csv"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(StringIO(result.stdout))
    assert set(table["option"]) == {"stay"}
    assert {"estimate", "cri_low", "cri_high", "mc_se", "parameter_sd"} <= set(table.columns)


def test_patient_from_a_cohort() -> None:
    args = ["patient", "--cohort", str(example_path()), "--patient-id", "P001"]
    result = runner.invoke(app, [*args, "--at", "2016-10-01", "--option", "stay"])
    assert result.exit_code == 0, result.output
    assert "42.71 years, female, RRMS, EDSS 2.0" in result.output


def test_bad_profiles_exit_2_naming_the_field() -> None:
    for flag, value, field in (
        ("--edss", "7.3", "edss must be a multiple of 0.5"),
        ("--age", "-1", "age_years: age_years must be from 0 to 120; got -1"),
        ("--age", "12", "age_years must be from 18 to 80 for a projection; got 12"),
        ("--phenotype", "RMS", "phenotype must be one of"),
    ):
        args = ["patient", "--age", "38", "--edss", "4.5", "--phenotype", "RRMS"]
        args[args.index(flag) + 1] = value
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert field in result.output
    missing = runner.invoke(app, ["patient", "--age", "38"])
    assert missing.exit_code == 2
    assert "--edss, --phenotype must be given" in missing.output
    unknown = runner.invoke(app, [*PROFILE, "--option", "surgery"])
    assert unknown.exit_code == 2
    assert "options must be names of" in unknown.output


def test_patient_and_eligibility_take_the_same_profile_options() -> None:
    # one profile: the eligibility fields change the projection's eligibility verdicts
    base = ["patient", "--age", "38", "--edss", "4.5", "--phenotype", "RRMS"]
    extra = ["--relapses-12m", "1", "--mri-active-12m", "--failed-dmts", "1"]
    plain = runner.invoke(app, base)
    told = runner.invoke(app, [*base, *extra])
    assert plain.exit_code == told.exit_code == 0, told.output
    assert "atkins_2016: undetermined" in plain.output
    assert "atkins_2016: eligible" in told.output
    eligibility = runner.invoke(
        app, ["eligibility", "--sex", "F", "--current-dmt", "natalizumab", "--edss", "4.5"]
    )
    assert eligibility.exit_code == 0, eligibility.output
    bad = runner.invoke(app, ["eligibility", "--current-dmt", "aspirin"])
    assert bad.exit_code == 2
    assert "current_dmt: current_dmt must name a DMT" in bad.output
