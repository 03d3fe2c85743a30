"""The series of each disability measure (EDSS, T25FW, 9HPT, SDMT), as the engine reads it.

The disability scan reads one score per visit; this module turns the ``timed_walk``,
``peg_test`` and ``sdmt`` tables of a cohort into a table shaped like ``edss`` (columns
``patient_id``, ``date``, ``edss``, ``valid_for_confirmation``), so that every measure
runs through the same scan with its own threshold rule and direction.

A test the patient could not complete (``unable_to_complete``) is scored as
:data:`UNABLE_TO_COMPLETE_SECONDS`, longer than any time the schema accepts (180 s for
the walk, 300 s for the peg test): it is worse than every completed test, two such tests
are equal, and nothing is worse than it.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
import pandas as pd

from msreboot.data import Cohort

__all__ = [
    "HANDS",
    "MEASURES",
    "UNABLE_TO_COMPLETE_SECONDS",
    "Hand",
    "Measure",
    "measure_frame",
    "measure_label",
]

Measure = Literal["edss", "t25fw", "9hpt", "sdmt"]
Hand = Literal["worse", "dominant", "non_dominant"]
MEASURES: tuple[Measure, ...] = get_args(Measure)
HANDS: tuple[Hand, ...] = get_args(Hand)

UNABLE_TO_COMPLETE_SECONDS = 1.0e6
"""The time a test not completed counts as: worse than any completed time."""

_LABELS = {
    "edss": "EDSS",
    "t25fw": "timed 25-foot walk (T25FW)",
    "9hpt": "nine-hole peg test (9HPT)",
    "sdmt": "Symbol Digit Modalities Test (SDMT)",
}


def measure_label(measure: Measure, hand: Hand = "worse") -> str:
    """The measure's name for the methods text (``"EDSS"`` for EDSS)."""
    label = _LABELS[measure]
    if measure == "9hpt":
        label += {
            "worse": " of the worse (slower) hand",
            "dominant": " of the dominant hand",
            "non_dominant": " of the non-dominant hand",
        }[hand]
    return label


def _timed(frame: pd.DataFrame) -> pd.Series:
    """Seconds, with a test not completed as :data:`UNABLE_TO_COMPLETE_SECONDS`."""
    seconds = pd.to_numeric(frame["seconds"], errors="coerce").astype(float)
    unable = frame["unable_to_complete"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    return seconds.mask(unable, UNABLE_TO_COMPLETE_SECONDS)


def _shaped(patient: pd.Series, date: pd.Series, value: pd.Series) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "patient_id": patient.to_numpy(),
            "date": date.to_numpy(),
            "edss": value.to_numpy(dtype=float),
        }
    )
    out = pd.DataFrame(out[np.isfinite(out["edss"].to_numpy())].reset_index(drop=True))
    out["valid_for_confirmation"] = True
    return out


def measure_frame(cohort: Cohort, measure: Measure, hand: Hand = "worse") -> pd.DataFrame:
    """One score per patient and day of ``measure``, in the columns of the ``edss`` table.

    Parameters
    ----------
    cohort
        A validated cohort.
    measure
        ``edss`` (the table itself), ``t25fw`` (``timed_walk.seconds``), ``9hpt``
        (``peg_test.seconds``) or ``sdmt`` (``sdmt.score``).
    hand
        For the 9HPT: ``worse`` (the slower hand of the day; a day with only one hand
        tested uses that hand), ``dominant`` or ``non_dominant``. A worsening of either
        hand, each against its own reference, is a composite of the two hands
        (:meth:`~msreboot.endpoints.EndpointDefinition.cadavid_2017_edss_plus`).

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``date``, ``edss`` (the score, in the measure's unit) and
        ``valid_for_confirmation`` (True). A test not completed scores
        :data:`UNABLE_TO_COMPLETE_SECONDS`; rows with no score are left out.
    """
    if measure == "edss":
        return cohort.edss
    if measure == "t25fw":
        walk = cohort.timed_walk
        return _shaped(walk["patient_id"], walk["date"], _timed(walk))
    if measure == "sdmt":
        sdmt = cohort.sdmt
        score = pd.to_numeric(sdmt["score"], errors="coerce").astype(float)
        return _shaped(sdmt["patient_id"], sdmt["date"], score)
    if measure == "9hpt":
        peg = cohort.peg_test
        frame = pd.DataFrame(
            {
                "patient_id": peg["patient_id"].to_numpy(),
                "date": peg["date"].to_numpy(),
                "hand": peg["hand"].astype("string").to_numpy(),
                "value": _timed(peg).to_numpy(dtype=float),
            }
        )
        if hand == "worse":
            worse = frame.groupby(["patient_id", "date"], sort=False, as_index=False)["value"].max()
            return _shaped(worse["patient_id"], worse["date"], worse["value"])
        if hand in ("dominant", "non_dominant"):
            one = frame[frame["hand"].to_numpy() == hand]
            return _shaped(one["patient_id"], one["date"], one["value"])
        raise ValueError(f"hand must be one of {', '.join(HANDS)}; got {hand!r}.")
    raise ValueError(f"measure must be one of {', '.join(MEASURES)}; got {measure!r}.")
