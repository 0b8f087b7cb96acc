"""What explains a KPI shortfall: plain shares first, then cross-validated models.

For one KPI, people are *under target* when their mean over the last months falls short of
the target (:func:`analysis.gaps.kpi.person_kpi_status`). Each competency the role requires
gets the plain statement — the share below the required level among under-target people
against on-target people — and two scikit-learn models (an L2-regularized logistic
regression with the penalty chosen by inner cross-validation, and a histogram
gradient-boosted tree model) predict the shortfall from the gaps, tenure and department.
Importance is permutation importance (drop in out-of-fold ROC AUC when one feature is
shuffled), computed on each held-out fold, so its spread over folds is shown.

This is association, not effect: a competency that goes with the shortfall need not cause
it, and training it need not close it. The attribution notebook measures effects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.data import Dataset
from analysis.gaps.kpi import DEFAULT_WINDOW_MONTHS, person_kpi_status
from analysis.gaps.levels import GapResults, competency_gaps
from analysis.gaps.truth import gap_truth, label

__all__ = ["DriverResults", "driver_features", "shortfall_drivers"]

TENURE = "tenure_years"
DEPARTMENT = "department"


@dataclass
class DriverResults:
    """What explains one KPI's shortfall (from :func:`shortfall_drivers`).

    Attributes
    ----------
    kpi : str
    table : DataFrame
        One row per feature, strongest first: feature, kind (competency / tenure /
        department), share_gap_under_target, share_gap_on_target, difference, diff_ci_low,
        diff_ci_high (95%, competencies only), n_under_target, n_on_target, n_smaller_group
        (the smaller of the two, for suppression),
        importance_logit, importance_logit_sd, importance_gbm, importance_gbm_sd (permutation
        importance: drop in ROC AUC, mean and sd over folds), importance (mean of both
        models), rank, and on generated data true_rank and true_kpi_units_lost.
    auc : DataFrame
        model, auc (out-of-fold), auc_sd (over folds).
    n, n_under_target : int
        People in the analysis, of them under target.
    department : str or None
        The department when all people are in one.
    note : str
        Why the models were not fitted, or "".
    n_splits : int
    """

    kpi: str
    table: pd.DataFrame
    auc: pd.DataFrame
    n: int
    n_under_target: int
    department: str | None = None
    note: str = ""
    n_splits: int = 5
    fold_importance: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def competencies(self) -> pd.DataFrame:
        """The competency rows of :attr:`table`, strongest first."""
        return self.table[self.table["kind"] == "competency"].reset_index(drop=True)

    @property
    def top(self) -> str | None:
        """The competency ranked first (None when there is none)."""
        comp = self.competencies
        return None if comp.empty else str(comp["feature"].iloc[0])

    def statement(self, competency: str | None = None) -> str:
        """The plain statement for a competency (default the top one), in words."""
        comp = self.competencies
        c = competency or self.top
        if c is None:
            return f"No competency is linked to {label(self.kpi)}."
        row = comp[comp["feature"] == c].iloc[0]
        who = f"{self.department} staff" if self.department else "staff"
        return (f"{row['share_gap_under_target']:.0%} of under-target {who} are below the required level in {label(c)}, "
                f"against {row['share_gap_on_target']:.0%} of on-target {who}")

    @property
    def summary(self) -> str:
        """One paragraph: the top competency, its plain statement, the models' out-of-fold AUC, association not effect."""
        if self.top is None:
            return self.statement()
        parts = [f"{label(self.kpi)}: {self.statement()}."]
        if not self.auc.empty:
            aucs = ", ".join(f"{r.model} {r.auc:.2f} (± {r.auc_sd:.2f} over folds)" for r in self.auc.itertuples())
            parts.append(f"Cross-validated models rank {label(self.top)} first; out-of-fold AUC {aucs}.")
        elif self.note:
            parts.append(self.note)
        parts.append("This is association, not effect: the attribution notebook measures what training changes.")
        return " ".join(parts)


