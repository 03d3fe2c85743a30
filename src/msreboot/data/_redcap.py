"""Read a REDCap flat export (CSV, raw codes) into the canonical tables through a TOML mapping.

A flat export has one row per record for the non-repeating fields (``redcap_repeat_instrument``
blank) and one extra row per instance of each repeating instrument. The mapping file says
which field holds the patient id and, per canonical table, which instrument the rows come
from, which REDCap field fills each canonical column, how coded choices translate, which
columns are constants and which checkbox choices become booleans. See
``redcap_mapping_example.toml`` next to this module for every option.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from msreboot.data._coerce import CELL_BLANKS, NA_STRINGS, is_missing
from msreboot.data._files import read_table_file
from msreboot.data._schema import SCHEMA, TABLE_NAMES
from msreboot.data._toml import read_toml
from msreboot.data._validate import MAX_CELL_CHARS
from msreboot.exceptions import DataValidationError, Problem, SpecFileError

__all__ = ["RedcapMapping", "TableSource", "load_mapping", "read_redcap"]

REPEAT_INSTRUMENT = "redcap_repeat_instrument"
REPEAT_INSTANCE = "redcap_repeat_instance"
EVENT_NAME = "redcap_event_name"

Scalar = str | int | float | bool

_CHECKED = frozenset({"1", "checked", "true", "yes"})
_UNCHECKED = frozenset({"0", "unchecked", "false", "no"})


class TableSource(BaseModel):
    """Where the rows of one canonical table come from (one ``[tables.<name>]`` entry)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instrument: str | None = Field(
        default=None,
        description="Repeating instrument (REDCap unique name); absent = the record's "
        "non-repeating row.",
    )
    events: list[str] | None = Field(
        default=None, description="Longitudinal projects: keep rows of these events only."
    )
    columns: dict[str, str] = Field(default_factory=dict)
    values: dict[str, dict[str, Scalar]] = Field(default_factory=dict)
    constants: dict[str, Scalar] = Field(default_factory=dict)
    checkboxes: dict[str, str] = Field(default_factory=dict)


