"""Every trainee accounted for: who is in an estimate, who is not, and why.

:func:`account_trainees` follows every trainee of a program from the enrollments
table into a fitted Callaway–Sant'Anna estimate: kept or set aside while the
panel was built (no KPI rows, trained before the panel, a small training month
with nothing to pool with), then used or not by the fit (no comparison month in
the panel, no KPI in the comparison month, left before training, no month with a
comparison group). A trainee counts as *used* when the fit has at least one
post-training (cohort, month) cell holding them: observed in the cell's
comparison month and in that month. That is the same count as the fit's own
``n_treated`` (what the tests hold it to), so every sentence and row that states
a trainee count can use this one accounting.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.attribution.panel import EstimationPanel
from analysis.did import StaggeredDiDResults

#: Columns of :attr:`Accounting.table`.
ACCOUNTING_COLUMNS = ["group", "training_month", "trainees", "used", "set_aside", "why", "estimated_as"]


@dataclass
class Accounting:
    """Who is in one estimate.

    Attributes
    ----------
    table : DataFrame
        One row per training month (group ``trainees``), one for the comparison
        group and a total: group, training_month, trainees, used, set_aside,
        why (reasons with counts, in words), estimated_as (the month the
        trainees are counted from; pooled months say so).
    reasons : DataFrame
        One row per trainee: training_month, used (bool), reason (empty when
        used). Holds employee ids in its index: never publish it.
    n_trainees, n_used : int
        Every trainee of the program; trainees in the estimate.
    n_controls_used : int
        Comparison employees in the estimate.
    comparison_left_out : dict of str to int
        Comparison employees left out, by reason.
    anticipation : int
        Months of anticipation of the fit (its comparison month is
        ``anticipation + 1`` months before training).
    """

    table: pd.DataFrame
    reasons: pd.DataFrame = field(repr=False)
    n_trainees: int
    n_used: int
    n_controls_used: int
    comparison_left_out: dict[str, int]
    anticipation: int

    @property
    def left_out(self) -> pd.DataFrame:
        """Training months with trainees left out: training_month, set_aside, why."""
        t = self.table[(self.table["group"] == "trainees") & (self.table["set_aside"] > 0)]
        return t[["training_month", "trainees", "set_aside", "why"]].reset_index(drop=True)

    @property
    def complete(self) -> bool:
        """Every trainee is in the estimate."""
        return self.n_used == self.n_trainees


def _no_base_words(anticipation: int) -> str:
    return (
        "no month before its pre-training window in the panel"
        if anticipation
        else "no month before training in the panel"
    )


def comparison_period(grid: list[int], cohort: int, anticipation: int) -> int | None:
    """The period a cohort's post-training effects are measured against, as the estimator picks it.

    Parameters
    ----------
    grid : list of int
        The panel's periods, sorted (month numbers; a KPI measured yearly leaves 11 of every 12 out).
    cohort : int
        The cohort's first training period.
    anticipation : int
        Periods before training excluded from the comparison.

    Returns
    -------
    int or None
        The last period of the grid before ``cohort - anticipation`` (R ``did::att_gt``'s and
        ``diff_diff``'s positional base period: ``cohort - 1 - anticipation`` on a monthly grid,
        the year before on a yearly one), None when the panel has none.
    """
    earlier = [p for p in grid if p < cohort - anticipation]
    return earlier[-1] if earlier else None


def account_trainees(ep: EstimationPanel, res: StaggeredDiDResults) -> Accounting:
    """Account for every trainee of ``ep``'s program in the fit ``res``.

    Parameters
    ----------
    ep : EstimationPanel
        The panel the fit was built from (``ep.prepared`` or ``ep.prepared_asis``).
    res : StaggeredDiDResults
        The fit; its own estimation frame says each trainee's cohort.

    Returns
    -------
    Accounting
    """
    prep = res.prepared if res.prepared is not None else ep.prepared
    frame = prep.frame
    u, t, g = prep.unit, prep.time, prep.cohort
    k = int(res.anticipation)
    cohort_of = frame.drop_duplicates(u).set_index(u)[g]
    cohort_of.index = cohort_of.index.astype(str)
    grid = sorted(int(x) for x in frame[t].unique())
    obs = frame.groupby(u, sort=False)[t].agg(lambda s: frozenset(int(x) for x in s))
    obs.index = obs.index.astype(str)
    cells = res.att_gt
    cells = cells[(cells["time"] >= cells["cohort"]) & np.isfinite(cells["att"])]
    cell_times = cells.groupby("cohort")["time"].agg(lambda s: frozenset(int(x) for x in s))

    tr = ep.trainees.copy()
    reason = tr["set_aside"].astype(str).copy()
    used = pd.Series(False, index=tr.index)
    for emp in tr.index[reason == ""]:
        key = str(emp)
        if key not in cohort_of.index or cohort_of[key] <= 0:
            own = tr.at[emp, "cohort"] if "cohort" in tr.columns else np.nan
            no_base = pd.notna(own) and int(own) >= 1 and comparison_period(grid, int(own), k) is None
            reason[emp] = _no_base_words(k) if no_base else "not in the estimation panel"
            continue
        gg = int(cohort_of[key])
        seen = obs[key]
        base = comparison_period(grid, gg, k)
        if base is None:
            reason[emp] = _no_base_words(k)
        elif base not in seen:
            reason[emp] = "no KPI in the comparison month (joined later or a gap)"
        elif max(seen) < gg:
            reason[emp] = "left before training"
        elif not (seen & cell_times.get(gg, frozenset())):
            reason[emp] = "no month after training with a comparison group"
        else:
            used[emp] = True
    reasons = pd.DataFrame({"training_month": tr["training_month"], "used": used, "reason": reason.where(~used, "")})

    est_as = {}
    if not ep.cohort_table.empty:
        est_as = dict(zip(ep.cohort_table["training_month"].dt.strftime("%Y-%m"), ep.cohort_table["estimated_as"]))
    rows = []
    months = reasons["training_month"].dt.strftime("%Y-%m").fillna("(no date)")
    for month, sub in reasons.groupby(months, sort=True):
        aside = sub.loc[~sub["used"], "reason"].value_counts()
        fit_pooled = res.prepared is ep.prepared
        rows.append(
            {
                "group": "trainees",
                "training_month": month,
                "trainees": int(len(sub)),
                "used": int(sub["used"].sum()),
                "set_aside": int((~sub["used"]).sum()),
                "why": "; ".join(f"{n} {why}" for why, n in aside.items()),
                "estimated_as": (est_as.get(month, month) if fit_pooled else month) if sub["used"].any() else "",
            }
        )
    n_c_used = int(res.aggregate("simple").n_control)
    left = dict(ep.comparison_left_out)
    n_c_all = int((cohort_of == 0).sum()) + sum(left.values())
    rows.append(
        {
            "group": "comparison (never trained in the program)",
            "training_month": "",
            "trainees": n_c_all,
            "used": n_c_used,
            "set_aside": n_c_all - n_c_used,
            "why": "; ".join(
                [f"{n:,} {why}" for why, n in left.items()]
                + ([f"{int((cohort_of == 0).sum()) - n_c_used:,} not observed in a compared pair of months"]
                   if int((cohort_of == 0).sum()) > n_c_used else [])
            ),
            "estimated_as": "",
        }
    )
    n_all, n_used = int(len(reasons)), int(reasons["used"].sum())
    rows.append(
        {
            "group": "all trainees",
            "training_month": "",
            "trainees": n_all,
            "used": n_used,
            "set_aside": n_all - n_used,
            "why": "",
            "estimated_as": "",
        }
    )
    return Accounting(
        table=pd.DataFrame(rows, columns=ACCOUNTING_COLUMNS),
        reasons=reasons,
        n_trainees=n_all,
        n_used=n_used,
        n_controls_used=n_c_used,
        comparison_left_out=left,
        anticipation=k,
    )
