"""The data contract: every table the kit reads, its key, columns, types and ranges.

This module is the one place the contract is written down. ``analysis.data`` turns
these specifications into pandera schemas, validates user exports against them and
hands back typed frames; the sample generator writes tables that satisfy them; the
README's contract table is generated from them.

Column kinds
------------
``str``    text identifier or label (stored as pandas ``string``)
``date``   calendar date (``datetime64[ns]``)
``month``  first day of a calendar month (``datetime64[ns]``); any other day is an error
``float``  real number
``int``    whole number
``bool``   true/false (accepts true/false, 1/0, yes/no)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnKind = Literal["str", "date", "month", "float", "int", "bool"]

#: Enrollment status codes of the contract (a ``mapping.yaml`` maps a user's codes onto them).
ENROLLMENT_STATUSES: tuple[str, ...] = ("enrolled", "in_progress", "completed", "dropped", "failed")

#: Phillips ROI Methodology fully loaded cost categories.
COST_CATEGORIES: tuple[str, ...] = (
    "needs_assessment",
    "design_development",
    "delivery",
    "materials",
    "facilitator",
    "facilities",
    "travel",
    "participant_time",
    "evaluation",
    "overhead",
)

#: Sources of a competency assessment.
ASSESSMENT_SOURCES: tuple[str, ...] = ("self", "manager", "test", "360")


@dataclass(frozen=True)
class Column:
    """One column of a contract table.

    Parameters
    ----------
    name : str
        Contract name of the column.
    kind : ColumnKind
        Storage kind (see module docstring).
    required : bool
        Whether the column must be present in the file.
    nullable : bool
        Whether missing values are allowed.
    ge, le : float, optional
        Inclusive numeric bounds.
    isin : tuple of str, optional
        Allowed category codes.
    description : str
        Plain-language meaning, shown in the README and in error messages.
    """

    name: str
    kind: ColumnKind
    required: bool = True
    nullable: bool = False
    ge: float | None = None
    le: float | None = None
    isin: tuple[str, ...] | None = None
    description: str = ""

    @property
    def expectation(self) -> str:
        """Plain-language statement of what a valid value looks like."""
        parts = {
            "str": "text",
            "date": "a date (YYYY-MM-DD)",
            "month": "the first day of a month (YYYY-MM-01)",
            "float": "a number",
            "int": "a whole number",
            "bool": "true/false",
        }[self.kind]
        if self.ge is not None and self.le is not None:
            parts += f" between {self.ge:g} and {self.le:g}"
        elif self.ge is not None:
            parts += f" >= {self.ge:g}"
        elif self.le is not None:
            parts += f" <= {self.le:g}"
        if self.isin is not None:
            parts += " in {" + ", ".join(self.isin) + "}"
        if not self.nullable:
            parts += ", not missing"
        return parts


@dataclass(frozen=True)
class ForeignKey:
    """Values of ``columns`` in this table must appear in ``table``'s ``ref_columns``."""

    columns: tuple[str, ...]
    table: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class TableSpec:
    """One table of the data contract.

    Parameters
    ----------
    name : str
        Table name; the file is ``<name>.csv``, ``<name>.xlsx`` (or a sheet ``<name>`` of a workbook) or ``<name>.parquet``.
    key : tuple of str
        Columns whose combination is unique.
    columns : tuple of Column
        Known columns. Extra columns in a file are kept as covariates.
    required : bool
        Whether a dataset must contain this table.
    foreign_keys : tuple of ForeignKey
        References to other tables.
    description : str
        What the table holds.
    """

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    required: bool = True
    foreign_keys: tuple[ForeignKey, ...] = field(default_factory=tuple)
    description: str = ""

    def column(self, name: str) -> Column:
        """Return the column called ``name``."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"table {self.name!r} has no contract column {name!r}")

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Names of the columns a file must contain."""
        return tuple(c.name for c in self.columns if c.required)


def _c(name: str, kind: ColumnKind, description: str = "", **kw: object) -> Column:
    return Column(name, kind, description=description, **kw)  # type: ignore[arg-type]


