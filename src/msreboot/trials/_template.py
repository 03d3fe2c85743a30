"""A commented trial spec to start from (``msreboot simulate new-spec NAME``): a two-arm
AHSCT vs ocrelizumab trial with NEDA-3 as the primary endpoint, every table present and
every key explained, which loads and runs as written.
"""

from __future__ import annotations

import re

__all__ = ["spec_template"]

_TEMPLATE = """\
# Virtual trial spec ({name}). Every table and key: docs/reference/trial-spec.md.
# Run it:  msreboot simulate trial {name}.toml
# Size it: msreboot simulate size {name}.toml --power 0.8

[trial]
name = "{name}"                  # lower case, digits and _ (used in outputs)
title = "AHSCT vs ocrelizumab in active RRMS (planned)"
citation = ""                    # the study being reproduced, if any
seed = 1                         # same seed, same patients
replicates = 20                  # virtual trials; power is the share significant
follow_up_years = 4.0            # years from randomisation (day 0)
# parameters = "calibrated"      # or "default", or your own calibration file "mycal.toml"
# uncertainty = "posterior"     # ranges with parameter uncertainty (default "monte_carlo")

[population]                     # the enrolled patients (published summaries)
age_median = 36                  # years; or age_mean
age_range = [18, 55]             # eligibility
edss_median = 3.5                # or edss_mean
edss_range = [2.0, 5.5]          # eligibility (EDSS points)
duration_median_years = 6.0      # years since onset; or duration_mean_years
female_share = 0.68
phenotype_shares = {{ RRMS = 1.0 }}
prior_relapse_window_years = 1.0
min_prior_relapses = 1           # eligibility: >= 1 relapse in the window
prior_relapse_rate_ratio = 0.7   # patients were on a DMT in the window
min_prior_dmts = 1

[schedule]                       # when patients are seen, from day 0
edss_every_months = 6
mri_every_months = 12
jitter_days = 14                 # visits up to 14 days early or late
loss_to_follow_up_per_year = 0.02
# rebaseline_months = 6          # re-baseline MRI 6 months after the reinfusion: new T2
#                                # lesions count from it
# rebaseline_mri_months = 6      # an extra MRI 6 months after enrolment
# extra_edss_days = [30]         # unscheduled visits (days)

[[arm]]                          # one table per arm
name = "ahsct"
n = 50                           # patients (`simulate size` changes it)
protocol = "burt_2015"           # a protocol (`msreboot protocols list`)
# protocols_file = "my_protocols.toml"  # your own protocols, named in `protocol`

[[arm]]
name = "ocrelizumab"
n = 50
treatment = {{ kind = "dmt", drug = "ocrelizumab" }}   # a DMT is a treatment, not a protocol

[analysis]
endpoints = ["neda_3", "relapse_free"]   # presets, or names in definitions_file
primary = "neda_3"               # the endpoint whose power is reported
times_years = [2.0, 4.0]         # landmarks
anchor = "enrolment"             # time zero: randomisation ("ahsct": reinfusion)
reference_arm = "ocrelizumab"    # hazard ratios are arm vs this
alpha = 0.05                     # two-sided log-rank test

# Published figures to set beside the simulated ones (evidence outcome_id, or inline):
# [[published]]
# endpoint = "neda_3"
# arm = "ahsct"
# time_years = 4.0
# value = 0.7
# source = "where the figure comes from"
"""


def spec_template(name: str = "my_trial") -> str:
    """A commented trial spec (TOML) to edit: every table, the common keys explained.

    Parameters
    ----------
    name
        The trial's name (lower case letters, digits and ``_``).

    Returns
    -------
    str
        The TOML text; it loads with :func:`load_trial_spec` as written.

    Raises
    ------
    ValueError
        ``name`` is not lower case letters, digits and ``_``.

    Examples
    --------
    >>> spec_template("beat_ms").splitlines()[0]
    '# Virtual trial spec (beat_ms). Every table and key: docs/reference/trial-spec.md.'
    """
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise ValueError(
            f"name must be lower case letters, digits and _; got {name!r}. "
            f"Try {re.sub(r'[^a-z0-9_]+', '_', name.lower()).strip('_') or 'my_trial'!r}."
        )
    return _TEMPLATE.format(name=name)
