"""The Kirkpatrick ladder per program: reaction, learning, behaviour, results, ROI (seed 001).

Levels 1-3 are computed from the kit's tables (enrollments, assessments, follow-ups);
level 4 (results) is the attribution engine's effect on the program's KPI and level 5
the ROI analysis's return, both read from the same run's exports of notebooks 02 and 03.
Where those are missing the ladder says "not yet measured" — never a made-up number.

References
----------
Kirkpatrick, D. L., & Kirkpatrick, J. D. (2006). *Evaluating Training Programs: The Four
Levels* (3rd ed.). Berrett-Koehler. Phillips, J. J. (1997). *Return on Investment in
Training and Performance Improvement Programs* (level 5).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.scorecard.loop import competency_change, transfer_layer, wilson_interval

__all__ = ["LEVELS", "NOT_MEASURED", "funnel", "kirkpatrick_ladder"]

LEVELS: dict[int, str] = {1: "L1 reaction", 2: "L2 learning", 3: "L3 behaviour", 4: "L4 results", 5: "L5 ROI"}
NOT_MEASURED = "not yet measured"
_COLS = ["program_id", "level", "level_name", "measure", "value", "ci_low", "ci_high", "people", "unit", "definition", "status"]


def _tables(data: Any) -> dict[str, pd.DataFrame]:
    return data.tables if hasattr(data, "tables") else data


def _mean_ci(v: pd.Series, z: float) -> tuple[float, float, float]:
    v = pd.to_numeric(v, errors="coerce").dropna()
    if len(v) == 0:
        return (np.nan, np.nan, np.nan)
    m = float(v.mean())
    se = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else np.nan
    return (m, m - z * se, m + z * se)


def kirkpatrick_ladder(data: Any, *, att_by_program: pd.DataFrame | None = None, roi_by_program: pd.DataFrame | None = None,
                       dynamic_profile: pd.DataFrame | None = None, level: float = 0.95, min_group_size: int = 5) -> pd.DataFrame:
    """Kirkpatrick levels 1-5 of every program, each measure with its n, interval and definition.

    Parameters
    ----------
    data : Dataset or mapping of table name to DataFrame
        ``programs``, ``enrollments``, ``employees``; ``assessments`` and ``followups`` when
        present.
    att_by_program : DataFrame, optional
        Notebook 02's ``att_by_program`` export (program_id, kpi, unit, att, ci_low,
        ci_high, n_trainees, ...). None: level 4 is "not yet measured".
    roi_by_program : DataFrame, optional
        Notebook 03's ``roi_by_program`` export (program_id, participants,
        roi_pct_median, roi_pct_low, roi_pct_high, p_roi_positive, ...). None: level 5 is
        "not yet measured".
    dynamic_profile : DataFrame, optional
        Notebook 02's ``dynamic_profile`` export, for the KPI change 3 months after
        training at level 3.
    level : float
        Interval coverage for the measures computed here.
    min_group_size : int
        A measure behind fewer people than this is blanked.

    Returns
    -------
    DataFrame
        One row per program and measure: program_id, level (1-5), level_name, measure,
        value, ci_low, ci_high, people (behind the value), unit, definition, status (``measured``, ``not yet
        measured``, ``too few to report``).
    """
    t = _tables(data)
    z = stats.norm.ppf(0.5 + level / 2)
    enr = t["enrollments"]
    comp = competency_change(t, level=level, min_group_size=min_group_size)
    defs = t.get("kpi_definitions")
    units = dict(zip(defs["kpi"].astype(str), defs["unit"].astype(str))) if defs is not None else None
    transfer = transfer_layer(dynamic_profile, t.get("followups"), level=level, min_group_size=min_group_size, units=units)
    rows: list[dict[str, Any]] = []

    def add(p: str, lvl: int, measure: str, value: float, lo: float, hi: float, n: float, unit: str, definition: str, status: str | None = None) -> None:
        if status is None:
            status = "measured" if np.isfinite(value) else NOT_MEASURED
            if np.isfinite(n) and n < min_group_size:
                value, lo, hi, status = np.nan, np.nan, np.nan, "too few to report"
        rows.append({"program_id": p, "level": lvl, "level_name": LEVELS[lvl], "measure": measure, "value": value, "ci_low": lo, "ci_high": hi,
                     "people": n, "unit": unit, "definition": definition, "status": status})

    for prog in t["programs"].itertuples(index=False):
        p = str(prog.program_id)
        e = enr[enr["program_id"] == p]
        # ---- L1 reaction
        r = pd.to_numeric(e.get("reaction_score", pd.Series(dtype=float)), errors="coerce")
        m, lo, hi = _mean_ci(r, z)
        add(p, 1, "reaction score", m, lo, hi, float(r.notna().sum()), "points (1-5)", "mean end-of-course reaction score of runs with a response")
        k, n = int(r.notna().sum()), len(e)
        lo, hi = wilson_interval(k, n, level)
        add(p, 1, "response rate", k / n if n else np.nan, lo, hi, float(n), "share", "runs with a reaction score / runs started")
        # ---- L2 learning
        sat = pd.to_numeric(e.get("exam_attempts", pd.Series(0, index=e.index)), errors="coerce").fillna(0) > 0
        passed = e["exam_passed"].astype("boolean").fillna(False).astype(bool) if "exam_passed" in e.columns else pd.Series(False, index=e.index)
        k, n = int(passed[sat].sum()), int(sat.sum())
        lo, hi = wilson_interval(k, n, level)
        add(p, 2, "exam pass rate", k / n if n else np.nan, lo, hi, float(n), "share", "runs with the exam passed / runs with the exam taken")
        m, lo, hi = _mean_ci(e.loc[sat, "exam_score"] if "exam_score" in e.columns else pd.Series(dtype=float), z)
        add(p, 2, "exam score", m, lo, hi, float(n), "points (0-100)", "mean final exam score of runs with the exam taken")
        c = comp[comp["program_id"] == p]
        if len(c):
            c0 = c.iloc[0]
            add(p, 2, f"{c0['competency']} gain", float(c0["trainee_change"]), float(c0["trainee_change"] - z * c0["trainee_se"]),
                float(c0["trainee_change"] + z * c0["trainee_se"]), float(c0["n_trainees"]), "points",
                f"mean change of {c0['competency']} from the last assessment before training to the first after it (trainees)")
            # ---- L3 behaviour
            add(p, 3, f"{c0['competency']} change vs comparison", float(c0["change_vs_comparison"]), float(c0["ci_low"]), float(c0["ci_high"]),
                float(min(c0["n_trainees"], c0["n_comparison"])), "points", str(c0["definition"]))
        else:
            add(p, 2, "competency gain", np.nan, np.nan, np.nan, np.nan, "points", "no assessments of the target competency", NOT_MEASURED)
        tr = transfer[transfer["program_id"] == p]
        for months in (1, 3, 6):
            a = tr[(tr["measure"] == "applied_share") & (tr["months_after"] == months)]
            if len(a):
                a0 = a.iloc[0]
                add(p, 3, f"applied at {months} month{'s' if months != 1 else ''}", float(a0["value"]), float(a0["ci_low"]), float(a0["ci_high"]), float(a0["people"]), "share",
                    str(a0["definition"]))
        if not (tr["measure"] == "applied_share").any():
            add(p, 3, "applied on the job", np.nan, np.nan, np.nan, np.nan, "share", "no follow-ups in the dataset", NOT_MEASURED)
        k3 = tr[(tr["measure"] == "kpi_change_vs_comparison") & (tr["months_after"] == 3)]
        if len(k3) and k3.iloc[0]["status"] == "measured":
            k0 = k3.iloc[0]
            add(p, 3, "KPI change at 3 months vs comparison", float(k0["value"]), float(k0["ci_low"]), float(k0["ci_high"]), np.nan, str(k0["unit"]),
                str(k0["definition"]))
        else:
            add(p, 3, "KPI change at 3 months vs comparison", np.nan, np.nan, np.nan, np.nan, "", "notebook 02's event-time effect", NOT_MEASURED)
        # ---- L4 results
        att = att_by_program[att_by_program["program_id"].astype(str) == p] if att_by_program is not None else pd.DataFrame()
        if len(att):
            a0 = att.iloc[0]
            add(p, 4, f"effect on {a0.get('kpi', 'KPI')} per trainee-month", float(a0["att"]), float(a0["ci_low"]), float(a0["ci_high"]),
                float(a0.get("n_trainees", np.nan)), str(a0.get("unit", "")),
                "the KPI change caused by the training, per trainee and month, against the comparison group (notebook 02, 95% interval)",
                status="measured" if np.isfinite(float(a0["att"])) else NOT_MEASURED)
        else:
            add(p, 4, "effect on the KPI", np.nan, np.nan, np.nan, np.nan, "", "notebook 02's attributed effect", NOT_MEASURED)
        # ---- L5 ROI
        roi = roi_by_program[roi_by_program["program_id"].astype(str) == p] if roi_by_program is not None else pd.DataFrame()
        if len(roi) and np.isfinite(float(roi.iloc[0].get("roi_pct_median", np.nan))):
            r0 = roi.iloc[0]
            add(p, 5, "ROI", float(r0["roi_pct_median"]) / 100.0, float(r0["roi_pct_low"]) / 100.0, float(r0["roi_pct_high"]) / 100.0,
                float(r0.get("participants", np.nan)), "share",
                "(benefit - fully loaded cost) / cost, median and interval of its distribution (notebook 03"
                + (f": {r0['status']})" if isinstance(r0.get("status"), str) and r0.get("status") else ")"), status="measured")
        else:
            add(p, 5, "ROI", np.nan, np.nan, np.nan, np.nan, "share", "notebook 03's return on investment", NOT_MEASURED)
    return pd.DataFrame(rows, columns=_COLS)


def funnel(data: Any, *, min_group_size: int = 5, satisfied: float = 4.0) -> pd.DataFrame:
    """People reaching each of levels 1-3 per program, as counts and shares of the trainees.

    Stages: trainees (people with a run), satisfied (a reaction score >= ``satisfied``),
    passed (a run with the exam passed), applied (a follow-up saying they applied it); a
    stage whose column or table the dataset lacks is left out.

    Returns
    -------
    DataFrame
        program_id, stage, level, people, share (of the program's trainees), definition. Stages
        of fewer than ``min_group_size`` people are blanked; ``applied`` is absent without
        follow-ups.
    """
    t = _tables(data)
    enr = t["enrollments"]
    fu = t.get("followups")
    rows = []
    for p, e in enr.groupby("program_id", sort=True):
        people = e["employee_id"].nunique()
        stages = [("trainees", 0, people, "people who started a run")]
        if "reaction_score" in e.columns:
            happy = pd.to_numeric(e["reaction_score"], errors="coerce") >= satisfied
            stages.append(("satisfied (L1)", 1, e.loc[happy.to_numpy(), "employee_id"].nunique(), f"people with a reaction score of {satisfied:g} or more"))
        if "exam_passed" in e.columns:
            ok = e["exam_passed"].astype("boolean").fillna(False).astype(bool)
            stages.append(("passed the exam (L2)", 2, e.loc[ok.to_numpy(), "employee_id"].nunique(), "people with a run whose exam they passed"))
        if fu is not None and len(fu):
            f = fu[(fu["program_id"] == p) & fu["applied"].astype("boolean").fillna(False).astype(bool)]
            stages.append(("applied on the job (L3)", 3, f["employee_id"].nunique(), "people a follow-up found applying the training"))
        for stage, lvl, n, definition in stages:
            small = n < min_group_size
            rows.append({"program_id": str(p), "stage": stage, "level": lvl, "people": np.nan if small else float(n),
                         "share": np.nan if small else n / people if people else np.nan, "definition": definition})
    return pd.DataFrame(rows, columns=["program_id", "stage", "level", "people", "share", "definition"])
