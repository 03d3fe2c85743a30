"""Keep numba's on-disk cache of the disability scans consistent with their layout.

numba invalidates a cached function only when its own source file changes. The scans read
option codes and positions defined in :mod:`._disability_layout` and call the checks of
another module, so after such a change a cached scan would silently use the old ones.
Every scan module compiles in :data:`._disability_layout.FINGERPRINT`; before the first
scan of a process the compiled checksums are compared with the current one and, on a
mismatch, the cache files of every scan module are deleted so that they compile afresh
(the mechanism of :mod:`msreboot._compiled`, shared with the simulation kernels).
"""

from __future__ import annotations

from msreboot import _compiled
from msreboot.endpoints import (
    _disability_checks,
    _disability_chunks,
    _disability_kernel,
    _disability_order,
    _disability_references,
    _milestone_kernel,
)
from msreboot.endpoints import _disability_layout as layout

__all__ = ["CACHE", "ensure_fresh"]

CACHE = _compiled.CompiledCache(
    (
        _disability_checks,
        _disability_chunks,
        _disability_kernel,
        _disability_order,
        _disability_references,
        _milestone_kernel,
    ),
    lambda: layout.FINGERPRINT,
)
"""The compiled disability scans and the layout fingerprint they must carry."""


def ensure_fresh() -> bool:
    """Clear stale compiled scans before they are first used; True when some were."""
    return CACHE.ensure_fresh()
