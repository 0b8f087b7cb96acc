"""Where a competency gap concentrates, as readable rules from a shallow decision tree.

A classification tree (depth at most 3, leaves of at least ``min_group_size`` people) splits
the people whose role requires a competency by tenure, region, department and grade; each
leaf becomes a sentence — "71% of staff with more than 3.0 years' tenure in North or South are
below the required level in needs discovery (n = 212), against 58% overall" — with its size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.gaps.levels import GapResults
from analysis.gaps.truth import label

__all__ = ["MAX_DEPTH", "SegmentResults", "gap_segments"]

MAX_DEPTH = 3
CATEGORICAL = ("region", "department", "grade")


@dataclass
class SegmentResults:
    """Rules for where one competency's gap concentrates (from :func:`gap_segments`).

    Attributes
    ----------
    competency : str
    rules : DataFrame
        One row per leaf, highest share first: rule (the conditions in words), sentence, n,
        n_below, share_below_required, mean_gap, lift (share / overall share).
    overall_share : float
        Share below required among everyone assessed.
    n : int
        People assessed in the competency.
    depth : int
        Depth of the fitted tree.
    """

    competency: str
    rules: pd.DataFrame
    overall_share: float
    n: int
    depth: int

    @property
    def summary(self) -> str:
        """The most concentrated segment in one sentence (or why there is none)."""
        if self.rules.empty:
            return f"No segment of at least the minimum size stands out for {label(self.competency)}."
        if len(self.rules) == 1:
            return (f"The {label(self.competency)} gap is spread evenly: no split by tenure, region, department or grade "
                    f"separates groups ({self.overall_share:.0%} below the required level overall, n = {self.n:,}).")
        return str(self.rules["sentence"].iloc[0])


def _conditions(tree, feature_names: list[str], cats: dict[str, list[str]]) -> list[tuple[list[tuple[str, str, object]], int]]:
    """Paths to every leaf: list of (feature, op, value) and the leaf id."""
    t = tree.tree_
    out = []

    def walk(node: int, path: list[tuple[str, str, object]]) -> None:
        if t.children_left[node] == -1:
            out.append((path, node))
            return
        name = feature_names[t.feature[node]]
        thr = float(t.threshold[node])
        walk(t.children_left[node], [*path, (name, "<=", thr)])
        walk(t.children_right[node], [*path, (name, ">", thr)])

    walk(0, [])
    return out


def _words(path: list[tuple[str, str, object]], cats: dict[str, list[str]], tenure_col: str) -> str:
    """Merge a leaf's conditions into words ("with more than 3.0 years' tenure in North or South"): tenure as an
    interval, each category as the levels left ("in A or B") or, when fewer, the levels left out ("outside C")."""
    lo, hi = -np.inf, np.inf
    allowed = {k: set(v) for k, v in cats.items()}
    for name, op, thr in path:
        if name == tenure_col:
            if op == "<=":
                hi = min(hi, float(thr))
            else:
                lo = max(lo, float(thr))
            continue
        var, level = name.split("=", 1)
        # one-hot column: <= 0.5 means "is not level", > 0.5 means "is level"
        allowed[var] = allowed[var] - {level} if op == "<=" else allowed[var] & {level}
    parts = []
    if np.isfinite(lo) and np.isfinite(hi):
        parts.append(f"with {lo:.1f}-{hi:.1f} years' tenure")
    elif np.isfinite(lo):
        parts.append(f"with more than {lo:.1f} years' tenure")
    elif np.isfinite(hi):
        parts.append(f"with at most {hi:.1f} years' tenure")
    for var, levels in allowed.items():
        if levels == set(cats[var]):
            continue
        left_out = set(cats[var]) - levels
        prefix = "grade " if var == "grade" else ""
        if len(left_out) < len(levels):
            parts.append(f"outside {prefix}{' and '.join(sorted(map(str, left_out)))}")
        else:
            parts.append(f"in {prefix}{' or '.join(sorted(map(str, levels)))}")
    return " ".join(parts) if parts else "everyone"


def _pruned_tree(X: pd.DataFrame, y: np.ndarray, *, max_depth: int, min_leaf: int, seed: int):
    """The tree pruned by cost complexity, the pruning strength chosen by 5-fold cross-validated Brier score.

    Ties go to the stronger pruning (the simpler tree), so a split that does not predict better
    on held-out people is not shown.
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.tree import DecisionTreeClassifier

    base = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=min_leaf, random_state=seed)
    if len(np.unique(y)) < 2 or min(y.sum(), (~y).sum()) < 5:
        return DecisionTreeClassifier(max_depth=1, min_samples_leaf=len(y), random_state=seed).fit(X, y)
    alphas = np.unique(base.cost_complexity_pruning_path(X, y).ccp_alphas)
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    scores = [cross_val_score(base.set_params(ccp_alpha=a), X, y, cv=cv, scoring="neg_brier_score").mean() for a in alphas]
    best = max(range(len(alphas)), key=lambda i: (round(scores[i], 6), alphas[i]))
    return base.set_params(ccp_alpha=float(alphas[best])).fit(X, y)


