"""The command line: exit codes 0 / 1 / 2, outputs, and nothing written on failure."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from msreboot.cli import app
from msreboot.data import read_cohort, read_store
from msreboot.datasets import example_path, load_example
from tests.conftest import tiny_tables

runner = CliRunner()


def _folder(tmp_path: Path, broken: bool = False) -> Path:
    folder = tmp_path / "cohort"
    folder.mkdir()
    for name, frame in tiny_tables().items():
        if broken and name == "edss":
            frame.loc[1, "edss"] = "12"
            frame.loc[2, "date"] = "soon"
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def test_version_and_help() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("msreboot ")
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("validate", "import", "summary", "export", "deidentify", "demo"):
        assert command in result.output


def test_validate_valid_cohort(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--no-progress", "validate", str(_folder(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "cohort is valid" in result.output


def test_validate_reports_problems_and_writes_csv(tmp_path: Path) -> None:
    folder = _folder(tmp_path, broken=True)
    target = tmp_path / "problems.csv"
    result = runner.invoke(
        app, ["--no-progress", "validate", str(folder), "--problems", str(target)]
    )
    assert result.exit_code == 1, result.output
    assert "2 error(s)" in result.output
    problems = pd.read_csv(target, dtype=str)
    assert list(problems.columns) == [
        "severity",
        "table",
        "row",
        "patient_id",
        "column",
        "value",
        "problem",
    ]
    assert set(zip(problems["row"], problems["column"], strict=True)) == {
        ("2", "edss"),
        ("3", "date"),
    }


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert runner.invoke(app, ["validate", str(tmp_path / "missing")]).exit_code == 2
    assert runner.invoke(app, ["validate"]).exit_code == 2
    assert runner.invoke(app, ["import", str(tmp_path)]).exit_code == 2  # no --db
    assert runner.invoke(app, ["schema", "--table", "visits"]).exit_code == 2
    assert runner.invoke(app, ["no-such-command"]).exit_code == 2


def test_import_and_summary(tmp_path: Path) -> None:
    db = tmp_path / "store" / "c.duckdb"
    result = runner.invoke(app, ["--no-progress", "import", str(example_path()), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "imported into" in result.output
    assert read_store(db).equals(load_example())
    again = runner.invoke(app, ["--no-progress", "import", str(example_path()), "--db", str(db)])
    assert "already up to date" in again.output
    summary = runner.invoke(app, ["--no-progress", "summary", str(db)])
    assert summary.exit_code == 0
    assert "patients" in summary.output
    assert "deaths within 100 days of AHSCT" in summary.output


def test_failed_import_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "c.duckdb"
    result = runner.invoke(
        app, ["--no-progress", "import", str(_folder(tmp_path, broken=True)), "--db", str(db)]
    )
    assert result.exit_code == 1
    assert not db.exists()
    runner.invoke(app, ["--no-progress", "import", str(example_path()), "--db", str(db)])
    before = db.read_bytes()
    (tmp_path / "cohort" / "edss.csv").write_text("patient_id,date,edss\nA1,2015-05-01,44\n")
    result = runner.invoke(
        app, ["--no-progress", "import", str(tmp_path / "cohort"), "--db", str(db)]
    )
    assert result.exit_code == 1
    assert db.read_bytes() == before


def test_export_parquet(tmp_path: Path) -> None:
    out = tmp_path / "pq"
    result = runner.invoke(
        app,
        ["--no-progress", "export", str(example_path()), "--out", str(out), "--format", "parquet"],
    )
    assert result.exit_code == 0, result.output
    assert read_cohort(out).equals(load_example())


def test_schema_lists_tables() -> None:
    result = runner.invoke(app, ["schema", "--table", "edss"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    assert "multiple of 0.5" in result.output


def test_example_writes_the_bundled_files(tmp_path: Path) -> None:
    out = tmp_path / "ex"
    assert runner.invoke(app, ["example", "--out", str(out)]).exit_code == 0
    assert read_cohort(out).equals(load_example())


def test_deidentify(tmp_path: Path) -> None:
    key = tmp_path / "secret.key"
    out = tmp_path / "shared"
    args = [
        "--no-progress",
        "deidentify",
        str(example_path()),
        "--out",
        str(out),
        "--key-file",
        str(key),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert key.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.key", "shared"]  # no mapping
    shared = read_cohort(out)
    original = load_example()
    assert shared.n_patients == original.n_patients
    assert not set(shared.patients["patient_id"]) & set(original.patients["patient_id"])
    assert shared.patients["notes"].isna().all()
    again = tmp_path / "again"
    mapping = tmp_path / "mapping.csv"
    result = runner.invoke(
        app, [*args[:4], str(again), "--key-file", str(key), "--mapping", str(mapping)]
    )
    assert result.exit_code == 0, result.output
    assert read_cohort(again).equals(shared)  # same key, same output
    assert len(pd.read_csv(mapping)) == original.n_patients


def test_meta_with_cohort_row(tmp_path: Path) -> None:
    out = tmp_path / "meta"
    args = ["meta", "--outcome", "trm", "--cohort", str(example_path()), "--out", str(out)]
    refused = runner.invoke(app, args)  # TRM rows of several definitions are not pooled
    assert refused.exit_code == 1
    assert "must share one definition" in refused.output
    args += ["--definition", "trm_100d"]  # the cohort's own: any death within 100 days
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "example (this cohort) 8/180" in result.output
    table = pd.read_csv(out / "meta_trm_cohort.csv")
    assert table["row"].tolist()[:2] == ["example (this cohort)", "published, all"]
    assert "8/180" in (out / "meta_trm_cohort_forest.svg").read_text(encoding="utf-8")
    other = runner.invoke(
        app, ["meta", "--outcome", "pfs", "--cohort", str(example_path()), "--out", str(out)]
    )
    assert other.exit_code == 2


def test_disability_writes_events_and_prints_a_summary(tmp_path: Path) -> None:
    target = tmp_path / "events.csv"
    args = ["--no-progress", "disability", str(example_path()), "--definition", "mueller_2023"]
    result = runner.invoke(app, [*args, "--anchor", "ahsct", "--out", str(target), "--methods"])
    assert result.exit_code == 0, result.output
    assert "PIRA:" in result.output
    assert "roving baseline" in result.output
    events = pd.read_csv(target)
    assert {"patient_id", "event_type", "cdw_type", "time_from_anchor_days"} <= set(events.columns)
    assert events["patient_id"].nunique() == 180


def test_disability_rejects_unknown_output_format(tmp_path: Path) -> None:
    target = tmp_path / "events.txt"
    result = runner.invoke(app, ["disability", str(example_path()), "--out", str(target)])
    assert result.exit_code == 2
    assert not target.exists()


def test_endpoints_reports_every_preset_at_2_to_5_years(tmp_path: Path) -> None:
    from msreboot.endpoints import EndpointDefinition

    target = tmp_path / "endpoints.parquet"
    args = ["--no-progress", "endpoints", str(example_path()), "--out", str(target)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(target)
    presets = EndpointDefinition.presets()
    assert list(table["endpoint"].unique()) == list(presets)
    assert len(table) == 4 * len(presets)
    assert set(table["time_years"]) == {2.0, 3.0, 4.0, 5.0}
    for definition in presets.values():
        assert definition.title in result.output
    halt = table[table["endpoint"] == "halt_ms_efs"]
    assert halt["conf_level"].eq(0.90).all()
    assert halt["ci_low"].lt(halt["estimate"]).all()


def test_endpoints_from_a_definition_file_by_group(tmp_path: Path) -> None:
    spec = tmp_path / "mine.toml"
    spec.write_text(
        '[[endpoint]]\nname = "pfs_6m"\nbased_on = "muraro_2017_pfs"\nconf_level = 0.9\n',
        encoding="utf-8",
    )
    target = tmp_path / "out.csv"
    args = ["--no-progress", "endpoints", str(example_path()), "--definitions", str(spec)]
    result = runner.invoke(
        app, [*args, "--by", "phenotype", "--times", "1,2", "--out", str(target)]
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(target)
    assert set(table["endpoint"]) == {"pfs_6m"}
    assert set(table["group"]) == {"RRMS", "SPMS", "PPMS"}
    assert "[RRMS]" in result.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["-e", "nope"], "must name a preset"),
        (["--times", "two"], "--times must be years"),
        (["--by", "colour"], "column of the patients table"),
        (["--out", "x.txt"], "must end in .csv or .parquet"),
    ],
)
def test_endpoints_usage_errors(tmp_path: Path, extra: list[str], message: str) -> None:
    result = runner.invoke(app, ["--no-progress", "endpoints", str(example_path()), *extra])
    assert result.exit_code == 2
    assert message in result.output


def test_endpoints_list_needs_no_data() -> None:
    result = runner.invoke(app, ["endpoints", "missing-folder", "--list"])
    assert result.exit_code == 0, result.output
    assert "mist_2019_progression (95% CI)" in result.output


def test_eligibility_and_protocols_are_registered() -> None:
    args = ["eligibility", "--age", "38", "--edss", "6.0", "--phenotype", "RRMS"]
    result = runner.invoke(app, [*args, "--criteria", "halt_ms"])
    assert result.exit_code == 0, result.output
    assert "HALT-MS" in result.output
    assert "not eligible" in result.output  # EDSS above 5.5
    assert "not a medical decision" in result.output
    listing = runner.invoke(app, ["protocols", "list"])
    assert listing.exit_code == 0, listing.output
    assert "halt_ms" in listing.output


def test_no_progress_is_accepted_at_any_position(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    shown = runner.invoke(app, ["validate", str(folder)])
    assert shown.exit_code == 0, shown.output
    assert "reading cohort" in shown.output
    for args in (
        ["--no-progress", "validate", str(folder)],
        ["validate", "--no-progress", str(folder)],
        ["validate", str(folder), "--no-progress"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
        assert "cohort is valid" in result.output
        assert "reading cohort" not in result.output, args
    assert runner.invoke(app, ["schema", "--table", "deaths", "--no-progress"]).exit_code == 0
    nested = runner.invoke(app, ["simulate", "trial", "no_such_study", "--no-progress"])
    assert nested.exit_code == 2
    assert "No such option" not in nested.output
    assert "no_such_study" in nested.output


@pytest.mark.parametrize(
    ("option", "names"),
    [
        ("--definition", "msprog, mueller_2023, kappos_2020"),
        ("--event", "first_cdw, first_cdi, first"),
        ("--baseline", "fixed, roving, roving_improvement"),
    ],
)
def test_disability_choices_come_from_the_definitions(option: str, names: str) -> None:
    result = runner.invoke(app, ["disability", str(example_path()), option, "nope"])
    assert result.exit_code == 2
    text = " ".join(result.output.replace("│", " ").split())  # unwrap the error box
    assert f"{option} must be one of {names}" in text


def test_compare_writes_tables_figures_and_report(tmp_path: Path) -> None:
    spec = tmp_path / "emulation.toml"
    spec.write_text(
        '[trial]\nname = "nat"\ntitle = "AHSCT vs natalizumab"\n'
        '[control]\nname = "Natalizumab"\nkind = "dmt"\ndrugs = ["natalizumab"]\n'
        '[adjustment]\nmethod = "overlap"\n'
        '[outcomes]\nendpoints = ["relapse_free"]\n'
    )
    out_dir = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "compare",
            str(example_path()),
            "--spec",
            str(spec),
            "--out",
            str(out_dir),
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "HR crude" in result.output
    outcomes = pd.read_csv(out_dir / "nat_outcomes.csv")
    assert list(outcomes["endpoint"]) == ["relapse_free"]
    assert outcomes["hr_adjusted"].between(0, 10).all()
    shares = pd.read_csv(out_dir / "nat_proportions.csv")
    assert shares["outcome"].tolist() == ["cdi"] * 3 + ["neda"] * 3
    assert shares["arm"].tolist() == ["AHSCT", "Natalizumab", "difference"] * 2
    assert (shares["evaluable"] + shares["not_evaluable"] == shares["entries"]).all()
    balance = pd.read_csv(out_dir / "nat_balance.csv")
    assert {"smd_before", "smd_after"} <= set(balance.columns)
    assert (out_dir / "nat_methods.txt").read_text().startswith("We emulated a target trial")
    svgs = {p.name for p in (out_dir / "report_files").glob("*.svg")}
    assert {"love_nat.svg", "overlap_nat.svg", "compare_km_nat_relapse_free.svg"} <= svgs
    assert 'id="comparison"' in (out_dir / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("spec", "message"),
    [("no_such_spec", "--spec must be default, a bundled spec"), ("missing.toml", "existing TOML")],
    ids=["preset", "file"],
)
def test_compare_usage_errors(tmp_path: Path, spec: str, message: str) -> None:
    result = runner.invoke(
        app, ["compare", str(example_path()), "--spec", spec, "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert message in " ".join(result.output.replace("│", " ").split())
    assert not (tmp_path / "o").exists()


def test_compare_spec_in_the_report_command(tmp_path: Path) -> None:
    out_file = tmp_path / "r.html"
    result = runner.invoke(
        app,
        [
            "report",
            str(example_path()),
            "--out",
            str(out_file),
            "--endpoint",
            "relapse_free",
            "--emulation",
            "ahsct_vs_best_dmt",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    page = out_file.read_text(encoding="utf-8")
    assert "AHSCT vs best available high-efficacy DMT" in page
    bad = runner.invoke(
        app, ["report", str(example_path()), "--out", str(out_file), "--emulation", "nope"]
    )
    assert bad.exit_code == 2
