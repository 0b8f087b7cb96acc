"""Training attribution: did program P cause the change in KPI K, and by how much?

The training-specific layer over :mod:`analysis.did` (Callaway–Sant'Anna via
``diff_diff``, two-way fixed effects via ``linearmodels``) and
:mod:`analysis.diagnostics`, one concept per module:

* :mod:`~analysis.attribution.panel` — :func:`build_estimation_panel` (cohorts,
  comparison employees, confound controls, small-cohort rule, clustering) and
  :func:`estimate` (the Callaway–Sant'Anna fit on a built panel).
* :mod:`~analysis.attribution.ladder` — the method ladder from naive comparisons
  to the recommended estimate.
* :mod:`~analysis.attribution.robustness` — heterogeneity and robustness rows.
* :mod:`~analysis.attribution.accounting` — every trainee accounted for: who is
  in an estimate, who is not, and why.
* :mod:`~analysis.attribution.narrative` — every sentence the report shows.
* :mod:`~analysis.attribution.evaluation` — :func:`evaluate_program`,
  :class:`ProgramEvaluation` (numbers) and :func:`evaluate_programs`.

Public API: :func:`evaluate_program`, :func:`evaluate_programs`,
:func:`build_estimation_panel`, :func:`estimate`, and :func:`staggered_did`,
:func:`twfe_event_study`, :func:`twfe_did` (re-exported from :mod:`analysis.did`).
"""

from __future__ import annotations

from analysis.attribution.accounting import Accounting, account_trainees
from analysis.attribution.evaluation import (
    AttributionReport,
    EvaluationOptions,
    ProgramEvaluation,
    evaluate_program,
    evaluate_programs,
)
from analysis.attribution.panel import (
    BASELINE_MONTHS,
    DEFAULT_CONTROLS,
    DIP_GUARD,
    PSCORE_TRIM,
    EstimationPanel,
    build_estimation_panel,
    estimate,
)
from analysis.attribution.robustness import EXAM_BANDS, TENURE_BANDS
from analysis.did import (
    AggregateEffect,
    StaggeredDiDResults,
    TWFEResults,
    staggered_did,
    twfe_did,
    twfe_event_study,
)

__all__ = [
    "Accounting",
    "AggregateEffect",
    "EvaluationOptions",
    "account_trainees",
    "AttributionReport",
    "BASELINE_MONTHS",
    "DEFAULT_CONTROLS",
    "DIP_GUARD",
    "EXAM_BANDS",
    "EstimationPanel",
    "PSCORE_TRIM",
    "ProgramEvaluation",
    "StaggeredDiDResults",
    "TENURE_BANDS",
    "TWFEResults",
    "build_estimation_panel",
    "estimate",
    "evaluate_program",
    "evaluate_programs",
    "staggered_did",
    "twfe_did",
    "twfe_event_study",
]
