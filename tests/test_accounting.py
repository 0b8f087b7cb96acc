"""Every trainee accounted for, on a panel of tiny training months (1-4 trainees each).

Reference: ``diff_diff.CallawaySantAnna`` fitted on the very same employee-month
panel (never-treated comparisons, no covariates, comparison month = the month
before training): the kit's unconditional ladder row is the textbook estimator on
the training months as they are, whatever the small-cohort rule does to the
recommended estimate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.attribution import build_estimation_panel, evaluate_program
from analysis.data import load_dataset

MONTHS = pd.date_range("2024-01-01", periods=12, freq="MS")
#: training month (index into MONTHS) -> trainees
COHORTS = {2: 1, 3: 4, 4: 3, 5: 4, 6: 1, 8: 2, 9: 4}
TEXTBOOK = "Callaway-Sant'Anna, no controls, every training month as it is"


def _write_tiny_cohorts(folder: Path, n_never: int = 60, seed: int = 3) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    ids = [f"T{i:03d}" for i in range(sum(COHORTS.values()))] + [f"N{i:03d}" for i in range(n_never)]
    first = [m for m, n in COHORTS.items() for _ in range(n)] + [None] * n_never
    emp = pd.DataFrame({
        "employee_id": ids,
        "department": rng.choice(["Sales", "Service"], len(ids)),
        "role": "Rep",
        "region": rng.choice(["North", "South"], len(ids)),
        "hire_date": "2020-01-01",
    })
    emp.to_csv(folder / "employees.csv", index=False)
    pd.DataFrame({"kpi": ["sales"], "unit": ["CNY"], "higher_is_better": ["true"], "value_per_unit": [1.0]}).to_csv(
        folder / "kpi_definitions.csv", index=False)
    pd.DataFrame({"program_id": ["P1"], "name": ["Selling"], "category": ["sales"], "target_competency": ["c"],
                  "kpi": ["sales"], "duration_hours": [8]}).to_csv(folder / "programs.csv", index=False)
    enr = [{"employee_id": e, "program_id": "P1", "status": "completed",
            "start_date": (MONTHS[g] + pd.Timedelta(days=4)).strftime("%Y-%m-%d"),
            "end_date": (MONTHS[g] + pd.Timedelta(days=9)).strftime("%Y-%m-%d")}
           for e, g in zip(ids, first) if g is not None]
    pd.DataFrame(enr).to_csv(folder / "enrollments.csv", index=False)
    rows = []
    level = rng.normal(100, 10, len(ids))
    trend = np.cumsum(rng.normal(1, 0.5, len(MONTHS)))
    for i, (e, g) in enumerate(zip(ids, first)):
        for t, month in enumerate(MONTHS):
            effect = 5.0 if g is not None and t >= g else 0.0
            rows.append({"employee_id": e, "month": month.strftime("%Y-%m-%d"), "kpi": "sales",
                         "value": round(level[i] + trend[t] + effect + rng.normal(0, 2), 4)})
    pd.DataFrame(rows).to_csv(folder / "kpi_monthly.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def tiny_cohorts(tmp_path_factory: pytest.TempPathFactory):
    folder = _write_tiny_cohorts(tmp_path_factory.mktemp("tiny_cohorts"))
    ds = load_dataset(folder)
    return ds, evaluate_program(ds, "P1", n_boot=0, diagnostics=False, heterogeneity=False)


@pytest.fixture(scope="module")
def tiny_cohorts_pooled(tiny_cohorts):
    """The same panel with its small training months pooled by quarter (the rule for larger programs)."""
    ds, _ = tiny_cohorts
    return evaluate_program(ds, "P1", n_boot=0, diagnostics=False, heterogeneity=False, small_cohorts="pool")


def test_unconditional_row_is_diff_diff_on_the_same_panel(tiny_cohorts) -> None:
    from diff_diff import CallawaySantAnna

    ds, ev = tiny_cohorts
    panel = ds.panel("sales", "P1")[["employee_id", "period", "value", "cohort"]]
    ref = CallawaySantAnna(control_group="never_treated").fit(
        panel, outcome="value", unit="employee_id", time="period", first_treat="cohort")
    row = ev.ladder.set_index("rung").loc[TEXTBOOK]
    assert ev.cluster == "employee"  # 4 department x region groups: too few clusters, said on the page
    assert row["estimate"] == pytest.approx(float(ref.overall_att), rel=1e-10)
    assert row["se"] == pytest.approx(float(ref.overall_se), rel=1e-8)
    assert row["trainees"] == sum(COHORTS.values())


def test_a_small_program_keeps_every_month_and_estimates_by_outcome_regression(tiny_cohorts) -> None:
    _, ev = tiny_cohorts  # median training month 3 trainees, below min_cohort_size 10
    assert ev.small_program and ev.small_cohorts == "keep" and ev.method == "reg"
    rec = ev.ladder[ev.ladder["recommended"]].iloc[0]
    assert "pooled" not in rec["rung"] and "outcome regression" in rec["rung"]
    assert rec["trainees"] == sum(COHORTS.values())
    # true effect 5 from the training month on, every trainee alike
    assert abs(rec["estimate"] - 5.0) < 3 * rec["se"] and rec["se"] < 1.5
    rob = ev.robustness.set_index("variant")
    pooled = rob.loc["Small training months pooled within their quarter, doubly robust (the rule for larger programs)"]
    assert np.isfinite(pooled["att"]) and pooled["att"] != pytest.approx(rec["estimate"], rel=1e-9)
    assert "Every training month as it is (no small-cohort pooling)" not in rob.index
    assert "every month is kept as it is" in ev.methods_note and "outcome regression" in ev.methods_note


def test_pooling_is_a_named_choice_of_the_recommended_rung_only(tiny_cohorts_pooled) -> None:
    ev = tiny_cohorts_pooled
    assert ev.small_program and ev.small_cohorts == "pool" and ev.method == "dr"
    rec = ev.ladder[ev.ladder["recommended"]].iloc[0]
    assert "small training months pooled" in rec["rung"]
    rob = ev.robustness.set_index("variant")
    asis = rob.loc["Every training month as it is (no small-cohort pooling)"]
    assert np.isfinite(asis["att"]) and asis["att"] != pytest.approx(rec["estimate"], rel=1e-9)


@pytest.mark.parametrize("rule", ["keep (default for a small program)", "pool"])
def test_every_trainee_is_in_the_accounting_table(rule, tiny_cohorts, tiny_cohorts_pooled) -> None:
    ev = tiny_cohorts[1] if rule != "pool" else tiny_cohorts_pooled
    acc = ev.accounting
    per_month = acc.table[acc.table["group"] == "trainees"].set_index("training_month")
    expected = {f"{MONTHS[g]:%Y-%m}": n for g, n in COHORTS.items()}
    assert per_month["trainees"].to_dict() == expected
    assert acc.n_trainees == sum(COHORTS.values())
    assert (per_month["used"] + per_month["set_aside"] == per_month["trainees"]).all()
    assert acc.n_used == ev.overall.n_treated
    # a trainee set aside by the small-cohort rule is named as such; pooled months say where they went
    set_aside = acc.reasons.loc[~acc.reasons["used"], "reason"]
    assert set_aside.str.contains("small training month|no month|left before|comparison").all()
    pooled = per_month[per_month["estimated_as"].str.contains("pooled")]
    if rule == "pool":
        assert len(pooled) >= 2
    else:
        assert pooled.empty and acc.n_used == sum(COHORTS.values())


def test_headline_names_what_was_left_out(tiny_cohorts) -> None:
    _, ev = tiny_cohorts
    acc = ev.accounting
    if acc.complete:
        assert f"all {acc.n_trainees} trainees are in this estimate" in ev.headline
    else:
        assert f"{acc.n_used} of {acc.n_trainees} trainees are in this estimate" in ev.headline


def test_same_kpi_trainees_of_another_program_leave_the_comparison_group(tmp_path: Path) -> None:
    folder = _write_tiny_cohorts(tmp_path / "two")
    progs = pd.read_csv(folder / "programs.csv")
    pd.concat([progs, progs.assign(program_id="P2", name="Other selling")]).to_csv(folder / "programs.csv", index=False)
    enr = pd.read_csv(folder / "enrollments.csv")
    other = pd.DataFrame({"employee_id": [f"N{i:03d}" for i in range(7)], "program_id": "P2", "status": "completed",
                          "start_date": "2024-06-03", "end_date": "2024-06-08"})
    pd.concat([enr, other]).to_csv(folder / "enrollments.csv", index=False)
    ds = load_dataset(folder)
    ep = build_estimation_panel(ds, "P1")
    assert ep.comparison_left_out == {"trained in another program on sales (P2)": 7}
    assert not ep.units.index.isin([f"N{i:03d}" for i in range(7)]).any()
    kept = build_estimation_panel(ds, "P1", same_kpi_trainees="keep")
    assert kept.comparison_left_out == {} and kept.n_controls == ep.n_controls + 7


def test_headline_warns_about_small_training_months(tiny_cohorts, tiny_cohorts_pooled) -> None:
    from analysis.attribution.small_programs import SMALL_PROGRAM_STUDIES

    _, ev = tiny_cohorts  # training months of 1-4 trainees: median 3
    assert f"in {SMALL_PROGRAM_STUDIES[('keep', 'reg')].coverage_pct}% or more" in ev.headline
    assert SMALL_PROGRAM_STUDIES[("keep", "reg")].rule in ev.headline
    assert "median of 3 trainees per training month" in ev.headline
    # the pooled choice states what simulation measured for pooling
    assert SMALL_PROGRAM_STUDIES[("pool", "dr")].rule in tiny_cohorts_pooled.headline
