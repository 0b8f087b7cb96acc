"""Training attribution: did program P cause the change in KPI K, and by how much?

The training-specific layer over :mod:`analysis.did` (Callaway–Sant'Anna via
``diff_diff``, two-way fixed effects via ``linearmodels``) and
:mod:`analysis.diagnostics`:

* :func:`build_estimation_panel` turns a :class:`analysis.data.Dataset` into the
  estimation panel of one program and KPI: cohorts (first training month,
  intention to treat), never-trained comparison employees, the confound controls
  (tenure, department, region, grade — fixed before training; regional and
  departmental market swings cancel within each comparison through the region
  and department indicators; the market index at entry and the pre-training KPI
  level are opt-in controls, see :data:`DEFAULT_CONTROLS`), the small-cohort
  rule and the clustering level.
* :func:`estimate` runs the recommended Callaway–Sant'Anna estimate on a built
  panel (the estimation step alone; what the speed benchmark times).
* :func:`evaluate_program` runs everything notebook ``02_training_attribution``
  shows: the method ladder beside the truth, the event study with uniform bands
  and the pre-training-dip correction, diagnostics in words, heterogeneity,
  unbalanced-panel robustness, exports and a plain-language summary.

Public API: :func:`staggered_did`, :func:`twfe_event_study` (re-exported from
:mod:`analysis.did`) and :func:`evaluate_program`.
"""

from __future__ import annotations

import json
import time as _time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from analysis.data import DataValidationError
from analysis.diagnostics import (
    DipCheck,
    HonestDiDCheck,
    OverlapCheck,
    PlaceboCheck,
    PretrendTest,
    TWFEWeightCheck,
    detect_pre_training_dip,
    honest_did_breakdown,
    overlap_check,
    placebo_fake_dates,
    pretrend_test,
    twfe_weight_check,
)
from analysis.did import (
    AggregateEffect,
    PreparedPanel,
    ResultSummary,
    StaggeredDiDResults,
    TWFEResults,
    fit_callaway_santanna,
    prepare_did_panel,
    staggered_did,
    twfe_did,
    twfe_event_study,
)

__all__ = [
    "AggregateEffect",
    "EstimationPanel",
    "ProgramEvaluation",
    "StaggeredDiDResults",
    "TWFEResults",
    "AttributionReport",
    "build_estimation_panel",
    "estimate",
    "evaluate_program",
    "evaluate_programs",
    "staggered_did",
    "twfe_did",
    "twfe_event_study",
]

Cluster = Literal["employee", "manager", "department"]
_CLUSTER_COLUMN = {"employee": None, "manager": "manager_id", "department": "department"}
_CLUSTER_WORDS = {
    "employee": "employee",
    "manager": "manager (team)",
    "department": "department",
}
#: Propensity-score clipping of the kit's estimates: training months hold few trainees
#: against many never-trained employees, so typical scores sit near the cohort share
#: (~1%); diff_diff's default 0.01 would flatten the control weights (R DRDID does not
#: clip low scores at all).
PSCORE_TRIM = 0.001

#: Confound controls of the recommended estimate. The pre-training KPI level
#: (``"baseline_kpi"``) is available but not a default: difference-in-differences
#: already removes each employee's own level, and conditioning on a noisy pre-period
#: level when trainees are selected on their permanent level brings regression to
#: the mean back in (Daw & Hatfield 2018). The kit's Monte Carlo
#: (``benchmarks/results/montecarlo_ablation.md``, 100 data sets of 2,000 employees)
#: measured the recommended estimate with it at -26% (sales) and -36% (tickets)
#: bias, 95% coverage 0.74 and 0.42, and 59% false positives for the program
#: without effect, against -0.1%, +0.6%, 0.96, 0.96 and 10% without it; it is
#: shown as a robustness row instead.
#:
#: Market conditions enter through the region and department indicators: each
#: ATT(g, t) is doubly robust within the comparison month and month t, so the
#: outcome model predicts a trainee's change from never-trained colleagues of the
#: same region and department, and a regional market swing between the two months
#: cancels. The market index at the employee's entry month (``"market"``) adds
#: nothing to that and is nearly a linear function of region (everyone present at
#: the start shares their region's value), so the outcome model extrapolated
#: wildly in some data sets (``benchmarks/results/montecarlo_market.md``, seeds
#: 1100-1120: one estimate of 13,966 CNY against a true 4,115, with a standard
#: error of 1.8 million; mean SE 84,900 against a median of 598); it stays
#: available as an opt-in control.
DEFAULT_CONTROLS: tuple[str, ...] = ("tenure", "department", "region", "grade")

#: The baseline KPI level (an opt-in control and a robustness row): mean of the first
#: ``BASELINE_MONTHS`` observed months, for a trainee skipping the ``DIP_GUARD`` month(s)
#: just before training, where a pre-training slump sits.
BASELINE_MONTHS = 3
DIP_GUARD = 1

#: Plain words for the control columns.
_CONTROL_WORDS = {
    "tenure_at_entry": "tenure",
    "department": "department",
    "region": "region",
    "grade": "grade",
    "baseline_kpi": "baseline KPI level",
    "market_at_entry": "regional market index",
}

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


def _control_words(covariates: Sequence[str]) -> list[str]:
    """Plain words for encoded covariate columns (``region=East`` -> ``region``)."""
    seen: list[str] = []
    for c in covariates:
        key = c.split("=")[0]
        w = _CONTROL_WORDS.get(key, key)
        if w not in seen:
            seen.append(w)
    return seen or ["none"]


# --------------------------------------------------------------------------- #
# Estimation panel
# --------------------------------------------------------------------------- #
@dataclass
class EstimationPanel:
    """The estimation panel of one program and KPI.

    Attributes
    ----------
    program_id, kpi : str
        What is evaluated.
    prepared : PreparedPanel
        Narrow frame for the engines: ``employee_id, period, value, cohort``,
        the encoded controls and the cluster column.
    units : DataFrame
        One row per employee: cohort, controls in plain form, exam score / pass,
        tenure at training, department (for heterogeneity and counts).
    long : DataFrame
        The KPI panel rows used (employee_id, period, value, cohort, month) for
        the naive rungs and TWFE.
    cohort_table : DataFrame
        Training month, period, trainees, what the small-cohort rule did.
    cluster : str
        ``employee``, ``manager`` or ``department``.
    notes : list of str
        Everything preparation did, in words.
    """

    program_id: str
    kpi: str
    prepared: PreparedPanel
    units: pd.DataFrame
    long: pd.DataFrame
    cohort_table: pd.DataFrame
    cluster: str
    control_names: list[str]
    months: pd.DatetimeIndex
    notes: list[str] = field(default_factory=list)

    @property
    def n_trainees(self) -> int:
        """Trainees kept for estimation."""
        return int((self.units["cohort"] > 0).sum())

    @property
    def n_controls(self) -> int:
        """Never-trained employees kept for estimation."""
        return int((self.units["cohort"] == 0).sum())

    def period_month(self, period: float) -> pd.Timestamp:
        """Calendar month of an integer period (1 = first panel month)."""
        return self.months[int(period) - 1]


