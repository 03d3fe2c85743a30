"""The Data page's import: the uploaded folder or workbook read and validated
(:func:`msreboot.data.read_cohort`) and loaded into a DuckDB store
(:func:`msreboot.data.import_cohort`, as ``msreboot import`` does), in the background. The
store lies in the session's part of the app's data folder, is openable by that session
only, and is removed when the session ends."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from msreboot.app._state import Cohorts
from msreboot.app._uploads import UploadFolder

if TYPE_CHECKING:
    from msreboot.data import ImportResult

__all__ = ["import_server", "import_upload"]

_LOG = logging.getLogger("msreboot.app")


def import_upload(source: Path, store: Path) -> ImportResult:
    """Read and validate ``source`` (a folder of table files or a workbook) and load it
    into the store at ``store``, all or nothing.

    Raises
    ------
    msreboot.exceptions.DataValidationError
        The files do not validate (every problem listed); nothing is written.
    msreboot.exceptions.StoreError
        The store cannot be written.
    """
    from msreboot.data import import_cohort, read_cohort

    cohort = read_cohort(source)
    return import_cohort(cohort, store, source=source.name)


def import_server(
    input: Any,
    session: Any,
    uploads: UploadFolder,
    cohorts: Cohorts,
    private: dict[str, Path],
    labels: Callable[[], dict[str, str]],
    validation: Callable[[], Any],
) -> None:
    """The import button and its status (analysts only)."""
    from shiny import reactive, render, ui

    from msreboot.exceptions import MsrebootError

    key = f"imported-{uploads.root.name}"
    session.on_ended(lambda: cohorts.forget(key))

    @reactive.extended_task
    async def importing(source: Path, store: Path) -> Any:
        def work() -> Any:
            try:
                return import_upload(source, store)
            except (MsrebootError, ValueError, OSError) as exc:
                _LOG.warning("import refused: %s", type(exc).__name__)
                return str(exc)

        return await asyncio.to_thread(work)

    @reactive.effect
    @reactive.event(input.import_store)
    def _import() -> None:
        report = validation()
        if report is None or isinstance(report, str) or not report.ok:
            ui.notification_show(
                "Upload files that validate without errors first (the problems table lists "
                "what to fix).",
                type="error",
                duration=8,
            )
            return
        cohorts.forget(key)
        private.pop(key, None)
        importing(uploads.source(), uploads.store)

    @reactive.effect
    def _imported() -> None:
        if importing.status() != "success" or isinstance(importing.result(), str):
            return
        private[key] = uploads.store
        ui.update_select("source", choices=labels(), selected=key, session=session)

    @render.code
    def import_status() -> str:
        status = importing.status()
        if status == "running":
            reactive.invalidate_later(0.5)
            return "Importing..."
        if status == "initial":
            return "Not imported. Upload files, check them, then import."
        if status == "error":
            return "The import failed."
        result = importing.result()
        if isinstance(result, str):
            return f"Not imported: {result}"
        rows = ", ".join(f"{table} {n}" for table, n in result.rows.items() if n)
        return (
            f"Imported into this session's store ({rows} rows). Choose the imported upload "
            "above and press Open."
        )
