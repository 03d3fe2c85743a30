"""Stale compiled kernels (numba does not see layouts defined in other modules) are cleared."""

from __future__ import annotations

from pathlib import Path

import pytest

from msreboot._compiled import cache_files
from msreboot.simulate import _cache, _kernel_common


def test_fresh_kernels_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    # compiled as the code stands (the real ones may predate an edit of a kernel source,
    # which this process then found stale once: the fingerprint covers the sources)
    for module in _cache.CACHE.modules:
        monkeypatch.setattr(
            module, "compiled_fingerprint", lambda: _kernel_common.LAYOUT_FINGERPRINT
        )

    def clear(module: object) -> list[Path]:
        raise AssertionError(f"fresh kernels of {module} were cleared")

    monkeypatch.setattr(_cache.CACHE, "files", clear)
    monkeypatch.setattr(_cache.CACHE, "checked", False)
    assert _cache.ensure_fresh() is False
    assert _cache.ensure_fresh() is False  # checked once per process


def test_stale_kernels_are_cleared(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    files = [tmp_path / "_kernel.simulate_chunk-1.py311.nbi", tmp_path / "_kernel.x.nbc"]
    for f in files:
        f.write_text("")
    monkeypatch.setattr(_cache.CACHE, "checked", False)
    monkeypatch.setattr(_kernel_common, "LAYOUT_FINGERPRINT", _kernel_common.LAYOUT_FINGERPRINT + 1)
    monkeypatch.setattr(_cache.CACHE, "files", lambda module: files)
    assert _cache.ensure_fresh() is True
    assert not any(f.exists() for f in files)


def test_cache_files_are_found() -> None:
    from msreboot.simulate import _kernel

    names = [p.name for p in cache_files(_kernel)]
    assert all(n.startswith("_kernel.") for n in names)


def test_every_compiled_module_is_fingerprinted_and_cleared() -> None:
    import msreboot.simulate as package

    folder = Path(str(package.__file__)).parent
    compiled = {p.stem for p in folder.glob("*.py") if "@njit" in p.read_text(encoding="utf-8")}
    assert compiled == set(_kernel_common.KERNEL_MODULES)
    cleared = {m.__name__.rpartition(".")[2] for m in _cache.CACHE.modules}
    kernels = {stem for stem in compiled if stem.startswith("_kernel")}
    assert cleared == kernels
