"""A safe formula engine for KPI definitions written as data.

A KPI library (YAML) states each KPI as an expression over named aggregates, e.g.
``completed / enrolled`` or ``100 * (promoters - detractors) / respondents``. The text
is parsed with Python's :mod:`ast` and only an allow-list of node types is accepted:
numbers and strings, names, ``+ - * / // % **``, unary ``-``/``+``/``not``, comparisons,
``and``/``or``, a conditional ``a if cond else b`` and calls of the functions in
:data:`FUNCTIONS`. Attribute access, subscripts, lambdas, comprehensions, keyword
arguments and any other construct are refused at parse time, so no code from a library
file ever runs: the evaluator walks the checked tree itself (nothing is passed to
``eval`` or ``compile``).

Values may be numbers or pandas Series (one value per period or per row); arithmetic is
element-wise. A division by zero is never turned silently into ``inf``: it raises
:class:`FormulaError` naming where the denominator is zero.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["FUNCTIONS", "Formula", "FormulaError", "evaluate", "parse_formula"]


class FormulaError(ValueError):
    """A formula that cannot be parsed or evaluated; ``kind`` says why.

    Parameters
    ----------
    message : str
        Plain-language reason.
    kind : str
        One of ``syntax``, ``not_allowed``, ``unknown_function``, ``unknown_name``,
        ``division_by_zero``, ``type``.
    where : list, optional
        Index labels (periods, rows) where the problem occurred.
    """

    def __init__(self, message: str, kind: str, where: list[Any] | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.where = list(where or [])


def _safe_log(x: Any) -> Any:
    return np.log(x)


def _where(cond: Any, a: Any, b: Any) -> Any:
    if isinstance(cond, pd.Series):
        return pd.Series(np.where(cond.fillna(False).astype(bool), a, b), index=cond.index)
    return a if cond else b


def _days(x: Any) -> Any:
    """A time span in days (``days(end_date - start_date)``)."""
    if isinstance(x, pd.Series):
        return x.dt.total_seconds() / 86400.0
    return pd.Timedelta(x).total_seconds() / 86400.0


def _isnull(x: Any) -> Any:
    return x.isna() if isinstance(x, pd.Series) else (x is None or (isinstance(x, float) and math.isnan(x)))


def _notnull(x: Any) -> Any:
    return x.notna() if isinstance(x, pd.Series) else not _isnull(x)


def _elementwise(f: Callable[..., Any]) -> Callable[..., Any]:
    def g(*args: Any) -> Any:
        if any(isinstance(a, pd.Series) for a in args):
            return f(*args)
        return float(f(*args))

    return g


#: Functions a formula may call (name -> implementation). Element-wise on Series.
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": _elementwise(np.abs),
    "sqrt": _elementwise(np.sqrt),
    "log": _elementwise(_safe_log),
    "exp": _elementwise(np.exp),
    "round": lambda x, digits=0: x.round(int(digits)) if isinstance(x, pd.Series) else round(float(x), int(digits)),
    "min": lambda *a: np.minimum.reduce(a) if any(isinstance(v, pd.Series) for v in a) else min(a),
    "max": lambda *a: np.maximum.reduce(a) if any(isinstance(v, pd.Series) for v in a) else max(a),
    "where": _where,
    "days": _days,
    "isnull": _isnull,
    "notnull": _notnull,
}

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Pow: operator.pow,
    ast.Mod: operator.mod,
    ast.FloorDiv: operator.floordiv,
}
_CMPOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_ALLOWED = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Call, ast.Name, ast.Load,
    ast.Constant, ast.USub, ast.UAdd, ast.Not, ast.And, ast.Or, ast.Div, *_BINOPS, *_CMPOPS,
)


@dataclass(frozen=True)
class Formula:
    """A parsed, checked formula.

    Attributes
    ----------
    text : str
        The formula as written.
    names : frozenset of str
        The names it reads (aggregates, inputs or columns).
    functions : frozenset of str
        The functions it calls.
    """

    text: str
    tree: ast.Expression
    names: frozenset[str]
    functions: frozenset[str]


def parse_formula(text: str, functions: Mapping[str, Callable[..., Any]] = FUNCTIONS) -> Formula:
    """Parse and check a formula against the allow-list.

    Parameters
    ----------
    text : str
        E.g. ``"completed / enrolled"``.
    functions : mapping, optional
        Functions allowed in calls (default :data:`FUNCTIONS`).

    Returns
    -------
    Formula

    Raises
    ------
    FormulaError
        ``syntax`` (not an expression), ``not_allowed`` (a construct outside the
        allow-list, e.g. attribute access or a keyword argument) or ``unknown_function``.
    """
    if not isinstance(text, str) or not text.strip():
        raise FormulaError("the formula is empty", "syntax")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        col = f" at character {exc.offset}" if exc.offset else ""
        raise FormulaError(f"syntax error in formula {text!r}{col}: {exc.msg}", "syntax") from None
    names: set[str] = set()
    called: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise FormulaError(f"formula {text!r} uses {type(node).__name__}, which formulas may not (allowed: arithmetic, "
                               "comparisons, and/or/not, 'a if c else b' and calls of " + ", ".join(sorted(functions)) + ")", "not_allowed")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                raise FormulaError(f"formula {text!r} calls something that is not a plain function name", "not_allowed")
            if node.keywords:
                raise FormulaError(f"formula {text!r}: function {node.func.id}() takes no keyword arguments", "not_allowed")
            if node.func.id not in functions:
                raise FormulaError(f"unknown function {node.func.id}() in formula {text!r}; known functions: {', '.join(sorted(functions))}",
                                   "unknown_function")
            called.add(node.func.id)
        elif isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Constant) and not isinstance(node.value, (int, float, str, bool)):
            raise FormulaError(f"formula {text!r}: constant {node.value!r} is not a number or text", "not_allowed")
    names -= called
    return Formula(text=text.strip(), tree=tree, names=frozenset(names), functions=frozenset(called))


def evaluate(formula: Formula | str, env: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]] = FUNCTIONS) -> Any:
    """Evaluate a formula over named values.

    Parameters
    ----------
    formula : Formula or str
        A parsed formula, or its text.
    env : mapping of str to number or Series
        The values of the names. Series are aligned on their index.
    functions : mapping, optional
        Allowed functions.

    Returns
    -------
    float or Series

    Raises
    ------
    FormulaError
        ``unknown_name`` (a name not in ``env``), ``division_by_zero`` (naming the index
        labels where the denominator is zero) or ``type`` (e.g. text in arithmetic).
    """
    f = parse_formula(formula, functions) if isinstance(formula, str) else formula
    missing = sorted(f.names - set(env))
    if missing:
        raise FormulaError(f"unknown name{'s' if len(missing) > 1 else ''} {', '.join(missing)} in formula {f.text!r}; "
                           f"known: {', '.join(sorted(env)) or 'none'}", "unknown_name")
    try:
        return _eval(f.tree.body, env, functions, f.text)
    except FormulaError:
        raise
    except (TypeError, ValueError, OverflowError) as exc:
        raise FormulaError(f"formula {f.text!r} cannot be computed: {exc}", "type") from None


def _divide(a: Any, b: Any, text: str) -> Any:
    if isinstance(b, pd.Series):
        zero = b == 0
        if zero.any():
            where = list(b.index[zero.fillna(False).astype(bool)])
            raise FormulaError(f"division by zero in formula {text!r} (denominator is 0 for {', '.join(map(str, where[:5]))})",
                               "division_by_zero", where)
        return a / b
    if b == 0:
        raise FormulaError(f"division by zero in formula {text!r}", "division_by_zero")
    if isinstance(a, pd.Series):
        return a / b
    return float(a) / float(b)


def _eval(node: ast.AST, env: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]], text: str) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, env, functions, text)
        if isinstance(node.op, ast.USub):
            return -v
        if isinstance(node.op, ast.UAdd):
            return +v
        return ~v.astype(bool) if isinstance(v, pd.Series) else not v
    if isinstance(node, ast.BinOp):
        a = _eval(node.left, env, functions, text)
        b = _eval(node.right, env, functions, text)
        if isinstance(node.op, ast.Div):
            return _divide(a, b, text)
        if isinstance(node.op, (ast.FloorDiv, ast.Mod)) and (b == 0 if not isinstance(b, pd.Series) else bool((b == 0).any())):
            raise FormulaError(f"division by zero in formula {text!r}", "division_by_zero")
        return _BINOPS[type(node.op)](a, b)
    if isinstance(node, ast.BoolOp):
        values = [_eval(v, env, functions, text) for v in node.values]
        if any(isinstance(v, pd.Series) for v in values):
            out = values[0].fillna(False).astype(bool) if isinstance(values[0], pd.Series) else values[0]
            for v in values[1:]:
                v = v.fillna(False).astype(bool) if isinstance(v, pd.Series) else v
                out = (out & v) if isinstance(node.op, ast.And) else (out | v)
            return out
        if isinstance(node.op, ast.And):
            return all(values)
        return any(values)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, env, functions, text)
        out: Any = True
        for op, comp in zip(node.ops, node.comparators):
            right = _eval(comp, env, functions, text)
            res = _CMPOPS[type(op)](left, right)
            out = res if out is True else (out & res)
            left = right
        return out
    if isinstance(node, ast.IfExp):
        return _where(_eval(node.test, env, functions, text), _eval(node.body, env, functions, text), _eval(node.orelse, env, functions, text))
    if isinstance(node, ast.Call):
        args = [_eval(a, env, functions, text) for a in node.args]
        return functions[node.func.id](*args)  # type: ignore[attr-defined]
    raise FormulaError(f"formula {text!r} uses {type(node).__name__}, which formulas may not", "not_allowed")  # pragma: no cover
