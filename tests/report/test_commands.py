"""``msreboot report`` on a folder and on a store, bad input, and ``msreboot demo``."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from msreboot.cli import app
from msreboot.data import import_cohort
from msreboot.datasets import example_path, load_example

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--no-progress", *args], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_report_of_a_folder(tmp_path: Path) -> None:
    out = tmp_path / "out" / "cohort.html"
    code, output = _run(
        "report",
        str(example_path()),
        "--out",
        str(out),
        "--endpoints",
        "halt_ms_efs",
        "-e",
        "neda_3",
        "--times",
        "3,5",
        "--title",
        "Centre X",
    )
    assert code == 0, output
    assert f"report: {out.resolve()}" in output
    html = out.read_text(encoding="utf-8")
    assert "<title>Centre X</title>" in html
    assert 'id="fig-km_halt_ms_efs"' in html
    assert 'id="fig-km_neda_3"' in html
    assert 'id="fig-km_halt_ms_pfs"' not in html
    assert 'id="trial"' not in html  # no virtual trial unless asked
    assert (tmp_path / "out" / "cohort_files" / "km_neda_3.png").is_file()
    digest = hashlib.sha256((example_path() / "edss.csv").read_bytes()).hexdigest()
    assert digest in html
    assert re.search(r"report example --out cohort.html", html)  # names only, no full paths
    assert str(tmp_path) not in html


def test_report_full_paths(tmp_path: Path) -> None:
    out = tmp_path / "out" / "full.html"
    code, output = _run(
        "report", str(example_path()), "--out", str(out), "-e", "neda_3", "--full-paths"
    )
    assert code == 0, output
    html = out.read_text(encoding="utf-8")
    assert str(example_path().resolve()) in html
    assert str(out) in html


@pytest.mark.slow  # over 8 s: out of the default run
def test_report_compares_by_a_patients_column(tmp_path: Path) -> None:
    out = tmp_path / "by.html"
    code, output = _run(
        "report", str(example_path()), "--out", str(out), "-e", "relapse_free", "--by", "sex"
    )
    assert code == 0, output
    html = out.read_text(encoding="utf-8")
    assert "Comparison by sex" in html
    assert "M vs F" in html


def test_report_by_an_unknown_column_is_a_usage_error(tmp_path: Path) -> None:
    out = tmp_path / "by.html"
    code, output = _run("report", str(example_path()), "--out", str(out), "--by", "centre_x")
    assert code == 2, output
    assert "by must be a column of the patients table" in " ".join(output.split())
    assert not out.exists()


def test_report_of_a_store_with_a_virtual_trial(tmp_path: Path) -> None:
    db = tmp_path / "cohort.duckdb"
    import_cohort(load_example(), db)
    out = tmp_path / "store.html"
    code, output = _run(
        "report", str(db), "--out", str(out), "-e", "halt_ms_efs", "--trial", "halt_ms",
        "--replicates", "2",
    )  # fmt: skip
    assert code == 0, output
    html = out.read_text(encoding="utf-8")
    assert 'id="trial"' in html
    assert "HALT-MS (Nash 2015, 2017), virtual" in html
    assert hashlib.sha256(db.read_bytes()).hexdigest() in html
    assert "seed 2006, 2 replicates" in html


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{missing}"], "SOURCE must exist"),
        (["{example}", "--out", "{tmp}/r.pdf"], "--out must be an .html file"),
        (["{example}", "-e", "no_such"], "--endpoint must name a preset"),
        (["{example}", "--times", "two"], "--times must be years"),
        (["{example}", "--trial", "no_such"], "--trial must be a bundled study"),
        (["{example}", "--definitions", "{tmp}/none.toml"], "--definitions must be an existing"),
    ],
    ids=["missing-source", "out-suffix", "endpoint", "times", "trial", "definitions"],
)
def test_bad_input_is_a_usage_error_and_writes_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    values = {
        "missing": str(tmp_path / "nowhere"),
        "example": str(example_path()),
        "tmp": str(work),
    }
    filled = [a.format(**values) for a in args]
    if "--out" not in filled:
        filled += ["--out", str(work / "report.html")]
    code, output = _run("report", *filled)
    assert code == 2, output
    assert message in " ".join(output.split())
    assert list(work.iterdir()) == []


def test_invalid_cohort_exits_1_and_leaves_the_old_report(tmp_path: Path) -> None:
    folder = tmp_path / "cohort"
    folder.mkdir()
    for name in ("patients", "treatments", "edss"):
        (folder / f"{name}.csv").write_bytes((example_path() / f"{name}.csv").read_bytes())
    edss = (folder / "edss.csv").read_text(encoding="utf-8").splitlines()
    edss[1] = edss[1].replace(",2.0,", ",12.0,", 1)
    (folder / "edss.csv").write_text("\n".join(edss) + "\n", encoding="utf-8")
    out = tmp_path / "report.html"
    out.write_text("previous report", encoding="utf-8")
    code, output = _run("report", str(folder), "--out", str(out))
    assert code == 1, output
    assert "data problem" in output
    assert out.read_text(encoding="utf-8") == "previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cohort", "report.html"]


def test_demo_writes_the_report(tmp_path: Path) -> None:
    work = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--workdir", str(work)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    output = result.output
    assert "validated: 300 patients" in output
    assert "HALT-MS event-free survival: 180 patients" in output
    assert "TRM (death from any cause within 100 days of AHSCT)" in output
    assert "virtual HALT-MS: 20 replicates of 24 patients" in output
    assert f"report: {(work / 'report.html').resolve()}" in output
    html = (work / "report.html").read_text(encoding="utf-8")
    for section in ("cohort", "survival", "trajectories", "transplant", "evidence", "trial"):
        assert f'id="{section}"' in html
    assert (work / "cohort.duckdb").is_file()
    assert (work / "report_files" / "km_halt_ms_efs.svg").is_file()
    assert (work / "report_files" / "trial_halt_ms.png").is_file()


def test_demo_with_a_file_as_workdir_is_a_usage_error(tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_text("not a folder", encoding="utf-8")
    code, output = _run("demo", "--workdir", str(target))
    assert code == 2, output
    assert "--workdir must be a folder" in output
    assert target.read_text(encoding="utf-8") == "not a folder"
