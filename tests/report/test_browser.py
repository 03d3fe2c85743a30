"""The report in a real browser (headless Chromium): it renders, logs no console error and
requests nothing but its own file."""

from __future__ import annotations

from pathlib import Path

from msreboot.report import Report
from tests.browser import offline_page


def test_report_renders_offline_in_chromium(example_report: Report, tmp_path: Path) -> None:
    with offline_page(example_report.path, width=1280, height=900) as (page, log):
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        assert page.title() == "Example <cohort> & report"
        sections = (
            "cohort",
            "survival",
            "trajectories",
            "transplant",
            "reconstitution",
            "measures",
        )
        for section in (*sections, "evidence"):
            assert page.locator(f"section#{section}").is_visible()
        widths = page.eval_on_selector_all(
            "figure svg", "els => els.map(e => e.getBoundingClientRect().width)"
        )
        assert len(widths) >= 10
        assert min(widths) > 300
    assert log.console_errors == []
    assert log.failed == []
    assert log.outside == []
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 50_000
