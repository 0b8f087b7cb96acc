"""The scorecard on the bundled sample recovers what the generator put in (data/sample/ground_truth.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.data import load_dataset
from analysis.scorecard.loop import outcome_layer, process_layer, transfer_layer

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="module")
def sample():
    return load_dataset(SAMPLE)


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads((SAMPLE / "ground_truth.json").read_text(encoding="utf-8"))["scorecard"]["programs"]


def test_completion_and_pass_rates_match_the_generator(sample, truth) -> None:
    proc = process_layer(sample).set_index(["program_id", "metric"])["value"]
    out = outcome_layer(sample, by=("program_id",)).set_index(["program_id", "metric"])["value"]
    for p, t in truth.items():
        assert proc[(p, "completion_rate")] == pytest.approx(t["completion_rate"], abs=1e-6)
        assert out[(p, "exam_pass_rate")] == pytest.approx(t["exam_pass_rate"], abs=1e-6)


def test_followup_application_recovers_the_true_probability(sample, truth) -> None:
    # nine shares (3 programs x 3 follow-ups): Bonferroni-adjusted 95% Wilson intervals
    level = 1 - 0.05 / 9
    tr = transfer_layer(None, sample.followups, level=level).set_index(["program_id", "months_after", "measure"])
    for p, t in truth.items():
        for m, f in t["followups"].items():
            row = tr.loc[(p, int(m), "applied_share")]
            assert row["people"] == f["n"]
            assert row["ci_low"] <= f["true_apply_probability"] <= row["ci_high"], (p, m)
