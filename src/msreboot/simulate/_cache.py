"""Keep numba's on-disk cache of the simulation kernels consistent with the code.

numba invalidates a cached function only when its own source file changes. The kernels
read positions (parameter order, table layouts) defined in other modules and call the
compiled functions of other modules, so after such a change a cached kernel would
silently read the wrong values or run the old code. Every kernel module compiles in the
checksum of the layout and of the kernel sources (``compiled_fingerprint``); before the
first simulation of a process the checksums are compared with the current one and, on a
mismatch, the cache files of every kernel module are deleted so that they compile afresh
(the mechanism of :mod:`msreboot._compiled`, shared with the disability scans).
"""

from __future__ import annotations

from msreboot import _compiled
from msreboot.simulate import (
    _kernel,
    _kernel_chunk,
    _kernel_common,
    _kernel_course,
    _kernel_msc,
    _kernel_population,
    _kernel_switch,
    _kernel_transplant,
)

__all__ = ["CACHE", "ensure_fresh"]

CACHE = _compiled.CompiledCache(
    (
        _kernel_common,
        _kernel_course,
        _kernel_population,
        _kernel_transplant,
        _kernel_switch,
        _kernel_msc,
        _kernel,
        _kernel_chunk,
    ),
    lambda: _kernel_common.LAYOUT_FINGERPRINT,
)
"""The compiled simulation kernels and the fingerprint they must carry."""


def ensure_fresh() -> bool:
    """Clear stale compiled kernels before they are first used; True when some were."""
    return CACHE.ensure_fresh()
