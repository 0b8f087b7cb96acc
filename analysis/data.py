"""Load a dataset folder, validate it against the data contract, derive the analysis views.

Data flows one way: files -> contract -> :class:`Dataset` -> views. :func:`load_dataset`
reads one file per contract table (CSV or Parquet), applies an optional
``mapping.yaml`` (the user's file, column and category names onto the contract's),
validates every table with pandera schemas built from :mod:`analysis.contract`, checks
the relations between tables, and returns typed frames. Any violation raises
:class:`DataValidationError` naming the table, the column, what was expected and up to
five offending rows; softer findings are collected in :attr:`Dataset.warnings`.

Input files are only ever read.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import yaml

from analysis.contract import REQUIRED_TABLES, TABLES, Column, TableSpec

MAX_ROWS_SHOWN = 5
DATE_MIN = pd.Timestamp("1950-01-01")
DATE_MAX = pd.Timestamp("2100-12-31")
TINY_COHORT = 5

#: Which analyses need each optional table (said in the warning when it is absent).
OPTIONAL_TABLE_USES = {
    "assessments": "competency gap analysis",
    "role_requirements": "competency gap analysis",
    "costs": "ROI",
    "headcount_plan": "budget projection",
    "budget_priorities": "strategic budget weighting",
    "context_monthly": "market-condition controls in attribution",
    "scorecard_inputs": "the balanced scorecard's company-level figures",
}

_DATE_PATTERNS = {
    "YYYY-MM-DD": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "YYYY-MM": re.compile(r"^\d{4}-\d{2}$"),
}
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


class DataValidationError(ValueError):
    """An input table breaks the data contract.

    Attributes
    ----------
    table : str
        Contract table name.
    column : str or None
        Contract column name (None for table-level problems).
    rows : pandas.DataFrame or None
        Up to five offending rows, with their file line numbers.
    """

    def __init__(self, message: str, *, table: str, column: str | None = None, rows: pd.DataFrame | None = None):
        super().__init__(message)
        self.table = table
        self.column = column
        self.rows = rows


@dataclass
class DataWarning:
    """A finding that does not stop the run but belongs in the data-quality report."""

    table: str
    message: str
    column: str | None = None
    rows: list[Any] | None = None


@dataclass
class Mapping:
    """A user's names for files, columns and category codes (from ``mapping.yaml``)."""

    files: dict[str, str] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    values: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    panel_start: pd.Timestamp | None = None
    panel_end: pd.Timestamp | None = None

    @classmethod
    def read(cls, path: Path) -> "Mapping":
        """Read a ``mapping.yaml``."""
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise DataValidationError(f"mapping file {path.name}: not valid UTF-8 YAML ({exc})", table="mapping") from exc
        unknown = set(raw) - {"files", "columns", "values", "panel"}
        if unknown:
            raise DataValidationError(
                f"mapping file {path.name}: unknown sections {sorted(unknown)}; expected files, columns, values, panel",
                table="mapping",
            )
        for section in ("files", "columns", "values"):
            for table in raw.get(section) or {}:
                if table not in TABLES:
                    raise DataValidationError(
                        f"mapping file {path.name}, section {section}: unknown table {table!r}; "
                        f"contract tables are {', '.join(TABLES)}",
                        table="mapping",
                    )
        panel = raw.get("panel") or {}
        return cls(
            files={k: str(v) for k, v in (raw.get("files") or {}).items()},
            columns={t: {str(k): str(v) for k, v in cols.items()} for t, cols in (raw.get("columns") or {}).items()},
            values={
                t: {c: {str(k): str(v) for k, v in codes.items()} for c, codes in cols.items()}
                for t, cols in (raw.get("values") or {}).items()
            },
            panel_start=_parse_panel_bound(panel.get("start"), path),
            panel_end=_parse_panel_bound(panel.get("end"), path),
        )

    def user_column(self, table: str, column: str) -> str | None:
        """The user's name of a contract column, if the mapping renames it."""
        for user, contract in self.columns.get(table, {}).items():
            if contract == column:
                return user
        return None


