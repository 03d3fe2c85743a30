"""Shared fixtures for the evidence tests: the metafor reference numbers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REFERENCE = Path(__file__).parents[1] / "reference" / "evidence" / "metafor_reference.json"


@pytest.fixture(scope="session")
def reference() -> dict[str, Any]:
    """The JSON written by tests/reference/evidence/metafor_reference.R."""
    data: dict[str, Any] = json.loads(REFERENCE.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def tolerances(reference: dict[str, Any]) -> dict[str, Any]:
    """Tolerances recorded beside the reference numbers."""
    tol: dict[str, Any] = reference["tolerances"]
    return tol
