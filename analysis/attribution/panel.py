"""The estimation panel of one program and KPI, and the recommended estimate on it.

:func:`build_estimation_panel` turns a :class:`analysis.data.Dataset` into the
estimation panel: cohorts (first training month, intention to treat),
never-trained comparison employees, the confound controls (tenure, department,
region, grade — fixed before training; see :data:`DEFAULT_CONTROLS`), the
small-cohort rule and the clustering level. :func:`estimate` runs the
Callaway–Sant'Anna estimate on a built panel (what the speed benchmark times).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from analysis.data import DataValidationError
from analysis.attribution.small_programs import is_small_program
from analysis.did import PreparedPanel, StaggeredDiDResults, fit_callaway_santanna, prepare_did_panel

Cluster = Literal["auto", "employee", "manager", "department", "department_region"]
_CLUSTER_COLUMN = {
    "employee": None,
    "manager": "manager_id",
    "department": "department",
    "department_region": "department × region",
}
_CLUSTER_WORDS = {
    "employee": "employee",
    "manager": "team (manager)",
    "department": "department",
    "department_region": "department × region",
}
#: ``cluster="auto"`` needs at least this many clusters for a level (team, then
#: department × region); with fewer, cluster-robust standard errors are unreliable
#: and the employee level is used (and said so).
MIN_CLUSTERS = 20
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

#: Tenure enters as a ramp-up curve measured at each ATT(g, t)'s comparison month:
#: months since hire plus a hinge at half a year and at two years (a piecewise-linear
#: curve whose slope may change there). A new hire's KPI climbs steeply in the first
#: months, so the KPI change between the comparison month and month t depends on
#: where on that curve the employee stood at the comparison month; tenure at the
#: employee's first panel month (0 for every hire, whenever hired) cannot tell a
#: recent hire from an old one. Measured on a generated 20,000-employee × 36-month
#: panel with 15% hires and low noise (seed 3, noise_scale 0.2): tenure at entry left
#: the recommended estimate +6.1% above the truth for P01 (2.7 standard errors) and
#: +2.3% for P02; the curve at the comparison month gives -0.6% and +0.4% (0.4 and
#: 0.25 SE). More hinges (3 and 12 months) fitted no better and left a handful of
#: employees on one side in small cells: on the sample one event-study cell of the
#: HonestDiD refit blew up (SE 900 against 0.18). A hinge is used only when at least
#: 1% of the panel's rows lie on each side of it.
TENURE_KNOTS_MONTHS: tuple[int, ...] = (6, 24)
#: Panel column of tenure (months since hire) at each row's month.
TENURE_COLUMN = "tenure_months"

#: The baseline KPI level (an opt-in control and a robustness row): mean of the first
#: ``BASELINE_MONTHS`` observed months, for a trainee skipping the ``DIP_GUARD`` month(s)
#: just before training, where a pre-training slump sits.
BASELINE_MONTHS = 3
DIP_GUARD = 1

#: Plain words for the control columns.
_CONTROL_WORDS = {
    TENURE_COLUMN: "tenure",
    **{f"tenure_over_{k}m": "tenure" for k in TENURE_KNOTS_MONTHS},
    "department": "department",
    "region": "region",
    "grade": "grade",
    "baseline_kpi": "baseline KPI level",
    "market_at_entry": "regional market index",
}

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
        the encoded controls and the cluster column; cohorts after the
        small-cohort rule (the recommended estimate's panel).
    prepared_asis : PreparedPanel
        The same employees and controls with every training month as it is (no
        pooling, nobody set aside for a small cohort): the textbook
        Callaway–Sant'Anna panel.
    units : DataFrame
        One row per employee kept: cohort, original_cohort, controls in plain
        form, exam score / pass, tenure at training, department.
    long : DataFrame
        The KPI panel rows used (employee_id, period, value, cohort,
        original_cohort, month) for the naive rungs and TWFE.
    cohort_table : DataFrame
        Training month, period, trainees, what the small-cohort rule did.
    trainees : DataFrame
        Every trainee of the program, indexed by employee_id: training_month,
        original_cohort, cohort (after the rule; -1 = set aside), set_aside
        (the reason in words, empty when kept for estimation).
    comparison_left_out : dict of str to int
        Never-trained-in-this-program employees left out of the comparison
        group, by reason in words.
    cluster : str
        Clustering level actually used (``employee``, ``manager``,
        ``department``, ``department_region``).
    cluster_reason : str
        Why that level, in words.
    notes : list of str
        Everything preparation did, in words.
    small_cohorts : str
        The small-cohort rule applied (``pool``, ``set_aside`` or ``keep``; ``auto`` resolved).
    small_program : bool
        Whether the program's median training month has fewer than
        ``min_cohort_size`` trainees (:func:`is_small_program`).
    """

    program_id: str
    kpi: str
    prepared: PreparedPanel
    prepared_asis: PreparedPanel
    units: pd.DataFrame
    long: pd.DataFrame
    cohort_table: pd.DataFrame
    trainees: pd.DataFrame
    comparison_left_out: dict[str, int]
    cluster: str
    cluster_reason: str
    control_names: list[str]
    months: pd.DatetimeIndex
    notes: list[str] = field(default_factory=list)
    small_cohorts: str = "pool"
    small_program: bool = False

    @property
    def n_trainees(self) -> int:
        """Trainees kept for estimation."""
        return int((self.units["cohort"] > 0).sum())

    @property
    def n_controls(self) -> int:
        """Never-trained employees kept for estimation."""
        return int((self.units["cohort"] == 0).sum())

    @property
    def pooled(self) -> bool:
        """Whether the small-cohort rule changed any trainee's cohort."""
        tr = self.trainees
        return bool((tr["cohort"] != tr["original_cohort"]).any())

    def period_month(self, period: float) -> pd.Timestamp:
        """Calendar month of an integer period (1 = first panel month)."""
        return self.months[int(period) - 1]


