"""What the dashboard keeps between requests: cohorts opened and their analyses (shared,
read-only), and background virtual-trial runs (one per browser session)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from msreboot.analysis import CohortAnalysis
    from msreboot.data import Cohort

__all__ = ["EXAMPLE", "Cancelled", "Cohorts", "TrialRun"]

#: The source name of the bundled synthetic example cohort.
EXAMPLE = "example"


class Cancelled(Exception):
    """A background run stopped by its user."""


@dataclass
class Cohorts:
    """The cohorts the dashboard can open: the given store and the bundled example.

    Each is read and analysed once (:func:`msreboot.analysis.analyse_cohort`) and shared by
    every session; the results are frozen, so sessions never change each other's view.
    """

    store: Path | None = None
    _cohorts: dict[str, Cohort] = field(default_factory=dict)
    _analyses: dict[str, CohortAnalysis] = field(default_factory=dict)
    _events: dict[str, pd.DataFrame] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def sources(self) -> dict[str, str]:
        """Source names and labels, the store first."""
        out: dict[str, str] = {}
        if self.store is not None:
            out["store"] = f"Store: {self.store.name}"
        out[EXAMPLE] = "The bundled synthetic example cohort"
        return out

    def cohort(self, source: str) -> Cohort:
        """The cohort of a source, read once."""
        with self._lock:
            if source not in self._cohorts:
                if source == "store" and self.store is not None:
                    from msreboot.data import read_store

                    self._cohorts[source] = read_store(self.store)
                elif source == EXAMPLE:
                    from msreboot.datasets import load_example

                    self._cohorts[source] = load_example()
                else:
                    raise ValueError(
                        f"source must be one of {', '.join(self.sources())}; got {source!r}."
                    )
            return self._cohorts[source]

    def analysis(self, source: str) -> CohortAnalysis:
        """The cohort's analysis (description, evidence, emulated trial), computed once."""
        cohort = self.cohort(source)
        with self._lock:
            if source not in self._analyses:
                from msreboot.analysis import analyse_cohort

                self._analyses[source] = analyse_cohort(cohort, definitions=["halt_ms_efs"])
            return self._analyses[source]

    def disability_events(self, source: str) -> pd.DataFrame:
        """Every patient's disability events under the default (msprog) rules."""
        cohort = self.cohort(source)
        with self._lock:
            if source not in self._events:
                from msreboot.endpoints import detect_disability_events

                self._events[source] = detect_disability_events(cohort).to_frame()
            return self._events[source]


@dataclass
class TrialRun:
    """A background virtual-trial run: replicates done, the total, and a cancel flag."""

    total: int = 0
    done: int = 0
    cancel: threading.Event = field(default_factory=threading.Event)

    def progress(self, done: Any) -> None:
        """The run's progress callback: counts replicates and stops when cancelled."""
        self.done = int(done)
        if self.cancel.is_set():
            raise Cancelled("cancelled")
