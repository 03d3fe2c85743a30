"""Patient partitions on Apache Spark, and disability events computed on them.

The cohort's patients are cut into contiguous ranges of patient ids (every row of a
patient in one partition); each partition travels as one row of a Spark DataFrame keyed
by its number, and ``groupBy("partition").applyInPandas`` rebuilds it into a cohort
(:meth:`Cohort.from_canonical`, no re-validation) and runs the same per-patient code as
one machine: :func:`endpoint_times` for endpoints (:mod:`._partitioned`),
:func:`detect_disability_events` for disability events. The tables travel pickled, so
every pandas dtype comes back as it left. The driver puts the partitions' rows back in the
one-machine order; the Kaplan-Meier and Aalen-Johansen estimates, which need every
patient, run on the driver.
"""

from __future__ import annotations

import os
import pickle
import re
import sys
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from msreboot.data import TABLE_NAMES, Cohort
from msreboot.endpoints._transplant import first_course_start
from msreboot.exceptions import MissingDependencyError

if TYPE_CHECKING:  # the detection module imports this one
    from msreboot.endpoints._disability import DisabilityEvents
    from msreboot.endpoints._disability_rules import DisabilityDefinition

__all__ = [
    "anchor_parts",
    "cohort_parts",
    "count_parts",
    "partitioned_disability_events",
    "run_on_spark",
    "spark_session",
    "stack_parts",
]

_SCHEMA = "partition int, payload binary"
_MAX_PATIENTS = 2000
# the order in which the disability border lists its exclusions and notes
_EXCLUSION_ORDER = ("no anchor date", "no assessment on or before the anchor date")
_NOTE_ORDER = ("without a date or value", "same-day duplicate", "unconfirmed changes")


