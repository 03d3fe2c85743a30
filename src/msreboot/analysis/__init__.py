"""A cohort analysed once, for every front end.

:func:`analyse_cohort` computes everything the report, the CLI and the dashboard show about
a cohort (:class:`CohortAnalysis`): the description by treatment group with Table 1, the
endpoint estimates, the disease course around treatment (EDSS trajectories, relapses, MRI),
the transplant outcomes and the cohort beside the published evidence, with a virtual trial
beside it when one is given. The front ends only render these results.
"""

from msreboot.analysis._analysis import (
    DEFAULT_ENDPOINTS,
    MAX_AXIS_YEARS,
    CohortAnalysis,
    analyse_cohort,
    time_axis_years,
)
from msreboot.analysis._course import (
    BIN_YEARS,
    MIN_PATIENTS_PER_BIN,
    DiseaseCourse,
    EDSSTrajectories,
    disease_course,
    edss_trajectories,
)
from msreboot.analysis._description import (
    GROUP_ORDER,
    TABLE_ONE_ROWS,
    CohortDescription,
    describe_groups,
    index_dates,
    last_contact,
    treatment_groups,
)
from msreboot.analysis._evidence import (
    EvidenceBeside,
    PublishedLandmark,
    evidence_citations,
    published_landmarks,
    set_beside_evidence,
)

__all__ = [
    "BIN_YEARS",
    "DEFAULT_ENDPOINTS",
    "GROUP_ORDER",
    "MAX_AXIS_YEARS",
    "MIN_PATIENTS_PER_BIN",
    "TABLE_ONE_ROWS",
    "CohortAnalysis",
    "CohortDescription",
    "DiseaseCourse",
    "EDSSTrajectories",
    "EvidenceBeside",
    "PublishedLandmark",
    "analyse_cohort",
    "describe_groups",
    "disease_course",
    "edss_trajectories",
    "evidence_citations",
    "index_dates",
    "last_contact",
    "published_landmarks",
    "set_beside_evidence",
    "time_axis_years",
    "treatment_groups",
]
