"""The report's formatting layer: one rule per test, each checked against hand-written cells."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.report import (
    QUESTIONS,
    ReportContext,
    column_kind,
    fmt_estimate,
    fmt_month,
    fmt_p,
    fmt_pct,
    fmt_signed_pct,
    fmt_share,
    fmt_sig,
    format_table,
    kpi_label,
    kpi_labels,
    method_details,
    page_title,
    readable,
    se_decimals,
)

REPRS = ("None", "NaN", "nan", "True", "False", "<NA>", "NaT", "array(", "dtype")


def _cells(df: pd.DataFrame, **options: object) -> pd.DataFrame:
    return format_table(df, **options).display


def test_no_index_and_labels_in_words() -> None:
    df = pd.DataFrame({"program_id": ["P01"], "n_trainees": [37], "p_value": [0.5]}, index=[7])
    table = format_table(df)
    assert list(table.display.columns) == ["Program", "Trainees", "p-value"]
    html = table.to_html()
    assert ">7<" not in html and "row_heading" not in html and "index_name" not in html
    assert format_table(df.set_index("program_id")).display.columns[0] == "Program", "a named index becomes a column"


def test_labels_units_and_readable_fallback() -> None:
    df = pd.DataFrame({"att": [1.0], "se": [0.5], "weird_new_col": [2.0], "roi_pct_x": [3.0]})
    cols = list(_cells(df, labels={"se": "SE"}, units={"att": "CNY"}).columns)
    assert cols == ["Effect per trainee and month (CNY)", "SE", "Weird new col", "ROI pct x"]
    assert readable("tickets_resolved") == "Tickets resolved"
    assert readable("kpi_name") == "KPI name"
    assert readable("P01") == "P01"


def test_thousands_separators_on_counts_and_numbers() -> None:
    cells = _cells(pd.DataFrame({"employees": [35842, 3], "mean": [110234.56, 2.5]}))
    assert cells["Employees"].tolist() == ["35,842", "3"]
    assert cells["Mean"].tolist() == ["110,235", "2.50"]
    # counts stored as floats after suppression still print as whole numbers
    assert _cells(pd.DataFrame({"n": [12.0, np.nan]}))["People"].tolist() == ["12", ""]


def test_estimate_and_interval_at_the_se_significant_digits() -> None:
    df = pd.DataFrame({"att": [0.0532, 5432.1], "se": [0.0303, 1234.0], "ci_low": [-0.00725, 3013.0], "ci_high": [0.114, 7851.0]})
    cells = _cells(df)
    # issue 13's example "0.0532, 95% CI -0.00725 to 0.114" with SE 0.0303 -> SE's two significant digits (3 decimals)
    assert cells.iloc[0].tolist() == ["0.053", "0.030", "-0.007 to 0.114"]
    # an SE of 1,234 supports hundreds
    assert cells.iloc[1].tolist() == ["5,400", "1,200", "3,000 to 7,900"]
    assert se_decimals(0.0303) == 3 and se_decimals(4.2) == 1 and se_decimals(1234) == -2
    assert fmt_estimate(-0.0001, 0.03) == "0.000", "no negative zero"
    assert fmt_estimate(1.23456, np.nan) == "1.23", "no SE: three significant digits"


def test_ci_columns_can_stay_apart() -> None:
    df = pd.DataFrame({"att": [1.0], "se": [0.1], "ci_low": [0.8], "ci_high": [1.2]})
    assert list(_cells(df, merge_ci=False).columns) == ["Effect per trainee and month", "Standard error", "95% CI low", "95% CI high"]


def test_money_with_its_unit() -> None:
    cells = _cells(pd.DataFrame({"cost_total": [1234567.8, -1200.0], "benefit_median": [0.25, np.nan]}))
    assert cells["Total cost"].tolist() == ["¥1,234,568", "-¥1,200"]
    assert cells["Benefit (median)"].tolist() == ["¥0.25", ""]
    assert _cells(pd.DataFrame({"cost_total": [5000.0]}), currency="$")["Total cost"].tolist() == ["$5,000"]


def test_shares_as_percent_matching_the_headline() -> None:
    # issue 13: "a fraction (0.569) beside a headline that says 57%"
    assert fmt_share(0.569) == fmt_pct(0.569) == "57%"
    cells = _cells(pd.DataFrame({"share": [0.569, 0.012, 0.0], "p_roi_positive": [0.999, 0.5, 1.0], "roi_pct_median": [45.3, -3.2, 150.0]}))
    assert cells["Share"].tolist() == ["57%", "1.2%", "0%"]
    assert cells["Chance ROI is positive"].tolist() == ["100%", "50%", "100%"]
    assert cells["ROI (median)"].tolist() == ["45%", "-3.2%", "150%"]


def test_months_one_form_everywhere() -> None:
    # issue 13: cohort months written three ways ("2024-04-01 · 4 · 2024-04")
    df = pd.DataFrame({
        "cohort_month": pd.to_datetime(["2024-04-01", "2025-07-01"]),
        "month": ["2024-04-01", "2024-05-01"],
        "training_month": ["2024-04", "2024-06"],
        "hire_date": pd.to_datetime(["2024-04-15", "2023-01-02"]),
    })  # fmt: skip
    cells = _cells(df)
    assert cells["First training month"].tolist() == ["2024-04", "2025-07"]
    assert cells["Month"].tolist() == ["2024-04", "2024-05"]
    assert cells["Training month"].tolist() == ["2024-04", "2024-06"]
    assert cells["Hire date"].tolist() == ["2024-04-15", "2023-01-02"]
    assert fmt_month(pd.Timestamp("2024-04-01")) == fmt_month("2024-04-01") == "2024-04"


def test_p_values() -> None:
    assert [fmt_p(p) for p in (0.94, 0.0532, 0.0012, 0.00001, 1.0)] == ["0.94", "0.053", "0.001", "<0.001", "1.00"]


def test_booleans_as_yes_no_and_missing_as_blank() -> None:
    df = pd.DataFrame({
        "recommended": [True, False, None], "note": [None, np.nan, "suppressed: fewer than 5 people"],
        "x": [np.nan, 1.5, None], "flag": pd.array([True, pd.NA, False], dtype="boolean"),
    })  # fmt: skip
    table = format_table(df)
    assert table.display["Recommended"].tolist() == ["yes", "no", ""]
    assert table.display["Flag"].tolist() == ["yes", "", "no"]
    assert table.display["Note"].tolist() == ["", "", "suppressed: fewer than 5 people"]
    assert table.display["X"].tolist() == ["", "1.50", ""]
    text = repr(table) + table.to_html()
    assert not any(r in text for r in REPRS)


def test_all_empty_columns_are_left_out_of_the_display_only() -> None:
    df = pd.DataFrame({"program_id": ["P01", "P02"], "true_att": [np.nan, np.nan], "note": ["", ""]})
    table = format_table(df)
    assert list(table.display.columns) == ["Program"]
    assert list(table.data.columns) == ["program_id", "true_att", "note"]
    assert list(format_table(df, drop_empty=False).display.columns) == ["Program", "True effect (sample data)", "Note"]


def test_long_text_wraps_short_text_and_numbers_do_not() -> None:
    df = pd.DataFrame({"program_id": ["P01"], "verdict": ["x " * 60], "n": [40]})
    html = format_table(df).to_html()
    assert 'class="data row0 col0 txt"' in html
    assert 'class="data row0 col1 wrap"' in html
    assert 'class="data row0 col2 num"' in html
    assert "white-space: normal" in html and "max-width: 22em" in html


def test_html_is_the_same_run_after_run() -> None:
    df = pd.DataFrame({"program_id": ["P01"], "n": [40]})
    assert format_table(df).to_html() == format_table(df.copy()).to_html()


def test_show_only_some_columns_and_refuse_unknown_ones() -> None:
    df = pd.DataFrame({"program_id": ["P01"], "att": [1.0], "internal": [3]})
    assert list(_cells(df, columns=["att", "program_id"]).columns) == ["Effect per trainee and month", "Program"]
    with pytest.raises(KeyError, match="nope"):
        format_table(df, columns=["nope"])
    with pytest.raises(ValueError, match="unknown format kind"):
        format_table(df, formats={"att": "dollars"})


def test_column_kind_inference() -> None:
    assert column_kind("cost_total", pd.Series([1.0])) == "money"
    assert column_kind("share", pd.Series([0.5])) == "share"
    assert column_kind("roi_pct_low", pd.Series([12.0])) == "percent"
    assert column_kind("att", pd.Series([1.0]), has_se=True) == "estimate"
    assert column_kind("att", pd.Series([1.0])) == "number"
    assert column_kind("error_rate", pd.Series([2.5])) == "number", "a KPI called *_rate is not a share"
    assert column_kind("recommended", pd.Series([True, None], dtype=object)) == "bool"
    # adjusted p-values too: the subgroup table showed 0.0000000000000152 beside "<0.001" elsewhere
    assert column_kind("p_holm", pd.Series([1.52e-14])) == "p"
    shown = format_table(pd.DataFrame({"p_holm": [1.52e-14, 0.0096, 1.0]})).display
    assert shown.iloc[:, 0].tolist() == ["<0.001", "0.010", "1.00"]


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), st.floats(min_value=1e-6, max_value=1e6))
def test_estimate_is_within_half_a_last_digit(value: float, se: float) -> None:
    text = fmt_estimate(value, se)
    step = 10.0 ** (-se_decimals(se))
    assert abs(float(text.replace(",", "")) - value) <= step / 2 + 1e-9 * max(1.0, abs(value))


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_sig_keeps_three_digits_and_the_whole_part(value: float) -> None:
    number = float(fmt_sig(value).replace(",", ""))
    assert abs(number - value) <= max(abs(value) * 0.005, 0.5 if abs(value) >= 100 else 0) + 1e-12


def test_kpi_display_names() -> None:
    defs = pd.DataFrame({"kpi": ["sales", "tickets_resolved"], "label": ["Monthly sales", None]})
    assert kpi_labels(defs) == {"sales": "Monthly sales", "tickets_resolved": "Tickets resolved"}
    assert kpi_label("error_rate") == "Error rate"
    ctx = ReportContext("02_training_attribution", kpi_definitions=defs)
    shown = ctx.format(pd.DataFrame({"kpi": ["sales", "tickets_resolved"], "n": [5, 6]})).display
    assert shown["KPI"].tolist() == ["Monthly sales", "Tickets resolved"]


def test_page_title_from_heading_or_metadata(tmp_path: Path) -> None:
    assert page_title("00_data_quality") == "Data quality"
    nb = {"cells": [{"cell_type": "markdown", "source": ["# 03 · ROI and budget\n", "text"]}], "metadata": {}}
    (tmp_path / "03_roi_budget.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    assert page_title(tmp_path / "03_roi_budget.ipynb") == "ROI and budget"
    nb["metadata"] = {"kit": {"title": "Return on training"}}
    (tmp_path / "03_roi_budget.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    assert page_title(tmp_path / "03_roi_budget.ipynb") == "Return on training"
    assert page_title(tmp_path / "09_skill_gaps.ipynb") == "Skill gaps", "no file: a readable file name"


def test_show_table_exports_raw_and_shows_formatted(tmp_path: Path) -> None:
    ctx = ReportContext("01_gap_analysis", tmp_path, 5)
    df = pd.DataFrame({"department": ["Sales", "Legal"], "n": [1234, 3], "share": [0.5, 0.25]})
    table = ctx.show_table(df, "gaps")
    raw = pd.read_csv(tmp_path / "tables" / "01_gap_analysis__gaps.csv")
    assert raw["share"].iloc[0] == 0.5 and pd.isna(raw["share"].iloc[1]), "the CSV keeps raw values; suppressed cells are empty"
    assert raw["n"].iloc[0] == 1234
    assert table.display.iloc[0].tolist() == ["Sales", "1,234", "50%", ""]
    assert table.display.iloc[1].tolist() == ["Legal", "", "", "suppressed: fewer than 5 people"]
    assert table.data.equals(ctx.table(df, "gaps"))


def test_headlines_carry_their_question_and_money(tmp_path: Path) -> None:
    ctx = ReportContext("03_roi_budget", tmp_path)
    ctx.headline("P01 returned 45%.", key="P01", value=45.0, money=1_200_000)
    ctx.headline("Move budget to P02.", question="budget")
    saved = json.loads((tmp_path / "headlines" / "03_roi_budget.json").read_text(encoding="utf-8"))
    assert [(h["question"], h["money"]) for h in saved] == [("roi", 1_200_000.0), ("budget", None)]
    assert ReportContext("02_training_attribution").headline("x").question == "effect"
    assert set(QUESTIONS) >= {"gaps", "effect", "roi", "budget", "scorecard"}
    with pytest.raises(ValueError, match="unknown question"):
        ctx.headline("x", question="vibes")


def test_method_details_collapse_their_content() -> None:
    html = method_details("Clipping bounds [0.001, 0.999] reached in 3 cells.", format_table(pd.DataFrame({"n": [5]})))._repr_html_()
    assert html.startswith('<details class="kit-method"><summary>Method details</summary>')
    assert "Clipping bounds" in html and "<table" in html and html.endswith("</details>")
    assert "&lt;b&gt;" in method_details("<b>")._repr_html_(), "text is escaped"


def test_parameters_print_in_words(capsys: pytest.CaptureFixture[str]) -> None:
    # issue 13: "programs = None", "control = 'never'" on the attribution page
    ReportContext("02_training_attribution").show_parameters(programs=None, control="never", n_boot=999, exact=True, ids=["P01", "P02"])
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "Parameters of this page:", "  programs: not set (default)", "  control: never", "  n_boot: 999", "  exact: yes", "  ids: P01, P02",
    ]  # fmt: skip
    assert not any(r in out for r in REPRS) and "'" not in out


def test_text_cells_that_read_as_numbers_align_right() -> None:
    # the cohort matrix holds counts as text ("26", "<5") so suppressed cells can say why
    html = format_table(pd.DataFrame({"month": ["2024-04"], "P01": ["1,026"], "P02": ["<5"], "group": ["Sales"]})).to_html()
    assert 'class="data row0 col1 num"' in html and 'class="data row0 col2 num"' in html and 'class="data row0 col3 txt"' in html
    assert readable("first training month") == "First training month"


def test_data_strings_never_become_markup() -> None:
    hostile = "<script>alert(1)</script>"
    html = format_table(pd.DataFrame({hostile: ["x"], "department": [hostile]}), caption=hostile).to_html()
    assert hostile not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3, "cell, column label and caption"


def test_wide_tables_get_smaller_type_and_short_text_may_wrap() -> None:
    narrow = format_table(pd.DataFrame({f"c{i}": [1] for i in range(4)})).to_html()
    wide = format_table(pd.DataFrame({f"c{i}": [1] for i in range(14)})).to_html()
    assert "font-size: 0.85rem" in narrow and "font-size: 0.72rem" in wide
    assert "max-width: 7em" in wide, "narrower column labels"


def test_signed_percentages_carry_their_sign_and_thousands_separator() -> None:
    assert fmt_signed_pct(168.2) == "+168%"
    assert fmt_signed_pct(-1100.4) == "-1,100%"
    assert fmt_signed_pct(0.4) == fmt_signed_pct(-0.4) == "0%"
    assert fmt_signed_pct(float("nan")) == fmt_signed_pct(float("inf")) == "n/a"