def gap_segments(gaps: GapResults, competency: str, *, max_depth: int = MAX_DEPTH, min_group_size: int = 5,
                 grades: pd.Series | None = None, seed: int = 7) -> SegmentResults:
    """Where people below the required level in ``competency`` concentrate, as rules with group sizes.

    Parameters
    ----------
    gaps : GapResults
        From :func:`analysis.gaps.competency_gaps`.
    competency : str
    max_depth : int
        Depth of the tree (at most 3, so every rule stays readable).
    min_group_size : int
        Smallest leaf (and never below 5% of the people), so no rule describes a handful.
    grades : Series, optional
        Grade per employee_id (``employees.grade``), used as a split when given.
    seed : int

    Returns
    -------
    SegmentResults

    Notes
    -----
    A CART tree (Breiman et al. 1984, scikit-learn's ``DecisionTreeClassifier``) on the
    outcome "below the required level", pruned by minimal cost complexity with the strength
    chosen by 5-fold cross-validation (Brier score): a split that does not hold on held-out
    people is cut, so a gap spread evenly gives a single rule ("everyone"). Description, not
    explanation.
    """
    if not 1 <= max_depth <= MAX_DEPTH:
        raise ValueError(f"max_depth must be 1..{MAX_DEPTH} (readable rules), got {max_depth}")
    be = gaps.by_employee
    rows = be[(be["competency"] == competency) & (be["status"] != "unknown")]
    if rows.empty:
        raise ValueError(f"gap_segments: nobody is assessed in a required competency {competency!r}")
    idx = gaps.employee_index.set_index("employee_id")
    df = rows[["employee_id", "department", "region", "gap", "status"]].copy()
    df["tenure_years"] = idx.loc[df["employee_id"], "tenure_years"].to_numpy()
    if grades is not None:
        df["grade"] = df["employee_id"].map(grades).astype("string").fillna("unknown").astype(str)
    cats = {c: sorted(df[c].astype(str).unique()) for c in CATEGORICAL if c in df.columns and df[c].nunique() > 1}
    X = pd.concat([df[["tenure_years"]].reset_index(drop=True)]
                  + [pd.get_dummies(df[c].astype(str), prefix=c, prefix_sep="=").astype(float).reset_index(drop=True) for c in cats], axis=1)
    y = (df["status"] == "gap").to_numpy()
    n = len(y)
    leaf = max(int(min_group_size), int(np.ceil(0.05 * n)))
    tree = _pruned_tree(X, y, max_depth=max_depth, min_leaf=leaf, seed=seed)
    leaves = tree.apply(X)
    overall = float(y.mean())
    out = []
    for path, node in _conditions(tree, list(X.columns), cats):
        mask = leaves == node
        k = int(mask.sum())
        share = float(y[mask].mean())
        rule = _words(path, cats, "tenure_years")
        who = "all staff" if rule == "everyone" else f"staff {rule}"
        out.append({"rule": rule, "sentence": f"{share:.0%} of {who} are below the required level in {label(competency)} "
                                              f"(n = {k:,}), against {overall:.0%} overall",
                    "n": k, "n_below": int(y[mask].sum()), "share_below_required": share,
                    "mean_gap": float(df["gap"].to_numpy()[mask].mean()), "lift": share / overall if overall > 0 else np.nan})
    rules = pd.DataFrame(out).sort_values(["share_below_required", "n"], ascending=False, kind="stable").reset_index(drop=True)
    return SegmentResults(competency=competency, rules=rules, overall_share=overall, n=n, depth=int(tree.get_depth()))