def _parse_panel_bound(value: Any, path: Path) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        return pd.Timestamp(str(value)).to_period("M").to_timestamp()
    except ValueError as exc:
        raise DataValidationError(f"mapping file {path.name}, panel: {value!r} is not a month (YYYY-MM)", table="mapping") from exc


@dataclass
class _Source:
    """Where a table came from, for error messages."""

    table: str
    file: str
    mapping: Mapping

    def column_label(self, column: str | None) -> str:
        if column is None:
            return ""
        user = self.mapping.user_column(self.table, column)
        return f", column {user!r} (→ {column})" if user else f", column {column!r}"

    def error(self, column: str | None, expected: str, bad: pd.DataFrame | None = None, *, key: tuple[str, ...] = ()) -> DataValidationError:
        """Build the error for ``bad`` rows (which carry a ``_line`` column)."""
        msg = f"table {self.table} (file {self.file}){self.column_label(column)}: expected {expected}"
        shown = None
        if bad is not None and len(bad):
            msg += f"; {len(bad)} offending row{'s' if len(bad) > 1 else ''}"
            msg += ", first five:" if len(bad) > MAX_ROWS_SHOWN else ":"
            cols = [c for c in dict.fromkeys([*key, *([column] if column else [])]) if c in bad.columns]
            shown = bad.head(MAX_ROWS_SHOWN)
            for _, row in shown.iterrows():
                cells = ", ".join(f"{c}={_show(row[c])}" for c in cols)
                line = f"file line {int(row['_line'])}" if "_line" in row and pd.notna(row["_line"]) else "row"
                msg += f"\n  {line}: {cells}"
            shown = shown[[c for c in ["_line", *cols] if c in shown.columns]]
        return DataValidationError(msg, table=self.table, column=column, rows=shown)


