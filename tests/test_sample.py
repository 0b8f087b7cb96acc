"""The sample generator: reproducible, every confound present and switchable, truth consistent with the tables."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.contract import COST_CATEGORIES, TABLES
from analysis.data import load_dataset
from analysis.sample import REGIONS, SampleConfig, SampleData, cli, generate, rollout_schedule, write_sample

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
BIG = SampleConfig(n_employees=6000, seed=11)
PROGRAM_KPI = {"P01": "sales", "P02": "tickets_resolved", "P03": "error_rate"}


@pytest.fixture(scope="module")
def big() -> SampleData:
    return generate(BIG)


@pytest.fixture(scope="module")
def shipped() -> SampleData:
    return generate(SampleConfig())


# --------------------------------------------------------------------------- #
# helpers working on the tables (what an analyst sees)
# --------------------------------------------------------------------------- #
def _period(months: pd.Series, start: str) -> np.ndarray:
    s = pd.Timestamp(start)
    return ((months.dt.year - s.year) * 12 + months.dt.month - s.month + 1).to_numpy()


def _wide(data: SampleData, program: str, config: SampleConfig) -> tuple[pd.DataFrame, pd.Series]:
    """Employee x period matrix of the program's KPI and each employee's cohort (0 = never)."""
    kpi = data.tables["kpi_monthly"]
    kpi = kpi[kpi["kpi"] == PROGRAM_KPI[program]]
    y = kpi.assign(period=_period(kpi["month"], config.start_month)).pivot(index="employee_id", columns="period", values="value")
    enr = data.tables["enrollments"]
    first = enr[enr["program_id"] == program].groupby("employee_id")["start_date"].min()
    cohort = pd.Series(_period(first, config.start_month), index=first.index).reindex(y.index).fillna(0).astype(int)
    return y, cohort


def _did(y: pd.DataFrame, cohort: pd.Series, strata: np.ndarray, anticipation: int) -> float:
    """Stratified DiD with never-trained controls, comparison month g-1-anticipation; CS simple aggregation."""
    Y, g = y.to_numpy(), cohort.to_numpy()
    T = Y.shape[1]
    ns = int(strata.max()) + 1
    atts, weights = [], []
    for gg in np.unique(g[g > 0]):
        base = gg - 1 - anticipation
        if base < 1:
            continue
        for t in range(gg, T + 1):
            d = Y[:, t - 1] - Y[:, base - 1]
            ok = ~np.isnan(d)
            tr, co = ok & (g == gg), ok & (g == 0)
            ct, cc = np.bincount(strata[tr], minlength=ns), np.bincount(strata[co], minlength=ns)
            use = (ct > 0) & (cc > 0)
            if not ct[use].sum():
                continue
            gap = np.bincount(strata[tr], d[tr], ns) / np.maximum(ct, 1) - np.bincount(strata[co], d[co], ns) / np.maximum(cc, 1)
            atts.append((ct[use] * gap[use]).sum() / ct[use].sum())
            weights.append((g == gg).sum())
    return float(np.average(atts, weights=weights))


def _dip(data: SampleData, config: SampleConfig, program: str = "P01") -> float:
    """Trainees' KPI change from event time -2 to -1, net of the never-trained's change in the same months."""
    y, cohort = _wide(data, program, config)
    Y, g = y.to_numpy(), cohort.to_numpy()
    never = np.nanmean(np.where((g == 0)[:, None], Y, np.nan), axis=0)
    rows = np.nonzero(g >= 3)[0]
    change = (Y[rows, g[rows] - 2] - never[g[rows] - 2]) - (Y[rows, g[rows] - 3] - never[g[rows] - 3])
    return float(np.nanmean(change))


# --------------------------------------------------------------------------- #
# reproducibility and the shipped folder
# --------------------------------------------------------------------------- #
def test_regenerating_reproduces_shipped_sample(tmp_path: Path) -> None:
    truth = json.loads((SAMPLE / "ground_truth.json").read_text(encoding="utf-8"))
    config = SampleConfig(**truth["config"])
    assert config == SampleConfig(), "data/sample is the default configuration"
    out = write_sample(tmp_path / "regen", config)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in SAMPLE.iterdir())
    assert sorted(p.stem for p in SAMPLE.glob("*.csv")) == sorted(TABLES)
    for csv in sorted(SAMPLE.glob("*.csv")):
        pd.testing.assert_frame_equal(pd.read_csv(out / csv.name), pd.read_csv(csv), check_exact=True, obj=csv.name)
    assert json.loads((out / "ground_truth.json").read_text(encoding="utf-8")) == truth
    assert (out / "README.md").read_text(encoding="utf-8") == (SAMPLE / "README.md").read_text(encoding="utf-8")


def test_shipped_sample_loads_and_its_truth_is_the_readme_table() -> None:
    ds = load_dataset(SAMPLE)
    assert set(ds.tables) == set(TABLES)
    for name in TABLES:
        assert len(ds.tables[name]) == len(pd.read_csv(SAMPLE / f"{name}.csv")), name
    truth = json.loads((SAMPLE / "ground_truth.json").read_text(encoding="utf-8"))
    readme = (SAMPLE / "README.md").read_text(encoding="utf-8")
    for program, p in truth["programs"].items():
        assert f"| {program} | {p['department']} | {p['kpi']} | {p['n_trainees']} |" in readme
        assert f"{p['overall_att']:,.2f}" in readme
    assert "y[i,t] = α[i]" in readme and "anticipation=1" in readme


def test_seed_determines_data() -> None:
    a, b, c = (generate(SampleConfig(n_employees=300, seed=s)) for s in (1, 1, 2))
    for name in TABLES:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name], obj=name)
    assert a.ground_truth == b.ground_truth
    assert not a.tables["kpi_monthly"]["value"].equals(c.tables["kpi_monthly"]["value"])
    assert not a.tables["employees"]["hire_date"].equals(c.tables["employees"]["hire_date"])
    assert a.ground_truth["programs"]["P01"]["overall_att"] != c.ground_truth["programs"]["P01"]["overall_att"]


@pytest.mark.parametrize(
    "config",
    [
        SampleConfig(n_employees=300, seed=3),
        SampleConfig(n_employees=150, n_months=12, seed=4),
        SampleConfig(n_employees=300, seed=5, mean_reversion=False, market_shocks=False, staggered=False, heterogeneous_effects=False,
                     churn=False, exam_signal=False, competency_gaps=False, low_performer_selection=False),
    ],
    ids=["small", "tiny-12-months", "every-switch-off"],
)
def test_generated_tables_pass_the_contract(tmp_path: Path, config: SampleConfig) -> None:
    ds = load_dataset(write_sample(tmp_path / "s", config))
    assert set(ds.tables) == set(TABLES)
    assert len(ds.tables["employees"]) == config.n_employees
    assert len(ds.months) == config.n_months
    assert not [w for w in ds.warnings if "before the employee's hire_date" in w.message]


def test_cli_writes_switched_sample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    code = cli(["--employees", "200", "--months", "14", "--seed", "3", "--no-mean-reversion", "--no-churn", "--out", str(out)])
    assert code == 0 and "true ATT" in capsys.readouterr().out
    truth = json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))
    expected = vars(SampleConfig(n_employees=200, n_months=14, seed=3, mean_reversion=False, churn=False))
    # n_cohorts is written only when set, so the default sample's ground truth stays as it was
    assert truth["config"] == {k: v for k, v in expected.items() if k != "n_cohorts"}
    assert "--no-mean-reversion --no-churn" in (out / "README.md").read_text(encoding="utf-8")
    assert pd.read_csv(out / "employees.csv")["exit_date"].isna().all()
    with pytest.raises(SystemExit):
        cli(["--employees", "20", "--out", str(tmp_path / "bad")])
    assert not (tmp_path / "bad").exists()
    from analysis.__main__ import main

    assert main(["sample", "--employees", "150", "--months", "12", "--out", str(tmp_path / "main")]) == 0
    assert (tmp_path / "main" / "kpi_monthly.csv").exists()


# --------------------------------------------------------------------------- #
# plausibility
# --------------------------------------------------------------------------- #
def test_tables_are_plausible(shipped: SampleData) -> None:
    t = shipped.tables
    emp = t["employees"].set_index("employee_id")
    assert emp.index.str.fullmatch(r"E\d{5}").all()
    kpi = t["kpi_monthly"].join(emp["department"], on="employee_id")
    assert kpi.groupby("kpi")["department"].nunique().eq(1).all(), "each KPI belongs to one department"
    assert (kpi["value"] >= 0).all()
    sales = kpi.loc[kpi["kpi"] == "sales", "value"]
    assert 80_000 < sales.mean() < 120_000 and (sales == 0).mean() < 0.001
    assert t["programs"]["kpi"].is_unique, "no two programs aim at the same KPI"
    teams = emp[emp["role"] != "Team Lead"].groupby("manager_id").size()
    assert 6 <= teams.median() <= 14
    lead_of = emp.loc[emp["manager_id"].dropna().index, ["department", "region"]]
    lead = emp.loc[emp["manager_id"].dropna(), ["department", "region"]].set_axis(lead_of.index)
    assert (lead_of == lead).all().all(), "a team lead leads staff of the own department and region"
    assert (t["costs"].groupby(["program_id", "period"])["category"].apply(set) == set(COST_CATEGORIES)).all()
    assert (t["costs"]["amount"] > 0).all()
    enr = t["enrollments"]
    took = enr["exam_score"].notna()
    assert (enr.loc[took, "exam_passed"].astype(bool) == (enr.loc[took, "exam_score"] >= 60)).all()
    assert (enr.loc[enr["status"] == "failed", "exam_passed"] == False).all()  # noqa: E712
    assert enr.duplicated(["employee_id", "program_id"]).sum() > 0, "some who failed take the program again"
    assert set(t["headcount_plan"]["unit"]) == set(emp["department"])
    for program, p in shipped.ground_truth["programs"].items():
        share = p["n_never_trained"] / (p["n_never_trained"] + p["n_trainees"])
        assert 0.3 <= share <= 0.55, (program, share)


# --------------------------------------------------------------------------- #
# ground truth
# --------------------------------------------------------------------------- #
def test_truth_is_consistent_with_the_tables(big: SampleData) -> None:
    for program, truth in big.ground_truth["programs"].items():
        y, cohort = _wide(big, program, BIG)
        cells = pd.DataFrame(truth["att_gt"])
        sizes = cohort[cohort > 0].value_counts()
        observed = y.notna()
        n_seen = [int((observed[t] & (cohort == g)).sum()) for g, t in zip(cells["cohort"], cells["period"])]
        assert cells["n"].tolist() == n_seen, "n = cohort-g trainees with a KPI row in month t"
        assert (cells["period"] >= cells["cohort"]).all() and (cells["event_time"] == cells["period"] - cells["cohort"]).all()
        weights = cells["cohort"].map(sizes)
        assert truth["overall_att"] == pytest.approx(np.average(cells["att"], weights=weights), abs=1e-5)
        assert truth["n_trainees"] == int(sizes.sum())
        dyn = cells.assign(w=weights).groupby("event_time").apply(lambda f: np.average(f["att"], weights=f["w"]), include_groups=False)
        assert [r["att"] for r in truth["att_event_time"]] == pytest.approx(dyn.tolist(), abs=1e-5)
        assert [r["att"] for r in truth["att_cohort"]] == pytest.approx(cells.groupby("cohort")["att"].mean().tolist(), abs=1e-5)
        assert sum(b["n_trainees"] for b in truth["att_exam_band"]) == truth["n_trainees"]
    p03 = big.ground_truth["programs"]["P03"]
    assert p03["overall_att"] == 0.0 and all(c["att"] == 0.0 for c in p03["att_gt"])
    assert big.ground_truth["programs"]["P01"]["overall_att"] > 2_000 and big.ground_truth["programs"]["P02"]["overall_att"] > 10


def test_truth_is_the_mean_of_individual_effects(big: SampleData) -> None:
    lat = big.latent
    for program, truth in big.ground_truth["programs"].items():
        dept = {"P01": "Sales", "P02": "Customer Service", "P03": "Operations"}[program]
        for cell in truth["att_gt"][:: max(1, len(truth["att_gt"]) // 15)]:
            who = (lat["department"] == dept) & (lat["cohort"] == cell["cohort"]) & lat["observed"][:, cell["period"] - 1]
            assert who.sum() == cell["n"]
            assert cell["att"] == pytest.approx(lat["tau"][who, cell["period"] - 1].mean(), abs=1e-5)


def test_naive_before_after_is_biased_upward(shipped: SampleData) -> None:
    """The sample contains the confounds: trainees' post-minus-pre mean overstates the truth."""
    for program in ("P01", "P02"):
        y, cohort = _wide(shipped, program, SampleConfig())
        Y, g = y.to_numpy(), cohort.to_numpy()
        per = np.arange(1, Y.shape[1] + 1)[None, :]
        tr = g > 0
        post = np.nanmean(np.where(per >= g[:, None], Y, np.nan)[tr], axis=1)
        pre = np.nanmean(np.where(per < g[:, None], Y, np.nan)[tr], axis=1)
        naive = np.nanmean(post - pre)
        assert naive > 1.8 * shipped.ground_truth["programs"][program]["overall_att"], program


