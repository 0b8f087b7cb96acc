"""The KPI library as data: a YAML file of named aggregates, inputs and KPIs.

An analyst adds a KPI by editing the file — no code changes. The default library
(``analysis/kpi_library.yaml``) covers the balanced-scorecard KPI library of a training
company (seed 002) and the KPIs of a customer-training department (seed 004), and the
kit-computable measures of the learn → practice → exam loop (seed 000).

File layout::

    frequency: quarter              # reporting period: month, quarter or year
    inputs:                         # figures read from the scorecard_inputs table
      training_revenue: Revenue of the training business (CNY)
    aggregates:                     # named aggregates of the kit's tables, per period
      enrolled: {table: enrollments, date: start_date, agg: count}
      passed:   {table: enrollments, date: end_date, agg: count, where: "exam_passed == True"}
    kpis:
      - name: exam_pass_rate
        label: Exam pass rate
        perspective: internal_process   # financial | customer | internal_process | learning_growth
        tdrp: effectiveness             # efficiency | effectiveness | outcome (TDRp)
        formula: passed / sat
        unit: share                     # share | CNY | days | points | ...
        target: 0.85
        direction: higher               # higher | lower is better
        owner: Training delivery
        source: LMS / exam platform
        roles: [trainer]

Every problem is collected as a :class:`LibraryIssue` naming the file, the KPI (or
aggregate) and the line, and the rest of the library stays usable.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from analysis.formula import Formula, FormulaError, parse_formula

__all__ = [
    "AGGREGATIONS", "DEFAULT_LIBRARY", "DIRECTIONS", "FREQUENCIES", "PERSPECTIVE_LABELS", "PERSPECTIVES", "TDRP_GROUPS",
    "Aggregate", "Kpi", "KpiLibrary", "LibraryIssue", "load_library",
]

#: The default library shipped inside the package.
DEFAULT_LIBRARY = Path(__file__).resolve().parents[1] / "kpi_library.yaml"
#: Balanced-scorecard perspectives (Kaplan & Norton 1992), in display order.
PERSPECTIVES: tuple[str, ...] = ("financial", "customer", "internal_process", "learning_growth")
#: Display names of the perspectives.
PERSPECTIVE_LABELS: dict[str, str] = {
    "financial": "Financial", "customer": "Customer", "internal_process": "Internal process", "learning_growth": "Learning & growth",
}
#: Talent Development Reporting principles measure groups, in display order.
TDRP_GROUPS: tuple[str, ...] = ("efficiency", "effectiveness", "outcome")
DIRECTIONS: tuple[str, ...] = ("higher", "lower")
FREQUENCIES: tuple[str, ...] = ("month", "quarter", "year")
#: Aggregations an aggregate may use.  ``employed_start`` / ``employed_end`` count employees
#: employed on the first / last day of the period, ``retained`` those employed on both.
AGGREGATIONS: tuple[str, ...] = ("count", "sum", "mean", "nunique", "employed_start", "employed_end", "retained")
TO_DATE: tuple[str, ...] = ("mean", "sum", "last")


@dataclass(frozen=True)
class LibraryIssue:
    """A problem with one entry of a library file.

    Attributes
    ----------
    file : str
        The library file's name.
    line : int or None
        1-based line of the entry (or of the offending key).
    entry : str
        KPI or aggregate name.
    kind : str
        ``duplicate``, ``missing``, ``invalid``, ``syntax``, ``unknown_function``,
        ``unknown_name``, ``unknown_table``, ``unknown_column``, ``division_by_zero``, ``type``.
    message : str
        What is wrong, in words.
    """

    file: str
    line: int | None
    entry: str
    kind: str
    message: str

    def __str__(self) -> str:
        where = f", line {self.line}" if self.line else ""
        return f"{self.file}{where}, KPI {self.entry!r}: {self.message}"


@dataclass(frozen=True)
class Aggregate:
    """A named aggregate of one table, per period (see the module docstring)."""

    name: str
    table: str
    agg: str
    column: str | None = None
    date: str | None = None
    where: Formula | None = None
    join: tuple[str, ...] = ()
    definition: str = ""
    line: int | None = None


@dataclass(frozen=True)
class Kpi:
    """One KPI of the library."""

    name: str
    label: str
    perspective: str
    tdrp: str
    unit: str
    direction: str
    formula: Formula | None
    input: str | None
    target: float | None
    owner: str = ""
    source: str = ""
    definition: str = ""
    roles: tuple[str, ...] = ()
    frequency: str = "quarter"
    to_date: str = "mean"
    seed: str = ""
    line: int | None = None
    n: str | None = None

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "higher"


@dataclass
class KpiLibrary:
    """A loaded library: aggregates, inputs, KPIs and the issues found while loading."""

    path: Path
    frequency: str
    inputs: dict[str, str]
    aggregates: dict[str, Aggregate]
    kpis: list[Kpi]
    issues: list[LibraryIssue] = field(default_factory=list)
    broken: dict[str, LibraryIssue] = field(default_factory=dict)
    lines: dict[str, int | None] = field(default_factory=dict)
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def file(self) -> str:
        return self.path.name

    def kpi(self, name: str) -> Kpi:
        for k in self.kpis:
            if k.name == name:
                return k
        raise KeyError(name)


class _LineLoader(yaml.SafeLoader):
    """A safe YAML loader that remembers the line of every mapping and of each of its keys."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    mapping["__lines__"] = {str(k.value): k.start_mark.line + 1 for k, _v in node.value}
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)  # type: ignore[arg-type]


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in ("__line__", "__lines__")}


