"""A public staggered panel nobody here generated, dressed as HR exports, through ``python -m analysis run``.

R ``did``'s ``mpdta`` (500 US counties, 2003-2007; 191 counties first treated in 2004,
2006 or 2007) becomes: counties = employees, years = consecutive months from 2024-01,
the minimum-wage rise = a training program, log teen employment = a KPI; every file,
column and code under the user's own names through a ``mapping.yaml``.

Reference numbers, the R ``did`` package (Callaway & Sant'Anna; "Introduction to DiD
with multiple time periods" vignette, did >= 2.1)::

    att_gt(yname = "lemp", gname = "first.treat", idname = "countyreal", tname = "year",
           xformla = ~1, data = mpdta, control_group = "nevertreated") |> aggte("simple")
    # ATT -0.0400; standard error about 0.0115-0.012 (R's default multiplier bootstrap
    # varies with its seed; the analytic influence-function SE is 0.0120)
    aggte(mw.attgt, type = "dynamic")
    # event time 0: -0.0199, 1: -0.0510, 2: -0.1373, 3: -0.1008

Every notebook runs on them (00-04; the run must succeed). Notebook 03 runs after 02 on the same exports, with a cost file under the user's names: its
benefits spend R's event study (191 trainees x the effect of each measured year x the KPI's
money value), and a data set without ground truth shows no "true ROI" column.

The data file lives outside the project (``../shared/data/mpdta.csv``); without it this
module skips and says why.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import MPDTA, NEEDS_MPDTA
from tests.public_panels import TEXTBOOK, assert_pages_formatted

ROOT = Path(__file__).resolve().parents[1]
R_DID_SIMPLE = -0.0400
R_DID_DYNAMIC = {0: -0.0199, 1: -0.0510, 2: -0.1373, 3: -0.1008}  # aggte(type = "dynamic"), event times 0-3
WORTH = 1000.0  # the KPI's money value per log point, in the user's measures file
COSTS = {"delivery": 5000.0, "materials": 2000.0, "evaluation": 1000.0}  # the program's cost rows, by Phillips category

pytestmark = NEEDS_MPDTA

MAPPING = """files:
  employees: counties.csv
  kpi_definitions: measures.csv
  programs: policies.csv
  enrollments: adoptions.csv
  kpi_monthly: outcomes.csv
  costs: spend.csv
columns:
  costs: {policy: program_id, year: period, kind_of_cost: category}
  employees: {county: employee_id, sector: department, kind: role, area: region, since: hire_date}
  kpi_definitions: {measure: kpi, measured_in: unit, up_is_good: higher_is_better, worth: value_per_unit}
  programs: {policy: program_id, title: name, family: category, aim: target_competency, measure: kpi, hours: duration_hours}
  enrollments: {county: employee_id, policy: program_id, state_of: status, from: start_date, to: end_date}
  kpi_monthly: {county: employee_id, period_start: month, measure: kpi, level: value}
values:
  enrollments:
    status: {done: completed}
