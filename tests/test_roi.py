"""ROI: fully loaded cost, benefits from the dynamic profile, ROI distributions — hand-computed values."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.costs import fully_loaded_cost, participants
from analysis.roi import (
    STATUS_INTANGIBLE, STATUS_NO_EFFECT, STATUS_PAID, ROIResult, bcr, benefit_profile, compute_roi, payback_months, program_roi,
    roi_breakdown_m, roi_pct,
)  # fmt: skip
from analysis.validation import DataValidationError

COSTS = pd.DataFrame(
    [("P1", "2024", "design_development", 1000.0), ("P1", "2024", "delivery", 500.0), ("P1", "2024", "participant_time", 300.0),
     ("P1", "2025", "design_development", 200.0), ("P1", "2025", "delivery", 500.0), ("P2", "2025-Q1", "facilitator", 400.0)],
    columns=["program_id", "period", "category", "amount"],
)  # fmt: skip
ENROLLMENTS = pd.DataFrame(
    [("E1", "P1", "failed"), ("E1", "P1", "completed"), ("E2", "P1", "dropped"), ("E3", "P1", "completed"), ("E4", "P2", "completed")],
    columns=["employee_id", "program_id", "status"],
)  # fmt: skip


# ---- fully loaded cost ------------------------------------------------------------------------------------
def test_fully_loaded_cost_by_category_total_and_per_head() -> None:
    ct = fully_loaded_cost(COSTS, ENROLLMENTS)
    t = ct.table
    assert t.loc["P1", "design_development"] == 1200.0 and t.loc["P1", "delivery"] == 1000.0
    assert t.loc["P1", "travel"] == 0.0, "every Phillips category is a column, absent ones 0"
    assert t.loc["P1", "total"] == 2500.0
    # E1 took P1 twice (failed, then completed): one participant, one completer
    assert (t.loc["P1", "participants"], t.loc["P1", "completers"]) == (3, 2)
    assert t.loc["P1", "per_participant"] == pytest.approx(2500 / 3)
    assert t.loc["P1", "per_completer"] == 1250.0
    assert t.loc["P2", "total"] == 400.0 and t.loc["P2", "per_participant"] == 400.0
    assert not ct.prorated and "in full" in ct.notes[0]


def test_proration_of_design_over_program_life() -> None:
    ct = fully_loaded_cost(COSTS, ENROLLMENTS, program_life_years=4)
    # P1's cost rows cover 2 calendar years: 2/4 of its 1,200 design and development counts
    assert ct.table.loc["P1", "design_development"] == 600.0
    assert ct.table.loc["P1", "total"] == 1900.0
    assert ct.prorated and "prorated over a program life of 4 years" in ct.notes[0]
    # a life shorter than the records counts all of it
    assert fully_loaded_cost(COSTS, ENROLLMENTS, program_life_years=1).table.loc["P1", "total"] == 2500.0


@pytest.mark.parametrize(
    ("row", "column", "words"),
    [
        (("P1", "2025", "materials", -5.0), "amount", "negative amount"),
        (("P1", "2025", "materials", np.nan), "amount", "missing or non-numeric amount"),
        (("P1", "2025", "snacks", 10.0), "category", "outside the contract"),
        (("P9", "2025", "materials", 10.0), "program_id", "have costs but no enrollments"),
    ],
)
def test_bad_costs_name_table_column_and_rows(row: tuple, column: str, words: str) -> None:
    bad = pd.concat([COSTS, pd.DataFrame([row], columns=COSTS.columns)], ignore_index=True)
    with pytest.raises(DataValidationError) as info:
        fully_loaded_cost(bad, ENROLLMENTS)
    err = info.value
    assert (err.table, err.column) == ("costs", column)
    assert words in str(err) and "rows [6]" in str(err)
    assert err.rows is not None and err.rows["row"].tolist() == [6]


def test_participants_count_everyone_who_started() -> None:
    p = participants(ENROLLMENTS)
    assert p.loc["P1"].tolist() == [3, 2] and p.loc["P2"].tolist() == [1, 1]


# ---- formulas ----------------------------------------------------------------------------------------------
def test_roi_bcr_payback_by_hand() -> None:
    assert roi_pct(1500.0, 1000.0) == 50.0
    assert bcr(1500.0, 1000.0) == 1.5
    # monthly 200, 400, 600: cumulative 200, 600, 1,200 -> 1,000 is reached 400/600 into the third month
    assert payback_months(np.array([200.0, 400.0, 600.0, 300.0]), 1000.0)[0] == pytest.approx(2 + 400 / 600)
    assert payback_months(np.array([100.0, 100.0]), 1000.0)[0] == np.inf
    two = payback_months(np.array([[1000.0, 0.0], [250.0, 750.0]]), 500.0)
    assert two.tolist() == [0.5, 1 + 250 / 750]


def test_benefit_profile_counts_fading_and_extrapolates_only_on_request() -> None:
    fading = pd.Series({0: 10.0, 1: 20.0, 2: 30.0, 3: 15.0})
    assert benefit_profile(fading, 6).tolist() == [10, 20, 30, 15, 0, 0]
    assert benefit_profile(fading, 6, "hold_last").tolist() == [10, 20, 30, 15, 15, 15]
    assert benefit_profile(fading, 6, "fade").tolist() == pytest.approx([10, 20, 30, 15, 10, 5])
    assert benefit_profile(fading, 3).tolist() == [10, 20, 30], "months beyond the benefit period do not count"
    assert benefit_profile(pd.Series({0: 5.0, 2: 5.0}), 4).tolist() == [5, 0, 5, 0], "an unmeasured month inside counts 0"
    assert benefit_profile(pd.Series({-2: 99.0, 0: 1.0}), 2).tolist() == [1, 0], "pre-training months never count"


def _draws(profile: pd.Series, factors: list[float]) -> pd.DataFrame:
    return pd.DataFrame([(d + 1, e, f * v) for d, f in enumerate(factors) for e, v in profile.items()], columns=["draw", "event_time", "att"])


def test_program_roi_from_a_fading_profile_and_its_draws() -> None:
    profile = pd.Series({0: 10.0, 1: 20.0, 2: 30.0, 3: 15.0})
    r = program_roi("P1", "sales", cost=1000.0, participants=10, value_per_unit=2.0, higher_is_better=True, profile=profile,
                    draws=_draws(profile, [1.0, 0.0, 2.0]), benefit_months=6)  # fmt: skip
    # 10 people x 2 per unit x (10 + 20 + 30 + 15) = 1,500
    assert r.benefit == 1500.0 and r.roi_pct == 50.0 and r.bcr == 1.5
    assert r.payback_months == pytest.approx(2 + 400 / 600)
    assert r.draws["benefit"].tolist() == [1500.0, 0.0, 3000.0]
    assert r.draws["roi_pct"].tolist() == [50.0, -100.0, 200.0]
    assert r.draws["payback_months"].tolist()[1] == np.inf
    assert r.median() == 50.0 and r.p_positive == pytest.approx(2 / 3)
    lo, hi = r.interval(0.9)
    assert (lo, hi) == pytest.approx((np.quantile([50, -100, 200], 0.05), np.quantile([50, -100, 200], 0.95)))
    assert set(r.conf_int(0.9).index) == {"roi_pct", "bcr", "payback_months", "benefit"}
    # the default level is the stored one, in the intervals and in the sentence
    wide = replace(r, level=0.5)
    assert tuple(wide.conf_int().loc["roi_pct"]) == wide.interval() == pytest.approx(tuple(np.quantile([50, -100, 200], [0.25, 0.75])))
    assert "(50% interval -25% to +125%," in wide.sentence and "90%" not in wide.sentence
    assert r.params["roi_pct"] == 50.0 and r.std_errors["roi_pct"] == pytest.approx(np.std([50, -100, 200], ddof=1))
    assert "ROI of program P1" in r.summary.as_text()


def test_lower_is_better_kpi_gains_from_a_fall() -> None:
    profile = pd.Series({0: -0.5, 1: -0.5})
    r = program_roi("P3", "error_rate", cost=400.0, participants=4, value_per_unit=100.0, higher_is_better=False, profile=profile,
                    draws=_draws(profile, [1.0]), benefit_months=12)  # fmt: skip
    assert r.benefit == 400.0 and r.roi_pct == 0.0 and r.payback_months == 2.0


@settings(max_examples=40, deadline=None)
@given(
    effects=st.lists(st.floats(0.1, 1e4), min_size=1, max_size=12),
    cost=st.floats(10.0, 1e7),
    people=st.integers(1, 5000),
    factor=st.sampled_from([2.0, 3.0, 0.5]),
)
def test_scaling_every_cost_scales_the_bcr_inversely(effects: list[float], cost: float, people: int, factor: float) -> None:
    profile = pd.Series(dict(enumerate(effects)))
    kw = dict(participants=people, value_per_unit=1.5, higher_is_better=True, profile=profile, draws=_draws(profile, [1.0, 0.7]))
    base = program_roi("P", "k", cost=cost, **kw)
    scaled = program_roi("P", "k", cost=cost * factor, **kw)
    assert scaled.bcr == pytest.approx(base.bcr / factor, rel=1e-12)
    assert scaled.draws["bcr"].to_numpy() == pytest.approx(base.draws["bcr"].to_numpy() / factor, rel=1e-12)


def test_roi_breakdown_m_interpolates_between_zero_and_the_breakdown() -> None:
    # the bound falls linearly from 4,000 at M = 0 to 0 at M = 0.4; it reaches the break-even 1,000 at M = 0.3
    assert roi_breakdown_m(0.4, 4000.0, 1000.0) == pytest.approx(0.3)
    assert roi_breakdown_m(0.4, 4000.0, 5000.0) == 0.0, "not above zero even without a violation"
    assert np.isnan(roi_breakdown_m(np.nan, 4000.0, 1000.0))


# ---- the whole ROI table from notebook 02's export schema ---------------------------------------------------
def _exports(profiles: dict[str, dict[int, float]], ci: dict[str, tuple[float, float]], factors: list[float]):
    effects = pd.DataFrame([{"program_id": p, "kpi": k, "att": np.mean(list(v.values())), "ci_low": ci[p][0], "ci_high": ci[p][1],
                             "honest_breakdown_m": 0.5} for p, (k, v) in profiles.items()])  # fmt: skip
    dynamic = pd.DataFrame([(p, k, e, a) for p, (k, v) in profiles.items() for e, a in {-2: 0.0, -1: 0.0, **v}.items()],
                           columns=["program_id", "kpi", "event_time", "att"])  # fmt: skip
    draws = pd.concat([_draws(pd.Series(v), factors).assign(program_id=p, kpi=k) for p, (k, v) in profiles.items()])
    return effects, dynamic, draws


def test_compute_roi_table_statuses_and_intangibles() -> None:
    costs = pd.DataFrame([("P1", "2025", "delivery", 1000.0), ("P2", "2025", "delivery", 400.0), ("P3", "2025", "delivery", 300.0)],
                         columns=["program_id", "period", "category", "amount"])  # fmt: skip
    enr = pd.DataFrame([(f"E{i}", p, "completed") for p, n in (("P1", 10), ("P2", 5), ("P3", 3)) for i in range(n)],
                       columns=["employee_id", "program_id", "status"])  # fmt: skip
    programs = pd.DataFrame({"program_id": ["P1", "P2", "P3"], "kpi": ["sales", "csat", "morale"], "benefit_months": [6, 12, 12]})
    kdef = pd.DataFrame({"kpi": ["sales", "csat", "morale"], "higher_is_better": [True, True, True], "value_per_unit": [2.0, 10.0, np.nan]})
    effects, dynamic, draws = _exports(
        {"P1": ("sales", {0: 10.0, 1: 20.0, 2: 30.0, 3: 15.0}), "P2": ("csat", {0: 0.1, 1: 0.0}), "P3": ("morale", {0: 1.0})},
        {"P1": (5.0, 30.0), "P2": (-0.5, 0.6), "P3": (0.5, 1.5)}, [1.0, 0.9, 1.1, 1.05, 0.95],
    )  # fmt: skip
    rep = compute_roi(fully_loaded_cost(costs, enr), effects=effects, dynamic=dynamic, draws=draws, kpi_definitions=kdef, programs=programs,
                      truth={"P1": 40.0})  # fmt: skip
    t = rep.table.set_index("program_id")
    assert t.loc["P1", "status"] == STATUS_PAID and t.loc["P1", "roi_pct_median"] == pytest.approx(50.0)
    assert t.loc["P1", "cost_total"] == 1000.0 and t.loc["P1", "participants"] == 10
    assert t.loc["P1", "true_roi_pct"] == 40.0 and np.isnan(t.loc["P2", "true_roi_pct"])
    # P2: its effect's 95% interval spans zero -> said so, with its cost
    assert t.loc["P2", "status"] == STATUS_NO_EFFECT
    assert any(s.startswith("P2: no measurable effect") and "¥400" in s for s in rep.sentences)
    # P3: no money value per unit -> intangible, listed with its cost, never an ROI of 0
    assert t.loc["P3", "status"] == STATUS_INTANGIBLE and t.loc["P3", "cost_total"] == 300.0
    assert t.loc[["P3"], ["roi_pct_median", "roi_pct_low", "roi_pct_high", "bcr_median"]].isna().all(axis=None)
    assert rep.intangibles["program_id"].tolist() == ["P3"] and "P3" not in rep.results
    assert list(rep.table.columns[:11]) == ["program_id", "participants", "cost_total", "benefit_median", "roi_pct_median", "roi_pct_low",
                                            "roi_pct_high", "bcr_median", "payback_months_median", "p_roi_positive", "status"]  # fmt: skip
    assert any("intention to treat" in a for a in rep.assumptions)


def test_program_without_effect_estimate_is_not_yet_measured() -> None:
    costs = pd.DataFrame([("P1", "2025", "delivery", 1000.0)], columns=["program_id", "period", "category", "amount"])
    enr = pd.DataFrame([("E1", "P1", "completed")], columns=["employee_id", "program_id", "status"])
    rep = compute_roi(fully_loaded_cost(costs, enr), effects=pd.DataFrame(columns=["program_id", "kpi", "att", "ci_low", "ci_high"]),
                      dynamic=pd.DataFrame(columns=["program_id", "kpi", "event_time", "att"]), draws=None,
                      kpi_definitions=pd.DataFrame({"kpi": ["sales"], "higher_is_better": [True], "value_per_unit": [1.0]}),
                      programs=pd.DataFrame({"program_id": ["P1"], "kpi": ["sales"]}))  # fmt: skip
    row = rep.table.iloc[0]
    assert row["status"] == "not yet measured" and row["cost_total"] == 1000.0 and np.isnan(row["roi_pct_median"])


# ---- the sample: each program's true ROI against its reported 90% interval ------------------------------------------
ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sample_roi(sample_attribution):
    from analysis.data import load_dataset
    from analysis.roi import load_true_roi

    ds = load_dataset(ROOT / "data" / "sample")
    ex = sample_attribution.exports()  # notebook 02's evaluation with its defaults (999 draws, seed 7; tests/conftest.py)
    return compute_roi(fully_loaded_cost(ds.costs, ds.enrollments), effects=ex["att_by_program"], dynamic=ex["dynamic_profile"],
                       draws=ex["event_bootstrap_draws"], kpi_definitions=ds.kpi_definitions, programs=ds.programs,
                       truth=load_true_roi(ROOT / "data" / "sample"))  # fmt: skip


@pytest.mark.parametrize("pid", [
    "P01",
    # measured: true ROI +33.0% lies just below the reported 90% interval (+35.5% to +74.5%; before the tenure curve
    # and cohort-size weights of the estimator it was +43% to +81%). Notebook 02's P02 effect on this sample is 22.39
    # tickets (SE 2.03) against a true 20.16, and every month of its 12-month profile lies above the truth (the
    # months share one comparison group, so their errors move together): one draw of the generator, 1.1 SE high.
    # Across 200 generated data sets like the sample (benchmarks/results/montecarlo_roi.md, notebook 02's and 03's
    # defaults) the 90% ROI interval covers the true ROI 0.92 / 0.90 / 0.925 times (P01 / P02 / P03; P02 misses 10
    # below and 10 above), and all three programs are covered in 159 of the 200 (0.795): a single sample misses a
    # correct 90% interval about one time in ten; reported as found, not tuned. strict: the day the estimate on this
    # sample covers it, this test says so.
    pytest.param("P02", marks=pytest.mark.xfail(strict=True, reason="true ROI +33.0% below the 90% interval +35.5%..+74.5% (see comment)")),
    "P03",
])  # fmt: skip
def test_true_roi_lies_inside_the_reported_90_percent_interval(sample_roi, pid: str) -> None:
    row = sample_roi.table.set_index("program_id").loc[pid]
    assert row["roi_pct_low"] <= row["true_roi_pct"] <= row["roi_pct_high"], (pid, row["true_roi_pct"], row["roi_pct_low"], row["roi_pct_high"])


def test_sample_statuses(sample_roi) -> None:
    t = sample_roi.table.set_index("program_id")
    # the generator's truth: P01 and P02 work (+6,000 CNY, +30 tickets at peak), P03 is a placebo (no effect)
    assert t.loc["P01", "status"] == "paid back" and t.loc["P03", "status"] == "no measurable effect"
    assert t.loc["P01", "true_roi_pct"] == pytest.approx(148.059977) and t.loc["P03", "true_roi_pct"] == -100.0
    assert len(sample_roi.results["P01"].draws) == 999


@pytest.mark.parametrize(("lo", "hi", "clause"), [
    (-230.0, -60.0, "includes -100%, the ROI of no effect"),
    (-230.0, -120.0, "lies below -100%"),
    (-80.0, 20.0, "lies above -100%"),
])  # fmt: skip
def test_no_effect_sentence_states_the_roi_interval_shown_beside_it(lo: float, hi: float, clause: str) -> None:
    """'No benefit can be credited' sits beside a table with an ROI interval: the sentence says where that interval lies."""
    draws = pd.DataFrame({"roi_pct": np.linspace(lo, hi, 1001), "benefit": 0.0, "bcr": 0.0, "payback_months": np.nan})
    r = ROIResult("MW", "lemp", 8000.0, 12, 0.0, -100.0, 0.0, np.nan, draws, status="no measurable effect", effect_measurable=False)
    low, high = r.interval()
    assert clause in r.sentence and f"{low:+.0f}% to {high:+.0f}%" in r.sentence
    assert "no benefit can be credited" in r.sentence and "¥8,000 for 12 participants" in r.sentence


# ---- the draws' benefit profiles in one array: the same floats as one profile at a time --------------------------------
_cell = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64), st.just(float("nan")), st.just(-0.0))


@given(
    values=st.lists(st.lists(_cell, min_size=6, max_size=6), min_size=1, max_size=8),
    columns=st.permutations([0, 1, 2, 3, 5, 8]),
    months=st.integers(1, 14),
    extrapolate=st.sampled_from(["none", "hold_last", "fade"]),
)
@settings(max_examples=300, deadline=None)
def test_benefit_profiles_are_benefit_profile_of_each_row_bit_for_bit(values, columns, months, extrapolate) -> None:
    from analysis.roi import benefit_profiles

    wide = pd.DataFrame(values, columns=list(columns))
    with np.errstate(all="ignore"):
        one_by_one = np.vstack([benefit_profile(row.dropna(), months, extrapolate) for _, row in wide.iterrows()])
        together = benefit_profiles(wide, months, extrapolate)
    assert together.shape == one_by_one.shape
    assert np.array_equal(together.view(np.int64), one_by_one.view(np.int64)), (wide, together, one_by_one)  # bits, -0.0 and NaN included


def test_benefit_profiles_refuse_an_unknown_rule() -> None:
    from analysis.roi import benefit_profiles

    with pytest.raises(ValueError, match="extrapolate must be"):
        benefit_profiles(pd.DataFrame({0: [1.0]}), 3, "linear")  # type: ignore[arg-type]