def _pool_small_cohorts(
    units: pd.DataFrame, months: pd.DatetimeIndex, min_cohort_size: int, rule: str
) -> tuple[pd.Series, pd.DataFrame, list[str]]:
    """Apply the small-cohort rule; return new cohort per unit, the cohort table, notes."""
    tr = units[units["cohort"] > 0]
    sizes = tr.groupby("cohort").size()
    table = pd.DataFrame(
        {
            "training_month": [months[int(g) - 1] for g in sizes.index],
            "period": sizes.index.astype(int),
            "trainees": sizes.to_numpy(),
        }
    )
    table["estimated_as"] = table["training_month"].dt.strftime("%Y-%m")
    table["rule"] = ""
    new = units["cohort"].copy()
    notes: list[str] = []
    small = sizes[sizes < min_cohort_size]
    if small.empty:
        return new, table, notes
    set_aside_periods: list[int] = []
    if rule == "pool":
        quarter = pd.Series(
            [months[int(g) - 1].to_period("Q") for g in sizes.index], index=sizes.index
        )
        n_pooled = 0
        for q, members in quarter.groupby(quarter):
            in_q = sorted(int(g) for g in members.index)
            small_q = [g for g in in_q if sizes[g] < min_cohort_size]
            if not small_q:
                continue
            group = set(small_q)
            # top up with the quarter's other training months, later ones first
            # (their trainees are then counted from an earlier month: dilution,
            # never a contaminated comparison month), then earlier ones
            later = [g for g in in_q if g > min(group) and g not in group]
            earlier = [g for g in reversed(in_q) if g < min(group)]
            for extra in later + earlier:
                if sizes[sorted(group)].sum() >= min_cohort_size:
                    break
                group.add(extra)
            gs = sorted(group)
            pooled = int(sizes[gs].sum())
            if pooled < min_cohort_size:
                set_aside_periods += gs
                continue
            target = gs[0]
            new[units["cohort"].isin(gs)] = target
            n_pooled += len(gs)
            sel = table["period"].isin(gs)
            table.loc[sel, "estimated_as"] = f"{months[target - 1]:%Y-%m} (pooled, {q})"
            table.loc[sel, "rule"] = (
                f"pooled within {q}: {pooled} trainees counted as trained from "
                f"{months[target - 1]:%Y-%m}"
            )
        if n_pooled:
            notes.append(
                f"{n_pooled} training month(s) were pooled within their calendar quarter because a "
                f"month had fewer than {min_cohort_size} trainees; pooled trainees count as trained "
                "from the pool's earliest month, which slightly dilutes the first months' effect "
                "but keeps the comparison month before anyone's training."
            )
    else:
        set_aside_periods = [int(g) for g in small.index]
    if set_aside_periods:
        mask = units["cohort"].isin(set_aside_periods)
        new[mask] = -1  # marker: set aside
        table.loc[table["period"].isin(set_aside_periods), "estimated_as"] = "set aside"
        table.loc[table["period"].isin(set_aside_periods), "rule"] = (
            f"fewer than {min_cohort_size} trainees and nothing to pool with"
        )
        notes.append(
            f"{int(mask.sum())} trainee(s) from {len(set_aside_periods)} training month(s) with fewer "
            f"than {min_cohort_size} trainees could not be pooled and were set aside (listed in the "
            "cohort table); they are not used as comparison employees either."
        )
    return new, table, notes


def _baseline_kpi(long: pd.DataFrame, cohort: pd.Series, months: int, guard: int) -> pd.Series:
    """Baseline KPI level per employee, measured before training.

    Mean of the employee's first ``months`` observed months; for a trainee only
    months at least ``guard + 1`` months before training count (the month just
    before training is where a pre-training slump sits), falling back to any
    month before training. Employees with no such month get NaN.
    """
    c = long["employee_id"].map(cohort)
    never = c <= 0

    def first_mean(mask: pd.Series) -> pd.Series:
        rows = long.loc[mask].sort_values("period").groupby("employee_id", sort=False).head(months)
        return rows.groupby("employee_id")["value"].mean()

    strict = first_mean(never | (long["period"] < c - guard))
    loose = first_mean(~never & (long["period"] < c))
    return strict.combine_first(loose)


