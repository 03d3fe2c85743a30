"""A self-contained HTML report of a cohort.

:func:`build_report` renders a cohort's analysis (:func:`msreboot.analysis.analyse_cohort`;
the report computes nothing itself) as one HTML file that opens offline (inline CSS, inline SVG
figures, no scripts, no network requests): the cohort's Table 1 by treatment group,
follow-up and data completeness, Kaplan-Meier curves with numbers at risk and landmark
estimates, EDSS trajectories, relapse rates and MRI activity around AHSCT, transplant
outcomes, the cohort beside the pooled published evidence, an optional virtual trial, and
methods written from the definitions used with a provenance block. Every figure is also
saved as SVG and PNG beside the report.
"""

from msreboot.report._content import ReportSection
from msreboot.report._patient_sheet import patient_sheet_html, write_patient_sheet
from msreboot.report._report import Report, build_report

__all__ = ["Report", "ReportSection", "build_report", "patient_sheet_html", "write_patient_sheet"]
