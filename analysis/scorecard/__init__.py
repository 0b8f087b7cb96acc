"""The training scorecard (notebook 04): Kirkpatrick levels 1-5, the learn -> practice -> exam
loop's layered metrics, and the training function's balanced scorecard with TDRp reporting.

One concept per module:

``library``      the KPI library as YAML data (aggregates, inputs, KPIs), with line-numbered issues
``balanced``     the balanced scorecard computed from a library by the safe formula engine
``tdrp``         status against target, trend, period to date and forecast (TDRp columns)
``loop``         the learn -> practice -> exam layers: process, outcome, transfer (seed 000)
``kirkpatrick``  the Kirkpatrick ladder per program, levels 1-5 (seed 001)
``followups``    the 1/3/6-month follow-ups: application and scrap learning
``signals``      the strongest and weakest signals and what is not yet measured
"""

from analysis.scorecard.balanced import ROLES, ScorecardResult, compute_scorecard
from analysis.scorecard.library import DEFAULT_LIBRARY, PERSPECTIVE_LABELS, KpiLibrary, LibraryIssue, load_library

__all__ = ["DEFAULT_LIBRARY", "PERSPECTIVE_LABELS", "ROLES", "KpiLibrary", "LibraryIssue", "ScorecardResult", "compute_scorecard", "load_library"]
