"""Small programs: the page states what the committed Monte Carlo measured for the rule that ran."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from analysis.attribution.small_programs import (
    FEW_MONTHS_STUDY,
    FEW_TRAINING_MONTHS,
    SMALL_PROGRAM_STUDIES,
    SMALL_PROGRAM_TRAINEES,
    few_training_months_sentence,
    is_small_program,
    small_program_sentence,
)

ROOT = Path(__file__).resolve().parents[1]
#: The rows of each study in its CSV (column ``small_cohorts`` of benchmarks/montecarlo_scale.py).
ROWS = {("keep", "reg"): "keep, outcome regression", ("pool", "dr"): "pool"}


@pytest.mark.parametrize("key", sorted(SMALL_PROGRAM_STUDIES))
def test_constants_are_the_measured_numbers(key) -> None:
    study = SMALL_PROGRAM_STUDIES[key]
    d = pd.read_csv(ROOT / study.results)
    d = d[d["small_cohorts"] == ROWS[key]]
    effect = d[d["true_att"].abs() > 0].assign(rel=lambda x: 100 * (x["att"] - x["true_att"]) / x["true_att"])
    per_program = effect.groupby("program_id").agg(coverage=("covers", "mean"), median_error=("rel", "median"),
                                                   size=("median_cohort", "median"), data_sets=("seed", "nunique"))  # fmt: skip
    null = d[d["true_att"] == 0]
    assert (per_program["data_sets"] == 200).all() and null["seed"].nunique() == 200
    assert (per_program["size"] < SMALL_PROGRAM_TRAINEES).all()  # both programs are small
    assert int(100 * per_program["coverage"].min()) == study.coverage_pct
    assert (round(per_program["median_error"].min()), round(per_program["median_error"].max())) == study.median_error_pct
    assert round(100 * int((~null["covers"]).sum()) / len(null)) == study.false_positive_pct


def test_the_default_rule_beats_pooling_on_small_programs() -> None:
    # why small_cohorts="auto" keeps every month and estimates by outcome regression
    new, old = SMALL_PROGRAM_STUDIES[("keep", "reg")], SMALL_PROGRAM_STUDIES[("pool", "dr")]
    assert new.coverage_pct >= old.coverage_pct + 4 and new.false_positive_pct < old.false_positive_pct
    assert max(map(abs, new.median_error_pct)) < max(map(abs, old.median_error_pct))


def test_the_studies_ran_on_the_same_data_sets() -> None:
    rows = {k: pd.read_csv(ROOT / s.results).query("small_cohorts == @ROWS[@k]").sort_values(["seed", "program_id"])
            for k, s in SMALL_PROGRAM_STUDIES.items()}  # fmt: skip
    new, old = rows[("keep", "reg")], rows[("pool", "dr")]
    pdt.assert_series_equal(new["seed"].reset_index(drop=True), old["seed"].reset_index(drop=True))
    pdt.assert_series_equal(new["true_att"].reset_index(drop=True), old["true_att"].reset_index(drop=True))


def test_small_program_is_the_median_training_month() -> None:
    assert is_small_program(pd.Series([3] * 4 + [5] * 9 + [8] * 20), 10)  # months of 4, 9, 20: median 9
    assert not is_small_program(pd.Series([3] * 4 + [5] * 10 + [8] * 20), 10)  # median 10
    assert not is_small_program(pd.Series([], dtype=int), 10)


def test_sentence_names_the_rule_that_ran() -> None:
    assert small_program_sentence(SMALL_PROGRAM_TRAINEES, "keep", "reg") is None
    assert small_program_sentence(np.nan, "keep", "reg") is None
    new = small_program_sentence(4, "keep", "reg")
    study = SMALL_PROGRAM_STUDIES[("keep", "reg")]
    assert "a median of 4 trainees per training month" in new and f"in {study.coverage_pct}% or more" in new and study.rule in new
    old = small_program_sentence(4, "pool", "dr")
    assert f"in {SMALL_PROGRAM_STUDIES[('pool', 'dr')].coverage_pct}% or more" in old
    assert "No simulation of the kit covers" in small_program_sentence(4, "set_aside", "dr")


def test_few_months_constants_are_the_measured_numbers() -> None:
    study = FEW_MONTHS_STUDY
    d = pd.read_csv(ROOT / study.results)
    assert d["seed"].nunique() == 200 and (d.groupby("seed")["program_id"].nunique() == 3).all()
    effect = d[d["true_att"].abs() > 0].assign(rel=lambda x: 100 * (x["att"] - x["true_att"]) / x["true_att"])
    per_program = effect.groupby("program_id").agg(coverage=("covers", "mean"), median_error=("rel", "median"),
                                                   size=("median_cohort", "median"))  # fmt: skip
    assert (per_program["size"] >= SMALL_PROGRAM_TRAINEES).all()  # two large months: not small programs
    assert int(100 * per_program["coverage"].min()) == study.coverage_pct
    assert (round(per_program["median_error"].min()), round(per_program["median_error"].max())) == study.median_error_pct
    null = d[d["true_att"] == 0]
    assert round(100 * int((~null["covers"]).sum()) / len(null)) == study.false_positive_pct


def test_few_months_sentence() -> None:
    assert few_training_months_sentence(FEW_TRAINING_MONTHS + 1) is None
    assert "every trainee started in 2 months" in few_training_months_sentence(2)
    assert "every trainee started in one month" in few_training_months_sentence(1)
    assert f"in {FEW_MONTHS_STUDY.coverage_pct}% or more" in few_training_months_sentence(2)


def test_headline_of_a_two_month_program_carries_the_caveat(tmp_path: Path) -> None:
    from analysis.attribution import evaluate_program
    from analysis.data import load_dataset
    from analysis.sample import SampleConfig, write_sample

    ds = load_dataset(write_sample(tmp_path / "two", SampleConfig(n_employees=400, n_months=18, seed=11, n_cohorts=2)))
    ev = evaluate_program(ds, "P01", n_boot=0, diagnostics=False, heterogeneity=False, robustness=False)
    assert len(ev.cohort_table) == 2 and not ev.small_program
    assert few_training_months_sentence(2) in ev.headline
