"""Budget: seed 001's projection and allocation rules, the optimizer against brute force, properties, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.allocation import RESERVE, effectiveness_adjustment, weighted_allocation
from analysis.budget import Scenario, benchmark_context, people_in_need, project_budget, scenarios, waterfall
from analysis.optimizer import optimize_allocation, response
from analysis.validation import DataValidationError

EMPLOYEES = pd.DataFrame({"employee_id": ["A1", "A2", "A3"], "department": ["Retail"] * 3,
                          "role": ["Store Manager", "Sales Associate", "Sales Associate"]})  # fmt: skip
SEED_PLAN = pd.DataFrame({"unit": ["Store Manager", "Sales Associate"], "year": [2026, 2026], "current_headcount": [40, 360],
                          "planned_hires": [50, 100], "planned_exits": [0, 0]})  # fmt: skip
SEED_PROGRAMS = pd.DataFrame({"program_id": ["MGR", "SALES", "REG"], "category": ["leadership", "sales", "general"]})
SEED_NEEDS = pd.DataFrame(
    [("MGR", "Retail", "Store Manager", 0, 0, 1.0), ("SALES", "Retail", "Sales Associate", 0, 0, 1.0),
     ("REG", "Retail", "Store Manager", 40, 0, 1.0), ("REG", "Retail", "Sales Associate", 360, 0, 1.0)],
    columns=["program_id", "department", "role", "eligible", "unknown", "priority_score"],
)  # fmt: skip
# seed 001: store-manager training ¥3,000 a head, sales-skills ¥1,500, current staff's regular training ¥2,000
SEED_PER_CAPITA = {"MGR": 3000.0, "SALES": 1500.0, "REG": 2000.0}


def test_seed_001_worked_example_is_exactly_1_100_000() -> None:
    # seed 001: 50 new store managers x 3,000 + 100 new sales associates x 1,500 + 400 current staff x 2,000 = 1,100,000
    demand = people_in_need(SEED_PROGRAMS, SEED_PLAN, EMPLOYEES, needs=SEED_NEEDS, onboarding=["MGR", "SALES"], hires_at_need_rate=False)
    proj = project_budget(demand, SEED_PER_CAPITA)
    assert proj.total == 1_100_000.0
    by = proj.by_program.set_index("program_id")
    assert by.loc["MGR", "amount"] == 150_000.0 and by.loc["SALES", "amount"] == 150_000.0 and by.loc["REG", "amount"] == 800_000.0
    assert by["people"].to_dict() == {"MGR": 50.0, "REG": 400.0, "SALES": 100.0}
    assert "needs list" in demand.source


def test_seed_001_from_a_hand_demand_table_with_inflation() -> None:
    demand = pd.DataFrame({"program_id": ["MGR", "SALES", "REG"], "unit": ["Store Manager", "Sales Associate", "all"], "people": [50, 100, 400]})
    assert project_budget(demand, SEED_PER_CAPITA).total == 1_100_000.0
    assert project_budget(demand, SEED_PER_CAPITA, inflation=0.03).total == pytest.approx(1_133_000.0)


def test_exits_remove_the_leavers_share_and_hires_join_at_the_need_rate() -> None:
    plan = pd.DataFrame({"unit": ["Sales"], "year": [2026], "current_headcount": [100], "planned_hires": [20], "planned_exits": [10]})
    emp = pd.DataFrame({"employee_id": ["A"], "department": ["Sales"], "role": ["Rep"]})
    needs = pd.DataFrame([("P1", "Sales", "Rep", 40, 3, 1.0)], columns=SEED_NEEDS.columns)
    progs = pd.DataFrame({"program_id": ["P1"], "category": ["sales"]})
    row = people_in_need(progs, plan, emp, needs=needs).table.iloc[0]
    # share needing it 40/100: 10 exits take 4 of the need away, 20 hires bring 8
    assert (row["exits_needing"], row["hires_needing"], row["people"]) == (4.0, 8.0, 44.0)
    assert people_in_need(progs, plan, emp, needs=needs, hires_at_need_rate=False).table.iloc[0]["people"] == 36.0
    assert people_in_need(progs, plan, emp, needs=needs, onboarding=["P1"]).table.iloc[0]["people"] == 56.0
    assert people_in_need(progs, plan, emp, needs=needs, hires_factor=0.5).table.iloc[0]["people"] == 40.0


def test_fallback_without_needs_list_is_historical_participants_per_year() -> None:
    plan = pd.DataFrame({"unit": ["Sales"], "year": [2026], "current_headcount": [100], "planned_hires": [0], "planned_exits": [0]})
    emp = pd.DataFrame({"employee_id": [f"E{i}" for i in range(6)], "department": ["Sales"] * 6, "role": ["Rep"] * 6})
    enr = pd.DataFrame({"employee_id": [f"E{i}" for i in range(6)] + ["E0"], "program_id": ["P1"] * 7,
                        "start_date": pd.to_datetime(["2024-03-01"] * 3 + ["2025-03-01"] * 3 + ["2025-06-01"])})  # fmt: skip
    demand = people_in_need(pd.DataFrame({"program_id": ["P1"], "category": ["sales"]}), plan, emp, enrollments=enr)
    assert demand.table.iloc[0]["current_need"] == 3.0, "6 distinct people over 2 calendar years"
    assert demand.source.startswith("fallback")


def test_headcount_plan_for_an_unknown_unit_is_refused() -> None:
    plan = pd.concat([SEED_PLAN, pd.DataFrame([{"unit": "Moon Base", "year": 2026, "current_headcount": 5, "planned_hires": 1,
                                                "planned_exits": 0}])], ignore_index=True)  # fmt: skip
    with pytest.raises(DataValidationError) as info:
        people_in_need(SEED_PROGRAMS, plan, EMPLOYEES, needs=SEED_NEEDS)
    assert (info.value.table, info.value.column) == ("headcount_plan", "unit")
    assert "Moon Base" in str(info.value) and "rows [2]" in str(info.value)


def test_program_without_cost_history_cannot_be_projected() -> None:
    demand = pd.DataFrame({"program_id": ["NEW"], "unit": ["Sales"], "people": [10]})
    with pytest.raises(DataValidationError, match="no cost history"):
        project_budget(demand, SEED_PER_CAPITA)


def test_waterfall_steps_add_up_to_the_budget() -> None:
    plan = pd.DataFrame({"unit": ["Sales"], "year": [2026], "current_headcount": [100], "planned_hires": [20], "planned_exits": [10]})
    emp = pd.DataFrame({"employee_id": ["A"], "department": ["Sales"], "role": ["Rep"]})
    needs = pd.DataFrame([("P1", "Sales", "Rep", 40, 0, 1.0)], columns=SEED_NEEDS.columns)
    demand = people_in_need(pd.DataFrame({"program_id": ["P1"], "category": ["sales"]}), plan, emp, needs=needs)
    w = waterfall(50_000.0, demand, {"P1": 1000.0}, inflation=0.05, adjusted_total=50_000.0)
    assert w["amount"].tolist() == pytest.approx([50_000, -10_000, 8_000, -4_000, 2_200, 50_000 - 46_200, 50_000])
    assert w.loc[w["kind"] == "change", "amount"].sum() + w["amount"].iloc[0] == pytest.approx(w["amount"].iloc[-1])
    assert project_budget(demand, {"P1": 1000.0}, inflation=0.05).total == pytest.approx(46_200.0)


def test_scenarios_and_atd_context() -> None:
    plan = pd.DataFrame({"unit": ["Sales"], "year": [2026], "current_headcount": [100], "planned_hires": [20], "planned_exits": [10]})
    emp = pd.DataFrame({"employee_id": ["A"], "department": ["Sales"], "role": ["Rep"]})
    needs = pd.DataFrame([("P1", "Sales", "Rep", 40, 0, 1.0)], columns=SEED_NEEDS.columns)
    progs = pd.DataFrame({"program_id": ["P1"], "category": ["sales"]})
    table = scenarios(lambda f: people_in_need(progs, plan, emp, needs=needs, hires_factor=f), {"P1": 1000.0}, lambda f: 100 + 20 * f - 10,
                      [Scenario("low", 0.5, 0.0), Scenario("base", 1.0, 0.03), Scenario("high", 1.5, 0.06)])  # fmt: skip
    assert table["budget"].tolist() == pytest.approx([40_000.0, 44_000 * 1.03, 48_000 * 1.06])
    assert table["per_employee"].tolist() == pytest.approx([40_000 / 100, 45_320 / 110, 50_880 / 120])
    ctx = benchmark_context(1_000_000.0, 500, 6_850.0, usd_to_local=7.1)
    assert ctx["per_employee"] == 2000.0 and ctx["hours_per_employee"] == 13.7
    assert ctx["atd_per_employee_local"] == pytest.approx(1054 * 7.1)
    assert "US$1,054" in ctx["sentence"] and "13.7 hours" in ctx["sentence"] and "State of the Industry" in ctx["source"]


# ---- allocation rules ------------------------------------------------------------------------------------------
PRIORITIES = pd.DataFrame({"program_id": ["P01", "P02", "P03"], "strategic_weight": [0.5, 0.3, 0.2], "business_weight": [0.35, 0.4, 0.25],
                           "employee_weight": [0.15, 0.3, 0.55]})  # fmt: skip


def test_weighted_allocation_with_seed_001_weights() -> None:
    # strategic 40%, business 30%, employee 30%: P01 0.4*0.5+0.3*0.35+0.3*0.15 = 0.35, P02 0.33, P03 0.32
    out = weighted_allocation(PRIORITIES, 1_000_000.0).set_index("program_id")
    assert out["share"].to_numpy() == pytest.approx([0.35, 0.33, 0.32])
    assert out["amount"].to_numpy() == pytest.approx([350_000, 330_000, 320_000])
    bad = PRIORITIES.assign(business_weight=[0.35, -1.0, 0.25])
    with pytest.raises(DataValidationError) as info:
        weighted_allocation(bad, 1.0)
    assert (info.value.table, info.value.column) == ("budget_priorities", "business_weight") and "rows [1]" in str(info.value)


def test_effectiveness_rule_reproduces_seed_001() -> None:
    # seed 001: lean production paid back, 300k -> 400k; team building had no measurable effect, 200k -> 100k
    out = effectiveness_adjustment({"lean": 300_000.0, "team": 200_000.0}, {"lean": "paid back", "team": "no measurable effect"})
    assert out.set_index("program_id")["adjusted"].to_dict() == pytest.approx({"lean": 400_000.0, "team": 100_000.0})
    assert out["adjusted"].sum() == pytest.approx(500_000.0) and RESERVE not in set(out["program_id"])
    loose = effectiveness_adjustment({"lean": 300_000.0, "team": 600_000.0}, {"lean": "paid back", "team": "no measurable effect"})
    # cuts of 300k fund 100k growth; 200k stays as reserve
    assert loose.set_index("program_id")["adjusted"].to_dict() == pytest.approx({"lean": 400_000.0, "team": 300_000.0, RESERVE: 200_000.0})


STATUSES = st.sampled_from(["paid back", "no measurable effect", "uncertain", "did not pay back", "intangible"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 1e7), STATUSES), min_size=1, max_size=6), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_effectiveness_rule_properties(rows: list[tuple[float, str]], grow: float, shrink: float) -> None:
    base = {f"P{i}": b for i, (b, _) in enumerate(rows)}
    status = {f"P{i}": s for i, (_, s) in enumerate(rows)}
    out = effectiveness_adjustment(base, status, grow=grow, shrink=shrink).set_index("program_id")
    assert out["adjusted"].sum() == pytest.approx(sum(base.values()), rel=1e-9, abs=1e-6), "the allocation still sums to the cap"
    for pid, s in status.items():
        if s == "no measurable effect":
            assert out.loc[pid, "adjusted"] <= base[pid] + 1e-9, "a program with no effect never gains budget"
        if s == "paid back":
            assert base[pid] - 1e-9 <= out.loc[pid, "adjusted"] <= base[pid] * (1 + grow) + 1e-6
    assert (out["adjusted"] >= -1e-9).all()


# ---- optimizer -------------------------------------------------------------------------------------------------------
def test_response_curve_is_calibrated_on_history() -> None:
    assert response(0.0, 100.0, 50.0) == 0.0 and response(100.0, 100.0, 50.0) == pytest.approx(1.0)
    assert response(200.0, 100.0, 50.0) < 2.0, "diminishing returns"


def test_optimizer_matches_brute_force_on_a_small_case() -> None:
    rng = np.random.default_rng(3)
    draws = {"A": rng.normal(300, 30, 200), "B": rng.normal(150, 40, 200), "C": rng.normal(60, 50, 200)}
    ref = {"A": 100.0, "B": 80.0, "C": 50.0}
    sat = {"A": 60.0, "B": 120.0, "C": 40.0}
    lower, upper = {"A": 10.0, "B": 10.0, "C": 10.0}, {"A": 150.0, "B": 150.0, "C": 150.0}
    cap = 200.0
    res = optimize_allocation(cap, draws, ref, saturation=sat, lower=lower, upper=upper)
    mean = {p: d.mean() for p, d in draws.items()}

    def value(x: dict[str, float]) -> float:
        return sum(mean[p] * response(x[p], ref[p], sat[p]) for p in x)

    best, best_x = -np.inf, None
    grid = np.arange(10.0, 150.0 + 1e-9, 0.25)
    for a, b in itertools.product(grid, grid):
        c = cap - a - b
        if 10.0 <= c <= 150.0:
            v = value({"A": a, "B": b, "C": c})
            if v > best:
                best, best_x = v, (a, b, c)
    got = res.params
    assert value(got.to_dict()) >= best - 1e-6, "the optimizer is at least as good as the 0.25-step grid"
    assert got.to_numpy() == pytest.approx(np.array(best_x), abs=0.5)
    assert res.expected_benefit == pytest.approx(value(got.to_dict()), rel=1e-9)
    assert res.net_benefit_p05 < res.expected_net_benefit
    assert got.sum() == pytest.approx(cap)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(-100.0, 1000.0), st.floats(1.0, 100.0), st.floats(1.0, 200.0), st.floats(0.0, 30.0), st.floats(0.0, 100.0)),
                min_size=1, max_size=5), st.floats(0.0, 1.0))  # fmt: skip
def test_optimizer_never_exceeds_cap_or_bounds(rows: list[tuple[float, float, float, float, float]], where: float) -> None:
    ids = [f"P{i}" for i in range(len(rows))]
    draws = {p: np.array([m, m * 0.9, m * 1.1]) for p, (m, *_r) in zip(ids, rows, strict=True)}
    ref = {p: r[1] for p, r in zip(ids, rows, strict=True)}
    sat = {p: r[2] for p, r in zip(ids, rows, strict=True)}
    lower = {p: r[3] for p, r in zip(ids, rows, strict=True)}
    upper = {p: r[3] + r[4] for p, r in zip(ids, rows, strict=True)}
    cap = sum(lower.values()) + where * (sum(upper.values()) - sum(lower.values()))
    x = optimize_allocation(cap, draws, ref, saturation=sat, lower=lower, upper=upper).params
    assert x.sum() == pytest.approx(cap, rel=1e-6, abs=1e-6)
    for p in ids:
        assert lower[p] - 1e-9 <= x[p] <= upper[p] + 1e-9


def test_cap_below_the_minimums_says_by_how_much() -> None:
    with pytest.raises(DataValidationError) as info:
        optimize_allocation(90.0, {"A": np.ones(3), "B": np.ones(3)}, {"A": 1.0, "B": 1.0}, saturation={"A": 1.0, "B": 1.0},
                            lower={"A": 50.0, "B": 60.0})  # fmt: skip
    assert "¥20 below the sum of the programs' minimums (¥110)" in str(info.value)
    assert info.value.column == "minimum"


def test_missing_optional_tables_are_named_not_crashed_on() -> None:
    from types import SimpleNamespace

    from analysis.budget_plan import missing_inputs

    full = SimpleNamespace(costs=pd.DataFrame({"amount": [1.0]}), headcount_plan=SEED_PLAN)
    assert missing_inputs(full) == {"roi": None, "budget": None}
    no_plan = missing_inputs(SimpleNamespace(costs=full.costs, headcount_plan=None))
    assert no_plan["roi"] is None and "no headcount_plan table" in no_plan["budget"]
    no_costs = missing_inputs(SimpleNamespace(costs=None, headcount_plan=SEED_PLAN))
    assert "no costs table" in no_costs["roi"] and no_costs["budget"] == no_costs["roi"]


def test_suppressed_needs_groups_count_no_one_and_are_named() -> None:
    needs = SEED_NEEDS.astype({"eligible": float})
    needs.loc[3, "eligible"] = np.nan  # notebook 01 suppressed this group
    demand = people_in_need(SEED_PROGRAMS, SEED_PLAN, EMPLOYEES, needs=needs, onboarding=["MGR", "SALES"], hires_at_need_rate=False)
    assert project_budget(demand, SEED_PER_CAPITA).total == 50 * 3000 + 100 * 1500 + 40 * 2000
    assert any("1 program × department × role group(s)" in n for n in demand.notes)
