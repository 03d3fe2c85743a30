"""The report package's public names are pinned (grow them deliberately)."""

from __future__ import annotations


def test_report_api_is_pinned() -> None:
    import msreboot.report as report

    assert sorted(report.__all__) == [
        "Report",
        "ReportSection",
        "build_report",
    ]
    for name in report.__all__:
        assert hasattr(report, name), name


def test_importing_the_report_package_does_not_import_plotting() -> None:
    import subprocess
    import sys

    code = (
        "import sys, msreboot.report, msreboot.cli._report; "
        "print(any(m.startswith(('matplotlib', 'jinja2', 'tableone')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
