"""Endpoint times per patient partition on Apache Spark.

The partitions of :mod:`._partitions` each run :func:`endpoint_times` of every definition
(one rebuilt cohort per partition, so the definitions share their per-patient values);
the driver puts the rows back in the one-machine order. The Kaplan-Meier and
Aalen-Johansen estimates, which need every patient, run on the driver
(:func:`estimate_endpoints`).
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from functools import partial

import numpy as np
import pandas as pd

from msreboot.data import Cohort
from msreboot.endpoints._composite import Anchor, EndpointTimes, anchor_days, endpoint_times
from msreboot.endpoints._definitions import EndpointDefinition
from msreboot.endpoints._partitions import (
    anchor_parts,
    cohort_parts,
    count_parts,
    run_on_spark,
    stack_parts,
)

__all__ = ["partitioned_endpoint_times"]

_DIED_EARLY = "died before time zero"


def _endpoint_work(definitions: Sequence[EndpointDefinition], payload: bytes) -> bytes:
    tables, time_unit, anchor = pickle.loads(payload)
    part = Cohort.from_canonical(tables, time_unit)
    if isinstance(anchor, str) and not (part.treatments["kind"] == anchor).any():
        return pickle.dumps(None)  # no patient of this partition has time zero
    times = [endpoint_times(part, d, anchor=anchor) for d in definitions]
    return pickle.dumps([(t.patients, t.excluded) for t in times])


def partitioned_endpoint_times(
    cohort: Cohort,
    definitions: Sequence[EndpointDefinition],
    *,
    anchor: Anchor,
    cluster: str,
    partitions: int | None = None,
) -> list[EndpointTimes]:
    """:func:`endpoint_times` of each definition, computed per patient partition on Spark;
    the same frames as one machine."""
    day0 = pd.Index(anchor_days(cohort, anchor).index.astype("string"))  # checks the anchor
    order = pd.Index(cohort.patients["patient_id"].astype("string"))
    n_parts = count_parts(cluster, len(order), partitions)
    tables = cohort_parts(cohort, order, n_parts)
    anchors = anchor_parts(anchor, order, n_parts)
    payloads = [pickle.dumps((tables[p], cohort.time_unit, anchors[p])) for p in range(n_parts)]
    results = [
        r
        for r in run_on_spark(cluster, payloads, partial(_endpoint_work, list(definitions)))
        if r is not None
    ]
    label = anchor if isinstance(anchor, str) else "table"
    out = []
    for i, definition in enumerate(definitions):
        patients = stack_parts([r[i][0] for r in results])
        keys = day0.get_indexer(pd.Index(patients["patient_id"]))
        patients = patients.iloc[np.argsort(keys, kind="stable")].reset_index(drop=True)
        excluded = _endpoint_excluded(stack_parts([r[i][1] for r in results]), day0)
        out.append(EndpointTimes(definition, patients, excluded, label))
    return out


def _endpoint_excluded(excluded: pd.DataFrame, day0: pd.Index) -> pd.DataFrame:
    """The one-machine order: the components' exclusions (in patient order) before deaths
    before time zero (in time-zero order)."""
    died = (excluded["reason"] == _DIED_EARLY).to_numpy(dtype=bool)
    deaths = excluded[died]
    deaths = deaths.iloc[
        np.argsort(day0.get_indexer(pd.Index(deaths["patient_id"])), kind="stable")
    ]
    return pd.concat([excluded[~died], deaths], ignore_index=True)
