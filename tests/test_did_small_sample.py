"""The small-cohort warning states what the committed Monte Carlo measured."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.did import SMALL_COHORT_COVERAGE_PCT, SMALL_COHORT_MEDIAN_ERROR_PCT, SMALL_COHORT_TRAINEES, small_cohort_sentence

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def test_constants_are_the_measured_numbers():
    d = pd.read_csv(RESULTS / "montecarlo_lean_500.csv")
    d = d[(d["small_cohorts"] == "pool") & (d["true_att"].abs() > 0)]
    d = d.assign(rel=100 * (d["att"] - d["true_att"]) / d["true_att"])
    per_program = d.groupby("program_id").agg(coverage=("covers", "mean"), median_error=("rel", "median"),
                                              size=("median_cohort", "median"), data_sets=("seed", "nunique"))  # fmt: skip
    assert (per_program["data_sets"] == 200).all()
    assert (per_program["size"] < SMALL_COHORT_TRAINEES).all()  # both programs have small training months
    # the page states the worst measured coverage and the range of median errors, rounded
    assert int(100 * per_program["coverage"].min()) == SMALL_COHORT_COVERAGE_PCT
    assert (round(per_program["median_error"].min()), round(per_program["median_error"].max())) == SMALL_COHORT_MEDIAN_ERROR_PCT
    assert SMALL_COHORT_COVERAGE_PCT < 90  # the reason the page warns: short of the stated 95%


def test_sentence_only_below_the_threshold():
    assert small_cohort_sentence(SMALL_COHORT_TRAINEES) is None
    assert small_cohort_sentence(np.nan) is None
    text = small_cohort_sentence(4)
    assert f"fewer than {SMALL_COHORT_TRAINEES} trainees" in text and f"only {SMALL_COHORT_COVERAGE_PCT}%" in text
    assert "median of 4" in text
