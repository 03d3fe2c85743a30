"""The report package imports no plotting until it draws (its names are pinned in
tests/test_api.py)."""

from __future__ import annotations


def test_importing_the_report_package_does_not_import_plotting() -> None:
    import subprocess
    import sys

    code = (
        "import sys, msreboot.report, msreboot.cli._report; "
        "print(any(m.startswith(('matplotlib', 'jinja2', 'tableone')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
