"""Next year's training budget: per-capita cost from history, people who need each program, scenarios.

Seed ``001``'s method: the historical fully loaded cost per participant of each program × the
people who will need it next year — current staff who need it (the gap notebook's needs list
where it exists), planned hires for onboarding programs, minus planned exits — with cost
inflation a parameter. Its worked example: 50 new store managers × ¥3,000 + 100 new sales
associates × ¥1,500 + 400 current staff × ¥2,000 = ¥1,100,000 (``tests/test_budget.py``).

Allocating a cap across programs is :mod:`analysis.allocation` (weighted and effectiveness rules)
and :mod:`analysis.optimizer` (scipy).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.costs import CostTable, offending_rows
from analysis.validation import DataValidationError

__all__ = [
    "ATD_BENCHMARK", "BudgetProjection", "Demand", "Scenario", "benchmark_context", "people_in_need", "project_budget",
    "scenarios", "waterfall",
]  # fmt: skip

#: ATD 2025 State of the Industry (2024 data): direct learning expenditure and formal learning hours per employee.
ATD_BENCHMARK = {
    "spend_usd": 1054.0,
    "hours": 13.7,
    "source": "ATD (Association for Talent Development), 2025 State of the Industry report, 2024 data: "
              "US$1,054 direct learning expenditure and 13.7 formal learning hours per employee",
}  # fmt: skip


@dataclass
class Demand:
    """People who need each program next year, by plan unit.

    Attributes
    ----------
    table : DataFrame
        program_id, unit, current_need, planned_hires, planned_exits, hires_needing, exits_needing, people.
    source : str
        Where current staff's need came from, in words.
    year : int
        The plan year.
    notes : list of str
    """

    table: pd.DataFrame
    source: str
    year: int
    notes: list[str] = field(default_factory=list)


def _check_units(plan: pd.DataFrame, employees: pd.DataFrame) -> None:
    known = set(employees["department"].astype(str)) | set(employees["role"].astype(str))
    bad = ~plan["unit"].astype(str).isin(known)
    if bad.any():
        rows = offending_rows(plan, bad)
        raise DataValidationError(
            f"headcount_plan.unit: {int(bad.sum())} row(s) plan a unit that is neither a department nor a role of the "
            f"employees table ({sorted(plan.loc[bad, 'unit'].astype(str).unique())}; rows {rows['row'].tolist()}):\n"
            f"{rows.to_string(index=False)}",
            table="headcount_plan", column="unit", rows=rows,
        )  # fmt: skip


def people_in_need(
    programs: pd.DataFrame,
    headcount_plan: pd.DataFrame,
    employees: pd.DataFrame,
    *,
    needs: pd.DataFrame | None = None,
    enrollments: pd.DataFrame | None = None,
    onboarding: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
    hires_at_need_rate: bool = True,
    year: int | None = None,
    hires_factor: float = 1.0,
) -> Demand:
    """How many people need each program next year, by unit of the headcount plan.

    Parameters
    ----------
    programs : DataFrame
        program_id, category.
    headcount_plan : DataFrame
        unit, year, current_headcount, planned_hires, planned_exits (unit = a department or a role).
    employees : DataFrame
        department, role (to check the plan's units and place participants).
    needs : DataFrame, optional
        Notebook 01's ``needs_by_program_group``: program_id, department, role, eligible (current
        staff whose gap in the program's competency exceeds the threshold). When absent the fallback is
        the program's historical participants per year, by unit (from ``enrollments``).
    enrollments : DataFrame, optional
        employee_id, program_id, start_date (the fallback).
    onboarding : sequence of str or mapping, optional
        Onboarding programs: every planned hire of their units needs them. A mapping names each one's
        units (program_id -> units); a list takes the units of the needs list / of past participants.
        Default: programs whose category is ``onboarding``.
    hires_at_need_rate : bool
        For other programs, planned hires need a program as often as the unit's current staff do
        (``current_need / current_headcount``); False counts no hire for them.
    year : int, optional
        Plan year (default the latest in the plan).
    hires_factor : float
        Multiplies planned hires (headcount scenarios).

    Returns
    -------
    Demand
        ``people = current_need − exits_needing + hires_needing`` where ``exits_needing`` = planned exits
        × the unit's share of current staff who need the program (leavers are no longer trained).

    Raises
    ------
    DataValidationError
        A plan unit that is neither a department nor a role; no needs list and no enrollments.
    """
    plan = headcount_plan.copy()
    plan["unit"] = plan["unit"].astype(str)
    _check_units(plan, employees)
    year = int(plan["year"].max()) if year is None else int(year)
    plan = plan[plan["year"] == year].set_index("unit")
    progs = programs.assign(program_id=programs["program_id"].astype(str))
    if onboarding is None:
        onboarding = progs.loc[progs["category"].astype(str).str.lower() == "onboarding", "program_id"].tolist()
    onboarding_units = {str(p): [str(u) for u in us] for p, us in onboarding.items()} if isinstance(onboarding, Mapping) else {}
    onboarding = [str(p) for p in onboarding]
    units = set(plan.index)

    def unit_of(department: str, role: str) -> str:
        if department in units:
            return department
        if role in units:
            return role
        return department

    notes: list[str] = []
    if needs is not None:
        n = needs.assign(program_id=needs["program_id"].astype(str))
        hidden = pd.to_numeric(n["eligible"], errors="coerce").isna()
        if hidden.any():
            notes.append(f"{int(hidden.sum())} program × department × role group(s) of the needs list are suppressed (fewer people than "
                         "the minimum group size) and count no one.")  # fmt: skip
        n["eligible"] = pd.to_numeric(n["eligible"], errors="coerce").fillna(0.0)
        if "unknown" in n.columns:
            n["unknown"] = pd.to_numeric(n["unknown"], errors="coerce").fillna(0.0)
        n["unit"] = [unit_of(str(d), str(r)) for d, r in zip(n["department"], n["role"], strict=True)]
        current = n.groupby(["program_id", "unit"])["eligible"].sum()
        source = "current staff from notebook 01's needs list (people whose gap in the program's target competency exceeds the threshold)"
        if "unknown" in n.columns and n["unknown"].sum() > 0:
            notes.append(f"{int(n['unknown'].sum()):,} staff were never assessed in a program's competency; they are not counted as needing it.")
    else:
        if enrollments is None or len(enrollments) == 0:
            raise DataValidationError("enrollments: no needs list and no enrollments to estimate who needs each program",
                                      table="enrollments", column="program_id")  # fmt: skip
        emp = employees.assign(employee_id=employees["employee_id"].astype(str)).set_index("employee_id")
        e = enrollments.assign(employee_id=enrollments["employee_id"].astype(str), program_id=enrollments["program_id"].astype(str))
        e = e.drop_duplicates(["employee_id", "program_id"])
        e["unit"] = [unit_of(str(emp.at[i, "department"]), str(emp.at[i, "role"])) for i in e["employee_id"]]
        e["year"] = pd.to_datetime(e["start_date"]).dt.year
        years = e.groupby("program_id")["year"].nunique()
        counts = e.groupby(["program_id", "unit"]).size()
        current = counts / counts.index.get_level_values(0).map(years).to_numpy()
        source = ("fallback — no needs list from notebook 01: each program's historical participants per year "
                  "(distinct people who started it ÷ calendar years with starts), by unit")  # fmt: skip
    rows = []
    for pid in progs["program_id"]:
        cur = current[current.index.get_level_values(0) == pid] if len(current) else current
        unit_list = list(cur.index.get_level_values(1)) if len(cur) else []
        unit_list += [u for u in onboarding_units.get(pid, []) if u not in unit_list]
        for unit in unit_list:
            need = float(cur.get((pid, unit), 0.0))
            in_plan = unit in plan.index
            head = float(plan.at[unit, "current_headcount"]) if in_plan else np.nan
            hires = float(plan.at[unit, "planned_hires"]) * hires_factor if in_plan else 0.0
            exits = float(plan.at[unit, "planned_exits"]) if in_plan else 0.0
            share = min(1.0, need / head) if in_plan and head > 0 else 0.0
            hires_need = hires if pid in onboarding else (hires * share if hires_at_need_rate else 0.0)
            exits_need = exits * share
            rows.append((pid, unit, need, hires, exits, hires_need, exits_need, need - exits_need + hires_need))
    cols = ["program_id", "unit", "current_need", "planned_hires", "planned_exits", "hires_needing", "exits_needing", "people"]
    table = pd.DataFrame(rows, columns=cols)
    off_plan = sorted(set(table["unit"]) - units) if len(table) else []
    if off_plan:
        notes.append(f"Units without a headcount plan (current staff only): {', '.join(off_plan)}.")
    if onboarding:
        notes.append(f"Onboarding programs (every planned hire needs them): {', '.join(onboarding)}.")
    else:
        notes.append("No onboarding program in the catalogue" + (
            "; planned hires need a program as often as their unit's current staff do." if hires_at_need_rate else "; planned hires add no need."))
    notes.append("Planned exits remove the leavers' share of the need (exits × the share of the unit's staff who need the program).")
    return Demand(table, source, year, notes)


@dataclass
class BudgetProjection:
    """Next year's budget by program × unit.

    Attributes
    ----------
    table : DataFrame
        program_id, unit, people, per_capita, inflation, amount.
    by_program : DataFrame
        program_id, people, per_capita, amount.
    total : float
    inflation : float
    """

    table: pd.DataFrame
    inflation: float
    demand: Demand | None = None

    @property
    def by_program(self) -> pd.DataFrame:
        """Amount and people per program."""
        g = self.table.groupby("program_id", sort=True)
        out = pd.DataFrame({"people": g["people"].sum(), "amount": g["amount"].sum()})
        out["per_capita"] = g["per_capita"].first()
        return out.reset_index()[["program_id", "people", "per_capita", "amount"]]

    @property
    def total(self) -> float:
        """The budget."""
        return float(self.table["amount"].sum())


def project_budget(demand: Demand | pd.DataFrame, per_capita: Mapping[str, float] | pd.Series, *, inflation: float = 0.0) -> BudgetProjection:
    """Budget = Σ people who need a program × its historical per-capita cost × (1 + inflation).

    Parameters
    ----------
    demand : Demand or DataFrame
        program_id, unit, people (one row per program × unit; any further columns kept).
    per_capita : mapping or Series
        Fully loaded cost per participant by program (:attr:`analysis.costs.CostTable.per_participant`).
    inflation : float
        Cost inflation for the plan year (0.03 = +3%).

    Returns
    -------
    BudgetProjection

    Raises
    ------
    DataValidationError
        A program in the demand without a per-capita cost (no cost history).
    """
    table = (demand.table if isinstance(demand, Demand) else demand).copy()
    pc = pd.Series(per_capita, dtype=float)
    table["per_capita"] = table["program_id"].astype(str).map(pc)
    missing = table["per_capita"].isna()
    if missing.any():
        rows = offending_rows(table, missing)
        raise DataValidationError(
            f"costs: no cost history, hence no per-capita cost, for program(s) {sorted(table.loc[missing, 'program_id'].unique())} "
            f"that people need next year:\n{rows.to_string(index=False)}",
            table="costs", column="program_id", rows=rows,
        )  # fmt: skip
    table["inflation"] = float(inflation)
    table["amount"] = table["people"] * table["per_capita"] * (1.0 + float(inflation))
    return BudgetProjection(table, float(inflation), demand if isinstance(demand, Demand) else None)


@dataclass
class Scenario:
    """One budget scenario: a headcount factor on planned hires and a cost inflation."""

    name: str
    hires_factor: float
    inflation: float


def scenarios(
    make_demand: Callable[[float], Demand], per_capita: Mapping[str, float] | pd.Series, plan_headcount: Callable[[float], float],
    cases: Sequence[Scenario],
) -> pd.DataFrame:
    """Budget under low / base / high headcount and cost inflation.

    Parameters
    ----------
    make_demand : callable
        ``make_demand(hires_factor) -> Demand`` (e.g. a :func:`people_in_need` partial).
    per_capita : mapping or Series
    plan_headcount : callable
        ``plan_headcount(hires_factor) -> float``: employees at the plan year's end (for per-employee spend).
    cases : sequence of Scenario

    Returns
    -------
    DataFrame
        scenario, hires_factor, inflation, people, budget, headcount, per_employee.
    """
    rows = []
    for case in cases:
        proj = project_budget(make_demand(case.hires_factor), per_capita, inflation=case.inflation)
        head = float(plan_headcount(case.hires_factor))
        rows.append((case.name, case.hires_factor, case.inflation, float(proj.table["people"].sum()), proj.total, head,
                     proj.total / head if head > 0 else np.nan))  # fmt: skip
    return pd.DataFrame(rows, columns=["scenario", "hires_factor", "inflation", "people", "budget", "headcount", "per_employee"])


def waterfall(last_year_spend: float, demand: Demand, per_capita: Mapping[str, float] | pd.Series, *, inflation: float,
              adjusted_total: float | None = None) -> pd.DataFrame:  # fmt: skip
    """From last year's spend to next year's budget, step by step (the steps add up exactly).

    Steps: last year's spend; current staff who need training (at historical per-capita cost) minus
    last year's spend; planned hires; planned exits; cost inflation; the effectiveness adjustment
    (``adjusted_total`` − projected, when given); next year's budget.

    Returns
    -------
    DataFrame
        step, amount (the change, or the level for the first and last rows), kind ("level" / "change").
    """
    t = demand.table
    pc = t["program_id"].astype(str).map(pd.Series(per_capita, dtype=float))
    current = float((t["current_need"] * pc).sum())
    hires = float((t["hires_needing"] * pc).sum())
    exits = float((t["exits_needing"] * pc).sum())
    base = current + hires - exits
    infl = base * float(inflation)
    projected = base + infl
    rows = [
        ("Last year's spend", last_year_spend, "level"),
        ("Current staff who need training", current - last_year_spend, "change"),
        ("Planned hires", hires, "change"),
        ("Planned exits", -exits, "change"),
        (f"Cost inflation ({inflation:.0%})", infl, "change"),
    ]
    end = projected
    if adjusted_total is not None:
        rows.append(("Effectiveness adjustment", float(adjusted_total) - projected, "change"))
        end = float(adjusted_total)
    rows.append(("Next year's budget", end, "level"))
    return pd.DataFrame(rows, columns=["step", "amount", "kind"])


def benchmark_context(budget: float, headcount: float, hours: float, *, usd_to_local: float, currency: str = "¥") -> dict[str, float | str]:
    """Per-employee spend and formal learning hours beside the ATD State of the Industry benchmark.

    Parameters
    ----------
    budget : float
        Next year's budget (local currency).
    headcount : float
        Employees in the plan year.
    hours : float
        Formal learning hours the budget buys (people × program duration).
    usd_to_local : float
        Exchange rate used to state the benchmark in local currency (a parameter, stated).

    Returns
    -------
    dict
        per_employee, hours_per_employee, atd_per_employee_local, atd_hours, source, sentence.
    """
    from analysis.report import fmt_money

    per = budget / headcount if headcount > 0 else np.nan
    hpe = hours / headcount if headcount > 0 else np.nan
    atd_local = ATD_BENCHMARK["spend_usd"] * usd_to_local
    sentence = (f"Next year's plan spends {fmt_money(per, currency)} and {hpe:.1f} formal learning hours per employee; for context, "
                f"ATD's State of the Industry (2024 data) reports US$1,054 (about {fmt_money(atd_local, currency)} at "
                f"{usd_to_local:g} per US$) and 13.7 hours per employee — US organizations, so a reference line, not a target.")  # fmt: skip
    return {"per_employee": per, "hours_per_employee": hpe, "atd_per_employee_local": atd_local, "atd_hours": ATD_BENCHMARK["hours"],
            "source": ATD_BENCHMARK["source"], "sentence": sentence}  # fmt: skip


def last_year_spend(costs: pd.DataFrame) -> tuple[str, float]:
    """The latest calendar year of the cost records and its total spend."""
    c = costs.assign(year=costs["period"].astype(str).str[:4])
    year = c["year"].max()
    return str(year), float(pd.to_numeric(c.loc[c["year"] == year, "amount"]).sum())


def per_capita_cost(costs: CostTable) -> pd.DataFrame:
    """Historical fully loaded cost per participant: program_id, cost_total, participants, per_capita."""
    t = costs.table
    return pd.DataFrame({"program_id": t.index, "cost_total": t["total"].to_numpy(), "participants": t["participants"].to_numpy(),
                         "per_capita": t["per_participant"].to_numpy()})  # fmt: skip
