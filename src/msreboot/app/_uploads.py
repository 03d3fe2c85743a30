"""Uploaded files: names checked, sizes limited, written only inside the app's data folder
(one subfolder per browser session, removed when the session ends).

Uploads hold patient data, so whatever the process umask, the ``uploads`` folder and each
session's folder are made mode 0700 and every file is created mode 0600 before a byte of it
is written."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import stat
from pathlib import Path

__all__ = ["UPLOAD_SUFFIXES", "UploadFolder", "safe_upload_name"]

#: File types the Data page validates.
UPLOAD_SUFFIXES = frozenset({".csv", ".parquet", ".xlsx", ".toml", ".json"})
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\- ]{0,127}$")


def safe_upload_name(name: str) -> str:
    """The upload's file name if it is a plain, allowed file name.

    Raises
    ------
    ValueError
        A name with a folder part (``/`` or a backslash), ``..``, a leading dot, a control
        character, more than 128 characters or a suffix outside :data:`UPLOAD_SUFFIXES`.
    """
    if (
        "/" in name
        or "\\" in name
        or ".." in name
        or not _SAFE.match(name)
        or Path(name).suffix.lower() not in UPLOAD_SUFFIXES
    ):
        raise ValueError(
            f"upload name must be a plain file name ending in "
            f"{', '.join(sorted(UPLOAD_SUFFIXES))}; got {name!r}. Rename the file."
        )
    return name


class UploadFolder:
    """One browser session's upload folder inside the app's data folder.

    Parameters
    ----------
    data_dir
        The app's data folder.
    max_bytes
        The largest file accepted.
    """

    def __init__(self, data_dir: Path, max_bytes: int) -> None:
        self.root = Path(data_dir).resolve() / "uploads" / secrets.token_hex(8)
        self.max_bytes = max_bytes

    def save(self, name: str, source: Path) -> Path:
        """Copy an uploaded file into the folder under its checked name.

        Raises
        ------
        ValueError
            A bad name (:func:`safe_upload_name`) or a file over ``max_bytes``.
        """
        name = safe_upload_name(name)
        size = Path(source).stat().st_size
        if size > self.max_bytes:
            raise ValueError(
                f"upload must be at most {self.max_bytes} bytes; got {size} ({name}). "
                "Split the file or raise max_upload_mb in the app configuration."
            )
        self.root.parent.parent.mkdir(parents=True, exist_ok=True)
        for folder in (self.root.parent, self.root):
            _private_folder(folder)
        target = (self.root / name).resolve()
        if target.parent != self.root:
            raise ValueError(f"upload name must stay in the upload folder; got {name!r}.")
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        with (
            Path(source).open("rb") as src,
            os.fdopen(os.open(target, flags, 0o600), "wb") as out,
        ):
            os.fchmod(out.fileno(), 0o600)  # an existing file keeps its old mode
            shutil.copyfileobj(src, out)
        return target

    @property
    def store(self) -> Path:
        """Where an import of the uploaded files goes: a DuckDB store in a folder beside
        the upload folder (inside the app's data folder), removed with it."""
        return self.root.with_name(self.root.name + "-store") / "cohort.duckdb"

    def source(self) -> Path:
        """What the uploaded files are read as: the workbook when an ``.xlsx`` was
        uploaded, else the folder of table files."""
        books = sorted(self.root.glob("*.xlsx")) if self.root.is_dir() else []
        return books[0] if books else self.root

    def clear_files(self) -> None:
        """Remove the files of an earlier upload (a new upload replaces the set, so that a
        table left from before is not validated with it); the store imported earlier stays
        until :meth:`clean`."""
        if self.root.is_dir():
            for path in self.root.iterdir():
                if path.is_file() or path.is_symlink():
                    path.unlink(missing_ok=True)

    def clean(self) -> None:
        """Remove the folder, the store imported from it, and everything in them."""
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.store.parent, ignore_errors=True)


def _private_folder(folder: Path) -> None:
    """Make ``folder`` (if missing) and set it to mode 0700, whatever the umask."""
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        if not folder.is_dir() or folder.is_symlink():
            raise ValueError(f"upload folder must be a folder; got {folder}.") from None
    if stat.S_IMODE(folder.stat().st_mode) != 0o700:
        os.chmod(folder, 0o700)
