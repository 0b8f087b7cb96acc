"""The dataset and its analysis views: what every analysis reads.

Data flows one way: files -> contract -> :class:`Dataset` -> views. :func:`load_dataset`
hands a folder to :func:`analysis.validation.validate_folder` (strict reading, pandera
schemas built from :mod:`analysis.contract`, relations between tables, an optional
``mapping.yaml``) and wraps the typed tables, warnings and input fingerprints in a
:class:`Dataset`, whose views (:meth:`Dataset.cohorts`, :meth:`Dataset.panel`) derive
what the analyses need. Any contract violation raises :class:`DataValidationError`
naming the table, the column, what was expected and up to five offending rows; softer
findings are collected in :attr:`Dataset.warnings`.

Input files are only ever read.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.contract import TABLES
from analysis.validation import DataValidationError, DataWarning, Mapping, schema_for, validate_folder

__all__ = ["CACHE_ENV", "DataValidationError", "DataWarning", "Dataset", "Mapping", "cli", "load_dataset", "schema_for", "write_dataset_cache"]

#: Environment variable naming a validated-dataset file written by :func:`write_dataset_cache`.
CACHE_ENV = "TIK_DATASET_CACHE"
_CACHE_VERSION = 1


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
            return self.__dict__.get("tables", {}).get(name)
        raise AttributeError(f"{type(self).__name__!r} has no attribute {name!r}")

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
            columns of the trainee's first enrollment in the program (no rows for a
            program nobody has enrolled in yet).

        Raises
        ------
        DataValidationError
            A program_id that is not in the programs table.
        """
        if program_id not in set(self.tables["programs"]["program_id"]):
            raise DataValidationError(f"table programs, column 'program_id': unknown program {program_id!r}", table="programs", column="program_id")
        enr = self.tables["enrollments"]
        mine = enr[enr["program_id"] == program_id].sort_values(["employee_id", "start_date"], kind="stable")
        first = mine.drop_duplicates("employee_id", keep="first").drop(columns="_line", errors="ignore")
        first = first.assign(cohort_month=first["start_date"].dt.to_period("M").dt.to_timestamp().astype("datetime64[ns]"))
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
            Sorted by employee_id and period. Hires and exits stay as they are: the panel is
            unbalanced wherever the data are.

        Notes
        -----
        ``cohort`` is the period of the first enrollment's start month (any status:
        intention to treat). Training before the first panel month gives a cohort of 0 or
        less; such trainees are told apart from the never-trained by a non-missing
        ``cohort_month`` (and ``event_time``). ``tenure_months`` is the time from hire to
        the first day of the month, in average months of 30.4375 days; in the hire month
        itself (hired after the 1st) it is 0, never negative. KPI rows before the hire
        month are rejected on load.

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
        panel["tenure_months"] = ((panel["month"] - panel["hire_date"]).dt.days / (365.25 / 12)).clip(lower=0.0)
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
    if mapping is None and (cached := _cached_dataset(folder)) is not None:
        return cached
    tables, found, fingerprints = validate_folder(folder, Path(mapping) if mapping is not None else None)
    return Dataset(path=folder, tables=tables, warnings=found, fingerprints=fingerprints)


def write_dataset_cache(dataset: Dataset, path: str | Path, inputs: dict[str, str]) -> Path:
    """Keep a validated dataset for the notebooks of the same run (:data:`CACHE_ENV`).

    A scheduled run validates its folder once and every notebook's kernel loads it again;
    at 100,000 employees x 36 months each load takes most of a minute (reading, typing,
    schema and relation checks), six times per run. The pipeline writes the validated
    :class:`Dataset` here, with the fingerprints of every file in its folder, and points
    ``TIK_DATASET_CACHE`` at it; :func:`load_dataset` then returns it unchanged, as long
    as it is asked for the same folder with the default mapping and every file of the
    folder still has the recorded sha256. Anything else reads and validates the folder.

    Parameters
    ----------
    dataset : Dataset
        A dataset returned by :func:`load_dataset` (default mapping).
    path : str or Path
        File to write (a private temporary folder of the run; the caller removes it).
    inputs : dict of str to str
        :func:`analysis.upstream.input_fingerprints` of the dataset's folder.

    Returns
    -------
    Path
        The file written.

    Notes
    -----
    The file is a pickle, read only by the kit from the place the same run wrote it.
    """
    out = Path(path)
    entry = {"version": _CACHE_VERSION, "folder": str(Path(dataset.path).resolve()), "inputs": dict(inputs), "dataset": dataset}
    with open(out, "wb") as fh:
        pickle.dump(entry, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return out


def _cached_dataset(folder: Path) -> Dataset | None:
    """The run's validated dataset of ``folder`` when :data:`CACHE_ENV` names one that still matches its files."""
    path = os.environ.get(CACHE_ENV)
    if not path or not Path(path).is_file():
        return None
    try:
        with open(path, "rb") as fh:
            entry = pickle.load(fh)  # noqa: S301 - written by this run's pipeline (write_dataset_cache)
    except Exception:  # noqa: BLE001 - an unreadable cache is no cache
        return None
    if not isinstance(entry, dict) or entry.get("version") != _CACHE_VERSION or entry.get("folder") != str(folder.resolve()):
        return None
    from analysis.upstream import input_fingerprints

    if input_fingerprints(folder) != entry.get("inputs"):
        return None
    dataset = entry["dataset"]
    dataset.path = folder
    return dataset


def cli(argv: list[str]) -> int:
    """``python -m analysis validate --data DIR``: validate a folder and print a short report.

    Parameters
    ----------
    argv : list of str
        Command-line arguments after ``validate``.

    Returns
    -------
    int
        0 when the folder satisfies the contract, 1 on a :class:`DataValidationError`
        (its message is printed to stderr, without a traceback).
    """
    parser = argparse.ArgumentParser(prog="python -m analysis validate", description="Validate a dataset folder against the data contract.")
    parser.add_argument("--data", required=True, help="dataset folder")
    parser.add_argument("--mapping", default=None, help="mapping.yaml (default: DIR/mapping.yaml when present)")
    args = parser.parse_args(argv)
    try:
        ds = load_dataset(args.data, mapping=args.mapping)
    except DataValidationError as exc:
        print(f"INVALID: {exc}", file=sys.stderr)
        return 1
    months = ds.months
    n_warn = len(ds.warnings)
    print(
        f"{ds.path}: valid — {len(ds.tables)} tables, panel {months[0]:%Y-%m} to {months[-1]:%Y-%m} ({len(months)} months), "
        f"{n_warn} warning{'s' if n_warn != 1 else ''}"
    )
    for name, df in ds.tables.items():
        print(f"  {name:<18} {len(df):>8,} rows  {len(df.columns):>3} columns")
    for w in ds.warnings:
        print(f"  warning [{w.table}] {w.message}")
        if w.rows:
            print(f"      e.g. {'; '.join(map(str, w.rows[:3]))}")
    return 0
