"""Gap analysis on hand-built datasets: hand-computed gaps, unknowns, KPI direction, bad input.

Every expected number below is computed by hand in the comment beside it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.data import DataValidationError, Dataset, load_dataset
from analysis.gaps import (
    GapsUnavailable,
    competency_gaps,
    gap_segments,
    kpi_gaps,
    person_kpi_status,
    shortfall_drivers,
    source_calibration,
    training_needs,
)
from tests.conftest import write_tiny_dataset

REQUIREMENTS = """role,competency,required_level,weight
Rep,needs_discovery,4,0.6
Rep,negotiation,3,0.4
Agent,empathy,4,1.0
"""
# E05 left on 2024-04-20 (before as_of); E08 (role Lead) has no requirements; coaching is required by no role.
ASSESSMENTS = """employee_id,competency,assessed_on,score,source
E01,needs_discovery,2024-01-15,3.0,test
E01,needs_discovery,2024-02-01,2.0,self
E01,negotiation,2024-01-15,3.5,manager
E02,needs_discovery,2023-01-10,2.0,test
E02,needs_discovery,2024-03-01,4.5,manager
E03,needs_discovery,2024-02-10,3.5,360
E03,negotiation,2024-02-10,2.0,test
E04,needs_discovery,2024-03-01,3.2,manager
E04,negotiation,2024-03-01,3.0,self
E05,needs_discovery,2024-01-10,1.0,test
E06,empathy,2024-01-20,3.0,test
E08,coaching,2024-01-05,3.0,manager
"""


def _write(folder: Path, assessments: str = ASSESSMENTS, requirements: str = REQUIREMENTS) -> Path:
    write_tiny_dataset(folder)
    (folder / "assessments.csv").write_text(assessments, encoding="utf-8")
    (folder / "role_requirements.csv").write_text(requirements, encoding="utf-8")
    return folder


@pytest.fixture
def hand(tmp_path: Path) -> Dataset:
    return load_dataset(_write(tmp_path / "hand"))


def _gap(res, emp: str, comp: str) -> pd.Series:
    row = res.by_employee[(res.by_employee["employee_id"] == emp) & (res.by_employee["competency"] == comp)]
    assert len(row) == 1
    return row.iloc[0]


def test_hand_computed_levels_gaps_and_unknowns(hand: Dataset) -> None:
    res = competency_gaps(hand)
    # as_of = end of the last KPI month (2024-06-30), after the last assessment (2024-03-01)
    assert res.as_of == pd.Timestamp("2024-06-30")
    # E01 needs discovery: test 3.0 (w 0.4) and self 2.0 (w 0.1) in one round -> (1.2 + 0.2) / 0.5 = 2.8; gap 4 - 2.8 = 1.2
    r = _gap(res, "E01", "needs_discovery")
    assert r["current_level"] == pytest.approx(2.8) and r["gap"] == pytest.approx(1.2) and r["status"] == "gap"
    assert r["sources"] == "self+test"
    # E01 negotiation: 3.5 >= 3 -> met, gap 0
    assert _gap(res, "E01", "negotiation")[["gap", "status"]].tolist() == [0.0, "met"]
    # E02 needs discovery: the 2023 test is more than 180 days before the 2024 manager rating -> level 4.5, met
    assert _gap(res, "E02", "needs_discovery")["current_level"] == pytest.approx(4.5)
    # E02 negotiation and E07 empathy were never assessed: unknown, gap missing (never a zero gap)
    for emp, comp in (("E02", "negotiation"), ("E07", "empathy")):
        r = _gap(res, emp, comp)
        assert r["status"] == "unknown" and pd.isna(r["gap"])
    # E03: 360 rating 3.5 -> gap 0.5; test 2.0 in negotiation -> gap 1.0
    assert _gap(res, "E03", "needs_discovery")["gap"] == pytest.approx(0.5)
    assert _gap(res, "E03", "negotiation")["gap"] == pytest.approx(1.0)
    # E05 left before as_of: out; E08 (Lead) has no requirements: out, with a warning
    assert not res.by_employee["employee_id"].isin(["E05", "E08"]).any()
    assert len(res.by_employee) == 4 * 2 + 2  # 4 reps x 2 competencies + 2 agents x 1
    # weighted gap index: E01 0.6*1.2 + 0.4*0 = 0.72; E03 0.6*0.5 + 0.4*1.0 = 0.70; E04 0.6*0.8 + 0 = 0.48; E06 1.0
    idx = res.employee_index.set_index("employee_id")["weighted_gap_index"]
    assert idx[["E01", "E03", "E04", "E06"]].tolist() == pytest.approx([0.72, 0.70, 0.48, 1.0])
    assert pd.isna(idx["E02"]) and pd.isna(idx["E07"])  # an unknown competency: no index, not a low one


def test_groups_and_summary_by_hand(hand: Dataset) -> None:
    res = competency_gaps(hand)
    by_role = res.by_group("role").set_index(["role", "competency"])
    nd = by_role.loc[("Rep", "needs_discovery")]
    # gaps 1.2, 0, 0.5, 0.8 -> mean 0.625, median 0.65, 3 of 4 below
    assert nd["n"] == 4 and nd["n_assessed"] == 4
    assert nd["mean_gap"] == pytest.approx(0.625) and nd["median_gap"] == pytest.approx(0.65)
    assert nd["share_below_required"] == pytest.approx(0.75) and nd["share_unknown"] == 0
    neg = by_role.loc[("Rep", "negotiation")]
    # E02 unknown: 1 of 4 unknown; of the 3 assessed (0, 1.0, 0) one below
    assert neg["share_unknown"] == pytest.approx(0.25) and neg["share_below_required"] == pytest.approx(1 / 3)
    emp = by_role.loc[("Agent", "empathy")]
    assert emp["share_unknown"] == pytest.approx(0.5) and emp["mean_gap"] == pytest.approx(1.0)
    dist = res.index_by_group("department").set_index("department")
    # Sales index values 0.72, 0.70, 0.48 (E02 incomplete) -> median 0.70
    assert dist.loc["Sales", "n"] == 4 and dist.loc["Sales", "n_complete"] == 3
    assert dist.loc["Sales", "median"] == pytest.approx(0.70)
    assert set(res.summary["role"]) == {"Rep", "Agent"}
    with pytest.raises(ValueError, match="level must be among"):
        res.by_group("grade")


def test_role_without_requirements_is_a_named_warning(hand: Dataset) -> None:
    res = competency_gaps(hand)
    assert res.uncovered.to_dict("records") == [{"role": "Lead", "n": 1}]
    assert any("'Lead' has 1 employee(s) but no requirements" in w for w in res.warnings)


def test_competency_no_role_requires_is_kept_as_not_required(hand: Dataset) -> None:
    res = competency_gaps(hand)
    # E08 is a Lead (no requirements): coaching is listed as not required, not dropped
    assert res.not_required[["employee_id", "competency", "current_level", "status"]].values.tolist() == [
        ["E08", "coaching", 3.0, "not required"]]
    assert any("'coaching' assessed but required by no role" in w for w in res.warnings)


def test_calibration_against_the_test_by_hand(hand: Dataset) -> None:
    cal = source_calibration(hand).set_index(["source", "competency"])
    # self: E01 needs discovery self 2.0 vs test 3.0 (14 days apart) -> offset -1.0 (no direction assumed)
    assert cal.loc[("self", "all"), "offset"] == pytest.approx(-1.0) and cal.loc[("self", "all"), "n_pairs"] == 1
    assert cal.loc[("self", "all"), "share_below_test"] == 1.0
    # manager: E02 needs discovery 4.5 (2024-03-01) vs test 2.0 (2023-01-10, 416 days) -> +2.5
    assert cal.loc[("manager", "needs_discovery"), "offset"] == pytest.approx(2.5)
    assert cal.loc[("manager", "needs_discovery"), "median_days_apart"] == 416
    # one pair is too few for the default (5): nothing moves
    assert _gap(competency_gaps(hand, calibrate=True), "E01", "needs_discovery")["current_level"] == pytest.approx(2.8)
    # calibrated levels from one pair: E01 self 2.0 - (-1.0) = 3.0, so (0.4*3 + 0.1*3) / 0.5 = 3.0, gap 1.0
    res = competency_gaps(hand, calibrate=True, min_pairs=1)
    assert _gap(res, "E01", "needs_discovery")["current_level"] == pytest.approx(3.0)
    # E02's manager 4.5 - 2.5 = 2.0 (the only score of the current round)
    assert _gap(res, "E02", "needs_discovery")["current_level"] == pytest.approx(2.0)


def test_source_weights_are_a_parameter(hand: Dataset) -> None:
    # equal weights: E01 needs discovery (3.0 + 2.0) / 2 = 2.5
    res = competency_gaps(hand, source_weights={"test": 1, "manager": 1, "360": 1, "self": 1})
    assert _gap(res, "E01", "needs_discovery")["current_level"] == pytest.approx(2.5)
    with pytest.raises(ValueError, match=r"no weight for source\(s\) \['360'\]"):
        competency_gaps(hand, source_weights={"test": 1, "manager": 1, "self": 1})


def test_score_outside_the_declared_scale_names_the_rows(tmp_path: Path) -> None:
    bad = ASSESSMENTS + "E07,empathy,2024-02-01,7.5,test\n"
    ds = load_dataset(_write(tmp_path / "bad", assessments=bad))
    with pytest.raises(DataValidationError, match=r"(?s)assessments, column 'score'.*scale 1-5.*employee_id='E07'.*score=7.5") as err:
        competency_gaps(ds)
    assert err.value.table == "assessments" and err.value.column == "score" and len(err.value.rows) == 1
    # a 0-100 scale declared: the same data is valid
    assert competency_gaps(ds, scale=(0, 100)).by_employee["status"].eq("gap").any()


def test_required_level_outside_the_scale_names_the_rows(tmp_path: Path) -> None:
    ds = load_dataset(_write(tmp_path / "bad", requirements=REQUIREMENTS + "Agent,listening,6,0.5\n"))
    with pytest.raises(DataValidationError, match=r"(?s)role_requirements, column 'required_level'.*role='Agent'.*listening"):
        competency_gaps(ds)


def test_program_target_no_role_requires_is_an_error(hand: Dataset) -> None:
    # the tiny programs: P01 needs_discovery (required by Rep), P02 empathy (Agent); retarget P02
    programs = hand.tables["programs"].copy()
    programs.loc[programs["program_id"] == "P02", "target_competency"] = "storytelling"
    ds = Dataset(path=hand.path, tables={**hand.tables, "programs": programs})
    with pytest.raises(DataValidationError, match=r"(?s)programs, column 'target_competency'.*program_id='P02'.*storytelling") as err:
        training_needs(ds, drivers={})
    assert err.value.table == "programs" and err.value.column == "target_competency"


def test_missing_tables_say_which(tiny_dataset_dir: Path) -> None:
    ds = load_dataset(tiny_dataset_dir)  # the tiny dataset has neither table
    with pytest.raises(GapsUnavailable) as err:
        competency_gaps(ds)
    assert err.value.missing == ["assessments", "role_requirements"]
    assert str(err.value) == "not available: the gap analysis needs tables assessments, role_requirements"


def test_training_needs_by_hand(hand: Dataset) -> None:
    needs = training_needs(hand, drivers={})
    g = needs.by_group.set_index("program_id")
    # P01 (needs discovery > 0.5): E01 (1.2), E04 (0.8); E03's 0.5 is not above the threshold
    assert g.loc["P01", ["department", "role", "n", "assessed", "unknown", "eligible"]].tolist() == ["Sales", "Rep", 4, 4, 0, 2]
    # P02 (empathy): E06 gap 1.0 eligible, E07 unknown (counted apart)
    assert g.loc["P02", ["n", "assessed", "unknown", "eligible"]].tolist() == [2, 1, 1, 1]
    # no budget_priorities: its 0.40 is shared out -> weights 0.25/0.6, 0.15/0.6, 0.20/0.6; no drivers -> K = 0
    assert needs.weights["gap"] == pytest.approx(0.25 / 0.6) and needs.weights["strategic"] == 0
    assert any("No budget_priorities" in n for n in needs.notes)
    # P01: N = 2 of 4 assessed, G = mean(1.2, 0.8) / 4 = 0.25, C = 0.6 -> 100 * 0.5 * (0.41667 * 0.25 + 0.25 * 0.6) = 12.708
    assert g.loc["P01", "priority_score"] == pytest.approx(100 * 0.5 * (0.25 / 0.6 * 0.25 + 0.15 / 0.6 * 0.6))
    # P02: N = 1 of 1, G = 1.0 / 4 = 0.25, C = 1.0 -> 35.417
    assert g.loc["P02", "priority_score"] == pytest.approx(100 * (0.25 / 0.6 * 0.25 + 0.15 / 0.6 * 1.0))
    assert needs.by_program["program_id"].tolist() == ["P02", "P01"]  # highest priority first
    export = needs.needs_by_program_group
    assert list(export.columns[:6]) == ["program_id", "department", "role", "eligible", "unknown", "priority_score"]
    assert "priority = 100 ×" in needs.formula


def test_budget_priorities_enter_the_score(hand: Dataset) -> None:
    budget = pd.DataFrame({"program_id": ["P01", "P02"], "strategic_weight": [1.0, 0.0], "business_weight": [0.5, 0.0],
                           "employee_weight": [0.0, 0.0]})
    ds = Dataset(path=hand.path, tables={**hand.tables, "budget_priorities": budget})
    needs = training_needs(ds, drivers={}, weights={"strategic": 0.5, "business": 0.5})
    s = needs.by_program.set_index("program_id")["priority_score"]
    # only S and B count: P01 100 * N (0.5) * (0.5 * 1 + 0.5 * 0.5) = 37.5; P02 0
    assert s["P01"] == pytest.approx(37.5) and s["P02"] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="unknown weight"):
        training_needs(ds, drivers={}, weights={"urgency": 1.0})


def test_kpi_gaps_respect_direction(hand: Dataset) -> None:
    # tiny KPIs: sales values >= 100,000 = target (never under); csat 85 .. 87.5 below a target of 90 (always under)
    res = kpi_gaps(hand)
    share = res.by_month.groupby("kpi")["share_under_target"].mean()
    assert share["sales"] == 0.0 and share["csat"] == 1.0
    # the same csat numbers are on target when lower is better
    kd = hand.tables["kpi_definitions"].copy()
    kd.loc[kd["kpi"] == "csat", "higher_is_better"] = False
    flipped = kpi_gaps(Dataset(path=hand.path, tables={**hand.tables, "kpi_definitions": kd}))
    assert flipped.by_month.groupby("kpi")["share_under_target"].mean()["csat"] == 0.0
    # shortfall is positive when worse: csat mean of the last 6 months 86.25 vs 90 -> 3.75
    p = person_kpi_status(hand, "csat")
    assert p["shortfall"].tolist() == pytest.approx([3.75, 3.75]) and p["under_target"].all()
    assert res.trend.set_index("kpi").loc["csat", "slope_per_year"] == 0.0


def test_kpi_without_target_is_named(hand: Dataset) -> None:
    kd = hand.tables["kpi_definitions"].copy()
    kd.loc[kd["kpi"] == "csat", "target"] = np.nan
    ds = Dataset(path=hand.path, tables={**hand.tables, "kpi_definitions": kd})
    assert kpi_gaps(ds).no_target == ["csat"]
    with pytest.raises(DataValidationError, match="KPI 'csat' has no target"):
        person_kpi_status(ds, "csat")


def test_drivers_say_when_too_few_people_for_a_model(hand: Dataset) -> None:
    # 4 sales staff with KPI rows, nobody under target: no model, a reason in words, no made-up importance
    res = shortfall_drivers(hand, "sales")
    assert res.auc.empty and "not fitted" in res.note
    assert res.table["importance"].isna().all()


# ---- data nobody generated: a hand-built dataset with Chinese role and competency names ------------------
CN = {
    "employees": "employee_id,department,role,region,hire_date,exit_date\n" + "".join(
        f"C{i:02d},销售部,客户经理,{'华东' if i % 2 else '华南'},{2016 + i % 8}-03-01,\n" for i in range(1, 13)),
    "kpi_definitions": "kpi,unit,higher_is_better,value_per_unit,target\n销售额,元,true,0.2,100000\n",
    "programs": "program_id,name,category,target_competency,kpi,duration_hours\nP1,顾问式销售,销售,需求挖掘,销售额,16\n",
    "enrollments": "employee_id,program_id,status,start_date,end_date\nC01,P1,completed,2025-03-01,2025-03-10\n",
    "kpi_monthly": "employee_id,month,kpi,value\n" + "".join(f"C{i:02d},2025-01-01,销售额,{90000 + 2000 * i}\n" for i in range(1, 13)),
    "role_requirements": "role,competency,required_level,weight\n客户经理,需求挖掘,4,0.7\n客户经理,谈判,3,0.3\n",
    # 需求挖掘 (needs discovery): the seven staff in 华东 (odd ids) at 3.0 (gap 1.0), 华南 at 4.0 (met); 谈判 never assessed for C12
    "assessments": "employee_id,competency,assessed_on,score,source\n" + "".join(
        f"C{i:02d},需求挖掘,2025-01-10,{3.0 if i % 2 else 4.0},test\n" for i in range(1, 13)) + "".join(
        f"C{i:02d},谈判,2025-01-10,3.0,manager\n" for i in range(1, 12)),
}


def test_chinese_names_hand_built(tmp_path: Path) -> None:
    folder = tmp_path / "cn"
    folder.mkdir()
    for name, text in CN.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    ds = load_dataset(folder)
    res = competency_gaps(ds)
    by = res.by_group("region").set_index(["region", "competency"])
    assert by.loc[("华东", "需求挖掘"), "share_below_required"] == 1.0 and by.loc[("华南", "需求挖掘"), "share_below_required"] == 0.0
    assert by.loc[("华南", "谈判"), "share_unknown"] == pytest.approx(1 / 6)  # C12 is in 华南 (even id)
    needs = training_needs(ds, drivers={})
    # 6 odd ids C01..C11 with gap 1.0 > 0.5
    assert needs.by_group[["department", "role", "eligible", "unknown"]].values.tolist() == [["销售部", "客户经理", 6, 0]]
    seg = gap_segments(res, "需求挖掘", min_group_size=5)
    assert seg.rules["rule"].tolist() == ["in 华东", "in 华南"]
    assert seg.rules["n"].tolist() == [6, 6]
    assert seg.summary.startswith("100% of staff in 华东 are below the required level in 需求挖掘 (n = 6)")


def test_person_level_export_is_pseudonymous_and_needs_a_salt(hand: Dataset) -> None:
    from analysis.gaps import person_level_table
    from analysis.privacy import find_identifiers

    res = competency_gaps(hand)
    table = person_level_table(res, "s3cret")
    assert len(table) == len(res.by_employee) and "employee_id" not in table.columns
    assert find_identifiers(table, hand.tables["employees"]["employee_id"]) == []
    assert table["person_key"].str.fullmatch(r"p-[0-9a-f]{10}").all()
    # same salt, same keys; another salt, other keys
    assert person_level_table(res, "s3cret")["person_key"].tolist() == table["person_key"].tolist()
    assert not set(person_level_table(res, "other")["person_key"]) & set(table["person_key"])
    with pytest.raises(ValueError, match="salt is required"):
        person_level_table(res, "")