def build_estimation_panel(
    dataset: Any,
    program_id: str,
    kpi: str | None = None,
    *,
    controls: Sequence[str] | None = None,
    extra_controls: Sequence[str] = (),
    cluster: Cluster = "employee",
    min_cohort_size: int = 10,
    small_cohorts: Literal["pool", "set_aside"] = "pool",
    baseline_months: int = BASELINE_MONTHS,
    dip_guard: int = DIP_GUARD,
) -> EstimationPanel:
    """Build the estimation panel of one program and KPI.

    Parameters
    ----------
    dataset : analysis.data.Dataset
        Loaded dataset.
    program_id : str
        Program to evaluate.
    kpi : str, optional
        KPI; default the program's own ``kpi``.
    controls : sequence of str, optional
        Confound controls from ``{"tenure", "department", "region", "grade",
        "baseline_kpi", "market"}``; default :data:`DEFAULT_CONTROLS` that the
        dataset supports (the pre-training KPI level only when asked for).
    extra_controls : sequence of str
        Further employee columns (fixed characteristics) to control for.
    cluster : {"employee", "manager", "department"}
        Clustering level of the standard errors.
    min_cohort_size : int
        Training months with fewer trainees follow ``small_cohorts``.
    small_cohorts : {"pool", "set_aside"}
        Pool small training months by calendar quarter (leftovers set aside), or
        set them aside. Either way the cohort table says what happened.
    baseline_months : int
        Months averaged for the baseline KPI level (the first observed months).
    dip_guard : int
        A trainee's baseline skips the ``dip_guard`` month(s) just before
        training, where a pre-training slump sits (falling back to any earlier
        month when there is none). Employees with no KPI month before training
        have no baseline and are set aside with a note (they have no comparison
        month anyway).

    Returns
    -------
    EstimationPanel

    Raises
    ------
    DataValidationError
        Unknown program, a KPI without rows, or no trainee / no comparison employee.

    Notes
    -----
    Controls are fixed per employee and measured before training: tenure at the
    employee's first panel month, department, region, grade and, when asked for,
    the region's market index at the employee's first panel month and the baseline
    KPI level.
    Within each ATT(g, t) comparison the region and department indicators also
    absorb region- and department-wide market swings between the comparison
    month and month t. Cohort = month of the first enrollment of any status
    (intention to treat); employees of other programs count as never trained
    for this one.
    """
    programs = dataset.programs
    match = programs[programs["program_id"].astype(str) == str(program_id)]
    if match.empty:
        raise DataValidationError(
            f"programs: unknown program_id {program_id!r}; known: "
            f"{sorted(programs['program_id'].astype(str))[:10]}",
            table="programs",
            column="program_id",
        )
    kpi = str(kpi or match["kpi"].iloc[0])
    panel = dataset.panel(kpi, program_id)
    if panel is None or len(panel) == 0:
        raise DataValidationError(
            f"kpi_monthly: no rows for kpi {kpi!r}", table="kpi_monthly", column="kpi"
        )
    months = pd.DatetimeIndex(dataset.months)
    notes: list[str] = []
    trained = panel["cohort_month"].notna() if "cohort_month" in panel else panel["cohort"] > 0
    before = trained & (panel["cohort"] < 1)
    if before.any():
        n = panel.loc[before, "employee_id"].nunique()
        notes.append(
            f"{n} employee(s) trained before the first panel month have no pre-training KPI and "
            "were set aside."
        )
        panel = panel.loc[~before]
        trained = trained.loc[~before]
    panel = panel.assign(cohort=np.where(trained, panel["cohort"], 0).astype(int))

    first_rows = panel.sort_values("period").drop_duplicates("employee_id")
    units = first_rows.set_index("employee_id")[["cohort", "period"]].rename(
        columns={"period": "entry_period"}
    )
    for col in ("department", "region", "grade", "role", "manager_id", "exam_score", "exam_passed"):
        if col in first_rows.columns:
            units[col] = first_rows.set_index("employee_id")[col]
    if "tenure_months" in first_rows:
        units["tenure_at_entry"] = first_rows.set_index("employee_id")["tenure_months"].astype(float)
        units["tenure_at_training"] = np.where(
            units["cohort"] > 0,
            units["tenure_at_entry"] + (units["cohort"] - units["entry_period"]),
            np.nan,
        )

    new_cohort, cohort_table, pool_notes = _pool_small_cohorts(
        units, months, min_cohort_size, small_cohorts
    )
    notes += pool_notes
    units["original_cohort"] = units["cohort"]
    units["cohort"] = new_cohort
    aside = units.index[units["cohort"] < 0]
    units = units.loc[units["cohort"] >= 0]
    long = panel.loc[~panel["employee_id"].isin(aside)]
    long = long.assign(cohort=long["employee_id"].map(units["cohort"]).astype(int))

    if (units["cohort"] > 0).sum() == 0:
        raise DataValidationError(
            f"enrollments: program {program_id!r} has no trainee with KPI {kpi!r} rows to evaluate",
            table="enrollments",
            column="program_id",
        )
    if (units["cohort"] == 0).sum() == 0:
        raise DataValidationError(
            f"employees: every employee took program {program_id!r}; no never-trained comparison "
            "group (use control='not_yet')",
            table="employees",
            column="employee_id",
        )

    # ---- controls, fixed per employee ------------------------------------------
    available = {
        "tenure": "tenure_at_entry" in units,
        "department": "department" in units,
        "region": "region" in units,
        "grade": "grade" in units and units["grade"].notna().any(),
        "baseline_kpi": True,
        "market": "market_index" in panel.columns,
    }
    wanted = (
        list(controls)
        if controls is not None
        else [k for k in DEFAULT_CONTROLS if available[k]]
    )
    unknown = [c for c in wanted if c not in available]
    if unknown:
        raise ValueError(f"unknown control(s) {unknown}; choose from {sorted(available)}")
    missing = [c for c in wanted if not available[c]]
    if missing:
        notes.append(f"Control(s) {missing} are not in this dataset and were left out.")
        wanted = [c for c in wanted if available[c]]
    cov_frame = pd.DataFrame(index=units.index)
    names: list[str] = []
    if "tenure" in wanted:
        cov_frame["tenure_at_entry"] = units["tenure_at_entry"]
        names.append("tenure_at_entry")
    for col in ("department", "region", "grade"):
        if col in wanted:
            cov_frame[col] = units[col].astype("string").fillna("(missing)")
            names.append(col)
    if "baseline_kpi" in wanted:
        base = _baseline_kpi(long, units["cohort"], baseline_months, dip_guard)
        cov_frame["baseline_kpi"] = base.reindex(units.index)
        names.append("baseline_kpi")
        no_pre = cov_frame.index[cov_frame["baseline_kpi"].isna()]
        if len(no_pre):
            notes.append(
                f"{len(no_pre)} trainee(s) have no KPI month before their training (hired into "
                "it) and cannot be compared before/after; they were set aside."
            )
            units = units.drop(index=no_pre)
            cov_frame = cov_frame.drop(index=no_pre)
            long = long.loc[~long["employee_id"].isin(no_pre)]
    if "market" in wanted:
        entry = first_rows.set_index("employee_id")["market_index"]
        cov_frame["market_at_entry"] = entry.reindex(units.index).astype(float)
        cov_frame["market_at_entry"] = cov_frame["market_at_entry"].fillna(
            float(cov_frame["market_at_entry"].median())
        )
        names.append("market_at_entry")
    for col in extra_controls:
        if col not in first_rows.columns:
            raise DataValidationError(
                f"employees: extra control {col!r} not found", table="employees", column=col
            )
        cov_frame[col] = first_rows.set_index("employee_id")[col].reindex(units.index)
        names.append(col)
    for col in names:
        if col in ("department", "region", "grade"):
            units[f"control_{col}"] = cov_frame[col]
    units = units.join(cov_frame[[c for c in cov_frame.columns if c not in units.columns]])

    cluster_col = _CLUSTER_COLUMN[cluster]
    base_cols = ["employee_id", "period", "value", "cohort"]
    frame = long[base_cols].join(cov_frame, on="employee_id")
    if cluster_col is not None:
        if cluster_col not in units:
            raise DataValidationError(
                f"employees: cannot cluster by {cluster}: column {cluster_col!r} missing",
                table="employees",
                column=cluster_col,
            )
        frame["cluster_id"] = frame["employee_id"].map(units[cluster_col]).astype("string").fillna("(none)")
    prepared = prepare_did_panel(
        frame,
        "value",
        "employee_id",
        "period",
        "cohort",
        names,
        cluster="cluster_id" if cluster_col else None,
        table=f"kpi_monthly[{kpi}]",
    )
    notes += prepared.notes
    prepared.notes = []
    long_cols = [c for c in ("employee_id", "month", "period", "value", "cohort") if c in long.columns]
    return EstimationPanel(
        program_id=str(program_id),
        kpi=kpi,
        prepared=prepared,
        units=units,
        long=long[long_cols].reset_index(drop=True),
        cohort_table=cohort_table,
        cluster=cluster,
        control_names=list(prepared.covariates),
        months=months,
        notes=notes,
    )


def estimate(
    est_panel: EstimationPanel,
    *,
    controls: bool = True,
    anticipation: int = 0,
    control: Literal["never", "not_yet"] = "never",
    method: Literal["dr", "ipw", "reg"] = "dr",
    n_boot: int = 0,
    seed: int | None = None,
    allow_unbalanced_panel: bool = False,
) -> StaggeredDiDResults:
    """Run the recommended Callaway–Sant'Anna estimate on a built panel.

    The estimation step of :func:`evaluate_program` on its own: one
    ``diff_diff.CallawaySantAnna`` fit on the already narrow frame, no copies
    beyond the engine's own.

    Parameters
    ----------
    est_panel : EstimationPanel
        From :func:`build_estimation_panel`.
    controls : bool
        Use the confound controls (doubly robust) or none.
    anticipation, control, method, n_boot, seed, allow_unbalanced_panel
        As in :func:`analysis.did.staggered_did`.

    Returns
    -------
    StaggeredDiDResults
    """
    prepared = est_panel.prepared if controls else replace(est_panel.prepared, covariates=[])
    return fit_callaway_santanna(
        prepared,
        control=control,
        method=method,
        anticipation=anticipation,
        n_boot=n_boot,
        seed=seed,
        allow_unbalanced_panel=allow_unbalanced_panel,
        pscore_trim=PSCORE_TRIM,
    )