class RedcapMapping(BaseModel):
    """The whole mapping file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id_field: str = "record_id"
    tables: dict[str, TableSource | list[TableSource]]

    def sources(self) -> list[tuple[str, str, TableSource]]:
        """``(table, key prefix, source)`` for every source, in file order."""
        out = []
        for table, entry in self.tables.items():
            if isinstance(entry, list):
                out += [(table, f"tables.{table}[{i}]", s) for i, s in enumerate(entry)]
            else:
                out.append((table, f"tables.{table}", entry))
        return out


def _mapping_problem(path: Path, key: str, value: object, message: str) -> Problem:
    shown = None if value is None else str(value)
    return Problem.table_level(path.name, message, column=key, value=shown)


def load_mapping(path: Path) -> RedcapMapping:
    """Read and check a mapping file; raise one error listing every bad key.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    DataValidationError
        The file is not TOML, or keys are unknown, mistyped or name columns that do not
        exist; each problem names the key (``tables.patients.columns.sexx``).
    """
    if not path.is_file():
        raise FileNotFoundError(
            f"REDCap mapping must be an existing TOML file; got {path}. "
            "Start from msreboot/data/redcap_mapping_example.toml."
        )
    try:
        document = read_toml(path, what="REDCap mapping")
    except SpecFileError as err:
        # too large, too deep, not UTF-8 or not valid TOML (with line and column)
        raise DataValidationError([_mapping_problem(path, "(file)", None, str(err))]) from None
    try:
        mapping = RedcapMapping.model_validate(document)
    except ValidationError as err:
        raise DataValidationError(_pydantic_problems(path, err)) from None
    problems = _check_mapping(path, mapping)
    if problems:
        raise DataValidationError(problems)
    return mapping


_UNION_BRANCHES = frozenset({"TableSource", "list[TableSource]", "str", "int", "float", "bool"})


def _pydantic_problems(path: Path, err: ValidationError) -> list[Problem]:
    """One problem per bad key (pydantic reports each branch of a union separately)."""
    problems: dict[str, Problem] = {}
    for error in err.errors():
        loc = error["loc"]
        if loc and loc[-1] == "list[TableSource]" and error["type"] == "list_type":
            continue  # a table given as one [section]: the list branch does not apply
        if loc and loc[-1] == "TableSource" and error["type"] == "model_type":
            continue  # a table given as [[sections]]: the single branch does not apply
        key = _loc(loc)
        if key not in problems:
            problems[key] = _mapping_problem(path, key, _input(error), _pydantic_message(error))
    return list(problems.values())


def _loc(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        elif item not in _UNION_BRANCHES:  # union branches pydantic tried are not keys
            parts.append(item)
    return ".".join(parts) or "(file)"


def _input(error: Mapping[str, Any]) -> str | None:
    value = error.get("input")
    return None if isinstance(value, (dict, list)) else str(value)


def _pydantic_message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    key = _loc(error["loc"])
    if kind == "extra_forbidden":
        leaf = key.rsplit(".", 1)[-1]
        allowed = (
            list(TableSource.model_fields)
            if key.startswith("tables.")
            else list(RedcapMapping.model_fields)
        )
        close = difflib.get_close_matches(leaf, allowed, n=1)
        hint = f" Did you mean {close[0]}?" if close else f" Use one of {', '.join(allowed)}."
        return f"{key} must not be set; got an unknown key.{hint}"
    if kind == "missing":
        return f"{key} must be given; got nothing. Add it (see redcap_mapping_example.toml)."
    message = str(error["msg"])
    constraint = message.removeprefix("Input should be ")
    if constraint == message:
        constraint = "valid (" + message.lower() + ")"
    return (
        f"{key} must be {constraint}; got {error.get('input')!r}. "
        "See redcap_mapping_example.toml for the expected form."
    )


def _check_mapping(path: Path, mapping: RedcapMapping) -> list[Problem]:
    problems: list[Problem] = []

    def bad(key: str, value: object, message: str) -> None:
        problems.append(_mapping_problem(path, key, value, message))

    if not mapping.id_field.strip():
        bad("id_field", mapping.id_field, "id_field must be a REDCap field name; got ''.")
    for table in mapping.tables:
        if table not in SCHEMA:
            close = difflib.get_close_matches(table, TABLE_NAMES, n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            bad(
                f"tables.{table}",
                table,
                f"table must be one of {', '.join(TABLE_NAMES)}; got {table!r}.{hint}",
            )
    for table, prefix, source in mapping.sources():
        if table not in SCHEMA:
            continue
        spec = SCHEMA[table]
        seen: dict[str, str] = {}
        for section in ("columns", "constants", "checkboxes"):
            entries: Mapping[str, object] = getattr(source, section)
            for column, value in entries.items():
                key = f"{prefix}.{section}.{column}"
                if column == "patient_id":
                    bad(
                        key,
                        value,
                        f"{key} must not be set; got {value!r}. The patient id "
                        "always comes from id_field.",
                    )
                elif column not in spec:
                    close = difflib.get_close_matches(column, spec.column_names, n=1)
                    hint = f" Did you mean {close[0]}?" if close else ""
                    bad(
                        key,
                        value,
                        f"{column} must be a column of the {table} table; got {column!r}.{hint}",
                    )
                elif column in seen:
                    bad(
                        key,
                        value,
                        f"{column} must be set once per source; got it in "
                        f"{seen[column]} and {section}. Keep one.",
                    )
                else:
                    seen[column] = section
                    if section == "checkboxes" and spec[column].kind != "bool":
                        bad(
                            key,
                            value,
                            f"{key} must fill a true/false column; got {column}, "
                            f"a {spec[column].kind} column. Move it to {prefix}.columns.",
                        )
                if isinstance(value, str) and not value.strip():
                    bad(key, value, f"{key} must name a REDCap field; got ''.")
        for column, codes in source.values.items():
            key = f"{prefix}.values.{column}"
            if column not in source.columns:
                bad(
                    key,
                    None,
                    f"{key} must belong to a column mapped in {prefix}.columns; "
                    f"got none for {column}. Map it, or remove the value map.",
                )
            for code, value in codes.items():
                if not code.strip():
                    bad(
                        f"{key}.{code}",
                        value,
                        f"{key} codes must not be empty; got ''. "
                        "Empty REDCap values are read as missing anyway.",
                    )
        if source.instrument is not None and not source.instrument.strip():
            bad(
                f"{prefix}.instrument",
                "",
                f"{prefix}.instrument must be a REDCap instrument "
                "name; got ''. Leave it out for the non-repeating fields.",
            )
    if not problems and not mapping.tables:
        bad("tables", None, "tables must map at least the patients table; got none.")
    return problems


def read_redcap(
    path: Path, mapping: Path, *, max_cell_chars: int = MAX_CELL_CHARS
) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    r"""Read a REDCap flat export into raw canonical tables, with every problem found.

    Parameters
    ----------
    path
        The export: CSV, one row per record plus one per repeating-instrument instance,
        raw coded values (REDCap's "CSV / Microsoft Excel (raw data)").
    mapping
        TOML mapping file (see ``redcap_mapping_example.toml`` beside this module).

    Returns
    -------
    tables : dict of str to pandas.DataFrame
        Raw tables (text values) by canonical name, indexed by the 1-based export row each
        came from, ready for :func:`~msreboot.data._validate.prepare_tables` (pass the index
        as ``row_numbers``); a table the mapping does not mention is absent.
    problems : list of Problem
        Mapped fields missing from the export (with the closest field), unknown
        instruments, codes without a value-map entry, unreadable checkbox values and rows
        without a record id. ``table`` is the canonical table, ``row`` the 1-based data row
        of the export, ``column`` the canonical column; the message names the REDCap field.

    Raises
    ------
    FileNotFoundError
        The mapping file does not exist.
    DataValidationError
        The mapping file is not valid: every bad key is listed (``.problems``).

    Notes
    -----
    Rows of a repeating instrument are those whose ``redcap_repeat_instrument`` equals its
    name; non-repeating fields are read from rows where it is blank. A row gives a table
    row only when at least one of the source's mapped fields holds a value (constants do
    not count, an unchecked checkbox counts as empty): a patient without a death gets no
    deaths row, and a visit instrument can feed both edss and relapses. A table may list
    several sources (``[[tables.treatments]]``). Values are stripped; ``NA``, ``null`` and
    blanks are missing. An instrument that never occurs in the export (neither in
    ``redcap_repeat_instrument`` nor as a ``<instrument>_complete`` field) is an error when
    its name is close to one that does (a typo) and a warning otherwise (it may have no data
    yet). Row numbers in the problems of the later validation refer to the rows of each
    mapped table, not of the export.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "export.csv").write_text(
    ...     "record_id,redcap_repeat_instrument,redcap_repeat_instance,sex,ms_type,"
    ...     "edss_date,edss_score\n"
    ...     "1,,,2,1,,\n1,edss_assessment,1,,,2020-01-10,3.5\n"
    ...     "1,edss_assessment,2,,,2020-07-02,3.0\n2,,,1,9,,\n")
    >>> _ = (folder / "mapping.toml").write_text('''
    ... id_field = "record_id"
    ... [tables.patients.columns]
    ... sex = "sex"
    ... phenotype = "ms_type"
    ... [tables.patients.values.sex]
    ... "1" = "F"
    ... "2" = "M"
    ... [tables.patients.values.phenotype]
    ... "1" = "RRMS"
    ... "2" = "SPMS"
    ... [tables.edss]
    ... instrument = "edss_assessment"
    ... columns = { date = "edss_date", edss = "edss_score" }
    ... ''')
    >>> tables, problems = read_redcap(folder / "export.csv", folder / "mapping.toml")
    >>> tables["edss"]  # indexed by export row
      patient_id        date  edss
    2          1  2020-01-10   3.5
    3          1  2020-07-02   3.0
    >>> print(problems[0].describe())
    patients row 4 (patient 2) column phenotype: code '9' of REDCap field ms_type has no entry in
    [tables.patients.values.phenotype] (known codes: 1, 2); add one [value '9']
    """
    spec_mapping = load_mapping(Path(mapping))
    path = Path(path)
    problems: list[Problem] = []
    export = read_table_file(path, path.name, problems, max_cell_chars=max_cell_chars)
    if export is None:
        return {}, problems
    export.columns = [str(c).strip() for c in export.columns]
    export = export.apply(_clean)
    export.index = pd.RangeIndex(1, len(export) + 1)  # 1-based data rows of the export
    id_field = spec_mapping.id_field
    if id_field not in export.columns:
        problems.append(
            Problem.table_level(
                path.name, _missing_field_message("id_field", id_field, export), value=id_field
            )
        )
        return {}, problems
    instruments = _instruments(export)
    _check_stray_cells(export, id_field, spec_mapping, problems)
    tables: dict[str, list[pd.DataFrame]] = {}
    for table, prefix, source in spec_mapping.sources():
        frame = _read_source(path, export, id_field, table, prefix, source, instruments, problems)
        tables.setdefault(table, []).append(frame)
    # index = 1-based export rows, so later problems point at the export's rows
    out = {
        name: (pd.concat(parts) if len(parts) > 1 else parts[0]).sort_index(kind="stable")
        for name, parts in tables.items()
    }
    return out, problems


def _clean(column: pd.Series) -> pd.Series:
    text = column.astype(str).str.strip(CELL_BLANKS)
    return text.where(~text.str.lower().isin(NA_STRINGS))


def _instruments(export: pd.DataFrame) -> set[str]:
    if REPEAT_INSTRUMENT not in export.columns:
        return set()
    return {str(v) for v in export[REPEAT_INSTRUMENT].dropna().unique()}


def _missing_field_message(key: str, field: str, export: pd.DataFrame) -> str:
    fields = [str(c) for c in export.columns]
    close = difflib.get_close_matches(field, fields, n=1, cutoff=0.6)
    hint = (
        f" Did you mean {close[0]!r}?"
        if close
        else " Check the field name in the REDCap data dictionary."
    )
    return f"{key} must name a field of the export; got {field!r}, which is not in it.{hint}"


def _read_source(
    path: Path,
    export: pd.DataFrame,
    id_field: str,
    table: str,
    prefix: str,
    source: TableSource,
    instruments: set[str],
    problems: list[Problem],
) -> pd.DataFrame:
    rows = _source_rows(path, export, table, prefix, source, instruments, problems)
    ids = rows[id_field]
    fields = {**source.columns, **source.checkboxes}
    present: dict[str, str] = {}
    for column, field in fields.items():
        section = "checkboxes" if column in source.checkboxes else "columns"
        if field in export.columns:
            present[column] = field
        else:
            problems.append(
                Problem.table_level(
                    table,
                    _missing_field_message(f"{prefix}.{section}.{column}", field, export),
                    column=column,
                    value=field,
                )
            )
    if present:  # rows where no mapped field holds a value give no table row
        filled = pd.Series(False, index=rows.index)
        for column, field in present.items():
            values = rows[field]
            if column in source.checkboxes:
                values = values.where(~values.str.lower().isin(_UNCHECKED))
            filled |= values.notna()
        rows = rows[filled.to_numpy()]
        ids = ids[filled.to_numpy()]
    no_id = ids.isna().to_numpy()
    for row in rows.index[no_id]:
        problems.append(
            Problem(
                table,
                int(row),
                None,
                "patient_id",
                None,
                f"{id_field} must be filled on every row; got an empty record id on a "
                f"{source.instrument or 'non-repeating'} row. Fill it or delete the row.",
            )
        )
    rows, ids = rows[~no_id], ids[~no_id]
    out: dict[str, pd.Series] = {"patient_id": ids}
    for column, field in present.items():
        values = rows[field]
        if column in source.checkboxes:
            out[column] = _checkbox(table, column, field, values, ids, problems)
        elif column in source.values:
            codes = {k.strip(): _text(v) for k, v in source.values[column].items()}
            out[column] = _decode(
                table, column, field, f"{prefix}.values.{column}", codes, values, ids, problems
            )
        else:
            out[column] = values
    for column, value in source.constants.items():
        out[column] = pd.Series(_text(value), index=rows.index, dtype=object)
    return pd.DataFrame(out, index=rows.index)


def _check_stray_cells(
    export: pd.DataFrame, id_field: str, mapping: RedcapMapping, problems: list[Problem]
) -> None:
    """Mapped fields filled on a row of another instrument: an error each row.

    REDCap exports a repeating instrument's fields only on that instrument's rows and the
    non-repeating fields only on the record's row (blank ``redcap_repeat_instrument``); a
    value anywhere else was typed into the file afterwards and would be dropped without a
    word, since rows are chosen by instrument.
    """
    if REPEAT_INSTRUMENT not in export.columns:
        return
    owners: dict[str, tuple[str, set[str | None], bool]] = {}
    for table, _, source in mapping.sources():
        name = None if source.instrument is None else source.instrument.strip()
        for column, field in {**source.columns, **source.checkboxes}.items():
            if field not in export.columns:
                continue
            first_table, allowed, checkbox = owners.get(field, (table, set(), False))
            owners[field] = (first_table, allowed | {name}, checkbox or column in source.checkboxes)
    if not owners:
        return
    repeat = export[REPEAT_INSTRUMENT]
    present = set(repeat.dropna().unique())
    stray = pd.DataFrame(index=export.index)
    for field, (_, allowed, checkbox) in owners.items():
        if not {a for a in allowed if a is not None} <= present:
            continue  # an instrument with no rows is reported by _source_rows
        values = export[field]
        filled = values.notna()
        if checkbox:
            filled &= ~values.astype("string").str.lower().isin(_UNCHECKED).fillna(False)
        named = {a for a in allowed if a is not None}
        elsewhere = ~(repeat.isin(named) | (repeat.isna() if None in allowed else False))
        stray[field] = (filled & elsewhere).to_numpy()
    for row in stray.index[stray.any(axis=1).to_numpy()]:
        fields = [f for f in stray.columns if bool(stray.at[row, f])]
        record = export.at[row, id_field] if id_field in export.columns else None
        instrument = repeat.at[row]
        where = (
            "the non-repeating row (blank redcap_repeat_instrument)"
            if is_missing(instrument)
            else f"a row of the repeating instrument {instrument!r}"
        )
        belongs = sorted(
            {
                "the non-repeating row" if a is None else repr(a)
                for f in fields
                for a in owners[f][1]
            }
        )
        problems.append(
            Problem(
                owners[fields[0]][0],
                int(row),
                None if is_missing(record) else str(record),
                None,
                ", ".join(fields),
                f"field(s) {', '.join(fields)} belong to {', '.join(belongs)} but hold values on "
                f"{where}; REDCap never exports them there, and they would be dropped. Move the "
                "values to a row of their own instrument, or clear the fields",
            )
        )


def _source_rows(
    path: Path,
    export: pd.DataFrame,
    table: str,
    prefix: str,
    source: TableSource,
    instruments: set[str],
    problems: list[Problem],
) -> pd.DataFrame:
    repeat = (
        export[REPEAT_INSTRUMENT]
        if REPEAT_INSTRUMENT in export.columns
        else pd.Series(None, index=export.index, dtype=object)
    )
    if source.instrument is None:
        keep = repeat.isna()
    else:
        name = source.instrument.strip()
        keep = repeat == name
        known = instruments | {
            c.removesuffix("_complete") for c in export.columns if c.endswith("_complete")
        }
        if name not in known:
            close = difflib.get_close_matches(name, sorted(instruments), n=1, cutoff=0.6)
            if close:
                message = (
                    f"{prefix}.instrument must name a repeating instrument of the "
                    f"export; got {name!r}. Did you mean {close[0]!r}?"
                )
            else:
                message = (
                    f"{prefix}.instrument {name!r} has no rows in the export "
                    f"(repeating instruments present: "
                    f"{', '.join(sorted(instruments)) or 'none'}); the {table} table "
                    "gets no rows from it. Check the name if that is wrong."
                )
            problems.append(
                Problem.table_level(
                    table, message, value=name, severity="error" if close else "warning"
                )
            )
    if source.events is not None:
        if EVENT_NAME not in export.columns:
            problems.append(
                Problem.table_level(
                    table,
                    f"{prefix}.events must only be set for a longitudinal export; got "
                    f"{source.events} but {path.name} has no {EVENT_NAME} column. Remove it.",
                )
            )
        else:
            events = export[EVENT_NAME]
            unknown = sorted(set(source.events) - set(events.dropna()))
            for event in unknown:
                close = difflib.get_close_matches(event, sorted(set(events.dropna())), n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                problems.append(
                    Problem.table_level(
                        table,
                        f"{prefix}.events must name events of the export; got {event!r}, which "
                        f"has no rows.{hint}",
                        value=event,
                        severity="error" if close else "warning",
                    )
                )
            keep &= events.isin(source.events)
    return export[keep.fillna(False).astype(bool).to_numpy()]


def _text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _decode(
    table: str,
    column: str,
    field: str,
    key: str,
    codes: Mapping[str, str],
    values: pd.Series,
    ids: pd.Series,
    problems: list[Problem],
) -> pd.Series:
    decoded = values.map(codes)
    unknown = values.notna() & decoded.isna()
    known = ", ".join(codes)
    for row in values.index[unknown.to_numpy()]:
        code = str(values[row])
        problems.append(
            Problem(
                table,
                int(row),
                str(ids[row]),
                column,
                code,
                f"code {code!r} of REDCap field {field} has no entry in [{key}] "
                f"(known codes: {known}); add one",
            )
        )
    return decoded.where(~unknown)


def _checkbox(
    table: str,
    column: str,
    field: str,
    values: pd.Series,
    ids: pd.Series,
    problems: list[Problem],
) -> pd.Series:
    lowered = values.str.lower()
    out = pd.Series(None, index=values.index, dtype=object)
    out[lowered.isin(_CHECKED).to_numpy()] = "true"
    out[lowered.isin(_UNCHECKED).to_numpy()] = "false"
    bad = values.notna() & out.isna()
    for row in values.index[bad.to_numpy()]:
        problems.append(
            Problem(
                table,
                int(row),
                str(ids[row]),
                column,
                str(values[row]),
                f"checkbox field {field} must be 1 or 0 (Checked / Unchecked); got "
                f"{values[row]!r}. Export raw data, or map the field under columns instead.",
            )
        )
    return out
