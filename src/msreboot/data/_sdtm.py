"""Read a CDISC SDTM package (XPT or Dataset-JSON domains) into a validated cohort."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from msreboot.data._coerce import PartialDates
from msreboot.data._cohort import Cohort
from msreboot.data._foreign import finish, parse_iso_dates
from msreboot.data._labs import ANALYTES
from msreboot.data._sdtm_files import load_sdtm_mapping, read_domains
from msreboot.data._sdtm_records import SdtmRecords

__all__ = ["read_sdtm"]


def read_sdtm(
    folder: str | Path,
    *,
    mapping: str | Path | None = None,
    partial_dates: PartialDates | None = None,
) -> Cohort:
    """Read a CDISC SDTM package into a validated cohort.

    Parameters
    ----------
    folder
        Folder of domain files, one per domain: SAS XPORT (``dm.xpt``, read with
        pyreadstat, extra ``msreboot[sdtm]``) or CDISC Dataset-JSON v1.1 (``dm.json``).
        DM is required; the others are read when present.
    mapping
        SDTM mapping file (TOML); ``None`` uses the shipped default,
        :data:`~msreboot.data.SDTM_MAPPING_FILE`, which documents every rule.
    partial_dates
        ``None`` (default): an ISO 8601 partial date (``2015-11``, ``2015``) is an error
        naming its domain, record, subject and variable; ``"first"`` or ``"mid"``
        completes it (see :data:`~msreboot.data.PartialDates`) and a warning counts them.
        A year or month of birth alone (DM.BRTHDTC) is read as ``birth_year`` without a
        policy. A date-time keeps its date, counted in a warning.

    Returns
    -------
    Cohort
        Validated like every other reader. ``cohort.warnings`` counts every record not
        read (domain, variable, first records, most frequent values), every domain not
        read, and the dates completed or read from date-times.

    Raises
    ------
    DataValidationError
        Every problem, each at its domain, record (1-based), USUBJID and variable: first
        the reader's own (unreadable files, unmapped codes, bad dates); when there are
        none, the schema's checks.
    FileNotFoundError
        ``folder`` or ``mapping`` does not exist.

    Notes
    -----
    DM gives the patients (USUBJID, SEX, BRTHDTC, SITEID, DTHDTC); MH the phenotype and
    onset date (MHSTDTC) from the mapping's phenotype terms; EX, PR and CM the treatment
    courses, one record each; RS, QS or FT the EDSS (``EDSS0101``); CE or MH the relapses;
    MO or MI the MRI counts (one scan per subject, date and location); AE the adverse
    events; DM.DTHDTC, DS and DD the deaths; LB the labs (by LBLOINC, else LBTESTCD). The
    canonical columns filled are listed in the how-to page (``docs/how-to/sdtm.md``).

    Examples
    --------
    Two domains as Dataset-JSON v1.1 (columns and rows):

    >>> import json, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> def domain(name, columns, rows):
    ...     document = {"datasetJSONVersion": "1.1.0", "name": name, "records": len(rows),
    ...                 "columns": [{"name": c, "dataType": "string"} for c in columns],
    ...                 "rows": rows}
    ...     (folder / f"{name.lower()}.json").write_text(json.dumps(document))
    >>> domain("DM", ["USUBJID", "SEX", "BRTHDTC"], [["S1", "F", "1980-05-01"]])
    >>> domain("MH", ["USUBJID", "MHDECOD", "MHSTDTC"],
    ...        [["S1", "RELAPSING-REMITTING MULTIPLE SCLEROSIS", "2005-03"]])
    >>> read_sdtm(folder)
    Traceback (most recent call last):
    ...
    msreboot.exceptions.DataValidationError: cohort has 1 data problem(s); the first 1:
      - MH row 1 (patient S1) column MHSTDTC: MHSTDTC must be a full date (YYYY-MM-DD); got
        the partial date '2005-03'. ...
    >>> cohort = read_sdtm(folder, partial_dates="first")
    >>> cohort.patients[["patient_id", "sex", "phenotype", "onset_date"]]
      patient_id sex phenotype onset_date
    0         S1   F      RRMS 2005-03-01
    """
    path = Path(folder)
    if not path.is_dir():
        raise FileNotFoundError(f"SDTM folder must be an existing folder; got {path}")
    rules = load_sdtm_mapping(mapping)
    domains, problems = read_domains(path)
    reader = _Reader(domains, rules, partial_dates)
    reader.out.problems.extend(problems)
    if "DM" in domains:
        reader.read_all()
    return finish(reader.out, partial_dates=partial_dates)


class _Reader(SdtmRecords):
    """Each domain into its canonical table."""

    # domains ------------------------------------------------------------------------
    def read_all(self) -> None:
        self.subjects("DM")
        self.patients()
        self.treatments()
        self.edss()
        self.relapses()
        self.mri()
        self.adverse_events()
        self.deaths()
        self.labs()
        self.report()

    def patients(self) -> None:
        rows = self.domains["DM"].index
        sex_codes = self.upper("DM", "SEX")
        sex = sex_codes.map(self.rules.dm.sex)
        ids = self.col("DM", "USUBJID")
        for row in rows[(sex_codes.notna() & sex.isna()).to_numpy()]:
            self.out.error(
                "DM",
                int(row),
                ids[row],
                "SEX",
                sex_codes[row],
                f"SEX must be one of {', '.join(self.rules.dm.sex)} ([dm] sex of the SDTM "
                f"mapping); got {sex_codes[row]!r}. Add the code to the mapping",
            )
        birth = parse_iso_dates(self.col("DM", "BRTHDTC"), self.policy)
        for row in rows[(birth.kind == "bad").to_numpy()]:
            value = self.col("DM", "BRTHDTC")[row]
            self.out.error(
                "DM",
                int(row),
                ids[row],
                "BRTHDTC",
                value,
                f"BRTHDTC must be an ISO 8601 date (YYYY-MM-DD, YYYY-MM or YYYY); got {value!r}",
            )
        partial = birth.kind.isin(["month", "year"]) & birth.text.isna()
        birth_year = birth.year.where(partial.to_numpy())
        if partial.any():
            self.note(
                "DM",
                "BRTHDTC",
                int(partial.sum()),
                "hold only a year or a month of "
                "birth and are read as birth_year (the month is not kept)",
            )
        self.times[("DM", "BRTHDTC")] = int((birth.kind == "time").sum())
        self.completed[("DM", "BRTHDTC")] = int(
            (birth.kind.isin(["month", "year"]) & birth.text.notna()).sum()
        )
        phenotype, onset, onset_var = self.phenotypes(ids)
        centre = self.rules.dm.centre.strip().upper()
        data: dict[str, object] = {
            "sex": sex,
            "birth_date": birth.text,
            "birth_year": birth_year,
            "phenotype": phenotype,
            "onset_date": onset,
        }
        variables = {
            "sex": "SEX",
            "birth_date": "BRTHDTC",
            "birth_year": "BRTHDTC",
            "phenotype": f"{self.rules.phenotype.domain}DECOD",
            "onset_date": onset_var,
        }
        if centre:
            data["centre"] = self.col("DM", centre)
            variables["centre"] = centre
        self.add("patients", "DM", rows, data, variables)

    def phenotypes(self, dm_ids: pd.Series) -> tuple[pd.Series, pd.Series, str]:
        """Phenotype and onset date per DM record, from the phenotype terms of MH."""
        domain = self.rules.phenotype.domain
        phenotype = pd.Series(None, index=dm_ids.index, dtype=object)
        onset = pd.Series(None, index=dm_ids.index, dtype=object)
        if not self.present([domain]):
            return phenotype, onset, f"{domain}STDTC"
        term = self.term(domain, "DECOD", "TERM")
        matched = term.map(self.rules.phenotype.terms)
        rows = term.index[matched.notna().to_numpy()]
        dates = self.dates(domain, f"{domain}STDTC", rows)
        ids = self.col(domain, "USUBJID")
        seen: dict[str, int] = {}
        position = {str(s): i for i, s in zip(dm_ids.index, dm_ids, strict=True)}
        for row in rows:
            subject = str(ids[row])
            if subject in seen:
                self.out.error(
                    domain,
                    int(row),
                    subject,
                    f"{domain}DECOD",
                    term[row],
                    f"a subject must have one MS phenotype record; got another after record "
                    f"{seen[subject]}. Keep the phenotype at cohort entry",
                )
                continue
            seen[subject] = int(row)
            if subject in position:
                phenotype[position[subject]] = matched[row]
                onset[position[subject]] = dates[row]
            elif ids[row] is not None:
                self.out.error(
                    domain,
                    int(row),
                    subject,
                    "USUBJID",
                    subject,
                    f"USUBJID must be a subject of DM; got {subject!r}, which is not in DM. "
                    "Add the subject to DM or correct the id",
                )
        self.use(domain, rows)
        return phenotype, onset, f"{domain}STDTC"

    def treatments(self) -> None:
        for domain in self.present(self.rules.treatments.domains):
            term = self.term(domain, "DECOD", "TRT")
            courses = term.map(self.rules.treatments.terms)
            rows = term.index[courses.notna().to_numpy()]
            if rows.empty:
                continue
            kind = courses.loc[rows].map(lambda c: c.kind)
            drug = courses.loc[rows].map(lambda c: c.drug)
            end = self.dates(domain, f"{domain}ENDTC", rows).where(kind != "ahsct")
            self.add(
                "treatments",
                domain,
                rows,
                {
                    "kind": kind,
                    "drug": drug,
                    "start_date": self.dates(domain, f"{domain}STDTC", rows),
                    "end_date": end,
                },
                {
                    "kind": f"{domain}TRT",
                    "drug": f"{domain}TRT",
                    "start_date": f"{domain}STDTC",
                    "end_date": f"{domain}ENDTC",
                },
            )

    def edss(self) -> None:
        for domain in self.present(self.rules.edss.domains):
            rows = self.domains[domain].index[
                (self.upper(domain, f"{domain}TESTCD") == self.rules.edss.testcd).to_numpy()
            ]
            if rows.empty:
                continue
            value, variable = self.result(domain)
            self.add(
                "edss",
                domain,
                rows,
                {"date": self.dates(domain, f"{domain}DTC", rows), "edss": value},
                {"date": f"{domain}DTC", "edss": variable},
            )

    def relapses(self) -> None:
        terms = set(self.rules.relapses.terms)
        for domain in self.present(self.rules.relapses.domains):
            term = self.term(domain, "DECOD", "TERM")
            rows = term.index[term.isin(terms).to_numpy()]
            if rows.empty:
                continue
            sev_codes = self.upper(domain, f"{domain}SEV").loc[rows]
            severity = sev_codes.map(self.rules.relapses.severity)
            for row in rows[(sev_codes.notna() & severity.isna()).to_numpy()]:
                self.out.error(
                    domain,
                    int(row),
                    self.col(domain, "USUBJID")[row],
                    f"{domain}SEV",
                    sev_codes[row],
                    f"{domain}SEV must be one of {', '.join(self.rules.relapses.severity)} "
                    f"([relapses] severity of the SDTM mapping); got {sev_codes[row]!r}",
                )
            self.add(
                "relapses",
                domain,
                rows,
                {
                    "onset_date": self.dates(domain, f"{domain}STDTC", rows),
                    "end_date": self.dates(domain, f"{domain}ENDTC", rows),
                    "severity": severity,
                },
                {
                    "onset_date": f"{domain}STDTC",
                    "end_date": f"{domain}ENDTC",
                    "severity": f"{domain}SEV",
                },
            )

    def mri(self) -> None:
        for domain in self.present(self.rules.mri.domains):
            testcd = self.upper(domain, f"{domain}TESTCD")
            column = testcd.map(self.rules.mri.tests)
            rows = testcd.index[column.notna().to_numpy()]
            if rows.empty:
                continue
            loc = self.upper(domain, f"{domain}LOC").loc[rows]
            region = loc.map(self.rules.mri.regions)
            ids = self.col(domain, "USUBJID")
            for row in rows[(loc.notna() & region.isna()).to_numpy()]:
                self.out.error(
                    domain,
                    int(row),
                    ids[row],
                    f"{domain}LOC",
                    loc[row],
                    f"{domain}LOC must be one of {', '.join(self.rules.mri.regions)} ([mri] "
                    f"regions of the SDTM mapping); got {loc[row]!r}",
                )
            value, variable = self.result(domain)
            dates = self.dates(domain, f"{domain}DTC", rows)
            scans: dict[tuple[object, object, object], dict[str, object]] = {}
            first: list[int] = []
            for row in rows:
                key = (ids[row], dates[row], region[row])
                scan = scans.get(key)
                if scan is None:
                    scan = scans[key] = {"date": dates[row], "region": region[row]}
                    first.append(int(row))
                name = str(column[row])
                if name in scan:
                    self.out.error(
                        domain,
                        int(row),
                        ids[row],
                        f"{domain}TESTCD",
                        testcd[row],
                        f"{domain}TESTCD {testcd[row]} must occur once per scan (subject, "
                        f"{domain}DTC, {domain}LOC); got it again. Keep one record",
                    )
                scan[name] = value[row]
            index = pd.Index(first)
            frame = pd.DataFrame(list(scans.values()), index=index)
            data: dict[str, object] = {c: frame[c] for c in frame.columns}
            self.add(
                "mri",
                domain,
                index,
                data,
                {
                    "date": f"{domain}DTC",
                    "region": f"{domain}LOC",
                    **{c: variable for c in frame.columns if c not in ("date", "region")},
                },
            )
            self.use(domain, rows)

    def adverse_events(self) -> None:
        if not self.present(["AE"]):
            return
        rules = self.rules.adverse_events
        rows = self.domains["AE"].index
        term = self.term("AE", "DECOD", "TERM")
        soc = self.upper("AE", "AEBODSYS")
        category = term.map(rules.terms)
        category = category.where(category.notna(), soc.map(rules.body_systems))
        left = category.isna() & term.notna()
        if rules.otherwise is not None:
            if left.any():
                self.note(
                    "AE",
                    "AEDECOD",
                    int(left.sum()),
                    "match no term or body system of "
                    f"the SDTM mapping and get the category {rules.otherwise!r} "
                    "([adverse_events] otherwise)",
                )
            category = category.where(~left, rules.otherwise)
        else:
            ids = self.col("AE", "USUBJID")
            for row in rows[left.to_numpy()]:
                self.out.error(
                    "AE",
                    int(row),
                    ids[row],
                    "AEDECOD",
                    term[row],
                    f"AEDECOD {term[row]!r} must match a term or body system of the SDTM "
                    "mapping ([adverse_events] terms, body_systems); got neither. Add it, or "
                    "set [adverse_events] otherwise",
                )
        self.add(
            "adverse_events",
            "AE",
            rows,
            {
                "onset_date": self.dates("AE", "AESTDTC", rows),
                "end_date": self.dates("AE", "AEENDTC", rows),
                "category": category,
                "grade": self.col("AE", "AETOXGR"),
                "serious": self.col("AE", "AESER"),
            },
            {
                "onset_date": "AESTDTC",
                "end_date": "AEENDTC",
                "category": "AEDECOD",
                "grade": "AETOXGR",
                "serious": "AESER",
            },
        )

    def deaths(self) -> None:
        rules = self.rules.deaths
        dm = self.domains["DM"]
        ids = self.col("DM", "USUBJID")
        with_date = dm.index[self.col("DM", "DTHDTC").notna().to_numpy()]
        dm_dates = self.dates("DM", "DTHDTC", with_date)
        by_subject: dict[str, tuple[str, int, object]] = {
            str(ids[r]): ("DM", int(r), dm_dates[r]) for r in with_date
        }
        ds_rows: list[int] = []
        if self.present(["DS"]):
            term = self.term("DS", "DECOD", "TERM")
            rows = term.index[term.isin(set(rules.ds_terms)).to_numpy()]
            ds_dates = self.dates("DS", "DSSTDTC", rows)
            ds_ids = self.col("DS", "USUBJID")
            for row in rows:
                subject = str(ds_ids[row])
                known = by_subject.get(subject)
                if known is None:
                    by_subject[subject] = ("DS", int(row), ds_dates[row])
                    ds_rows.append(int(row))
                elif known[0] == "DM" and known[2] != ds_dates[row]:
                    self.out.error(
                        "DS",
                        int(row),
                        subject,
                        "DSSTDTC",
                        ds_dates[row],
                        f"DSSTDTC of the death must equal DM.DTHDTC ({known[2]}); got "
                        f"{ds_dates[row]}. Correct one of them",
                    )
                elif known[0] == "DS":
                    self.out.error(
                        "DS",
                        int(row),
                        subject,
                        "DSDECOD",
                        self.col("DS", "DSDECOD")[row],
                        f"a subject must have one death record in DS; got another after record "
                        f"{known[1]}. Keep one",
                    )
            self.use("DS", rows)
        flagged = dm.index[(self.upper("DM", "DTHFL") == "Y").to_numpy()]
        for row in flagged:
            if str(ids[row]) not in by_subject:
                self.out.error(
                    "DM",
                    int(row),
                    ids[row],
                    "DTHFL",
                    "Y",
                    "DTHFL is Y, so a death date must be given (DM.DTHDTC or a DS death "
                    "record); got none. Add the date",
                )
        causes = self.causes(set(by_subject))
        for source, rows_used in (("DM", list(with_date)), ("DS", ds_rows)):
            if not rows_used:
                continue
            index = pd.Index(rows_used)
            subjects = self.col(source, "USUBJID").loc[index].map(str)
            dates = [by_subject[s][2] if by_subject[s][0] == source else None for s in subjects]
            self.add(
                "deaths",
                source,
                index,
                {"date": dates, "cause": [causes.get(s) for s in subjects]},
                {"date": "DTHDTC" if source == "DM" else "DSSTDTC", "cause": "DD.DDSTRESC"},
            )

    def causes(self, dead: set[str]) -> dict[str, str]:
        if not self.present(["DD"]):
            return {}
        rules = self.rules.deaths
        testcd = self.upper("DD", "DDTESTCD")
        rows = testcd.index[(testcd == rules.cause_test).to_numpy()]
        text = self.upper("DD", "DDSTRESC")
        text = text.where(text.notna(), self.upper("DD", "DDORRES"))
        ids = self.col("DD", "USUBJID")
        out: dict[str, str] = {}
        for row in rows:
            subject, value = str(ids[row]), text[row]
            cause = rules.causes.get(str(value)) if value is not None else None
            if subject not in dead:
                continue
            self.use("DD", pd.Index([row]))
            if cause is None:
                self.out.dropped.add(
                    "DD",
                    "DDSTRESC",
                    "the cause is not listed in [deaths] "
                    "causes of the SDTM mapping; the cause is left missing",
                    int(row),
                    subject,
                    value,
                )
            else:
                if subject in out and out[subject] != cause:
                    self.out.error(
                        "DD",
                        int(row),
                        subject,
                        "DDSTRESC",
                        value,
                        f"a subject must have one primary cause of death ({rules.cause_test}); "
                        f"got {out[subject]!r} and {cause!r}. Keep one",
                    )
                out[subject] = cause
        return out

    def labs(self) -> None:
        if not self.present(["LB"]):
            return
        by_loinc = {a.loinc: a.code for a in ANALYTES.values() if a.loinc}
        loinc = self.upper("LB", "LBLOINC")
        analyte = loinc.map(by_loinc)
        by_test = self.upper("LB", "LBTESTCD").map(self.rules.labs.tests)
        analyte = analyte.where(loinc.notna(), by_test)
        stresn = self.col("LB", "LBSTRESN")
        standard = stresn.notna()
        value = stresn.where(standard, self.col("LB", "LBORRES"))
        unit = self.col("LB", "LBSTRESU").where(standard, self.col("LB", "LBORRESU"))
        rows = analyte.index[(analyte.notna() & value.notna()).to_numpy()]
        ids = self.col("LB", "USUBJID")
        for row in analyte.index[(analyte.notna() & value.isna()).to_numpy()]:
            self.out.dropped.add(
                "LB",
                "LBSTRESN",
                "no result (LBSTRESN and LBORRES empty)",
                int(row),
                ids[row],
                analyte[row],
            )
            self.use("LB", pd.Index([row]))
        self.add(
            "labs",
            "LB",
            rows,
            {
                "date": self.dates("LB", "LBDTC", rows),
                "analyte": analyte,
                "value": value,
                "unit": unit,
            },
            {"date": "LBDTC", "analyte": "LBTESTCD", "value": "LBSTRESN", "unit": "LBSTRESU"},
        )
