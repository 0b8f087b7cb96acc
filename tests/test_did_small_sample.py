"""The small-cohort warning states what the committed Monte Carlo measured."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.did import SMALL_COHORT_MAX_BIAS_PCT, SMALL_COHORT_TRAINEES, small_cohort_sentence

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
RECOMMENDED = "Recommended: CS doubly robust, baseline before the slump"


def test_constants_are_the_measured_numbers():
    frames = [pd.read_csv(RESULTS / f"montecarlo_small_{n}.csv").assign(employees=n) for n in (500, 1000)]
    d = pd.concat(frames, ignore_index=True)
    d = d[(d["rung"] == RECOMMENDED) & (d["variant"] == "every confound on") & (d["true_att"].abs() > 0)]
    d = d.assign(rel=100 * (d["estimate"] - d["true_att"]) / d["true_att"])
    per_study = d.groupby(["program_id", "employees"]).agg(bias=("rel", "mean"), size=("median_cohort", "median"))
    small = per_study[per_study["size"] < SMALL_COHORT_TRAINEES]
    large = per_study[per_study["size"] >= SMALL_COHORT_TRAINEES]
    # where the typical training month is below the threshold the bias reaches the stated size (towards
    # zero: every such study is negative); where it is not, the bias is under 1%
    assert round(-small["bias"].min()) == SMALL_COHORT_MAX_BIAS_PCT
    assert (small["bias"] < 0).all() and len(small) == 3
    assert (large["bias"].abs() < 1).all() and len(large) == 1


def test_sentence_only_below_the_threshold():
    assert small_cohort_sentence(SMALL_COHORT_TRAINEES) is None
    assert small_cohort_sentence(np.nan) is None
    text = small_cohort_sentence(4)
    assert f"fewer than {SMALL_COHORT_TRAINEES} trainees" in text and f"up to {SMALL_COHORT_MAX_BIAS_PCT}%" in text
    assert "median of 4" in text
