"""De-identification: keyed pseudonyms, one date shift per patient, no free text or labels.

The secret key stays with the user: pseudonyms and date shifts are HMAC-SHA256 values of
the patient id under that key, so the same key always gives the same output and nobody
without the key can link a pseudonym back to a patient or undo a shift.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import html
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from msreboot.data._cohort import Cohort
from msreboot.data._files import atomic_write_text
from msreboot.data._schema import SCHEMA
from msreboot.data._vocabulary import LABEL_COLUMNS, Vocabulary, apply_vocabulary

__all__ = [
    "MAPPING_COLUMNS",
    "MAX_DAY_NUMBER",
    "MIN_KEY_BYTES",
    "Deidentified",
    "deidentify",
    "load_or_create_key",
    "write_mapping",
]

MIN_KEY_BYTES = 16
"""Shortest secret key accepted (128 bits)."""

MAPPING_COLUMNS: tuple[str, ...] = ("patient_id", "pseudonym", "shift_days")

_PSEUDONYM_HEX = 16  # 64 bits: a collision among a million patients has odds ~3e-8
_PSEUDONYM_DOMAIN = b"msreboot-pseudonym\x00"
_SHIFT_DOMAIN = b"msreboot-date-shift\x00"
_EARLIEST_DATE = pd.Timestamp("1900-01-01")  # the validator's lower bound for dates

MAX_DAY_NUMBER = 1_000_000
"""Day numbers this large (2,700 years) are not days from an origin: YYYYMMDD dates."""

_SHARED_ORIGIN_DAYS = 3653
"""No value within 10 years of the origin: the origin is a shared epoch, not the patient's."""


@dataclass(frozen=True)
class Deidentified:
    """A de-identified cohort and the mapping back to the original patients.

    Attributes
    ----------
    cohort
        The de-identified, re-validated cohort: pseudonymous ids, shifted dates, no free
        text. Safe to share (together with nothing else).
    mapping
        One row per patient: ``patient_id`` (original), ``pseudonym`` and ``shift_days``
        (days added to every date of the patient; 0 when the day numbers of a day-based
        cohort were kept). Secret: it re-identifies the cohort. Kept in memory; write it
        with :func:`write_mapping` only if you need it.
    max_shift_days
        The bound the shifts were drawn within.
    labels_emptied
        Label column -> how many values were emptied (not in the vocabulary).
    """

    cohort: Cohort
    mapping: pd.DataFrame
    max_shift_days: int
    labels_emptied: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    def to_frame(self) -> pd.DataFrame:
        """The mapping (``patient_id``, ``pseudonym``, ``shift_days``), one row per patient."""
        return self.mapping.copy()

    def summary(self) -> str:
        """Counts and the range of the shifts (text; no identifier is shown)."""
        shifts = self.mapping["shift_days"]
        n = len(self.mapping)
        what = "day numbers" if self.cohort.time_unit == "day" else "dates"
        if n and bool((shifts == 0).all()):
            dates = "day numbers kept (each patient's own origin; intervals unchanged)"
        elif n:
            dates = (
                f"{what} shifted per patient by {int(shifts.min())} to {int(shifts.max())} "
                f"days, both directions (bound {self.max_shift_days}); intervals unchanged"
            )
        else:
            dates = "no patients"
        text = [c.name for spec in SCHEMA.values() for c in spec.columns if c.kind == "text"]
        emptied = ", ".join(f"{c} {n}" for c, n in self.labels_emptied.items() if n)
        return "\n".join(
            [
                f"de-identified cohort: {n} patients, ids replaced by keyed pseudonyms",
                dates,
                f"free text removed: {', '.join(text)}",
                f"labels ({', '.join(LABEL_COLUMNS)}) kept only through a vocabulary; values "
                f"emptied: {emptied or 'none'}",
                "the mapping re-identifies patients: keep it (and the key) private",
            ]
        )

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"

    def __repr__(self) -> str:
        return (
            f"Deidentified(patients={len(self.mapping)}, "
            f"time_unit={self.cohort.time_unit!r}, max_shift_days={self.max_shift_days})"
        )


