"""evaluate_program on data with known truth: the sample data set and small generated ones."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from analysis.attribution import evaluate_program, evaluate_programs
from analysis.data import load_dataset
from analysis.sample import SampleConfig, write_sample

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
Z999 = float(stats.norm.ppf(0.9995))
NAIVE = ("Naive before/after (trainees)", "Naive trained vs untrained (after)")


@pytest.fixture(scope="module")
def sample_report(sample_attribution):
    return sample_attribution  # as notebook 02 runs it (tests/conftest.py; computed once per test run)


def test_every_program_is_evaluated(sample_report) -> None:
    assert sorted(sample_report.results) == ["P01", "P02", "P03"]
    assert sample_report.skipped == {}


@pytest.mark.parametrize("program_id", ["P01", "P02", "P03"])
def test_recommended_ci_covers_truth_and_naive_rungs_do_not(sample_report, program_id: str) -> None:
    ev = sample_report.results[program_id]
    truth = ev.truth["overall_att"]  # data/sample/ground_truth.json
    # a fixed-seed check at the 99.9% level: a calibrated estimator fails it 1 time in 1000
    assert abs(ev.overall.att - truth) < Z999 * ev.overall.se, (
        f"{program_id}: recommended {ev.overall.att:.3g} (SE {ev.overall.se:.3g}) vs the truth {truth:.3g}")
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
    draws = ex["att_bootstrap_draws"]
    assert draws.groupby("program_id").size().to_dict() == {"P01": 999, "P02": 999, "P03": 999}
    for pid, row in att.iterrows():
        d = draws.loc[draws["program_id"] == pid, "att"].to_numpy()
        # the exported interval is the percentile interval of the exported draws, the SE their spread
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(tuple(np.quantile(d, [0.025, 0.975])), rel=1e-9)
        assert row["se"] == pytest.approx(d.std(ddof=1), rel=1e-6)
        assert row["n_trainees"] == sample_report.results[pid].accounting.n_used
    dyn = ex["dynamic_profile"]
    assert dyn["event_time"].min() < -1 and dyn["event_time"].max() > 6
    assert "uniform" in dyn["band"].iloc[0]


def test_headline_in_plain_words(sample_report) -> None:
    ev = sample_report.results["P01"]
    assert ev.headline.startswith("Program P01 (Consultative selling) raised monthly sales by ")
    assert "per trainee and month (95% CI " in ev.headline and "of the raw before/after change" in ev.headline
    assert 0 < ev.share_not_caused < 1
    null = sample_report.results["P03"]
    assert "not distinguishable from zero" in null.headline
    assert null.headline.startswith("Program P03 (Compliance refresher) changed monthly error rate by ")
    assert null.headline.endswith("cannot be credited to the training.")


def test_diagnostics_read_as_plain_numbers(sample_report) -> None:
    for ev in sample_report.results.values():
        text = " ".join(ev.diagnostics_table["verdict"].astype(str))
        assert "e+0" not in text and "e-0" not in text, text


def test_exam_score_bands_recover_the_generated_band_effects(sample_report) -> None:
    """Each exam band's estimate covers the band's true effect (data/sample/ground_truth.json),
    and the top band's effect exceeds the bottom band's by more than the noise of both."""
    for pid in ("P01", "P02"):
        het = sample_report.results[pid].heterogeneity
        exam = het[het["dimension"] == "exam score"].set_index("group")
        for band in ("below 60", "60–79", "80–100"):
            row = exam.loc[band]
            assert row["ci_low"] <= row["true_att"] <= row["ci_high"], (pid, band)
            assert row["ci_low_pointwise"] >= row["ci_low"] and row["ci_high_pointwise"] <= row["ci_high"]
        lo, hi = exam.loc["below 60"], exam.loc["80–100"]
        assert hi["att"] - lo["att"] > 1.96 * np.hypot(lo["se"], hi["se"]), pid


def test_subgroup_intervals_are_simultaneous_and_p_values_holm(sample_report) -> None:
    het = sample_report.results["P01"].heterogeneity
    ok = het["att"].notna()
    m = int(ok.sum())
    z = stats.norm.ppf(1 - 0.05 / (2 * m))
    np.testing.assert_allclose(het.loc[ok, "ci_high"], het.loc[ok, "att"] + z * het.loc[ok, "se"], rtol=1e-10)
    p = het.loc[ok, "p_value"].to_numpy()
    order = np.argsort(p)
    holm = np.minimum(1, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    np.testing.assert_allclose(het.loc[ok, "p_holm"].to_numpy()[order], holm, rtol=1e-10)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1) | st.sampled_from([0.0, 0.01, 0.05, 0.2, 1.0]), min_size=1, max_size=30))
def test_holm_adjusted_p_values_equal_statsmodels_float_for_float(p: list[float]) -> None:
    from statsmodels.stats.multitest import multipletests

    from analysis.attribution.robustness import holm_adjusted

    p_values = np.array(p)
    np.testing.assert_array_equal(holm_adjusted(p_values), multipletests(p_values, method="holm")[1])


def test_lower_is_better_subgroup_title_reads_a_fall_as_an_improvement(sample_report) -> None:
    ev = sample_report.results["P03"]  # error_rate: lower is better
    assert not ev.higher_is_better
    het = pd.DataFrame({"dimension": "exam score", "group": ["below 60", "60–79", "80–100"],
                        "att": [-1.0, -3.0, -10.0], "se": 1.0, "ci_low": [-2.0, -4.0, -11.0],
                        "ci_high": [0.0, -2.0, -9.0], "interval": "simultaneous 95% over 3 subgroups (Bonferroni)"})
    title = replace(ev, heterogeneity=het).heterogeneity_title
    assert "80–100 on the exam improved error_rate by larger amounts than those scoring below 60" in title
    overlapping = het.assign(ci_low=het["att"] - 6, ci_high=het["att"] + 6)
    assert "no exam-score difference" in replace(ev, heterogeneity=overlapping).heterogeneity_title


def test_small_groups_are_suppressed_and_clustering_is_stated(sample_report) -> None:
    dataset = load_dataset(SAMPLE)
    ev = evaluate_program(dataset, "P02", n_boot=0, min_group_size=30, cluster="employee", diagnostics=False,
                          heterogeneity=True, robustness=False)
    het = ev.heterogeneity
    small = het[het["trainees"] < 30]
    assert len(small) and small["att"].isna().all() and small["note"].str.startswith("suppressed").all()
    auto = sample_report.results["P02"]
    assert auto.cluster == "manager" and "clustered by team (manager)" in auto.methods_note
    assert "clustered by employee" in ev.methods_note
    # the employee-clustered robustness row of the team-clustered evaluation is that fit
    row = auto.robustness.set_index("variant").loc["Standard errors clustered by employee"]
    assert row["att"] == pytest.approx(ev.overall.att, rel=1e-9) and row["se"] == pytest.approx(ev.overall.se, rel=1e-9)


def test_every_trainee_of_a_small_data_set_is_accounted_for(tmp_path: Path) -> None:
    dataset = load_dataset(write_sample(tmp_path / "tiny", SampleConfig(n_employees=300, seed=5)))
    report = evaluate_programs(dataset, n_boot=0, diagnostics=False, heterogeneity=False)
    assert set(report.results) | set(report.skipped) == {"P01", "P02", "P03"}
    for pid, ev in report.results.items():
        enrolled = dataset.tables["enrollments"].query("program_id == @pid")["employee_id"].nunique()
        acc = ev.accounting
        assert acc.n_trainees == enrolled
        per_month = acc.table[acc.table["group"] == "trainees"]
        assert per_month["trainees"].sum() == enrolled
        assert (per_month["used"] + per_month["set_aside"] == per_month["trainees"]).all()
        assert acc.n_used == ev.overall.n_treated, pid  # the fit's own count of trainees in a cell
        assert acc.n_controls_used == ev.overall.n_control
        assert (acc.reasons["reason"] != "").sum() == enrolled - acc.n_used


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
        # diff_diff weights a cell by its training month's size on a clustered fit (R did's
        # pg = n_g / N) and by the trainees observed in the cell otherwise
        sizes = ev.recommended.prepared.frame.drop_duplicates("employee_id")["cohort"].value_counts()
        cell_w = cells["cohort"].map(sizes) if ev.recommended.cluster else cells["n_treated"]
        w = cell_w.groupby(cells["event_time"].astype(int)).sum()
        w = w / w.sum()
        dyn = ev.event_study.set_index("event_time")["att"]
        assert float((dyn.loc[w.index] * w).sum()) == pytest.approx(ev.overall.att, rel=1e-9)
        wide = ev_draws[ev_draws["program_id"] == pid].pivot(index="draw", columns="event_time", values="att")
        assert wide.shape == (999, len(w)) and (wide.columns >= 0).all()
        np.testing.assert_allclose(wide.std(ddof=1).to_numpy(), ev.event_study.set_index("event_time").loc[wide.columns, "se"], rtol=1e-6)
        combined = wide[w.index].to_numpy() @ w.to_numpy()
        overall = ov_draws[ov_draws["program_id"] == pid].set_index("draw")["att"].loc[wide.index].to_numpy()
        assert np.corrcoef(combined, overall)[0, 1] > 0.95, pid  # measured 0.986-0.9998 on the sample
        assert np.std(combined - overall) < 0.3 * ev.overall.se, pid


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


@pytest.mark.parametrize("program_id", ["P01", "P02", "P03"])
def test_event_study_sentence_states_the_months_the_chart_draws(sample_report, program_id: str) -> None:
    # recomputed here from the table the chart draws: the post-training months whose band excludes zero
    ev = sample_report.results[program_id]
    dyn = ev.event_study[ev.event_study["event_time"] >= 0]
    months = sorted(int(e) for e in dyn.loc[(dyn["ci_low"] > 0) | (dyn["ci_high"] < 0), "event_time"])
    sentence = ev.event_study_verdict
    assert ("uniform 95% band" in sentence) == str(ev.event_study["band"].iloc[0]).startswith("uniform")
    if not months:
        assert "the band includes zero in every month after training" in sentence
        lo, hi = ev.overall.conf_int(0.95)
        # beside a headline whose interval excludes zero, the sentence says the two tests differ, never "no effect"
        assert ("(the headline, a single test with a narrower interval) is." in sentence) == (not lo <= 0 <= hi)
        return
    runs: list[list[int]] = []
    for m in months:
        if runs and m == runs[-1][-1] + 1:
            runs[-1].append(m)
        else:
            runs.append([m])
    words = [f"{r[0]}" if len(r) == 1 else f"{r[0]} to {r[-1]}" for r in runs]
    expected = ("month " if months == runs[0][:1] else "months ") + (
        words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1])
    assert f"excludes zero in {expected};" in sentence
    lo, hi = ev.overall.conf_int(0.95)
    # a month standing out beside a headline that does not: the sentence names the two tests
    assert ("(the headline, a different test) is not distinguishable from zero" in sentence) == (lo <= 0 <= hi)


def test_worker_processes_give_the_in_process_results_and_report_progress(tmp_path: Path, monkeypatch) -> None:
    dataset = load_dataset(write_sample(tmp_path / "tiny", SampleConfig(n_employees=300, seed=5)))
    opts = dict(n_boot=49, seed=3, diagnostics=False)
    ids = ["P01", "P02", "NOPE"]  # an unknown program is skipped with the reason, in either mode
    monkeypatch.setenv("TIK_PROGRESS_FILE", str(tmp_path / "progress.txt"))
    in_workers = evaluate_programs(dataset, ids, n_jobs=2, **opts)
    lines = (tmp_path / "progress.txt").read_text(encoding="utf-8").splitlines()
    monkeypatch.delenv("TIK_PROGRESS_FILE")
    here = evaluate_programs(dataset, ids, n_jobs=1, **opts)
    assert list(in_workers.results) == list(here.results) and in_workers.skipped == here.skipped
    assert "NOPE" in in_workers.skipped
    for name, table in here.exports().items():
        pd.testing.assert_frame_equal(in_workers.exports()[name], table, check_exact=True, obj=name)
    for pid, ev in here.results.items():
        for part in ("ladder", "event_study", "heterogeneity", "robustness", "cohort_table"):
            pd.testing.assert_frame_equal(getattr(in_workers.results[pid], part), getattr(ev, part), check_exact=True, obj=f"{pid} {part}")
        assert list(in_workers.results[pid].timings) == list(ev.timings)
    # one line when a program starts and one when it ends, in the run's progress file
    assert sum(line.endswith("attribution: program P02 (2/3) started") for line in lines) == 1
    assert sum(" attribution: program P02 (2/3) finished in " in line for line in lines) == 1
    assert sum(" attribution: program NOPE (3/3) not evaluated in " in line for line in lines) == 1


def test_the_evaluation_workers_import_no_plotting_library() -> None:
    # a spawned evaluation worker imports analysis.attribution.evaluation; matplotlib and seaborn cost it ~0.5 s of the
    # ~2 s and it draws nothing (the notebook does)
    import subprocess

    code = "import sys, analysis.attribution.evaluation; print(sorted(m for m in ('matplotlib', 'seaborn') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_month_words_read_as_a_range_not_a_start() -> None:
    """'excludes zero from month 0' read as 'from month 0 on'; the sentence now names the months it means."""
    from analysis.attribution.narrative import _months_words

    assert _months_words([(0, 0)]) == "month 0"
    assert _months_words([(0, 13)]) == "months 0 to 13"
    assert _months_words([(0, 3), (5, 5)]) == "months 0 to 3 and 5"
    assert _months_words([(1, 1), (4, 6), (9, 9)]) == "months 1, 4 to 6 and 9"


def test_evaluation_workers_see_the_callers_environment_not_the_fork_servers(tmp_path: Path, monkeypatch) -> None:
    # the fork server is started once per process, with the environment of that moment; a worker serves a later call
    from analysis.attribution import evaluation

    dataset = load_dataset(write_sample(tmp_path / "tiny", SampleConfig(n_employees=300, seed=5)))
    monkeypatch.setenv("TIK_PROBE", "first")
    evaluate_programs(dataset, ["P01", "P02"], n_jobs=2, n_boot=0, diagnostics=False)
    monkeypatch.setenv("TIK_PROBE", "second")
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(1, mp_context=ctx) as pool:  # a bare worker has the server's environment
        assert pool.submit(os.getenv, "TIK_PROBE").result() != "second"
    with ProcessPoolExecutor(1, mp_context=ctx, initializer=evaluation._init_worker, initargs=(dataset, dict(os.environ))) as pool:
        assert pool.submit(os.getenv, "TIK_PROBE").result() == "second"
