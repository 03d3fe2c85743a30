"""What the dashboard keeps between requests: cohorts opened and their analyses (shared,
read-only), and background virtual-trial runs (one per browser session)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from msreboot.analysis import CohortExplorer

__all__ = ["EXAMPLE", "Cancelled", "Cohorts", "TrialRun"]

#: The source name of the bundled synthetic example cohort.
EXAMPLE = "example"


class Cancelled(Exception):
    """A background run stopped by its user."""


@dataclass
class Cohorts:
    """The cohorts the dashboard can open: the given store and the bundled example.

    Each is read once and explored through :class:`msreboot.analysis.CohortExplorer`
    (which computes and keeps the results); they are shared by every session and the
    results are frozen, so sessions never change each other's view.
    """

    store: Path | None = None
    _explorers: dict[str, CohortExplorer] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _private: set[str] = field(default_factory=set)

    def sources(self) -> dict[str, str]:
        """Source names and labels, the store first."""
        out: dict[str, str] = {}
        if self.store is not None:
            out["store"] = f"Store: {self.store.name}"
        out[EXAMPLE] = "The bundled synthetic example cohort"
        return out

    def explorer(self, source: str, private: Mapping[str, Path] | None = None) -> CohortExplorer:
        """The explorer of a source's cohort, read once; ``private`` maps a session's own
        sources (stores it imported) to their files."""
        from msreboot.analysis import CohortExplorer

        private = private or {}
        with self._lock:
            if source in self._private and source not in private:
                raise ValueError(
                    f"source must be one of this session's sources; got {source!r}, another "
                    "session's import."
                )
            if source not in self._explorers:
                if source in private:
                    from msreboot.data import read_store

                    cohort = read_store(private[source])
                    self._private.add(source)
                elif source == "store" and self.store is not None:
                    from msreboot.data import read_store

                    cohort = read_store(self.store)
                elif source == EXAMPLE:
                    from msreboot.datasets import load_example

                    cohort = load_example()
                else:
                    raise ValueError(
                        f"source must be one of {', '.join(self.sources())}; got {source!r}."
                    )
                self._explorers[source] = CohortExplorer(cohort)
            return self._explorers[source]

    def forget(self, source: str) -> None:
        """Drop a source's explorer (a session's imported store, when the session ends)."""
        with self._lock:
            self._explorers.pop(source, None)
            self._private.discard(source)


@dataclass
class TrialRun:
    """A background run (a virtual trial, a sample-size search, a patient projection):
    steps done, the total, and a cancel flag."""

    total: int = 0
    done: int = 0
    cancel: threading.Event = field(default_factory=threading.Event)

    def progress(self, done: Any, total: Any = None) -> None:
        """The run's progress callback: counts steps (and the total, when the run says it)
        and stops the run when cancelled."""
        self.done = int(done)
        if total is not None:
            self.total = int(total)
        if self.cancel.is_set():
            raise Cancelled("cancelled")
