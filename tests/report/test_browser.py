"""The report in a real browser (headless Chromium): it renders, logs no console error and
requests nothing but its own file."""

from __future__ import annotations

from pathlib import Path

import pytest

from msreboot.report import Report

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def test_report_renders_offline_in_chromium(example_report: Report, tmp_path: Path) -> None:
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian package `chromium`); browser test skipped")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install 'msreboot[dev]')"
    )
    page_url = example_report.path.resolve().as_uri()
    console_errors: list[str] = []
    failed: list[str] = []
    outside: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on(
                "console",
                lambda message: (
                    console_errors.append(message.text) if message.type == "error" else None
                ),
            )
            page.on("pageerror", lambda error: console_errors.append(str(error)))
            page.on("requestfailed", lambda request: failed.append(request.url))

            def only_the_page(route: object) -> None:
                request = route.request  # type: ignore[attr-defined]
                if request.url == page_url:
                    route.continue_()  # type: ignore[attr-defined]
                else:
                    outside.append(request.url)
                    route.abort()  # type: ignore[attr-defined]

            page.route("**/*", only_the_page)
            page.goto(page_url, wait_until="load")
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
            assert page.title() == "Example <cohort> & report"
            sections = ("cohort", "survival", "trajectories", "transplant", "reconstitution")
            for section in (*sections, "evidence"):
                assert page.locator(f"section#{section}").is_visible()
            widths = page.eval_on_selector_all(
                "figure svg", "els => els.map(e => e.getBoundingClientRect().width)"
            )
            assert len(widths) >= 10
            assert min(widths) > 300
        finally:
            browser.close()
    assert console_errors == []
    assert failed == []
    assert outside == []
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 50_000