def _show(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "<missing>"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return repr(value) if isinstance(value, str) else str(value)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _find_file(folder: Path, table: str, mapping: Mapping) -> Path | None:
    if table in mapping.files:
        path = folder / mapping.files[table]
        if not path.exists():
            raise DataValidationError(
                f"table {table}: mapping.yaml names file {mapping.files[table]!r}, which is not in {folder}",
                table=table,
            )
        return path
    for suffix in (".csv", ".parquet"):
        path = folder / f"{table}{suffix}"
        if path.exists():
            return path
    return None


def _read_raw(path: Path, table: str) -> pd.DataFrame:
    """Read a file as text columns (CSV) or native columns (Parquet), never changing it."""
    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path)
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataValidationError(
            f"table {table} (file {path.name}): expected a UTF-8 encoded CSV, but byte {exc.start} is not UTF-8 "
            f"({exc.reason}). Re-save the file as 'CSV UTF-8' (Excel) or convert it, e.g. "
            f"`iconv -f GBK -t UTF-8 {path.name}`; the kit does not guess encodings.",
            table=table,
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise DataValidationError(f"table {table} (file {path.name}): the file is empty (no header, no rows)", table=table) from exc


# --------------------------------------------------------------------------- typing


def _coerce(raw: pd.DataFrame, spec: TableSpec, src: _Source) -> pd.DataFrame:
    """Turn text columns into the contract's kinds; unparseable values are errors, never NaN."""
    df = raw.copy()
    for col in spec.columns:
        if col.name not in df.columns:
            continue
        values = df[col.name]
        if col.kind == "str":
            df[col.name] = values.astype("string").str.strip()
            continue
        if col.kind in ("date", "month"):
            df[col.name] = _coerce_dates(df, col, src, spec)
            continue
        if col.kind == "bool":
            df[col.name] = _coerce_bool(df, col, src, spec)
            continue
        if pd.api.types.is_numeric_dtype(values):
            num = values.astype("float64")
            failed = pd.Series(False, index=df.index)
        else:
            text = values.astype("string").str.strip().str.replace(",", "", regex=False)
            num = pd.to_numeric(text, errors="coerce").astype("float64")
            failed = num.isna() & text.notna()
        if failed.any():
            raise src.error(col.name, col.expectation, df[failed], key=spec.key)
        if col.kind == "int":
            fractional = num.notna() & (num != np.floor(num))
            if fractional.any():
                raise src.error(col.name, col.expectation, df[fractional], key=spec.key)
            df[col.name] = num.astype("Int64")
        else:
            df[col.name] = num
    return df


def _coerce_dates(df: pd.DataFrame, col: Column, src: _Source, spec: TableSpec) -> pd.Series:
    values = df[col.name]
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.to_datetime(values).dt.tz_localize(None).astype("datetime64[ns]")
    text = values.astype("string").str.strip()
    present = text.notna()
    shapes = text.str.replace(r"\d", "9", regex=True)
    used = shapes[present].value_counts()
    if len(used) > 1:
        minority = used.index[-1]
        found = ", ".join(f"{shape.replace('9', '#')} ({n} rows)" for shape, n in used.items())
        raise src.error(
            col.name,
            f"one date format throughout (YYYY-MM-DD); found mixed formats {found} — the rows in the minority format",
            df[shapes == minority],
            key=spec.key,
        )
    allowed = ("YYYY-MM-DD", "YYYY-MM") if col.kind == "month" else ("YYYY-MM-DD",)
    kind = next((name for name in allowed if len(used) and _DATE_PATTERNS[name].match(str(text[present].iloc[0]))), None)
    if len(used) and kind is None:
        raise src.error(col.name, col.expectation + " (written as YYYY-MM-DD)", df[present], key=spec.key)
    fmt = "%Y-%m" if kind == "YYYY-MM" else "%Y-%m-%d"
    parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    invalid = present & parsed.isna()
    if invalid.any():
        raise src.error(col.name, col.expectation + " (a real calendar date)", df[invalid], key=spec.key)
    return parsed.astype("datetime64[ns]")


def _coerce_bool(df: pd.DataFrame, col: Column, src: _Source, spec: TableSpec) -> pd.Series:
    values = df[col.name]
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean")
    text = values.astype("string").str.strip().str.lower()
    out = pd.Series(pd.NA, index=df.index, dtype="boolean")
    out[text.isin(_TRUE).fillna(False)] = True
    out[text.isin(_FALSE).fillna(False)] = False
    failed = text.notna() & out.isna()
    if failed.any():
        raise src.error(col.name, col.expectation + " (true/false, 1/0, yes/no)", df[failed], key=spec.key)
    return out


# --------------------------------------------------------------------------- schema


def _dtype(col: Column) -> Any:
    return {"str": "string", "date": "datetime64[ns]", "month": "datetime64[ns]", "float": "float64", "int": "Int64", "bool": "boolean"}[col.kind]


def schema_for(spec: TableSpec) -> pa.DataFrameSchema:
    """Pandera schema of a contract table (typed frame, before cross-table checks).

    Parameters
    ----------
    spec : TableSpec
        Contract table.

    Returns
    -------
    pandera.DataFrameSchema
        Column types, nullability, ranges, category codes, month starts and a unique key.
    """
    columns = {}
    for col in spec.columns:
        checks = []
        if col.ge is not None:
            checks.append(pa.Check.ge(col.ge))
        if col.le is not None:
            checks.append(pa.Check.le(col.le))
        if col.isin is not None:
            checks.append(pa.Check.isin(list(col.isin)))
        if col.kind in ("date", "month"):
            checks.append(pa.Check.in_range(DATE_MIN, DATE_MAX, error="in_date_range"))
        if col.kind == "month":
            checks.append(pa.Check(lambda s: s.dt.day == 1, element_wise=False, error="first_day_of_month"))
        columns[col.name] = pa.Column(_dtype(col), checks=checks, nullable=col.nullable, required=col.required, coerce=False)
    return pa.DataFrameSchema(columns, unique=list(spec.key), strict=False)


def _validate_schema(df: pd.DataFrame, spec: TableSpec, src: _Source) -> None:
    try:
        schema_for(spec).validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        first = cases.iloc[0]
        column = first["column"] if isinstance(first["column"], str) and first["column"] in df.columns else None
        check = str(first["check"])
        if column is None or "unique" in check or "duplicate" in check.lower():
            dup = df.duplicated(list(spec.key), keep=False)
            if dup.any():
                raise src.error(None, f"a unique key ({' + '.join(spec.key)}); duplicate rows", df[dup], key=spec.key) from None
            raise src.error(column, check) from None
        col = spec.column(column)
        idx = cases.loc[cases["column"] == column, "index"].dropna().astype(int).unique()
        bad = df.loc[df.index.isin(idx)]
        expected = col.expectation
        if "first_day_of_month" in check:
            expected = "the first day of a month (YYYY-MM-01)"
        elif "in_date_range" in check:
            expected = f"a date between {DATE_MIN:%Y-%m-%d} and {DATE_MAX:%Y-%m-%d}"
        raise src.error(column, expected, bad, key=spec.key) from None


# --------------------------------------------------------------------------- loading


def _load_table(folder: Path, spec: TableSpec, mapping: Mapping, fingerprints: dict[str, str]) -> pd.DataFrame | None:
    path = _find_file(folder, spec.name, mapping)
    if path is None:
        if spec.required:
            raise DataValidationError(
                f"table {spec.name}: file {spec.name}.csv (or .parquet) is missing from {folder}; "
                f"it is required (columns: {', '.join(spec.required_columns)})",
                table=spec.name,
            )
        return None
    fingerprints[path.name] = _sha256(path)
    src = _Source(spec.name, path.name, mapping)
    raw = _read_raw(path, spec.name).rename(columns=lambda c: str(c).strip())
    raw = raw.rename(columns=mapping.columns.get(spec.name, {}))
    missing = [c for c in spec.required_columns if c not in raw.columns]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        raise DataValidationError(
            f"table {spec.name} (file {path.name}), column {names}: expected column(s) {names}, missing; "
            f"the file has {', '.join(map(repr, raw.columns))}",
            table=spec.name,
            column=missing[0],
        )
    if raw.empty:
        raise DataValidationError(f"table {spec.name} (file {path.name}): expected at least one row; the table is empty", table=spec.name)
    for column, codes in mapping.values.get(spec.name, {}).items():
        if column in raw.columns:
            raw[column] = raw[column].map(lambda v, codes=codes: codes.get(str(v), v) if pd.notna(v) else v)
    raw["_line"] = np.arange(2, len(raw) + 2)
    df = _coerce(raw, spec, src)
    _validate_schema(df, spec, src)
    if spec.name == "programs" and "benefit_months" not in df.columns:
        df["benefit_months"] = pd.array([12] * len(df), dtype="Int64")
    return df


def _check_relations(tables: dict[str, pd.DataFrame], sources: dict[str, _Source], mapping: Mapping) -> None:
    for name, df in tables.items():
        for fk in TABLES[name].foreign_keys:
            ref = tables.get(fk.table)
            if ref is None:
                continue
            known = pd.MultiIndex.from_frame(ref[list(fk.ref_columns)].astype("string"))
            mine = pd.MultiIndex.from_frame(df[list(fk.columns)].astype("string"))
            bad = ~mine.isin(known)
            if bad.any():
                col = fk.columns[0]
                raise sources[name].error(col, f"a value that exists in table {fk.table} ({', '.join(fk.ref_columns)}); unknown values", df[bad], key=TABLES[name].key)
    enr = tables["enrollments"]
    backwards = enr["end_date"].notna() & (enr["end_date"] < enr["start_date"])
    if backwards.any():
        raise sources["enrollments"].error("end_date", "an end_date on or after start_date", enr[backwards], key=TABLES["enrollments"].key)
    emp = tables["employees"]
    if "exit_date" in emp.columns:
        bad = emp["exit_date"].notna() & (emp["exit_date"] < emp["hire_date"])
        if bad.any():
            raise sources["employees"].error("exit_date", "an exit_date on or after hire_date", emp[bad], key=("employee_id",))
    kpi = tables["kpi_monthly"]
    spans = emp.set_index("employee_id")
    hire_month = kpi["employee_id"].map(spans["hire_date"]).dt.to_period("M").dt.to_timestamp()
    exit_dates = spans["exit_date"] if "exit_date" in spans.columns else pd.Series(pd.NaT, index=spans.index)
    exit_month = kpi["employee_id"].map(exit_dates).dt.to_period("M").dt.to_timestamp()
    outside = (kpi["month"] < hire_month) | (exit_month.notna() & (kpi["month"] > exit_month))
    if outside.any():
        raise sources["kpi_monthly"].error(
            "month", "a month inside the employee's employment (hire month to exit month) — a KPI month outside the panel", kpi[outside], key=TABLES["kpi_monthly"].key
        )
    for bound, op in ((mapping.panel_start, "lt"), (mapping.panel_end, "gt")):
        if bound is None:
            continue
        out = getattr(kpi["month"], op)(bound)
        if out.any():
            window = f"{mapping.panel_start:%Y-%m} to {mapping.panel_end:%Y-%m}" if mapping.panel_start is not None and mapping.panel_end is not None else f"{op} {bound:%Y-%m}"
            raise sources["kpi_monthly"].error("month", f"a month inside the panel window {window} (mapping.yaml)", kpi[out], key=TABLES["kpi_monthly"].key)


def _collect_warnings(tables: dict[str, pd.DataFrame | None]) -> list[DataWarning]:
    found: list[DataWarning] = []
    for name, use in OPTIONAL_TABLE_USES.items():
        if tables.get(name) is None:
            found.append(DataWarning(name, f"table {name} is absent; {use} will be skipped"))
    for name, df in tables.items():
        if df is None:
            continue
        extra = [c for c in df.columns if c != "_line" and c not in {col.name for col in TABLES[name].columns}]
        if extra:
            found.append(DataWarning(name, f"extra columns kept as covariates: {', '.join(extra)}"))
    kpi = tables["kpi_monthly"]
    months = pd.date_range(kpi["month"].min(), kpi["month"].max(), freq="MS")
    counts = kpi.groupby(["kpi", "employee_id"])["month"].agg(["min", "max", "count"])
    span = (counts["max"].dt.year - counts["min"].dt.year) * 12 + counts["max"].dt.month - counts["min"].dt.month + 1
    gaps = counts[span > counts["count"]]
    if len(gaps):
        found.append(DataWarning("kpi_monthly", f"{len(gaps)} employee-KPI series have missing months inside their span", "month", [str(k) for k in gaps.index[:MAX_ROWS_SHOWN]]))
    partial = counts[(counts["min"] > months[0]) | (counts["max"] < months[-1])]
    if len(partial):
        found.append(
            DataWarning("kpi_monthly", f"unbalanced panel: {partial.index.get_level_values('employee_id').nunique()} employees join or leave inside the {len(months)}-month window", "month")
        )
    enr = tables["enrollments"]
    first = enr.groupby(["program_id", "employee_id"])["start_date"].min().dt.to_period("M")
    sizes = first.groupby(level="program_id").value_counts()
    tiny = sizes[sizes < TINY_COHORT]
    if len(tiny):
        found.append(
            DataWarning(
                "enrollments",
                f"{len(tiny)} program training months have fewer than {TINY_COHORT} trainees (pooled or set aside by the analyses)",
                "start_date",
                [f"{p} {m}" for p, m in tiny.index[:MAX_ROWS_SHOWN]],
            )
        )
    return found


@dataclass
class Dataset:
    """A validated dataset: one typed frame per contract table, plus warnings and fingerprints.

    Attributes
    ----------
    path : pathlib.Path
        The folder it was read from.
    tables : dict of str to DataFrame
        Contract tables by name (absent optional tables are missing from the dict).
    warnings : list of DataWarning
        Findings for the data-quality report.
    fingerprints : dict of str to str
        sha256 of each raw input file, by file name.
    """

    path: Path
    tables: dict[str, pd.DataFrame]
    warnings: list[DataWarning] = field(default_factory=list)
    fingerprints: dict[str, str] = field(default_factory=dict)

    def __getattr__(self, name: str) -> pd.DataFrame | None:
        if name in TABLES:
            return self.__dict__["tables"].get(name)
        raise AttributeError(name)

    @property
    def months(self) -> pd.DatetimeIndex:
        """Every month of the panel window (first to last KPI month)."""
        kpi = self.tables["kpi_monthly"]["month"]
        return pd.date_range(kpi.min(), kpi.max(), freq="MS")

    def period_of(self, months: pd.Series) -> pd.Series:
        """Period index of months (1 = first panel month)."""
        first = self.months[0]
        return (months.dt.year - first.year) * 12 + (months.dt.month - first.month) + 1

    def cohorts(self, program_id: str) -> pd.DataFrame:
        """Trainees of a program with their cohort (first training month, intention to treat).

        Parameters
        ----------
        program_id : str
            Program.

        Returns
        -------
        DataFrame
            One row per trainee: employee_id, program_id, cohort_month, cohort (period index;
            may be < 1 for training before the panel), status and the learn/practice/exam
            columns of the trainee's first enrollment in the program.
        """
        enr = self.tables["enrollments"]
        mine = enr[enr["program_id"] == program_id].sort_values(["employee_id", "start_date"], kind="stable")
        first = mine.drop_duplicates("employee_id", keep="first").drop(columns="_line", errors="ignore")
        first = first.assign(cohort_month=first["start_date"].dt.to_period("M").dt.to_timestamp())
        first["cohort"] = self.period_of(first["cohort_month"]).astype("int64")
        lead = ["employee_id", "program_id", "cohort_month", "cohort", "status"]
        return first[lead + [c for c in first.columns if c not in lead]].reset_index(drop=True)

    def panel(self, kpi: str, program_id: str | None = None) -> pd.DataFrame:
        """Employee × month panel of one KPI, with cohorts of one program.

        Parameters
        ----------
        kpi : str
            KPI name (``kpi_definitions.kpi``).
        program_id : str, optional
            Program whose first-training month defines each employee's cohort; without it,
            everybody is never-treated (cohort 0).

        Returns
        -------
        DataFrame
            One row per employee and month with an observed KPI value: employee_id, month,
            period (1 = first panel month), value, cohort (0 = never trained in the program),
            cohort_month, event_time, tenure_months, the employees columns, the numeric
            context_monthly columns, and the trainee's first exam_score / exam_passed.

        Raises
        ------
        DataValidationError
            Unknown KPI or program.
        """
        kpis = self.tables["kpi_definitions"]["kpi"]
        if kpi not in set(kpis):
            raise DataValidationError(f"table kpi_definitions, column 'kpi': unknown KPI {kpi!r}; known: {', '.join(kpis)}", table="kpi_definitions", column="kpi")
        rows = self.tables["kpi_monthly"]
        panel = rows.loc[rows["kpi"] == kpi, ["employee_id", "month", "value"]].copy()
        panel["period"] = self.period_of(panel["month"]).astype("int64")
        emp = self.tables["employees"].drop(columns="_line", errors="ignore")
        panel = panel.merge(emp, on="employee_id", how="left", validate="many_to_one")
        panel["tenure_months"] = (panel["month"] - panel["hire_date"]).dt.days / (365.25 / 12)
        ctx = self.tables.get("context_monthly")
        if ctx is not None:
            numeric = [c for c in ctx.columns if c not in ("region", "month", "_line") and pd.api.types.is_numeric_dtype(ctx[c])]
            panel = panel.merge(ctx[["region", "month", *numeric]], on=["region", "month"], how="left", validate="many_to_one")
        if program_id is not None:
            if program_id not in set(self.tables["programs"]["program_id"]):
                raise DataValidationError(f"table programs, column 'program_id': unknown program {program_id!r}", table="programs", column="program_id")
            coh = self.cohorts(program_id)
            keep = ["employee_id", "cohort", "cohort_month"] + [c for c in ("exam_score", "exam_passed") if c in coh.columns]
            panel = panel.merge(coh[keep], on="employee_id", how="left", validate="many_to_one")
            panel["cohort"] = panel["cohort"].fillna(0).astype("int64")
        else:
            panel["cohort"] = 0
            panel["cohort_month"] = pd.NaT
        panel["event_time"] = (panel["period"] - panel["cohort"]).where(panel["cohort"] != 0).astype("float64")
        for col in ("exam_score", "exam_passed"):
            if col not in panel.columns:
                panel[col] = np.nan
        lead = ["employee_id", "month", "period", "value", "cohort", "cohort_month", "event_time", "tenure_months"]
        panel = panel[lead + [c for c in panel.columns if c not in lead]]
        return panel.sort_values(["employee_id", "period"], kind="stable").reset_index(drop=True)


def load_dataset(path: str | Path, *, mapping: str | Path | None = None) -> Dataset:
    """Read and validate a dataset folder.

    Parameters
    ----------
    path : str or Path
        Folder with one file per contract table (``<table>.csv`` or ``<table>.parquet``).
    mapping : str or Path, optional
        A ``mapping.yaml``; default ``<path>/mapping.yaml`` when present.

    Returns
    -------
    Dataset

    Raises
    ------
    DataValidationError
        The first contract violation found, naming table, column, expectation and up to
        five offending rows.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DataValidationError(f"dataset folder {folder} does not exist", table="(dataset)")
    mapping_path = Path(mapping) if mapping is not None else folder / "mapping.yaml"
    user_mapping = Mapping.read(mapping_path) if mapping_path.exists() else Mapping()
    fingerprints: dict[str, str] = {}
    if mapping_path.exists():
        fingerprints[mapping_path.name] = _sha256(mapping_path)
    tables: dict[str, pd.DataFrame] = {}
    sources: dict[str, _Source] = {}
    for name, spec in TABLES.items():
        df = _load_table(folder, spec, user_mapping, fingerprints)
        if df is not None:
            tables[name] = df
            file = _find_file(folder, name, user_mapping)
            sources[name] = _Source(name, file.name if file else name, user_mapping)
    _check_relations(tables, sources, user_mapping)
    found = _collect_warnings({n: tables.get(n) for n in TABLES})
    clean = {name: df.drop(columns="_line") for name, df in tables.items()}
    return Dataset(path=folder, tables=clean, warnings=found, fingerprints=fingerprints)


def cli(argv: list[str]) -> int:
    """``python -m analysis validate --data DIR``: validate a folder and print a short report."""
    parser = argparse.ArgumentParser(prog="python -m analysis validate", description="Validate a dataset folder against the data contract.")
    parser.add_argument("--data", required=True, help="dataset folder")
    args = parser.parse_args(argv)
    try:
        ds = load_dataset(args.data)
    except DataValidationError as exc:
        print(f"INVALID: {exc}", file=sys.stderr)
        return 1
    print(f"{ds.path}: valid")
    for name, df in ds.tables.items():
        print(f"  {name:<18} {len(df):>8,} rows")
    for w in ds.warnings:
        print(f"  warning [{w.table}] {w.message}")
    return 0
