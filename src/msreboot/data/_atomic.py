"""Writing files and folders all or nothing: staged beside the target, then moved into place.

A failure at any point (a full disk, a read-only folder, a folder in the way, an interrupt)
leaves what was there before exactly as it was. A target that is a symbolic link is written
through: the file the link points to is replaced and the link is kept.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_text", "replace_directory", "write_target"]


def write_target(path: Path) -> Path:
    """The path to replace when writing ``path``: the final target of a symbolic link.

    Replacing a link by a regular file would leave the file it points to stale; writing
    through keeps the two the same. Any other path is returned unchanged.
    """
    if path.is_symlink():
        return Path(os.path.realpath(path))
    return path


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename) to disk, where the platform allows it."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _folder_in_the_way(path: Path, shown: Path) -> IsADirectoryError:
    return IsADirectoryError(
        errno.EISDIR,
        f"a folder named {path.name} is where the file must go; remove or rename it",
        str(shown),
    )


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file renamed into place."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file renamed into place.

    Returns ``path``. A symbolic link is written through (see :func:`write_target`).

    Raises
    ------
    IsADirectoryError
        ``path`` is a folder; nothing is written.
    OSError
        The file could not be written (read-only folder, full disk); ``path`` is unchanged
        and no temporary file is left behind.
    """
    target = write_target(path)
    if target.is_dir():
        raise _folder_in_the_way(target, path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(target.parent)
    return path


@contextlib.contextmanager
def replace_directory(target: Path) -> Iterator[Path]:
    """Yield a fresh temporary folder; on success its files replace those in ``target``.

    Files of ``target`` that the staged folder does not hold are kept. The files are moved
    in only when every one was written; the ones they replace are set aside first and put
    back if any move fails, so on any error ``target`` is left as it was (a folder standing
    where a file must go is refused before anything is moved).

    Raises
    ------
    NotADirectoryError
        ``target`` is a file.
    IsADirectoryError
        A folder in ``target`` has the name of a file to write.
    OSError
        The folder could not be written (read-only, full disk).
    """
    target = write_target(target)
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(
            errno.ENOTDIR, "the output must be a folder; it is a file", str(target)
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield staging
        if not target.exists():
            os.replace(staging, target)
            fsync_dir(target.parent)
            return
        _move_in(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _move_in(staging: Path, target: Path) -> None:
    items = sorted(staging.iterdir())
    for item in items:
        dest = target / item.name
        if dest.is_dir() and not dest.is_symlink():
            raise _folder_in_the_way(dest, dest)
    previous = Path(tempfile.mkdtemp(prefix=f".{target.name}.previous.", dir=target))
    set_aside: list[str] = []
    moved: list[str] = []
    try:
        for item in items:
            dest = target / item.name
            if os.path.lexists(dest):
                os.replace(dest, previous / item.name)
                set_aside.append(item.name)
            os.replace(item, dest)
            moved.append(item.name)
    except BaseException:
        restored = True
        try:
            for name in reversed(moved):
                os.replace(target / name, staging / name)
            for name in set_aside:
                os.replace(previous / name, target / name)
        except OSError:  # keep the set-aside files (in the hidden folder) rather than lose them
            restored = False
        if restored:
            shutil.rmtree(previous, ignore_errors=True)
        raise
    shutil.rmtree(previous, ignore_errors=True)
    fsync_dir(target)
