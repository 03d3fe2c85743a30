"""Endpoints and disability events per patient partition on Spark's local mode give the
same frames as one machine (dtypes, order and values exact)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from msreboot.datasets import load_example
from msreboot.endpoints import (
    BaselineRule,
    DisabilityDefinition,
    DisabilityEvents,
    detect_disability_events,
    estimate_endpoints,
)
from msreboot.endpoints._composite import endpoint_times
from msreboot.endpoints._definitions import EndpointDefinition
from msreboot.endpoints._partitioned import partitioned_endpoint_times
from msreboot.endpoints._partitions import _merge_notes, partitioned_disability_events


def _spark_missing() -> str | None:
    if shutil.which("java") is None:
        return "Java is not installed"
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed"
    return None


spark = pytest.mark.skipif(_spark_missing() is not None, reason=str(_spark_missing()))
CLUSTER = "local[2]"


@pytest.fixture(scope="module")
def session() -> Iterator[Any]:
    import os

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from msreboot.endpoints._partitions import spark_session

    active = spark_session(CLUSTER)
    active.conf.set("spark.sql.shuffle.partitions", "3")
    yield active
    active.stop()


def _same_events(a: DisabilityEvents, b: DisabilityEvents) -> None:
    for name in ("events", "patients", "unconfirmed", "excluded"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    assert a.warnings == b.warnings
    assert a.anchored == b.anchored


def test_notes_of_partitions_add_up_in_the_one_machine_order() -> None:
    merged = _merge_notes(
        [
            ("2 same-day duplicate assessment(s) were dropped",),
            (
                "1 assessment(s) without a date or value were ignored",
                "3 same-day duplicate assessment(s) were dropped",
            ),
            (),
        ]
    )
    assert merged == (
        "1 assessment(s) without a date or value were ignored",
        "5 same-day duplicate assessment(s) were dropped",
    )


@pytest.mark.slow
@spark
@pytest.mark.parametrize("partitions", [1, 3, 7])
def test_endpoint_times_per_partition_equal_one_machine(session: Any, partitions: int) -> None:
    cohort = load_example()
    definitions = list(EndpointDefinition.presets().values())
    spread = partitioned_endpoint_times(
        cohort, definitions, anchor="ahsct", cluster=CLUSTER, partitions=partitions
    )
    for definition, times in zip(definitions, spread, strict=True):
        alone = endpoint_times(cohort, definition, anchor="ahsct")
        pd.testing.assert_frame_equal(times.patients, alone.patients, check_exact=True)
        pd.testing.assert_frame_equal(times.excluded, alone.excluded, check_exact=True)
        assert times.anchor == alone.anchor


@spark
def test_an_anchor_table_in_any_order_travels_with_the_partitions(session: Any) -> None:
    cohort = load_example()
    rng = np.random.default_rng(3)
    ids = cohort.patients["patient_id"].sample(frac=0.8, random_state=4).to_numpy()
    anchor = pd.DataFrame(
        {
            "patient_id": [*ids, "NOT-IN-COHORT"],
            "anchor_date": [
                *(
                    pd.Timestamp("2012-01-01")
                    + pd.to_timedelta(rng.integers(0, 2000, len(ids)), "D")
                ),
                pd.Timestamp("2015-01-01"),
            ],
        }
    )
    definitions = [
        EndpointDefinition.halt_ms_efs(),
        EndpointDefinition.presets()["muraro_2017_pfs"],
    ]
    spread = partitioned_endpoint_times(
        cohort, definitions, anchor=anchor, cluster=CLUSTER, partitions=3
    )
    for definition, times in zip(definitions, spread, strict=True):
        alone = endpoint_times(cohort, definition, anchor=anchor)
        pd.testing.assert_frame_equal(times.patients, alone.patients, check_exact=True)
        pd.testing.assert_frame_equal(times.excluded, alone.excluded, check_exact=True)


@spark
def test_estimate_endpoints_on_a_cluster_equals_one_machine(session: Any) -> None:
    cohort = load_example()
    for by in (None, "phenotype"):
        alone = estimate_endpoints(cohort, by=by)
        spread = estimate_endpoints(cohort, by=by, cluster=CLUSTER)
        pd.testing.assert_frame_equal(spread.to_frame(), alone.to_frame(), check_exact=True)


@spark
@pytest.mark.parametrize(
    "definition",
    [
        DisabilityDefinition(),
        DisabilityDefinition(
            event="all", classify_raw_pira=True, baseline=BaselineRule(kind="roving")
        ),
    ],
    ids=["first_cdw", "all_roving_raw_pira"],
)
@pytest.mark.parametrize("anchor", [None, "ahsct"])
def test_disability_events_of_a_cohort_per_partition(
    session: Any, definition: DisabilityDefinition, anchor: str | None
) -> None:
    cohort = load_example()
    alone = detect_disability_events(cohort, definition=definition, anchor=anchor)
    spread = partitioned_disability_events(
        cohort,
        None,
        definition,
        anchor=anchor,
        cluster=CLUSTER,
        options={},
        detect=detect_disability_events,
        partitions=4,
    )
    _same_events(spread, alone)


@spark
def test_disability_events_of_plain_tables_with_notes_per_partition(session: Any) -> None:
    cohort = load_example()
    edss = cohort.edss.sample(frac=1, random_state=5)
    edss = pd.concat([edss, edss.iloc[:40]])  # same-day duplicates
    edss.loc[edss.index[3], "edss"] = np.nan  # a missing value
    anchor = pd.DataFrame(
        {
            "patient_id": cohort.patients["patient_id"].iloc[::2],
            "anchor_date": pd.Timestamp("2014-06-01"),
        }
    )
    definition = DisabilityDefinition(event="all", baseline=BaselineRule(kind="roving"))
    alone = detect_disability_events(edss, cohort.relapses, definition, anchor=anchor)
    assert alone.warnings
    assert len(alone.excluded)
    spread = partitioned_disability_events(
        edss,
        cohort.relapses,
        definition,
        anchor=anchor,
        cluster=CLUSTER,
        options={},
        detect=detect_disability_events,
        partitions=3,
    )
    _same_events(spread, alone)


@spark
def test_the_endpoints_command_takes_the_cluster_option(session: Any, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from msreboot.cli import app
    from msreboot.datasets import example_path

    tables = []
    for name, extra in (("one", []), ("spark", ["--cluster", CLUSTER])):
        target = tmp_path / f"{name}.parquet"
        args = ["--no-progress", "endpoints", str(example_path()), "--out", str(target), *extra]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        tables.append(pd.read_parquet(target))
    pd.testing.assert_frame_equal(tables[1], tables[0], check_exact=True)


@spark
def test_detect_disability_events_takes_a_cluster(session: Any) -> None:
    cohort = load_example()
    edss = cohort.edss.rename(columns={"patient_id": "who", "edss": "score"})
    relapses = cohort.relapses.rename(columns={"patient_id": "who"})
    kwargs: dict[str, Any] = {"patient_col": "who", "value_col": "score"}
    alone = detect_disability_events(edss, relapses, **kwargs)
    spread = detect_disability_events(edss, relapses, cluster=CLUSTER, **kwargs)
    _same_events(spread, alone)
    _same_events(
        detect_disability_events(cohort, anchor="ahsct", cluster=CLUSTER),
        detect_disability_events(cohort, anchor="ahsct"),
    )
