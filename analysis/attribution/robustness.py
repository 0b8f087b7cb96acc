"""Heterogeneity (who gains most) and robustness rows of the recommended estimate."""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from analysis.attribution.accounting import comparison_period
from analysis.attribution.panel import BASELINE_MONTHS, DIP_GUARD, PSCORE_TRIM, EstimationPanel, _baseline_kpi
from analysis.did import AggregateEffect, StaggeredDiDResults, fit_callaway_santanna

#: Exam-score bands for the learn→practice→exam link (upper bounds exclusive, last inclusive).
EXAM_BANDS: tuple[tuple[str, float, float], ...] = (
    ("below 60", 0.0, 60.0),
    ("60–79", 60.0, 80.0),
    ("80–100", 80.0, 100.0001),
)
#: Band labels of ``ground_truth.json`` (``att_exam_band``) mapped to the kit's.
_TRUTH_EXAM_BANDS = {"<60": "below 60", "60-80": "60–79", ">=80": "80–100"}
#: Tenure-at-training bands in months.
TENURE_BANDS: tuple[tuple[str, float, float], ...] = (
    ("under 1 year", 0.0, 12.0),
    ("1–3 years", 12.0, 36.0),
    ("3–5 years", 36.0, 60.0),
    ("5+ years", 60.0, np.inf),
)


# --------------------------------------------------------------------------- #
# Heterogeneity and robustness
# --------------------------------------------------------------------------- #
def _subgroup_fit(
    est_panel: EstimationPanel,
    keep_units: pd.Index,
    anticipation: int,
    control: str,
    method: str,
) -> AggregateEffect:
    prep = est_panel.prepared
    frame = prep.frame
    u = prep.unit
    mask = (frame[prep.cohort] == 0) | frame[u].isin(keep_units)
    sub = replace(prep, frame=frame.loc[mask])
    res = fit_callaway_santanna(
        sub, control=control, method=method, anticipation=anticipation, pscore_trim=PSCORE_TRIM,  # type: ignore[arg-type]
        cells="post",  # read only through its overall ATT
    )
    return res.aggregate("simple")


def _heterogeneity(
    est_panel: EstimationPanel,
    anticipation: int,
    control: str,
    method: str,
    min_group_size: int,
    truth: dict[str, Any] | None = None,
    intervals: str = "simultaneous",
) -> pd.DataFrame:
    units = est_panel.units
    tr = units[units["cohort"] > 0]
    groups: list[tuple[str, str, pd.Index]] = []
    if "exam_score" in tr and tr["exam_score"].notna().any():
        score = pd.to_numeric(tr["exam_score"], errors="coerce")
        for label, lo, hi in EXAM_BANDS:
            groups.append(("exam score", label, tr.index[(score >= lo) & (score < hi)]))
        groups.append(("exam score", "no exam result", tr.index[score.isna()]))
    if "exam_passed" in tr and tr["exam_passed"].notna().any():
        passed = tr["exam_passed"].astype("boolean")
        groups.append(("exam passed", "passed", tr.index[passed.fillna(False).to_numpy(bool)]))
        groups.append(("exam passed", "not passed", tr.index[(~passed).fillna(False).to_numpy(bool)]))
    if "department" in tr and tr["department"].dropna().nunique() > 1:
        for d in sorted(tr["department"].dropna().astype(str).unique()):
            groups.append(("department", d, tr.index[tr["department"].astype(str) == d]))
    if "tenure_at_training" in tr:
        ten = tr["tenure_at_training"]
        for label, lo, hi in TENURE_BANDS:
            groups.append(("tenure at training", label, tr.index[(ten >= lo) & (ten < hi)]))
    rows = []
    fitted: dict[frozenset, AggregateEffect] = {}
    for dim, label, idx in groups:
        n = len(idx)
        row: dict[str, Any] = {"dimension": dim, "group": label, "trainees": n}
        if n == 0:
            continue
        if n < min_group_size:
            row.update(att=np.nan, se=np.nan, ci_low=np.nan, ci_high=np.nan,
                       note=f"suppressed: fewer than {min_group_size} trainees")
        else:
            try:
                key = frozenset(idx)  # "not passed" is often "below 60": one fit for the same people
                if key not in fitted:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        fitted[key] = _subgroup_fit(est_panel, idx, anticipation, control, method)
                agg = fitted[key]
                lo, hi = agg.conf_int(0.95)
                row.update(att=agg.att, se=agg.se, ci_low=lo, ci_high=hi, note="")
            except (ValueError, np.linalg.LinAlgError) as exc:
                row.update(att=np.nan, se=np.nan, ci_low=np.nan, ci_high=np.nan,
                           note=f"not estimable: {exc}")
        rows.append(row)
    out = pd.DataFrame(rows, columns=["dimension", "group", "trainees", "att", "se", "ci_low", "ci_high", "note"])
    out = adjust_subgroup_intervals(out, intervals)
    if truth and truth.get("att_exam_band"):
        true_band = {_TRUTH_EXAM_BANDS.get(b["band"], b["band"]): b["att"] for b in truth["att_exam_band"]}
        is_exam = out["dimension"] == "exam score"
        out["true_att"] = np.where(is_exam, out["group"].map(true_band), np.nan)
    return out


