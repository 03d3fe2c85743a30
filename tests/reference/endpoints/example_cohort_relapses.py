"""Per-patient relapses and follow-up in the bundled example cohort, as a table for R.

Run from the repository root (it writes ``example_cohort_relapses.csv`` beside itself):
    .venv/bin/python tests/reference/endpoints/example_cohort_relapses.py

One row per patient and period, from ``relapse_rates(...).per_patient``: period ``after``
(on or after each patient's first AHSCT, transplanted patients only) and ``all`` (whole
follow-up, every patient). ``years`` is written with full precision. ``phenotype`` comes
from the patients table; ``treatment`` is ``ahsct`` for patients with an AHSCT course and
``no_ahsct`` otherwise. nb_rate_ratio_reference.R fits negative-binomial models to it, and
tests/endpoints/test_rate_ratio.py checks that the CSV still matches this derivation, so the
R reference cannot drift from the bundled data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from msreboot.data import Cohort
from msreboot.datasets import load_example
from msreboot.endpoints import relapse_rates

OUTPUT = Path(__file__).with_name("example_cohort_relapses.csv")


def example_cohort_relapses(cohort: Cohort | None = None) -> pd.DataFrame:
    """Columns patient_id, period, relapses, years, phenotype, treatment."""
    cohort = load_example() if cohort is None else cohort
    parts = [
        relapse_rates(cohort).per_patient.query("period == 'after'"),
        relapse_rates(cohort, anchor=None).per_patient,
    ]
    rows = pd.concat(parts, ignore_index=True)[["patient_id", "period", "relapses", "years"]]
    patients = cohort.patients
    transplanted = set(cohort.treatments.loc[cohort.treatments["kind"] == "ahsct", "patient_id"])
    groups = pd.DataFrame(
        {
            "patient_id": patients["patient_id"].astype(str),
            "phenotype": patients["phenotype"].astype(str),
            "treatment": np.where(patients["patient_id"].isin(transplanted), "ahsct", "no_ahsct"),
        }
    )
    rows["patient_id"] = rows["patient_id"].astype(str)
    out = rows.merge(groups, on="patient_id", how="left", validate="many_to_one")
    return out.sort_values(["period", "patient_id"], ignore_index=True)


if __name__ == "__main__":
    example_cohort_relapses().to_csv(OUTPUT, index=False, float_format="%.17g")