# --------------------------------------------------------------------------- #
# Naive rungs
# --------------------------------------------------------------------------- #
def _naive_before_after(long: pd.DataFrame) -> tuple[float, float, int]:
    tr = long[long["cohort"] > 0]
    post = tr["period"] >= tr["cohort"]
    m = tr.groupby(["employee_id", post.rename("post")])["value"].mean().unstack()
    if True not in m.columns or False not in m.columns:
        return np.nan, np.nan, 0
    d = (m[True] - m[False]).dropna()
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else np.nan, int(len(d))


def _naive_after(long: pd.DataFrame, cluster: pd.Series | None) -> tuple[float, float, int]:
    import statsmodels.api as sm

    first = long.loc[long["cohort"] > 0, "cohort"].min()
    rows = long[
        ((long["cohort"] > 0) & (long["period"] >= long["cohort"]))
        | ((long["cohort"] == 0) & (long["period"] >= first))
    ]
    d = (rows["cohort"] > 0).astype(float)
    groups = rows["employee_id"] if cluster is None else rows["employee_id"].map(cluster)
    X = sm.add_constant(d.to_numpy())
    fit = sm.OLS(rows["value"].to_numpy(float), X).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(groups)[0]}
    )
    return float(fit.params[1]), float(fit.bse[1]), int(rows.loc[d > 0, "employee_id"].nunique())


# --------------------------------------------------------------------------- #
# Results
# --------------------------------------------------------------------------- #
def _fmt_value(x: float, unit: str = "", digits: int | None = None) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    ax = abs(x)
    if digits is None:
        digits = 0 if ax >= 100 else 1 if ax >= 10 else 2 if ax >= 1 else 3
    s = f"{x:,.{digits}f}"
    return f"{s} {unit}".strip() if unit else s