def holm_adjusted(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values, in the order given.

    The ``i``-th smallest of ``m`` p-values is multiplied by ``m - i`` (``i`` from 0), the
    products are made non-decreasing in that order and capped at 1 (Holm 1979): the values of
    ``statsmodels.stats.multitest.multipletests(p, method="holm")[1]``, float for float (a
    test holds them equal). Computed here because that function runs a full garbage
    collection on every call (``gc.collect()``, about 0.1 s in an evaluation worker holding
    the fits), three times per sample run.

    Parameters
    ----------
    p_values : ndarray
        Unadjusted p-values, one dimension, no NaN.

    Returns
    -------
    ndarray
        The adjusted p-values, in the order of ``p_values``.

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure. *Scandinavian
    Journal of Statistics* 6(2), 65-70.
    """
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    adjusted = np.maximum.accumulate(p[order] * np.arange(len(p), 0, -1))
    adjusted[adjusted > 1] = 1
    out = np.empty_like(adjusted)
    out[order] = adjusted
    return out


def adjust_subgroup_intervals(het: pd.DataFrame, intervals: str = "simultaneous", level: float = 0.95) -> pd.DataFrame:
    """Multiple-comparison adjusted intervals and p-values of the subgroup estimates.

    With about ten subgroups per program one of them excludes zero by chance
    alone about every second time at the pointwise 95% level. ``simultaneous``
    (default) sets ``ci_low``/``ci_high`` to Bonferroni intervals that hold for
    all estimated subgroups at once (level ``1 - (1 - level) / m``) and adds
    Holm-adjusted p-values (``p_holm``); ``pointwise`` keeps the pointwise
    intervals in ``ci_low``/``ci_high``. The pointwise interval is always kept in
    ``ci_low_pointwise``/``ci_high_pointwise``.

    Parameters
    ----------
    het : DataFrame
        Subgroup table with att, se, ci_low, ci_high.
    intervals : {"simultaneous", "pointwise"}
        Which interval goes in ci_low / ci_high.
    level : float
        Family-wise confidence level.

    Returns
    -------
    DataFrame
        ``het`` with ci_low_pointwise, ci_high_pointwise, p_value, p_holm,
        interval (the kind in ci_low / ci_high, in words).
    """
    from scipy import stats

    out = het.copy()
    out["ci_low_pointwise"], out["ci_high_pointwise"] = out["ci_low"], out["ci_high"]
    ok = out["att"].notna() & out["se"].notna() & (out["se"] > 0)
    m = int(ok.sum())
    out["p_value"] = np.nan
    out["p_holm"] = np.nan
    if m:
        z = (out.loc[ok, "att"] / out.loc[ok, "se"]).abs().to_numpy(float)
        p = 2 * stats.norm.sf(z)
        out.loc[ok, "p_value"] = p
        out.loc[ok, "p_holm"] = holm_adjusted(p)
    if intervals == "simultaneous" and m > 1:
        zc = float(stats.norm.ppf(1 - (1 - level) / (2 * m)))
        out.loc[ok, "ci_low"] = out.loc[ok, "att"] - zc * out.loc[ok, "se"]
        out.loc[ok, "ci_high"] = out.loc[ok, "att"] + zc * out.loc[ok, "se"]
        out["interval"] = f"simultaneous {level:.0%} over {m} subgroups (Bonferroni)"
    else:
        out["interval"] = f"pointwise {level:.0%}"
    return out


def _other_anticipation_row(prep: Any, anticipation: int, other: int) -> tuple[str, str]:
    """Label and note of the row with the other choice of comparison month.

    On a KPI measured less often than monthly the month the other choice names may hold no KPI,
    and the estimator then compares with the same earlier month as the recommended estimate
    (:func:`analysis.attribution.accounting.comparison_period`): the row says so instead of
    naming a month it did not use.
    """
    grid = sorted(int(x) for x in prep.frame[prep.time].unique())
    cohorts = sorted(int(c) for c in prep.frame[prep.cohort].unique() if c > 0)
    if cohorts and all(comparison_period(grid, g, other) == comparison_period(grid, g, anticipation) for g in cohorts):
        return (f"Anticipation {other}: on this panel the same comparison month as the recommended estimate",
                "the KPI is not measured every month, so the month this choice names has no KPI and the estimator "
                "compares with the same earlier month")  # fmt: skip
    return (f"Comparison month {other + 1} month(s) before training (anticipation {other})",
            "the other choice of comparison month")


def _robustness(
    est_panel: EstimationPanel,
    main: StaggeredDiDResults | AggregateEffect,
    anticipation: int,
    method: str,
    allow_rc: bool,
    *,
    control: str = "never",
    other_anticipation: int | None = None,
    employee_clusters: bool = False,
    same_kpi_panel: EstimationPanel | None = None,
    pooled_panel: EstimationPanel | None = None,
    reuse: dict[int, StaggeredDiDResults | AggregateEffect] | None = None,
) -> pd.DataFrame:
    # ``main`` and ``reuse`` are fits already run (or their overall ATT, which is all a row
    # needs: a worker process receives that instead of the fit); the refits estimate only the
    # post-treatment cells their overall ATT averages (cells="post")
    prep = est_panel.prepared
    frame = prep.frame
    rows = []

    def add(label: str, res: StaggeredDiDResults | AggregateEffect | None, note: str = "") -> None:
        if res is None:
            rows.append({"variant": label, "att": np.nan, "se": np.nan, "ci_low": np.nan,
                         "ci_high": np.nan, "trainees_used": 0, "controls_used": 0, "note": note})
            return
        agg = res if isinstance(res, AggregateEffect) else res.aggregate("simple")
        lo, hi = agg.conf_int(0.95)
        rows.append({"variant": label, "att": agg.att, "se": agg.se, "ci_low": lo, "ci_high": hi,
                     "trainees_used": agg.n_treated, "controls_used": agg.n_control, "note": note})

    add("Recommended estimate", main,
        "unbalanced panel: each comparison uses employees observed in both months")

    def refit(label: str, note: str, panel: Any = None, **kw: Any) -> None:
        kw.setdefault("control", control)
        kw.setdefault("anticipation", anticipation)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = fit_callaway_santanna(panel if panel is not None else prep, method=method,  # type: ignore[arg-type]
                                            pscore_trim=PSCORE_TRIM, cells="post", **kw)
            add(label, res, note)
        except (ValueError, np.linalg.LinAlgError) as exc:
            add(label, None, f"not estimable: {exc}")

    if est_panel.pooled:
        refit("Every training month as it is (no small-cohort pooling)",
              "the recommended estimate pools training months with few trainees within their quarter; "
              "this row keeps each month as it is", panel=est_panel.prepared_asis)
    if pooled_panel is not None:
        label = "Small training months pooled within their quarter, doubly robust (the rule for larger programs)"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pp = pooled_panel.prepared
                res = fit_callaway_santanna(replace(pp, covariates=[c for c in prep.covariates if c in pp.frame.columns]),
                                            control=control, method="dr", anticipation=anticipation,  # type: ignore[arg-type]
                                            pscore_trim=PSCORE_TRIM, cells="post")
            aside = int(pooled_panel.trainees["set_aside"].str.startswith("small training month").sum())
            add(label, res, "this program's median training month has fewer trainees than the small-cohort threshold, so "
                "the recommended estimate keeps every month as it is and adjusts by outcome regression; this row is "
                "the rule for larger programs"
                + (f"; it leaves out {aside} trainee(s) of small months with nothing to pool with" if aside else ""))
        except (ValueError, np.linalg.LinAlgError) as exc:
            add(label, None, f"not estimable: {exc}")
    if other_anticipation is not None and other_anticipation != anticipation:
        label, note = _other_anticipation_row(prep, anticipation, other_anticipation)
        if other_anticipation in (reuse or {}):
            add(label, (reuse or {})[other_anticipation], note)
        else:
            refit(label, note, anticipation=other_anticipation)
    if employee_clusters and prep.cluster:
        refit("Standard errors clustered by employee",
              "same comparisons and the same estimate (every training month weighs by its size either way); "
              "only the standard errors change, with employee-level instead of the stated clustering",
              panel=replace(prep, cluster=None))
    if same_kpi_panel is not None:
        sp = same_kpi_panel.prepared
        if list(sp.covariates) != list(prep.covariates):
            sp = replace(sp, covariates=[c for c in prep.covariates if c in sp.frame.columns])
        refit("Trainees of other programs on the same KPI kept as comparisons",
              "the previous default: people trained in another program aimed at the same KPI count as never trained",
              panel=sp)
    n_periods = frame[prep.time].nunique()
    counts = frame.groupby(prep.unit, sort=False)[prep.time].transform("size")
    bal = frame.loc[counts == n_periods]
    n_t = int(bal.loc[bal[prep.cohort] > 0, prep.unit].nunique())
    n_c = int(bal.loc[bal[prep.cohort] == 0, prep.unit].nunique())
    if n_t >= 2 and n_c >= 2:
        try:
            res = fit_callaway_santanna(
                replace(prep, frame=bal), method=method, anticipation=anticipation,  # type: ignore[arg-type]
                pscore_trim=PSCORE_TRIM, cells="post",
            )
            add("Balanced subsample (employees present every month)", res,
                f"keeps {n_t} trainees and {n_c} never-trained employees")
        except (ValueError, np.linalg.LinAlgError) as exc:
            add("Balanced subsample (employees present every month)", None, f"not estimable: {exc}")
    else:
        add("Balanced subsample (employees present every month)", None,
            f"only {n_t} trainees and {n_c} controls are present every month")
    try:
        res = fit_callaway_santanna(
            prep, control="not_yet", method=method, anticipation=anticipation,  # type: ignore[arg-type]
            pscore_trim=PSCORE_TRIM, cells="post",
        )
        add("Not-yet-trained employees also as controls", res, "")
    except (ValueError, np.linalg.LinAlgError) as exc:
        add("Not-yet-trained employees also as controls", None, f"not estimable: {exc}")
    level_label = "Also controlling for the pre-training KPI level"
    if "baseline_kpi" not in prep.covariates:
        base = _baseline_kpi(est_panel.long, est_panel.units["cohort"], BASELINE_MONTHS, DIP_GUARD)
        lev = frame.assign(baseline_kpi=frame[prep.unit].map(base).astype(float))
        lev = lev.loc[lev["baseline_kpi"].notna()]
        try:
            res = fit_callaway_santanna(
                replace(prep, frame=lev, covariates=[*prep.covariates, "baseline_kpi"]),
                control="never", method=method, anticipation=anticipation,  # type: ignore[arg-type]
                pscore_trim=PSCORE_TRIM, cells="post",
            )
            add(level_label, res,
                f"mean KPI of the first {BASELINE_MONTHS} months before training; not in the recommended estimate "
                "because matching on a noisy pre-period level brings regression to the mean back "
                "into a difference-in-differences (Daw & Hatfield 2018): read a gap as sensitivity")
        except (ValueError, np.linalg.LinAlgError) as exc:
            add(level_label, None, f"not estimable: {exc}")
    if allow_rc:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = fit_callaway_santanna(
                    prep, method=method, anticipation=anticipation,  # type: ignore[arg-type]
                    allow_unbalanced_panel=True, pscore_trim=PSCORE_TRIM, cells="post",
                )
            add("Repeated cross-sections (R did allow_unbalanced_panel)", res,
                "assumes a stable workforce composition")
        except ValueError as exc:
            add("Repeated cross-sections (R did allow_unbalanced_panel)", None, str(exc))
    return pd.DataFrame(rows)

