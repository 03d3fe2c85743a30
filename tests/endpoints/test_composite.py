"""Composite endpoints on small constructed patients whose answers are worked by hand.

Cohorts here count time in days (``time_unit="day"``); each patient's AHSCT reinfusion is
day 0 unless said otherwise, so every expected time is read straight off the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from msreboot.data import Cohort
from msreboot.endpoints._composite import endpoint_times
from msreboot.endpoints._definitions import (
    DisabilityComponent,
    EndpointDefinition,
    MRIComponent,
    RelapseComponent,
    load_endpoint_definitions,
)
from msreboot.endpoints._disability_rules import DisabilityDefinition
from msreboot.endpoints._estimates import estimate_endpoint, estimate_endpoints
from msreboot.stats._survival import kaplan_meier

E = EndpointDefinition


def make_cohort(
    edss: Sequence[tuple[str, int, float]] = (),
    relapses: Sequence[tuple[str, int, int | None]] = (),
    mri: Sequence[tuple[str, int, int | None, int | None]] = (),
    deaths: Sequence[tuple[str, int]] = (),
    day0: dict[str, int] | None = None,
    extra_patients: tuple[str, ...] = (),
) -> Cohort:
    """A day-based cohort; patients are everyone named anywhere, all transplanted on day 0
    (or on ``day0[patient]``) except ``extra_patients``."""
    ids = sorted(
        {r[0] for r in (*edss, *relapses, *mri, *deaths)} | set(day0 or {}) | set(extra_patients)
    )
    starts = {p: 0 for p in ids if p not in extra_patients} | (day0 or {})
    return Cohort.from_frames(
        {
            "patients": pd.DataFrame(
                {"patient_id": ids, "phenotype": ["RRMS"] * len(ids), "birth_date": -12000}
            ),
            "treatments": pd.DataFrame(
                {
                    "patient_id": list(starts),
                    "kind": "ahsct",
                    "start_date": list(starts.values()),
                }
            ),
            "edss": pd.DataFrame(edss, columns=["patient_id", "date", "edss"]),
            "relapses": pd.DataFrame(relapses, columns=["patient_id", "onset_date", "end_date"]),
            "mri": pd.DataFrame(
                mri, columns=["patient_id", "date", "gd_lesions", "new_t2_lesions"]
            ).astype({"gd_lesions": "Int64", "new_t2_lesions": "Int64"}),
            "deaths": pd.DataFrame(deaths, columns=["patient_id", "date"]),
        },
        time_unit="day",
    )


def row(times: object, patient: str) -> pd.Series:
    frame = times.patients
    return frame[frame["patient_id"] == patient].iloc[0]


# --- relapse component -------------------------------------------------------------------


def test_relapse_free_counts_relapses_from_day_0_only() -> None:
    cohort = make_cohort(
        edss=[("A", -5, 3.0), ("A", 900, 3.0), ("B", -5, 3.0), ("B", 900, 3.0)],
        relapses=[("A", -10, None), ("A", 100, None), ("A", 300, None), ("B", 0, None)],
    )
    times = endpoint_times(cohort, E.relapse_free())
    a, b = row(times, "A"), row(times, "B")
    assert (a["time_days"], a["status"], a["cause"]) == (100, 1, "relapse")
    assert (b["time_days"], b["status"]) == (0, 1)  # a relapse on day 0 counts


def test_halt_ms_relapse_must_last_two_days_when_its_end_is_known() -> None:
    cohort = make_cohort(
        edss=[(p, d, 3.0) for p in "ABC" for d in (-5, 900)],
        relapses=[("A", 100, 101), ("A", 200, 202), ("B", 150, None), ("C", 50, 51)],
    )
    times = endpoint_times(cohort, E.halt_ms_rfs())
    assert row(times, "A")["time_days"] == 200  # 1 day: not a relapse; 2 days: a relapse
    assert row(times, "B")["time_days"] == 150  # no end date: counts
    c = row(times, "C")
    assert (c["status"], c["time_days"]) == (0, 900)  # censored at last contact


# --- disability component ------------------------------------------------------------------


def test_progression_presets_differ_at_the_6_0_threshold() -> None:
    # Baseline 6.0 before day 0; 6.5 at day 180 confirmed at 400 (220 days later).
    cohort = make_cohort(edss=[("A", -10, 6.0), ("A", 180, 6.5), ("A", 400, 6.5), ("A", 700, 6.5)])
    halt = row(endpoint_times(cohort, E.halt_ms_pfs()), "A")  # needs +1.0 at every baseline
    muraro = row(endpoint_times(cohort, E.muraro_2017_pfs()), "A")  # +0.5 from 6.0
    assert (halt["status"], halt["time_days"]) == (0, 700)
    assert (muraro["status"], muraro["time_days"], muraro["cause"]) == (1, 180, "disability")


def test_muraro_confirmation_tests_only_the_first_visit_in_its_window() -> None:
    # 4.0 at day 180: the visit 100 days later is too early for a 182 (-30) day confirmation;
    # the first visit in the window (day 400) confirms.
    ok = make_cohort(edss=[("A", -10, 3.0), ("A", 180, 4.0), ("A", 280, 4.0), ("A", 400, 4.0)])
    assert row(endpoint_times(ok, E.muraro_2017_pfs()), "A")["time_days"] == 180
    # The first visit in the window (day 360) shows recovery; a later one does not rescue it.
    failed = make_cohort(
        edss=[("A", -10, 3.0), ("A", 180, 4.0), ("A", 360, 3.0), ("A", 400, 4.0), ("A", 800, 3.0)]
    )
    assert row(endpoint_times(failed, E.muraro_2017_pfs()), "A")["status"] == 0


def test_mist_progression_is_first_seen_from_one_year() -> None:
    visits = [("A", 0, 3.0), ("A", 180, 4.0), ("A", 365, 4.0), ("A", 547, 4.0), ("A", 730, 4.0)]
    # Recovered by one year: no MIST progression although 180 -> 365 would confirm.
    recovered = [("B", 0, 3.0), ("B", 180, 4.0), ("B", 365, 3.0), ("B", 547, 3.0), ("B", 730, 3.0)]
    cohort = make_cohort(edss=visits + recovered)
    mist = endpoint_times(cohort, E.mist_2019_progression())
    assert (row(mist, "A")["time_days"], row(mist, "A")["status"]) == (365, 1)
    assert row(mist, "B")["status"] == 0
    anytime = E.mist_2019_progression().with_(
        components=(DisabilityComponent(definition=DisabilityDefinition.mist_2019()),)
    )
    early = endpoint_times(cohort, anytime)
    assert row(early, "A")["time_days"] == 180  # confirmed at 365 (185 days: in 152-212)
    assert row(early, "B")["status"] == 0  # its confirmation visit (365) shows recovery


def test_improvement_endpoint_reports_the_proportion_improved() -> None:
    cohort = make_cohort(
        edss=[
            *[("A", d, v) for d, v in ((-5, 5.0), (200, 4.0), (400, 4.0), (800, 4.0))],
            *[("B", d, v) for d, v in ((-5, 5.0), (200, 5.0), (400, 5.0), (800, 5.0))],
        ]
    )
    times = endpoint_times(cohort, E.burt_2015_improvement())
    assert row(times, "A")["time_days"] == 200
    assert row(times, "A")["status"] == 1
    est = estimate_endpoint(cohort, E.burt_2015_improvement(), times_years=[1.0])
    assert not isinstance(est, dict)
    assert est.landmarks["estimate"].iloc[0] == pytest.approx(0.5)  # 1 - KM


def test_patients_without_baseline_edss_are_excluded_only_where_disability_counts() -> None:
    cohort = make_cohort(
        edss=[("A", -5, 3.0), ("A", 500, 3.0), ("B", 100, 3.0), ("B", 500, 3.0)],
    )
    pfs = endpoint_times(cohort, E.muraro_2017_pfs())
    assert pfs.patients["patient_id"].tolist() == ["A"]
    assert pfs.excluded["patient_id"].tolist() == ["B"]
    assert endpoint_times(cohort, E.relapse_free()).patients["patient_id"].tolist() == ["A", "B"]


# --- MRI component ---------------------------------------------------------------------------


def test_halt_ms_mri_counts_two_new_t2_lesions_from_one_year() -> None:
    cohort = make_cohort(
        edss=[("A", -5, 3.0), ("A", 900, 3.0)],
        mri=[("A", -30, 5, 3), ("A", 200, 0, 4), ("A", 400, 3, 1), ("A", 500, 0, 2)],
    )
    halt = row(endpoint_times(cohort, E.halt_ms_mri_free()), "A")
    assert (halt["time_days"], halt["cause"]) == (500, "mri")
    atkins = row(endpoint_times(cohort, E.atkins_2016_afs()), "A")
    assert (atkins["time_days"], atkins["cause"]) == (200, "mri")


def test_unassessed_scans_are_not_assessments() -> None:
    cohort = make_cohort(
        edss=[("A", -5, 3.0), ("A", 900, 3.0)],
        mri=[("A", 300, 0, 0), ("A", 600, None, None)],
    )
    times = endpoint_times(cohort, E.mri_activity_free())
    a = row(times, "A")
    assert (a["status"], a["time_days"]) == (0, 300)  # censored at the last assessed scan
    assert a["mri_assessed_until_day"] == 300


def test_a_component_that_cannot_fire_yet_counts_as_assessed_until_its_start() -> None:
    # HALT-MS MRI counts from day 365: a patient followed 300 days with one scan at 100 is
    # MRI-event-free to day 300 (last contact), not just to day 100.
    cohort = make_cohort(edss=[("A", -5, 3.0), ("A", 300, 3.0)], mri=[("A", 100, 0, 0)])
    a = row(endpoint_times(cohort, E.halt_ms_mri_free()), "A")
    assert (a["status"], a["time_days"]) == (0, 300)


# --- death and censoring ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("death", "status", "censored_at"),
    [("event", 1, ""), ("censor", 0, "death"), ("competing", 2, "")],
)
def test_death_is_an_event_a_censoring_or_competing(
    death: str, status: int, censored_at: str
) -> None:
    cohort = make_cohort(edss=[("A", -5, 3.0), ("A", 50, 3.0)], deaths=[("A", 120)])
    measure = "cumulative_incidence" if death == "competing" else "event_free"
    definition = E.relapse_free().with_(death=death, measure=measure)
    a = row(endpoint_times(cohort, definition), "A")
    assert (a["time_days"], a["status"], a["censored_at"]) == (120, status, censored_at)
    assert a["cause"] == ("death" if status else "")


def test_an_event_before_death_is_the_event() -> None:
    cohort = make_cohort(
        edss=[("A", -5, 3.0), ("A", 50, 3.0)], relapses=[("A", 30, None)], deaths=[("A", 120)]
    )
    a = row(endpoint_times(cohort, E.halt_ms_efs()), "A")
    assert (a["time_days"], a["cause"]) == (30, "relapse")


def test_death_counts_even_when_assessments_stopped_earlier() -> None:
    # No MRI ever after day 0: an EFS death at day 30 is still the event.
    cohort = make_cohort(edss=[("A", -5, 3.0), ("A", 20, 3.0)], deaths=[("A", 30)])
    a = row(endpoint_times(cohort, E.atkins_2016_afs()), "A")
    assert (a["time_days"], a["status"], a["cause"]) == (30, 1, "death")


def test_censoring_at_all_components_vs_last_contact() -> None:
    # Last MRI at 700, EDSS to 1000, a relapse at 800: the relapse lies beyond what MRI
    # covered, so strict censoring stops at 700; last-contact censoring sees the relapse.
    cohort = make_cohort(
        edss=[("A", -5, 3.0), ("A", 1000, 3.0)],
        relapses=[("A", 800, None)],
        mri=[("A", 300, 0, 0), ("A", 700, 0, 0)],
    )
    strict = row(endpoint_times(cohort, E.atkins_2016_afs()), "A")
    loose = row(endpoint_times(cohort, E.atkins_2016_afs().with_(censor="last_contact")), "A")
    assert (strict["status"], strict["time_days"], strict["censored_at"]) == (0, 700, "follow-up")
    assert (loose["status"], loose["time_days"]) == (1, 800)


def test_ties_between_components_name_both() -> None:
    cohort = make_cohort(
        edss=[("A", -5, 3.0), ("A", 900, 3.0)],
        relapses=[("A", 200, None)],
        mri=[("A", 200, 1, 0), ("A", 800, 0, 0)],
    )
    assert row(endpoint_times(cohort, E.neda_3()), "A")["cause"] == "relapse+mri"


def test_overall_survival_has_no_components() -> None:
    cohort = make_cohort(edss=[("A", -5, 3.0), ("A", 500, 3.0), ("B", 0, 2.0)], deaths=[("B", 40)])
    times = endpoint_times(cohort, E.overall_survival())
    assert row(times, "A")[["time_days", "status"]].tolist() == [500, 0]
    assert row(times, "B")[["time_days", "status"]].tolist() == [40, 1]


def test_anchor_table_and_patients_without_anchor() -> None:
    cohort = make_cohort(
        edss=[("A", 95, 3.0), ("A", 600, 3.0), ("C", 0, 3.0), ("C", 600, 3.0)],
        relapses=[("A", 150, None)],
        day0={"A": 100},
        extra_patients=("C",),
    )
    times = endpoint_times(cohort, E.relapse_free())
    assert times.patients["patient_id"].tolist() == ["A"]  # C has no AHSCT course
    assert row(times, "A")["time_days"] == 50
    table = pd.DataFrame({"patient_id": ["A", "C"], "anchor_date": [0, 10]})
    by_table = endpoint_times(cohort, E.relapse_free(), anchor=table)
    assert row(by_table, "A")["time_days"] == 150
    assert row(by_table, "C")["time_days"] == 590
    with pytest.raises(ValueError, match="one row per patient"):
        endpoint_times(cohort, E.relapse_free(), anchor=pd.concat([table, table]))


# --- estimates ------------------------------------------------------------------------------


def test_estimates_are_kaplan_meier_of_the_times_at_the_definition_level() -> None:
    from msreboot.datasets import load_example

    cohort = load_example()
    est = estimate_endpoint(cohort, "halt_ms_efs", times_years=[1, 2, 3])
    assert not isinstance(est, dict)
    data = est.times.patients
    curve = kaplan_meier(data["time_years"], data["event"], conf_level=0.90)
    expected = curve.at([1, 2, 3])
    np.testing.assert_allclose(est.landmarks["estimate"], expected.estimate)
    np.testing.assert_allclose(est.landmarks["ci_low"], expected.ci_low)
    np.testing.assert_array_equal(est.landmarks["n_at_risk"], expected.n_at_risk)
    events = [int(((data["time_years"] <= t) & data["event"]).sum()) for t in (1, 2, 3)]
    assert est.landmarks["events"].tolist() == events
    assert est.to_frame()["conf_level"].eq(0.90).all()


def test_competing_death_uses_aalen_johansen() -> None:
    from msreboot.stats._competing import cumulative_incidence

    cohort = make_cohort(
        edss=[(p, d, 3.0) for p in "ABCD" for d in (-5, 1000 if p != "C" else 200)],
        relapses=[("A", 200, None), ("B", 500, None)],
        deaths=[("C", 300)],
    )
    definition = E.relapse_free().with_(
        name="relapse_cif", death="competing", measure="cumulative_incidence"
    )
    est = estimate_endpoint(cohort, definition, times_years=[1.0, 2.0])
    assert not isinstance(est, dict)
    data = est.times.patients
    ref = cumulative_incidence(data["time_years"], data["status"], cause=1).at([1.0, 2.0])
    np.testing.assert_allclose(est.landmarks["estimate"], ref.estimate)
    assert est.landmarks["estimate"].tolist() == pytest.approx([0.25, 0.5])


def test_every_preset_reports_2_to_5_years_on_the_example_cohort() -> None:
    from msreboot.datasets import load_example

    results = estimate_endpoints(load_example())
    frame = results.to_frame()
    assert set(frame["endpoint"]) == set(E.presets())
    for _, part in frame.groupby("endpoint"):
        assert part["time_years"].tolist() == [2, 3, 4, 5]
    assert frame["estimate"].between(0, 1).all()
    assert (frame["ci_low"] <= frame["estimate"]).all()
    assert (frame["estimate"] <= frame["ci_high"]).all()
    assert "HALT-MS event-free survival" in results.summary()
    assert "Assumed where the source is silent" in results.methods()


def test_estimates_by_group_partition_the_patients() -> None:
    from msreboot.datasets import load_example

    cohort = load_example()
    by = estimate_endpoint(cohort, "relapse_free", by="phenotype", times_years=[2])
    assert isinstance(by, dict)
    overall = estimate_endpoint(cohort, "relapse_free", times_years=[2])
    assert not isinstance(overall, dict)
    assert sum(e.times.n for e in by.values()) == overall.times.n
    with pytest.raises(ValueError, match="column of the patients table"):
        estimate_endpoint(cohort, "relapse_free", by="nope")


def test_bad_arguments_are_named() -> None:
    from msreboot.datasets import load_example

    with pytest.raises(ValueError, match="endpoint must be one of"):
        E.preset("halt")
    with pytest.raises(ValueError, match="unique"):
        estimate_endpoints(load_example(), ["neda_3", "neda_3"])
    with pytest.raises(ValueError, match="competing"):
        E.relapse_free().with_(death="competing")
    with pytest.raises(ValueError, match="cannot both be None"):
        MRIComponent(min_gd=None, min_new_t2=None)


# --- definitions from a file --------------------------------------------------------------------


def test_definitions_load_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "endpoints.toml"
    path.write_text(
        """
