"""The safe formula engine: arithmetic as Python does it, and nothing else runs."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.formula import FormulaError, evaluate, parse_formula


def test_rate_and_precedence_hand_computed() -> None:
    assert evaluate("completed / enrolled", {"completed": 3, "enrolled": 4}) == 0.75
    assert evaluate("100 * (promoters - detractors) / respondents", {"promoters": 30, "detractors": 10, "respondents": 80}) == 25.0
    assert evaluate("-a + b ** 2 % 5", {"a": 1, "b": 3}) == -1 + (9 % 5)
    assert evaluate("max(a, b) - abs(c) + round(d, 1)", {"a": 2, "b": 5, "c": -1.5, "d": 2.26}) == pytest.approx(5 - 1.5 + 2.3)
    assert evaluate("a if a > b else b", {"a": 1, "b": 2}) == 2


def test_names_and_functions_are_reported() -> None:
    f = parse_formula("sqrt(x) / (y + z)")
    assert f.names == {"x", "y", "z"} and f.functions == {"sqrt"}


def test_series_are_elementwise_and_where_clauses_work() -> None:
    s = pd.Series(["completed", "failed", "completed"])
    n = pd.Series([0, 2, 1])
    mask = evaluate("status == 'completed' and attempts >= 1", {"status": s, "attempts": n})
    assert mask.tolist() == [False, False, True]
    out = evaluate("a / b", {"a": pd.Series([1.0, 3.0]), "b": pd.Series([2.0, 4.0])})
    assert out.tolist() == [0.5, 0.75]
    days = evaluate("days(end - start)", {"end": pd.Series(pd.to_datetime(["2024-01-11"])), "start": pd.Series(pd.to_datetime(["2024-01-01"]))})
    assert days.tolist() == [10.0]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("completed / (enrolled", "syntax"),
        ("completed /", "syntax"),
        ("", "syntax"),
        ("foo(completed)", "unknown_function"),
        ("__import__('os').system('true')", "not_allowed"),
        ("open('x')", "unknown_function"),
        ("completed.__class__", "not_allowed"),
        ("x[0]", "not_allowed"),
        ("(lambda: 1)()", "not_allowed"),
        ("[a for a in b]", "not_allowed"),
        ("round(x, ndigits=2)", "not_allowed"),
        ("a := 1", "syntax"),
    ],
)
def test_refused_formulas(text: str, kind: str) -> None:
    with pytest.raises(FormulaError) as err:
        parse_formula(text)
    assert err.value.kind == kind


def test_division_by_zero_names_where() -> None:
    with pytest.raises(FormulaError) as err:
        evaluate("a / b", {"a": 1.0, "b": 0.0})
    assert err.value.kind == "division_by_zero"
    with pytest.raises(FormulaError) as err:
        evaluate("a / b", {"a": pd.Series([1.0, 2.0], index=["2024-Q1", "2024-Q2"]), "b": pd.Series([1.0, 0.0], index=["2024-Q1", "2024-Q2"])})
    assert err.value.where == ["2024-Q2"] and "2024-Q2" in str(err.value)
    with pytest.raises(FormulaError, match="division by zero"):
        evaluate("a // b", {"a": 1, "b": 0})


def test_unknown_name() -> None:
    with pytest.raises(FormulaError) as err:
        evaluate("completed / enroled", {"completed": 1, "enrolled": 2})
    assert err.value.kind == "unknown_name" and "enroled" in str(err.value)


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@given(finite, finite, finite)
def test_arithmetic_matches_python(a: float, b: float, c: float) -> None:
    assert evaluate("a + b * c - a", {"a": a, "b": b, "c": c}) == a + b * c - a
    if b != 0:
        assert evaluate("a / b", {"a": a, "b": b}) == a / b
        assert math.isclose(evaluate("(a + c) / b", {"a": a, "b": b, "c": c}), (a + c) / b, rel_tol=1e-12, abs_tol=1e-12)