def _check_key(key: object) -> bytes:
    if not isinstance(key, (bytes, bytearray)):
        raise TypeError(
            f"key must be bytes; got {type(key).__name__}. Use load_or_create_key(path) to get one."
        )
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(
            f"key must be at least {MIN_KEY_BYTES} bytes long; got {len(key)}. "
            "Use load_or_create_key(path), which makes a 32-byte key."
        )
    return bytes(key)


def _digest(key: bytes, domain: bytes, patient_id: str) -> bytes:
    return hmac.new(key, domain + patient_id.encode("utf-8"), hashlib.sha256).digest()


def _pseudonym(key: bytes, patient_id: str) -> str:
    return "P" + _digest(key, _PSEUDONYM_DOMAIN, patient_id).hex()[:_PSEUDONYM_HEX].upper()


def _raw_shift(key: bytes, patient_id: str, max_shift_days: int) -> int:
    """A shift in [-max, -1] or [1, max], uniform up to a bias of max / 2**255."""
    value = int.from_bytes(_digest(key, _SHIFT_DOMAIN, patient_id), "big") % (2 * max_shift_days)
    return value - max_shift_days if value < max_shift_days else value - max_shift_days + 1


def deidentify(
    cohort: Cohort,
    key: bytes,
    *,
    max_shift_days: int = 365,
    vocabulary: Vocabulary | None = None,
    shift_day_numbers: bool = True,
) -> Deidentified:
    r"""Replace ids with keyed pseudonyms, shift each patient's dates, remove text and labels.

    Parameters
    ----------
    cohort
        A validated cohort.
    key
        Secret key, at least 16 bytes (see :func:`load_or_create_key`). The same key gives
        the same pseudonyms and shifts; keep it private and stable across data releases.
    max_shift_days
        Largest shift in days (>= 1).
    vocabulary
        The label values that may be shared (:func:`load_vocabulary`); every other value
        of a label column is emptied. ``None``: every label is emptied.
    shift_day_numbers
        In a day-based cohort, shift the day numbers too (the default). ``False`` keeps
        them, for cohorts whose origin is each patient's own event (enrolment, reinfusion);
        refused when the numbers look like a shared epoch (Excel serials).

    Returns
    -------
    Deidentified
        ``.cohort`` (validated again) and ``.mapping`` (``patient_id``, ``pseudonym``,
        ``shift_days``), which stays in memory unless passed to :func:`write_mapping`.

    Raises
    ------
    ValueError
        ``key`` is shorter than 16 bytes, ``max_shift_days`` is below 1, two patient ids
        get the same pseudonym, a patient's dates span 1900-01-01 to the cohort's last
        date so that no shift keeps them in that range, the day numbers of a day-based
        cohort look like YYYYMMDD dates (``19850312``), or like calendar serials while
        ``shift_day_numbers`` is false.
    TypeError
        ``key`` is not bytes.

    Notes
    -----
    *Pseudonyms* are ``"P"`` + the first 16 hex digits (64 bits) of
    ``HMAC-SHA256(key, "msreboot-pseudonym\0" + patient_id)``; a collision raises.

    *Date shifts*: one whole number of days per patient, uniform over
    ``[-max_shift_days, -1]`` and ``[1, max_shift_days]`` (never 0): with
    ``h = HMAC-SHA256(key, "msreboot-date-shift\0" + patient_id) mod 2 max_shift_days``,
    the shift is ``h - max_shift_days`` below ``max_shift_days`` and one more above.
    Every date column of every table of that patient moves by the same shift, so every
    interval within a patient is preserved exactly, and a true date is equally likely to
    lie before or after the shifted one. A patient whose shifted dates would fall before
    1900-01-01 or after today (the validator's bounds) gets the opposite shift instead,
    so the same key and data give the same output except for a patient whose last date
    lies within ``max_shift_days`` of today, who may be shifted back instead of forward.

    *Day-based cohorts* (``time_unit == "day"``): the day numbers are shifted exactly as
    dates are, by the same per-patient shift. Nothing in the data says whether the
    origin is each patient's own (enrolment) or shared by everyone (a study start date,
    1970-01-01, Excel's 1899-12-30 epoch); when it is shared the day numbers are calendar
    dates in disguise, and a birth date given as days identifies. Intervals are
    unchanged, so every endpoint gives the same result; only day 0 no longer marks the
    origin. ``shift_day_numbers=False`` keeps the numbers (``shift_days`` 0) when the
    origin is each patient's own event, and is refused when no value of the cohort lies
    within 10 years of its origin (Excel serials, days since 1970). Numbers of
    1,000,000 or more are YYYYMMDD dates, not days, and are always refused: read them
    with ``date_format="%Y%m%d"``. A ``birth_year`` is a calendar year; it is shifted in
    calendar cohorts only.

    *birth_year* (only the year known): the year of 1 July of that year, shifted; then
    lowered if needed to the year of the patient's earliest shifted event, so the
    validator's "no event before birth_year" check still holds.

    *Free text*: every column of kind ``text`` in :data:`~msreboot.data.SCHEMA`
    (``patients.notes``, ``adverse_events.detail``) is emptied. *Labels* (kind ``label``:
    ``centre``, ``protocol``, ``pathogen``) are typed by people and can hold anything:
    they are emptied too, unless ``vocabulary`` lists the values that may be shared
    (matched ignoring case and outer spaces; anything else is emptied). Other values are
    kept: small centres or rare events may still identify a patient, so review them
    before sharing.

    Examples
    --------
    >>> from msreboot.datasets import load_example
    >>> deid = deidentify(load_example(), b"an example key, not a secret one")
    >>> deid.cohort.n_patients, deid.mapping["pseudonym"].str.len().unique().tolist()
    (300, [17])
    >>> bool(deid.mapping["shift_days"].abs().between(1, 365).all())
    True
    >>> patients = deid.cohort.patients
    >>> int(patients["notes"].notna().sum()), int(patients["centre"].notna().sum())
    (0, 0)
    """
    key = _check_key(key)
    if (
        isinstance(max_shift_days, bool)
        or not isinstance(max_shift_days, int)
        or max_shift_days < 1
    ):
        raise ValueError(
            f"max_shift_days must be a whole number >= 1; got {max_shift_days!r}. "
            "The default is 365."
        )
    ids = [str(p) for p in cohort.patients["patient_id"]]
    pseudonyms = {pid: _pseudonym(key, pid) for pid in ids}
    _check_collisions(pseudonyms)
    day_based = cohort.time_unit == "day"
    if day_based:
        _check_day_numbers(cohort, shift_day_numbers)
        shifts = {
            pid: _raw_shift(key, pid, max_shift_days) if shift_day_numbers else 0 for pid in ids
        }
    else:
        shifts = _choose_shifts(cohort, key, ids, max_shift_days)
    emptied: dict[str, int] = {}
    tables = {
        name: _transform(name, frame, pseudonyms, shifts, day_based, vocabulary, emptied)
        for name, frame in cohort.tables.items()
    }
    if not day_based:
        tables["patients"]["birth_year"] = _shift_birth_year(cohort, tables, shifts)
    deidentified = Cohort.from_frames(tables, time_unit=cohort.time_unit)
    mapping = pd.DataFrame(
        {
            "patient_id": pd.Series(ids, dtype="string"),
            "pseudonym": pd.Series([pseudonyms[p] for p in ids], dtype="string"),
            "shift_days": pd.Series([shifts[p] for p in ids], dtype="int64"),
        }
    )
    return Deidentified(deidentified, mapping, max_shift_days, MappingProxyType(emptied))


