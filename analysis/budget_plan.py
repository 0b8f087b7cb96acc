"""Next year's budget end to end (what notebook 03 shows): projection, the three allocations, scenarios.

:func:`plan_budget` chains :mod:`analysis.budget` (people who need each program × historical
per-capita cost, inflation, scenarios, waterfall, ATD context), :mod:`analysis.allocation`
(seed 001's weighted method, then its effectiveness rule on the measured ROI) and
:mod:`analysis.optimizer` (expected net benefit with diminishing returns) into one
:class:`BudgetPlan`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.allocation import SEED_001_WEIGHTS, effectiveness_adjustment, weighted_allocation
from analysis.budget import (
    BudgetProjection, Demand, Scenario, benchmark_context, last_year_spend, people_in_need, project_budget, scenarios, waterfall,
)  # fmt: skip
from analysis.costs import CostTable
from analysis.optimizer import OptimizedAllocation, optimize_allocation
from analysis.roi import ROIReport

__all__ = ["DEFAULT_SCENARIOS", "BudgetPlan", "missing_inputs", "plan_budget"]

DEFAULT_SCENARIOS: tuple[Scenario, ...] = (Scenario("low", 0.5, 0.0), Scenario("base", 1.0, 0.03), Scenario("high", 1.5, 0.06))


def missing_inputs(dataset: Any) -> dict[str, str | None]:
    """Why the ROI or the budget cannot be computed on a dataset (None when it can).

    ``costs`` and ``headcount_plan`` are optional tables of the contract: without costs there is
    no ROI and no per-capita cost; without a headcount plan there is no projection.

    Returns
    -------
    dict
        ``{"roi": reason or None, "budget": reason or None}``.
    """
    roi = None if dataset.costs is not None and len(dataset.costs) else "the dataset has no costs table, so no cost to set benefits against"
    budget = roi or (None if dataset.headcount_plan is not None and len(dataset.headcount_plan)
                     else "the dataset has no headcount_plan table, so next year's need cannot be projected")  # fmt: skip
    return {"roi": roi, "budget": budget}


@dataclass
class BudgetPlan:
    """Next year's budget.

    Attributes
    ----------
    demand : Demand
    projection : BudgetProjection
        The base projection (people × per-capita cost × (1 + inflation)).
    cap : float
        The budget split by the allocations (default: the base projection).
    allocation : DataFrame
        program_id, status, projected, weighted, effectiveness, optimized, minimum, maximum,
        expected_benefit, benefit_p05.
    optimizer : OptimizedAllocation
    scenarios : DataFrame
    waterfall : DataFrame
    benchmark : dict
    last_year : tuple of (str, float)
    notes : list of str
    """

    demand: Demand
    projection: BudgetProjection
    cap: float
    allocation: pd.DataFrame
    optimizer: OptimizedAllocation | None
    scenarios: pd.DataFrame
    waterfall: pd.DataFrame
    benchmark: dict[str, Any]
    last_year: tuple[str, float]
    notes: list[str] = field(default_factory=list)
    grow: float = 1 / 3
    shrink: float = 0.5

    @property
    def by_program_unit(self) -> pd.DataFrame:
        """The projection by program × unit (export ``budget_by_program_unit``)."""
        cols = ["program_id", "unit", "current_need", "planned_hires", "planned_exits", "hires_needing", "exits_needing", "people",
                "per_capita", "inflation", "amount"]  # fmt: skip
        return self.projection.table.reindex(columns=cols)

    @property
    def sentence(self) -> str:
        """The budget finding in words."""
        from analysis.report import fmt_money

        s = self.scenarios.set_index("scenario")["budget"]
        year, spend = self.last_year
        people = float(self.projection.table["people"].sum())
        infl = self.projection.inflation
        text = (f"Next year's training budget: {fmt_money(self.projection.total)} for about {people:,.0f} people who need a program "
                f"(historical fully loaded cost per participant, +{infl:.0%} cost inflation), against {fmt_money(spend)} spent in {year}")  # fmt: skip
        if {"low", "high"} <= set(s.index):
            text += f"; {fmt_money(s['low'])} to {fmt_money(s['high'])} across the low and high headcount and inflation scenarios"
        return text + "."

    @property
    def waterfall_title(self) -> str:
        """Finding-style title of the waterfall: direction and the largest step."""
        from analysis.report import fmt_money

        w = self.waterfall
        start, end = float(w["amount"].iloc[0]), float(w["amount"].iloc[-1])
        changes = w[w["kind"] == "change"]
        big = changes.loc[changes["amount"].abs().idxmax()] if len(changes) else None
        verb = "rises" if end > start else "falls" if end < start else "stays"
        text = f"Budget {verb} from {fmt_money(start)} ({self.last_year[0]}) to {fmt_money(end)}"
        return text + (f"; the largest step: {big['step'].lower()}" if big is not None else "")

    @property
    def fan_title(self) -> str:
        """Finding-style title of the scenario fan."""
        from analysis.report import fmt_money

        s = self.scenarios.set_index("scenario")["budget"]
        return f"Next year's budget: {fmt_money(s.min())} to {fmt_money(s.max())} across headcount and inflation scenarios"

    @property
    def allocation_sentence(self) -> str:
        """Where the money goes under the effectiveness rule and the optimizer, in words."""
        from analysis.report import fmt_money

        a = self.allocation.set_index("program_id")
        grew = [p for p in a.index if a.at[p, "effectiveness"] > a.at[p, "weighted"] + 0.5]
        cut = [p for p in a.index if a.at[p, "effectiveness"] < a.at[p, "weighted"] - 0.5]
        parts = []
        if grew:
            parts.append("grows " + ", ".join(f"{p} ({fmt_money(a.at[p, 'weighted'])} → {fmt_money(a.at[p, 'effectiveness'])})" for p in grew))
        if cut:
            parts.append("shrinks " + ", ".join(f"{p} ({fmt_money(a.at[p, 'weighted'])} → {fmt_money(a.at[p, 'effectiveness'])})" for p in cut))
        rule = ("The effectiveness rule (programs that paid back +{:.0%}, no measurable effect −{:.0%}) ".format(self.grow, self.shrink)
                + ("; ".join(parts) if parts else "changes nothing") + " of the weighted split.")  # fmt: skip
        if self.optimizer is not None:
            o = self.optimizer
            rule += (f" The optimizer's split of {fmt_money(self.cap)} expects {fmt_money(o.expected_net_benefit)} net benefit "
                     f"(5th percentile {fmt_money(o.net_benefit_p05)}).")  # fmt: skip
        return rule


def plan_budget(
    dataset: Any,
    costs: CostTable,
    roi: ROIReport,
    *,
    needs: pd.DataFrame | None = None,
    inflation: float = 0.03,
    cap: float | None = None,
    weights: Mapping[str, float] = SEED_001_WEIGHTS,
    grow: float = 1 / 3,
    shrink: float = 0.5,
    onboarding: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
    hires_at_need_rate: bool = True,
    min_factor: float = 0.5,
    max_factor: float = 1.5,
    cases: Sequence[Scenario] = DEFAULT_SCENARIOS,
    usd_to_local: float = 7.1,
    year: int | None = None,
) -> BudgetPlan:
    """Project next year's budget and split it three ways.

    Parameters
    ----------
    dataset : analysis.data.Dataset
        employees, programs, enrollments, costs, headcount_plan (+ budget_priorities).
    costs : CostTable
        Fully loaded historical costs (per-capita cost = total ÷ participants).
    roi : ROIReport
        Measured ROI (statuses for the effectiveness rule, benefit draws for the optimizer).
    needs : DataFrame, optional
        Notebook 01's ``needs_by_program_group`` (else the historical-participants fallback).
    inflation : float
        Cost inflation of the base projection.
    cap : float, optional
        Budget to allocate (default: the base projection).
    weights : mapping
        Importance of the strategic / business / employee needs (seed 001: 40 / 30 / 30).
    grow, shrink : float
        Effectiveness rule (seed 001: +1/3, −1/2).
    onboarding, hires_at_need_rate
        See :func:`analysis.budget.people_in_need`.
    min_factor, max_factor : float
        Optimizer bounds per program, as multiples of its projected amount.
    cases : sequence of Scenario
        Headcount (planned hires ×) and inflation scenarios.
    usd_to_local : float
        Exchange rate for the ATD context line.
    year : int, optional
        Plan year (default the headcount plan's latest).

    Returns
    -------
    BudgetPlan
    """
    from analysis.validation import DataValidationError

    if dataset.headcount_plan is None:
        raise DataValidationError("headcount_plan: the budget needs the headcount plan table", table="headcount_plan")
    programs, plan_table, employees = dataset.programs, dataset.headcount_plan, dataset.employees

    def demand_at(factor: float) -> Demand:
        return people_in_need(programs, plan_table, employees, needs=needs, enrollments=dataset.enrollments, onboarding=onboarding,
                              hires_at_need_rate=hires_at_need_rate, year=year, hires_factor=factor)  # fmt: skip

    demand = demand_at(1.0)
    per_capita = costs.per_participant
    projection = project_budget(demand, per_capita, inflation=inflation)
    cap = float(projection.total if cap is None else cap)
    proj = projection.by_program.set_index("program_id")["amount"]
    ids = [str(p) for p in programs["program_id"] if str(p) in proj.index]
    proj = proj.reindex(ids)
    notes = list(demand.notes)
    pri = dataset.budget_priorities
    if pri is not None and len(pri):
        pri = pri[pri["program_id"].astype(str).isin(ids)]
        weighted = weighted_allocation(pri, cap, weights=weights).set_index("program_id")["amount"].reindex(ids).fillna(0.0)
        notes.append("Weighted split: " + ", ".join(f"{k} {v:.0%}" for k, v in weights.items()) + " importance of the strategic, business "
                     "and employee needs (seed 001), applied to budget_priorities.")  # fmt: skip
    else:
        weighted = proj / proj.sum() * cap
        notes.append("No budget_priorities table: the weighted split follows each program's share of the projection.")
    status = {pid: r.status for pid, r in roi.results.items()}
    eff = effectiveness_adjustment(weighted, status, grow=grow, shrink=shrink)
    eff_amount = eff.set_index("program_id")["adjusted"]
    # optimizer: programs with an ROI distribution move within their bounds; the others keep their projected amount
    draws, ref, sat, lo, hi = {}, {}, {}, {}, {}
    for pid in ids:
        r = roi.results.get(pid)
        amount = float(proj[pid])
        if r is not None and len(r.draws) and amount > 0:
            draws[pid], ref[pid], sat[pid] = r.draws["benefit"].to_numpy(float), r.cost, amount
            lo[pid], hi[pid] = min_factor * amount, max_factor * amount
        else:
            draws[pid], ref[pid], sat[pid] = np.zeros(1), 1.0, 1.0
            lo[pid] = hi[pid] = amount
    n_draws = max((len(d) for d in draws.values()), default=1)
    draws = {p: (d if len(d) == n_draws else np.resize(d, n_draws)) for p, d in draws.items()}
    optimizer = optimize_allocation(cap, draws, ref, saturation=sat, lower=lo, upper=hi) if ids else None
    notes.append(f"Optimizer: each measured program between {min_factor:.0%} and {max_factor:.0%} of its projected amount; "
                 "returns diminish past the projected amount (saturation scale); programs without an ROI keep their projected amount.")  # fmt: skip
    opt = optimizer.table.set_index("program_id") if optimizer is not None else pd.DataFrame(index=ids)
    allocation = pd.DataFrame({
        "program_id": ids, "status": [status.get(p, "not measured") for p in ids], "projected": proj.to_numpy(),
        "weighted": weighted.reindex(ids).to_numpy(), "effectiveness": eff_amount.reindex(ids).to_numpy(),
        "optimized": opt["amount"].reindex(ids).to_numpy() if "amount" in opt else np.nan,
        "minimum": opt["minimum"].reindex(ids).to_numpy() if "minimum" in opt else np.nan,
        "maximum": opt["maximum"].reindex(ids).to_numpy() if "maximum" in opt else np.nan,
        "expected_benefit": opt["expected_benefit"].reindex(ids).to_numpy() if "expected_benefit" in opt else np.nan,
        "benefit_p05": opt["benefit_p05"].reindex(ids).to_numpy() if "benefit_p05" in opt else np.nan,
    })  # fmt: skip
    reserve = eff[~eff["program_id"].isin(ids)]
    if len(reserve):
        allocation = pd.concat([allocation, pd.DataFrame({"program_id": reserve["program_id"], "status": "", "projected": 0.0, "weighted": 0.0,
                                                          "effectiveness": reserve["adjusted"], "optimized": 0.0})], ignore_index=True)  # fmt: skip
    plan_year = demand.year
    plan_rows = plan_table[plan_table["year"] == plan_year]

    def headcount(factor: float) -> float:
        return float((plan_rows["current_headcount"] + factor * plan_rows["planned_hires"] - plan_rows["planned_exits"]).sum())

    scen = scenarios(demand_at, per_capita, headcount, cases)
    year_spent = last_year_spend(dataset.costs)
    steps = waterfall(year_spent[1], demand, per_capita, inflation=inflation, adjusted_total=cap if abs(cap - projection.total) > 0.5 else None)
    if abs(cap - projection.total) > 0.5:
        steps.loc[steps["step"] == "Effectiveness adjustment", "step"] = "Budget cap (parameter)"
    hours_by = programs.assign(program_id=programs["program_id"].astype(str)).set_index("program_id")["duration_hours"]
    hours = float((projection.table["people"] * projection.table["program_id"].astype(str).map(hours_by)).sum())
    bench = benchmark_context(projection.total, headcount(1.0), hours, usd_to_local=usd_to_local)
    return BudgetPlan(demand, projection, cap, allocation, optimizer, scen, steps, bench, year_spent, notes, grow, shrink)
