"""Keep numba's on-disk cache of the simulation kernels consistent with the code.

numba invalidates a cached function only when its own source file changes. The kernels
read positions (parameter order, table layouts) defined in other modules and call the
compiled functions of other modules, so after such a change a cached kernel would
silently read the wrong values or run the old code. Every kernel module compiles in the
checksum of the layout and of the kernel sources (``compiled_fingerprint``); before the
first simulation of a process the checksums are compared with the current one and, on a
mismatch, the cache files of every kernel module are deleted so that they compile afresh.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from msreboot.simulate import (
    _kernel,
    _kernel_chunk,
    _kernel_common,
    _kernel_population,
    _kernel_transplant,
)

__all__ = ["ensure_fresh"]

_MODULES: tuple[ModuleType, ...] = (
    _kernel_common,
    _kernel_population,
    _kernel_transplant,
    _kernel,
    _kernel_chunk,
)
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
    """Clear stale compiled kernels before they are first used; True when some were."""
    global _checked
    if _checked:
        return False
    _checked = True
    current = _kernel_common.LAYOUT_FINGERPRINT
    stale = [m for m in _MODULES if m.compiled_fingerprint() != current]
    if not stale:
        return False
    for module in _MODULES:
        for path in _cache_files(module):
            path.unlink(missing_ok=True)
    return True
