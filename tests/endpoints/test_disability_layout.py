"""The compiled disability scans read option codes numbered once, from the rule types."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from msreboot.endpoints import BaselineKind, DisabilityDefinition, EventMode
from msreboot.endpoints import _disability_cache as cache
from msreboot.endpoints import _disability_layout as layout


def test_codes_follow_the_literal_types() -> None:
    assert list(layout.EVENT_CODES) == list(get_args(EventMode))
    assert list(layout.BASELINE_CODES) == list(get_args(BaselineKind))
    ip, _, _, _ = layout.kernel_options(DisabilityDefinition.preset("kappos_2020"))
    assert ip[layout.IP_MODE] == layout.MODE_ALL
    assert ip[layout.IP_BASELINE] == layout.BL_ROVING


def test_compiled_scans_carry_the_current_layout() -> None:
    for module in cache.CACHE.modules:
        assert module.compiled_fingerprint() == layout.FINGERPRINT


def test_a_stale_compilation_is_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    deleted: list[str] = []

    def files(module: object) -> list[Path]:
        deleted.append(getattr(module, "__name__", ""))
        return []  # nothing is really deleted: other processes share the cache

    monkeypatch.setattr(cache.CACHE, "checked", False)
    monkeypatch.setattr(layout, "FINGERPRINT", layout.FINGERPRINT + 1)
    monkeypatch.setattr(cache.CACHE, "files", files)
    assert cache.ensure_fresh() is True
    assert len(deleted) == len(cache.CACHE.modules)
    assert cache.ensure_fresh() is False  # checked once per process
