"""Splitting a budget cap to maximize expected net benefit, with diminishing returns (scipy).

Each program's benefit as a function of spend ``x`` is a saturating curve calibrated on history:

    b_p(x) = B_p · (1 − exp(−x / s_p)) / (1 − exp(−C_p / s_p))

so that spending last period's fully loaded cost ``C_p`` returns the measured benefit ``B_p`` (one
value per bootstrap draw of the ROI), and each further yuan returns less; ``s_p`` is the
saturation scale (default: the program's projected budget, the cost of training everyone who needs
it). The optimizer maximizes Σ_p E[b_p(x_p)] − Σ_p x_p subject to Σ_p x_p = cap and per-program
minimum / maximum (SLSQP, from several starting points), and reports the expected benefit and its
5th percentile over the draws (programs' draws paired by draw number; their bootstraps are
independent, so this treats the programs' errors as independent).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from analysis.validation import DataValidationError

__all__ = ["OptimizedAllocation", "check_bounds", "optimize_allocation", "response"]


def response(x: np.ndarray | float, reference_spend: float, saturation: float) -> np.ndarray:
    """Benefit multiplier g(x) = (1 − e^(−x/s)) / (1 − e^(−C/s)); g(C) = 1, g(0) = 0, concave."""
    return (1 - np.exp(-np.asarray(x, dtype=float) / saturation)) / (1 - np.exp(-reference_spend / saturation))


def check_bounds(cap: float, lower: pd.Series, upper: pd.Series) -> None:
    """Refuse a cap the bounds cannot hold, saying by how much.

    Raises
    ------
    DataValidationError
        A minimum above its maximum, a cap below the sum of minimums or above the sum of maximums.
    """
    rows = pd.DataFrame({"minimum": lower, "maximum": upper})
    bad = rows["minimum"] > rows["maximum"]
    if bad.any():
        raise DataValidationError(f"budget bounds: minimum above maximum for {list(rows.index[bad])}:\n{rows[bad].to_string()}",
                                  table="budget_bounds", column="minimum", rows=rows[bad].reset_index())  # fmt: skip
    lo, hi = float(lower.sum()), float(upper.sum())
    from analysis.report import fmt_money

    if cap < lo - 1e-9 * max(1.0, lo):
        raise DataValidationError(
            f"budget cap {fmt_money(cap)} is {fmt_money(lo - cap)} below the sum of the programs' minimums ({fmt_money(lo)}):\n"
            f"{rows.to_string()}", table="budget_bounds", column="minimum", rows=rows.reset_index(),
        )  # fmt: skip
    if cap > hi + 1e-9 * max(1.0, hi):
        raise DataValidationError(
            f"budget cap {fmt_money(cap)} is {fmt_money(cap - hi)} above the sum of the programs' maximums ({fmt_money(hi)}):\n"
            f"{rows.to_string()}", table="budget_bounds", column="maximum", rows=rows.reset_index(),
        )  # fmt: skip


@dataclass
class OptimizedAllocation:
    """The optimizer's split.

    Attributes
    ----------
    table : DataFrame
        program_id, minimum, maximum, amount, expected_benefit, benefit_p05 (per program).
    expected_net_benefit : float
        Σ E[b_p(x_p)] − cap.
    net_benefit_p05 : float
        5th percentile over the draws of the total net benefit.
    expected_benefit : float
    success : bool
    message : str
    """

    table: pd.DataFrame
    cap: float
    expected_benefit: float
    expected_net_benefit: float
    net_benefit_p05: float
    success: bool
    message: str

    @property
    def params(self) -> pd.Series:
        """Amount per program."""
        return self.table.set_index("program_id")["amount"]


def optimize_allocation(
    cap: float,
    benefit_draws: Mapping[str, np.ndarray],
    reference_spend: Mapping[str, float] | pd.Series,
    *,
    saturation: Mapping[str, float] | pd.Series,
    lower: Mapping[str, float] | pd.Series | None = None,
    upper: Mapping[str, float] | pd.Series | None = None,
) -> OptimizedAllocation:
    """Split ``cap`` across programs to maximize expected net benefit (see module docstring).

    Parameters
    ----------
    cap : float
        Budget to split (the amounts sum to it).
    benefit_draws : mapping of str to ndarray
        Measured benefit of each program per bootstrap draw (at ``reference_spend``).
    reference_spend : mapping or Series
        The spend that produced those benefits (fully loaded cost).
    saturation : mapping or Series
        Saturation scale per program (> 0).
    lower, upper : mapping or Series, optional
        Per-program minimum (default 0) and maximum (default the cap).

    Returns
    -------
    OptimizedAllocation

    Raises
    ------
    DataValidationError
        A cap below the sum of minimums (saying by how much) or above the sum of maximums.
    """
    ids = list(benefit_draws)
    C = pd.Series(reference_spend, dtype=float).reindex(ids).to_numpy()
    S = pd.Series(saturation, dtype=float).reindex(ids).to_numpy()
    lo = pd.Series(lower if lower is not None else {}, dtype=float).reindex(ids).fillna(0.0)
    hi = pd.Series(upper if upper is not None else {}, dtype=float).reindex(ids).fillna(float(cap))
    if not (np.all(C > 0) and np.all(S > 0)):
        raise ValueError("reference spend and saturation must be positive for every program")
    check_bounds(float(cap), lo, hi)
    n = min(len(np.asarray(benefit_draws[p])) for p in ids)
    B = np.vstack([np.asarray(benefit_draws[p], dtype=float)[:n] for p in ids])  # programs x draws
    mean_b = B.mean(axis=1)
    k = 1 / (1 - np.exp(-C / S))

    def negative(x: np.ndarray) -> float:
        return -float(np.sum(mean_b * k * (1 - np.exp(-x / S))))

    def gradient(x: np.ndarray) -> np.ndarray:
        return -(mean_b * k * np.exp(-x / S) / S)

    lo_a, hi_a = lo.to_numpy(), hi.to_numpy()
    bounds = list(zip(lo_a, hi_a, strict=True))
    cons = [{"type": "eq", "fun": lambda x: np.sum(x) - cap, "jac": lambda x: np.ones_like(x)}]
    starts = [_fill(lo_a, hi_a, cap, w) for w in (hi_a - lo_a, np.maximum(mean_b, 0) + 1e-12, np.ones_like(lo_a))]
    starts += [_fill(lo_a, hi_a, cap, np.eye(len(ids))[i] + 1e-9) for i in range(len(ids))]
    best = None
    for x0 in starts:
        res = minimize(negative, x0, jac=gradient, bounds=bounds, constraints=cons, method="SLSQP",
                       options={"ftol": 1e-12, "maxiter": 500})  # fmt: skip
        x = np.clip(res.x, lo_a, hi_a)
        if best is None or negative(x) < negative(best[0]) - 1e-9:
            best = (x, res)
    x, res = best  # type: ignore[misc]
    per_draw = B * (k * (1 - np.exp(-x / S)))[:, None]
    total = per_draw.sum(axis=0)
    table = pd.DataFrame({
        "program_id": ids, "minimum": lo_a, "maximum": hi_a, "amount": x, "expected_benefit": per_draw.mean(axis=1),
        "benefit_p05": np.quantile(per_draw, 0.05, axis=1),
    })  # fmt: skip
    exp_b = float(total.mean())
    return OptimizedAllocation(table, float(cap), exp_b, exp_b - float(cap), float(np.quantile(total, 0.05)) - float(cap),
                               bool(res.success), str(res.message))  # fmt: skip


def _fill(lo: np.ndarray, hi: np.ndarray, cap: float, weights: np.ndarray) -> np.ndarray:
    """A feasible start: the minimums, then the rest of the cap by weight without passing a maximum."""
    x = lo.astype(float).copy()
    rest = cap - x.sum()
    w = np.asarray(weights, dtype=float).copy()
    for _ in range(len(x) + 1):
        room = hi - x
        w = np.where(room > 1e-12, np.maximum(w, 0), 0)
        if rest <= 1e-12 or w.sum() <= 0:
            break
        add = np.minimum(room, rest * w / w.sum())
        x += add
        rest -= add.sum()
    if rest > 1e-9:  # weights exhausted: fill any remaining room in order
        for i in range(len(x)):
            add = min(hi[i] - x[i], rest)
            x[i] += add
            rest -= add
    return x
