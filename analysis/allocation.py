"""Splitting a budget cap across programs by rule: seed ``001``'s weighted method and effectiveness adjustment.

(a) **Weighted method.** ``budget_priorities`` gives each program a strategic, a business and an
employee weight (each column: that need's distribution over programs). With importances
``W`` of the three needs (seed ``001``: strategic 40%, business 30%, employee 30%), program
``p``'s share is ``Σ_d W_d w_pd / Σ_q Σ_d W_d w_qd``.

(b) **Effectiveness adjustment.** Programs whose ROI interval lies above zero grow by ``grow``
(seed: lean production ¥300k → ¥400k, +1/3), programs with no measurable effect shrink by
``shrink`` (seed: team building ¥200k → ¥100k, −1/2); the rest keep their amount. With
``keep_total`` (default) the money the shrinking programs give up funds the growth, scaled down
when it is not enough; what is left over stays as an unallocated reserve, so the allocation still
sums to the cap. A program with no measurable effect never gains from the rule.

The optimizer is :mod:`analysis.optimizer`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.validation import DataValidationError

__all__ = ["RESERVE", "SEED_001_WEIGHTS", "effectiveness_adjustment", "weighted_allocation"]

#: Seed 001's importances of the three needs.
SEED_001_WEIGHTS: dict[str, float] = {"strategic": 0.4, "business": 0.3, "employee": 0.3}
RESERVE = "unallocated reserve"
GROW_STATUSES: tuple[str, ...] = ("paid back",)
SHRINK_STATUSES: tuple[str, ...] = ("no measurable effect",)


def weighted_allocation(priorities: pd.DataFrame, cap: float, *, weights: Mapping[str, float] = SEED_001_WEIGHTS) -> pd.DataFrame:
    """Seed 001's weighted split of a cap.

    Parameters
    ----------
    priorities : DataFrame
        program_id, strategic_weight, business_weight, employee_weight (the contract's ``budget_priorities``).
    cap : float
        Budget to split.
    weights : mapping
        Importance of the strategic, business and employee needs.

    Returns
    -------
    DataFrame
        program_id, score, share, amount (amounts sum to the cap).

    Raises
    ------
    DataValidationError
        Missing or negative weights, or every score zero.
    """
    cols = [f"{k}_weight" for k in ("strategic", "business", "employee")]
    missing = [c for c in ["program_id", *cols] if c not in priorities.columns]
    if missing:
        raise DataValidationError(f"budget_priorities: missing column(s) {missing}", table="budget_priorities", column=missing[0])
    for c in cols:
        v = pd.to_numeric(priorities[c], errors="coerce")
        bad = v.isna() | (v < 0)
        if bad.any():
            rows = priorities.loc[bad].head(5).reset_index().rename(columns={"index": "row"})
            raise DataValidationError(f"budget_priorities.{c}: expected a number >= 0, not missing (rows {rows['row'].tolist()}):\n"
                                      f"{rows.to_string(index=False)}", table="budget_priorities", column=c, rows=rows)  # fmt: skip
    score = sum(float(weights.get(k, 0.0)) * pd.to_numeric(priorities[f"{k}_weight"]) for k in ("strategic", "business", "employee"))
    total = float(score.sum())
    if not total > 0:
        raise DataValidationError("budget_priorities: every program's weighted score is zero; no share can be computed",
                                  table="budget_priorities", column="strategic_weight")  # fmt: skip
    out = pd.DataFrame({"program_id": priorities["program_id"].astype(str).to_numpy(), "score": score.to_numpy(float)})
    out["share"] = out["score"] / total
    out["amount"] = out["share"] * float(cap)
    return out


def effectiveness_adjustment(
    base: Mapping[str, float] | pd.Series,
    status: Mapping[str, str] | pd.Series,
    *,
    grow: float = 1 / 3,
    shrink: float = 0.5,
    keep_total: bool = True,
    grow_statuses: Sequence[str] = GROW_STATUSES,
    shrink_statuses: Sequence[str] = SHRINK_STATUSES,
) -> pd.DataFrame:
    """Grow what paid back, shrink what had no measurable effect (seed 001's rule).

    Parameters
    ----------
    base : mapping or Series
        Amount per program before the rule.
    status : mapping or Series
        ROI status per program (:mod:`analysis.roi`); programs without a status keep their amount.
    grow, shrink : float
        Relative growth of programs whose ROI interval lies above zero, and cut of programs with no
        measurable effect (seed 001: +1/3 and −1/2).
    keep_total : bool
        The cuts fund the growth (scaled down when they do not cover it); a surplus is an unallocated
        reserve row, so the rows still sum to the base total. False applies the factors as they are.
    grow_statuses, shrink_statuses : sequence of str

    Returns
    -------
    DataFrame
        program_id, status, base, adjusted, change, rule (one row per program, plus the reserve row
        when there is one).
    """
    if grow < 0 or not 0 <= shrink <= 1:
        raise ValueError(f"grow must be >= 0 and shrink between 0 and 1, got grow={grow}, shrink={shrink}")
    b = pd.Series(base, dtype=float)
    st = pd.Series(status, dtype=object).reindex(b.index)
    up = st.isin(list(grow_statuses)).to_numpy()
    down = st.isin(list(shrink_statuses)).to_numpy()
    adjusted = b.to_numpy().copy()
    adjusted[down] = b.to_numpy()[down] * (1 - shrink)
    freed = float((b.to_numpy()[down] * shrink).sum())
    wanted = float((b.to_numpy()[up] * grow).sum())
    reserve = 0.0
    if keep_total:
        scale = min(1.0, freed / wanted) if wanted > 0 else 0.0
        adjusted[up] = b.to_numpy()[up] * (1 + grow * scale)
        reserve = freed - wanted * scale
    else:
        adjusted[up] = b.to_numpy()[up] * (1 + grow)
    rule = np.where(up, f"ROI interval above zero: +{grow:.0%}" + (" (funded by the cuts)" if keep_total else ""),
                    np.where(down, f"no measurable effect: -{shrink:.0%}", "unchanged"))  # fmt: skip
    out = pd.DataFrame({"program_id": b.index.astype(str), "status": st.fillna("").to_numpy(), "base": b.to_numpy(),
                        "adjusted": adjusted, "rule": rule})  # fmt: skip
    if reserve > 1e-9 * max(1.0, float(b.sum())):
        out = pd.concat([out, pd.DataFrame([{"program_id": RESERVE, "status": "", "base": 0.0, "adjusted": reserve,
                                              "rule": "cuts not needed to fund growth"}])], ignore_index=True)  # fmt: skip
    out["change"] = out["adjusted"] - out["base"]
    return out[["program_id", "status", "base", "adjusted", "change", "rule"]]
