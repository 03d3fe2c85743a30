"""A report of the example cohort, built once for the tests that only read it."""

from __future__ import annotations

from pathlib import Path

import pytest

from msreboot.analysis import analyse_cohort
from msreboot.datasets import example_path, load_example
from msreboot.report import Report, build_report


@pytest.fixture(scope="session")
def example_report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    """The report of the bundled example cohort, with a small virtual HALT-MS trial."""
    from msreboot.trials import run_trial

    out = tmp_path_factory.mktemp("report") / "report.html"
    trial = run_trial("halt_ms", replicates=2)
    return build_report(
        analyse_cohort(load_example(), trial=trial),
        out=out,
        title="Example <cohort> & report",
        source=example_path(),
        command="msreboot report example --out report.html",
    )


@pytest.fixture(scope="session")
def example_html(example_report: Report) -> str:
    return Path(example_report.path).read_text(encoding="utf-8")
