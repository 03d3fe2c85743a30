"""The record-level helpers of the SDTM reader: variables, terms, subjects, ISO 8601
dates with located errors, and the report of what was not read."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from msreboot.data._coerce import PartialDates
from msreboot.data._foreign import ForeignTables, parse_iso_dates
from msreboot.data._sdtm_files import SdtmMapping
from msreboot.exceptions import Problem

__all__ = ["SdtmRecords"]


class SdtmRecords:
    """Domains of one package, the mapping, and the raw canonical tables being built."""

    def __init__(
        self, domains: Mapping[str, pd.DataFrame], rules: SdtmMapping, policy: PartialDates | None
    ) -> None:
        self.domains = domains
        self.rules = rules
        self.policy = policy
        self.out = ForeignTables()
        self.used: dict[str, set[int]] = {}
        self.read: set[str] = {"DM"}
        self.times: dict[tuple[str, str], int] = {}
        self.completed: dict[tuple[str, str], int] = {}

    # helpers ------------------------------------------------------------------------
    def col(self, domain: str, variable: str) -> pd.Series:
        frame = self.domains[domain]
        if variable in frame.columns:
            return frame[variable]
        return pd.Series(None, index=frame.index, dtype=object)

    def upper(self, domain: str, variable: str) -> pd.Series:
        return self.col(domain, variable).map(
            lambda v: str(v).strip().upper() if isinstance(v, str) else None
        )

    def term(self, domain: str, *names: str) -> pd.Series:
        """The first of ``--DECOD``, ``--TRT``/``--TERM`` that holds a value, upper case."""
        out = pd.Series(None, index=self.domains[domain].index, dtype=object)
        for name in names:
            out = out.where(out.notna(), self.upper(domain, f"{domain}{name}"))
        return out

    def subjects(self, domain: str) -> pd.Series:
        ids = self.col(domain, "USUBJID").map(lambda v: None if v is None else str(v))
        for row in ids.index[ids.isna().to_numpy()]:
            self.out.error(
                domain,
                int(row),
                None,
                "USUBJID",
                None,
                "USUBJID must be filled on every record; got an empty subject. Fill it or "
                "delete the record",
            )
        return ids

    def use(self, domain: str, rows: pd.Index) -> None:
        self.used.setdefault(domain, set()).update(int(r) for r in rows)

    def dates(self, domain: str, variable: str, rows: pd.Index) -> pd.Series:
        """ISO 8601 texts of ``variable`` on ``rows`` as ``YYYY-MM-DD`` (located errors for
        bad and, without a policy, partial dates)."""
        values = self.col(domain, variable).loc[rows]
        parts = parse_iso_dates(values, self.policy)
        ids = self.col(domain, "USUBJID")
        for row in rows:
            kind = parts.kind[row]
            if kind == "bad":
                self.out.error(
                    domain,
                    int(row),
                    ids[row],
                    variable,
                    values[row],
                    f"{variable} must be an ISO 8601 date (YYYY-MM-DD, or a date-time "
                    f"YYYY-MM-DDThh:mm); got {values[row]!r}. Correct it in the source",
                )
            elif kind in ("month", "year") and self.policy is None:
                self.out.error(
                    domain,
                    int(row),
                    ids[row],
                    variable,
                    values[row],
                    f"{variable} must be a full date (YYYY-MM-DD); got the partial date "
                    f"{values[row]!r}. Complete it in the source, or choose how partial "
                    "dates are completed: partial_dates='first' or 'mid' (CLI "
                    "--partial-dates first|mid)",
                )
        key = (domain, variable)
        self.times[key] = self.times.get(key, 0) + int((parts.kind == "time").sum())
        done = parts.kind.isin(["month", "year"]) & parts.text.notna()
        self.completed[key] = self.completed.get(key, 0) + int(done.sum())
        return parts.text

    def add(
        self,
        table: str,
        domain: str,
        rows: pd.Index,
        data: dict[str, object],
        variables: dict[str, str],
    ) -> None:
        ids = self.col(domain, "USUBJID")
        self.out.add_selected(table, domain, rows, data, ids, "USUBJID", variables)
        self.use(domain, rows)

    def present(self, names: list[str]) -> list[str]:
        found = [d for d in names if d in self.domains]
        for domain in found:
            if domain not in self.read:
                self.read.add(domain)
                self.subjects(domain)
        return found

    def result(self, domain: str) -> tuple[pd.Series, str]:
        """``--STRESN`` where it holds a number, else ``--ORRES``."""
        stresn = self.col(domain, f"{domain}STRESN")
        orres = self.col(domain, f"{domain}ORRES")
        if stresn.notna().any():
            return stresn.where(stresn.notna(), orres), f"{domain}STRESN"
        return orres, f"{domain}ORRES"

    # reports ------------------------------------------------------------------------
    def note(self, domain: str, variable: str, count: int, what: str) -> None:
        self.out.problems.append(
            Problem.table_level(
                domain, f"{count} {variable} value(s) {what}", column=variable, severity="warning"
            )
        )

    def report(self) -> None:
        for (domain, variable), count in self.times.items():
            if count:
                self.note(
                    domain,
                    variable,
                    count,
                    "are date-times, read as their date (the time of day is not kept)",
                )
        for (domain, variable), count in self.completed.items():
            if count:
                self.note(
                    domain,
                    variable,
                    count,
                    f"are partial dates completed under partial_dates={self.policy!r}",
                )
        for domain, frame in self.domains.items():
            if domain not in self.read:
                self.out.problems.append(
                    Problem.table_level(
                        domain,
                        f"domain {domain} ({len(frame)} record(s)) is not read: no rule of the "
                        "SDTM mapping uses it",
                        severity="warning",
                    )
                )
                continue
            used = self.used.get(domain, set())
            if domain == "DM":
                continue
            term = self.term(domain, "TESTCD", "DECOD", "TRT", "TERM")
            ids = self.col(domain, "USUBJID")
            for row in frame.index:
                if int(row) not in used:
                    self.out.dropped.add(
                        domain,
                        _term_variable(frame, domain),
                        "its term or test code is not one the SDTM mapping reads",
                        int(row),
                        ids[row],
                        term[row],
                    )


def _term_variable(frame: pd.DataFrame, domain: str) -> str:
    for suffix in ("TESTCD", "DECOD", "TRT", "TERM"):
        if f"{domain}{suffix}" in frame.columns:
            return f"{domain}{suffix}"
    return "USUBJID"
