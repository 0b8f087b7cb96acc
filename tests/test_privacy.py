"""Privacy rules and the report context: no identifiers, small groups suppressed, strings escaped."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.privacy import PrivacyError, assert_no_identifiers, escape, find_identifiers, pseudonymize, suppress_small_groups
from analysis.report import ReportContext, fmt_money, fmt_number, fmt_pct


def test_pseudonymize_is_stable_salted_and_keeps_missing() -> None:
    ids = pd.Series(["E001", "E002", "E001", None])
    keys = pseudonymize(ids, salt="s1")
    assert keys[0] == keys[2] and keys[0] != keys[1]
    assert keys.str.fullmatch(r"p-[0-9a-f]{10}").iloc[:3].all()
    assert pd.isna(keys[3])
    assert pseudonymize(ids, salt="s2")[0] != keys[0]
    assert "E001" not in keys[0]


def test_suppress_small_groups_blanks_numbers_and_says_why() -> None:
    df = pd.DataFrame({"department": ["Sales", "Legal"], "n": [12, 3], "att": [100.0, 900.0]})
    out = suppress_small_groups(df, "n", 5)
    assert out.loc[0, "att"] == 100.0 and out.loc[0, "n"] == 12
    assert pd.isna(out.loc[1, "att"]) and pd.isna(out.loc[1, "n"])
    assert out.loc[1, "department"] == "Legal"
    assert out.loc[1, "note"] == "suppressed: fewer than 5 people"
    assert df.loc[1, "att"] == 900.0, "input untouched"


@given(st.lists(st.integers(0, 30), min_size=1, max_size=20), st.integers(1, 15))
def test_no_group_below_minimum_survives(sizes: list[int], minimum: int) -> None:
    df = pd.DataFrame({"group": [f"g{i}" for i in range(len(sizes))], "n": sizes, "value": [float(s) * 2 for s in sizes]})
    out = suppress_small_groups(df, "n", minimum)
    shown = out.dropna(subset=["n"])
    assert (shown["n"] >= minimum).all()
    assert len(shown) == sum(s >= minimum for s in sizes)
    assert (shown["value"] == shown["n"] * 2).all()


def test_identifiers_are_refused_by_name_and_by_value() -> None:
    with pytest.raises(PrivacyError, match="employee_id"):
        assert_no_identifiers(pd.DataFrame({"employee_id": ["E1"], "x": [1]}))
    with pytest.raises(PrivacyError, match="who"):
        assert_no_identifiers(pd.DataFrame({"who": ["E00042"], "x": [1]}), known_ids=["E00042"])
    assert_no_identifiers(pd.DataFrame({"department": ["Sales"], "x": [1]}), known_ids=["E00042"])


def test_escape() -> None:
    assert escape("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert escape('a "b" & c') == "a &quot;b&quot; &amp; c"


def test_report_context_exports_safe_tables_and_headlines(tmp_path: Path) -> None:
    ctx = ReportContext("02_x", tmp_path, min_group_size=5, known_ids=["E1"])
    safe = ctx.table(pd.DataFrame({"department": ["A", "B"], "n_trainees": [10, 2], "att": [1.0, 2.0]}), "by_dept")
    written = pd.read_csv(tmp_path / "tables" / "02_x__by_dept.csv")
    assert written["att"].isna().tolist() == [False, True]
    assert safe["note"].tolist()[1].startswith("suppressed")
    with pytest.raises(PrivacyError):
        ctx.table(pd.DataFrame({"person": ["E1"], "n": [9]}), "leak")
    assert not (tmp_path / "tables" / "02_x__leak.csv").exists()
    h = ctx.headline("P01 raised sales by <b>¥1</b>", key="P01", value=1.0)
    assert "&lt;b&gt;" in h._repr_html_()
    ctx.headline("second", key="P02", value=2.0)
    saved = json.loads((tmp_path / "headlines" / "02_x.json").read_text(encoding="utf-8"))
    assert [s["key"] for s in saved] == ["P01", "P02"] and saved[1]["value"] == 2.0


def test_report_context_writes_nothing_without_output_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ctx = ReportContext("00_x")
    ctx.table(pd.DataFrame({"a": [1]}), "t")
    ctx.headline("h")
    assert list(tmp_path.iterdir()) == []


def test_print_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    ReportContext("00_x").print_parameters(data_dir="sample", min_group_size=5)
    assert capsys.readouterr().out == "Parameters of 00_x:\n  data_dir = 'sample'\n  min_group_size = 5\n"


def test_number_formats() -> None:
    assert fmt_money(1234567.8) == "¥1,234,568"
    assert fmt_money(-1200) == "-¥1,200"
    assert fmt_money(float("nan")) == "n/a"
    assert fmt_number(12345.678, 1) == "12,345.7"
    assert fmt_pct(0.4567) == "46%" and fmt_pct(0.4567, 1) == "45.7%"


def test_suppression_note_names_the_hidden_rows() -> None:
    ctx = ReportContext("00_x", None, min_group_size=5)
    cohorts = ctx.table(
        pd.DataFrame({"program_id": ["P01", "P03"], "cohort_month": pd.to_datetime(["2024-04-01", "2025-07-01"]), "n": [37, 3]}), "c"
    )
    assert str(ctx.suppression_note(cohorts, ["program_id", "cohort_month"])) == "Suppressed (fewer than 5 people): P03 2025-07."
    whole = ctx.table(pd.DataFrame({"kpi": ["sales"], "n": [9]}), "k")
    assert str(ctx.suppression_note(whole, ["kpi"])) == "No group is below the minimum size of 5 people; nothing is suppressed."


def test_bullets_escape_data_strings() -> None:
    from analysis.report import bullets

    html = bullets(["dept <script>alert(1)</script>", "b & c"])._repr_html_()
    assert html == "<ul><li>dept &lt;script&gt;alert(1)&lt;/script&gt;</li><li>b &amp; c</li></ul>"
    assert str(bullets([], empty="No warnings.")) == "No warnings."


def _isin_reference(df: pd.DataFrame, known: set[str]) -> list[str]:
    """The check as pandas' isin states it (the kit uses set membership of each distinct value instead)."""
    cols = [c for c in df.columns if (pd.api.types.is_string_dtype(df[c]) or df[c].dtype == object)
            and df[c].astype("string").isin(known).any()]
    return cols + (["(index)"] if df.index.astype(str).isin(known).any() else [])


@given(
    values=st.lists(st.one_of(st.sampled_from(["E1", "E22", "Sales", "nan", "3"]), st.none(), st.integers(0, 5)), min_size=1, max_size=8),
    as_arrow=st.booleans(),
    index_ids=st.booleans(),
)
@settings(max_examples=60, deadline=None)
def test_identifiers_by_value_match_pandas_isin(values: list, as_arrow: bool, index_ids: bool) -> None:
    known = {"E1", "E22", "3"}
    col = pd.Series(values, dtype=object)
    if as_arrow:
        col = col.map(lambda v: None if v is None else str(v)).astype("string")
    index = [f"E{i}" if index_ids else f"row{i}" for i in range(len(values))]
    df = pd.DataFrame({"who": col.to_numpy(), "n": range(len(values))}, index=index)
    assert find_identifiers(df, known) == _isin_reference(df, known)
