"""An audit of a de-identified copy: whether any id, original date or free text remains."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from msreboot.data._cohort import Cohort
from msreboot.data._deidentify import _check_key, _pseudonym
from msreboot.data._files import TABLE_SUFFIXES, read_folder, read_table_file, read_workbook
from msreboot.data._schema import SCHEMA
from msreboot.data._vocabulary import Vocabulary
from msreboot.exceptions import Problem

__all__ = ["FINDING_COLUMNS", "DeidentificationAudit", "check_deidentified"]

FINDING_COLUMNS: tuple[str, ...] = ("kind", "file", "column", "row", "value")

_PSEUDONYM = re.compile(r"P[0-9A-F]{16}")
_EPOCH = dt.date(1899, 12, 30)  # Excel's day 0: calendar dates and serials share one axis
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class DeidentificationAudit:
    """What :func:`check_deidentified` found in a folder.

    Attributes
    ----------
    folder
        The folder checked.
    findings
        One row per finding: ``kind`` (``original id``, ``original date``, ``free text``,
        ``label``, ``not a pseudonym``, ``unexpected file``), ``file``, ``column``, ``row``
        (1-based data row, 0 for the file itself) and ``value``.
    files
        The table files scanned.
    """

    folder: str
    findings: pd.DataFrame
    files: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return self.findings.empty

    def to_frame(self) -> pd.DataFrame:
        """The findings, one per row."""
        return self.findings.copy()

    def summary(self, shown: int = 20) -> str:
        """Counts by kind, then the first ``shown`` findings (text)."""
        if self.ok:
            return (
                f"checked {self.folder} ({len(self.files)} files): no original id, original "
                "date, free text or label found"
            )
        counts = Counter(self.findings["kind"])
        lines = [
            f"checked {self.folder} ({len(self.files)} files): {len(self.findings)} finding(s): "
            + ", ".join(f"{kind} {n}" for kind, n in counts.items())
        ]
        for r in self.findings.head(shown).itertuples(index=False):
            lines.append(f"  {r.kind}: {r.file} row {r.row} {r.column} = {r.value!r}")
        if len(self.findings) > shown:
            lines.append(f"  ... and {len(self.findings) - shown} more")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"


def _day_key(value: object) -> int | None:
    """A date in any form as days from 1899-12-30 (ISO, YYYYMMDD, serial or day number)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):  # type: ignore[call-overload]
        return None
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return (value.date() - _EPOCH).days
    if isinstance(value, dt.date):
        return (value - _EPOCH).days
    text = str(value).strip()
    if _ISO.match(text):
        try:
            return (dt.date.fromisoformat(text[:10]) - _EPOCH).days
        except ValueError:
            return None
    try:
        number = float(text)
    except ValueError:
        return None
    if not number.is_integer():
        return None
    whole = int(number)
    if 19000101 <= whole <= 21001231:
        try:
            return (dt.datetime.strptime(str(whole), "%Y%m%d").date() - _EPOCH).days
        except ValueError:
            return whole
    return whole


def _text(value: object) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):  # type: ignore[call-overload]
        return None
    text = str(value).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    return text or None


def _column(frame: pd.DataFrame, name: str) -> str | None:
    keys = {re.sub(r"[^0-9a-z]+", "_", str(c).strip().lower()).strip("_"): c for c in frame}
    found = keys.get(name)
    return None if found is None else str(found)


def _tables_of(source: str | Path | Cohort) -> dict[str, pd.DataFrame]:
    if isinstance(source, Cohort):
        return dict(source.tables)
    path = Path(source)
    if path.is_dir():
        raw, _ = read_folder(path)
        return raw
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raw, _ = read_workbook(path)
        return raw
    raise ValueError(
        f"original must be a cohort folder, an Excel workbook or a Cohort; got {path}. "
        "Pass the folder that was de-identified."
    )


def _patient_dates(tables: Mapping[str, pd.DataFrame]) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for name, frame in tables.items():
        spec = SCHEMA.get(name)
        pid = _column(frame, "patient_id")
        if spec is None or pid is None:
            continue
        for col in spec.date_columns:
            found = _column(frame, col)
            if found is None:
                continue
            for p, v in zip(frame[pid], frame[found], strict=True):
                key, text = _day_key(v), _text(p)
                if key is not None and text is not None:
                    out.setdefault(text, set()).add(key)
    return out


def _files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() or path.is_symlink():
            yield path


