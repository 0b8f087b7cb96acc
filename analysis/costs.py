"""Fully loaded program costs (Phillips ROI Methodology) from the ``costs`` table.

Phillips counts every cost of a program, direct and indirect: needs assessment, design and
development, delivery, materials, facilitator, facilities, travel, participants' time away
from work, evaluation and overhead (the categories of :data:`analysis.contract.COST_CATEGORIES`).
By default every cost row of a program counts in full; prorating design and development over
a stated program life is an option, off by default, and :attr:`CostTable.prorated` says when it
was used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.contract import COST_CATEGORIES
from analysis.validation import DataValidationError

__all__ = ["CostTable", "check_costs", "fully_loaded_cost", "participants"]


def offending_rows(df: pd.DataFrame, mask: pd.Series) -> pd.DataFrame:
    """Up to five offending rows, with their position in the table (0-based row number)."""
    return df.loc[mask].head(5).reset_index(drop=False).rename(columns={"index": "row"})


def check_costs(costs: pd.DataFrame) -> None:
    """Refuse cost rows the ROI cannot use, naming table, column and rows.

    Parameters
    ----------
    costs : DataFrame
        ``program_id, period, category, amount``.

    Raises
    ------
    DataValidationError
        A missing column, a missing or negative amount, or a category outside the contract.
    """
    missing = [c for c in ("program_id", "period", "category", "amount") if c not in costs.columns]
    if missing:
        raise DataValidationError(f"costs: missing column(s) {missing}", table="costs", column=missing[0])
    amount = pd.to_numeric(costs["amount"], errors="coerce")
    bad = amount.isna()
    if bad.any():
        rows = offending_rows(costs, bad)
        raise DataValidationError(
            f"costs.amount: {int(bad.sum())} row(s) have a missing or non-numeric amount; every cost row needs an amount "
            f"(rows {rows['row'].tolist()}):\n{rows.to_string(index=False)}",
            table="costs", column="amount", rows=rows,
        )  # fmt: skip
    neg = amount < 0
    if neg.any():
        rows = offending_rows(costs, neg)
        raise DataValidationError(
            f"costs.amount: {int(neg.sum())} row(s) have a negative amount; expected a number >= 0 "
            f"(rows {rows['row'].tolist()}):\n{rows.to_string(index=False)}",
            table="costs", column="amount", rows=rows,
        )  # fmt: skip
    out = ~costs["category"].astype("string").isin(COST_CATEGORIES)
    if out.any():
        rows = offending_rows(costs, out)
        raise DataValidationError(
            f"costs.category: {int(out.sum())} row(s) have a category outside the contract "
            f"{{{', '.join(COST_CATEGORIES)}}} (rows {rows['row'].tolist()}):\n{rows.to_string(index=False)}",
            table="costs", column="category", rows=rows,
        )  # fmt: skip


def participants(enrollments: pd.DataFrame) -> pd.DataFrame:
    """People who started and who completed each program (intention to treat: everyone who started).

    Parameters
    ----------
    enrollments : DataFrame
        ``employee_id, program_id, status`` (one row per run; a person re-taking a program counts once).

    Returns
    -------
    DataFrame
        Indexed by program_id: ``participants`` (distinct people with an enrollment) and
        ``completers`` (distinct people with a ``completed`` run).
    """
    e = enrollments.assign(program_id=enrollments["program_id"].astype(str))
    started = e.groupby("program_id")["employee_id"].nunique()
    done = e[e["status"].astype("string") == "completed"].groupby("program_id")["employee_id"].nunique()
    out = pd.DataFrame({"participants": started, "completers": done.reindex(started.index).fillna(0)}).astype(int)
    out.index.name = "program_id"
    return out


@dataclass
class CostTable:
    """Fully loaded cost per program.

    Attributes
    ----------
    table : DataFrame
        Indexed by program_id: one column per Phillips category, ``total``, ``participants``,
        ``completers``, ``per_participant``, ``per_completer``, ``years`` (cost periods' calendar years).
    prorated : bool
        Whether design and development was prorated over ``program_life_years``.
    program_life_years : float or None
        The stated program life used for proration.
    notes : list of str
        What was counted, in words.
    """

    table: pd.DataFrame
    prorated: bool = False
    program_life_years: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> pd.Series:
        """Fully loaded cost per program."""
        return self.table["total"]

    @property
    def per_participant(self) -> pd.Series:
        """Fully loaded cost per person who started."""
        return self.table["per_participant"]

    @property
    def by_category(self) -> pd.DataFrame:
        """For display: one row per Phillips category (then total and per head), one column per program."""
        rows = [*COST_CATEGORIES, "total", "per_participant", "per_completer"]
        out = self.table[rows].T
        out.index = [r.replace("_", " ").capitalize() for r in rows]
        out.index.name = "cost"
        out.columns = [str(c) for c in out.columns]
        return out

    def tidy(self) -> pd.DataFrame:
        """One row per program: program_id, the categories, total, participants, completers, per head."""
        return self.table.reset_index()


def fully_loaded_cost(
    costs: pd.DataFrame, enrollments: pd.DataFrame, *, program_life_years: float | None = None
) -> CostTable:
    """Fully loaded cost of every program: each Phillips category, total, per participant, per completer.

    Parameters
    ----------
    costs : DataFrame
        ``program_id, period, category, amount`` (the contract's ``costs`` table).
    enrollments : DataFrame
        ``employee_id, program_id, status`` (participants = distinct people who started).
    program_life_years : float, optional
        Prorate design and development over this program life: only ``years / life`` of it counts
        (at most all of it), where ``years`` = the calendar years the program's cost rows cover. Off by
        default (every cost row counts in full, the conservative Phillips default).

    Returns
    -------
    CostTable

    Raises
    ------
    DataValidationError
        Missing or negative amounts, a category outside the contract, a program with costs but no
        enrollments, or a program life that is not positive.

    Notes
    -----
    Phillips & Phillips, *Return on Investment in Training and Performance Improvement Programs*
    (2nd ed., 2003), ch. 6: fully loaded costs; prorating development over the program's life.
    """
    check_costs(costs)
    if program_life_years is not None and not program_life_years > 0:
        raise DataValidationError(
            f"program_life_years must be a positive number of years, got {program_life_years!r}", table="costs", column="period"
        )
    c = costs.assign(program_id=costs["program_id"].astype(str), category=costs["category"].astype(str),
                     amount=pd.to_numeric(costs["amount"]), period=costs["period"].astype(str))  # fmt: skip
    people = participants(enrollments)
    orphan = ~c["program_id"].isin(people.index)
    if orphan.any():
        rows = offending_rows(costs, orphan)
        names = sorted(c.loc[orphan, "program_id"].unique())
        raise DataValidationError(
            f"costs.program_id: program(s) {names} have costs but no enrollments; a cost per participant "
            f"cannot be computed (rows {rows['row'].tolist()}):\n{rows.to_string(index=False)}",
            table="costs", column="program_id", rows=rows,
        )  # fmt: skip
    wide = c.pivot_table(index="program_id", columns="category", values="amount", aggfunc="sum", fill_value=0.0)
    wide = wide.reindex(columns=list(COST_CATEGORIES), fill_value=0.0).astype(float)
    years = c.assign(year=c["period"].str[:4]).groupby("program_id")["year"].nunique()
    notes = ["Every cost row of a program counts in full (Phillips: fully loaded costs)."]
    if program_life_years is not None:
        share = np.minimum(1.0, years.reindex(wide.index) / float(program_life_years))
        wide["design_development"] = wide["design_development"] * share
        notes = [
            f"Design and development is prorated over a program life of {program_life_years:g} years: each program "
            "counts (years of cost records / program life) of it; every other cost row counts in full."
        ]
    table = wide.copy()
    table["total"] = wide.sum(axis=1)
    table = table.join(people, how="left")
    table["per_participant"] = table["total"] / table["participants"]
    table["per_completer"] = table["total"] / table["completers"].where(table["completers"] > 0)
    table["years"] = years.reindex(table.index).astype(int)
    table.columns.name = None
    return CostTable(table, prorated=program_life_years is not None, program_life_years=program_life_years, notes=notes)
