"""The learn -> practice -> exam loop's layered metrics (seed 000): process, outcome, transfer.

* **Process** — how the loop was run: module completion, learning finished without
  interruption, practice first-pass rate, key-step error rate, exam taken on time,
  retake pass rate.
* **Outcome** — what it produced right away: exam pass rate and mean score, by program and
  department.
* **Transfer** — what changed at work 1, 3 and 6 months after training *against the
  comparison group*: the attribution engine's event-time effects (notebook 02's
  ``dynamic_profile``, never re-estimated here), the follow-ups' application share and
  manager rating, and the change of the target competency against colleagues who were
  not trained.

Every metric has one definition (:data:`METRICS`), printed beside its value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["COMPETENCY_WINDOWS", "METRICS", "TRANSFER_MONTHS", "competency_change", "competency_change_by_months", "outcome_layer", "process_layer", "transfer_layer", "wilson_interval"]

TRANSFER_MONTHS: tuple[int, ...] = (1, 3, 6)
#: Display names of the transfer layer's measures.
TRANSFER_MEASURES: dict[str, str] = {
    "kpi_change_vs_comparison": "KPI change vs comparison group", "competency_change_vs_comparison": "Target competency vs comparison group",
    "applied_share": "Applied on the job", "manager_rating": "Manager rating",
}

#: metric -> (layer, label, unit, definition). One agreed definition per metric.
METRICS: dict[str, tuple[str, str, str, str]] = {
    "module_completion_rate": ("process", "Learning content completed", "share",
                               "mean share of the learning content completed per run (enrollments.learn_completion)"),
    "uninterrupted_completion_rate": ("process", "Learning finished without interruption", "share",
                                      "runs whose learning was finished (completed or failed the exam) with no break-off / runs whose learning was finished"),
    "practice_first_pass_rate": ("process", "Practice first-pass rate", "share",
                                 "practice tasks passed at the first attempt / practice tasks taken"),
    "key_step_error_rate": ("process", "Key-step error rate in practice", "share", "mean share of key practice steps done wrong"),
    "on_time_exam_rate": ("process", "Exam taken on time", "share",
                          "runs that reached their end with the exam taken / runs that reached their end (not in progress)"),
    "retake_pass_rate": ("process", "Retake pass rate", "share", "runs passed after a retake / runs with a retake (two or more attempts)"),
    "completion_rate": ("process", "Program completion rate", "share",
                        "runs completed (learning done and exam passed) / runs that reached their end (not in progress)"),
    "exam_pass_rate": ("outcome", "Exam pass rate", "share", "runs with the exam passed / runs with the exam taken"),
    "mean_exam_score": ("outcome", "Mean exam score", "points (0-100)", "mean final exam score of runs with the exam taken"),
}


def _tables(data: Any) -> dict[str, pd.DataFrame]:
    return data.tables if hasattr(data, "tables") else data


def wilson_interval(successes: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a share (Wilson 1927); NaN for n = 0."""
    if n <= 0:
        return (float("nan"), float("nan"))
    z = stats.norm.ppf(0.5 + level / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (float(centre - half), float(centre + half))


def _bool(s: pd.Series) -> pd.Series:
    return s.astype("boolean")


def _metric_rows(enr: pd.DataFrame) -> dict[str, tuple[float, int]]:
    """Each loop metric of a set of runs: (value, n behind it)."""
    status = enr["status"].astype("string")
    out: dict[str, tuple[float, int]] = {}

    def share(num: pd.Series, den: pd.Series) -> tuple[float, int]:
        d = int(den.sum())
        return (float(num[den].sum()) / d if d else float("nan"), d)

    def mean(col: str) -> tuple[float, int]:
        if col not in enr.columns:
            return (float("nan"), 0)
        v = pd.to_numeric(enr[col], errors="coerce").dropna()
        return (float(v.mean()) if len(v) else float("nan"), int(len(v)))

    finished = status.isin(["completed", "failed"]).fillna(False).to_numpy()
    ended = (~status.isin(["in_progress", "enrolled"])).fillna(False).to_numpy()
    attempts = pd.to_numeric(enr.get("exam_attempts", pd.Series(np.nan, index=enr.index)), errors="coerce").fillna(0).to_numpy()
    passed = _bool(enr["exam_passed"]).fillna(False).to_numpy(bool) if "exam_passed" in enr.columns else np.zeros(len(enr), bool)
    out["module_completion_rate"] = mean("learn_completion")
    if "learn_interruptions" in enr.columns:
        zero = (pd.to_numeric(enr["learn_interruptions"], errors="coerce") == 0).fillna(False).to_numpy()
        out["uninterrupted_completion_rate"] = share(pd.Series(zero), pd.Series(finished))
    if "practice_first_pass" in enr.columns:
        fp = _bool(enr["practice_first_pass"])
        out["practice_first_pass_rate"] = share(pd.Series(fp.fillna(False).to_numpy(bool)), pd.Series(fp.notna().to_numpy()))
    out["key_step_error_rate"] = mean("practice_error_rate")
    out["on_time_exam_rate"] = share(pd.Series(attempts > 0), pd.Series(ended))
    out["retake_pass_rate"] = share(pd.Series(passed), pd.Series(attempts >= 2))
    out["completion_rate"] = share(pd.Series((status == "completed").fillna(False).to_numpy()), pd.Series(ended))
    out["exam_pass_rate"] = share(pd.Series(passed), pd.Series(attempts > 0))
    if "exam_score" in enr.columns:
        v = pd.to_numeric(enr["exam_score"], errors="coerce")[attempts > 0].dropna()
        out["mean_exam_score"] = (float(v.mean()) if len(v) else float("nan"), int(len(v)))
    return out


def _layer(data: Any, layer: Sequence[str], by: Sequence[str], min_group_size: int) -> pd.DataFrame:
    t = _tables(data)
    enr = t["enrollments"].drop(columns="_line", errors="ignore")
    by = list(by)
    if any(c not in enr.columns for c in by):
        emp = t["employees"].drop(columns="_line", errors="ignore")
        enr = enr.merge(emp[["employee_id", *[c for c in by if c in emp.columns and c not in enr.columns]]], on="employee_id", how="left")
    groups = [((), enr)] if not by else list(enr.groupby(by, observed=True, sort=True))
    rows = []
    for key, sub in groups:
        key = key if isinstance(key, tuple) else (key,)
        for name, (value, n) in _metric_rows(sub).items():
            lay, label, unit, definition = METRICS[name]
            if lay not in layer:
                continue
            small = n < min_group_size
            rows.append({**dict(zip(by, key)), "layer": lay, "metric": name, "label": label, "value": np.nan if small else value,
                         "runs": n, "unit": unit, "definition": definition,
                         "note": f"suppressed: fewer than {min_group_size} runs" if small and n > 0 else ("no runs" if n == 0 else "")})
    return pd.DataFrame(rows, columns=[*by, "layer", "metric", "label", "value", "runs", "unit", "definition", "note"])


def process_layer(data: Any, by: Sequence[str] = ("program_id",), *, min_group_size: int = 5) -> pd.DataFrame:
    """The process layer of the loop, per group.

    Parameters
    ----------
    data : Dataset or mapping of table name to DataFrame
        Needs ``enrollments`` (and ``employees`` to group by an employee column).
    by : sequence of str
        Grouping columns (enrollment or employee columns); empty for all runs together.
    min_group_size : int
        A value behind fewer runs than this is blanked (``note`` says so).

    Returns
    -------
    DataFrame
        One row per group and metric: the ``by`` columns, layer, metric, label, value, runs
        (behind it), unit, definition, note.
    """
    return _layer(data, ("process",), by, min_group_size)


def outcome_layer(data: Any, by: Sequence[str] = ("program_id", "department"), *, min_group_size: int = 5) -> pd.DataFrame:
    """The outcome layer: exam pass rate and mean exam score per group (default program × department).

    Same columns as :func:`process_layer`.
    """
    return _layer(data, ("outcome",), by, min_group_size)


def competency_change(data: Any, *, level: float = 0.95, min_group_size: int = 5) -> pd.DataFrame:
    """Change of each program's target competency, trainees against colleagues not trained in it.

    For a trainee, the change is the first assessment of the program's target competency
    after the end of the first run minus the last one before its start; for a colleague
    of the same role never trained in the program, the last assessment minus the first.
    The difference of the two mean changes is a simple difference-in-differences: it nets
    out what moved everybody's ratings (a review cycle, a new rater); it assumes trainees'
    ratings would have moved like the comparison group's without training.

    Parameters
    ----------
    data : Dataset or mapping of table name to DataFrame
        ``programs``, ``enrollments``, ``employees`` and ``assessments``.
    level : float
        Interval coverage (normal approximation, unequal variances).
    min_group_size : int
        Fewer trainees or comparison colleagues than this: no estimate.

    Returns
    -------
    DataFrame
        program_id, competency, trainee_change (and its standard error trainee_se),
        comparison_change, change_vs_comparison,
        se, ci_low, ci_high, n_trainees, n_comparison, definition. Empty without assessments.
    """
    t = _tables(data)
    cols = ["program_id", "competency", "trainee_change", "trainee_se", "comparison_change", "change_vs_comparison", "se", "ci_low", "ci_high",
            "n_trainees", "n_comparison", "definition"]
    if t.get("assessments") is None or len(t["assessments"]) == 0:
        return pd.DataFrame(columns=cols)
    z = stats.norm.ppf(0.5 + level / 2)
    rows = []
    for prog in t["programs"].itertuples(index=False):
        comp = prog.target_competency
        trainees, comparison = _competency_changes(t, prog.program_id, comp)
        d1, d0 = trainees["change"], comparison
        n1, n0 = len(d1), len(d0)
        if n1 < min_group_size or n0 < min_group_size:
            est = se = np.nan
        else:
            est = float(d1.mean() - d0.mean())
            se = float(np.sqrt(d1.var(ddof=1) / n1 + d0.var(ddof=1) / n0))
        rows.append({
            "program_id": prog.program_id, "competency": comp, "trainee_change": float(d1.mean()) if n1 else np.nan,
            "trainee_se": float(d1.std(ddof=1) / np.sqrt(n1)) if n1 > 1 else np.nan,
            "comparison_change": float(d0.mean()) if n0 else np.nan, "change_vs_comparison": est, "se": se,
            "ci_low": est - z * se, "ci_high": est + z * se, "n_trainees": n1, "n_comparison": n0,
            "definition": f"change of {comp} from the last assessment before training to the first after it, minus the change of "
                          "same-role colleagues never trained in the program (first to last assessment)",
        })
    return pd.DataFrame(rows, columns=cols)


def _band(row: pd.Series) -> str:
    band = str(row.get("band", "") or "")
    return "95% band that holds for all months at once" if band.startswith("uniform") else "95% interval"


def _competency_changes(t: dict[str, pd.DataFrame], program_id: str, comp: str) -> tuple[pd.DataFrame, pd.Series]:
    """Per trainee: change of ``comp`` across the program's first run and months from its end to the
    assessment after it; per same-role colleague never trained in it: first-to-last change."""
    ass, emp, enr = t["assessments"], t["employees"].set_index("employee_id"), t["enrollments"]
    a = ass[ass["competency"] == comp].sort_values(["employee_id", "assessed_on"], kind="stable")
    mine = enr[enr["program_id"] == program_id].sort_values(["employee_id", "start_date"], kind="stable").drop_duplicates("employee_id")
    roles = set(emp.loc[mine["employee_id"], "role"]) if len(mine) else set()
    first = mine.set_index("employee_id")
    a = a.merge(first[["start_date", "end_date"]], left_on="employee_id", right_index=True, how="left")
    trained = a[a["start_date"].notna()]
    before = trained[trained["assessed_on"] < trained["start_date"]].groupby("employee_id")["score"].last()
    post = trained[trained["end_date"].notna() & (trained["assessed_on"] > trained["end_date"])].groupby("employee_id")[["score", "assessed_on", "end_date"]].first()
    changes = pd.DataFrame({"change": post["score"] - before.reindex(post.index),
                            "months_after": (post["assessed_on"] - post["end_date"]).dt.days / (365.25 / 12)}).dropna()
    never = a[a["start_date"].isna() & a["employee_id"].map(emp["role"]).isin(roles)]
    g = never.groupby("employee_id")["score"]
    comparison = (g.last() - g.first())[g.size() >= 2]
    return changes, comparison


#: Months after training -> (lower, upper] months between the end of training and the assessment after it.
COMPETENCY_WINDOWS: dict[int, tuple[float, float]] = {1: (0.0, 2.0), 3: (2.0, 4.5), 6: (4.5, 9.0)}


def competency_change_by_months(data: Any, *, windows: dict[int, tuple[float, float]] | None = None, level: float = 0.95,
                                min_group_size: int = 5) -> pd.DataFrame:
    """Target-competency change against the comparison group, by time from training to the assessment.

    Trainees are grouped by the months from the end of their first run to the first
    assessment after it (``windows``: about 1, 3 and 6 months); each group's mean change
    minus the mean change of same-role colleagues never trained in the program (as in
    :func:`competency_change`).

    Returns
    -------
    DataFrame
        program_id, competency, months_after, change_vs_comparison, se, ci_low, ci_high,
        n_trainees, n_comparison. Groups below ``min_group_size`` have no estimate.
    """
    t = _tables(data)
    cols = ["program_id", "competency", "months_after", "change_vs_comparison", "se", "ci_low", "ci_high", "n_trainees", "n_comparison"]
    if t.get("assessments") is None or len(t["assessments"]) == 0:
        return pd.DataFrame(columns=cols)
    z = stats.norm.ppf(0.5 + level / 2)
    rows = []
    for prog in t["programs"].itertuples(index=False):
        changes, d0 = _competency_changes(t, prog.program_id, prog.target_competency)
        for m, (lo, hi) in (windows or COMPETENCY_WINDOWS).items():
            d1 = changes.loc[(changes["months_after"] > lo) & (changes["months_after"] <= hi), "change"]
            n1, n0 = len(d1), len(d0)
            if n1 < min_group_size or n0 < min_group_size:
                est = se = np.nan
            else:
                est = float(d1.mean() - d0.mean())
                se = float(np.sqrt((d1.var(ddof=1) if n1 > 1 else np.nan) / n1 + d0.var(ddof=1) / n0))
            rows.append({"program_id": prog.program_id, "competency": prog.target_competency, "months_after": m, "change_vs_comparison": est,
                         "se": se, "ci_low": est - z * se, "ci_high": est + z * se, "n_trainees": n1, "n_comparison": n0})
    return pd.DataFrame(rows, columns=cols)


def transfer_layer(dynamic_profile: pd.DataFrame | None, followups: pd.DataFrame | None = None, *,
                   months: Sequence[int] = TRANSFER_MONTHS, level: float = 0.95, min_group_size: int = 5,
                   units: dict[str, str] | None = None, competency: pd.DataFrame | None = None) -> pd.DataFrame:
    """KPI change and application 1, 3 and 6 months after training, against the comparison group.

    Parameters
    ----------
    dynamic_profile : DataFrame or None
        Notebook 02's ``dynamic_profile`` export (program_id, kpi, event_time, att, se,
        ci_low, ci_high, ...): the effect on the KPI ``event_time`` months after the
        training month, against employees not (yet) trained — read, not re-estimated.
        None: the KPI rows say "not yet measured".
    followups : DataFrame, optional
        The ``followups`` table (employee_id, program_id, months_after, applied,
        manager_rating).
    months : sequence of int
        Follow-up months.
    level : float
        Coverage of the application share's Wilson interval.
    min_group_size : int
        Follow-ups of fewer trainees than this are blanked.
    units : dict, optional
        KPI -> unit (``kpi_definitions``), for the KPI rows' unit (default: the KPI's name).
    competency : DataFrame, optional
        :func:`competency_change_by_months` output: adds the target competency's change
        against the comparison group at each month (``competency_change_vs_comparison``).

    Returns
    -------
    DataFrame
        One row per program, month and measure (``kpi_change_vs_comparison``,
        ``competency_change_vs_comparison``, ``applied_share``, ``manager_rating``): program_id, months_after, measure, label, value,
        ci_low, ci_high, people, unit, definition, status (``measured`` / ``not yet measured``).
    """
    rows: list[dict[str, Any]] = []
    programs: list[str] = list(dict.fromkeys(competency["program_id"].astype(str))) if competency is not None and len(competency) else []
    if dynamic_profile is not None and len(dynamic_profile):
        programs += list(dict.fromkeys(dynamic_profile["program_id"].astype(str)))
    if followups is not None and len(followups):
        programs += [p for p in dict.fromkeys(followups["program_id"].astype(str)) if p not in programs]
    for p in sorted(set(programs)):
        for m in months:
            if dynamic_profile is not None and len(dynamic_profile):
                d = dynamic_profile[(dynamic_profile["program_id"].astype(str) == p) & (dynamic_profile["event_time"] == m)]
            else:
                d = pd.DataFrame()
            if len(d):
                r = d.iloc[0]
                rows.append({"program_id": p, "months_after": m, "measure": "kpi_change_vs_comparison", "value": float(r["att"]),
                             "ci_low": float(r["ci_low"]), "ci_high": float(r["ci_high"]), "people": np.nan,
                             "unit": (units or {}).get(str(r.get("kpi", "")), str(r.get("kpi", ""))),
                             "definition": f"effect on {r.get('kpi', 'the KPI')} {m} month{'s' if m != 1 else ''} after the training month against employees not "
                                           f"trained (notebook 02's event-time effect; {_band(r)})", "status": "measured"})
            else:
                rows.append({"program_id": p, "months_after": m, "measure": "kpi_change_vs_comparison", "value": np.nan, "ci_low": np.nan,
                             "ci_high": np.nan, "people": np.nan, "unit": "", "definition": "effect on the KPI against the comparison group",
                             "status": "not yet measured"})
            if competency is not None and len(competency):
                c = competency[(competency["program_id"].astype(str) == p) & (competency["months_after"] == m)]
                if len(c):
                    c0 = c.iloc[0]
                    ok = bool(np.isfinite(c0["change_vs_comparison"]))
                    rows.append({"program_id": p, "months_after": m, "measure": "competency_change_vs_comparison",
                                 "value": c0["change_vs_comparison"], "ci_low": c0["ci_low"], "ci_high": c0["ci_high"], "people": float(c0["n_trainees"]),
                                 "unit": "points", "definition": f"change of {c0['competency']} for trainees assessed about {m} month{'s' if m != 1 else ''} "
                                 "after training, minus the change of same-role colleagues not trained (95% interval)",
                                 "status": "measured" if ok else "too few to report"})
            if followups is None or not len(followups):
                continue
            f = followups[(followups["program_id"].astype(str) == p) & (followups["months_after"] == m)]
            applied = f["applied"].astype("boolean")
            k = int(applied.fillna(False).sum())
            n_app = int(applied.notna().sum())
            lo, hi = wilson_interval(k, n_app, level)
            small = n_app < min_group_size
            rows.append({"program_id": p, "months_after": m, "measure": "applied_share", "value": np.nan if small else k / n_app if n_app else np.nan,
                         "ci_low": np.nan if small else lo, "ci_high": np.nan if small else hi, "people": n_app, "unit": "share",
                         "definition": f"trainees the follow-up found applying the training on the job, at the {m}-month follow-up",
                         "status": "measured" if not small else "too few to report"})
            r = pd.to_numeric(f.get("manager_rating", pd.Series(dtype=float)), errors="coerce").dropna()
            se = float(r.std(ddof=1) / np.sqrt(len(r))) if len(r) > 1 else np.nan
            zq = stats.norm.ppf(0.5 + level / 2)
            small = len(r) < min_group_size
            rows.append({"program_id": p, "months_after": m, "measure": "manager_rating", "value": np.nan if small else float(r.mean()),
                         "ci_low": np.nan if small else float(r.mean()) - zq * se, "ci_high": np.nan if small else float(r.mean()) + zq * se,
                         "people": len(r), "unit": "points (1-5)", "definition": f"mean manager rating of on-the-job use at the {m}-month follow-up",
                         "status": "measured" if not small else "too few to report"})
    out = pd.DataFrame(rows, columns=["program_id", "months_after", "measure", "value", "ci_low", "ci_high", "people", "unit", "definition", "status"])
    out.insert(3, "label", out["measure"].map(TRANSFER_MEASURES))
    return out
