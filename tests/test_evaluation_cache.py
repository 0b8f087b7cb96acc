"""The evaluation cache (analysis.attribution.cache): what it returns is what a fresh evaluation returns."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from analysis.attribution import EvaluationOptions, evaluate_programs
from analysis.attribution import cache
from analysis.attribution.cache import CACHE_ENV, cache_dir, cached, entry_name, evaluate_programs_cached, evaluation_key
from analysis.data import load_dataset

OPTIONS = EvaluationOptions(n_boot=49, seed=7)
FRAMES = ("ladder", "event_study", "event_study_unadjusted", "heterogeneity", "robustness", "cohort_table", "diagnostics_table")
WORDS = ("headline", "truth_sentence", "methods_note", "event_study_verdict", "anticipation_rule", "ladder_title",
         "event_study_title", "heterogeneity_title", "notes", "cluster", "cluster_reason", "options", "truth")  # fmt: skip


@pytest.fixture(scope="module")
def small(sample_run) -> Path:
    return sample_run.data  # 300 generated employees (tests/conftest.py), read only


def assert_same_evaluation(mine, ev) -> None:
    """Every table and sentence a caller (notebook 02, notebook 03, the tests) reads of one program, exactly equal."""
    for name, table in ev.exports().items():
        assert_frame_equal(mine.exports()[name], table, check_exact=True, obj=name)
    for name in FRAMES:
        assert_frame_equal(getattr(mine, name), getattr(ev, name), check_exact=True, obj=name)
    assert_frame_equal(mine.accounting.table, ev.accounting.table, check_exact=True)
    for name in WORDS:
        assert getattr(mine, name) == getattr(ev, name), name
    assert str(mine.summary) == str(ev.summary) and mine.summary.as_html() == ev.summary.as_html()
    for a, b in ((mine.overall, ev.overall), (mine.recommended.aggregate("simple"), ev.recommended.aggregate("simple"))):
        assert (a.att, a.se, a.n_treated, a.n_control, a.df) == (b.att, b.se, b.n_treated, b.n_control, b.df)
        np.testing.assert_array_equal(a.draws, b.draws)
    assert_frame_equal(mine.recommended.event_study_draws(post_only=True), ev.recommended.event_study_draws(post_only=True),
                       check_exact=True)  # fmt: skip


def test_the_evaluation_a_notebook_cached_equals_a_fresh_one(sample_run) -> None:
    # the session's run (tests/conftest.py) executed notebook 02 on its 300 employees with 99 draws, seed 7, every part
    # on, in a kernel that inherited this run's cache folder: its evaluation is in the folder, pickled
    ds = load_dataset(sample_run.data)
    options = EvaluationOptions(n_boot=99, seed=7)
    folder = cache_dir()
    assert folder is not None, "tests/conftest.py gives every test run a cache folder"
    assert (folder / f"{entry_name(evaluation_key(ds, None, options))}.pkl").is_file(), "notebook 02 stored its evaluation"
    cached_report = evaluate_programs_cached(ds, None, options)  # read back, not computed
    fresh = evaluate_programs(ds, ["P01"], options)  # one program keeps the test cheap; programs are evaluated one by one
    assert_same_evaluation(cached_report.results["P01"], fresh.results["P01"])
    assert_frame_equal(cached_report.overview.iloc[[0]], fresh.overview, check_exact=True)


def test_a_stored_entry_reads_back_identical(tmp_path: Path) -> None:
    frames = {"a": pd.DataFrame({"x": [0.1 + 0.2, np.nan, -0.0], "d": pd.to_datetime(["2024-01-01", None, "2024-03-01"])})}
    first = cached({"k": 3}, lambda: frames, tmp_path)
    again = cached({"k": 3}, lambda: pytest.fail("computed twice"), tmp_path)
    assert first is frames and again is not frames
    assert_frame_equal(again["a"], frames["a"], check_exact=True)
    assert [line.split()[3] for line in (tmp_path / "log.txt").read_text(encoding="utf-8").splitlines()] == ["computed", "reused"]


def test_no_folder_no_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls = []
    monkeypatch.setattr(cache, "evaluate_programs", lambda *args: calls.append(args) or "fresh")
    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert evaluate_programs_cached(object(), ["P01"], n_boot=0) == "fresh"
    assert calls[0][1:] == (["P01"], EvaluationOptions(n_boot=0)) and not list(tmp_path.iterdir())


def test_key_holds_data_programs_and_every_option(small: Path, tmp_path: Path) -> None:
    ds = load_dataset(small)
    key = evaluation_key(ds, None, OPTIONS)
    assert key["inputs"]["ground_truth.json"] and key["inputs"]["kpi_monthly.csv"], "every file of the folder, truth included"
    assert key == evaluation_key(load_dataset(small), None, EvaluationOptions(n_boot=49, seed=7))
    for field, value in OPTIONS.as_dict().items():
        other = {"n_boot": 99, "seed": 8, "controls": ["tenure"], "anticipation": 0, "min_cohort_size": 3}.get(field)
        if other is None:
            other = not value if isinstance(value, bool) else "something else"
        assert evaluation_key(ds, None, EvaluationOptions(**{**OPTIONS.as_dict(), field: other}))["options"] != key["options"], field
    assert evaluation_key(ds, ["P01"], OPTIONS) != key
    # a table changed in memory after loading is another data set
    changed = load_dataset(small)
    changed.tables["kpi_monthly"].loc[0, "value"] += 1.0
    assert evaluation_key(changed, None, OPTIONS)["tables"] != key["tables"]
    # one byte of the ground truth (read from the folder by evaluate_program) is another data set too
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in small.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    (copy / "ground_truth.json").write_text((small / "ground_truth.json").read_text(encoding="utf-8") + " ", encoding="utf-8")
    other = evaluation_key(load_dataset(copy), None, OPTIONS)
    assert other["inputs"] != key["inputs"] and other["tables"] == key["tables"]


def test_concurrent_callers_wait_for_one_computation(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    script = textwrap.dedent(f"""
        import time
        from analysis.attribution.cache import cached
        def slow():
            with open({str(tmp_path / "computations.txt")!r}, "a") as fh:
                fh.write("x")
            time.sleep(1.5)
            return {{"answer": 42}}
        print(cached({{"k": 1}}, slow, {str(folder)!r})["answer"])
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert outs == ["42", "42"] and all(p.returncode == 0 for p in procs)
    assert (tmp_path / "computations.txt").read_text() == "x", "computed once; the other caller waited and read it"
    assert sorted(line.split()[3] for line in (folder / "log.txt").read_text().splitlines()) == ["computed", "reused"]


def test_a_failed_computation_stores_nothing(tmp_path: Path) -> None:
    def boom() -> None:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        cached({"k": 2}, boom, tmp_path)
    assert not list(tmp_path.glob("*.pkl")) and not list(tmp_path.glob("*.tmp"))
    assert cached({"k": 2}, lambda: pd.DataFrame({"a": [1]}), tmp_path)["a"].tolist() == [1]
