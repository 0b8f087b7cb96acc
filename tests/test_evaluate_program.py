"""evaluate_program on data with known truth: the sample data set and small generated ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.attribution import evaluate_program, evaluate_programs
from analysis.data import load_dataset
from analysis.sample import SampleConfig, write_sample

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
NAIVE = ("Naive before/after (trainees)", "Naive trained vs untrained (after)")


@pytest.fixture(scope="module")
def sample_report():
    return evaluate_programs(load_dataset(SAMPLE), n_boot=999, seed=7)  # as notebook 02 runs it


def test_every_program_is_evaluated(sample_report) -> None:
    assert sorted(sample_report.results) == ["P01", "P02", "P03"]
    assert sample_report.skipped == {}


@pytest.mark.parametrize("program_id", ["P01", "P02", "P03"])
def test_recommended_ci_covers_truth_and_naive_rungs_do_not(sample_report, program_id: str) -> None:
    ev = sample_report.results[program_id]
    truth = ev.truth["overall_att"]  # data/sample/ground_truth.json
    lo, hi = ev.overall.conf_int(0.95)
    assert lo <= truth <= hi, f"{program_id}: recommended CI {lo:.3g}..{hi:.3g} misses the truth {truth:.3g}"
    ladder = ev.ladder.set_index("rung")
    for rung in NAIVE:
        assert not ladder.loc[rung, "covers_truth"], f"{program_id}: naive rung {rung} should miss the truth"
    assert ladder["recommended"].sum() == 1


def test_pre_training_dip_is_detected_and_handled(sample_report) -> None:
    for ev in sample_report.results.values():
        assert ev.dip.detected, "the sample sends people to training after a bad month"
        assert ev.recommended.anticipation == 1


def test_exports_for_roi(sample_report) -> None:
    ex = sample_report.exports()
    att = ex["att_by_program"].set_index("program_id")
    assert list(att.index) == ["P01", "P02", "P03"]
    assert (att["se"] > 0).all() and (att["ci_low"] < att["att"]).all() and (att["att"] < att["ci_high"]).all()
    draws = ex["att_bootstrap_draws"]
    assert draws.groupby("program_id").size().to_dict() == {"P01": 999, "P02": 999, "P03": 999}
    p01 = draws[draws["program_id"] == "P01"]["att"]
    assert abs(p01.mean() - att.loc["P01", "att"]) < 3 * att.loc["P01", "se"] / np.sqrt(999) + 0.2 * att.loc["P01", "se"]
    assert p01.std() == pytest.approx(att.loc["P01", "se"], rel=0.1)
    dyn = ex["dynamic_profile"]
    assert dyn["event_time"].min() < -1 and dyn["event_time"].max() > 6
    assert "uniform" in dyn["band"].iloc[0]


def test_headline_in_plain_words(sample_report) -> None:
    ev = sample_report.results["P01"]
    assert ev.headline.startswith("Program P01 (Consultative selling) raised monthly sales by ")
    assert "per trainee (95% CI " in ev.headline and "of the raw before/after change" in ev.headline
    assert 0 < ev.share_not_caused < 1
    null = sample_report.results["P03"]
    assert "not distinguishable from zero" in null.headline
    assert null.headline.startswith("Program P03 (Compliance refresher) changed monthly error_rate by ")
    assert null.headline.endswith("cannot be credited to the training.")


def test_diagnostics_read_as_plain_numbers(sample_report) -> None:
    for ev in sample_report.results.values():
        text = " ".join(ev.diagnostics_table["verdict"].astype(str))
        assert "e+0" not in text and "e-0" not in text, text


def test_exam_score_predicts_on_the_job_effect(sample_report) -> None:
    het = sample_report.results["P01"].heterogeneity.set_index(["dimension", "group"])
    assert het.loc[("exam score", "below 60"), "att"] < het.loc[("exam score", "80–100"), "att"]
    assert het.loc[("exam passed", "not passed"), "ci_high"] < het.loc[("exam passed", "passed"), "att"] + het.loc[("exam passed", "passed"), "se"] * 3


def test_small_groups_are_suppressed_and_clustering_is_stated(sample_report) -> None:
    dataset = load_dataset(SAMPLE)
    ev = evaluate_program(dataset, "P02", n_boot=0, min_group_size=30, cluster="manager", diagnostics=False)
    het = ev.heterogeneity
    small = het[het["trainees"] < 30]
    assert len(small) and small["att"].isna().all() and small["note"].str.startswith("suppressed").all()
    assert any("clustered by team" in n or "manager" in n for n in ev.notes)
    assert ev.overall.se != pytest.approx(sample_report.results["P02"].overall.se, rel=1e-6)


def test_tiny_dataset_does_not_crash(tmp_path: Path) -> None:
    dataset = load_dataset(write_sample(tmp_path / "tiny", SampleConfig(n_employees=300, seed=5)))
    report = evaluate_programs(dataset, n_boot=0, diagnostics=False)
    assert set(report.results) | set(report.skipped) == {"P01", "P02", "P03"}
    for ev in report.results.values():
        assert np.isfinite(ev.overall.att) and ev.overall.se > 0
        assert not ev.cohort_table.empty


def test_pre_training_level_is_a_robustness_row_not_a_default_control(sample_report) -> None:
    ev = sample_report.results["P01"]
    assert ev.recommended.covariates, "the recommended estimate adjusts for the confound controls"
    assert not [c for c in ev.recommended.covariates if c.startswith("baseline_kpi")]
    row = ev.robustness.set_index("variant").loc["Also controlling for the pre-training KPI level"]
    assert np.isfinite(row["att"]) and row["se"] > 0 and "Daw & Hatfield" in row["note"]


def test_event_draws_are_the_overall_draws_spread_over_months(sample_report) -> None:
    """The exported per-month draws and the overall draws come from one bootstrap.

    Exact identity on the point estimates: the overall ATT is the mean of the
    post-training months' effects weighted by the trainees behind each month's cells
    (the overall aggregation's weights). On the draws the same weighted mean tracks
    the overall draw row by row (the overall's weight-estimation term differs
    slightly): a per-month bootstrap with its own multiplier weights, a shuffled
    draw order or a different seed gives a correlation near zero.
    """
    ex = sample_report.exports()
    ev_draws, ov_draws = ex["event_bootstrap_draws"], ex["att_bootstrap_draws"]
    assert list(ev_draws.columns) == ["program_id", "kpi", "draw", "event_time", "att"]
    for pid, ev in sample_report.results.items():
        cells = ev.recommended.att_gt
        cells = cells[(cells["time"] >= cells["cohort"]) & np.isfinite(cells["att"])]
        w = cells.groupby("event_time")["n_treated"].sum()
        w.index = w.index.astype(int)
        w = w / w.sum()
        dyn = ev.event_study.set_index("event_time")["att"]
        assert float((dyn.loc[w.index] * w).sum()) == pytest.approx(ev.overall.att, rel=1e-9)
        wide = ev_draws[ev_draws["program_id"] == pid].pivot(index="draw", columns="event_time", values="att")
        assert wide.shape == (999, len(w)) and (wide.columns >= 0).all()
        np.testing.assert_allclose(wide.std(ddof=1).to_numpy(), ev.event_study.set_index("event_time").loc[wide.columns, "se"], rtol=1e-6)
        combined = wide[w.index].to_numpy() @ w.to_numpy()
        overall = ov_draws[ov_draws["program_id"] == pid].set_index("draw")["att"].loc[wide.index].to_numpy()
        assert np.corrcoef(combined, overall)[0, 1] > 0.99, pid
        assert np.median(np.abs(combined - overall)) < 0.05 * ev.overall.se, pid


def test_honest_breakdown_is_exported(sample_report) -> None:
    """The exported M is where the robust interval of the sensitivity grid first reaches zero."""
    att = sample_report.exports()["att_by_program"].set_index("program_id")
    for pid, ev in sample_report.results.items():
        m = att.loc[pid, "honest_breakdown_m"]
        assert m == ev.honest.breakdown_m
        grid = ev.honest.sensitivity
        excludes = (grid["ci_low"] > 0) | (grid["ci_high"] < 0)
        assert excludes[grid["M"] < m - 1e-6].all(), pid
        assert not excludes[grid["M"] > m + 1e-6].any(), pid
