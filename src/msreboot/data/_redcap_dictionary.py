"""Propose a REDCap mapping (TOML) from a project's data dictionary.

A REDCap data dictionary (Project Setup > Data Dictionary > Download, or the API's metadata
export) lists every field with its form, type, label, choices and validation. From it
:func:`mapping_from_dictionary` writes a draft of the mapping :func:`read_redcap` reads:
fields matched to canonical columns by name, label and type, choices turned into value maps
where the canonical vocabulary is known, forms turned into repeating instruments, with a
comment on every guess and the list of fields it could not place. The draft is meant to be
read and edited, not trusted.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import pandas as pd

from msreboot.data._redcap_vocabulary import (
    COLUMN_PHRASES,
    FORM_PHRASES,
    GENERIC_WORDS,
    STOPWORDS,
    TOKEN_SYNONYMS,
    VALUE_PHRASES,
)
from msreboot.data._schema import SCHEMA, ColumnSpec, TreatmentKind

__all__ = ["DictionaryField", "RedcapMappingDraft", "mapping_from_dictionary"]

_HEADERS: Mapping[str, tuple[str, ...]] = {
    "field": ("variable / field name", "field_name", "variable", "field name"),
    "form": ("form name", "form_name"),
    "type": ("field type", "field_type"),
    "label": ("field label", "field_label"),
    "choices": (
        "choices, calculations, or slider labels",
        "select_choices_or_calculations",
        "choices",
    ),
    "validation": (
        "text validation type or show slider number",
        "text_validation_type_or_show_slider_number",
        "text validation type",
    ),
}
_REQUIRED = ("field", "form", "type")
_SKIPPED_TYPES = frozenset({"descriptive", "file", "signature", "sql"})
_REPEATING_NOT = frozenset({"patients", "deaths"})

Section = Literal["id", "columns", "checkboxes"]
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class DictionaryField:
    """One field of the data dictionary and where the draft put it.

    Attributes
    ----------
    field, form, field_type, label, validation
        As in the dictionary (the label without HTML tags).
    table, column
        The canonical table and column proposed, or ``None`` when the field is unmatched.
    section
        ``"id"`` (the record id), ``"columns"``, ``"checkboxes"`` (one choice of a checkbox
        field, ``field___code``), or ``None``.
    export_field
        The column of the export it is read from (``ae_flags___1`` for a checkbox choice).
    note
        Why the field was matched, or why not.
    """

    field: str
    form: str
    field_type: str
    label: str
    validation: str
    table: str | None
    column: str | None
    section: Section | None
    export_field: str | None
    note: str


@dataclass(frozen=True, slots=True)
class RedcapMappingDraft:
    """A proposed REDCap mapping: the TOML text and the fate of every field.

    Attributes
    ----------
    text
        The mapping file, commented, ready for :func:`~msreboot.data.read_redcap` once checked.
    id_field
        The record-id field (the dictionary's first field).
    fields
        Every field of the dictionary, matched or not, in dictionary order.
    """

    text: str
    id_field: str
    fields: tuple[DictionaryField, ...]

    @property
    def unmatched(self) -> tuple[DictionaryField, ...]:
        """Fields the draft does not read (left for the user to place or ignore)."""
        return tuple(f for f in self.fields if f.section is None)

    def to_frame(self) -> pd.DataFrame:
        """One row per dictionary field: where it went and why."""
        return pd.DataFrame(
            [
                {
                    "field": f.field,
                    "form": f.form,
                    "field_type": f.field_type,
                    "label": f.label,
                    "table": f.table,
                    "column": f.column,
                    "section": f.section,
                    "export_field": f.export_field,
                    "note": f.note,
                }
                for f in self.fields
            ]
        )

    def summary(self) -> str:
        """Counts, then the unmatched fields (text)."""
        matched = [f for f in self.fields if f.section in ("columns", "checkboxes")]
        lines = [
            f"REDCap mapping draft: {len(matched)} field(s) matched to canonical columns, "
            f"{len(self.unmatched)} unmatched, record id {self.id_field!r}; check every "
            "GUESS comment before use",
        ]
        lines += [
            f"  unmatched: {f.field} ({f.form}, {f.field_type}): {f.note}" for f in self.unmatched
        ]
        return "\n".join(lines)

    def write(self, path: Path) -> Path:
        """Write :attr:`text` to ``path`` (atomically) and return the path."""
        from msreboot.data._atomic import atomic_write_text

        atomic_write_text(Path(path), self.text)
        return Path(path)


# --- reading the dictionary -------------------------------------------------------------------


def _read_dictionary(source: Path | pd.DataFrame) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        frame = source.astype(str).fillna("")
        name = "<frame>"
    else:
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(
                f"REDCap data dictionary must be an existing CSV file; got {path}. Download it "
                "from Project Setup > Data Dictionary."
            )
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig", skipinitialspace=False
        )
        name = path.name
    lowered = {str(c).strip().lower(): str(c) for c in frame.columns}
    columns: dict[str, str] = {}
    for key, names in _HEADERS.items():
        for candidate in names:
            if candidate in lowered:
                columns[key] = lowered[candidate]
                break
    missing = [k for k in _REQUIRED if k not in columns]
    if missing:
        wanted = ", ".join(repr(_HEADERS[k][0].title()) for k in missing)
        raise ValueError(
            f"REDCap data dictionary must have the columns {wanted}; got {name} with "
            f"{', '.join(map(str, frame.columns)) or 'no columns'}. Download the data "
            "dictionary itself (Project Setup > Data Dictionary), not a data export."
        )
    out = pd.DataFrame({k: frame[c].astype(str).str.strip() for k, c in columns.items()})
    for key in _HEADERS:
        if key not in out:
            out[key] = ""
    out = out[out["field"] != ""].reset_index(drop=True)
    if out.empty:
        raise ValueError(f"REDCap data dictionary must list fields; got none in {name}.")
    return out


def _label_text(label: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]*>", " ", label))).strip()


def _tokens(text: str) -> frozenset[str]:
    words: set[str] = set()
    for word in re.split(r"[^0-9a-z]+", text.lower()):
        if not word or word in STOPWORDS:
            continue
        words.update(TOKEN_SYNONYMS.get(word, word).split("_"))
    return frozenset(words)


def _choices(text: str) -> list[tuple[str, str]]:
    """``"1, Female | 2, Male"`` as ``[("1", "Female"), ("2", "Male")]``."""
    out = []
    for part in text.split("|"):
        code, sep, label = part.partition(",")
        if sep and code.strip():
            out.append((code.strip(), _label_text(label)))
    return out


# --- matching ---------------------------------------------------------------------------------


def _form_table(form: str) -> tuple[str, TreatmentKind | None] | None:
    words = _tokens(form.replace("_", " "))
    for word, key in FORM_PHRASES:
        if word in words:
            return key
    return None


_NUMBER_VALIDATIONS = frozenset(
    {"", "integer", "number", "number_1dp", "number_2dp", "number_comma_decimal"}
    | {"number_1dp_comma_decimal", "number_2dp_comma_decimal"}
)


def _compatible(spec: ColumnSpec, field_type: str, validation: str) -> bool:
    """Whether a field of this REDCap type and validation can fill the column."""
    if validation.startswith(("date", "datetime")):
        return spec.kind == "date"
    if spec.kind == "date" or field_type == "checkbox":
        return False
    if spec.kind == "bool":
        return field_type in ("yesno", "truefalse", "radio", "dropdown")
    if spec.kind in ("int", "float"):
        if field_type in ("calc", "slider", "radio", "dropdown"):
            return True
        return field_type == "text" and validation in _NUMBER_VALIDATIONS
    if spec.kind == "text":
        return field_type in ("notes", "text")
    return field_type in ("text", "radio", "dropdown")  # category and label


def _score(words: frozenset[str], phrases: Iterable[frozenset[str]]) -> float:
    """How many of ``words`` the matching phrases cover (generic words count half)."""
    covered: set[str] = set()
    for phrase in phrases:
        if phrase <= words:
            covered |= phrase
    return sum(0.5 if w in GENERIC_WORDS else 1.0 for w in covered)


def _columns_for(table: str, kind: TreatmentKind | None) -> list[ColumnSpec]:
    spec = SCHEMA[table]
    return [
        c
        for c in spec.columns
        if c.name not in ("patient_id", "kind")
        and (kind is None or c.treatment_kinds is None or kind in c.treatment_kinds)
    ]


_Key = tuple[str, str | None, TreatmentKind | None]
_Candidate = tuple[float, int, str, str, str, _Key]  # score, -row, column, field, note, source


@dataclass
class _Source:
    table: str
    instrument: str | None
    kind: TreatmentKind | None
    forms: list[str]
    columns: dict[str, tuple[str, str]]  # column -> (export field, note)
    checkboxes: dict[str, tuple[str, str]]
    values: dict[str, list[str]]  # column -> TOML lines of its value map


def mapping_from_dictionary(dictionary: Path | pd.DataFrame) -> RedcapMappingDraft:
    """Propose a REDCap mapping file from a project's data dictionary.

    Parameters
    ----------
    dictionary
        The data dictionary as downloaded (CSV with REDCap's headers, ``Variable / Field
        Name``, ``Form Name``, ``Field Type``, ``Field Label``, ``Choices, Calculations, OR
        Slider Labels``, ``Text Validation Type OR Show Slider Number``; the API's
        ``field_name``, ``form_name``... also work), or that table as a DataFrame.

    Returns
    -------
    RedcapMappingDraft
        The TOML text (write it with ``.write(path)``), the record-id field and, per field,
        where it went and why (``.to_frame()``, ``.unmatched``).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        The file lacks the dictionary's columns or lists no fields.

    Notes
    -----
    - The record id is the dictionary's first field, as in every REDCap project.
    - Each form is given a table from the words of its name (``transplant`` -> AHSCT
      courses, ``dmt`` or ``therapy`` -> DMT courses, ``edss``, ``relapse``, ``mri``,
      ``adverse``, ``death``, ``demographics``...); a form whose name says nothing goes
      where most of its fields point. Forms of the patients and deaths tables are read from
      the record's non-repeating row; every other form is taken to be a repeating
      instrument (the data dictionary does not say which instruments repeat: check
      Project Setup > Repeating instruments and events).
    - A field goes to the column whose phrases (see ``_redcap_vocabulary.py``) cover most of
      the words of its name and label, among the columns whose type fits: a date-validated
      field only to a date column and back, ``yesno`` / ``truefalse`` to true/false columns,
      ``notes`` to free text, numbers to numeric columns. Each column takes one field, the
      best; the others are listed as unmatched with the reason.
    - Choices of radio and dropdown fields become ``[values]`` maps: codes whose label
      matches a canonical code (by its words, or a known synonym or brand name) are mapped;
      the others are written commented out, to be completed. Checkbox choices whose label
      names a true/false column (``serious``) become ``[checkboxes]`` entries
      (``field___code``).
    - Dates need no format: REDCap's raw export writes YYYY-MM-DD whatever the field's
      display format (``date_dmy``).

    Examples
    --------
    >>> import pandas as pd
    >>> dictionary = pd.DataFrame({
    ...     "Variable / Field Name": ["study_id", "gender", "dob", "visit_dt", "edss_total"],
    ...     "Form Name": ["enrolment", "enrolment", "enrolment", "neuro_visit", "neuro_visit"],
    ...     "Field Type": ["text", "radio", "text", "text", "text"],
    ...     "Field Label": ["Study ID", "Gender", "Date of birth", "Visit date", "EDSS"],
    ...     "Choices, Calculations, OR Slider Labels": ["", "1, Male | 2, Female", "", "", ""],
    ...     "Text Validation Type OR Show Slider Number": ["", "", "date_dmy", "date_ymd",
    ...                                                    "number"],
    ... })
    >>> draft = mapping_from_dictionary(dictionary)
    >>> print(draft.to_frame()[["field", "table", "column"]].to_string(index=False))
         field    table     column
      study_id     None       None
        gender patients        sex
           dob patients birth_date
      visit_dt     edss       date
    edss_total     edss       edss
    """
    frame = _read_dictionary(dictionary)
    rows: list[dict[str, str]] = [
        {str(k): str(v) for k, v in record.items()} for record in frame.to_dict("records")
    ]
    id_field = str(rows[0]["field"])
    forms = list(dict.fromkeys(str(r["form"]) for r in rows))
    form_keys = {form: _guess_form(form, [r for r in rows if r["form"] == form]) for form in forms}
    sources: dict[_Key, _Source] = {}
    candidates: list[_Candidate] = []
    notes: dict[int, str] = {}
    placed: dict[int, tuple[str, str, Section, str]] = {}
    for i, row in enumerate(rows):
        field_type = str(row["type"]).lower()
        if i == 0:
            placed[i] = ("patients", "patient_id", "id", id_field)
            continue
        if field_type in _SKIPPED_TYPES:
            notes[i] = f"a {field_type} field holds no data to import"
            continue
        table, kind, how = form_keys[str(row["form"])]
        if table is None:
            notes[i] = f"form {row['form']!r} matched no table ({how})"
            continue
        tables = [table]
        if table in _REPEATING_NOT:  # the record's row may hold patients and deaths fields
            tables += [t for t in _REPEATING_NOT if t != table]
        found_any = False
        for target in tables:
            instrument = None if target in _REPEATING_NOT else str(row["form"])
            key: _Key = (target, instrument, kind if target == table else None)
            found = _field_candidates(row, target, key[2])
            if target == table or found:
                sources.setdefault(key, _Source(target, instrument, key[2], [], {}, {}, {}))
            for score, column, export_field, note in found:
                candidates.append((score, -i, column, export_field, note, key))
            found_any = found_any or bool(found)
        if not found_any:
            notes[i] = (
                "no choice of this checkbox field names a true/false column"
                if field_type == "checkbox"
                else f"no column of the {table} table fits its name, label and type"
            )
    # each column takes its best field; ties go to the earlier field
    taken: dict[tuple[_Key, str], int] = {}
    used: set[str] = set()
    for _, neg_i, column, export_field, note, key in sorted(
        candidates, key=lambda c: (c[0], c[1]), reverse=True
    ):
        i = -neg_i
        checkbox = str(rows[i]["type"]).lower() == "checkbox"
        if (key, column) in taken or export_field in used or (i in placed and not checkbox):
            continue
        taken[(key, column)] = i
        used.add(export_field)
        source = sources[key]
        if rows[i]["form"] not in source.forms:
            source.forms.append(rows[i]["form"])
        section: Section = "checkboxes" if checkbox else "columns"
        getattr(source, section)[column] = (export_field, note)
        placed.setdefault(i, (key[0], column, section, export_field))
        if section == "columns":
            values = _value_map(SCHEMA[key[0]][column], rows[i])
            if values:
                source.values[column] = values
    fields: list[DictionaryField] = []
    for i, row in enumerate(rows):
        where = placed.get(i)
        if where is None:
            note = notes.get(i) or _lost_note(i, rows, candidates, taken)
        elif where[2] == "id":
            note = "the first field of the dictionary: the record id"
        else:
            note = "matched"
        fields.append(
            DictionaryField(
                field=str(row["field"]),
                form=str(row["form"]),
                field_type=str(row["type"]),
                label=_label_text(str(row["label"])),
                validation=str(row["validation"]),
                table=None if where is None or where[2] == "id" else where[0],
                column=None if where is None or where[2] == "id" else where[1],
                section=None if where is None else where[2],
                export_field=None if where is None else where[3],
                note=note,
            )
        )
    text = _render(id_field, sources, form_keys, fields)
    return RedcapMappingDraft(text=text, id_field=id_field, fields=tuple(fields))


def _guess_form(
    form: str, rows: Sequence[Mapping[str, str]]
) -> tuple[str | None, TreatmentKind | None, str]:
    key = _form_table(form)
    if key is not None:
        return key[0], key[1], "from the words of the form name"
    votes: dict[str, int] = {}
    for row in rows:
        for table in SCHEMA:
            if _field_candidates(row, table, None):
                votes[table] = votes.get(table, 0) + 1
    if not votes:
        return None, None, "neither its name nor its fields point at a table"
    table = max(votes, key=lambda t: (votes[t], -list(SCHEMA).index(t)))
    kind: TreatmentKind | None = "dmt" if table == "treatments" else None
    return table, kind, f"most of its fields point at {table}"


def _field_candidates(
    row: Mapping[str, str], table: str, kind: TreatmentKind | None
) -> list[tuple[float, str, str, str]]:
    """``(score, column, export field, note)`` for every column the field could fill."""
    field, field_type = str(row["field"]), str(row["type"]).lower()
    validation = str(row["validation"]).lower()
    label = _label_text(str(row["label"]))
    words = _tokens(field.replace("_", " ")) | _tokens(label)
    phrases = COLUMN_PHRASES[table]
    out = []
    if field_type == "checkbox":
        for code, choice in _choices(str(row["choices"])):
            choice_words = _tokens(choice)
            for spec in _columns_for(table, kind):
                if spec.kind != "bool":
                    continue
                score = _score(choice_words, phrases.get(spec.name, ()))
                if score:
                    export = f"{field}___{code.lower()}"
                    note = (
                        f"GUESS: checkbox choice {code} ({choice!r}) of {field} read as {spec.name}"
                    )
                    out.append((score, spec.name, export, note))
        return out
    for spec in _columns_for(table, kind):
        if not _compatible(spec, field_type, validation):
            continue
        exact = field.lower() == spec.name
        score = 100 if exact else _score(words, phrases.get(spec.name, ()))
        if score:
            how = "its name is the canonical name" if exact else f"GUESS from {label or field!r}"
            if validation.startswith("date"):
                how += f" (validated {validation}; the raw export writes YYYY-MM-DD)"
            out.append((score, spec.name, field, how))
    return out


def _lost_note(
    i: int,
    rows: Sequence[Mapping[str, str]],
    candidates: Sequence[_Candidate],
    taken: Mapping[tuple[_Key, str], int],
) -> str:
    lost = [c for c in candidates if -c[1] == i]
    if not lost:
        return "no column fits its name, label and type"
    best = max(lost, key=lambda c: c[0])
    winner = taken.get((best[5], best[2]))
    by = f" by {rows[winner]['field']}" if winner is not None else ""
    return f"could be {best[2]}, but that column was taken{by}; map it by hand if needed"


# --- value maps -------------------------------------------------------------------------------


def _value_map(spec: ColumnSpec, row: Mapping[str, str]) -> list[str]:
    choices = _choices(str(row["choices"]))
    if not choices or str(row["type"]).lower() not in ("radio", "dropdown"):
        return []
    lines = []
    for code, label in choices:
        value, why = _choice_value(spec, label)
        key = json.dumps(code, ensure_ascii=False)
        if value is None:
            lines.append(f"# {key} = ?  # {label!r}: {why}; complete or leave the code unmapped")
        else:
            lines.append(f"{key} = {_toml_value(value)}  # {label!r}{why}")
    return lines


def _choice_value(spec: ColumnSpec, label: str) -> tuple[object | None, str]:
    words = _tokens(label)
    if spec.kind == "bool":
        if words & {"yes", "true", "y", "positive"}:
            return True, ""
        if words & {"no", "false", "n", "negative"}:
            return False, ""
        return None, "neither yes nor no"
    if spec.kind in ("int", "float"):
        number = re.search(r"-?\d+(?:\.\d+)?", label)
        if number is None:
            return None, "holds no number"
        value = float(number.group())
        return (int(value) if spec.kind == "int" and value.is_integer() else value), ""
    if spec.kind != "category" or spec.allowed is None:
        return label, " (GUESS: the label as the value)"
    synonyms = VALUE_PHRASES.get(spec.name, {})
    best: tuple[float, int, str] | None = None
    for code in spec.allowed:
        code_words = frozenset(_tokens(code.replace("_", " ")))
        score = _score(words, (code_words, *synonyms.get(code, ())))
        if score and (code_words <= words or _score(words, synonyms.get(code, ()))):
            candidate = (score, len(code_words), code)
            if best is None or candidate[:2] > best[:2]:
                best = candidate
    if best is None:
        return None, f"no canonical value of {spec.name} matched (one of {', '.join(spec.allowed)})"
    return best[2], "" if best[2].lower() == label.lower() else " (GUESS)"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


# --- rendering --------------------------------------------------------------------------------


def _in_order(table: str, entries: Mapping[str, _T]) -> list[tuple[str, _T]]:
    order = SCHEMA[table].column_names
    return sorted(entries.items(), key=lambda item: order.index(item[0]))


def _render(
    id_field: str,
    sources: Mapping[_Key, _Source],
    form_keys: Mapping[str, tuple[str | None, TreatmentKind | None, str]],
    fields: Sequence[DictionaryField],
) -> str:
    q = _toml_value
    lines = [
        "# REDCap mapping DRAFT proposed by msreboot from a data dictionary.",
        "# Every line marked GUESS is a guess: check it, and check the repeating instruments",
        "# (the data dictionary does not say which instruments repeat). Options are described in",
        "# msreboot/data/redcap_mapping_example.toml; see docs/how-to/redcap.md.",
        "",
        f"id_field = {q(id_field)}  # the first field of the dictionary",
    ]
    by_table: dict[str, list[_Source]] = {}
    for source in sources.values():
        if source.columns or source.checkboxes:
            by_table.setdefault(source.table, []).append(source)
    for table in SCHEMA:
        group = by_table.get(table, [])
        for source in group:
            header = f"[[tables.{table}]]" if len(group) > 1 else f"[tables.{table}]"
            forms = ", ".join(f"{f!r} ({form_keys[f][2]})" for f in source.forms)
            lines += ["", f"# form(s) {forms}", header]
            if source.instrument is not None:
                lines.append(
                    f"instrument = {q(source.instrument)}  # GUESS: a repeating instrument"
                )
            else:
                lines.append("# no instrument: the record's non-repeating row")
            if source.kind is not None:
                lines.append(
                    f"constants = {{ kind = {q(source.kind)} }}  # GUESS from the form name"
                )
            for section in ("columns", "checkboxes"):
                entries: dict[str, tuple[str, str]] = getattr(source, section)
                if not entries:
                    continue
                lines += ["", f"[tables.{table}.{section}]"]
                lines += [f"{c} = {q(f)}  # {note}" for c, (f, note) in _in_order(table, entries)]
            for column, value_lines in _in_order(table, source.values):
                lines += ["", f"[tables.{table}.values.{column}]", *value_lines]
    unmatched = [f for f in fields if f.section is None]
    lines += ["", f"# Unmatched fields ({len(unmatched)}): not imported unless mapped by hand"]
    lines += [
        f"#   {f.field} (form {f.form}, {f.field_type}, {f.label!r}): {f.note}" for f in unmatched
    ]
    return "\n".join(lines) + "\n"