def _before_training(dataset: Dataset, kpi: str, window_months: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """KPI status and assessments of each person before their first training (or up to now if never trained).

    Returns the person-level KPI status (employee_id, months, mean_value, target, shortfall,
    under_target, trained) and the assessments dated before each person's first training.
    """
    rows = dataset.tables["kpi_monthly"]
    rows = rows[rows["kpi"] == kpi][["employee_id", "month", "value"]]
    enr = dataset.tables["enrollments"]
    first = enr.groupby("employee_id")["start_date"].min()
    first_month = first.dt.to_period("M").dt.to_timestamp()
    last_month = rows["month"].max()
    # trained: the window ends two months before the first training month (the month before is often a slump that got
    # the person sent); never trained: it ends at the last KPI month
    end = rows["employee_id"].map(first_month - pd.DateOffset(months=2)).fillna(last_month)
    start = end - pd.DateOffset(months=window_months - 1)
    win = rows[(rows["month"] >= start) & (rows["month"] <= end)]
    status = person_kpi_status(dataset.__class__(path=dataset.path, tables={**dataset.tables, "kpi_monthly": win.assign(kpi=kpi)}),
                               kpi, window_months=600, end_month=last_month)  # the windows are already cut
    status["trained"] = status["employee_id"].isin(first.index)
    ass = dataset.tables["assessments"]
    cutoff = ass["employee_id"].map(first)
    ass = ass[cutoff.isna() | (ass["assessed_on"] < cutoff)]
    return status, ass


def driver_features(dataset: Dataset, kpi: str, *, window_months: int = DEFAULT_WINDOW_MONTHS) -> tuple[pd.DataFrame, list[str], GapResults]:
    """One row per person: under_target before any training, the gap per required competency then, tenure, department.

    Training moves the competency it targets (and, when it works, the KPI), so the diagnosis
    pairs competencies and KPI from before each person's first training: the trained
    contribute their last assessment before it and their KPI over ``window_months`` months
    ending two months before it (the month before training is often the bad month that got
    them sent); the never-trained contribute their latest assessment and last
    ``window_months`` months.

    Returns
    -------
    (DataFrame, list of str, GapResults)
        The frame (employee_id, under_target, trained, one column per competency with the
        gap — missing when unknown or not required —, tenure_years, department), the
        competency columns and the gaps behind them.
    """
    status, ass = _before_training(dataset, kpi, window_months)
    view = dataset.__class__(path=dataset.path, tables={**dataset.tables, "assessments": ass})
    gaps = competency_gaps(view, include_leavers=True)
    be = gaps.by_employee[gaps.by_employee["employee_id"].isin(status["employee_id"])]
    wide = be.pivot(index="employee_id", columns="competency", values="gap")
    comps = sorted(be["competency"].unique())
    emp = dataset.tables["employees"].set_index("employee_id")
    out = status[["employee_id", "under_target", "trained"]].merge(wide.reset_index(), on="employee_id", how="left")
    end = dataset.tables["kpi_monthly"]["month"].max() + pd.offsets.MonthEnd(0)
    out[TENURE] = ((end - emp.loc[out["employee_id"], "hire_date"]).dt.days / 365.25).to_numpy()
    out[DEPARTMENT] = emp.loc[out["employee_id"], "department"].astype(str).to_numpy()
    return out.sort_values("employee_id", kind="stable").reset_index(drop=True), comps, gaps


def _plain(df: pd.DataFrame, comps: list[str], be: pd.DataFrame) -> pd.DataFrame:
    rows = []
    status = be.pivot(index="employee_id", columns="competency", values="status")
    y = df.set_index("employee_id")["under_target"]
    for c in comps:
        s = status[c].reindex(y.index) if c in status.columns else pd.Series(np.nan, index=y.index)
        known = s.isin(["gap", "met"])
        below = s == "gap"
        u, o = known & y, known & ~y
        nu, no = int(u.sum()), int(o.sum())
        pu = float(below[u].mean()) if nu else np.nan
        po = float(below[o].mean()) if no else np.nan
        se = np.sqrt(pu * (1 - pu) / nu + po * (1 - po) / no) if nu and no else np.nan
        rows.append({"feature": c, "share_gap_under_target": pu, "share_gap_on_target": po, "difference": pu - po,
                     "diff_ci_low": pu - po - 1.96 * se, "diff_ci_high": pu - po + 1.96 * se, "n_under_target": nu, "n_on_target": no})
    return pd.DataFrame(rows, columns=["feature", "share_gap_under_target", "share_gap_on_target", "difference", "diff_ci_low",
                                       "diff_ci_high", "n_under_target", "n_on_target"])


def _models(num: list[str], cat: list[str], seed: int) -> dict[str, Any]:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    lin = ColumnTransformer([("num", Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True)), ("scale", StandardScaler())]), num),
                             *([("cat", OneHotEncoder(handle_unknown="ignore"), cat)] if cat else [])])
    tree = ColumnTransformer([("num", "passthrough", num),
                              *([("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan), cat)] if cat else [])])
    return {
        "logit": Pipeline([("prep", lin), ("model", LogisticRegressionCV(Cs=8, cv=3, scoring=_auc_scorer, max_iter=2000, l1_ratios=(0.0,), use_legacy_attributes=False))]),
        "gbm": Pipeline([("prep", tree), ("model", HistGradientBoostingClassifier(
            max_depth=3, learning_rate=0.05, max_iter=150, min_samples_leaf=20, random_state=seed,
            categorical_features=list(range(len(num), len(num) + len(cat))) if cat else None))]),
    }


def _roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC of ``score`` for the boolean labels ``y``, equal to the last bit to ``sklearn.metrics.roc_auc_score``.

    Parameters
    ----------
    y : ndarray of bool, shape (n,)
    score : ndarray of float, shape (n,)
        Higher means more likely True.

    Returns
    -------
    float
        The area under the ROC curve (NaN when ``y`` holds one class only).

    Notes
    -----
    scikit-learn's ROC curve has one point per distinct score (descending), the counts of
    false and true positives at or above it, keeps only the corners (points where the second
    difference of either count is not zero, plus both ends), starts at (0, 0), divides by the
    totals and integrates with ``scipy.integrate.trapezoid``. The counts are exact integers,
    so the same points divided by the same totals give the same floats; what is saved is
    scikit-learn's input checks, a few milliseconds a call.
    """
    from scipy.integrate import trapezoid

    if y.all() or not y.any():
        return float("nan")  # scikit-learn warns and returns NaN too
    order = np.argsort(score, kind="stable")[::-1]
    last = np.append(np.flatnonzero(np.diff(score[order])), len(y) - 1)  # last row of each distinct score
    tp = np.cumsum(y[order], dtype=np.float64)[last]
    fp = 1 + last - tp
    if len(tp) > 2:
        corner = np.concatenate([[True], (np.diff(fp, 2) != 0) | (np.diff(tp, 2) != 0), [True]])
        tp, fp = tp[corner], fp[corner]
    tp, fp = np.append(0.0, tp), np.append(0.0, fp)
    return float(trapezoid(tp / tp[-1], fp / fp[-1]))


def _auc_scorer(model: Any, X: Any, y: np.ndarray) -> float:
    """Scorer ``"roc_auc"`` of a fitted binary classifier, with :func:`_roc_auc` (the same float, fewer checks).

    scikit-learn's ``"roc_auc"`` scores ``decision_function`` against ``y`` with the second of
    ``model.classes_`` positive; :class:`~sklearn.linear_model.LogisticRegressionCV` calls it
    for each fold and penalty of its inner cross-validation.
    """
    return _roc_auc(np.asarray(y) == model.classes_[-1], model.decision_function(X))


def _permutation_importance(model: Any, X: pd.DataFrame, y: np.ndarray, *, n_repeats: int, random_state: int) -> np.ndarray:
    """Drop in ROC AUC when each column of ``X`` is shuffled, as ``sklearn.inspection.permutation_importance``.

    The same numbers as ``permutation_importance(model, X, y, scoring="roc_auc",
    n_repeats=n_repeats, random_state=random_state).importances``, to the last bit, but all
    the shuffled copies of ``X`` are scored by one prediction on their stack (the pipelines
    of :func:`_models` predict each row on its own) and the AUC by :func:`_roc_auc`.

    Parameters
    ----------
    model : fitted classifier
        With ``decision_function`` or ``predict_proba``.
    X : DataFrame, shape (n, p)
    y : ndarray of bool, shape (n,)
    n_repeats : int
        Shuffles per column.
    random_state : int

    Returns
    -------
    ndarray, shape (p, n_repeats)
        Baseline AUC minus the AUC with the column shuffled, per column and shuffle.
    """
    from sklearn.utils import check_random_state

    # scikit-learn 1.x: one seed is drawn from the random state; for each column a fresh RandomState(seed) shuffles an
    # index in place n_repeats times and each shuffle re-permutes the already permuted column; scoring "roc_auc" scores
    # decision_function (else predict_proba of the positive class) on the whole X, unshuffled for the baseline
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max + 1)
    n, p = X.shape
    blocks = 1 + p * n_repeats  # the unshuffled X, then column 0's shuffles, column 1's, ...
    rows = np.tile(np.arange(n), (p, blocks))  # rows[j]: the rows of X whose column j goes into the stack
    for j in range(p):
        rng, idx, pos = check_random_state(seed), np.arange(n), np.arange(n)
        for r in range(n_repeats):
            rng.shuffle(idx)
            pos = pos[idx]
            b = 1 + j * n_repeats + r
            rows[j, b * n:(b + 1) * n] = pos
    stack = pd.DataFrame({c: X[c].iloc[rows[j]].reset_index(drop=True) for j, c in enumerate(X.columns)})
    score = model.decision_function(stack) if hasattr(model, "decision_function") else model.predict_proba(stack)[:, 1]
    auc = np.array([_roc_auc(y, s) for s in np.asarray(score, dtype=np.float64).reshape(blocks, n)])
    return auc[0] - auc[1:].reshape(p, n_repeats)


def _cross_validate(X: pd.DataFrame, y: np.ndarray, num: list[str], cat: list[str], *, n_splits: int, n_repeats: int,
                    seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Out-of-fold AUC of both models and permutation importance on each held-out fold."""
    import sklearn
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    features = [*num, *cat]
    n = len(y)
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    oof = {m: np.zeros(n) for m in ("logit", "gbm")}
    fold_auc: dict[str, list[float]] = {"logit": [], "gbm": []}
    rows = []
    # small fits: extra threads only contend on a shared machine. The inputs were checked once (finite gaps and tenure,
    # missing = unknown) and the models' parameters are fixed here, so scikit-learn's per-call checks are skipped (same
    # numbers). The permutation importance scores all shuffled copies of a fold in one prediction (_permutation_importance).
    with threadpool_limits(limits=1), sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
        for k, (tr, te) in enumerate(cv.split(X, y)):
            for name, model in _models(num, cat, seed).items():
                model.fit(X.iloc[tr], y[tr])
                p = model.predict_proba(X.iloc[te])[:, 1]
                oof[name][te] = p
                fold_auc[name].append(float(roc_auc_score(y[te], p)))
                imp = _permutation_importance(model, X.iloc[te], y[te], n_repeats=n_repeats, random_state=seed + k).mean(axis=1)
                rows += [{"model": name, "fold": k, "feature": f, "importance": float(v)} for f, v in zip(features, imp)]
    auc = pd.DataFrame([{"model": m, "auc": float(roc_auc_score(y, oof[m])), "auc_sd": float(np.std(fold_auc[m], ddof=1))}
                        for m in ("logit", "gbm")])
    return pd.DataFrame(rows), auc


def shortfall_drivers(dataset: Dataset, kpi: str, *, window_months: int = DEFAULT_WINDOW_MONTHS,
                      n_splits: int = 5, n_repeats: int = 5, seed: int = 7) -> DriverResults:
    """Which competencies go with a KPI shortfall, strongest first.

    Parameters
    ----------
    dataset : Dataset
        Needs ``assessments``, ``role_requirements`` and a ``target`` for ``kpi``.
    kpi : str
    window_months : int
        Months of KPI averaged per person.
    n_splits : int
        Folds of the stratified cross-validation.
    n_repeats : int
        Shuffles per feature and fold in the permutation importance.
    seed : int

    Returns
    -------
    DriverResults

    Notes
    -----
    People and months: :func:`driver_features` (before each person's first training).
    Features: the gap in each competency the people's roles require (missing = unknown;
    imputed by the median with a missing-indicator for the logistic model, native in the
    boosted trees), tenure in years and the department (when there is more than one).
    Permutation importance (Breiman 2001; Fisher, Rudin & Dominici 2019) is computed on each
    held-out fold, so it measures what the fitted model uses on people it has not seen;
    correlated features share importance. Ranking: the mean of both models' importance.
    Association, not effect.
    """
    df, comps, gaps = driver_features(dataset, kpi, window_months=window_months)
    be = gaps.by_employee[gaps.by_employee["employee_id"].isin(df["employee_id"])]
    plain = _plain(df, comps, be)
    depts = df[DEPARTMENT].unique()
    cat = [DEPARTMENT] if len(depts) > 1 else []
    num = [*comps, TENURE]
    features = [*num, *cat]
    y = df["under_target"].to_numpy(bool)
    n, n_under = len(y), int(y.sum())
    note = ""
    minority = min(n_under, n - n_under)
    importance = pd.DataFrame(columns=["model", "fold", "feature", "importance"])
    auc = pd.DataFrame(columns=["model", "auc", "auc_sd"])
    if not comps:
        note = ("The models were not fitted: the roles of the people with this KPI require no competency in role_requirements "
                "(or nobody with this KPI is in a role that has requirements).")
    elif minority < max(2 * n_splits, 10):
        note = (f"The models were not fitted: {minority} people on the smaller side of the target "
                f"(at least {max(2 * n_splits, 10)} needed for {n_splits}-fold cross-validation).")
    else:
        importance, auc = _cross_validate(df[features], y, num, cat, n_splits=n_splits, n_repeats=n_repeats, seed=seed)
    table = pd.DataFrame({"feature": features, "kind": ["competency"] * len(comps) + ["tenure"] + ["department"] * len(cat)})
    for m in ("logit", "gbm"):
        part = importance[importance["model"] == m].groupby("feature")["importance"]
        table[f"importance_{m}"] = table["feature"].map(part.mean())
        table[f"importance_{m}_sd"] = table["feature"].map(part.std(ddof=1))
    table["importance"] = table[["importance_logit", "importance_gbm"]].mean(axis=1)
    table = table.merge(plain, on="feature", how="left")
    key = table["importance"].fillna(table["difference"]).fillna(-np.inf)
    table = table.assign(_k=key).sort_values("_k", ascending=False, kind="stable").drop(columns="_k").reset_index(drop=True)
    table["rank"] = np.arange(1, len(table) + 1)
    truth = gap_truth(dataset)
    true_rows = (truth or {}).get("shortfall_drivers", {}).get(kpi)
    if true_rows:
        tr_ = {r["competency"]: r for r in true_rows}
        table["true_rank"] = table["feature"].map(lambda f: tr_[f]["rank"] if f in tr_ else np.nan)
        table["true_kpi_units_lost"] = table["feature"].map(lambda f: tr_[f]["kpi_units_lost_per_person"] if f in tr_ else np.nan)
    cols = ["feature", "kind", "share_gap_under_target", "share_gap_on_target", "difference", "diff_ci_low", "diff_ci_high",
            "n_under_target", "n_on_target", "importance_logit", "importance_logit_sd", "importance_gbm", "importance_gbm_sd",
            "importance", "rank", *[c for c in ("true_rank", "true_kpi_units_lost") if c in table.columns]]
    table = table[cols]
    # features without a plain statement (tenure, department) rest on everyone in the model
    other = table["kind"] != "competency"
    table.loc[other, "n_under_target"], table.loc[other, "n_on_target"] = n_under, n - n_under
    for c in ("n_under_target", "n_on_target"):
        table[c] = table[c].astype("Int64")
    table["n_smaller_group"] = table[["n_under_target", "n_on_target"]].min(axis=1).astype("Int64")
    return DriverResults(kpi=kpi, table=table, auc=auc, n=n, n_under_target=n_under, department=str(depts[0]) if len(depts) == 1 else None,
                         note=note, n_splits=n_splits, fold_importance=importance)
