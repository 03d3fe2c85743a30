"""Running a virtual trial: every replicate simulated in the canonical tables and analysed
with :mod:`msreboot.endpoints`, exactly as a real cohort would be analysed (per-arm
landmark estimates, hazard ratios and log-rank tests), gathered in a :class:`TrialResult`
with power across replicates and the published values beside the simulated ones.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from msreboot.data import Cohort
from msreboot.endpoints import compare_endpoint, estimate_endpoint
from msreboot.simulate import SimulationParameters, simulate_cohort
from msreboot.trials._spec import TrialSpec, load_trial_spec, split_counts, treatments_of_arm
from msreboot.trials._statistics import RATIO_STATISTICS, arm_statistic

__all__ = [
    "TrialResult",
    "analyse_replicate",
    "landmark_read_times",
    "published_statistics",
    "run_trial",
    "simulate_replicate",
    "time_zero",
]


def _combine(cohorts: Sequence[Cohort]) -> Cohort:
    """One cohort from several (distinct patient ids), in canonical row order."""
    from msreboot.data import canonical_order

    tables = {
        name: pd.concat([c.tables[name] for c in cohorts], ignore_index=True)
        for name in cohorts[0].tables
    }
    return Cohort.from_canonical(canonical_order(tables), "day")


def simulate_replicate(
    spec: TrialSpec, replicate: int, parameters: SimulationParameters | None = None
) -> tuple[Cohort, pd.Series]:
    """One replicate of the trial: the combined cohort and each patient's arm.

    With subpopulations, each arm is split by their shares (largest remainders), and each
    part by the arm's protocol mixture; course ``k`` of subpopulation ``j`` draws from
    ``SeedSequence(seed, spawn_key=(r, a, k, j))`` and its patient ids carry its name.
    """
    schedule = spec.visit_schedule()
    populations = spec.population_specs()
    if parameters is None:
        parameters = spec.simulation_parameters()
    cohorts, arms = [], []
    for a, arm in enumerate(spec.arms):
        counts = split_counts(arm.n, [share for _, share, _ in populations])
        for j, ((name, _, population), count) in enumerate(zip(populations, counts, strict=True)):
            if not count:
                continue
            part = arm if count == arm.n else arm.model_copy(update={"n": count})
            for k, (n, treatment) in enumerate(treatments_of_arm(part)):
                key = (replicate, a, k) if not spec.subpopulations else (replicate, a, k, j)
                sim = simulate_cohort(
                    n,
                    population,
                    treatment,
                    schedule,
                    spec.follow_up_years,
                    parameters,
                    seed=np.random.SeedSequence(spec.seed, spawn_key=key),
                    id_prefix=f"{arm.name}{k}_" + (f"{name}_" if spec.subpopulations else ""),
                    validate=False,
                )
                cohorts.append(sim.cohort)
                arms.append(pd.Series(arm.name, index=sim.cohort.patients["patient_id"]))
    return _combine(cohorts), pd.concat(arms)


_STATISTICS_COLUMNS = ["replicate", "published", "statistic", "arm", "time_years", "value"]


_PUBLISHED_COLUMNS = [
    "trial",
    "statistic",
    "endpoint",
    "arm",
    "time_years",
    "published",
    "published_ci_low",
    "published_ci_high",
    "simulated",
    "simulated_low",
    "simulated_high",
    "inside",
    "replicates",
    "n",
    "subgroup",
    "source",
]


class TrialResult(BaseModel):
    """The replicates of a virtual trial, analysed.

    Attributes
    ----------
    spec
        The trial spec.
    estimates
        One row per replicate, endpoint, arm and landmark: ``n``, ``events``,
        ``n_at_risk``, ``estimate``, ``ci_low``, ``ci_high``.
    hazard_ratios
        One row per replicate, endpoint and non-reference arm: ``hazard_ratio``, its
        interval and Wald ``p_value``, the log-rank ``log_rank_p`` (two or more arms), and
        ``hr_reliable`` (false when the Cox fit warned, e.g. an arm without events, whose
        hazard ratio tends to 0 or infinity; the log-rank test stays valid).
    statistics
        One row per replicate and ``[[published]]`` value whose statistic is neither a
        landmark nor a hazard ratio (:func:`published_statistics`): ``published`` (the
        value's position in the spec), ``statistic``, ``arm``, ``time_years``, ``value``.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    spec: TrialSpec
    estimates: pd.DataFrame
    hazard_ratios: pd.DataFrame
    statistics: pd.DataFrame = Field(
        default_factory=lambda: pd.DataFrame(columns=_STATISTICS_COLUMNS)
    )

    def power(self, endpoint: str | None = None) -> float:
        """Share of replicates whose log-rank test is significant at ``analysis.alpha``
        (primary endpoint by default); ``nan`` for single-arm trials."""
        name = endpoint or self.spec.analysis.primary or self.spec.analysis.endpoints[0]
        rows = self.hazard_ratios[self.hazard_ratios["endpoint"] == name]
        if rows.empty:
            return float("nan")
        per_replicate = rows.groupby("replicate")["log_rank_p"].first()
        return float((per_replicate < self.spec.analysis.alpha).mean())

    def table(self) -> pd.DataFrame:
        """Mean estimate across replicates per endpoint, arm and landmark, with the
        Monte Carlo SD and the mean interval."""
        keys = ["endpoint", "arm", "time_years"]
        grouped = self.estimates.groupby(keys, sort=False)
        return grouped.agg(
            replicates=("estimate", "size"),
            estimate=("estimate", "mean"),
            mc_sd=("estimate", "std"),
            ci_low=("ci_low", "mean"),
            ci_high=("ci_high", "mean"),
            n=("n", "mean"),
            events=("events", "mean"),
        ).reset_index()

    def compare_published(self) -> pd.DataFrame:
        """Each published value beside the simulated mean (ratios: median) and its
        2.5-97.5% range over replicates, with ``inside``: whether the published value lies
        in that range (``<NA>`` without simulated values).

        Landmarks compare the arm's estimate at ``time_years``; hazard ratios the arm's
        hazard ratio against the reference arm in the replicates whose Cox fit is reliable;
        every other statistic its value in each replicate (:func:`published_statistics`;
        replicates where it cannot be formed, e.g. a rate ratio over an arm without
        relapses, are left out and counted in ``replicates``). A published value always
        names its arm when the trial has several (never an average over arms).
        """
        rows = []
        for i, value in enumerate(self.spec.published):
            arm = value.arm or self.spec.arms[0].name  # one arm (else required)
            if value.statistic not in ("landmark", "hazard_ratio"):
                sel = self.statistics[self.statistics["published"] == i]
                sims = sel["value"].to_numpy(dtype=float)
                sims = sims[np.isfinite(sims)]
                middle = np.median if value.statistic in RATIO_STATISTICS else np.mean
                centre = float(middle(sims)) if len(sims) else np.nan
            elif value.statistic == "hazard_ratio":
                ratios = self.hazard_ratios
                sel = ratios[
                    (ratios["endpoint"] == value.endpoint)
                    & (ratios["arm"] == arm)
                    & ratios["hr_reliable"].astype(bool)
                ]
                sims = sel["hazard_ratio"].dropna().to_numpy(dtype=float)
                centre = float(np.median(sims)) if len(sims) else np.nan
            else:
                sel = self.estimates[
                    (self.estimates["endpoint"] == value.endpoint)
                    & np.isclose(self.estimates["time_years"], float(value.time_years or 0.0))
                    & (self.estimates["arm"] == arm)
                ]
                sims = sel["estimate"].dropna().to_numpy(dtype=float)
                centre = float(np.mean(sims)) if len(sims) else np.nan
            low = float(np.quantile(sims, 0.025)) if len(sims) else np.nan
            high = float(np.quantile(sims, 0.975)) if len(sims) else np.nan
            rows.append(
                {
                    "trial": self.spec.name,
                    "statistic": value.statistic,
                    "endpoint": value.endpoint or "",
                    "arm": arm,
                    "time_years": value.time_years if value.time_years is not None else np.nan,
                    "published": value.value,
                    "published_ci_low": value.ci_low,
                    "published_ci_high": value.ci_high,
                    "simulated": centre,
                    "simulated_low": low,
                    "simulated_high": high,
                    "inside": bool(low <= value.value <= high) if len(sims) else pd.NA,
                    "replicates": len(sims),
                    "n": value.n,
                    "subgroup": value.subgroup,
                    "source": value.source,
                }
            )
        return pd.DataFrame(rows, columns=_PUBLISHED_COLUMNS)

    def to_frame(self) -> pd.DataFrame:
        return self.table()

    def summary(self) -> str:
        spec = self.spec
        lines = [
            f"{spec.title or spec.name}: {spec.replicates} replicate(s), arms "
            + ", ".join(f"{a.name} (n={a.n})" for a in spec.arms)
            + f", {spec.follow_up_years:g} years, seed {spec.seed}"
        ]
        for row in self.table().to_dict("records"):
            mc_sd = float(row["mc_sd"])
            sd = "" if np.isnan(mc_sd) else f" (MC SD {100 * mc_sd:.1f})"
            value = float(row["estimate"])
            shown = "NA (beyond follow-up)" if np.isnan(value) else f"{100 * value:.1f}%{sd}"
            lines.append(
                f"  {row['endpoint']} [{row['arm']}] {float(row['time_years']):g} y: {shown}"
            )
        if len(spec.arms) > 1:
            ratios = self.hazard_ratios.assign(
                reliable_hr=self.hazard_ratios["hazard_ratio"].where(
                    self.hazard_ratios["hr_reliable"].astype(bool)
                )
            )
            hr = ratios.groupby(["endpoint", "arm"])["reliable_hr"].median().reset_index()
            for row in hr.to_dict("records"):
                value = float(row["reliable_hr"])
                shown = (
                    f"{value:.3g}"
                    if np.isfinite(value)
                    else "not estimable (no replicate with events in every arm)"
                )
                lines.append(f"  {row['endpoint']}: median HR {row['arm']} vs reference {shown}")
            lines.append(
                f"  power of the primary endpoint (log-rank, alpha "
                f"{spec.analysis.alpha:g}): {100 * self.power():.0f}%"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def time_zero(spec: TrialSpec, arms: pd.Series) -> str | pd.DataFrame:
    """The anchor of a replicate's analysis: each patient's reinfusion (``"ahsct"``) or
    enrolment (day 0 of every patient)."""
    if spec.analysis.anchor == "ahsct":
        return "ahsct"
    return pd.DataFrame({"patient_id": arms.index, "anchor_date": 0})


def landmark_read_times(spec: TrialSpec) -> np.ndarray:
    """The years each landmark is read at: the landmark itself, or, for a landmark in the
    window of the last scheduled visit, the window's start.

    Visit days are whole days (year 1 is day 365, not 365.25) and jittered by up to
    ``jitter_days``, so a landmark at the last visit can fall after every patient's last
    contact and would read as ``nan``. With time zero at enrolment, a landmark of ``T``
    days with ``last - jitter < T <= last + jitter + 1`` (``last``: the last scheduled
    assessment day) is read at day ``last - jitter`` and reported under its own year.
    Other landmarks, and every landmark with time zero at AHSCT (whose follow-up after
    reinfusion varies by patient), are read as given.
    """
    times = np.asarray(spec.analysis.times_years, dtype=float)
    if spec.analysis.anchor != "enrolment":
        return times
    schedule = spec.visit_schedule()
    last = schedule.last_day(spec.follow_up_years)
    jitter = schedule.jitter_days
    days = times * 365.25
    slack = 1e-6  # years written as decimals do not round-trip to whole days exactly
    inside = (days > last - jitter + slack) & (days <= last + jitter + 1 + slack)
    return np.where(inside, (last - jitter) / 365.25, times)


def analyse_replicate(
    spec: TrialSpec, cohort: Cohort, arms: pd.Series, replicate: int
) -> tuple[list[pd.DataFrame], list[dict[str, Any]]]:
    """Estimates (and comparisons) of every endpoint in one replicate (landmarks read at
    :func:`landmark_read_times`)."""
    anchor = time_zero(spec, arms)
    asked = np.asarray(spec.analysis.times_years, dtype=float)
    read = landmark_read_times(spec)
    times = tuple(float(t) for t in read)

    def relabel(frame: pd.DataFrame) -> pd.DataFrame:
        # one row per landmark, in the order given
        return frame.assign(time_years=asked)

    frames: list[pd.DataFrame] = []
    ratios: list[dict[str, Any]] = []
    for name, definition in spec.definitions().items():
        if len(spec.arms) == 1:
            one = estimate_endpoint(cohort, definition, times_years=times, anchor=anchor)
            assert not isinstance(one, dict)
            frames.append(relabel(one.landmarks).assign(endpoint=name, arm=spec.arms[0].name))
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            result = compare_endpoint(
                cohort,
                definition,
                arms,
                reference=spec.analysis.reference_arm or spec.arms[0].name,
                times_years=times,
                anchor=anchor,
            )
        unreliable = any(issubclass(w.category, RuntimeWarning) for w in caught)
        for arm, estimate in result.estimates.items():
            frames.append(relabel(estimate.landmarks).assign(endpoint=name, arm=str(arm)))
        for row in result.hazard_ratios.to_dict("records"):
            ratios.append(
                {
                    "replicate": replicate,
                    "endpoint": name,
                    "arm": row["group"],
                    "hazard_ratio": row["hazard_ratio"],
                    "ci_low": row["ci_low"],
                    "ci_high": row["ci_high"],
                    "p_value": row["p_value"],
                    "log_rank_p": result.log_rank_p,
                    "hr_reliable": not unreliable and not np.isnan(float(row["hazard_ratio"])),
                }
            )
    return [f.assign(replicate=replicate) for f in frames], ratios


def published_statistics(
    spec: TrialSpec, cohort: Cohort, arms: pd.Series, replicate: int
) -> list[dict[str, Any]]:
    """The statistic of each ``[[published]]`` value that is neither a landmark nor a
    hazard ratio, in one replicate (:func:`msreboot.trials.arm_statistic`)."""
    rows: list[dict[str, Any]] = []
    anchor: str | pd.DataFrame | None = None
    reference = spec.analysis.reference_arm or spec.arms[0].name
    for i, value in enumerate(spec.published):
        if value.statistic in ("landmark", "hazard_ratio"):
            continue
        if anchor is None:
            anchor = time_zero(spec, arms)
        arm = value.arm or spec.arms[0].name
        result = arm_statistic(
            value.statistic,
            cohort,
            arms,
            arm=arm,
            reference=reference,
            anchor=anchor,
            time_years=value.time_years,
            window_days=value.window_days,
        )
        rows.append(
            {
                "replicate": replicate,
                "published": i,
                "statistic": value.statistic,
                "arm": arm,
                "time_years": np.nan if value.time_years is None else value.time_years,
                "value": result,
            }
        )
    return rows


def run_trial(
    spec: TrialSpec | str | Path,
    *,
    replicates: int | None = None,
    parameters: SimulationParameters | None = None,
    out_dir: str | Path | None = None,
    progress: Any = None,
) -> TrialResult:
    """Simulate and analyse every replicate of a virtual trial.

    Parameters
    ----------
    spec
        A :class:`TrialSpec`, a spec file, or a bundled preset's name.
    replicates
        Overrides the spec's number of replicates.
    parameters
        Simulation parameters; default: the spec's named set.
    out_dir
        When given, each replicate's canonical tables are written to
        ``out_dir/replicate_<r>/`` (CSV) with ``arms.csv``, and the analysed tables to
        ``out_dir/estimates.csv`` and ``hazard_ratios.csv``, with ``trial.json`` (the spec,
        seed and package version).
    progress
        A callable taking the finished replicate count (e.g. to advance a progress bar).

    Returns
    -------
    TrialResult

    Examples
    --------
    >>> result = run_trial("halt_ms", replicates=1)
    >>> sorted(result.estimates["endpoint"].unique())[:2]
    ['halt_ms_efs', 'halt_ms_mri_free']
    """
    if not isinstance(spec, TrialSpec):
        spec = load_trial_spec(spec)
    if replicates is not None:
        spec = spec.with_(replicates=replicates)
    frames: list[pd.DataFrame] = []
    ratios: list[dict[str, Any]] = []
    statistics: list[dict[str, Any]] = []
    folder = Path(out_dir) if out_dir is not None else None
    for r in range(spec.replicates):
        cohort, arms = simulate_replicate(spec, r, parameters)
        if folder is not None:
            _write_replicate(folder / f"replicate_{r + 1:03d}", cohort, arms)
        f, h = analyse_replicate(spec, cohort, arms, r + 1)
        frames.extend(f)
        ratios.extend(h)
        statistics.extend(published_statistics(spec, cohort, arms, r + 1))
        if progress is not None:
            progress(r + 1)
    columns = ["replicate", "endpoint", "arm", "time_years", "n", "events", "n_at_risk"]
    estimates = pd.concat(frames, ignore_index=True)
    estimates = estimates[[*columns, "estimate", "std_err", "ci_low", "ci_high"]]
    hazard = pd.DataFrame(
        ratios,
        columns=[
            "replicate",
            "endpoint",
            "arm",
            "hazard_ratio",
            "ci_low",
            "ci_high",
            "p_value",
            "log_rank_p",
            "hr_reliable",
        ],
    )
    result = TrialResult(
        spec=spec,
        estimates=estimates,
        hazard_ratios=hazard,
        statistics=pd.DataFrame(statistics, columns=_STATISTICS_COLUMNS),
    )
    if folder is not None:
        _write_results(folder, result)
    return result


def _write_replicate(folder: Path, cohort: Cohort, arms: pd.Series) -> None:
    from msreboot.data import write_frame, write_tables

    write_tables(cohort.tables, folder)
    frame = pd.DataFrame({"patient_id": arms.index, "arm": arms.to_numpy()})
    write_frame(frame, folder.parent / f"{folder.name}_arms.csv")


def _write_results(folder: Path, result: TrialResult) -> None:
    import json

    from msreboot import __version__
    from msreboot.data import atomic_write_text, write_frame

    write_frame(result.estimates, folder / "estimates.csv")
    write_frame(result.hazard_ratios, folder / "hazard_ratios.csv")
    write_frame(result.table(), folder / "summary.csv")
    if len(result.statistics):
        write_frame(result.statistics, folder / "statistics.csv")
    if result.spec.published:
        write_frame(result.compare_published(), folder / "published.csv")
    meta = {
        "msreboot_version": __version__,
        "seed": result.spec.seed,
        "replicates": result.spec.replicates,
        "spec": result.spec.model_dump(mode="json"),
    }
    atomic_write_text(folder / "trial.json", json.dumps(meta, indent=2, sort_keys=True))