@dataclass
class ProgramEvaluation:
    """Everything notebook ``02_training_attribution`` shows for one program and KPI.

    Attributes
    ----------
    program_id, program_name, kpi, unit : str
        What was evaluated and the KPI's unit.
    higher_is_better : bool
        Direction of the KPI.
    overall : AggregateEffect
        The recommended overall ATT (per trainee per month).
    recommended : StaggeredDiDResults
        The recommended fit.
    ladder : DataFrame
        rung, estimate, se, ci_low, ci_high, true_att, bias, recommended.
    event_study : DataFrame
        Dynamic profile of the recommended fit (uniform band when bootstrapped).
    event_study_unadjusted : DataFrame
        Dynamic profile anchored on the month before training (anticipation 0).
    dip : DipCheck
    pretrend : PretrendTest
    placebo : PlaceboCheck
    twfe_weights : TWFEWeightCheck
    honest : HonestDiDCheck
    overlap : OverlapCheck
    heterogeneity : DataFrame
        dimension, group, trainees, att, se, ci_low, ci_high, note.
    robustness : DataFrame
        Unbalanced-panel handling and comparison-group variants with counts.
    cohort_table : DataFrame
        Training months, trainees, small-cohort rule applied.
    truth : dict or None
        Ground truth of the program when the dataset ships one.
    notes : list of str
        Data handling notes in words.
    """

    program_id: str
    program_name: str
    kpi: str
    unit: str
    higher_is_better: bool
    cluster: str
    overall: AggregateEffect
    recommended: StaggeredDiDResults
    ladder: pd.DataFrame
    event_study: pd.DataFrame
    event_study_unadjusted: pd.DataFrame
    event_study_verdict: str
    dip: DipCheck
    pretrend: PretrendTest
    placebo: PlaceboCheck | None
    twfe_weights: TWFEWeightCheck | None
    honest: HonestDiDCheck | None
    overlap: OverlapCheck
    heterogeneity: pd.DataFrame
    robustness: pd.DataFrame
    cohort_table: pd.DataFrame
    n_trainees: int
    n_controls: int
    truth: dict[str, Any] | None
    notes: list[str]
    timings: dict[str, float]

    # ---- words ----------------------------------------------------------------
    @property
    def naive_before_after(self) -> float:
        """The raw before/after change of trainees."""
        row = self.ladder[self.ladder["rung"].str.startswith("Naive before/after")]
        return float(row["estimate"].iloc[0]) if len(row) else np.nan

    @property
    def share_not_caused(self) -> float:
        """Share of the raw before/after change not caused by training."""
        raw = self.naive_before_after
        if not np.isfinite(raw) or raw == 0:
            return np.nan
        return float((raw - self.overall.att) / raw)

    @property
    def headline(self) -> str:
        """The plain-language summary sentence."""
        lo, hi = self.overall.conf_int(0.95)
        att = self.overall.att
        null = lo <= 0 <= hi
        # an interval around zero gets no direction: "changed by +0.003", not "raised by 0.003"
        verb = "changed" if null else "raised" if att >= 0 else "lowered"
        size = ("+" if null and att >= 0 else "") + _fmt_value(att if null else abs(att), self.unit)
        sentence = (
            f"Program {self.program_id} ({self.program_name}) {verb} monthly {self.kpi} by "
            f"{size} per trainee (95% CI {_fmt_value(lo)} to {_fmt_value(hi, self.unit)})"
        )
        if null:
            sentence += ", an effect not distinguishable from zero"
        share = self.share_not_caused
        raw = self.naive_before_after
        if null and np.isfinite(raw):
            sentence += (
                f", so the raw before/after change ({_fmt_value(raw, self.unit)}) cannot be credited "
                "to the training."
            )
        elif np.isfinite(share) and np.isfinite(raw):
            if 0 <= share <= 1:
                sentence += (
                    f"; about {share:.0%} of the raw before/after change "
                    f"({_fmt_value(raw, self.unit)}) was not caused by the training."
                )
            elif share < 0:
                sentence += (
                    f"; the raw before/after change ({_fmt_value(raw, self.unit)}) understates the "
                    "training's effect: other forces pulled the KPI the other way."
                )
            else:
                sentence += (
                    f"; the raw before/after change ({_fmt_value(raw, self.unit)}) was entirely due "
                    "to other forces (selection, market, mean reversion)."
                )
        else:
            sentence += "."
        return sentence

    @property
    def ladder_title(self) -> str:
        """Finding-style title of the method-ladder figure."""
        raw, att = self.naive_before_after, self.overall.att
        if np.isfinite(raw) and np.isfinite(att) and att != 0 and np.sign(raw) == np.sign(att) and abs(raw) > abs(att):
            ratio = abs(raw / att)
            how = f"{ratio:.1f} times" if ratio >= 1.5 else "more than"
            return (
                f"{self.program_id}: the raw before/after change ({_fmt_value(raw, self.unit)}) is {how} "
                f"the training's effect ({_fmt_value(att, self.unit)})"
            )
        lo, hi = self.overall.conf_int(0.95)
        if lo <= 0 <= hi:
            return (
                f"{self.program_id}: the raw change ({_fmt_value(raw, self.unit)}) came from other forces; "
                "the training's effect is not distinguishable from zero"
            )
        return f"{self.program_id}: naive comparisons against the recommended estimate ({_fmt_value(att, self.unit)})"

    @property
    def event_study_title(self) -> str:
        """Finding-style title of the event-study figure."""
        post = self.event_study[self.event_study["event_time"] >= 0]
        sig = post[(post["ci_low"] > 0) | (post["ci_high"] < 0)]
        good = (self.overall.att > 0) == self.higher_is_better
        if sig.empty:
            return f"{self.program_id}: no month after training differs detectably from the comparison group"
        move = ("rose" if self.overall.att > 0 else "fell") + (" (an improvement)" if good else " (a deterioration)")
        slump = "; the slump just before training is mean reversion, not a trend" if self.dip.detected else ""
        return f"{self.program_id}: monthly {self.kpi} {move} from month {int(sig['event_time'].iloc[0])} after training{slump}"

    @property
    def heterogeneity_title(self) -> str:
        """Finding-style title of the heterogeneity figure (the exam-score link)."""
        h = self.heterogeneity
        bands = h[(h["dimension"] == "exam score") & h["att"].notna() & h["group"].isin([b[0] for b in EXAM_BANDS])]
        if len(bands) >= 2:
            lo_b, hi_b = bands.iloc[0], bands.iloc[-1]
            if hi_b["ci_low"] > lo_b["ci_high"] or lo_b["ci_low"] > hi_b["ci_high"]:
                word = "larger" if hi_b["att"] > lo_b["att"] else "smaller"
                return (
                    f"{self.program_id}: trainees scoring {hi_b['group']} on the exam gained {word} effects "
                    f"than those scoring {lo_b['group']}"
                )
            if hi_b["att"] > lo_b["att"]:
                return f"{self.program_id}: higher exam scores go with larger effects, within the uncertainty"
            return f"{self.program_id}: no clear link between exam score and on-the-job effect"
        return f"{self.program_id}: effect by subgroup"

    @property
    def truth_sentence(self) -> str | None:
        """Estimate beside the known truth (sample data only)."""
        if not self.truth:
            return None
        true = self.truth.get("overall_att")
        if true is None:
            return None
        lo, hi = self.overall.conf_int(0.95)
        covered = "covers" if lo <= true <= hi else "misses"
        return (
            f"The true effect built into the sample data is {_fmt_value(true, self.unit)}; the "
            f"estimate's 95% CI {covered} it."
        )

    @property
    def methods_note(self) -> str:
        """Method and caveats in words."""
        spec = self.recommended.specification
        return (
            "Estimator: Callaway & Sant'Anna (2021) staggered difference-in-differences "
            f"({spec['method']}), each training month compared with {spec['control']} employees, "
            f"controls: {', '.join(self._control_words())}. "
            f"Comparison month: {'the month before training' if self.recommended.anticipation == 0 else f'{self.recommended.anticipation + 1} months before training (before the pre-training slump)'}. "
            f"Standard errors clustered by {_CLUSTER_WORDS[self.cluster]}; "
            f"{spec['inference']}. Unbalanced panel: each comparison uses the employees observed in "
            "both months (within-cell panel differencing)."
        )

    def _control_words(self) -> list[str]:
        return _control_words(self.recommended.covariates)

    # ---- tables -----------------------------------------------------------------
    def exports(self) -> dict[str, pd.DataFrame]:
        """Tables for the ROI analysis: overall ATT, dynamic profile, bootstrap draws."""
        lo, hi = self.overall.conf_int(0.95)
        overall = pd.DataFrame(
            [
                {
                    "program_id": self.program_id,
                    "kpi": self.kpi,
                    "unit": self.unit,
                    "att": self.overall.att,
                    "se": self.overall.se,
                    "ci_low": lo,
                    "ci_high": hi,
                    "p_value": self.overall.pvalue,
                    "n_trainees": self.overall.n_treated,
                    "n_controls": self.overall.n_control,
                    "estimator": "Callaway-Sant'Anna DR with controls",
                    "anticipation": self.recommended.anticipation,
                    "cluster": self.cluster,
                    "inference": self.overall.inference,
                    "true_att": (self.truth or {}).get("overall_att", np.nan),
                }
            ]
        )
        dyn = self.event_study[["event_time", "att", "se", "ci_low", "ci_high", "band"]].copy()
        dyn.insert(0, "kpi", self.kpi)
        dyn.insert(0, "program_id", self.program_id)
        draws = self.overall.draws
        boot = pd.DataFrame(
            {
                "program_id": self.program_id,
                "kpi": self.kpi,
                "draw": np.arange(1, len(draws) + 1) if draws is not None else [],
                "att": draws if draws is not None else [],
            }
        )
        return {"att_by_program": overall, "dynamic_profile": dyn, "att_bootstrap_draws": boot}

    @property
    def diagnostics_table(self) -> pd.DataFrame:
        """check, result, verdict for every diagnostic."""
        rows = [
            ("Pre-training slump (mean reversion)", "detected" if self.dip.detected else "none", self.dip.verdict),
            ("Joint pre-trend test", f"p = {self.pretrend.pvalue:.3f}" if np.isfinite(self.pretrend.pvalue) else "n/a", self.pretrend.verdict),
        ]
        if self.placebo is not None:
            rows.append(("Placebo (fake training dates)", "passed" if self.placebo.passed else "failed", self.placebo.verdict))
        if self.twfe_weights is not None:
            rows.append(("TWFE weights (Bacon / negative weights)", "warning" if np.isfinite(self.twfe_weights.weight_later_vs_earlier) and self.twfe_weights.weight_later_vs_earlier > 0 else "ok", self.twfe_weights.verdict))
        if self.honest is not None:
            b = self.honest.breakdown_m
            res = "n/a" if b is not None and not np.isfinite(b) else ("> grid" if b is None else f"M = {b:.2g}")
            rows.append(("HonestDiD relative magnitudes", res, self.honest.verdict))
        rows.append(("Comparison group and overlap", "warning" if self.overlap.warnings else "ok", self.overlap.verdict))
        return pd.DataFrame(rows, columns=["check", "result", "verdict"])

    @property
    def summary(self) -> ResultSummary:
        """Headline, ladder, diagnostics."""
        return ResultSummary(
            f"Program {self.program_id}: effect on monthly {self.kpi}",
            [
                ("Method ladder", self.ladder.set_index("rung")),
                ("Diagnostics", self.diagnostics_table.set_index("check")),
            ],
            [self.headline, *([self.truth_sentence] if self.truth_sentence else []), self.methods_note, *self.notes],
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
        sub, control=control, method=method, anticipation=anticipation, pscore_trim=PSCORE_TRIM  # type: ignore[arg-type]
    )
    return res.aggregate("simple")


