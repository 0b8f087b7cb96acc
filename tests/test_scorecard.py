"""The scorecard on a tiny hand-built dataset: every metric against values computed by hand.

The dataset (written below) has one program P1 and six runs:

======  ===========  ==========  ==========  ====  ==  =====  =====  ==  ==  =====  ===
emp     status       start       end         compl int first  err    sc  at  pass   rx
======  ===========  ==========  ==========  ====  ==  =====  =====  ==  ==  =====  ===
E1      completed    2024-01-10  2024-01-20  1.0   0   true   0.1    80  1   true   5
E2      failed       2024-02-01  2024-02-15  0.8   2   false  0.3    50  2   false  3
E3      completed    2024-03-01  2024-03-20  0.9   0   true   0.2    65  2   true   4
E4      dropped      2024-03-05  2024-03-10  0.4   1                     0
E5      in_progress  2024-04-02              0.5   0   true   0.1        0
E6      completed    2024-05-01  2024-05-20  1.0   1   true   0.0    90  1   true   4
======  ===========  ==========  ==========  ====  ==  =====  =====  ==  ==  =====  ===
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.data import load_dataset
from analysis.scorecard import compute_scorecard, load_library
from analysis.scorecard.kirkpatrick import funnel, kirkpatrick_ladder
from analysis.scorecard.loop import competency_change, outcome_layer, process_layer, transfer_layer, wilson_interval
from analysis.scorecard.scrap import scrap_learning
from analysis.scorecard.signals import signals
from analysis.scorecard.tdrp import attainment, forecast_period_end, period_to_date, status, trend

TABLES = {
    "employees": """employee_id,department,role,region,hire_date,exit_date,grade
E1,Sales,Rep,North,2020-01-01,,G3
E2,Sales,Rep,North,2023-12-01,,G1
E3,Sales,Rep,North,2021-06-01,2024-03-25,G3
E4,Sales,Rep,South,2024-01-02,,G1
E5,Sales,Rep,South,2019-01-01,,G4
E6,Sales,Rep,South,2022-01-01,,G2
E7,Sales,Rep,North,2024-05-01,,G1
E8,Sales,Rep,North,2020-01-01,,G1
""",
    "kpi_definitions": "kpi,unit,higher_is_better,value_per_unit\nsales,CNY,true,0.2\n",
    "programs": "program_id,name,category,target_competency,kpi,duration_hours\nP1,Selling,sales,c1,sales,8\n",
    "enrollments": """employee_id,program_id,status,start_date,end_date,learn_completion,learn_minutes,learn_interruptions,practice_first_pass,practice_error_rate,exam_score,exam_attempts,exam_passed,reaction_score
E1,P1,completed,2024-01-10,2024-01-20,1.0,60,0,true,0.1,80,1,true,5
E2,P1,failed,2024-02-01,2024-02-15,0.8,60,2,false,0.3,50,2,false,3
E3,P1,completed,2024-03-01,2024-03-20,0.9,60,0,true,0.2,65,2,true,4
E4,P1,dropped,2024-03-05,2024-03-10,0.4,30,1,,,,0,,
E5,P1,in_progress,2024-04-02,,0.5,60,0,true,0.1,,0,,
E6,P1,completed,2024-05-01,2024-05-20,1.0,60,1,true,0.0,90,1,true,4
""",
    "kpi_monthly": "employee_id,month,kpi,value\n" + "".join(f"E1,2024-{m:02d}-01,sales,{100 + m}\n" for m in range(1, 10)),
    "assessments": """employee_id,competency,assessed_on,score
E1,c1,2023-12-01,2.0
E1,c1,2024-06-01,3.0
E2,c1,2023-12-01,2.5
E2,c1,2024-06-01,3.0
E3,c1,2023-12-01,3.0
E3,c1,2024-03-10,3.5
E4,c1,2023-12-01,2.0
E4,c1,2024-06-01,2.0
E6,c1,2023-12-01,2.0
E6,c1,2024-06-01,2.5
E7,c1,2024-05-10,2.0
E7,c1,2024-06-20,2.2
E8,c1,2023-12-01,3.0
E8,c1,2024-06-01,2.8
""",
    "costs": "program_id,period,category,amount\nP1,2024,delivery,1000\nP1,2024,materials,500\n",
    "scorecard_inputs": """period,kpi,value,target
2024-Q1,training_revenue,100,200
2024-Q2,training_revenue,300,200
2024-Q1,net_promoter_score,10,20
2024-Q2,net_promoter_score,30,20
""",
    "followups": """employee_id,program_id,months_after,applied,manager_rating
