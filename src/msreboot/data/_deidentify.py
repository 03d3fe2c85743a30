"""De-identification: keyed pseudonyms, one date shift per patient, no free text.

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
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from msreboot.data._cohort import Cohort
from msreboot.data._files import atomic_write_text
from msreboot.data._schema import SCHEMA

__all__ = [
    "MAPPING_COLUMNS",
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
        (days added to every date of the patient; 0 in a day-based cohort). Secret: it
        re-identifies the cohort. Kept in memory; write it with :func:`write_mapping` only
        if you need it.
    max_shift_days
        The bound the shifts were drawn within.
    """

    cohort: Cohort
    mapping: pd.DataFrame
    max_shift_days: int

    def to_frame(self) -> pd.DataFrame:
        """The mapping (``patient_id``, ``pseudonym``, ``shift_days``), one row per patient."""
        return self.mapping.copy()

    def summary(self) -> str:
        """Counts and the range of the shifts (text; no identifier is shown)."""
        shifts = self.mapping["shift_days"]
        n = len(self.mapping)
        if self.cohort.time_unit == "day":
            dates = "dates not shifted (day-based cohort: already relative to each patient)"
        elif n:
            dates = (
                f"dates shifted per patient by {int(shifts.min())} to {int(shifts.max())} "
                f"days (bound {self.max_shift_days})"
            )
        else:
            dates = "no patients"
        text = [c.name for spec in SCHEMA.values() for c in spec.columns if c.kind == "text"]
        return "\n".join(
            [
                f"de-identified cohort: {n} patients, ids replaced by keyed pseudonyms",
                dates,
                f"free text removed: {', '.join(text)}",
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
    """A shift in [-max_shift_days, -1], uniform up to a bias of max / 2**256."""
    value = int.from_bytes(_digest(key, _SHIFT_DOMAIN, patient_id), "big")
    return -(1 + value % max_shift_days)


def deidentify(cohort: Cohort, key: bytes, *, max_shift_days: int = 365) -> Deidentified:
    r"""Replace ids with keyed pseudonyms, shift each patient's dates, remove free text.

    Parameters
    ----------
    cohort
        A validated cohort.
    key
        Secret key, at least 16 bytes (see :func:`load_or_create_key`). The same key gives
        the same pseudonyms and shifts; keep it private and stable across data releases.
    max_shift_days
        Largest shift in days (>= 1).

    Returns
    -------
    Deidentified
        ``.cohort`` (validated again) and ``.mapping`` (``patient_id``, ``pseudonym``,
        ``shift_days``), which stays in memory unless passed to :func:`write_mapping`.

    Raises
    ------
    ValueError
        ``key`` is shorter than 16 bytes, ``max_shift_days`` is below 1, two patient ids
        get the same pseudonym, or a patient's dates span 1900-01-01 to today so that no
        shift keeps them in the valid range.
    TypeError
        ``key`` is not bytes.

    Notes
    -----
    *Pseudonyms* are ``"P"`` + the first 16 hex digits (64 bits) of
    ``HMAC-SHA256(key, "msreboot-pseudonym\0" + patient_id)``; a collision raises.

    *Date shifts*: one whole number of days per patient,
    ``-(1 + HMAC-SHA256(key, "msreboot-date-shift\0" + patient_id) mod max_shift_days)``,
    i.e. uniform in ``[-max_shift_days, -1]``; every date column of every table of that
    patient moves by the same shift, so every interval within a patient is preserved
    exactly. Shifts go back in time only, because the validator rejects dates after today
    and a forward shift could push recent visits into the future; a shift that does not
    depend on today keeps the output reproducible. The price is that a shifted date is
    known to be up to ``max_shift_days`` before the true one (never after). A patient
    whose shifted dates would fall before 1900-01-01 (the validator's lower bound) gets
    the opposite (forward) shift instead.

    *birth_year* (only the year known): the year of 1 July of that year, shifted; then
    lowered if needed to the year of the patient's earliest shifted event, so the
    validator's "no event before birth_year" check still holds.

    *Day-based cohorts* (``time_unit == "day"``) hold days from each patient's own
    origin: nothing is shifted and ``shift_days`` is 0.

    *Free text*: every column of kind ``text`` in :data:`~msreboot.data.SCHEMA`
    (``patients.notes``, ``adverse_events.detail``) is emptied. Labels (centre, protocol,
    pathogen) and all values are kept: small centres or rare events may still identify
    a patient, so review them before sharing.

    Examples
    --------
    >>> from msreboot.datasets import load_example
    >>> deid = deidentify(load_example(), b"an example key, not a secret one")
    >>> deid.cohort.n_patients, deid.mapping["pseudonym"].str.len().unique().tolist()
    (300, [17])
    >>> bool(deid.mapping["shift_days"].between(-365, -1).all())
    True
    >>> int(deid.cohort.patients["notes"].notna().sum())
    0
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
    shifts = (
        dict.fromkeys(ids, 0) if day_based else _choose_shifts(cohort, key, ids, max_shift_days)
    )
    tables = {
        name: _transform(name, frame, pseudonyms, shifts, day_based)
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
    return Deidentified(deidentified, mapping, max_shift_days)


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
    today = pd.Timestamp(dt.date.today())
    shifts: dict[str, int] = {}
    for pid in ids:
        shift = _raw_shift(key, pid, max_shift_days)
        if pid in firsts:
            first, last = firsts[pid], lasts[pid]
            if first + pd.Timedelta(days=shift) < _EARLIEST_DATE:
                shift = -shift
                if last + pd.Timedelta(days=shift) > today:
                    raise ValueError(
                        f"the dates of patient {pid!r} must span less than 1900-01-01 to "
                        f"today minus {abs(shift)} days to be shifted; got {first.date()} to "
                        f"{last.date()}. Check those dates, or lower max_shift_days."
                    )
        shifts[pid] = shift
    return shifts


def _transform(
    name: str,
    frame: pd.DataFrame,
    pseudonyms: Mapping[str, str],
    shifts: Mapping[str, int],
    day_based: bool,
) -> pd.DataFrame:
    spec = SCHEMA[name]
    out = frame.copy()
    pid = frame["patient_id"].astype(str)
    if not day_based:
        delta = pd.to_timedelta(pid.map(shifts).astype("int64"), unit="D")
        for col in spec.date_columns:
            out[col] = frame[col] + delta
    for column in spec.columns:
        if column.kind == "text":
            out[column.name] = pd.Series(pd.NA, index=frame.index, dtype="string")
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