def resolve_cluster(units: pd.DataFrame, cluster: str, min_clusters: int = MIN_CLUSTERS) -> tuple[str, str]:
    """The clustering level to use and why, in words.

    Parameters
    ----------
    units : DataFrame
        One row per employee (columns ``manager_id``, ``department``, ``region`` when present).
    cluster : str
        ``"auto"`` or a level (``employee``, ``manager``, ``department``, ``department_region``).
    min_clusters : int
        ``auto`` takes a level only with at least this many clusters.

    Returns
    -------
    level, reason : str
    """
    if cluster != "auto":
        return cluster, "set by the cluster option"

    def n_of(cols: list[str]) -> int:
        if not all(c in units for c in cols):
            return 0
        return int(units[cols].dropna().drop_duplicates().shape[0])

    n_team = n_of(["manager_id"])
    if n_team >= min_clusters:
        return "manager", f"training is delivered to teams; the data name each employee's manager ({n_team:,} teams)"
    n_dr = n_of(["department", "region"])
    if n_dr >= min_clusters:
        why = "no manager column" if "manager_id" not in units else f"only {n_team} teams"
        return "department_region", f"{why}; department × region is the nearest grouping ({n_dr:,} groups)"
    return "employee", (
        f"fewer than {min_clusters} teams and department × region groups, too few for clustered "
        "standard errors"
    )


def _pool_small_cohorts(
    units: pd.DataFrame, months: pd.DatetimeIndex, min_cohort_size: int, rule: str, anticipation: int = 0
) -> tuple[pd.Series, pd.DataFrame, list[str]]:
    """Apply the small-cohort rule; return new cohort per unit, the cohort table, notes.

    The panel's first ``1 + anticipation`` months have no comparison month (the estimate compares
    with the KPI ``anticipation + 1`` months before training), so they take no part in pooling: a
    pool counted from one of them would lose every trainee pooled into it.
    """
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
            # the panel's first 1 + anticipation months have no comparison month: a pool counted from one of
            # them would lose every trainee pooled into it, so they take no part (their own trainees are set
            # aside for that by the estimate)
            in_q = sorted(int(g) for g in members.index if int(g) > 1 + anticipation)
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


