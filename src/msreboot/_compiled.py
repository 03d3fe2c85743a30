"""Keep numba's on-disk cache of a group of compiled modules consistent with their code.

numba invalidates a cached function only when its own source file changes. The compiled
scans and kernels read codes and positions defined in other modules and call the compiled
functions of other modules, so after such a change a cached function would silently run
the old code or read the wrong values. Each compiled module therefore compiles in a
fingerprint of that layout (and of the sources) as ``compiled_fingerprint()``; before the
first use in a process, :meth:`CompiledCache.ensure_fresh` compares every module's compiled
fingerprint with the current one and, on a mismatch, deletes the cache files of every
module of the group so that they compile afresh. The disability scans
(``msreboot.endpoints``) and the simulation kernels (``msreboot.simulate``) share this one
mechanism.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

__all__ = ["CompiledCache", "cache_files"]


def cache_files(module: ModuleType) -> list[Path]:
    """Numba's index and data files (``.nbi``, ``.nbc``) of the functions of ``module``."""
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


class CompiledCache:
    """The compiled modules of one group and the fingerprint they must carry.

    Parameters
    ----------
    modules
        The modules whose numba caches belong together (each has ``compiled_fingerprint()``).
    fingerprint
        Returns the current fingerprint (read at check time, so tests may change it).
    """

    def __init__(self, modules: Sequence[ModuleType], fingerprint: Callable[[], int]) -> None:
        self.modules = tuple(modules)
        self.fingerprint = fingerprint
        self.files: Callable[[ModuleType], list[Path]] = cache_files
        self.checked = False

    def ensure_fresh(self) -> bool:
        """Clear stale compiled functions before their first use; True when some were.

        Checked once per process.
        """
        if self.checked:
            return False
        self.checked = True
        current = self.fingerprint()
        if all(m.compiled_fingerprint() == current for m in self.modules):
            return False
        for module in self.modules:
            for path in self.files(module):
                path.unlink(missing_ok=True)
        return True