def _heterogeneity(
    est_panel: EstimationPanel,
    anticipation: int,
    control: str,
    method: str,
    min_group_size: int,
    truth: dict[str, Any] | None = None,
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
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    agg = _subgroup_fit(est_panel, idx, anticipation, control, method)
                lo, hi = agg.conf_int(0.95)
                row.update(att=agg.att, se=agg.se, ci_low=lo, ci_high=hi, note="")
            except (ValueError, np.linalg.LinAlgError) as exc:
                row.update(att=np.nan, se=np.nan, ci_low=np.nan, ci_high=np.nan,
                           note=f"not estimable: {exc}")
        rows.append(row)
    out = pd.DataFrame(rows, columns=["dimension", "group", "trainees", "att", "se", "ci_low", "ci_high", "note"])
    if truth and truth.get("att_exam_band"):
        true_band = {_TRUTH_EXAM_BANDS.get(b["band"], b["band"]): b["att"] for b in truth["att_exam_band"]}
        is_exam = out["dimension"] == "exam score"
        out["true_att"] = np.where(is_exam, out["group"].map(true_band), np.nan)
    return out


def _robustness(
    est_panel: EstimationPanel,
    main: StaggeredDiDResults,
    anticipation: int,
    method: str,
    allow_rc: bool,
) -> pd.DataFrame:
    prep = est_panel.prepared
    frame = prep.frame
    rows = []

    def add(label: str, res: StaggeredDiDResults | None, note: str = "") -> None:
        if res is None:
            rows.append({"variant": label, "att": np.nan, "se": np.nan, "ci_low": np.nan,
                         "ci_high": np.nan, "trainees_used": 0, "controls_used": 0, "note": note})
            return
        agg = res.aggregate("simple")
        lo, hi = agg.conf_int(0.95)
        rows.append({"variant": label, "att": agg.att, "se": agg.se, "ci_low": lo, "ci_high": hi,
                     "trainees_used": agg.n_treated, "controls_used": agg.n_control, "note": note})

    add("Unbalanced panel, within-cell differencing (recommended)", main,
        "each comparison uses employees observed in both months")
    n_periods = frame[prep.time].nunique()
    counts = frame.groupby(prep.unit, sort=False)[prep.time].transform("size")
    bal = frame.loc[counts == n_periods]
    n_t = int(bal.loc[bal[prep.cohort] > 0, prep.unit].nunique())
    n_c = int(bal.loc[bal[prep.cohort] == 0, prep.unit].nunique())
    if n_t >= 2 and n_c >= 2:
        try:
            res = fit_callaway_santanna(
                replace(prep, frame=bal), method=method, anticipation=anticipation,  # type: ignore[arg-type]
                pscore_trim=PSCORE_TRIM,
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
            pscore_trim=PSCORE_TRIM,
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
                pscore_trim=PSCORE_TRIM,
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
                    allow_unbalanced_panel=True, pscore_trim=PSCORE_TRIM,
                )
            add("Repeated cross-sections (R did allow_unbalanced_panel)", res,
                "assumes a stable workforce composition")
        except ValueError as exc:
            add("Repeated cross-sections (R did allow_unbalanced_panel)", None, str(exc))
    return pd.DataFrame(rows)


def _event_verdict(
    dyn: pd.DataFrame, pre: PretrendTest, unit: str, anticipation: int, min_cohorts: int = 3
) -> str:
    """The event study in words, read on the months measured on several cohorts."""
    post_all = dyn[dyn["event_time"] >= 0]
    if post_all.empty:
        return "No post-training month is observed yet."
    post = post_all[post_all["n_cohorts"] >= min_cohorts] if "n_cohorts" in post_all else post_all
    if post.empty:
        post = post_all
    sig = post[(post["ci_low"] > 0) | (post["ci_high"] < 0)]
    band = "uniform 95% band" if str(dyn["band"].iloc[0]).startswith("uniform") else "95% interval"
    peak = post.loc[post["att"].abs().idxmax()]
    last = post.iloc[-1]
    parts = [pre.verdict]
    if anticipation:
        parts.append(
            f"Effects are measured against the KPI {anticipation + 1} months before training, before "
            "any pre-training slump."
        )
    if sig.empty:
        parts.append(f"After training the {band} includes zero in every month: no effect is detectable.")
    else:
        first = int(sig["event_time"].iloc[0])
        parts.append(
            f"From month {first} after training the {band} excludes zero; the effect peaks at "
            f"{_fmt_value(peak['att'], unit)} in month {int(peak['event_time'])}"
            + (
                f" and is {_fmt_value(last['att'], unit)} by month {int(last['event_time'])}"
                if int(last["event_time"]) != int(peak["event_time"])
                else ""
            )
            + "."
        )
        if abs(last["att"]) < 0.6 * abs(peak["att"]) and int(last["event_time"]) > int(peak["event_time"]):
            parts.append("The effect fades over time.")
    if len(post) < len(post_all):
        parts.append(
            f"Months after {int(post['event_time'].max())} rest on fewer than {min_cohorts} training "
            "cohorts and are read with the wide bands they carry."
        )
    return " ".join(parts)


def _fit_controls_with_fallback(
    ep: EstimationPanel, *, control: str, method: str
) -> tuple[StaggeredDiDResults, str | None]:
    """Fit with all controls; if cells are too small, drop categorical then all controls.

    The covariate set that worked is written back to ``ep.prepared`` so every later
    fit of the evaluation uses it; the returned note says what was dropped.
    """
    covs = list(ep.prepared.covariates)
    continuous = [c for c in covs if "=" not in c]
    attempts = [covs] + ([continuous] if continuous != covs and continuous else []) + ([[]] if covs else [])
    if not covs:
        attempts = [[]]
    last_exc: Exception | None = None
    for cset in attempts:
        ep.prepared = replace(ep.prepared, covariates=cset)
        try:
            res = estimate(ep, controls=bool(cset), control=control, method=method)  # type: ignore[arg-type]
        except (ValueError, np.linalg.LinAlgError) as exc:
            last_exc = exc
            continue
        if cset == covs:
            return res, None
        dropped = sorted(
            _CONTROL_WORDS.get(c, c) for c in {c.split("=")[0] for c in covs} - {c.split("=")[0] for c in cset}
        )
        note = (
            f"Too few employees per training month to adjust for every control ({last_exc}); "
            f"the estimates leave out {', '.join(dropped)}."
        )
        ep.notes.append(note)
        return res, note
    assert last_exc is not None
    raise last_exc


def _engine_notes(res: StaggeredDiDResults) -> list[str]:
    """Summarise ``diff_diff``'s per-cell messages in one or two sentences."""
    import re

    out: list[str] = []
    n_cells = int(len(res.att_gt))
    flagged = 0
    other: list[str] = []
    for m in res.engine_messages:
        if "propensity" in m.lower() or "Events Per Variable" in m or "Logistic regression" in m:
            if "will be trimmed" in m:
                hit = re.search(r"similar message for (\d+) cells", m)
                flagged = max(flagged, int(hit.group(1)) if hit else 1)
            continue
        if "Unbalanced panel detected" in m or "n_bootstrap" in m:
            continue
        other.append(m)
    if flagged:
        out.append(
            f"In {flagged} of {n_cells} comparison cells some propensity scores reach the clipping "
            f"bounds [{res.pscore_trim:g}, {1 - res.pscore_trim:g}]: a training month has few trainees "
            "and some regions or grades none, so the propensity part of the doubly robust estimator is "
            "weakly determined there and the estimate leans on its outcome regression on the "
            "never-trained employees, which stays well determined. The engine's full messages are "
            "kept in recommended.engine_messages."
        )
    return out + other


def _load_truth(dataset: Any, program_id: str, kpi: str) -> dict[str, Any] | None:
    path = getattr(dataset, "path", None)
    if path is None:
        return None
    gt_file = Path(path) / "ground_truth.json"
    if not gt_file.exists():
        return None
    gt = json.loads(gt_file.read_text(encoding="utf-8"))
    prog = gt.get("programs", {}).get(str(program_id))
    if not prog or prog.get("kpi", kpi) != kpi:
        return None
    return prog


# --------------------------------------------------------------------------- #
# evaluate_program
# --------------------------------------------------------------------------- #
def evaluate_program(
    dataset: Any,
    program_id: str,
    kpi: str | None = None,
    *,
    cluster: Cluster = "employee",
    control: Literal["never", "not_yet"] = "never",
    method: Literal["dr", "ipw", "reg"] = "dr",
    controls: Sequence[str] | None = None,
    anticipation: int | Literal["auto"] = "auto",
    n_boot: int = 999,
    seed: int | None = 0,
    min_group_size: int = 5,
    min_cohort_size: int = 10,
    small_cohorts: Literal["pool", "set_aside"] = "pool",
    placebo_shift: int = 3,
    allow_unbalanced_panel: bool = False,
    heterogeneity: bool = True,
    heterogeneity_method: Literal["dr", "ipw", "reg"] = "reg",
    diagnostics: bool = True,
    robustness: bool = True,
    truth: dict[str, Any] | None = None,
) -> ProgramEvaluation:
    """Did program P cause the change in KPI K, and by how much?

    Parameters
    ----------
    dataset : analysis.data.Dataset
        Loaded dataset.
    program_id : str
        Program to evaluate.
    kpi : str, optional
        KPI (default: the program's ``kpi``).
    cluster : {"employee", "manager", "department"}
        Clustering level of every standard error (training is delivered by team).
    control : {"never", "not_yet"}
        Comparison employees of the recommended estimate.
    method : {"dr", "ipw", "reg"}
        Covariate adjustment of the recommended estimate (doubly robust default).
    controls : sequence of str, optional
        Confound controls (see :func:`build_estimation_panel`).
    anticipation : int or "auto"
        ``"auto"``: at least 1 (the comparison month is two months before training),
        longer when the detected pre-training slump is longer. A slump too small to
        detect still biases the month-before comparison upward when people are sent
        to training after a weak month; the kit's Monte Carlo measured +18% bias for a
        data-driven 0/1 choice over 8 generated 1,200-employee samples, against -1% over 30 such samples for the fixed
        floor of 1, whose only cost is a slightly wider interval.
    n_boot : int
        Multiplier-bootstrap draws of the recommended estimate (uniform bands,
        exported draws). 0 = analytic.
    seed : int, optional
        Bootstrap seed.
    min_group_size : int
        Heterogeneity groups with fewer trainees are suppressed.
    min_cohort_size : int
        Training months with fewer trainees follow ``small_cohorts``.
    small_cohorts : {"pool", "set_aside"}
        Small-cohort rule.
    placebo_shift : int
        Months the placebo training dates are moved back.
    allow_unbalanced_panel : bool
        Also show R ``did``'s repeated-cross-section handling as a robustness row.
    heterogeneity, diagnostics, robustness : bool
        Skip these parts (faster, e.g. in a Monte Carlo) when False.
    heterogeneity_method : {"dr", "ipw", "reg"}
        Covariate adjustment of the subgroup estimates. Default outcome
        regression: subgroups of a monthly cohort hold a handful of trainees,
        too few for a propensity-score model (it separates), while the
        regression on the never-trained employees stays well determined.
    truth : dict, optional
        Ground truth of the program; default read from ``ground_truth.json`` in
        the dataset folder when present.

    Returns
    -------
    ProgramEvaluation

    Notes
    -----
    Method ladder: (1) trainees' raw before/after change; (2) trainees after
    training vs never-trained employees in the same months; (3) two-way fixed
    effects; (4) Callaway–Sant'Anna without controls; (5) Callaway–Sant'Anna
    doubly robust with the confound controls; (6) the same with the comparison
    month moved before a detected pre-training slump. The last available rung is
    the recommended estimate.

    References
    ----------
    Callaway, B. & Sant'Anna, P. H. C. (2021). *Journal of Econometrics* 225(2).
    Sant'Anna, P. H. C. & Zhao, J. (2020). *Journal of Econometrics* 219(1).
    Rambachan, A. & Roth, J. (2023). *Review of Economic Studies* 90(5).
    Goodman-Bacon, A. (2021). *Journal of Econometrics* 225(2).
    """
    timings: dict[str, float] = {}
    t0 = _time.perf_counter()
    ep = build_estimation_panel(
        dataset,
        program_id,
        kpi,
        controls=controls,
        cluster=cluster,
        min_cohort_size=min_cohort_size,
        small_cohorts=small_cohorts,
    )
    timings["build panel"] = _time.perf_counter() - t0
    kpi = ep.kpi
    programs = dataset.programs
    prow = programs[programs["program_id"].astype(str) == str(program_id)].iloc[0]
    program_name = str(prow.get("name", program_id))
    kdefs = dataset.kpi_definitions
    krow = kdefs[kdefs["kpi"].astype(str) == kpi]
    unit = str(krow["unit"].iloc[0]) if len(krow) else ""
    higher_is_better = bool(krow["higher_is_better"].iloc[0]) if len(krow) else True
    if truth is None:
        truth = _load_truth(dataset, program_id, kpi)
    cl_series = None
    if ep.prepared.cluster:
        cl_series = ep.prepared.frame.drop_duplicates(ep.prepared.unit).set_index(ep.prepared.unit)[ep.prepared.cluster]

    # ---- naive rungs and TWFE ---------------------------------------------------
    t0 = _time.perf_counter()
    ladder: list[dict[str, Any]] = []

    def rung(name: str, est: float, se: float, lo: float | None = None, hi: float | None = None,
             n: int | None = None, what: str = "") -> None:
        if lo is None or hi is None:
            lo, hi = est - 1.959964 * se, est + 1.959964 * se
        ladder.append({"rung": name, "estimate": est, "se": se, "ci_low": lo, "ci_high": hi,
                       "trainees": n, "what it compares": what})

    b, s, n = _naive_before_after(ep.long)
    rung("Naive before/after (trainees)", b, s, n=n,
         what="trainees' KPI after vs before training")
    a, s, n = _naive_after(ep.long, cl_series)
    rung("Naive trained vs untrained (after)", a, s, n=n,
         what="trainees after training vs never-trained employees, same months")
    tw_frame = ep.prepared.frame
    cl_arg = ep.prepared.cluster or "unit"
    tw = twfe_did(tw_frame, "value", "employee_id", "period", "cohort", cluster=cl_arg)
    ci = tw.conf_int(0.95).loc["treated"]
    rung("Two-way fixed effects", float(tw.params["treated"]), float(tw.std_errors["treated"]),
         float(ci["lower"]), float(ci["upper"]), n=ep.n_trainees,
         what="employee and month fixed effects, one post-training dummy")
    timings["naive + TWFE"] = _time.perf_counter() - t0

    # ---- Callaway-Sant'Anna rungs -----------------------------------------------
    t0 = _time.perf_counter()
    cs_plain = estimate(ep, controls=False, control=control, method=method)
    agg = cs_plain.aggregate("simple")
    lo, hi = agg.conf_int()
    rung("Callaway-Sant'Anna, no controls", agg.att, agg.se, lo, hi, agg.n_treated,
         "each training month vs never-trained employees, month before training as baseline")
    cs0, fallback_note = _fit_controls_with_fallback(ep, control=control, method=method)
    has_controls = bool(ep.prepared.covariates)
    dip = detect_pre_training_dip(cs0, higher_is_better=higher_is_better)
    k = max(1, dip.recommended_anticipation) if anticipation == "auto" else int(anticipation)
    precaution_note = (
        "No significant slump was found before training, yet the comparison month is set one month earlier "
        "as a precaution: when staff are sent to training after a weak month, even a slump too small to detect "
        "would credit training with the rebound. The cost is a slightly wider confidence interval."
        if anticipation == "auto" and not dip.detected
        else None
    )
    timings["CS rungs"] = _time.perf_counter() - t0
    t0 = _time.perf_counter()
    rec = estimate(ep, controls=has_controls, anticipation=k, control=control, method=method,
                   n_boot=n_boot, seed=seed)
    timings["recommended (bootstrap)"] = _time.perf_counter() - t0
    adjusted = f"as above, adjusting for {', '.join(_control_words(ep.prepared.covariates))}"
    if k == 0:
        overall = rec.aggregate("simple")
        lo, hi = overall.conf_int()
        rung("Callaway-Sant'Anna, doubly robust with controls", overall.att, overall.se, lo, hi,
             overall.n_treated, adjusted)
    else:
        agg0 = cs0.aggregate("simple")
        lo, hi = agg0.conf_int()
        rung("Callaway-Sant'Anna, doubly robust with controls", agg0.att, agg0.se, lo, hi,
             agg0.n_treated, adjusted)
        overall = rec.aggregate("simple")
        lo, hi = overall.conf_int()
        rung(f"… and baseline before the pre-training slump (anticipation {k})", overall.att,
             overall.se, lo, hi, overall.n_treated,
             f"as above, comparing with the KPI {k + 1} months before training")
    lad = pd.DataFrame(ladder)
    lad["recommended"] = False
    lad.loc[lad.index[-1], "recommended"] = True
    true_att = (truth or {}).get("overall_att")
    lad["true_att"] = true_att if true_att is not None else np.nan
    lad["bias"] = lad["estimate"] - lad["true_att"]
    lad["covers_truth"] = (lad["ci_low"] <= lad["true_att"]) & (lad["true_att"] <= lad["ci_high"])
    if true_att is None:
        lad["covers_truth"] = pd.NA

    # ---- event study and diagnostics ------------------------------------------
    t0 = _time.perf_counter()
    dyn = rec.aggregate("dynamic")
    if truth and truth.get("att_event_time"):
        true_path = {int(r["event_time"]): r["att"] for r in truth["att_event_time"]}
        dyn["true_att"] = dyn["event_time"].map(true_path).where(dyn["event_time"] >= 0, 0.0)
    dyn0 = cs0.aggregate("dynamic") if k else dyn
    pre = pretrend_test(rec)
    verdict = _event_verdict(dyn, pre, unit, k)
    timings["event study"] = _time.perf_counter() - t0
    placebo = twcheck = honest = None
    if diagnostics:
        t0 = _time.perf_counter()
        placebo = placebo_fake_dates(ep.prepared, shift=max(placebo_shift, k + 1),
                                     anticipation=k, control=control, method=method,
                                     pscore_trim=PSCORE_TRIM)
        twcheck = twfe_weight_check(ep.prepared)
        honest = honest_did_breakdown(rec)
        timings["diagnostics"] = _time.perf_counter() - t0
    ov = overlap_check(ep.prepared, min_cohort=min_group_size)

    t0 = _time.perf_counter()
    het = (
        _heterogeneity(ep, k, control, heterogeneity_method, min_group_size, truth)
        if heterogeneity
        else pd.DataFrame(columns=["dimension", "group", "trainees", "att", "se", "ci_low", "ci_high", "note"])
    )
    timings["heterogeneity"] = _time.perf_counter() - t0
    t0 = _time.perf_counter()
    rob = (
        _robustness(ep, rec, k, method, allow_unbalanced_panel)
        if robustness
        else pd.DataFrame(columns=["variant", "att", "se", "ci_low", "ci_high", "trainees_used", "controls_used", "note"])
    )
    timings["robustness"] = _time.perf_counter() - t0

    notes = list(ep.notes) + ([precaution_note] if precaution_note else [])
    cluster_words = _CLUSTER_WORDS[cluster]
    notes.append(f"Standard errors are clustered by {cluster_words}.")
    notes += _engine_notes(rec)
    return ProgramEvaluation(
        program_id=str(program_id),
        program_name=program_name,
        kpi=kpi,
        unit=unit,
        higher_is_better=higher_is_better,
        cluster=cluster,
        overall=overall,
        recommended=rec,
        ladder=lad,
        event_study=dyn,
        event_study_unadjusted=dyn0,
        event_study_verdict=verdict,
        dip=dip,
        pretrend=pre,
        placebo=placebo,
        twfe_weights=twcheck,
        honest=honest,
        overlap=ov,
        heterogeneity=het,
        robustness=rob,
        cohort_table=ep.cohort_table,
        n_trainees=ep.n_trainees,
        n_controls=ep.n_controls,
        truth=truth,
        notes=notes,
        timings=timings,
    )


# --------------------------------------------------------------------------- #
# Every program of a dataset
# --------------------------------------------------------------------------- #
@dataclass
class AttributionReport:
    """Evaluations of several programs (what notebook 02 shows).

    Attributes
    ----------
    results : dict of str to ProgramEvaluation
        One evaluation per program that could be estimated.
    skipped : dict of str to str
        Programs that could not be estimated, with the reason in words.
    """

    results: dict[str, ProgramEvaluation]
    skipped: dict[str, str]

    @property
    def overview(self) -> pd.DataFrame:
        """One row per program: effect, 95% CI, raw change, share not caused, truth."""
        rows = []
        for pid, ev in self.results.items():
            lo, hi = ev.overall.conf_int(0.95)
            rows.append(
                {
                    "program_id": pid,
                    "program": ev.program_name,
                    "kpi": ev.kpi,
                    "unit": ev.unit,
                    "trainees": ev.overall.n_treated,
                    "effect per trainee-month": ev.overall.att,
                    "ci_low": lo,
                    "ci_high": hi,
                    "raw before/after change": ev.naive_before_after,
                    "share of raw change not caused": ev.share_not_caused,
                    "true effect": (ev.truth or {}).get("overall_att", np.nan),
                }
            )
        for pid, why in self.skipped.items():
            rows.append({"program_id": pid, "program": why})
        return pd.DataFrame(rows)

    def exports(self) -> dict[str, pd.DataFrame]:
        """The three ROI tables stacked over programs."""
        out: dict[str, list[pd.DataFrame]] = {}
        for ev in self.results.values():
            for name, df in ev.exports().items():
                out.setdefault(name, []).append(df)
        return {name: pd.concat(dfs, ignore_index=True) for name, dfs in out.items()}


def evaluate_programs(
    dataset: Any, programs: Sequence[str] | None = None, **options: Any
) -> AttributionReport:
    """Run :func:`evaluate_program` on several programs (default: all).

    A program that cannot be estimated (no trainee with KPI rows, no comparison
    group, ...) is listed in ``skipped`` with the reason instead of stopping the
    report.

    Parameters
    ----------
    dataset : analysis.data.Dataset
    programs : sequence of str, optional
        Program ids; ``None`` = every program in the dataset.
    **options
        Passed to :func:`evaluate_program`.

    Returns
    -------
    AttributionReport
    """
    ids = list(programs) if programs is not None else [str(p) for p in dataset.programs["program_id"]]
    results: dict[str, ProgramEvaluation] = {}
    skipped: dict[str, str] = {}
    for pid in ids:
        try:
            results[pid] = evaluate_program(dataset, pid, **options)
        except DataValidationError as exc:
            skipped[pid] = f"not evaluated: {exc}"
    return AttributionReport(results, skipped)