def load_library(path: str | Path | None = None) -> KpiLibrary:
    """Read a KPI library file; collect every problem instead of stopping at the first.

    Parameters
    ----------
    path : str or Path, optional
        The YAML file; default :data:`DEFAULT_LIBRARY`.

    Returns
    -------
    KpiLibrary
        Valid entries in ``kpis`` / ``aggregates``; broken KPIs in ``broken`` (name ->
        issue) and every problem in ``issues``, each naming file, KPI and line.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        The file is not YAML at all, or not a mapping (the message names the file and line).
    """
    p = Path(path) if path is not None else DEFAULT_LIBRARY
    text = p.read_text(encoding="utf-8")
    try:
        raw = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise ValueError(f"{p.name}{where}: not a valid YAML file: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{p.name}: a KPI library is a mapping with 'aggregates', 'inputs' and 'kpis'")
    lib = KpiLibrary(path=p, frequency=str(raw.get("frequency", "quarter")), inputs={}, aggregates={}, kpis=[])
    if lib.frequency not in FREQUENCIES:
        lib.issues.append(LibraryIssue(p.name, raw["__lines__"].get("frequency"), "frequency", "invalid",
                                       f"frequency {lib.frequency!r} is not one of {', '.join(FREQUENCIES)}; using quarter"))
        lib.frequency = "quarter"
    for name, definition in _clean(raw.get("inputs") or {}).items():
        lib.inputs[str(name)] = str(definition)
    for name, spec in _clean(raw.get("aggregates") or {}).items():
        agg = _aggregate(p.name, str(name), spec, (raw.get("aggregates") or {}).get("__lines__", {}).get(str(name)), lib)
        if agg is not None:
            lib.aggregates[agg.name] = agg
    seen: dict[str, int | None] = {}
    for spec in raw.get("kpis") or []:
        if not isinstance(spec, dict):
            lib.issues.append(LibraryIssue(p.name, None, str(spec), "invalid", "a KPI entry must be a mapping with name, formula, ..."))
            continue
        line = spec.get("__line__")
        name = str(spec.get("name") or "")
        if not name:
            lib.issues.append(LibraryIssue(p.name, line, "(no name)", "missing", "a KPI entry has no name"))
            continue
        if name in seen:
            issue = LibraryIssue(p.name, line, name, "duplicate", f"duplicate KPI name {name!r} (first defined on line {seen[name]}); this entry is ignored")
            lib.issues.append(issue)
            continue
        seen[name] = line
        lib.lines[name] = line
        lib.labels[name] = (str(spec.get("label") or name.replace("_", " ").capitalize()), str(spec.get("perspective") or ""))
        kpi = _kpi(p.name, name, spec, lib)
        if kpi is not None:
            lib.kpis.append(kpi)
    return lib


