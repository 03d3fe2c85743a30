"""Synthetic T25FW, 9HPT and SDMT results for the example cohorts, drawn from the EDSS.

A stream of its own (seeded from the cohort's seed and ``_STREAM``) so that the other
tables of the example are exactly what they were before these tables existed. Plain
illustrative curves, not fitted to any published data: times grow and SDMT scores fall
with the EDSS, with multiplicative (times) or additive (SDMT) noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["functional_tests"]

_STREAM = 19  # the issue that asked for these tables; any fixed number would do
_SHARE_TESTED = 0.6  # patients whose centre records the functional tests
_FORMS = ("A", "B")


def functional_tests(edss: pd.DataFrame, seed: int) -> dict[str, pd.DataFrame]:
    """``timed_walk``, ``peg_test`` and ``sdmt`` rows at every other valid EDSS visit of
    a share of the patients (about yearly with six-monthly visits).

    At EDSS 7 or more the walk is not completed (``unable_to_complete``); a walk or peg
    time drawn above its MSFC limit is recorded as not completed too.
    """
    rng = np.random.default_rng([seed, _STREAM])
    walk: list[dict[str, object]] = []
    peg: list[dict[str, object]] = []
    sdmt: list[dict[str, object]] = []
    valid = edss["valid_for_confirmation"].map(lambda v: v is not False)
    visits = edss[valid.to_numpy(dtype=bool)]
    for pid, group in visits.groupby("patient_id", sort=False):
        if rng.random() >= _SHARE_TESTED:
            continue
        for k, (date, score) in enumerate(zip(group["date"], group["edss"], strict=True)):
            if k % 2:
                continue
            level = float(score)
            seconds = 4.2 * np.exp(0.05 * level + 0.025 * level**2) * rng.lognormal(0, 0.12)
            unable = level >= 7.0 or seconds > 180
            aid = "no_aid" if level < 6.0 else "unilateral" if level < 6.5 else "bilateral"
            walk.append(
                {
                    "patient_id": pid,
                    "date": date,
                    "seconds": None if unable else round(float(seconds), 1),
                    "trials": None if unable else 2,
                    "walking_aid": None if level >= 7.0 else aid,
                    "unable_to_complete": True if unable else None,
                }
            )
            base = 18.5 * np.exp(0.07 * level)
            for hand, factor in (("dominant", 1.0), ("non_dominant", 1.07)):
                t = float(base * factor * rng.lognormal(0, 0.1))
                peg.append(
                    {
                        "patient_id": pid,
                        "date": date,
                        "hand": hand,
                        "seconds": round(t, 1) if t <= 300 else None,
                        "trials": 2 if t <= 300 else None,
                        "unable_to_complete": True if t > 300 else None,
                    }
                )
            points = float(np.clip(round(56 - 2.6 * level + rng.normal(0, 6)), 0, 110))
            sdmt.append(
                {
                    "patient_id": pid,
                    "date": date,
                    "score": int(points),
                    "version": "oral",
                    "form": _FORMS[(k // 2) % 2],
                }
            )
    return {
        "timed_walk": pd.DataFrame(walk),
        "peg_test": pd.DataFrame(peg),
        "sdmt": pd.DataFrame(sdmt),
    }
