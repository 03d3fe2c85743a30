"""The dashboard end to end in headless Chromium (Debian's, through Playwright): log in, fail
to log in, open the example, change a definition and see the curve change, open a patient,
run a tiny virtual trial, download a figure; no console errors, no request outside the app.

Screenshots of each page go to the test's temporary folder; page render times are measured,
not asserted, and written to ``benchmarks/results/app.json`` only when
``MSREBOOT_RECORD_BENCHMARKS=1`` asks for it (a run leaves the repository unchanged)."""

from __future__ import annotations

import json
import os
import platform
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("shiny")
uvicorn = pytest.importorskip("uvicorn")
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install 'msreboot[dev]')"
)

from msreboot.app import AppConfig, add_user, create_app  # noqa: E402
from tests.browser import ARGS, CHROMIUM  # noqa: E402

PASSWORD = "browser test password"
DATA_DIRS: list[Path] = []
RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "app.json"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian package `chromium`); browser test skipped")
    folder = tmp_path_factory.mktemp("app")
    config: AppConfig = add_user(folder / "app.toml", "ana", PASSWORD, "analyst")
    DATA_DIRS.append(config.data_dir)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config=config),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            ws="websockets-sansio",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


class _Watch:
    """Console errors and requests outside the app's origin of one page."""

    def __init__(self, page: Any, origin: str) -> None:
        self.errors: list[str] = []
        self.outside: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

        def route(r: Any) -> None:
            url = r.request.url
            if url.startswith((origin, origin.replace("http", "ws"))):
                r.continue_()
            else:
                self.outside.append(url)
                r.abort()

        page.route("**/*", route)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        b = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


def _login(page: Any, base_url: str, password: str) -> None:
    page.goto(base_url + "/")
    page.fill("#username", "ana")
    page.fill("#password", password)
    page.click("#login")


def _idle(page: Any) -> None:
    page.wait_for_function(
        "() => window.Shiny && !document.documentElement.classList.contains('shiny-busy')"
        " && [...document.querySelectorAll('.recalculating')]"
        ".filter(e => e.offsetParent !== null).length === 0",
        timeout=60_000,
    )


def test_a_wrong_password_does_not_log_in(browser: Any, base_url: str) -> None:
    page = browser.new_page()
    watch = _Watch(page, base_url)
    _login(page, base_url, "not the password")
    assert page.url.endswith("/login")
    assert "Wrong user or password" in page.content()
    page.goto(base_url + "/")
    assert page.url.endswith("/login")
    page.close()
    assert watch.outside == []