# --------------------------------------------------------------------------- #
# confounds and their switches
# --------------------------------------------------------------------------- #
def test_mean_reversion_dip_only_at_event_time_minus_one(big: SampleData) -> None:
    off = generate(replace(BIG, mean_reversion=False))
    eps, g, dept = big.latent["eps"], big.latent["cohort"], big.latent["department"]
    # the transitory sd of monthly sales, measured where no slump is added (never-trained sales staff)
    sigma = float(eps[(dept == "Sales") & (g == 0)].std())
    assert _dip(big, BIG) < -0.8 * sigma, "sent after a bad month: a slump at event time -1"
    assert abs(_dip(off, BIG)) < 0.1 * sigma, "without it no slump (noise SE about 0.04 sd)"
    # the ground truth states the slump the data contain: sales trainees' transitory noise at event time -1
    rows_tr = np.nonzero((dept == "Sales") & (g >= 2))[0]
    at_minus_one = eps[rows_tr, g[rows_tr] - 2]
    stated = big.ground_truth["programs"]["P01"]["pre_training_dip"]
    assert stated == pytest.approx(float(at_minus_one.mean()), abs=4 * sigma / np.sqrt(len(rows_tr)))
    assert stated < -0.8 * sigma
    assert off.ground_truth["programs"]["P01"]["pre_training_dip"] == 0
    assert big.ground_truth["programs"]["P03"]["pre_training_dip"] > 0, "a bad month is a high error rate"
    rows = np.nonzero(g >= 4)[0]
    sd = big.latent["eps"][big.latent["department"] == "Sales"].std()
    sales = big.latent["department"][rows] == "Sales"
    for e, expected in ((-3, 0.0), (-2, 0.0), (0, 0.0)):
        assert eps[rows[sales], g[rows[sales]] - 1 + e].mean() / sd == pytest.approx(expected, abs=0.1), e