def _tenure_curve_names(tenure: np.ndarray) -> list[str]:
    """Columns of the tenure ramp-up curve: tenure plus each hinge with data on both sides."""
    t = tenure[np.isfinite(tenure)]
    names = [TENURE_COLUMN]
    for k in TENURE_KNOTS_MONTHS:
        if len(t) and min((t < k).mean(), (t > k).mean()) >= 0.01:
            names.append(f"tenure_over_{k}m")
    return names


def _tenure_curve(tenure: np.ndarray, names: Sequence[str]) -> dict[str, np.ndarray]:
    """The tenure curve's columns (months since hire; months past each hinge, 0 before it)."""
    out = {TENURE_COLUMN: tenure}
    for name in names[1:]:
        k = float(name.removeprefix("tenure_over_").removesuffix("m"))
        out[name] = np.maximum(tenure - k, 0.0)
    return out


def build_estimation_panel(
    dataset: Any,
    program_id: str,
    kpi: str | None = None,
    *,
    controls: Sequence[str] | None = None,
    extra_controls: Sequence[str] = (),
    cluster: Cluster = "auto",
    min_cohort_size: int = 10,
    small_cohorts: Literal["auto", "pool", "set_aside", "keep"] = "auto",
    same_kpi_trainees: Literal["exclude", "keep"] = "exclude",
    baseline_months: int = BASELINE_MONTHS,
    dip_guard: int = DIP_GUARD,
    anticipation: int = 0,
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
    cluster : {"auto", "employee", "manager", "department", "department_region"}
        Clustering level of the standard errors; ``auto`` (default) = team
        (``manager_id``) when the data has it, else department × region, else
        employee (see :func:`resolve_cluster`).
    min_cohort_size : int
        Training months with fewer trainees follow ``small_cohorts``.
    small_cohorts : {"auto", "pool", "set_aside", "keep"}
        For the recommended estimate's panel: pool small training months by
        calendar quarter (leftovers set aside), set them aside, or keep them as
        they are. ``auto`` (default): keep every month as it is when the
        program is small (:func:`is_small_program`: its median training month
        has fewer than ``min_cohort_size`` trainees), else pool. The choice is
        :attr:`EstimationPanel.small_cohorts`. :attr:`EstimationPanel.prepared_asis`
        always keeps every month.
    same_kpi_trainees : {"exclude", "keep"}
        Employees trained in another program aimed at the same KPI inside the
        panel window are not clean "never trained" comparisons: ``exclude``
        (default) leaves them out of the comparison group (counted in
        :attr:`EstimationPanel.comparison_left_out`); ``keep`` uses them.
    baseline_months : int
        Months averaged for the baseline KPI level (the first observed months).
    dip_guard : int
        A trainee's baseline skips the ``dip_guard`` month(s) just before
        training, where a pre-training slump sits.
    anticipation : int
        The anticipation the recommended estimate will use (its comparison month is
        ``anticipation + 1`` months before training): the panel's first
        ``1 + anticipation`` months have no comparison month and take no part in the
        small-cohort pooling.

    Returns
    -------
    EstimationPanel

    Raises
    ------
    DataValidationError
        Unknown program, a KPI without rows, or no trainee / no comparison employee.

    Notes
    -----
    Tenure is the ramp-up curve of :data:`TENURE_KNOTS_MONTHS` measured at each
    ATT(g, t)'s comparison month (before training). The other controls are fixed
    per employee and measured before training: department, region, grade and, when asked for,
    the region's market index at the employee's first panel month and the baseline
    KPI level. Cohort = month of the first enrollment of any status (intention to
    treat).
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

    # ---- every trainee of the program, and why anyone is set aside ----------------
    coh = dataset.cohorts(str(program_id))
    trainees = pd.DataFrame(
        {
            "training_month": pd.to_datetime(coh["cohort_month"]).to_numpy(),
            "original_cohort": coh["cohort"].astype(int).to_numpy(),
        },
        index=pd.Index(coh["employee_id"].astype(str), name="employee_id"),
    )
    trainees["cohort"] = trainees["original_cohort"]
    trainees["set_aside"] = ""
    with_rows = set(panel["employee_id"].astype(str))
    trainees.loc[~trainees.index.isin(with_rows), "set_aside"] = f"no {kpi} KPI rows"
    trainees.loc[(trainees["set_aside"] == "") & (trainees["original_cohort"] < 1), "set_aside"] = (
        "trained before the panel's first month"
    )
    trainees.loc[(trainees["set_aside"] == "") & (trainees["original_cohort"] > len(months)), "set_aside"] = (
        "trained after the panel's last month (no KPI month after training)"
    )
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
    after = trained & (panel["cohort"] > len(months))
    if after.any():
        n = panel.loc[after, "employee_id"].nunique()
        notes.append(
            f"{n} employee(s) trained after the panel's last month have no KPI month after training and were "
            "set aside (neither trainees of this estimate nor 'never trained' comparisons)."
        )
        panel = panel.loc[~after]
        trained = trained.loc[~after]
    panel = panel.assign(cohort=np.where(trained, panel["cohort"], 0).astype(int))

    # ---- comparison group: never trained in this program nor in one on the same KPI --
    comparison_left_out: dict[str, int] = {}
    others = [
        str(p)
        for p, k in zip(programs["program_id"].astype(str), programs["kpi"].astype(str))
        if p != str(program_id) and k == kpi
    ]
    if others:
        other_ids: set[str] = set()
        for p in others:
            oc = dataset.cohorts(p)
            inside = (oc["cohort"] >= 1) & (oc["cohort"] <= len(months))
            other_ids |= set(oc.loc[inside, "employee_id"].astype(str))
        clash = panel["employee_id"].astype(str).isin(other_ids) & (panel["cohort"] == 0)
        n_clash = int(panel.loc[clash, "employee_id"].nunique())
        if n_clash and same_kpi_trainees == "exclude":
            comparison_left_out[f"trained in another program on {kpi} ({', '.join(others)})"] = n_clash
            panel = panel.loc[~clash]
            notes.append(
                f"{n_clash:,} employee(s) trained in another program aimed at {kpi} "
                f"({', '.join(others)}) inside the window are left out of the comparison group: "
                "their KPI moved with that training, so they are not 'never trained'."
            )
        elif n_clash:
            notes.append(
                f"{n_clash:,} employee(s) trained in another program aimed at {kpi} "
                f"({', '.join(others)}) serve as 'never trained' comparisons (same_kpi_trainees='keep')."
            )

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

    small_program = is_small_program(units.loc[units["cohort"] > 0, "cohort"], min_cohort_size)
    if small_cohorts == "auto":
        small_cohorts = "keep" if small_program else "pool"
    rule = small_cohorts if small_cohorts != "keep" else "pool"
    new_cohort, cohort_table, pool_notes = _pool_small_cohorts(
        units, months, min_cohort_size if small_cohorts != "keep" else 0, rule, anticipation
    )
    if small_cohorts != "keep" and (units["cohort"] > 0).any() and not (new_cohort > 0).any():
        new_cohort = units["cohort"].copy()
        cohort_table["estimated_as"] = cohort_table["training_month"].dt.strftime("%Y-%m")
        cohort_table["rule"] = ""
        pool_notes = [
            f"Every training month has fewer than {min_cohort_size} trainees and nothing to pool with; "
            "the small-cohort rule would set aside every trainee, so every month is kept as it is."
        ]
    notes += pool_notes
    units["original_cohort"] = units["cohort"]
    units["cohort"] = new_cohort

    if (units["original_cohort"] > 0).sum() == 0:
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

    # ---- controls, fixed per employee (for every trainee, set aside or not) ------
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
    long_all = panel.assign(original_cohort=panel["employee_id"].map(units["original_cohort"]).astype(int))
    cov_frame = pd.DataFrame(index=units.index)
    names: list[str] = []
    tenure_names: list[str] = []
    if "tenure" in wanted and long_all.groupby("period")[TENURE_COLUMN].nunique().max() <= 1:
        notes.append(
            "Tenure was left out of the controls: every employee has the same months since hire in every month "
            "(one hire date for all), so it cannot adjust any comparison."
        )
        wanted = [c for c in wanted if c != "tenure"]
    if "tenure" in wanted:
        tenure_names = _tenure_curve_names(long_all[TENURE_COLUMN].to_numpy(float))
        names += tenure_names
    for col in ("department", "region", "grade"):
        if col in wanted:
            cov_frame[col] = units[col].astype("string").fillna("(missing)")
            names.append(col)
    if "baseline_kpi" in wanted:
        base = _baseline_kpi(long_all, units["original_cohort"], baseline_months, dip_guard)
        cov_frame["baseline_kpi"] = base.reindex(units.index)
        names.append("baseline_kpi")
        no_pre = cov_frame.index[cov_frame["baseline_kpi"].isna()]
        if len(no_pre):
            notes.append(
                f"{len(no_pre)} trainee(s) have no KPI month before their training (hired into "
                "it) and cannot be compared before/after; they were set aside."
            )
            trainees.loc[trainees.index.isin(no_pre.astype(str)), "set_aside"] = (
                "no KPI month before training (needed for the pre-training level control)"
            )
            units = units.drop(index=no_pre)
            cov_frame = cov_frame.drop(index=no_pre)
            long_all = long_all.loc[~long_all["employee_id"].isin(no_pre)]
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

    # ---- the small-cohort rule's set-aside trainees -------------------------------
    aside = units.index[units["cohort"] < 0]
    if len(aside):
        trainees.loc[trainees.index.isin(aside.astype(str)), "set_aside"] = (
            f"small training month (fewer than {min_cohort_size}) with nothing to pool with"
        )
    kept_tr = units.loc[units["original_cohort"] > 0, "cohort"]
    trainees.loc[kept_tr.index.astype(str), "cohort"] = kept_tr.to_numpy()

    # ---- clustering --------------------------------------------------------------
    level, cluster_reason = resolve_cluster(units, cluster)
    cluster_col = _CLUSTER_COLUMN[level]
    if cluster_col is not None and cluster_col != "department × region" and cluster_col not in units:
        raise DataValidationError(
            f"employees: cannot cluster by {level}: column {cluster_col!r} missing",
            table="employees",
            column=cluster_col,
        )
    if level == "department_region":
        cl_values = units["department"].astype("string").fillna("?") + " × " + units["region"].astype("string").fillna("?")
    elif cluster_col is not None:
        cl_values = units[cluster_col].astype("string").fillna("(none)")
    else:
        cl_values = None

    def prepared_for(cohort_col: str, frame_long: pd.DataFrame) -> PreparedPanel:
        frame = frame_long[["employee_id", "period", "value"]].assign(cohort=frame_long[cohort_col].to_numpy())
        frame = frame.join(cov_frame, on="employee_id")
        if tenure_names:  # time-varying: the engine reads each cell's comparison month
            frame = frame.assign(**_tenure_curve(frame_long[TENURE_COLUMN].to_numpy(float), tenure_names))
        if cl_values is not None:
            frame["cluster_id"] = frame["employee_id"].map(cl_values)
        return prepare_did_panel(
            frame,
            "value",
            "employee_id",
            "period",
            "cohort",
            names,
            cluster="cluster_id" if cl_values is not None else None,
            table=f"kpi_monthly[{kpi}]",
        )

    long_asis = long_all
    long = long_all.loc[~long_all["employee_id"].isin(aside)]
    long = long.assign(cohort=long["employee_id"].map(units["cohort"]).astype(int))
    prepared = prepared_for("cohort", long)
    notes += prepared.notes
    prepared.notes = []
    prepared_asis = prepared_for("original_cohort", long_asis) if (units["cohort"] != units["original_cohort"]).any() else prepared
    if prepared_asis is not prepared:
        prepared_asis.notes = []
    units = units.loc[units["cohort"] >= 0]
    long_cols = [c for c in ("employee_id", "month", "period", "value", "cohort", "original_cohort") if c in long.columns]
    return EstimationPanel(
        program_id=str(program_id),
        kpi=kpi,
        prepared=prepared,
        prepared_asis=prepared_asis,
        units=units,
        long=long[long_cols].reset_index(drop=True),
        cohort_table=cohort_table,
        trainees=trainees,
        comparison_left_out=comparison_left_out,
        cluster=level,
        cluster_reason=cluster_reason,
        control_names=list(prepared.covariates),
        months=months,
        notes=notes,
        small_cohorts=small_cohorts,
        small_program=small_program,
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