def _day_values(cohort: Cohort) -> pd.DataFrame:
    parts = []
    for name, spec in SCHEMA.items():
        frame = cohort.table(name)
        for col in spec.date_columns:
            values = frame[["patient_id", col]].dropna().set_axis(["patient_id", "day"], axis=1)
            values["where"] = f"{name}.{col}"
            parts.append(values)
    return pd.concat(parts, ignore_index=True)


def _check_day_numbers(cohort: Cohort, shift_day_numbers: bool) -> None:
    """Refuse day numbers that are calendar dates: YYYYMMDD, or serials if kept."""
    days = _day_values(cohort)
    if days.empty:
        return
    values = days["day"].astype("int64")
    huge = values.abs() >= MAX_DAY_NUMBER
    if huge.any():
        row = days[huge.to_numpy()].iloc[0]
        raise ValueError(
            f"day numbers must be days from each patient's origin (below {MAX_DAY_NUMBER:,}); "
            f"got {int(row['day'])} in {row['where']} ({int(huge.sum())} such values): "
            "these look like YYYYMMDD dates. Read the cohort with --date-format %Y%m%d "
            '(date_format="%Y%m%d") so that they are dates and get shifted.'
        )
    if not shift_day_numbers and int(values.abs().min()) >= _SHARED_ORIGIN_DAYS:
        raise ValueError(
            "day numbers can be kept only when the origin is each patient's own event; got "
            f"no value within {_SHARED_ORIGIN_DAYS} days of the origin (smallest "
            f"{int(values.abs().min())}), as with Excel serial dates or days since 1970. "
            "Shift them (the default), or read them as dates."
        )