def test_comparison_before_the_dip_within_region_and_tenure_is_unbiased() -> None:
    """The documented promise: anchored on g-2 within region (and tenure) the never-trained are valid controls."""
    cfg = SampleConfig(n_employees=12_000, seed=21, noise_scale=0.1)
    data = generate(cfg)
    emp = data.tables["employees"].set_index("employee_id")
    for program in ("P01", "P02"):
        y, cohort = _wide(data, program, cfg)
        truth = data.ground_truth["programs"][program]["overall_att"]
        region = pd.factorize(emp.loc[y.index, "region"])[0]
        tenure = ((pd.Timestamp(cfg.start_month) - emp.loc[y.index, "hire_date"]).dt.days / 30.44).to_numpy()  # months at start
        strata = region * 20 + np.digitize(tenure, [-18, -12, -6, -3, 0, 3, 6, 12, 24, 48])
        before_dip = _did(y, cohort, strata, anticipation=1)
        assert before_dip == pytest.approx(truth, rel=0.04), program
        slump = abs(data.ground_truth["programs"][program]["pre_training_dip"])
        assert _did(y, cohort, strata, anticipation=0) - before_dip == pytest.approx(slump, rel=0.3), "anchored on the slump, the rebound is credited"
        assert _did(y, cohort, np.zeros(len(y), dtype=int), anticipation=1) > truth * 1.08, "pooling regions lets the market in"


