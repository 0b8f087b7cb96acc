"""Scrap learning: training that is never applied on the job, and what it cost.

Scrap learning is the share of trainees who have not applied the training within six
weeks of it (Brinkerhoff's success case method; the TDRp efficiency measure), read from
the follow-ups (seed 000's 1/3/6-month follow-ups). Its cost is the scrap share times the
program's fully loaded cost.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.scorecard.loop import wilson_interval

__all__ = ["WEEKS_PER_MONTH", "scrap_learning"]

WEEKS_PER_MONTH = 52.0 / 12.0


def scrap_learning(followups: pd.DataFrame | None, costs: pd.DataFrame | None = None, *, weeks: float = 6.0, level: float = 0.95,
                   min_group_size: int = 5) -> pd.DataFrame:
    """Scrap-learning share and cost per program.

    Parameters
    ----------
    followups : DataFrame or None
        employee_id, program_id, months_after, applied.
    costs : DataFrame, optional
        program_id, amount (all periods are summed: the program's fully loaded cost).
    weeks : float
        The window: follow-ups at most ``weeks`` after training count (6 weeks takes the
        1-month follow-up; 1 month = 52/12 weeks).
    level : float
        Coverage of the Wilson interval of the share (carried to the cost).
    min_group_size : int
        Programs with fewer followed-up trainees are blanked.

    Returns
    -------
    DataFrame
        program_id, n_followed (trainees with a follow-up inside the window), n_applied,
        scrap_share, scrap_low, scrap_high, program_cost, scrap_cost, scrap_cost_low,
        scrap_cost_high, definition. A trainee counts as applied if any follow-up inside the
        window says so. Empty without follow-ups.

    Notes
    -----
    Assumes the trainees followed up inside the window stand for all the program's
    trainees (the cost is the whole program's).
    """
    cols = ["program_id", "n_followed", "n_applied", "scrap_share", "scrap_low", "scrap_high", "program_cost", "scrap_cost",
            "scrap_cost_low", "scrap_cost_high", "definition"]
    if followups is None or len(followups) == 0:
        return pd.DataFrame(columns=cols)
    f = followups[pd.to_numeric(followups["months_after"]) * WEEKS_PER_MONTH <= weeks + 1e-9]
    cost = costs.groupby("program_id")["amount"].sum() if costs is not None and len(costs) else pd.Series(dtype=float)
    rows: list[dict[str, Any]] = []
    for p in sorted(followups["program_id"].astype(str).unique()):
        sub = f[f["program_id"].astype(str) == p]
        per = sub.assign(_a=sub["applied"].astype("boolean").fillna(False).astype(bool)).groupby("employee_id")["_a"].any()
        n, k = int(len(per)), int(per.sum())
        pc = float(cost.get(p, np.nan))
        if n < min_group_size:
            share = lo = hi = np.nan
        else:
            share = 1 - k / n
            a_lo, a_hi = wilson_interval(k, n, level)
            lo, hi = 1 - a_hi, 1 - a_lo
        rows.append({"program_id": p, "n_followed": n, "n_applied": k, "scrap_share": share, "scrap_low": lo, "scrap_high": hi,
                     "program_cost": pc, "scrap_cost": share * pc, "scrap_cost_low": lo * pc, "scrap_cost_high": hi * pc,
                     "definition": f"trainees who had not applied the training by the follow-up(s) within {weeks:g} weeks / trainees followed up "
                                   "then; cost = share x the program's fully loaded cost"})
    return pd.DataFrame(rows, columns=cols)
