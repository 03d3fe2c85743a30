"""The shipped calibration says which targets it was fitted to, and its change against the
current targets is measured for exactly the current targets."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from msreboot.calibration import load_targets

ROOT = Path(__file__).resolve().parents[2]
CALIBRATED = ROOT / "src" / "msreboot" / "simulate" / "data" / "calibrated.toml"
DOCS = ROOT / "docs" / "calibration"


def _provenance() -> dict[str, object]:
    with CALIBRATED.open("rb") as handle:
        return dict(tomllib.load(handle)["provenance"])


def test_the_shipped_set_lists_the_targets_it_was_fitted_to() -> None:
    provenance = _provenance()
    fitted = load_targets(ROOT / str(provenance["fitted_targets_file"]))
    assert [t.id for t in fitted] == provenance["targets"]
    assert provenance["fitted_targets"] == len(fitted)
    # the fit's own report was computed on these very numbers
    table = pd.read_csv(DOCS / "calibration_targets.csv").set_index("target")
    for target in fitted:
        low, high = target.interval()
        row = table.loc[target.id]
        published = (row["published"], row["published_low"], row["published_high"])
        assert published == pytest.approx((target.value, low, high), rel=1e-12, abs=1e-15)


def test_the_shipped_set_says_whether_it_rests_on_the_current_targets() -> None:
    provenance = _provenance()
    current = [t.id for t in load_targets()]
    assert provenance["current_targets"] == len(current)
    refitted = provenance["refitted_to_current_targets"]
    assert refitted == (provenance["targets"] == current)


def test_the_measured_change_covers_exactly_the_current_and_fitted_targets() -> None:
    provenance = _provenance()
    info = json.loads((DOCS / "target_change.json").read_text(encoding="utf-8"))
    table = pd.read_csv(DOCS / "target_change.csv")
    current = [t.id for t in load_targets()]
    assert table.loc[table["target_set"] == "current", "target"].tolist() == current
    assert table.loc[table["target_set"] == "fitted", "target"].tolist() == provenance["targets"]
    for name, frame in table.groupby("target_set"):
        totals = info["totals"][name]
        assert totals["targets"] == len(frame)
        assert totals["simulated_in_published"] == int(frame["simulated_in_published"].sum())
        inside = (frame["published_low"] <= frame["simulated"]) & (
            frame["simulated"] <= frame["published_high"]
        )
        assert inside.tolist() == frame["simulated_in_published"].tolist()