[[endpoint]]
name = "efs_90"
based_on = "halt_ms_efs"
conf_level = 0.95

[[endpoint]]
name = "my_pfs"
title = "PFS, 24-week confirmation"
death = "event"
censor = "last_contact"
[[endpoint.components]]
kind = "disability"
definition = {preset = "muraro_2017", confirmation_days = 168, tolerance_days = [14, 365]}
[[endpoint.components]]
kind = "mri"
min_gd = 1
from_days = 180
[[endpoint.components]]
kind = "relapse"
min_duration_days = 1
""",
        encoding="utf-8",
    )
    defs = load_endpoint_definitions(path)
    assert list(defs) == ["efs_90", "my_pfs"]
    assert defs["efs_90"].components == E.halt_ms_efs().components
    assert defs["efs_90"].conf_level == 0.95
    disability, mri, relapse = defs["my_pfs"].components
    assert isinstance(disability, DisabilityComponent)
    assert disability.definition.confirmation.days == (168.0,)
    assert disability.definition.confirmation.tolerance_days == ((14.0, 365.0),)
    assert disability.definition.threshold.name == "kappos_2020"
    assert isinstance(mri, MRIComponent)
    assert mri.from_days == 180
    assert mri.min_new_t2 == 1
    assert isinstance(relapse, RelapseComponent)
    assert relapse.min_duration_days == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[endpoint]]\nname = 'x'\ndeth = 'event'\n", "endpoint 'x': deth: Extra inputs"),
        ("[[endpoint]]\nname = 'x'\nconf_level = 95\n", "endpoint 'x': conf_level"),
        (
            "[[endpoint]]\nname = 'x'\n[[endpoint.components]]\nkind = 'ct'\n",
            "components.0",
        ),
        (
            "[[endpoint]]\nname = 'x'\n[[endpoint.components]]\nkind = 'disability'\n"
            "definition = 'nope'\n",
            "disability preset must be one of",
        ),
        ("[[endpoint]]\nname = 'x'\n[[endpoint]]\nname = 'x'\n", "used twice"),
        ("[[endpoint]]\nname = 'x'\nbased_on = 'nope'\n", "based_on"),
        ("name = 'x'\n", "one or more"),
        ("[[endpoint]\n", "must be valid TOML; got .* at line 1"),
    ],
)
def test_definition_file_errors_name_file_endpoint_and_field(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as info:
        load_endpoint_definitions(path)
    assert "bad.toml" in str(info.value)


# --- every preset on two constructed patients ------------------------------------------------

# P: baseline 3.0, worse by 1.0 at day 200, confirmed 200 days later (every preset's window
# except MIST's, which drops the day-200 visit and finds no confirmation 400 days on);
# clean scans. R: a relapse at day 100 and one Gd+ lesion (no new T2) at day 365.
_P = [("P", d, v) for d, v in ((-5, 3.0), (200, 4.0), (400, 4.0), (800, 4.0))]
_R = [("R", d, 3.0) for d in (-5, 200, 400, 800)]
_SCANS = [(p, d, 0, 0) for p in "PR" for d in (-20, 800)] + [("P", 365, 0, 0), ("R", 365, 1, 0)]
PRESET_ANSWERS = {
    # preset: ((time, status, cause) for P, (time, status, cause) for R)
    "halt_ms_efs": ((200, 1, "disability"), (100, 1, "relapse")),
    "halt_ms_pfs": ((200, 1, "disability"), (800, 0, "")),
    "halt_ms_rfs": ((800, 0, ""), (100, 1, "relapse")),
    "halt_ms_mri_free": (
        (800, 0, ""),
        (800, 0, ""),
    ),  # Gd+ is not counted; day 365 is the reference
    "atkins_2016_afs": ((200, 1, "disability"), (100, 1, "relapse")),
    "muraro_2017_pfs": ((200, 1, "disability"), (800, 0, "")),
    "mist_2019_progression": ((800, 0, ""), (800, 0, "")),
    "burt_2015_pfs": ((200, 1, "disability"), (800, 0, "")),
    "burt_2015_rfs": ((800, 0, ""), (100, 1, "relapse")),
    "burt_2015_improvement": ((800, 0, ""), (800, 0, "")),
    "kappos_2020_cda": ((200, 1, "disability_1"), (800, 0, "")),  # no T25FW, no 9HPT
    "cadavid_2017_edss_plus": ((200, 1, "disability_1"), (800, 0, "")),
    "neda_3": ((200, 1, "disability"), (100, 1, "relapse")),
    "relapse_free": ((800, 0, ""), (100, 1, "relapse")),
    "mri_activity_free": ((800, 0, ""), (365, 1, "mri")),
    "overall_survival": ((800, 0, ""), (800, 0, "")),
}


def test_the_answer_table_covers_every_preset() -> None:
    assert set(PRESET_ANSWERS) == set(E.presets())


@pytest.mark.parametrize("name", list(PRESET_ANSWERS))
def test_each_preset_on_constructed_patients(name: str) -> None:
    cohort = make_cohort(edss=_P + _R, relapses=[("R", 100, None)], mri=_SCANS)
    times = endpoint_times(cohort, E.preset(name))
    for patient, expected in zip("PR", PRESET_ANSWERS[name], strict=True):
        got = row(times, patient)
        assert (got["time_days"], got["status"], got["cause"]) == expected, patient
