"""A second public staggered panel with cohorts of 1-13: Cheng & Hoekstra's castle-doctrine states, as HR exports.

``causaldata``'s ``castle`` (50 US states, 2000-2010; 21 states adopted a castle-doctrine law
in 2006-2010, in adoption years of 1, 13, 4, 2 and 1 states) becomes: states = employees,
years = consecutive months from 2024-01, the law = a training program, log homicides per
100,000 = a KPI where lower is better, with no money value (an intangible). A small program
with tiny training months and a KPI measured once a period, through ``python -m analysis run``
(notebooks 02 and 03), under the contract's own names except three mapped columns.

Reference: the page's textbook rung (no controls, every training month as it is) must equal
``diff_diff.CallawaySantAnna`` on the raw panel (years, never-adopting states as controls).
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.public_panels import assert_pages_formatted, textbook_rung_against_diff_diff

ROOT = Path(__file__).resolve().parents[1]
ADOPTERS_BY_YEAR = {2006: 1, 2007: 13, 2008: 4, 2009: 2, 2010: 1}

MAPPING = """files:
  employees: states.csv
  kpi_definitions: kpis.csv
  enrollments: enrollments.csv
columns:
  employees: {state: employee_id, dept: department}
  enrollments: {state: employee_id}
  kpi_monthly: {state: employee_id}
"""


def _castle() -> pd.DataFrame:
    from causaldata import castle

    d = castle.load_pandas().data[["sid", "year", "post", "l_homicide"]].copy()
    # the Stata file stores float32; an HR export writes text, read back as float64: use those values everywhere
    d["l_homicide"] = pd.read_csv(io.StringIO(d[["l_homicide"]].to_csv(index=False)))["l_homicide"].to_numpy()
    first = d[d["post"] > 0].groupby("sid")["year"].min()
    d["first_year"] = d["sid"].map(first).fillna(0).astype(int)
    return d


def _write_hr_exports(folder: Path, d: pd.DataFrame) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    month_of = {y: (pd.Timestamp("2024-01-01") + pd.DateOffset(months=i)).strftime("%Y-%m-%d")
                for i, y in enumerate(sorted(d["year"].unique()))}  # fmt: skip
    state = "S" + d["sid"].astype(int).astype(str)
    states = d.assign(state=state).drop_duplicates("sid")
    pd.DataFrame({"state": states["state"], "dept": "States", "role": "State", "region": "US",
                  "hire_date": "2000-01-01"}).to_csv(folder / "states.csv", index=False)  # fmt: skip
    pd.DataFrame({"kpi": ["l_homicide"], "unit": ["log rate"], "higher_is_better": ["false"],
                  "value_per_unit": [None]}).to_csv(folder / "kpis.csv", index=False)  # fmt: skip
    pd.DataFrame({"program_id": ["CD"], "name": ["Castle doctrine"], "category": ["law"], "target_competency": ["self-defence"],
                  "kpi": ["l_homicide"], "duration_hours": [1]}).to_csv(folder / "programs.csv", index=False)  # fmt: skip
    adopters = states[states["first_year"] > 0]
    start = adopters["first_year"].map(month_of)
    pd.DataFrame({"state": adopters["state"], "program_id": "CD", "status": "completed",
                  "start_date": start.str.replace("-01$", "-02", regex=True),
                  "end_date": start.str.replace("-01$", "-03", regex=True)}).to_csv(folder / "enrollments.csv", index=False)  # fmt: skip
    pd.DataFrame({"program_id": "CD", "period": 2024, "category": ["delivery", "evaluation"], "amount": [40000.0, 10000.0]}).to_csv(
        folder / "costs.csv", index=False)
    pd.DataFrame({"state": state, "month": d["year"].map(month_of), "kpi": "l_homicide", "value": d["l_homicide"]}).to_csv(
        folder / "kpi_monthly.csv", index=False)
    (folder / "mapping.yaml").write_text(MAPPING, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def castle() -> pd.DataFrame:
    pytest.importorskip("causaldata", reason="causaldata (a dev dependency in pyproject.toml) ships the castle panel")
    return _castle()


@pytest.fixture(scope="module")
def castle_run(castle: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = _write_hr_exports(tmp_path_factory.mktemp("castle") / "castle_hr", castle)
    out = tmp_path_factory.mktemp("reports")
    params = out / "params.yaml"
    params.write_text("notebooks:\n  02_training_attribution: {n_boot: 199}\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "run", "--data", str(data), "--only", "02", "03", "--out", str(out), "--params", str(params)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return sorted(out.glob("*/tables"))[-1]


def test_the_panel_is_the_published_one(castle: pd.DataFrame) -> None:
    assert castle.shape == (550, 5) and castle["sid"].nunique() == 50
    assert castle.drop_duplicates("sid").query("first_year > 0")["first_year"].value_counts().to_dict() == ADOPTERS_BY_YEAR


def test_every_state_is_accounted_for_and_tiny_months_are_suppressed(castle_run: Path) -> None:
    acc = pd.read_csv(castle_run / "02_training_attribution__accounting.csv").set_index("group")
    assert acc.loc["all trainees", ["trainees", "used", "set_aside"]].tolist() == [21, 21, 0]
    per_month = pd.read_csv(castle_run / "02_training_attribution__CD_accounting.csv")
    per_month = per_month[per_month["group"] == "trainees"].set_index("training_month")
    assert per_month.loc["2024-08", "trainees"] == 13  # the 2007 adopters
    # months of 1, 4, 2 and 1 adopters are below the minimum group size: no count of them is written
    small = per_month.drop(index="2024-08")
    assert len(small) == 4 and small["trainees"].isna().all() and (small["note"] == "suppressed: fewer than 5 people").all()


def test_textbook_rung_is_diff_diffs_callaway_santanna_on_the_raw_panel(castle_run: Path, castle: pd.DataFrame) -> None:
    row = textbook_rung_against_diff_diff(castle_run, "CD", castle, outcome="l_homicide", unit="sid", time="year",
                                          first_treat="first_year")  # fmt: skip
    assert row["trainees"] == 21
    # every state has the same hire date, so tenure cannot adjust anything: the recommended rung says "no controls"
    ladder = pd.read_csv(castle_run / "02_training_attribution__CD_ladder.csv")
    rec = ladder[ladder["recommended"]].iloc[0]
    assert rec["rung"].startswith("Callaway-Sant'Anna, no controls (no control varies in these data)")
    page = (castle_run.parent / "02_training_attribution.html").read_text(encoding="utf-8")
    assert "staggered difference-in-differences (no covariate adjustment)" in page and "controls: none" in page


def test_a_kpi_without_money_value_is_an_intangible_not_an_roi_of_zero(castle_run: Path) -> None:
    row = pd.read_csv(castle_run / "03_roi_budget__roi_by_program.csv").set_index("program_id").loc["CD"]
    assert row["status"] == "intangible" and row["cost_total"] == 50000.0 and row["participants"] == 21
    assert np.isnan(row["roi_pct_median"])


def test_the_pooled_robustness_row_says_whom_it_leaves_out(castle_run: Path) -> None:
    rob = pd.read_csv(castle_run / "02_training_attribution__CD_robustness.csv").set_index("variant")
    row = rob.loc["Small training months pooled within their quarter, doubly robust (the rule for larger programs)"]
    left_out = 21 - int(row["trainees_used"])
    assert left_out > 0 and f"it leaves out {left_out} trainee(s) of small months with nothing to pool with" in row["note"]


def test_every_page_shows_formatted_numbers(castle_run: Path) -> None:
    assert_pages_formatted(castle_run.parent)
