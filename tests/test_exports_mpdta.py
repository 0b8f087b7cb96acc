"""A real public staggered panel (R did's mpdta: 500 US counties, teen employment 2003-2007) dressed as Chinese HR exports.

The counties become employees, the minimum-wage rise the "training" (first.treat the
cohort), log teen employment the monthly KPI (one value each January). Everything arrives
the way an HR system writes it: one Excel workbook with Chinese sheet and column names,
Excel date cells, Chinese status and yes/no codes, months written ``YYYY/M``, and a
``mapping.yaml`` that maps it all onto the contract; ``python -m analysis validate`` must
read it to the published numbers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.data import load_dataset
from tests.conftest import MPDTA, NEEDS_MPDTA

pytestmark = NEEDS_MPDTA

MAPPING = """# 人力资源系统导出 -> 数据契约
files:
  employees: {path: 人力资源导出.xlsx, sheet: 员工花名册}
  kpi_definitions: {path: 人力资源导出.xlsx, sheet: 指标}
  programs: {path: 人力资源导出.xlsx, sheet: 课程}
  enrollments: {path: 人力资源导出.xlsx, sheet: 培训记录}
  kpi_monthly: {path: 人力资源导出.xlsx, sheet: 月度绩效, date_format: {月份: YYYY/M}}
columns:
  employees: {工号: employee_id, 部门: department, 岗位: role, 区域: region, 入职日期: hire_date}
  kpi_definitions: {指标: kpi, 单位: unit, 越高越好: higher_is_better, 单位价值: value_per_unit}
  programs: {课程编号: program_id, 课程名称: name, 类别: category, 目标能力: target_competency, 指标: kpi, 学时: duration_hours}
  enrollments: {工号: employee_id, 课程编号: program_id, 状态: status, 开始日期: start_date, 结束日期: end_date}
  kpi_monthly: {工号: employee_id, 月份: month, 指标: kpi, 数值: value}
values:
  kpi_definitions:
    越高越好: {是: 'true', 否: 'false'}
  enrollments:
    状态: {已完成: completed}
"""


@pytest.fixture(scope="module")
def mpdta_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from openpyxl import Workbook

    panel = pd.read_csv(MPDTA)
    counties = panel.drop_duplicates("countyreal").sort_values("countyreal")
    wb = Workbook()
    wb.remove(wb.active)

    def sheet(name: str, header: list[str], rows) -> None:
        ws = wb.create_sheet(name)
        ws.append(header)
        for row in rows:
            ws.append(list(row))

    sheet(
        "员工花名册", ["工号", "部门", "岗位", "区域", "入职日期", "人口对数"],
        ((str(c), "门店运营", "店员", "华北" if c % 2 else "华南", dt.datetime(2001, 7, 1), p) for c, p in zip(counties["countyreal"], counties["lpop"], strict=True)),
    )  # fmt: skip
    sheet("指标", ["指标", "单位", "越高越好", "单位价值"], [("青年就业", "对数", "是", 0)])
    sheet("课程", ["课程编号", "课程名称", "类别", "目标能力", "指标", "学时"], [("MW", "最低工资上调", "政策", "薪酬", "青年就业", 1)])
    treated = counties[counties["first.treat"] > 0]
    sheet(
        "培训记录", ["工号", "课程编号", "状态", "开始日期", "结束日期"],
        ((str(c), "MW", "已完成", dt.datetime(int(y), 1, 1), dt.datetime(int(y), 1, 1)) for c, y in zip(treated["countyreal"], treated["first.treat"], strict=True)),
    )  # fmt: skip
    sheet("月度绩效", ["工号", "月份", "指标", "数值"], ((str(c), f"{y}/1", "青年就业", v) for c, y, v in zip(panel["countyreal"], panel["year"], panel["lemp"], strict=True)))
    folder = tmp_path_factory.mktemp("mpdta")
    wb.save(folder / "人力资源导出.xlsx")
    (folder / "mapping.yaml").write_text(MAPPING, encoding="utf-8")
    return folder


def test_mpdta_as_chinese_hr_exports_validates(mpdta_folder: Path) -> None:
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in mpdta_folder.iterdir()}
    done = subprocess.run([sys.executable, "-m", "analysis", "validate", "--data", str(mpdta_folder)], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "valid — 5 tables, panel 2003-01 to 2007-01 (49 months)" in out
    assert "employees               500 rows" in out and "kpi_monthly           2,500 rows" in out and "enrollments             191 rows" in out
    assert "Traceback" not in done.stderr
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in mpdta_folder.iterdir()} == before


def test_mpdta_values_survive_the_workbook(mpdta_folder: Path) -> None:
    ds = load_dataset(mpdta_folder)
    kpi = ds.kpi_monthly.set_index(["employee_id", "month"])["value"]
    # the first rows of mpdta.csv: county 8001, lemp 8.46146904264388 in 2003 and 8.48735234940522 in 2007
    assert kpi[("8001", pd.Timestamp("2003-01-01"))] == pytest.approx(8.46146904264388, abs=1e-12)
    assert kpi[("8001", pd.Timestamp("2007-01-01"))] == pytest.approx(8.48735234940522, abs=1e-12)
    assert ds.kpi_definitions["higher_is_better"].tolist() == [True]
    cohorts = ds.cohorts("MW")["cohort_month"].dt.year.value_counts().sort_index()
    # mpdta's treatment groups: 20 counties first treated in 2004, 40 in 2006, 131 in 2007
    assert cohorts.to_dict() == {2004: 20, 2006: 40, 2007: 131}
    assert ds.employees["人口对数"].dtype == "float64" and ds.employees["hire_date"].eq(pd.Timestamp("2001-07-01")).all()


def test_a_kpi_measured_once_a_year_keeps_every_trainee_in_the_accounting(mpdta_folder: Path) -> None:
    """mpdta's KPI is one January value a year: each cohort is compared with the January before (R did's base period).

    The accounting looked for the calendar month before training, which a yearly KPI never has, and
    said "0 of 191 trainees are in this estimate" beside an estimate made from all of them.
    """
    import warnings

    from analysis.attribution import evaluate_program
    from analysis.attribution.accounting import comparison_period
    from analysis.attribution.narrative import diagnostics_table

    assert comparison_period([1, 13, 25, 37, 49], 37, 0) == 25 and comparison_period([1, 13, 25, 37, 49], 37, 1) == 25
    assert comparison_period(list(range(1, 50)), 37, 1) == 35 and comparison_period([1, 13], 13, 0) == 1
    assert comparison_period([1, 13], 1, 0) is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ev = evaluate_program(load_dataset(mpdta_folder), "MW", n_boot=0, heterogeneity=False)
    assert ev.accounting.n_used == ev.accounting.n_trainees == 191
    assert ev.accounting.table.set_index("group").loc["all trainees", "set_aside"] == 0
    # the placebo (dates moved 3 months earlier) has no KPI month to compare with: "n/a", not "failed"
    placebo = diagnostics_table(ev).set_index("check").loc["Placebo (fake training dates)"]
    assert placebo["result"] == "n/a" and placebo["verdict"].startswith("Placebo not computable")
    # the other anticipation names a month the yearly KPI does not have: the row says it compares with the same month
    rob = ev.robustness.set_index("variant")
    row = rob.loc["Anticipation 1: on this panel the same comparison month as the recommended estimate"]
    assert row["att"] == pytest.approx(rob.loc["Recommended estimate", "att"], rel=1e-9)