def _check_collisions(pseudonyms: Mapping[str, str]) -> None:
    seen: dict[str, str] = {}
    for pid, pseudonym in pseudonyms.items():
        other = seen.setdefault(pseudonym, pid)
        if other != pid:
            raise ValueError(
                f"pseudonyms must be unique; got {pseudonym} for two patients "
                f"({other!r} and {pid!r}). Use another key (load_or_create_key on a new path)."
            )


def _patient_dates(cohort: Cohort) -> pd.DataFrame:
    """Earliest and latest date of each patient over every date column of every table."""
    parts = []
    for name, spec in SCHEMA.items():
        frame = cohort.table(name)
        for col in spec.date_columns:
            values = frame[["patient_id", col]].dropna()
            parts.append(values.set_axis(["patient_id", "date"], axis=1))
    birth_year = cohort.patients[["patient_id", "birth_year"]].dropna()
    july = pd.to_datetime(birth_year["birth_year"].astype("int64").astype(str) + "-07-01")
    parts.append(pd.DataFrame({"patient_id": birth_year["patient_id"], "date": july}))
    every = pd.concat(parts, ignore_index=True)
    return every.groupby("patient_id")["date"].agg(["min", "max"])


def _choose_shifts(
    cohort: Cohort, key: bytes, ids: list[str], max_shift_days: int
) -> dict[str, int]:
    span = _patient_dates(cohort)
    firsts = {str(k): pd.Timestamp(v) for k, v in span["min"].items()}
    lasts = {str(k): pd.Timestamp(v) for k, v in span["max"].items()}
    latest = pd.Timestamp(dt.date.today())
    shifts: dict[str, int] = {}
    for pid in ids:
        shift = _raw_shift(key, pid, max_shift_days)
        if pid in firsts:
            first, last = firsts[pid], lasts[pid]

            def fits(s: int, first: pd.Timestamp = first, last: pd.Timestamp = last) -> bool:
                delta = pd.Timedelta(days=s)
                return first + delta >= _EARLIEST_DATE and last + delta <= latest

            if not fits(shift):
                shift = -shift
                if not fits(shift):
                    raise ValueError(
                        f"the dates of patient {pid!r} must leave {abs(shift)} days free "
                        f"within 1900-01-01 to today ({latest.date()}) to be "
                        f"shifted; got {first.date()} to {last.date()}. Check those dates, "
                        "or lower max_shift_days."
                    )
        shifts[pid] = shift
    return shifts


def _transform(
    name: str,
    frame: pd.DataFrame,
    pseudonyms: Mapping[str, str],
    shifts: Mapping[str, int],
    day_based: bool,
    vocabulary: Vocabulary | None,
    emptied: dict[str, int],
) -> pd.DataFrame:
    spec = SCHEMA[name]
    out = frame.copy()
    pid = frame["patient_id"].astype(str)
    days = pid.map(shifts).astype("int64")
    delta: pd.Series = days.astype("Int64") if day_based else pd.to_timedelta(days, unit="D")
    for col in spec.date_columns:
        out[col] = frame[col] + delta
    for column in spec.columns:
        if column.kind == "text":
            out[column.name] = pd.Series(pd.NA, index=frame.index, dtype="string")
        elif column.kind == "label":
            mapped = apply_vocabulary(frame[column.name], column.name, vocabulary)
            lost = int((frame[column.name].notna() & mapped.isna()).sum())
            emptied[column.name] = emptied.get(column.name, 0) + lost
            out[column.name] = mapped
    out["patient_id"] = pid.map(pseudonyms).astype("string")
    return out


