"""The EDSS trajectory figure draws a bounded, exact set of patient lines."""


def test_trajectory_lines_are_bounded_and_exact() -> None:
    """Above MAX_TRAJECTORY_LINES patients every k-th patient is drawn, each with all of
    its own visits in order; below it every patient is drawn."""
    import numpy as np
    import pandas as pd

    from msreboot.report._trajectories import MAX_TRAJECTORY_LINES, _trajectory_lines

    rng = np.random.default_rng(1)
    n = 2_500
    ids = np.repeat([f"P{i:05d}" for i in range(n)], 3)
    visits = pd.DataFrame(
        {"patient_id": ids, "years": np.tile([0.0, 1.0, 2.0], n), "edss": rng.random(3 * n)}
    ).sample(frac=1.0, random_state=2)  # rows of a patient need not be together
    lines, patients = _trajectory_lines(visits)
    assert patients == n
    assert len(lines) == 834  # every 3rd patient: ceil(2500 / 1000) = 3
    assert len(lines) <= MAX_TRAJECTORY_LINES
    first = visits[visits["patient_id"] == visits["patient_id"].iloc[0]]
    np.testing.assert_array_equal(lines[0][:, 1], first["edss"].to_numpy())
    small, m = _trajectory_lines(visits[visits["patient_id"] < "P00010"])
    assert m == 10
    assert len(small) == 10
