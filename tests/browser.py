"""Opening a page in a real browser (Debian's headless Chromium, driven by Playwright) for
the tests: one launch with the same flags everywhere, and a page that may load nothing but
itself."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

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


def sync_playwright_api() -> Any:
    """Playwright's sync API, skipping the test (with the reason) when Chromium or
    Playwright is missing; CI installs both (``.ci/run``)."""
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian package `chromium`); browser test skipped")
    return pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install 'msreboot[dev]')"
    )


@dataclass
class PageLog:
    """What a page did besides rendering: console errors (and uncaught exceptions), requests
    that failed, and requests for anything but the page itself (refused)."""

    console_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)


@contextmanager
def offline_page(path: Path, *, width: int, height: int) -> Iterator[tuple[Any, PageLog]]:
    """The file ``path`` opened (until ``load``) in headless Chromium, every other request
    refused and logged; yields the Playwright page and its :class:`PageLog`."""
    sync_api = sync_playwright_api()
    page_url = path.resolve().as_uri()
    log = PageLog()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on(
                "console",
                lambda message: (
                    log.console_errors.append(message.text) if message.type == "error" else None
                ),
            )
            page.on("pageerror", lambda error: log.console_errors.append(str(error)))
            page.on("requestfailed", lambda request: log.failed.append(request.url))

            def only_the_page(route: Any) -> None:
                if route.request.url == page_url:
                    route.continue_()
                else:
                    log.outside.append(route.request.url)
                    route.abort()

            page.route("**/*", only_the_page)
            page.goto(page_url, wait_until="load")
            yield page, log
        finally:
            browser.close()
