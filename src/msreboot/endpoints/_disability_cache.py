"""Keep numba's on-disk cache of the disability scans consistent with their layout.

numba invalidates a cached function only when its own source file changes. The scans read
option codes and positions defined in :mod:`._disability_layout` and call the checks of
another module, so after such a change a cached scan would silently use the old ones.
Every scan module compiles in :data:`._disability_layout.FINGERPRINT`; before the first
scan of a process the compiled checksums are compared with the current one and, on a
mismatch, the cache files of every scan module are deleted so that they compile afresh
(as :mod:`msreboot.simulate` does for its kernels).
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from msreboot.endpoints import _disability_checks, _disability_kernel, _milestone_kernel
from msreboot.endpoints._disability_layout import FINGERPRINT

__all__ = ["ensure_fresh"]

_MODULES: tuple[ModuleType, ...] = (_disability_checks, _disability_kernel, _milestone_kernel)
_checked = False


def _cache_files(module: ModuleType) -> list[Path]:
    source = Path(str(module.__file__))
    folders = {source.parent / "__pycache__"}
    for value in vars(module).values():
        cache = getattr(value, "_cache", None)
        path = getattr(cache, "_cache_path", None)
        if path:
            folders.add(Path(path))
    stem = source.stem
    return [
        f
        for folder in folders
        if folder.is_dir()
        for f in folder.iterdir()
        if f.name.startswith(stem + ".") and f.suffix in (".nbi", ".nbc")
    ]


def ensure_fresh() -> bool:
    """Clear stale compiled scans before they are first used; True when some were."""
    global _checked
    if _checked:
        return False
    _checked = True
    stale = [m for m in _MODULES if m.compiled_fingerprint() != FINGERPRINT]
    if not stale:
        return False
    for module in _MODULES:
        for path in _cache_files(module):
            path.unlink(missing_ok=True)
    return True