def spark_session(cluster: str) -> Any:
    """A Spark session on ``cluster`` (``local[2]``, ``spark://host:7077``, ``yarn``)."""
    try:
        from pyspark.sql import SparkSession  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:  # pragma: no cover (depends on the installation)
        raise MissingDependencyError(
            "running on Spark needs pyspark; install it with `pip install 'msreboot[spark]'` "
            "(and Java 17+)."
        ) from exc
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master(cluster)
        .appName("msreboot-endpoints")
        .config("spark.ui.enabled", "false")
        .config("spark.executorEnv.NUMBA_NUM_THREADS", "1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def _parts_of(ids: pd.Series, order: pd.Index, n_parts: int) -> np.ndarray:
    """Partition number of each row: contiguous ranges of ``order`` (unknown ids: 0)."""
    pos = order.get_indexer(pd.Index(ids.astype("string")))
    return np.where(pos < 0, 0, pos * n_parts // max(len(order), 1)).astype(np.int64)


def _split(frame: pd.DataFrame, parts: np.ndarray, n_parts: int, fresh: bool) -> list[Any]:
    """The rows of each partition, in their order (``fresh``: a 0-based index)."""
    out = []
    for p in range(n_parts):
        piece = frame[parts == p]
        out.append(piece.reset_index(drop=True) if fresh else piece)
    return out


def run_on_spark(cluster: str, payloads: list[bytes], work: Callable[[bytes], bytes]) -> list[Any]:
    """``work`` on every payload, one Spark group each; results in partition order."""
    session = spark_session(cluster)
    frame = session.createDataFrame(list(enumerate(payloads)), _SCHEMA)
    frame = frame.repartition(len(payloads), "partition")

    def apply(group: pd.DataFrame) -> pd.DataFrame:
        return _apply(work, group)

    done = frame.groupBy("partition").applyInPandas(apply, _SCHEMA).collect()
    by_part = {int(row["partition"]): pickle.loads(row["payload"]) for row in done}
    return [by_part[p] for p in range(len(payloads))]


def _apply(work: Callable[[bytes], bytes], group: pd.DataFrame) -> pd.DataFrame:
    """One group (one partition row) through ``work``."""
    return pd.DataFrame(
        {"partition": group["partition"].to_numpy(), "payload": [work(group["payload"].iloc[0])]}
    )


def count_parts(cluster: str, n_ids: int, partitions: int | None) -> int:
    """The cluster's parallelism, or more so that a partition holds at most
    ``_MAX_PATIENTS`` patients (one Spark row must stay small for the JVM)."""
    if partitions is None:
        parallelism = int(spark_session(cluster).sparkContext.defaultParallelism)
        partitions = max(parallelism, -(-n_ids // _MAX_PATIENTS))
    return max(1, min(partitions, max(n_ids, 1)))


def cohort_parts(cohort: Cohort, order: pd.Index, n_parts: int) -> list[dict[str, pd.DataFrame]]:
    tables: list[dict[str, pd.DataFrame]] = [{} for _ in range(n_parts)]
    for name in TABLE_NAMES:
        frame = cohort.table(name)
        pieces = _split(frame, _parts_of(frame["patient_id"], order, n_parts), n_parts, True)
        for p in range(n_parts):
            tables[p][name] = pieces[p]
    return tables


def anchor_parts(
    anchor: Any, order: pd.Index, n_parts: int, column: str = "patient_id"
) -> list[Any]:
    if not isinstance(anchor, pd.DataFrame) or column not in anchor:
        return [anchor] * n_parts
    return _split(anchor, _parts_of(anchor[column], order, n_parts), n_parts, False)


# --- disability events -----------------------------------------------------------------


def _disability_work(
    detect: Callable[..., DisabilityEvents],
    definition: DisabilityDefinition,
    options: dict[str, Any],
    payload: bytes,
) -> bytes:
    data, relapses, anchor = pickle.loads(payload)
    if isinstance(data, tuple):
        data = Cohort.from_canonical(*data)
    result = detect(data, relapses, definition, anchor=anchor, **options)
    return pickle.dumps(result)


def partitioned_disability_events(
    data: Cohort | pd.DataFrame,
    relapses: pd.DataFrame | None,
    definition: DisabilityDefinition,
    *,
    anchor: str | pd.DataFrame | None,
    cluster: str,
    options: dict[str, Any],
    detect: Callable[..., DisabilityEvents],
    partitions: int | None = None,
) -> DisabilityEvents:
    """``detect`` (:func:`detect_disability_events`, run on one machine) per patient
    partition on Spark; the same result as one machine (``options``: the column-name
    keywords)."""
    patient_col = str(options.get("patient_col", "patient_id"))
    if isinstance(data, Cohort):
        ids = data.edss["patient_id"].astype("string")
    else:
        ids = (
            data[patient_col].astype("string")
            if patient_col in data
            else pd.Series([], dtype="string")
        )
    order = pd.Index(np.sort(np.asarray(ids.dropna().unique(), dtype=object)), dtype="string")
    n_parts = count_parts(cluster, len(order), partitions)
    if isinstance(anchor, str):
        if not isinstance(data, Cohort):  # the one-machine error, raised here
            return detect(data, relapses, definition, anchor=anchor, **options)
        # time zero from the whole cohort (a partition may hold no course of the kind)
        start = first_course_start(data, anchor)
        anchor = pd.DataFrame({"patient_id": start.index, "anchor_date": start.to_numpy()})
    anchors = anchor_parts(anchor, order, n_parts, patient_col)
    payloads = []
    if isinstance(data, Cohort):
        tables = cohort_parts(data, order, n_parts)
        for p in range(n_parts):
            payloads.append(pickle.dumps(((tables[p], data.time_unit), None, anchors[p])))
    else:
        edss = _split(data, _parts_of(ids, order, n_parts), n_parts, False)
        rel: list[Any] = [relapses] * n_parts
        if relapses is not None and patient_col in relapses:
            rel_parts = _parts_of(relapses[patient_col], order, n_parts)
            rel = _split(relapses, rel_parts, n_parts, False)
        for p in range(n_parts):
            payloads.append(pickle.dumps((edss[p], rel[p], anchors[p])))
    results: list[DisabilityEvents] = run_on_spark(
        cluster, payloads, partial(_disability_work, detect, definition, dict(options))
    )
    return _merge_disability(results)


def stack_parts(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The partitions' rows in one frame. Partitions without rows are left out (pandas
    deprecates letting an empty frame take part in the result's dtypes); when every one is
    empty, the first gives the columns."""
    full = [f for f in frames if len(f)]
    return pd.concat(full, ignore_index=True) if full else frames[0].iloc[:0]


def _merge_disability(results: list[DisabilityEvents]) -> DisabilityEvents:
    def cat(name: str) -> pd.DataFrame:
        return stack_parts([getattr(r, name) for r in results])

    excluded = cat("excluded")
    rank = [
        _EXCLUSION_ORDER.index(r) if r in _EXCLUSION_ORDER else len(_EXCLUSION_ORDER)
        for r in excluded["reason"]
    ]
    excluded = excluded.iloc[np.argsort(np.asarray(rank, dtype=np.int64), kind="stable")]
    return replace(
        results[0],
        events=cat("events"),
        patients=cat("patients"),
        unconfirmed=cat("unconfirmed"),
        excluded=excluded.reset_index(drop=True),
        warnings=_merge_notes([r.warnings for r in results]),
    )


def _merge_notes(notes: list[tuple[str, ...]]) -> tuple[str, ...]:
    """Partition notes as one machine writes them: the counts in each note summed."""
    totals: dict[str, list[int]] = {}
    for note in (n for part in notes for n in part):
        template = re.sub(r"\d+", "{}", note)
        counts = [int(c) for c in re.findall(r"\d+", note)]
        totals[template] = (
            counts
            if template not in totals
            else [a + b for a, b in zip(totals[template], counts, strict=True)]
        )

    def rank(template: str) -> int:
        return next((i for i, k in enumerate(_NOTE_ORDER) if k in template), len(_NOTE_ORDER))

    ordered = sorted(totals, key=rank)
    return tuple(t.format(*totals[t]) for t in ordered)