def test_market_shocks_line_up_with_rollout(big: SampleData) -> None:
    off = generate(replace(BIG, market_shocks=False))
    on_ctx, off_ctx = (d.tables["context_monthly"].set_index(["region", "month"])["market_index"] for d in (big, off))
    bump = (on_ctx - off_ctx).rename("bump").reset_index()
    bump["period"] = _period(bump["month"], BIG.start_month)
    opens, window = rollout_schedule(BIG.n_months)
    first_open = dict(zip(REGIONS, opens))
    assert big.ground_truth["region_rollout_period"] == {r: int(o) for r, o in first_open.items()}
    bump["rel"] = bump["period"] - bump["region"].map(first_open)
    assert (bump.loc[bump["rel"] < -4, "bump"].abs() < 1.0).all(), "no upswing long before a region's roll-out"
    late = bump[bump["rel"] > window + 3].groupby("region")["bump"].mean()
    assert list(late.reindex(REGIONS)) == sorted(late, reverse=True), "earliest roll-out, biggest upswing"
    assert late["East"] > 8


def test_churn_switch() -> None:
    cfg = SampleConfig(n_employees=1000, seed=5)
    on, off = generate(cfg), generate(replace(cfg, churn=False))
    staff = on.tables["employees"]["role"] != "Team Lead"
    assert 0.1 < on.tables["employees"].loc[staff, "exit_date"].notna().mean() < 0.35
    assert 0.1 < (on.tables["employees"].loc[staff, "hire_date"] >= cfg.start_month).mean() < 0.2
    assert off.tables["employees"]["exit_date"].isna().all()
    assert (off.tables["employees"]["hire_date"] < cfg.start_month).all()
    assert off.tables["kpi_monthly"].groupby("employee_id").size().eq(cfg.n_months).all(), "a balanced panel"