def _opt(name: str, kind: ColumnKind, description: str = "", **kw: object) -> Column:
    return Column(name, kind, required=False, nullable=True, description=description, **kw)  # type: ignore[arg-type]


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            "employees",
            key=("employee_id",),
            description="One row per employee ever employed in the panel window (HRIS/EHR export).",
            columns=(
                _c("employee_id", "str", "HRIS employee number"),
                _c("department", "str"),
                _c("role", "str", "job role; links to role_requirements"),
                _c("region", "str", "links to context_monthly"),
                _c("hire_date", "date"),
                _opt("exit_date", "date", "empty while employed"),
                _opt("grade", "str", "job grade / level"),
                _opt("manager_id", "str", "team lead; used to cluster standard errors by team"),
            ),
        ),
        TableSpec(
            "kpi_definitions",
            key=("kpi",),
            description="What each KPI measures and what one unit of it is worth.",
            columns=(
                _c("kpi", "str"),
                _c("unit", "str", "e.g. CNY, tickets, points"),
                _c("higher_is_better", "bool"),
                _c("value_per_unit", "float", "money value of one KPI unit (for ROI); empty = an intangible KPI, never ROI 0", ge=0, nullable=True),
                _opt("target", "float", "monthly target per employee"),
                _opt("label", "str", "display name in reports, e.g. Tickets resolved (default: the id made readable)"),
            ),
        ),
        TableSpec(
            "programs",
            key=("program_id",),
            description="The training catalogue.",
            foreign_keys=(ForeignKey(("kpi",), "kpi_definitions", ("kpi",)),),
            columns=(
                _c("program_id", "str"),
                _c("name", "str"),
                _c("category", "str", "e.g. sales, service, leadership, compliance"),
                _c("target_competency", "str", "competency the program builds"),
                _c("kpi", "str", "the KPI the program is meant to move"),
                _c("duration_hours", "float", ge=0),
                _opt("benefit_months", "int", "months a benefit is counted for ROI (default 12)", ge=1),
            ),
        ),
        TableSpec(
            "enrollments",
            key=("employee_id", "program_id", "start_date"),
            description="One row per employee per program run (LMS / learn-practice-exam platform).",
            foreign_keys=(
                ForeignKey(("employee_id",), "employees", ("employee_id",)),
                ForeignKey(("program_id",), "programs", ("program_id",)),
            ),
            columns=(
                _c("employee_id", "str"),
                _c("program_id", "str"),
                _c("status", "str", isin=ENROLLMENT_STATUSES),
                _c("start_date", "date"),
                _c("end_date", "date", "empty while in progress", nullable=True),
                _opt("learn_completion", "float", "share of learning content completed", ge=0, le=1),
                _opt("learn_minutes", "float", ge=0),
                _opt("learn_interruptions", "int", "times the learner broke off and resumed", ge=0),
                _opt("practice_attempts", "int", ge=0),
                _opt("practice_first_pass", "bool", "practice task passed at the first attempt"),
                _opt("practice_error_rate", "float", "share of key steps done wrong", ge=0, le=1),
                _opt("exam_score", "float", ge=0, le=100),
                _opt("exam_attempts", "int", ge=0),
                _opt("exam_passed", "bool"),
                _opt("reaction_score", "float", "Kirkpatrick level 1 satisfaction, 1-5", ge=1, le=5),
            ),
        ),
        TableSpec(
            "kpi_monthly",
            key=("employee_id", "month", "kpi"),
            description="Monthly KPI values per employee, long format (performance system).",
            foreign_keys=(
                ForeignKey(("employee_id",), "employees", ("employee_id",)),
                ForeignKey(("kpi",), "kpi_definitions", ("kpi",)),
            ),
            columns=(
                _c("employee_id", "str"),
                _c("month", "month"),
                _c("kpi", "str"),
                _c("value", "float"),
            ),
        ),
        TableSpec(
            "assessments",
            key=("employee_id", "competency", "assessed_on"),
            required=False,
            description="Competency assessments (self, manager, test, 360).",
            foreign_keys=(ForeignKey(("employee_id",), "employees", ("employee_id",)),),
            columns=(
                _c("employee_id", "str"),
                _c("competency", "str"),
                _c("assessed_on", "date"),
                _c("score", "float", "proficiency on the same scale as required_level", ge=0),
                _opt("source", "str", isin=ASSESSMENT_SOURCES),
            ),
        ),
        TableSpec(
            "role_requirements",
            key=("role", "competency"),
            required=False,
            description="Competency model: required level and weight per role.",
            columns=(
                _c("role", "str"),
                _c("competency", "str"),
                _c("required_level", "float", ge=0),
                _c("weight", "float", ge=0),
            ),
        ),
        TableSpec(
            "costs",
            key=("program_id", "period", "category"),
            required=False,
            description="Fully loaded program costs by Phillips category (finance).",
            foreign_keys=(ForeignKey(("program_id",), "programs", ("program_id",)),),
            columns=(
                _c("program_id", "str"),
                _c("period", "str", "e.g. 2025 or 2025-Q1"),
                _c("category", "str", isin=COST_CATEGORIES),
                _c("amount", "float", "money, same currency as value_per_unit", ge=0),
            ),
        ),
        TableSpec(
            "headcount_plan",
            key=("unit", "year"),
            required=False,
            description="Headcount plan per role or department.",
            columns=(
                _c("unit", "str", "a role or department"),
                _c("year", "int", ge=1900, le=2200),
                _c("current_headcount", "int", ge=0),
                _c("planned_hires", "int", ge=0),
                _c("planned_exits", "int", ge=0),
            ),
        ),
        TableSpec(
            "budget_priorities",
            key=("program_id",),
            required=False,
            description="Strategic / business / employee weights for budget allocation.",
            foreign_keys=(ForeignKey(("program_id",), "programs", ("program_id",)),),
            columns=(
                _c("program_id", "str"),
                _c("strategic_weight", "float", ge=0),
                _c("business_weight", "float", ge=0),
                _c("employee_weight", "float", ge=0),
            ),
        ),
        TableSpec(
            "context_monthly",
            key=("region", "month"),
            required=False,
            description="Market conditions per region and month (any numeric controls).",
            columns=(
                _c("region", "str"),
                _c("month", "month"),
                _c("market_index", "float"),
            ),
        ),
        TableSpec(
            "scorecard_inputs",
            key=("period", "kpi"),
            required=False,
            description="Figures no export holds (revenue, NPS, renewals ...) for the scorecard.",
            columns=(
                _c("period", "str"),
                _c("kpi", "str"),
                _c("value", "float"),
                _opt("target", "float"),
            ),
        ),
        TableSpec(
            "followups",
            key=("employee_id", "program_id", "months_after"),
            required=False,
            description="Follow-ups 1, 3 and 6 months after training (seed 000): applied on the job, manager rating.",
            foreign_keys=(
                ForeignKey(("employee_id",), "employees", ("employee_id",)),
                ForeignKey(("program_id",), "programs", ("program_id",)),
            ),
            columns=(
                _c("employee_id", "str"),
                _c("program_id", "str"),
                _c("months_after", "int", "months after the end of training (1, 3, 6)", ge=0),
                _c("applied", "bool", "the trainee has applied the training on the job"),
                _opt("manager_rating", "float", "manager's rating of on-the-job use, 1-5", ge=1, le=5),
            ),
        ),
    )
}

#: Tables a dataset must contain.
REQUIRED_TABLES: tuple[str, ...] = tuple(n for n, s in TABLES.items() if s.required)


def contract_markdown() -> str:
    """The data contract as a Markdown table (the README's table is this text).

    Returns
    -------
    str
        One row per table: name, key, required columns, optional columns, whether the
        table itself is required.
    """
    lines = ["| table | key | required columns | optional columns | table required |", "|---|---|---|---|---|"]
    for spec in TABLES.values():
        required = ", ".join(c.name for c in spec.columns if c.required and c.name not in spec.key)
        optional = ", ".join(c.name for c in spec.columns if not c.required) or "–"
        lines.append(f"| {spec.name} | {' + '.join(spec.key)} | {required} | {optional} | {'yes' if spec.required else 'no'} |")
    return "\n".join(lines)