E1,P1,1,true,4
E1,P1,3,true,4.5
E2,P1,1,false,2
E2,P1,3,true,3.5
E6,P1,1,false,3
""",
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("scorecard_tiny")
    for name, text in TABLES.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return load_dataset(folder)


@pytest.fixture(scope="module")
def card(tiny):
    return compute_scorecard(tiny, min_group_size=1)


# ---------------------------------------------------------------- balanced scorecard, default library
@pytest.mark.parametrize(
    ("kpi", "period", "expected"),
    [
        ("completion_rate", "2024-Q1", 2 / 4),  # E1, E3 completed of E1-E4 (all reached their end)
        ("completion_rate", "2024-Q2", 1 / 1),  # E6; E5 is still in progress
        ("module_completion_rate", "2024-Q1", (1.0 + 0.8 + 0.9 + 0.4) / 4),
        ("uninterrupted_completion_rate", "2024-Q1", 2 / 3),  # E1, E3 of E1-E3 (E4 dropped)
        ("practice_first_pass_rate", "2024-Q1", 2 / 3),
        ("key_step_error_rate", "2024-Q1", (0.1 + 0.3 + 0.2) / 3),
        ("on_time_exam_rate", "2024-Q1", 3 / 4),
        ("exam_pass_rate", "2024-Q1", 2 / 3),
        ("retake_pass_rate", "2024-Q1", 1 / 2),  # E2 failed, E3 passed on two attempts
        ("mean_exam_score", "2024-Q1", (80 + 50 + 65) / 3),
        ("learner_satisfaction", "2024-Q1", (5 + 3 + 4) / 3),
        ("reaction_response_rate", "2024-Q1", 3 / 4),
        ("training_cycle_days", "2024-Q1", (10 + 14 + 19 + 5) / 4),
        ("training_hours_per_employee", "2024-Q1", 210 / 60 / 6),  # E3 left in March; E7 not hired yet
        ("training_hours_per_employee", "2024-Q2", 120 / 60 / 7),
        ("core_talent_retention", "2024-Q1", 2 / 3),  # G3/G4 at the start: E1, E3, E5; E3 left
        ("core_talent_retention", "2024-Q2", 2 / 2),
        ("new_hire_pass_rate", "2024-Q1", 0 / 1),  # E2 (hired 62 days before) failed; E4 never sat
        ("revenue_attainment", "2024-Q1", 100 / 200),
        ("revenue_attainment", "2024-Q2", 300 / 200),
        ("revenue_per_employee", "2024-Q2", 300 / 7),
        ("net_promoter_score", "2024-Q2", 30.0),
        ("training_cost_per_trainee", "2024", 1500 / 6),
    ],
)
def test_default_library_values(card, kpi: str, period: str, expected: float) -> None:
    assert card.value(kpi, period) == pytest.approx(expected)


def test_no_data_kpis_are_listed_not_dropped(card) -> None:
    lib = load_library()
    assert len(card.table) == len(lib.kpis) + len(lib.broken)
    row = card.table.set_index("name").loc["profit_margin"]
    assert row["status"] == "no data" and "net_profit" in row["note"]
    assert {"client_lifetime_value", "market_share", "engagement_score"} <= set(card.no_data["name"])


def test_status_trend_and_tdrp_columns(card) -> None:
    row = card.table.set_index("name").loc["revenue_attainment"]
    assert row["last_period"] == "2024-Q2" and row["last_actual"] == pytest.approx(1.5) and row["status"] == "on track"
    assert row["period_to_date"] == pytest.approx((0.5 + 1.5) / 2)
    nps = card.table.set_index("name").loc["net_promoter_score"]
    assert nps["target"] == 20 and nps["status"] == "on track"  # the target comes from scorecard_inputs
    assert set(card.tdrp_report()["tdrp"].dropna().unique()) <= {"efficiency", "effectiveness", "outcome"}
    assert list(card.tdrp_report().columns[:8]) == ["tdrp", "label", "unit", "last_period", "last_actual", "target", "period_to_date", "year_plan"]


def test_small_periods_are_blank(tiny) -> None:
    card5 = compute_scorecard(tiny, min_group_size=5)
    assert np.isnan(card5.value("completion_rate", "2024-Q1"))  # 4 runs < 5
    assert card5.value("revenue_attainment", "2024-Q1") == pytest.approx(0.5)  # company figures have no n


def test_role_cards(card) -> None:
    trainer = card.role_card("trainer")
    assert {"Exam pass rate", "Course and trainer rating", "Net promoter score"} <= set(trainer["label"])
    assert "Revenue attainment" in set(card.role_card("sales_consultant")["label"])


# ---------------------------------------------------------------- TDRp arithmetic
def test_attainment_and_status_thresholds() -> None:
    assert attainment(0.95, 1.0) == pytest.approx(0.95)
    assert attainment(110, 100, higher_is_better=False) == pytest.approx(0.9)
    assert attainment(-5, -10) == pytest.approx(1.5)  # NPS-like: -5 beats a target of -10
    assert status(0.95, 1.0) == "at risk"
    assert status(0.95, 1.0, at_risk=0.96) == "off track"
    assert status(1.0, 1.0) == "on track"
    assert status(np.nan, 1.0) == "no data" and status(1.0, np.nan) == "no target"


def test_trend_verdicts() -> None:
    up = pd.Series([1.0, 2.0, 3.0, 4.0])
    assert trend(up).verdict == "improving" and trend(up).slope == pytest.approx(1.0)
    assert trend(up, higher_is_better=False).verdict == "worsening"
    assert trend(pd.Series([1.0, 1.2, 0.9, 1.1, 1.0])).verdict == "no clear trend"
    assert trend(pd.Series([1.0, 2.0])).verdict == "too few periods"


def test_forecast_to_period_end_hand_computed() -> None:
    s = pd.Series([1.0, 2.0, 3.0], index=["2024-Q1", "2024-Q2", "2024-Q3"])
    f = forecast_period_end(s, "quarter", "sum")
    assert f.value == pytest.approx(1 + 2 + 3 + 4) and f.low == pytest.approx(10) and f.label == "2024 year end"
    assert forecast_period_end(s, "quarter", "mean").value == pytest.approx(10 / 4)
    full = pd.Series([1.0, 2.0, 3.0, 4.0], index=["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"])
    g = forecast_period_end(full, "quarter", "sum")
    assert g.value == pytest.approx(5 + 6 + 7 + 8) and g.label == "2025 (next year)"


def test_forecast_interval_matches_statsmodels_prediction_interval() -> None:
    import statsmodels.api as sm

    y = np.array([1.0, 3.0, 2.0, 5.0, 4.0])
    s = pd.Series(y, index=["2020", "2021", "2022", "2023", "2024"])
    f = forecast_period_end(s, "year", "last", level=0.90)
    fit = sm.OLS(y, sm.add_constant(np.arange(5.0))).fit()
    pred = fit.get_prediction(np.array([[1.0, 5.0]])).summary_frame(alpha=0.10)
    assert f.value == pytest.approx(pred["mean"].iloc[0])
    assert (f.low, f.high) == pytest.approx((pred["obs_ci_lower"].iloc[0], pred["obs_ci_upper"].iloc[0]))


def test_period_to_date() -> None:
    s = pd.Series([1.0, 2.0, 3.0], index=["2024-Q3", "2024-Q4", "2025-Q1"])
    assert period_to_date(s, "sum") == 3.0 and period_to_date(s, "last") == 3.0
    s2 = pd.Series([1.0, 2.0, 3.0], index=["2025-Q1", "2025-Q2", "2025-Q3"])
    assert period_to_date(s2, "sum") == 6.0 and period_to_date(s2, "mean") == 2.0


# ---------------------------------------------------------------- learn -> practice -> exam layers
def test_process_layer_matches_hand_values_and_library(tiny, card) -> None:
    p = process_layer(tiny, by=(), min_group_size=1).set_index("metric")["value"]
    assert p["module_completion_rate"] == pytest.approx((1 + 0.8 + 0.9 + 0.4 + 0.5 + 1.0) / 6)
    assert p["uninterrupted_completion_rate"] == pytest.approx(2 / 4)  # E1, E3 of E1, E2, E3, E6
    assert p["practice_first_pass_rate"] == pytest.approx(4 / 5)
    assert p["key_step_error_rate"] == pytest.approx(0.7 / 5)
    assert p["on_time_exam_rate"] == pytest.approx(4 / 5)
    assert p["retake_pass_rate"] == pytest.approx(1 / 2)
    assert p["completion_rate"] == pytest.approx(3 / 5)
    # one definition: the Q1 runs give the library's Q1 values
    q1 = {k: v for k, v in TABLES.items()}
    q1_runs = process_layer({**tiny.tables, "enrollments": tiny.enrollments[tiny.enrollments["start_date"] < "2024-04-01"]}, by=(),
                            min_group_size=1).set_index("metric")["value"]
    for m in ("completion_rate", "uninterrupted_completion_rate", "practice_first_pass_rate", "on_time_exam_rate", "retake_pass_rate"):
        assert q1_runs[m] == pytest.approx(card.value(m, "2024-Q1"))
    del q1


def test_outcome_layer_by_program_and_department(tiny) -> None:
    o = outcome_layer(tiny, min_group_size=1).set_index("metric")
    assert o.loc["exam_pass_rate", "value"] == pytest.approx(3 / 4) and o.loc["exam_pass_rate", "department"] == "Sales"
    assert o.loc["mean_exam_score", "value"] == pytest.approx((80 + 50 + 65 + 90) / 4)
    small = outcome_layer(tiny, min_group_size=5).set_index("metric")
    assert np.isnan(small.loc["exam_pass_rate", "value"]) and small.loc["exam_pass_rate", "note"].startswith("suppressed")


def test_competency_change_against_comparison(tiny) -> None:
    c = competency_change(tiny, min_group_size=2).iloc[0]
    # trainees E1 +1.0, E2 +0.5, E4 0.0, E6 +0.5 (E3 has no assessment after training, E5 is in progress);
    # never trained E7 +0.2, E8 -0.2
    assert c["trainee_change"] == pytest.approx(0.5) and c["comparison_change"] == pytest.approx(0.0)
    assert c["change_vs_comparison"] == pytest.approx(0.5)
    assert c["se"] == pytest.approx(np.sqrt((0.5 / 3) / 4 + 0.08 / 2))
    assert (c["n_trainees"], c["n_comparison"]) == (4, 2)


DYNAMIC = pd.DataFrame({"program_id": "P1", "kpi": "sales", "event_time": [-1, 0, 1, 2, 3, 6], "att": [0.0, 1.0, 2.0, 2.5, 3.0, 1.5],
                        "se": 0.5, "ci_low": [-1, 0, 1, 1.5, 2, 0.5], "ci_high": [1, 2, 3, 3.5, 4, 2.5], "band": 0.0})


def test_transfer_layer_reuses_event_time_effects_and_followups(tiny) -> None:
    t = transfer_layer(DYNAMIC, tiny.followups, min_group_size=1).set_index(["months_after", "measure"])
    assert t.loc[(1, "kpi_change_vs_comparison"), "value"] == 2.0 and t.loc[(6, "kpi_change_vs_comparison"), "ci_high"] == 2.5
    assert t.loc[(1, "applied_share"), "value"] == pytest.approx(1 / 3)
    assert (t.loc[(1, "applied_share"), "ci_low"], t.loc[(1, "applied_share"), "ci_high"]) == pytest.approx(wilson_interval(1, 3))
    assert t.loc[(3, "applied_share"), "value"] == 1.0
    assert t.loc[(1, "manager_rating"), "value"] == pytest.approx(3.0)
    missing = transfer_layer(None, tiny.followups).set_index(["months_after", "measure"])
    assert missing.loc[(3, "kpi_change_vs_comparison"), "status"] == "not yet measured"
    assert np.isnan(missing.loc[(3, "kpi_change_vs_comparison"), "value"])


def test_wilson_interval_reference() -> None:
    # Wilson (1927) interval for 1 success in 3, 95%: (0.0615, 0.7923) (Newcombe 1998, method 3)
    assert wilson_interval(1, 3) == pytest.approx((0.0615, 0.7923), abs=1e-4)


def test_scrap_learning_and_its_cost(tiny) -> None:
    s = scrap_learning(tiny.followups, tiny.costs, min_group_size=1).iloc[0]
    assert (s["n_followed"], s["n_applied"]) == (3, 1)  # the 1-month follow-ups (within six weeks): E1 applied, E2 and E6 not
    assert s["scrap_share"] == pytest.approx(2 / 3) and s["program_cost"] == 1500 and s["scrap_cost"] == pytest.approx(1000)
    lo, hi = wilson_interval(1, 3)
    assert (s["scrap_low"], s["scrap_high"]) == pytest.approx((1 - hi, 1 - lo))
    assert scrap_learning(None).empty


# ---------------------------------------------------------------- Kirkpatrick
ATT = pd.DataFrame({"program_id": ["P1"], "kpi": ["sales"], "unit": ["CNY"], "att": [2.4], "se": [0.5], "ci_low": [1.4], "ci_high": [3.4],
                    "p_value": [0.001], "n_trainees": [6], "n_controls": [2]})
ROI = pd.DataFrame({"program_id": ["P1"], "participants": [6], "cost_total": [1500.0], "benefit_median": [3000.0], "roi_pct_median": [100.0],
                    "roi_pct_low": [20.0], "roi_pct_high": [180.0], "p_roi_positive": [0.97]})


def test_kirkpatrick_ladder_levels(tiny) -> None:
    lad = kirkpatrick_ladder(tiny, att_by_program=ATT, roi_by_program=ROI, dynamic_profile=DYNAMIC, min_group_size=1).set_index("measure")
    assert lad.loc["reaction score", "value"] == pytest.approx(4.0) and lad.loc["reaction score", "people"] == 4
    assert lad.loc["response rate", "value"] == pytest.approx(4 / 6)
    assert lad.loc["exam pass rate", "value"] == pytest.approx(3 / 4)
    assert lad.loc["exam score", "value"] == pytest.approx(71.25)
    assert lad.loc["c1 gain", "value"] == pytest.approx(0.5) and lad.loc["c1 gain", "level"] == 2
    assert lad.loc["c1 change vs comparison", "value"] == pytest.approx(0.5) and lad.loc["c1 change vs comparison", "level"] == 3
    assert lad.loc["applied at 1 month", "value"] == pytest.approx(1 / 3)
    assert lad.loc["KPI change at 3 months vs comparison", "value"] == 3.0
    l4 = lad[lad["level"] == 4].iloc[0]
    assert (l4["value"], l4["ci_low"], l4["ci_high"], l4["status"]) == (2.4, 1.4, 3.4, "measured")
    l5 = lad[lad["level"] == 5].iloc[0]
    assert (l5["value"], l5["ci_low"], l5["ci_high"]) == pytest.approx((1.0, 0.2, 1.8))
    assert lad["definition"].str.len().min() > 10


def test_missing_results_say_not_yet_measured(tiny) -> None:
    lad = kirkpatrick_ladder(tiny, min_group_size=1)
    top = lad[lad["level"] >= 4]
    assert (top["status"] == "not yet measured").all() and top["value"].isna().all()
    card = compute_scorecard(tiny, min_group_size=1)
    words = " ".join(signals(card, lad).not_measured)
    assert "L4 results" in words and "L5 ROI" in words


def test_funnel_hand_counts(tiny) -> None:
    f = funnel(tiny, min_group_size=1).set_index("stage")
    assert f.loc["trainees", "people"] == 6
    assert f.loc["satisfied (L1)", "people"] == 3 and f.loc["passed the exam (L2)", "share"] == pytest.approx(3 / 6)
    assert f.loc["applied on the job (L3)", "people"] == 2


def test_signals_strongest_and_weakest(card) -> None:
    sig = signals(card)
    assert len(sig.strongest) == 3 and len(sig.weakest) == 3
    assert not set(sig.strongest["name"]) & set(sig.weakest["name"])
    assert sig.strongest["attainment"].is_monotonic_decreasing and sig.weakest["attainment"].is_monotonic_increasing
    assert sig.weakest["attainment"].max() <= sig.strongest["attainment"].min()
    assert all(("trend" in s or "improving" in s or "worsening" in s or "periods" in s) for s in sig.strongest["sentence"])


# ---------------------------------------------------------------- the page
def test_build_report_with_upstream_results(tiny) -> None:
    from analysis.scorecard.figures import attainment_chart, kirkpatrick_funnel, transfer_profile
    from analysis.scorecard.page import UpstreamResults, build_scorecard_report, format_by_unit, truth_table

    up = UpstreamResults(att_by_program=ATT, dynamic_profile=DYNAMIC, roi_by_program=ROI, sources={"02": "this run", "03": "this run"})
    rep = build_scorecard_report(tiny, up, min_group_size=1)
    assert (rep.ladder.loc[rep.ladder["level"] >= 4, "status"] == "measured").all()
    assert rep.transfer.set_index(["months_after", "measure"]).loc[(3, "kpi_change_vs_comparison"), "value"] == 3.0
    s = rep.scored
    counts = s["status"].value_counts()
    assert rep.headline.startswith(f"Of {len(s)} scorecard KPIs with data and a target, {counts.get('on track', 0)} are on track")
    assert truth_table(tiny, rep) is None  # no ground_truth.json beside the tiny data
    shown = format_by_unit(rep.ladder, ["value"])
    assert shown.set_index("measure").loc["exam pass rate", "value"] == "75.0%"
    assert shown.set_index("measure").loc["ROI", "value"] == "100.0%"
    fig = attainment_chart(s)
    assert fig.axes[0].get_title() == f"{counts.get('on track', 0)} of {len(s)} scored KPIs are on track, {counts.get('off track', 0)} off track"
    assert "L4 +¥2 per month" in " ".join(t.get_text() for t in kirkpatrick_funnel(rep.funnel, rep.ladder).axes[0].texts)
    assert len(transfer_profile(rep.transfer).axes) == 1


def test_row_order_does_not_matter(tiny, card) -> None:
    shuffled = {name: df.sample(frac=1.0, random_state=3) for name, df in tiny.tables.items()}
    other = compute_scorecard(shuffled, min_group_size=1)
    pd.testing.assert_frame_equal(card.values, other.values)


def test_money_inputs_scale(tiny, card) -> None:
    tables = dict(tiny.tables)
    inputs = tables["scorecard_inputs"].copy()
    rev = inputs["kpi"] == "training_revenue"
    inputs.loc[rev, ["value", "target"]] *= 7.0
    tables["scorecard_inputs"] = inputs
    scaled = compute_scorecard(tables, min_group_size=1)
    assert scaled.value("revenue_per_employee", "2024-Q2") == pytest.approx(7 * card.value("revenue_per_employee", "2024-Q2"))
    assert scaled.value("revenue_attainment", "2024-Q2") == pytest.approx(card.value("revenue_attainment", "2024-Q2"))  # a ratio


def test_tdrp_report_carries_scrap_learning(tiny) -> None:
    from analysis.scorecard.page import build_scorecard_report

    rep = build_scorecard_report(tiny, min_group_size=1)
    t = rep.tdrp_report()
    scrap = t[t["label"].str.startswith("Scrap learning")].iloc[0]
    assert scrap["tdrp"] == "efficiency" and scrap["last_actual"] == pytest.approx(2 / 3)
    assert t[t["label"].str.startswith("Cost of scrap")].iloc[0]["last_actual"] == pytest.approx(1000.0)
    assert list(t["tdrp"].astype(str).drop_duplicates()) == ["efficiency", "effectiveness", "outcome"]


def test_notebook_declares_its_dependencies() -> None:
    import json

    nb = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / "04_scorecard.ipynb").read_text(encoding="utf-8"))
    assert nb["metadata"]["kit"]["depends_on"] == ["02_training_attribution", "03_roi_budget"]
    assert "parameters" in nb["cells"][1]["metadata"]["tags"]


def test_competency_change_by_months_after_training(tiny) -> None:
    from analysis.scorecard.loop import competency_change_by_months

    c = competency_change_by_months(tiny, min_group_size=1).set_index("months_after")
    # months from the end of training to the June assessment: E1 4.4, E2 3.5, E4 2.7 (about 3 months), E6 0.4 (about 1)
    assert (c.loc[3, "n_trainees"], c.loc[1, "n_trainees"], c.loc[6, "n_trainees"]) == (3, 1, 0)
    assert c.loc[3, "change_vs_comparison"] == pytest.approx((1.0 + 0.5 + 0.0) / 3 - 0.0)
    assert c.loc[1, "change_vs_comparison"] == pytest.approx(0.5)
    assert np.isnan(c.loc[6, "change_vs_comparison"])
    t = transfer_layer(None, None, competency=competency_change_by_months(tiny, min_group_size=1)).set_index(["months_after", "measure"])
    assert t.loc[(3, "competency_change_vs_comparison"), "value"] == pytest.approx(0.5)


def test_kpi_values_never_show_a_negative_zero():
    """A -0.004 effect was shown as "-0.00 errors per 100 orders" beside page 02's -0.004."""
    from analysis.scorecard.signals import format_value

    unit = "errors per 100 orders"
    assert format_value(-0.004, unit) == "-0.004 errors per 100 orders"
    assert format_value(0.0042, unit, bare=True) == "0.004"
    assert format_value(-0.0, unit) == "0.00 errors per 100 orders"
    assert format_value(-0.10, unit) == "-0.10 errors per 100 orders"
    assert format_value(12.34, unit) == "12.3 errors per 100 orders"
    assert format_value(-1234.5, "CNY") == "-¥1,234"
    for v in (-0.0049, -0.0004, 0.003, -0.02):
        shown = float(format_value(v, unit, bare=True))
        assert shown != 0 and (shown < 0) == (v < 0)