"""


def _write_hr_exports(folder: Path) -> Path:
    m = pd.read_csv(MPDTA)
    years = sorted(m["year"].unique())
    month_of = {y: f"2024-{i + 1:02d}-01" for i, y in enumerate(years)}
    folder.mkdir(parents=True, exist_ok=True)
    counties = m.drop_duplicates("countyreal")
    pd.DataFrame({"county": "C" + counties["countyreal"].astype(str), "sector": "Counties", "kind": "County",
                  "area": "US", "since": "2000-01-01"}).to_csv(folder / "counties.csv", index=False)
    pd.DataFrame({"measure": ["lemp"], "measured_in": ["log points"], "up_is_good": ["true"], "worth": [WORTH]}).to_csv(
        folder / "measures.csv", index=False)
    pd.DataFrame({"policy": ["MW"], "title": ["Minimum wage rise"], "family": ["policy"], "aim": ["wages"],
                  "measure": ["lemp"], "hours": [1.0]}).to_csv(folder / "policies.csv", index=False)
    treated = counties[counties["first.treat"] > 0]
    start = treated["first.treat"].map(month_of)
    pd.DataFrame({"county": "C" + treated["countyreal"].astype(str), "policy": "MW", "state_of": "done",
                  "from": start.str.replace("-01$", "-02", regex=True),
                  "to": start.str.replace("-01$", "-20", regex=True)}).to_csv(folder / "adoptions.csv", index=False)
    pd.DataFrame({"county": "C" + m["countyreal"].astype(str), "period_start": m["year"].map(month_of),
                  "measure": "lemp", "level": m["lemp"]}).to_csv(folder / "outcomes.csv", index=False)
    pd.DataFrame({"policy": "MW", "year": 2024, "kind_of_cost": list(COSTS), "amount": list(COSTS.values())}).to_csv(
        folder / "spend.csv", index=False)
    (folder / "mapping.yaml").write_text(MAPPING, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def mpdta_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_hr_exports(tmp_path_factory.mktemp("mpdta") / "mpdta_hr")


@pytest.fixture(scope="module")
def mpdta_run(mpdta_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = mpdta_data
    out = tmp_path_factory.mktemp("reports")
    params = out / "params.yaml"
    params.write_text("notebooks:\n  02_training_attribution: {n_boot: 199}\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "run", "--data", str(data), "--out", str(out),
         "--params", str(params)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Passed unknown parameter" not in done.stdout + done.stderr
    tables = sorted(out.glob("*/tables"))
    assert tables, done.stdout
    return tables[-1]


def test_page_accounts_for_all_191_trainees(mpdta_run: Path) -> None:
    acc = pd.read_csv(mpdta_run / "02_training_attribution__accounting.csv")
    total = acc[acc["group"] == "all trainees"].iloc[0]
    assert total["trainees"] == 191
    per_month = acc[acc["group"] == "trainees"].set_index("training_month")
    assert per_month["trainees"].to_dict() == {"2024-02": 20, "2024-04": 40, "2024-05": 131}
    assert (per_month["used"] + per_month["set_aside"] == per_month["trainees"]).all()
    att = pd.read_csv(mpdta_run / "02_training_attribution__att_by_program.csv").iloc[0]
    assert att["n_trainees"] == total["used"] and att["n_trainees_all"] == 191


def test_unconditional_row_is_r_did(mpdta_run: Path) -> None:
    ladder = pd.read_csv(mpdta_run / "02_training_attribution__MW_ladder.csv").set_index("rung")
    row = ladder.loc[TEXTBOOK]
    assert round(row["estimate"], 4) == R_DID_SIMPLE
    assert 0.0110 <= row["se"] <= 0.0125
    assert row["trainees"] == 191


def test_roi_spends_r_dids_event_study(mpdta_run: Path, mpdta_data: Path) -> None:
    from analysis.costs import fully_loaded_cost
    from analysis.data import load_dataset
    from analysis.roi import compute_roi
    from analysis.upstream import load_upstream

    row = pd.read_csv(mpdta_run / "03_roi_budget__roi_by_program.csv").set_index("program_id").loc["MW"]
    assert row["participants"] == 191 and row["cost_total"] == sum(COSTS.values())
    assert "true_roi_pct" not in row.index  # no ground truth in a real export
    # the page's ROI is compute_roi on notebook 02's exports of this run
    dataset = load_dataset(mpdta_data)
    tables = load_upstream("02_training_attribution", data_dir=mpdta_data, output_dir=mpdta_run.parent).tables
    roi = compute_roi(fully_loaded_cost(dataset.costs, dataset.enrollments), effects=tables["att_by_program"],
                      dynamic=tables["dynamic_profile"], draws=tables["event_bootstrap_draws"],
                      kpi_definitions=dataset.kpi_definitions, programs=dataset.programs)  # fmt: skip
    mw = roi.results["MW"]
    assert mw.median() == pytest.approx(row["roi_pct_median"], rel=1e-12)
    # benefits: 191 trainees x R did's effect at each measured event time (nothing beyond year 3) x the money value;
    # R prints four decimals, so the sum may differ by 191 x 4 x 0.00005 x WORTH
    expected = 191 * sum(R_DID_DYNAMIC.values()) * WORTH
    assert mw.benefit == pytest.approx(expected, abs=191 * 4 * 0.00005 * WORTH)
    assert mw.roi_pct == pytest.approx((mw.benefit - sum(COSTS.values())) / sum(COSTS.values()) * 100)
    assert row["status"] == "did not pay back" and row["p_roi_positive"] == 0.0
    html = (mpdta_run.parent / "03_roi_budget.html").read_text(encoding="utf-8")
    assert "True ROI" not in html and "Generator's true ROI" not in html


def test_every_notebook_runs_and_the_kpi_without_target_is_named(mpdta_run: Path, mpdta_data: Path) -> None:
    import json

    from analysis.data import load_dataset
    from analysis.gaps.kpi import kpi_gaps

    run = json.loads((mpdta_run.parent / "run.json").read_text(encoding="utf-8"))
    assert {n["name"]: n["status"] for n in run["notebooks"]} == {
        "00_data_quality": "ok", "01_gap_analysis": "ok", "02_training_attribution": "ok", "03_roi_budget": "ok", "04_scorecard": "ok"}
    # the measures file gives lemp no target: no KPI gap rows, and the KPI named as not analysed (it raised a TypeError)
    gaps = kpi_gaps(load_dataset(mpdta_data))
    assert gaps.no_target == ["lemp"] and gaps.by_month.empty and gaps.by_person.empty
    assert "KPIs without a target (not analysed): lemp" in (mpdta_run.parent / "01_gap_analysis.html").read_text(encoding="utf-8")


def test_cohorts_at_the_panels_edges_are_accounted_for_and_do_not_drag_others_out(tmp_path: Path) -> None:
    """Six counties "trained" in the panel's first month and six after its last, beside mpdta's 191.

    The first-month six have no month before training; pooled by the small-cohort rule with the 20
    of the next month, they took those 20 out with them. The after-the-end six crashed the cohort
    table (IndexError); they have no KPI month after training.
    """
    import warnings

    from analysis.attribution import evaluate_program
    from analysis.data import load_dataset

    data = _write_hr_exports(tmp_path / "edge_hr")
    never = pd.read_csv(MPDTA).drop_duplicates("countyreal").query("`first.treat` == 0")["countyreal"]
    edge = pd.DataFrame({"county": [f"C{c}" for c in never.iloc[:12]], "policy": "MW", "state_of": "done",
                         "from": ["2024-01-02"] * 6 + ["2024-07-02"] * 6, "to": ["2024-01-20"] * 6 + ["2024-07-20"] * 6})  # fmt: skip
    pd.concat([pd.read_csv(data / "adoptions.csv"), edge]).to_csv(data / "adoptions.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ev = evaluate_program(load_dataset(data), "MW", n_boot=0, diagnostics=False, heterogeneity=False, robustness=False)
    acc = ev.accounting.table.set_index(["group", "training_month"])
    assert acc.loc[("all trainees", ""), ["trainees", "used", "set_aside"]].tolist() == [203, 191, 12]
    assert acc.loc[("trainees", "2024-01"), "why"] == "6 no month before training in the panel"
    assert acc.loc[("trainees", "2024-02"), ["trainees", "used"]].tolist() == [20, 20]
    assert acc.loc[("trainees", "2024-07"), "why"] == "6 trained after the panel's last month (no KPI month after training)"
    assert acc.loc[("comparison (never trained in the program)", ""), "trainees"] == 309 - 12


def test_every_page_shows_formatted_numbers(mpdta_run: Path) -> None:
    assert_pages_formatted(mpdta_run.parent)


@pytest.mark.parametrize("anticipation", [1, "auto"])
def test_a_small_second_month_does_not_pool_a_later_month_out_of_the_estimate(tmp_path: Path, anticipation) -> None:
    """Four trainees in the panel's second month, twelve in its third: one pool, counted from the second month.

    With the comparison month two months before training (anticipation 1, given or chosen from a slump the
    data show), the second month has none, and the pool took the third month's twelve out of the estimate with
    it. The second and third months' trainees are pooled no more; the twelve are used, the four are set aside
    for having no comparison month.
    """
    import warnings

    from analysis.attribution import evaluate_program
    from analysis.data import load_dataset

    data = _write_hr_exports(tmp_path / "pool_hr")
    m = pd.read_csv(MPDTA)
    c2004 = m.loc[m["first.treat"] == 2004, "countyreal"].unique()
    drop = {f"C{c}" for c in c2004[4:]}  # 4 of the 2004 (second-month) adopters stay
    never = [f"C{c}" for c in m.loc[m["first.treat"] == 0, "countyreal"].unique()[:12]]
    for name, col in (("counties.csv", "county"), ("adoptions.csv", "county"), ("outcomes.csv", "county")):
        t = pd.read_csv(data / name)
        t[~t[col].isin(drop)].to_csv(data / name, index=False)
    adopt = pd.read_csv(data / "adoptions.csv")
    third = pd.DataFrame({"county": never, "policy": "MW", "state_of": "done", "from": "2024-03-02", "to": "2024-03-20"})
    pd.concat([adopt, third]).to_csv(data / "adoptions.csv", index=False)
    if anticipation == "auto":  # a slump in the year before adoption, for the rule to find
        out = pd.read_csv(data / "outcomes.csv")
        start = pd.concat([adopt, third]).set_index("county")["from"].str.slice(0, 7)
        before = out["county"].map(start).map(lambda s: pd.Timestamp(s + "-01") - pd.DateOffset(months=1) if isinstance(s, str) else pd.NaT)
        out.loc[pd.to_datetime(out["period_start"]) == before, "level"] -= 0.3
        out.to_csv(data / "outcomes.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ev = evaluate_program(load_dataset(data), "MW", anticipation=anticipation, n_boot=0, diagnostics=False,
                              heterogeneity=False, robustness=False)  # fmt: skip
    assert ev.recommended.anticipation == 1
    acc = ev.accounting.table.set_index(["group", "training_month"])
    assert acc.loc[("trainees", "2024-03"), ["trainees", "used"]].tolist() == [12, 12]
    assert acc.loc[("trainees", "2024-02"), ["trainees", "used", "set_aside"]].tolist() == [4, 0, 4]
    assert acc.loc[("all trainees", ""), ["trainees", "used", "set_aside"]].tolist() == [187, 183, 4]
    assert ev.overall.n_treated == 183