def check_deidentified(
    folder: str | Path,
    original: str | Path | Cohort | None = None,
    *,
    vocabulary: Vocabulary | None = None,
    key: bytes | None = None,
) -> DeidentificationAudit:
    """Scan a de-identified copy for identifiers: original ids, original dates, free text.

    Parameters
    ----------
    folder
        The de-identified copy (a folder of table files, as ``msreboot deidentify`` writes).
    original
        The cohort it was made from (folder, workbook or :class:`Cohort`): its patient ids
        and dates are searched for. ``None``: only free text, labels, ids that are not
        pseudonyms and stray files are checked.
    vocabulary
        The vocabulary the copy was made with: label values it allows are not findings.
    key
        The secret key: links each pseudonym to its original patient exactly. Without it
        a copied patient is recognised by sharing at least half (and at least 2) of its
        distinct dates with one original patient.

    Returns
    -------
    DeidentificationAudit
        ``.ok`` is true when nothing was found; ``.findings`` lists each finding.

    Raises
    ------
    ValueError
        ``folder`` is not a folder, or ``original`` is not a cohort folder or workbook.

    Notes
    -----
    Dates are compared in any form (ISO 8601, YYYYMMDD, Excel serials, day numbers) as
    days from 1899-12-30. Every cell of every file is compared with the original ids
    (exact text after trimming spaces). Files that are not cohort tables (a key, a
    mapping, a leftover) are findings: the copy should hold nothing else.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from msreboot.data import deidentify, write_cohort
    >>> from msreboot.datasets import example_path, load_example
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "shared"
    >>> deid = deidentify(load_example(), b"an example key, not a secret one")
    >>> _ = write_cohort(deid.cohort, out)
    >>> check_deidentified(out, original=example_path()).ok
    True
    >>> check_deidentified(example_path(), original=example_path()).ok
    False
    """
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"folder must be an existing folder; got {root}.")
    rows: list[tuple[str, str, str, int, str]] = []
    tables: dict[str, pd.DataFrame] = {}
    files: list[str] = []
    names: dict[str, str] = {}
    for path in _files(root):
        rel = path.relative_to(root).as_posix()
        name = re.sub(r"[^0-9a-z]+", "_", path.stem.strip().lower()).strip("_")
        if path.parent != root or path.suffix.lower() not in TABLE_SUFFIXES or name not in SCHEMA:
            rows.append(("unexpected file", rel, "", 0, path.name))
            continue
        problems: list[Problem] = []
        frame = read_table_file(path, name, problems)
        if frame is None:
            rows.append(("unexpected file", rel, "", 0, "not readable as a table"))
            continue
        tables[name] = frame
        names[name] = rel
        files.append(rel)
        rows += _scan_table(name, rel, frame, vocabulary)
    if original is not None:
        rows += _scan_original(tables, names, _tables_of(original), key)
    findings = pd.DataFrame(rows, columns=list(FINDING_COLUMNS))
    return DeidentificationAudit(str(root), findings, tuple(files))


def _scan_table(
    name: str, rel: str, frame: pd.DataFrame, vocabulary: Vocabulary | None
) -> list[tuple[str, str, str, int, str]]:
    rows: list[tuple[str, str, str, int, str]] = []
    allowed = {c: set(m.values()) for c, m in (vocabulary or {}).items()}
    kinds = {c.name: c.kind for c in SCHEMA[name].columns}
    for column in frame.columns:
        key = re.sub(r"[^0-9a-z]+", "_", str(column).strip().lower()).strip("_")
        kind = kinds.get(key)
        for i, value in enumerate(frame[column], start=1):
            text = _text(value)
            if text is None:
                continue
            if kind == "text":
                rows.append(("free text", rel, key, i, text))
            elif kind == "label" and text not in allowed.get(key, set()):
                rows.append(("label", rel, key, i, text))
            elif kind == "id" and not _PSEUDONYM.fullmatch(text):
                rows.append(("not a pseudonym", rel, key, i, text))
    return rows


def _scan_original(
    shared: Mapping[str, pd.DataFrame],
    names: Mapping[str, str],
    original: Mapping[str, pd.DataFrame],
    key: bytes | None,
) -> list[tuple[str, str, str, int, str]]:
    rows: list[tuple[str, str, str, int, str]] = []
    patients = original.get("patients")
    pid = None if patients is None else _column(patients, "patient_id")
    ids = set() if patients is None or pid is None else {_text(v) for v in patients[pid]}
    ids.discard(None)
    for name, frame in shared.items():
        for column in frame.columns:
            for i, value in enumerate(frame[column], start=1):
                if _text(value) in ids:
                    rows.append(("original id", names[name], str(column), i, str(value)))
    before = _patient_dates(original)
    after = _patient_dates(shared)
    link: dict[str, str] = {}
    if key is not None:
        secret = _check_key(key)
        by_pseudonym = {_pseudonym(secret, p): p for p in before}
        link = {p: by_pseudonym[p] for p in after if p in by_pseudonym}
    else:
        index: dict[int, set[str]] = {}
        for p, days in before.items():
            for d in days:
                index.setdefault(d, set()).add(p)
        for p, days in after.items():
            counts = Counter(o for d in days for o in index.get(d, ()))
            if counts:
                best, n = counts.most_common(1)[0]
                if n >= 2 and 2 * n >= len(days):
                    link[p] = best
    for name, frame in shared.items():
        spec = SCHEMA.get(name)
        p_col = _column(frame, "patient_id")
        if spec is None or p_col is None:
            continue
        for col in spec.date_columns:
            found = _column(frame, col)
            if found is None:
                continue
            for i, (p, v) in enumerate(zip(frame[p_col], frame[found], strict=True), start=1):
                linked = link.get(_text(p) or "")
                if linked is not None and _day_key(v) in before.get(linked, set()):
                    rows.append(("original date", names[name], col, i, str(v)))
    return rows