def test_every_page_end_to_end(browser: Any, base_url: str, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    watch = _Watch(page, base_url)
    times: dict[str, float] = {}

    start = time.perf_counter()
    _login(page, base_url, PASSWORD)
    page.wait_for_selector("#description")
    page.select_option("#source", "example")
    page.click("#open")
    page.wait_for_function(
        "() => document.querySelector('#description').innerText.includes('300 patients')",
        timeout=120_000,  # a cold numba cache compiles the disability scans first
    )
    _idle(page)
    times["data"] = time.perf_counter() - start
    page.screenshot(path=str(tmp_path / "data.png"), full_page=True)
    bad = tmp_path / "patients.csv"
    bad.write_text("patient_id,sex,birth_year,onset_date,phenotype\nP1,X,1980,2000-01-01,RRMS\n")
    page.set_input_files("#upload", str(bad))
    page.wait_for_function(
        "() => document.querySelector('#validation_summary').textContent.includes('validated')",
        timeout=30_000,
    )
    _idle(page)
    summary = page.text_content("#validation_summary") or ""
    assert "error(s)" in summary
    with page.expect_download() as problems:
        page.click("#problems_csv")
    table = Path(problems.value.path()).read_text()
    assert table.startswith("severity")
    assert len(table.splitlines()) > 1
    page.screenshot(path=str(tmp_path / "data_validation.png"), full_page=True)

    def visit(value: str, ready: str) -> None:
        start = time.perf_counter()
        page.click(f"a[data-value='{value}']")
        page.wait_for_selector(ready, timeout=30_000)
        _idle(page)
        times[value] = time.perf_counter() - start
        page.screenshot(path=str(tmp_path / f"{value}.png"), full_page=True)

    visit("endpoints", "#curves img")
    before = page.get_attribute("#curves img", "src")
    methods = page.inner_text("#methods")
    page.select_option("#preset", "halt_ms_pfs")
    page.wait_for_function("(m) => document.querySelector('#methods').innerText !== m", arg=methods)
    _idle(page)
    page.select_option("#group", "treatment")
    _idle(page)
    after = page.get_attribute("#curves img", "src")
    assert after != before
    assert "progression" in page.inner_text("#methods").lower()
    with page.expect_download() as download:
        page.click("#endpoint_svg")
    svg = Path(download.value.path()).read_text()
    assert svg.lstrip().startswith("<?xml")
    assert "<svg" in svg
    assert download.value.suggested_filename == "endpoint_curves.svg"

    visit("patients", "#timeline img")
    page.fill("#search", "P00")
    page.wait_for_function(
        "() => document.querySelectorAll('#patient option').length === 9"
        " && document.querySelector('#patient_list').innerText.includes('P009')"
        " && !document.querySelector('#patient_list').innerText.includes('P010')"
    )
    page.select_option("#patient", "P005")
    page.wait_for_function(
        "() => document.querySelector('#patient_events').innerText.includes('P005')"
    )
    _idle(page)
    assert "CDW" in page.inner_text("#patient_events")
    page.screenshot(path=str(tmp_path / "patient_P005.png"), full_page=True)

    visit("evidence", "#funnel img")
    assert "Regression test for funnel plot asymmetry" in page.inner_text("#egger")
    assert page.query_selector("#forest img") is not None
    visit("comparison", "#love img")

    visit("trial", "#run_power")
    visit("benefit", "#project")
    assert "neurologist" in page.inner_text("#projection_disclaimer")
    uploads = DATA_DIRS[-1] / "uploads"
    assert any(uploads.rglob("patients.csv"))  # kept while the session lasts
    context.close()
    deadline = time.monotonic() + 10
    while any(uploads.rglob("*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(uploads.rglob("*"))  # and removed when it ends
    assert watch.errors == []
    assert watch.outside == []
    for name in ("data", "endpoints", "patients", "evidence", "comparison", "trial", "benefit"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
    if os.environ.get("MSREBOOT_RECORD_BENCHMARKS") != "1":
        return
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "what": "seconds from a click to the page rendered (example cohort, one user, "
                "headless Chromium; data: login + opening the cohort, analysed once; "
                "benefit: the page with its form, before a projection)",
                "command": "MSREBOOT_RECORD_BENCHMARKS=1 python -m pytest "
                "tests/app/test_browser.py -k every_page -p no:cacheprovider",
                "load_average": [round(x, 2) for x in os.getloadavg()],
                "machine": platform.platform(),
                "pages_seconds": {k: round(v, 3) for k, v in times.items()},
                "screenshots": str(tmp_path),
            },
            indent=2,
        )
        + "\n"
    )


@pytest.mark.slow
def test_a_tiny_virtual_trial_and_a_projection_run_in_the_background(
    browser: Any, base_url: str, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    watch = _Watch(page, base_url)
    _login(page, base_url, PASSWORD)
    page.wait_for_selector("#description")
    page.click("a[data-value='trial']")
    page.select_option("#trial", "halt_ms")
    page.fill("#replicates", "1")
    page.click("#run_trial")
    page.wait_for_function(
        "() => document.querySelector('#trial_summary').innerText.includes('replicate')",
        timeout=180_000,
    )
    assert "Done." in page.inner_text("#trial_progress")
    assert "halt_ms_efs" in page.inner_text("#trial_published")
    page.screenshot(path=str(tmp_path / "trial_run.png"), full_page=True)
    page.fill("#replicates", "200")
    page.click("#run_trial")
    page.wait_for_function(
        "() => document.querySelector('#trial_progress').innerText.includes('Running')"
    )
    page.click("#cancel_trial")
    page.wait_for_function(
        "() => document.querySelector('#trial_summary').innerText.includes('Cancelled')",
        timeout=60_000,
    )
    page.click("a[data-value='benefit']")
    page.fill("#pp_age", "38")
    page.select_option("#pp_sex", "female")
    page.click("#project")
    page.wait_for_function(
        "() => document.querySelector('#projection_trm').innerText.includes('Predicted TRM')",
        timeout=180_000,
    )
    assert "38 years" in page.inner_text("#projection_summary")
    assert "Done." in page.inner_text("#projection_progress")
    assert "10 years" in page.inner_text("#projection_table")
    with page.expect_download() as sheet:
        page.click("#patient_sheet")
    assert "neurologist" in Path(sheet.value.path()).read_text()
    assert "neurologist" in page.inner_text("#projection_disclaimer")
    page.screenshot(path=str(tmp_path / "benefit.png"), full_page=True)
    page.close()
    assert watch.errors == []
    assert watch.outside == []
