"""The sample generator: reproducible, every confound present and switchable, truth consistent."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.data import load_dataset
from analysis.sample import MARKET_UPSWING, REGIONS, SampleConfig, generate, write_sample

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
SMALL = SampleConfig(n_employees=3000, n_months=24, seed=11)


@pytest.fixture(scope="module")
def small():
    return generate(SMALL)


def test_regenerating_reproduces_shipped_sample(tmp_path: Path) -> None:
    shipped = json.loads((SAMPLE / "ground_truth.json").read_text(encoding="utf-8"))
    config = SampleConfig(**shipped["config"])
    assert config == SampleConfig(), "data/sample is the default configuration"
    out = write_sample(tmp_path / "regen", config)
    for csv in sorted(SAMPLE.glob("*.csv")):
        pd.testing.assert_frame_equal(pd.read_csv(out / csv.name), pd.read_csv(csv), check_exact=True, obj=csv.name)
    assert sorted(p.name for p in out.glob("*.csv")) == sorted(p.name for p in SAMPLE.glob("*.csv"))
    assert json.loads((out / "ground_truth.json").read_text(encoding="utf-8")) == shipped
    assert (out / "README.md").read_text(encoding="utf-8") == (SAMPLE / "README.md").read_text(encoding="utf-8")


def test_seed_determines_data() -> None:
    a, b, c = (generate(SampleConfig(n_employees=300, seed=s)) for s in (1, 1, 2))
    pd.testing.assert_frame_equal(a.tables["kpi_monthly"], b.tables["kpi_monthly"])
    assert not a.tables["kpi_monthly"]["value"].equals(c.tables["kpi_monthly"]["value"])


def test_generated_tables_pass_the_contract(tmp_path: Path) -> None:
    ds = load_dataset(write_sample(tmp_path / "s", SampleConfig(n_employees=400, seed=3)))
    assert len(ds.tables) == 12


def _trainee_cells(data, program: str = "P01") -> pd.DataFrame:
    kpi = data.ground_truth["programs"][program]["kpi"]
    enr = data.tables["enrollments"]
    first = enr[enr["program_id"] == program].groupby("employee_id")["start_date"].min().dt.to_period("M").dt.to_timestamp()
    rows = data.tables["kpi_monthly"]
    rows = rows[rows["kpi"] == kpi].copy()
    rows["cohort_month"] = rows["employee_id"].map(first)
    rows["event_time"] = (rows["month"].dt.year - rows["cohort_month"].dt.year) * 12 + rows["month"].dt.month - rows["cohort_month"].dt.month
    return rows


def test_overall_att_is_cohort_size_weighted_mean_of_att_gt(small) -> None:
    for program, truth in small.ground_truth["programs"].items():
        cells = pd.DataFrame(truth["att_gt"])
        rows = _trainee_cells(small, program)
        start = pd.Timestamp(SMALL.start_month)
        cohort = ((rows["cohort_month"].dt.year - start.year) * 12 + rows["cohort_month"].dt.month - start.month + 1)
        sizes = rows.assign(cohort=cohort).dropna(subset=["cohort_month"]).groupby("cohort")["employee_id"].nunique()
        weights = cells["cohort"].map(sizes)
        # cells are rounded to 6 decimals in the JSON; the weighted mean of the rounded cells agrees to that precision
        assert truth["overall_att"] == pytest.approx(np.average(cells["att"], weights=weights), abs=1e-5)
    assert small.ground_truth["programs"]["P03"]["overall_att"] == 0.0
    assert small.ground_truth["programs"]["P01"]["overall_att"] > 0


def _dip(data) -> float:
    """Trainees' KPI at event time -1 minus -2, net of the same months' never-trained change."""
    rows = _trainee_cells(data)
    never = rows[rows["cohort_month"].isna()].groupby("month")["value"].mean()
    pre = rows[rows["event_time"].isin([-2, -1])].copy()
    pre["net"] = pre["value"] - pre["month"].map(never)
    wide = pre.pivot_table(index="employee_id", columns="event_time", values="net").dropna()
    return float((wide[-1] - wide[-2]).mean())


def test_mean_reversion_dip_is_switchable(small) -> None:
    with_dip = _dip(small)
    without = _dip(generate(replace(SMALL, mean_reversion=False)))
    assert with_dip < -1500, "trainees are sent after a bad month: a clear dip at event time -1"
    assert abs(without) < 1200, "without selection on the dip there is none (noise SE about 600)"


def test_market_shock_switch(small) -> None:
    off = generate(replace(SMALL, market_shocks=False))
    bump = small.tables["context_monthly"].assign(
        bump=small.tables["context_monthly"]["market_index"] - off.tables["context_monthly"]["market_index"]
    )
    start = pd.Timestamp(SMALL.start_month)
    bump["period"] = (bump["month"].dt.year - start.year) * 12 + bump["month"].dt.month - start.month + 1
    bump["since_rollout"] = bump["period"] - bump["region"].map(small.ground_truth["region_rollout_period"])
    size = bump["region"].map(dict(zip(REGIONS, MARKET_UPSWING)))
    window = small.ground_truth["rollout_window_months"]
    before = bump[bump["since_rollout"] <= -3]
    after = bump[bump["since_rollout"] >= window + 2]
    assert (before["bump"] < 0.1 * size[before.index]).all(), "almost no upswing well before a region's roll-out"
    assert (after["bump"] > 0.9 * size[after.index]).all(), "the full upswing once the roll-out is done"
    early, late = bump[bump["region"] == REGIONS[0]], bump[bump["region"] == REGIONS[-1]]
    assert early["bump"].max() > 3 * late["bump"].max(), "the earliest region gets the largest upswing"
    assert off.tables["context_monthly"]["market_index"].between(90, 110).all()


def test_churn_and_staggering_switches(small) -> None:
    assert small.tables["employees"]["exit_date"].notna().sum() > 200
    assert generate(replace(SMALL, churn=False)).tables["employees"]["exit_date"].notna().sum() == 0
    assert small.tables["enrollments"]["start_date"].dt.to_period("M").nunique() >= 10
    enr = generate(replace(SMALL, staggered=False)).tables["enrollments"]
    first = enr.groupby(["employee_id", "program_id"])["start_date"].min().dt.to_period("M")
    assert first.nunique() == 1, "without staggering every trainee's first run starts in the same month"


def test_exam_signal_switch(small) -> None:
    bands = {b["band"]: b["att"] for b in small.ground_truth["programs"]["P01"]["att_exam_band"]}
    assert bands["<60"] < bands["60-80"] < bands[">=80"]
    flat = {b["band"]: b["att"] for b in generate(replace(SMALL, exam_signal=False)).ground_truth["programs"]["P01"]["att_exam_band"]
            if b["band"] != "no exam result"}  # drop-outs (20% of the effect) and runs still in progress
    assert max(flat.values()) - min(flat.values()) < 0.15 * np.mean(list(flat.values()))


def _gap_kpi_correlation(data) -> float:
    assess = data.tables["assessments"]
    req = data.tables["role_requirements"]
    emp = data.tables["employees"].set_index("employee_id")
    # baseline assessments only: the review after training would mix the training's gain into the gap
    assess = assess.sort_values("assessed_on").drop_duplicates(["employee_id", "competency"])
    a = assess.assign(role=assess["employee_id"].map(emp["role"])).merge(req, on=["role", "competency"])
    a["gap"] = (a["required_level"] - a["score"]).clip(lower=0) * a["weight"]
    gap = a.groupby("employee_id")["gap"].sum()
    kpi = data.tables["kpi_monthly"]
    sales = kpi[kpi["kpi"] == "sales"].groupby("employee_id")["value"].mean()
    return float(pd.concat([gap, sales], axis=1, join="inner").corr().iloc[0, 1])


def test_competency_gap_explains_kpi_shortfall(small) -> None:
    assert _gap_kpi_correlation(small) < -0.3, "measured gaps go with lower sales"
    assert abs(_gap_kpi_correlation(generate(replace(SMALL, competency_gaps=False)))) < 0.1


def test_naive_before_after_is_biased_up(small) -> None:
    rows = _trainee_cells(small).dropna(subset=["cohort_month"])
    post = rows[rows["event_time"] >= 0].groupby("employee_id")["value"].mean()
    pre = rows[rows["event_time"] < 0].groupby("employee_id")["value"].mean()
    naive = float((post - pre).dropna().mean())
    truth = small.ground_truth["programs"]["P01"]["overall_att"]
    assert naive > 1.5 * truth