def _aggregate(file: str, name: str, spec: Any, line: int | None, lib: KpiLibrary) -> Aggregate | None:
    def bad(kind: str, msg: str, key: str | None = None) -> None:
        at = spec.get("__lines__", {}).get(key, line) if isinstance(spec, dict) and key else line
        lib.issues.append(LibraryIssue(file, at, name, kind, f"aggregate {name!r}: {msg}"))

    if not isinstance(spec, dict):
        bad("invalid", "must be a mapping with table and agg")
        return None
    agg = str(spec.get("agg", "count"))
    if "table" not in spec:
        bad("missing", "has no table")
        return None
    if agg not in AGGREGATIONS:
        bad("invalid", f"agg {agg!r} is not one of {', '.join(AGGREGATIONS)}", "agg")
        return None
    if agg in ("sum", "mean", "nunique") and not spec.get("column"):
        bad("missing", f"agg {agg} needs a column", "agg")
        return None
    where = None
    if spec.get("where") is not None:
        try:
            where = parse_formula(str(spec["where"]))
        except FormulaError as exc:
            bad(exc.kind, f"where {exc}", "where")
            return None
    join = spec.get("join") or ()
    join = (join,) if isinstance(join, str) else tuple(map(str, join))
    return Aggregate(name=name, table=str(spec["table"]), agg=agg, column=spec.get("column"), date=spec.get("date"), where=where,
                     join=join, definition=str(spec.get("definition", "")), line=line)


def _kpi(file: str, name: str, spec: dict[str, Any], lib: KpiLibrary) -> Kpi | None:
    line = spec.get("__line__")
    lines = spec.get("__lines__", {})

    def broken(kind: str, msg: str, key: str | None = None) -> None:
        issue = LibraryIssue(file, lines.get(key, line) if key else line, name, kind, msg)
        lib.issues.append(issue)
        lib.broken[name] = issue

    perspective = str(spec.get("perspective", ""))
    if perspective not in PERSPECTIVES:
        broken("invalid", f"perspective {perspective!r} is not one of {', '.join(PERSPECTIVES)}", "perspective")
        return None
    tdrp = str(spec.get("tdrp", "effectiveness"))
    if tdrp not in TDRP_GROUPS:
        broken("invalid", f"tdrp {tdrp!r} is not one of {', '.join(TDRP_GROUPS)}", "tdrp")
        return None
    direction = str(spec.get("direction", "higher"))
    if direction not in DIRECTIONS:
        broken("invalid", f"direction {direction!r} is not one of {', '.join(DIRECTIONS)}", "direction")
        return None
    frequency = str(spec.get("frequency", lib.frequency))
    if frequency not in FREQUENCIES:
        broken("invalid", f"frequency {frequency!r} is not one of {', '.join(FREQUENCIES)}", "frequency")
        return None
    to_date = str(spec.get("to_date", "mean"))
    if to_date not in TO_DATE:
        broken("invalid", f"to_date {to_date!r} is not one of {', '.join(TO_DATE)}", "to_date")
        return None
    formula = None
    if spec.get("formula") is not None:
        try:
            formula = parse_formula(str(spec["formula"]))
        except FormulaError as exc:
            broken(exc.kind, str(exc), "formula")
            return None
        unknown = sorted(n for n in formula.names if n not in lib.aggregates and n not in lib.inputs and not (n.endswith("_target") and n[:-7] in lib.inputs))
        if unknown:
            broken("unknown_name", f"formula {formula.text!r} uses {', '.join(unknown)}, which is neither an aggregate nor an input of the library",
                   "formula")
            return None
    n_name = spec.get("n")
    if n_name is None and formula is not None and isinstance(formula.tree.body, ast.BinOp) and isinstance(formula.tree.body.op, ast.Div) \
            and isinstance(formula.tree.body.right, ast.Name) and formula.tree.body.right.id in lib.aggregates:
        n_name = formula.tree.body.right.id  # a rate's denominator counts the people behind it
    if n_name is not None and str(n_name) not in lib.aggregates:
        broken("unknown_name", f"n {n_name!r} is not an aggregate of the library", "n")
        return None
    inp = spec.get("input")
    if formula is None and inp is None:
        inp = name
    target = spec.get("target")
    try:
        target = None if target is None else float(target)
    except (TypeError, ValueError):
        broken("invalid", f"target {target!r} is not a number", "target")
        return None
    roles = spec.get("roles") or ()
    roles = (roles,) if isinstance(roles, str) else tuple(map(str, roles))
    return Kpi(
        name=name, label=str(spec.get("label") or name.replace("_", " ").capitalize()), perspective=perspective, tdrp=tdrp,
        unit=str(spec.get("unit", "")), direction=direction, formula=formula, input=None if inp is None else str(inp), target=target,
        owner=str(spec.get("owner", "")), source=str(spec.get("source", "")), definition=str(spec.get("definition", "")), roles=roles,
        frequency=frequency, to_date=to_date, seed=str(spec.get("seed", "")), line=line,
        n=None if n_name is None else str(n_name),
    )
