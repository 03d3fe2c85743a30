"""Where calibration simulations run: in this process, on local cores, or on Spark.

An executor maps a picklable function over a list of tasks and returns the results in
task order. Each task carries its own seed, so the results do not depend on which
executor (or how many workers) computed them.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Protocol, TypeVar

__all__ = ["Executor", "LocalExecutor", "SerialExecutor", "SparkExecutor", "make_executor"]

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """Maps a function over tasks, results in task order."""

    name: str

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> list[R]: ...

    def close(self) -> None: ...


class SerialExecutor:
    """Everything in this process (tests, debugging)."""

    name = "serial"

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> list[R]:
        return [fn(t) for t in tasks]

    def close(self) -> None:
        pass


def _one_thread() -> None:
    """Worker start-up: one compiled-kernel thread per process (the processes are the
    parallelism; more threads than cores make numba's workers spin against each other)."""
    import numba

    numba.set_num_threads(1)


class LocalExecutor:
    """A pool of worker processes on this machine (``spawn``ed: safe with threads)."""

    name = "local"

    def __init__(self, processes: int | None = None) -> None:
        self.processes = processes or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> list[R]:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_one_thread,
            )
        return list(self._pool.map(fn, tasks, chunksize=1))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


class SparkExecutor:
    """Tasks as Spark tasks on a cluster (``spark://host:7077``, ``yarn``) or in local
    mode (``local[2]``). Needs the ``pyspark`` package and Java; the workers need msreboot
    installed in the same Python as the driver."""

    name = "spark"

    def __init__(self, master: str, app_name: str = "msreboot-calibrate") -> None:
        try:
            from pyspark import SparkConf, SparkContext  # type: ignore[import-not-found,unused-ignore]
        except ImportError:  # pragma: no cover (depends on the installation)
            raise RuntimeError(
                "running on Spark needs pyspark: pip install 'msreboot[spark]' (and Java 17+)"
            ) from None
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        conf = (
            SparkConf()
            .setMaster(master)
            .setAppName(app_name)
            .set("spark.ui.enabled", "false")
            .set("spark.executorEnv.NUMBA_NUM_THREADS", "1")
        )
        self.master = master
        self._context: Any = SparkContext.getOrCreate(conf)
        self._context.setLogLevel("ERROR")

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> list[R]:
        if not tasks:
            return []
        rdd = self._context.parallelize(list(tasks), len(tasks))
        return list(rdd.map(fn).collect())

    def close(self) -> None:
        self._context.stop()


def make_executor(cluster: str | None = None, processes: int | None = None) -> Executor:
    """Spark when a cluster address is given, else local processes (one per core; one
    process runs serially)."""
    if cluster:
        return SparkExecutor(cluster)
    if processes == 1:
        return SerialExecutor()
    return LocalExecutor(processes)