def test_staggered_switch(big: SampleData) -> None:
    months = big.tables["enrollments"].groupby(["employee_id", "program_id"])["start_date"].min().dt.to_period("M")
    periods = sorted({(m.year - 2024) * 12 + m.month for m in months})
    assert len(periods) >= 12 and min(periods) >= 3 and max(periods) <= BIG.n_months - 6
    one = generate(replace(BIG, staggered=False)).tables["enrollments"].groupby(["employee_id", "program_id"])["start_date"].min()
    assert one.dt.to_period("M").nunique() == 1


def test_heterogeneous_effects_switch(big: SampleData) -> None:
    p = big.ground_truth["programs"]["P01"]
    cells = pd.DataFrame(p["att_gt"])
    first_months = cells[cells["event_time"].between(0, 5)].groupby("cohort")["att"].mean()
    assert first_months.iloc[:3].mean() > 1.5 * first_months.iloc[-3:].mean(), "early cohorts gain more"
    dyn = pd.DataFrame(p["att_event_time"]).set_index("event_time")["att"]
    assert dyn[0] < dyn[1] < dyn[2] and dyn[12] < 0.85 * dyn[3], "grows, then fades"
    flat = generate(replace(BIG, heterogeneous_effects=False)).ground_truth["programs"]["P01"]
    dyn = pd.DataFrame(flat["att_event_time"]).set_index("event_time")["att"].loc[:12]
    cells = pd.DataFrame(flat["att_gt"])
    first_months = cells[cells["event_time"].between(0, 5)].groupby("cohort")["att"].mean()
    assert dyn.max() / dyn.min() < 1.1 and first_months.iloc[:3].mean() / first_months.iloc[-3:].mean() == pytest.approx(1, abs=0.2)


