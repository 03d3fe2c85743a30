"""Shared fixtures: a tiny hand-made valid cohort, as raw text tables."""

from __future__ import annotations

import pandas as pd
import pytest


def tiny_tables() -> dict[str, pd.DataFrame]:
    """Three patients, every table present, all values as text (as read from CSV)."""
    return {
        "patients": pd.DataFrame(
            {
                "patient_id": ["A1", "A2", "A3"],
                "sex": ["F", "M", "F"],
                "birth_date": ["1980-05-01", "1975-02-11", "1990-12-31"],
                "onset_date": ["2005-03-01", "2001-07-15", "2012-01-20"],
                "phenotype": ["RRMS", "SPMS", "RRMS"],
                "notes": ["", "second opinion", ""],
            }
        ),
        "treatments": pd.DataFrame(
            {
                "patient_id": ["A1", "A1", "A2", "A3"],
                "kind": ["dmt", "ahsct", "ahsct", "msc"],
                "start_date": ["2010-01-01", "2015-06-10", "2014-03-03", "2018-04-04"],
                "end_date": ["2015-04-01", "", "", "2018-05-04"],
                "drug": ["natalizumab", "", "", ""],
                "stop_reason": ["transplant", "", "", ""],
                "mobilisation_regimen": ["", "cy_g_csf", "g_csf", ""],
                "cd34_dose_1e6_per_kg": ["", "5.2", "3.75", ""],
                "cd34_selected": ["", "false", "true", ""],
                "conditioning_regimen": ["", "cy200_atg", "beam_atg", ""],
                "conditioning_intensity": [
                    "",
                    "intermediate_lymphoablative",
                    "intermediate_myeloablative",
                    "",
                ],
                "conditioning_start_date": ["", "2015-06-05", "2014-02-26", ""],
                "admission_date": ["", "2015-06-04", "2014-02-25", "2018-04-04"],
                "engraftment_date": ["", "2015-06-20", "2014-03-14", ""],
                "discharge_date": ["", "2015-06-28", "2014-03-25", "2018-04-05"],
                "msc_source": ["", "", "", "bone_marrow"],
                "msc_route": ["", "", "", "intravenous"],
                "msc_dose_1e6_per_kg": ["", "", "", "1.5"],
            }
        ),
        "edss": pd.DataFrame(
            {
                "patient_id": ["A1", "A1", "A1", "A2", "A2", "A3"],
                "date": [
                    "2015-05-01",
                    "2015-12-01",
                    "2016-06-01",
                    "2014-02-01",
                    "2014-09-01",
                    "2018-03-01",
                ],
                "edss": ["4.0", "3.5", "3.5", "6.0", "6.5", "2.0"],
                "valid_for_confirmation": ["", "true", "", "", "false", ""],
            }
        ),
        "relapses": pd.DataFrame(
            {
                "patient_id": ["A1", "A3"],
                "onset_date": ["2014-11-11", "2017-09-09"],
                "end_date": ["2014-12-20", ""],
            }
        ),
        "mri": pd.DataFrame(
            {
                "patient_id": ["A1", "A1", "A3"],
                "date": ["2015-04-01", "2016-04-01", "2018-02-01"],
                "gd_lesions": ["3", "0", "1"],
                "new_t2_lesions": ["", "0", "2"],
            }
        ),
        "adverse_events": pd.DataFrame(
            {
                "patient_id": ["A1", "A2"],
                "onset_date": ["2015-06-15", "2014-03-10"],
                "category": ["febrile_neutropenia", "infection"],
                "grade": ["3", "5"],
                "detail": ["", "line infection"],
            }
        ),
        "deaths": pd.DataFrame(
            {
                "patient_id": ["A2"],
                "date": ["2014-09-01"],
                "cause": ["infection"],
                "transplant_related": ["yes"],
            }
        ),
    }


@pytest.fixture
def tables() -> dict[str, pd.DataFrame]:
    return tiny_tables()