def _shift_birth_year(
    cohort: Cohort, tables: Mapping[str, pd.DataFrame], shifts: Mapping[str, int]
) -> pd.Series:
    """1 July of birth_year, shifted; capped at the year of the earliest shifted event."""
    patients = cohort.patients
    year = patients["birth_year"]
    known = year.notna().to_numpy()
    out = year.copy()
    if not known.any():
        return out
    july = pd.to_datetime(year[known].astype("int64").astype(str) + "-07-01")
    delta = pd.to_timedelta(patients.loc[known, "patient_id"].astype(str).map(shifts), unit="D")
    shifted = (july + delta).dt.year
    pseudonyms = tables["patients"]["patient_id"]
    earliest = _earliest_event_year(tables)
    cap = pseudonyms[known].map(earliest)
    capped = shifted.where(cap.isna() | (shifted <= cap), cap)
    out[known] = capped.astype("int64").to_numpy()
    return out


def _earliest_event_year(tables: Mapping[str, pd.DataFrame]) -> pd.Series:
    years = []
    for name, spec in SCHEMA.items():
        if name == "patients":
            continue
        frame = tables[name]
        for col in spec.date_columns:
            values = frame[["patient_id", col]].dropna()
            years.append(
                pd.Series(values[col].dt.year.to_numpy(), index=values["patient_id"].to_numpy())
            )
    every = pd.concat(years)
    return every.groupby(level=0).min()


def load_or_create_key(path: str | Path) -> bytes:
    """Read the secret key from ``path``, or create it there (32 random bytes) if absent.

    Parameters
    ----------
    path
        Key file: hexadecimal text, one line. Created with permissions 0600 (owner read
        and write only) when it does not exist.

    Returns
    -------
    bytes
        The key (at least 16 bytes).

    Raises
    ------
    ValueError
        The file does not hold a hexadecimal key of at least 16 bytes.

    Notes
    -----
    A new key comes from :func:`secrets.token_bytes` (32 bytes, 256 bits) and is written
    hex-encoded to a temporary file that is hard-linked into place, so two processes
    racing to create the key end up with the same one and a crash never leaves a partial
    key. Keep the file out of version control and away from the shared data: anyone with
    the key can recompute every pseudonym and shift.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "msreboot.key"
    >>> key = load_or_create_key(path)
    >>> len(key), load_or_create_key(path) == key, oct(path.stat().st_mode & 0o777)
    (32, True, '0o600')
    """
    path = Path(path)
    if not path.exists():
        _create_key_file(path)
    text = path.read_text(encoding="utf-8").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ValueError(
            f"key file must hold the key as hexadecimal text; got {len(text)} characters that "
            f"are not hexadecimal in {path}. Restore the original key file, or delete it to "
            "create a new key (pseudonyms and shifts will change)."
        ) from None
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(
            f"key must be at least {MIN_KEY_BYTES} bytes long; got {len(key)} bytes in {path}. "
            "Delete the file to create a new 32-byte key (pseudonyms and shifts will change)."
        )
    return key


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(secrets.token_bytes(32).hex() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):  # another process made one first
            os.link(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def write_mapping(mapping: Deidentified | pd.DataFrame, path: str | Path) -> Path:
    """Write the re-identification mapping to a CSV file (atomically, permissions 0600).

    Parameters
    ----------
    mapping
        A :class:`Deidentified` result or its ``.mapping`` table.
    path
        Destination CSV file; replaced if it exists.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        The table lacks a column of ``patient_id, pseudonym, shift_days``.

    Notes
    -----
    The file re-identifies every patient: store it where the key is kept, never with the
    shared data.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from msreboot.datasets import load_example
    >>> deid = deidentify(load_example(), b"an example key, not a secret one")
    >>> path = write_mapping(deid, pathlib.Path(tempfile.mkdtemp()) / "mapping.csv")
    >>> path.read_text().splitlines()[0]
    'patient_id,pseudonym,shift_days'
    """
    frame = mapping.mapping if isinstance(mapping, Deidentified) else mapping
    missing = [c for c in MAPPING_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(
            f"mapping must have the columns {', '.join(MAPPING_COLUMNS)}; got "
            f"{', '.join(map(str, frame.columns))}. Pass deidentify(...).mapping."
        )
    text = frame[list(MAPPING_COLUMNS)].to_csv(index=False, lineterminator="\n")
    return atomic_write_text(Path(path), text)