def test_exam_signal_switch(big: SampleData) -> None:
    bands = {b["band"]: b["att"] for b in big.ground_truth["programs"]["P01"]["att_exam_band"]}
    assert bands["<60"] < 0.5 * bands["60-80"] and bands[">=80"] > 1.4 * bands["60-80"]
    passed = {b["group"]: b["att"] for b in big.ground_truth["programs"]["P01"]["att_exam_passed"]}
    assert passed["passed"] > 2 * passed["not passed"]
    off = generate(replace(BIG, exam_signal=False)).ground_truth["programs"]["P01"]["att_exam_band"]
    flat = {b["band"]: b["att"] for b in off if b["band"] != "no exam result"}
    assert max(flat.values()) / min(flat.values()) < 1.3
    enr = big.tables["enrollments"].drop_duplicates(["employee_id", "program_id"])
    x = pd.Series(big.latent["learning"], index=big.latent["employee_id"]).reindex(enr["employee_id"]).to_numpy()
    for col, sign in (("exam_score", 1), ("learn_completion", 1), ("practice_error_rate", -1), ("learn_interruptions", -1)):
        r = pd.Series(x).corr(pd.Series(enr[col].to_numpy(dtype=float)))
        assert sign * r > 0.3, col


def _gap_kpi_correlation(data: SampleData) -> float:
    assess = data.tables["assessments"]
    first = assess[assess["assessed_on"] == assess.groupby("employee_id")["assessed_on"].transform("min")]
    emp = data.tables["employees"].set_index("employee_id")
    a = first.assign(role=first["employee_id"].map(emp["role"])).merge(data.tables["role_requirements"], on=["role", "competency"])
    gap = ((a["required_level"] - a["score"]).clip(lower=0) * a["weight"]).groupby(a["employee_id"]).sum()
    kpi = data.tables["kpi_monthly"]
    sales = kpi[kpi["kpi"] == "sales"].groupby("employee_id")["value"].mean()
    return float(pd.concat([gap, sales], axis=1, join="inner").corr().iloc[0, 1])


def test_competency_gaps_explain_kpi_shortfall(big: SampleData) -> None:
    assert _gap_kpi_correlation(big) < -0.35, "measured gaps go with lower sales"
    assert abs(_gap_kpi_correlation(generate(replace(BIG, competency_gaps=False)))) < 0.08
    truth = pd.DataFrame(big.ground_truth["gaps"]["role_competency"]).set_index(["role", "competency"])
    a = big.tables["assessments"]
    tests = a[(a["source"] == "test") & (a["assessed_on"] < BIG.start_month)]
    emp = big.tables["employees"].set_index("employee_id")
    tests = tests.assign(role=tests["employee_id"].map(emp["role"])).merge(big.tables["role_requirements"], on=["role", "competency"])
    measured = (tests["required_level"] - tests["score"]).clip(lower=0).groupby([tests["role"], tests["competency"]]).mean()
    staff = truth.index.get_level_values("role") != "Team Lead"
    assert np.abs(measured.reindex(truth.index[staff]) - truth.loc[staff, "mean_gap"]).max() < 0.15


def test_review_shows_trained_competency_gain(big: SampleData) -> None:
    a = big.tables["assessments"]
    scores = a[a["competency"] == "needs_discovery"].sort_values("assessed_on").groupby("employee_id")["score"].agg(["first", "last", "size"])
    scores = scores[scores["size"] == 2]
    change = scores["last"] - scores["first"]
    enr = big.tables["enrollments"]
    trained_before_review = enr[(enr["program_id"] == "P01") & (enr["start_date"] < "2024-12-01")]["employee_id"]
    never = ~change.index.isin(enr["employee_id"])
    assert change[change.index.isin(trained_before_review)].mean() > change[never].mean() + 0.3
    assert big.tables["employees"].set_index("employee_id").loc[scores.index, "role"].eq("Account Manager").all()


def test_low_performer_selection_switch(big: SampleData) -> None:
    lat = big.latent
    trained = lat["cohort"] > 0
    assert lat["z"][trained].mean() < -0.3 < lat["z"][~trained].mean() + 0.5
    off = generate(replace(BIG, low_performer_selection=False)).latent
    assert abs(off["z"][off["cohort"] > 0].mean()) < 0.08
