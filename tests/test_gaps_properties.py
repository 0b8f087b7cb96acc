"""Invariants of the gap analysis (hypothesis): row order, monotonicity, the score's scale."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.data import Dataset
from analysis.gaps import competency_gaps, training_needs

AS_OF = pd.Timestamp("2025-06-30")
REQ = pd.DataFrame({"role": ["A", "A", "B"], "competency": ["c1", "c2", "c2"], "required_level": [4.0, 3.0, 3.5], "weight": [0.5, 0.5, 1.0]})
PROGRAMS = pd.DataFrame({"program_id": ["P1", "P2"], "name": ["one", "two"], "category": ["x", "y"], "target_competency": ["c1", "c2"],
                         "kpi": ["k", "k"], "duration_hours": [8.0, 8.0]})
KPI_DEF = pd.DataFrame({"kpi": ["k"], "unit": ["u"], "higher_is_better": [True], "value_per_unit": [1.0], "target": [np.nan]})
SOURCES = ["test", "manager", "360", "self"]
DAYS = [pd.Timestamp("2025-01-10"), pd.Timestamp("2025-03-01"), pd.Timestamp("2024-02-01")]

person = st.tuples(
    st.sampled_from(["A", "B"]), st.sampled_from(["Sales", "Ops"]),
    st.lists(st.tuples(st.sampled_from(["c1", "c2", "c3"]), st.integers(0, 2), st.integers(10, 50), st.sampled_from(SOURCES)),
             max_size=5),
)


def _dataset(people: list, budget: pd.DataFrame | None = None) -> Dataset:
    emp, ass = [], []
    for i, (role, dept, rows) in enumerate(people):
        eid = f"E{i:03d}"
        emp.append({"employee_id": eid, "department": dept, "role": role, "region": "N", "hire_date": pd.Timestamp("2020-01-01"),
                    "exit_date": pd.NaT})
        seen = set()
        for comp, day, score, src in rows:
            if (comp, day) in seen:
                continue
            seen.add((comp, day))
            ass.append({"employee_id": eid, "competency": comp, "assessed_on": DAYS[day], "score": score / 10, "source": src})
    tables = {
        "employees": pd.DataFrame(emp), "programs": PROGRAMS, "kpi_definitions": KPI_DEF, "role_requirements": REQ,
        "assessments": pd.DataFrame(ass, columns=["employee_id", "competency", "assessed_on", "score", "source"]),
        "kpi_monthly": pd.DataFrame({"employee_id": ["E000"], "month": [pd.Timestamp("2025-06-01")], "kpi": ["k"], "value": [1.0]}),
    }
    if budget is not None:
        tables["budget_priorities"] = budget
    return Dataset(path=Path("/nonexistent-gaps-hypothesis"), tables=tables)


def _sorted(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return df.sort_values(keys, kind="stable").reset_index(drop=True)


SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.lists(person, min_size=1, max_size=8), st.randoms(use_true_random=False))
def test_row_order_does_not_matter(people: list, rnd) -> None:
    ds = _dataset(people)
    shuffled = {name: t.sample(frac=1.0, random_state=rnd.randint(0, 10_000)) for name, t in ds.tables.items()}
    ds2 = Dataset(path=ds.path, tables=shuffled)
    a, b = competency_gaps(ds, as_of=AS_OF), competency_gaps(ds2, as_of=AS_OF)
    pd.testing.assert_frame_equal(a.by_employee, b.by_employee)
    pd.testing.assert_frame_equal(a.employee_index, b.employee_index)
    na = training_needs(ds, gaps=a, drivers={}, noise_sd=0.3)
    nb = training_needs(ds2, gaps=b, drivers={}, noise_sd=0.3)
    pd.testing.assert_frame_equal(na.by_group, nb.by_group)


@SETTINGS
@given(st.lists(person, min_size=1, max_size=8), st.sampled_from(["A", "B"]), st.sampled_from(["Sales", "Ops"]))
def test_an_on_target_newcomer_never_raises_a_priority(people: list, role: str, dept: str) -> None:
    before = training_needs(ds := _dataset(people), gaps=competency_gaps(ds, as_of=AS_OF), drivers={}, noise_sd=0.3)
    # a newcomer assessed at the top of the scale in everything: no gap anywhere
    newcomer = (role, dept, [("c1", 0, 50, "test"), ("c2", 0, 50, "test"), ("c3", 0, 50, "test")])
    after = training_needs(ds2 := _dataset([*people, newcomer]), gaps=competency_gaps(ds2, as_of=AS_OF), drivers={}, noise_sd=0.3)
    old = before.by_group.set_index(["program_id", "department", "role"])["priority_score"]
    new = after.by_group.set_index(["program_id", "department", "role"])["priority_score"].reindex(old.index)
    assert (new <= old + 1e-12).all()
    p_old = before.by_program.set_index("program_id")["priority_score"]
    p_new = after.by_program.set_index("program_id")["priority_score"].reindex(p_old.index)
    assert (p_new <= p_old + 1e-12).all()


@SETTINGS
@given(st.lists(person, min_size=1, max_size=8),
       st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=6, max_size=6).filter(lambda w: sum(w) > 1e-6),
       st.lists(st.floats(0.0, 3.0, allow_nan=False), min_size=6, max_size=6))
def test_weights_summing_to_one_give_a_score_from_0_to_100(people: list, raw: list[float], prio: list[float]) -> None:
    budget = pd.DataFrame({"program_id": ["P1", "P2"], "strategic_weight": prio[0:2], "business_weight": prio[2:4],
                           "employee_weight": prio[4:6]})
    ds = _dataset(people, budget)
    keys = ["gap", "competency_weight", "kpi_explained", "strategic", "business", "employee"]
    weights = dict(zip(keys, np.asarray(raw) / sum(raw)))
    needs = training_needs(ds, gaps=competency_gaps(ds, as_of=AS_OF), drivers={}, weights=weights, noise_sd=0.3)
    for frame in (needs.by_group, needs.by_program):
        assert ((frame["priority_score"] >= -1e-9) & (frame["priority_score"] <= 100 + 1e-9)).all()
        for c in ("N", "G", "C", "K", "S", "B", "E"):
            assert ((frame[c] >= 0) & (frame[c] <= 1 + 1e-12)).all()


@SETTINGS
@given(st.lists(person, min_size=1, max_size=8), st.data())
def test_raising_a_score_never_raises_a_gap(people: list, data) -> None:
    ds = _dataset(people)
    ass = ds.tables["assessments"]
    if ass.empty:
        return
    i = data.draw(st.integers(0, len(ass) - 1))
    up = data.draw(st.integers(1, 40)) / 10
    raised = ass.copy()
    raised.loc[raised.index[i], "score"] = min(5.0, raised.loc[raised.index[i], "score"] + up)
    before = competency_gaps(ds, as_of=AS_OF).by_employee.set_index(["employee_id", "competency"])
    after = competency_gaps(Dataset(path=ds.path, tables={**ds.tables, "assessments": raised}), as_of=AS_OF).by_employee
    after = after.set_index(["employee_id", "competency"])
    g0, g1 = before["gap"], after["gap"].reindex(before.index)
    both = g0.notna()
    assert (g1[both] <= g0[both] + 1e-12).all()
    # nobody else moves
    who = ass.loc[ass.index[i], "employee_id"]
    others = before.index.get_level_values("employee_id") != who
    pd.testing.assert_series_equal(g0[others], g1[others])
